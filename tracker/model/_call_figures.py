"""`call_figures()`: the per-call arithmetic of `CallPricer.price`, the one place it is written.

Pricing a call is linear in five basis features of the request (`tracker.model._boundaries`);
this computes the features and every figure of an `Estimate` from a pricer's coefficient rows.
`CallPricer.price` builds the `Estimate` from them; the instrumentation hot path, which needs no
`Estimate` object outside a tracked scope, writes the emitted ones straight into the call's
attributes (`tracker.export._call_attributes.CallStatic.attributes`), with the same values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracker.model._estimate import CallPricer

__all__ = ["Figures", "call_figures"]

#: (kWh, kWh min, kWh max, gCO2e, gCO2e min, gCO2e max, USD, water L, accelerator kWh,
#: server kWh, embodied gCO2e, accelerator kWh min, accelerator kWh max, server kWh min,
#: server kWh max, embodied gCO2e min, embodied gCO2e max): the first eleven are emitted.
Figures = tuple[float, float, float, float, float, float, float, float, float, float, float,
                float, float, float, float, float, float]


def call_figures(p: CallPricer, input_tokens: int, output_tokens: int, cached: int,
                 ci: float) -> Figures:
    """The figures of one call, at carbon intensity `ci`.

    `cached`: the input tokens read from a cache, already bounded to ``0..input_tokens``.
    """
    unc = input_tokens - cached
    o, oc, pin = output_tokens, output_tokens * (input_tokens + 0.5 * output_tokens), (
        unc * input_tokens)
    a, a0, a1 = p.acc, p.acc_min, p.acc_max
    s, s0, s1 = p.srv, p.srv_min, p.srv_max
    acc = a[0] * o + a[1] * oc + a[2] * unc + a[3] * pin + a[4] * cached
    acc_min = a0[0] * o + a0[1] * oc + a0[2] * unc + a0[3] * pin + a0[4] * cached
    acc_max = a1[0] * o + a1[1] * oc + a1[2] * unc + a1[3] * pin + a1[4] * cached
    srv = s[0] * o + s[1] * oc + s[2] * unc + s[3] * pin + s[4] * cached
    srv_min = s0[0] * o + s0[1] * oc + s0[2] * unc + s0[3] * pin + s0[4] * cached
    srv_max = s1[0] * o + s1[1] * oc + s1[2] * unc + s1[3] * pin + s1[4] * cached
    f = p.facility_factor
    kwh, kwh_min, kwh_max = srv * f, srv_min * f, srv_max * f
    e = p.emb_per_acc_kwh
    return (kwh, kwh_min, kwh_max, kwh * ci, kwh_min * ci, kwh_max * ci,
            kwh * p.price_usd_per_kwh, kwh / p.pue * p.wue, acc, srv, acc * e[0],
            acc_min, acc_max, srv_min, srv_max, acc_min * e[1], acc_max * e[2])

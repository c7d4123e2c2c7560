"""`call_figures()`: the per-call arithmetic of `CallPricer.price`, the one place it is written.

Pricing a call is linear in five basis features of the request (`tracker.model._boundaries`);
this computes the features and every figure of an `Estimate` from a pricer's coefficient rows.
`CallPricer.price` builds the `Estimate` from `call_figures()` and `range_figures()`; the
instrumentation hot path, which needs no `Estimate` object outside a tracked scope, writes the
emitted ones (`call_figures()` alone: four of the six coefficient rows) straight into the call's
attributes (`tracker.export._call_attributes.CallStatic.attributes`), with the same values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracker.model._estimate import CallPricer

__all__ = ["Figures", "call_figures", "range_figures"]

#: (kWh, kWh min, kWh max, gCO2e, gCO2e min, gCO2e max, USD, water L, accelerator kWh,
#: server kWh, embodied gCO2e, server kWh min, server kWh max): the first eleven are emitted.
Figures = tuple[float, float, float, float, float, float, float, float, float, float, float,
                float, float]


def call_figures(p: CallPricer, input_tokens: int, output_tokens: int, cached: int,
                 ci: float) -> Figures:
    """The figures of one call, at carbon intensity `ci`.

    `cached`: the input tokens read from a cache, already bounded to ``0..input_tokens``.
    """
    # The features as floats first: each product is then float by float (the same values as
    # int by float, which converts the int the same way, in fewer interpreter steps).
    unc = input_tokens - cached
    pin = float(unc * input_tokens)
    o = float(output_tokens)
    oc = o * (input_tokens + 0.5 * o)
    u, c = float(unc), float(cached)
    a0, a1, a2, a3, a4 = p.acc
    acc = a0 * o + a1 * oc + a2 * u + a3 * pin + a4 * c
    s0, s1, s2, s3, s4 = p.srv
    srv = s0 * o + s1 * oc + s2 * u + s3 * pin + s4 * c
    s0, s1, s2, s3, s4 = p.srv_min
    srv_min = s0 * o + s1 * oc + s2 * u + s3 * pin + s4 * c
    s0, s1, s2, s3, s4 = p.srv_max
    srv_max = s0 * o + s1 * oc + s2 * u + s3 * pin + s4 * c
    f = p.facility_factor
    kwh, kwh_min, kwh_max = srv * f, srv_min * f, srv_max * f
    return (kwh, kwh_min, kwh_max, kwh * ci, kwh_min * ci, kwh_max * ci,
            kwh * p.price_usd_per_kwh, kwh / p.pue * p.wue, acc, srv, acc * p.emb_per_acc_kwh[0],
            srv_min, srv_max)


def range_figures(p: CallPricer, input_tokens: int, output_tokens: int,
                  cached: int) -> tuple[float, float, float, float]:
    """(accelerator kWh min, max, embodied gCO2e min, max) of one call, as `call_figures`."""
    unc = input_tokens - cached
    o, oc, pin = output_tokens, output_tokens * (input_tokens + 0.5 * output_tokens), (
        unc * input_tokens)
    a0, a1, a2, a3, a4 = p.acc_min
    acc_min = a0 * o + a1 * oc + a2 * unc + a3 * pin + a4 * cached
    a0, a1, a2, a3, a4 = p.acc_max
    acc_max = a0 * o + a1 * oc + a2 * unc + a3 * pin + a4 * cached
    e = p.emb_per_acc_kwh
    return acc_min, acc_max, acc_min * e[1], acc_max * e[2]

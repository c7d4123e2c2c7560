"""Energy boundaries of an estimate, and the per-token coefficients a `CallPricer` multiplies.

Three boundaries, each with a central value and a range:

- **accelerator**: what NVML/DCGM see on the GPUs (or TPUs) of the replica;
- **server**: the accelerators plus the host (CPUs, memory, fans, NICs, power-supply losses) at
  load, what a wall meter on a busy server sees (MLPerf Inference power's boundary);
- **facility**: server x (1 + provisioned idle capacity of a production fleet) x PUE.

Host power is modelled as ``host_frac x TDP`` per accelerator for the time the work takes (0.4,
from the MLPerf 8-GPU servers' idle draw of 2.2-2.9 kW), plus the power supplies' loss, unless a
``host_overhead`` share of accelerator energy is given. The fleet's
idle capacity is Google's measured share: in the 2025 per-prompt breakdown of Gemini serving,
accelerators 58 %, host CPU and DRAM 25 %, idle machines 10 %, data-centre overhead 8 %
(Elsworth et al. 2025, arXiv:2508.15734), so idle = 10 / (58 + 25) = 0.12 of server energy.
A benchmark or a dedicated busy server has no idle share (pass ``fleet_idle=0``).

Each boundary's per-token energy is linear in the token counts: an output token costs
``out0 + out_ctx x context`` (context = prompt + half the output: the KV cache read per step grows
with it), an uncached prompt token ``in0 + in_len x prompt`` (attention over the prompt), a cached
prompt token ``cached`` (its KV entry read). `Coeffs` holds these five numbers in kWh.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from tracker.model import _calibrated as calibrated
from tracker.model._engines import MIX, MIX_MEMBERS
from tracker.model._specs import HardwareSpec, ModelSpec

__all__ = ["FLEET_IDLE_SHARE", "Coeffs", "Corners", "calibrated_corners", "flops_corners"]

#: An accelerator whose TDP its maker does not publish (TPU v5e, v5p, v6e: the registry's value is
#: an estimate derived from other estimates) widens the range by this factor both ways: every
#: power term of the model scales with the TDP. Assumed: the spread between TPU v4's measured mean
#: and maximum chip power (170 and 192 W, Jouppi et al. 2023) plus the derivation's own error.
TDP_UNCERTAINTY: Final = 1.3

#: Google 2025: idle machines 10 % against accelerators 58 % + host 25 % (arXiv:2508.15734).
FLEET_IDLE_SHARE: Final = 10.0 / (58.0 + 25.0)
_J_PER_KWH: Final = 3.6e6

#: (out0, out_ctx, in0, in_len, cached), kWh per token (and per token of context).
Coeffs = tuple[float, float, float, float, float]


@dataclass(frozen=True, slots=True)
class Corners:
    """Accelerator and server coefficients at the central value and the two range ends."""

    acc: Coeffs
    acc_min: Coeffs
    acc_max: Coeffs
    srv: Coeffs
    srv_min: Coeffs
    srv_max: Coeffs
    gpus: int


def _kwh(values: Sequence[float]) -> Coeffs:
    a, b, c, d, e = (v / _J_PER_KWH for v in values)
    return (a, b, c, d, e)


def _geo(rows: Sequence[Coeffs]) -> Coeffs:
    out = []
    for vals in zip(*rows, strict=True):
        out.append(0.0 if min(vals) <= 0 else math.exp(sum(math.log(v) for v in vals) / len(vals)))
    a, b, c, d, e = out
    return (a, b, c, d, e)


def _pick(rows: Sequence[Coeffs], lowest: bool) -> Coeffs:
    f = min if lowest else max
    a, b, c, d, e = (f(vals) for vals in zip(*rows, strict=True))
    return (a, b, c, d, e)


def _scale(c: Coeffs, k: float) -> Coeffs:
    return (c[0] * k, c[1] * k, c[2] * k, c[3] * k, c[4] * k)


def _add(x: Coeffs, y: Coeffs) -> Coeffs:
    return (x[0] + y[0], x[1] + y[1], x[2] + y[2], x[3] + y[3], x[4] + y[4])


def flops_corners(j_per_token: float, host_overhead: float, gpus: int) -> Corners:
    """The seed formula: one figure per token, input (cached or not) and output alike."""
    acc = _kwh((j_per_token, 0.0, j_per_token, 0.0, j_per_token))
    srv = _scale(acc, 1.0 + host_overhead)
    return Corners(acc, acc, acc, srv, srv, srv, gpus)


def _one(spec: ModelSpec, active_b: float, total_b: float, precision: str, hw: HardwareSpec,
         gpus: int, batch: float, engine: str, power_limit_w: float | None,
         host_overhead: float | None) -> tuple[Coeffs, Coeffs]:
    r = calibrated.replica_joules(
        spec=spec, active_b=active_b, total_b=total_b, precision=precision, hardware=hw,
        gpus=gpus, batch_size=batch, engine=calibrated.ENGINE_PROFILES[engine],
        power_limit_w=power_limit_w, embedding=spec.kind == "embedding")
    acc = _kwh((r.acc_out0, r.acc_out_ctx, r.acc_in0, r.acc_in_len, r.acc_cached))
    if host_overhead is not None:
        return acc, _scale(acc, 1.0 + host_overhead)
    host = _kwh((r.host_out0, r.host_out_ctx, r.host_in0, r.host_in_len, r.host_cached))
    return acc, _add(acc, host)


def calibrated_corners(
    spec: ModelSpec, precision: str, hw: HardwareSpec, gpus: int | None,
    batch_size: float | None, engine: str, power_limit_w: float | None,
    host_overhead: float | None,
) -> Corners:
    """Central and range coefficients of the calibrated model.

    Range ends: low = smallest active params, largest batch of `BATCH_SIZE_RANGE` (unless
    `batch_size` is given) and the cheapest engine of the mix; high = the opposite. Both are
    widened by the model's cross-validated error, ``2 ** RANGE_LOG2_SPREAD``.
    """
    dense = spec.total_params_b <= spec.active * 1.0001

    def total_for(active: float) -> float:
        return active if dense else max(spec.total_params_b, active)

    n = gpus or calibrated.default_gpus(total_for(spec.active), precision, hw)
    batch = calibrated.DEFAULT_BATCH_SIZE if batch_size is None else batch_size
    lo_b, hi_b = calibrated.BATCH_SIZE_RANGE
    lo_batch, hi_batch = (batch, batch) if batch_size is not None else (hi_b, lo_b)
    members = MIX_MEMBERS if engine == MIX else (engine,)
    assert spec.active_params_b_min is not None and spec.active_params_b_max is not None
    corners = []
    for active, bt in ((spec.active, batch), (spec.active_params_b_min, lo_batch),
                       (spec.active_params_b_max, hi_batch)):
        g = gpus or calibrated.default_gpus(total_for(active), precision, hw)
        corners.append([_one(spec, active, total_for(active), precision, hw, g, bt, e,
                             power_limit_w, host_overhead) for e in members])
    mid, low, high = corners
    acc, srv = _geo([m[0] for m in mid]), _geo([m[1] for m in mid])
    spread = 2.0 ** calibrated.RANGE_LOG2_SPREAD
    if hw.flag and "tdp_w is" in hw.flag:  # an estimated, unpublished TDP
        spread *= TDP_UNCERTAINTY
    acc_lo = _pick([_pick([x[0] for x in low], True), acc], True)
    srv_lo = _pick([_pick([x[1] for x in low], True), srv], True)
    acc_hi = _pick([_pick([x[0] for x in high], False), acc], False)
    srv_hi = _pick([_pick([x[1] for x in high], False), srv], False)
    return Corners(acc, _scale(acc_lo, 1.0 / spread), _scale(acc_hi, spread),
                   srv, _scale(srv_lo, 1.0 / spread), _scale(srv_hi, spread), n)

"""The serving physics of the calibrated model: joules per token of one replica, per boundary.

One decode step of a replica (``G`` accelerators serving ``B`` sequences of mean context ``c``)
reads the weights the batch touches and the batch's KV cache once, and runs ``2 x active params``
FLOPs per sequence::

    touched = t * (1 - (1 - a/t) ** B)                  # MoE: distinct experts hit; dense: t
    t_mem   = (touched * (b + d) / eta_mem + B * c * kv / eta_kv) / (G * bandwidth)
    t_comp  = 2 * a * B / (G * peak_c * mfu_decode)
    t_dev   = t_comm * hops + smax(t_mem, t_comp)   # kernels overlap streaming and math
    t_host  = t_fixed + t_seq * B
    t_step  = t_host + t_dev             # or max(t_host, t_dev) with async scheduling
    E_acc   = G * TDP * (p_idle * t_step + p_mem * t_mem + (1 - p_idle) * t_comp)
    E_host  = (E_acc + G * host_frac * TDP * t_step) / psu_eff - E_acc   # CPUs, fans, PSU loss

``smax`` is a smooth maximum (`roofline_time`): a kernel's time is the larger of its memory and
compute time while its energy is the sum of both (the energy roofline, Choi et al. 2013).
``t_host`` is the engine's host work per step: a fixed part (scheduling, launches, the
GPU-to-CPU copy of the sampled tokens) and a part per running sequence (its scheduling,
sampling, detokenisation and streaming in Python), which more accelerators do not shorten.
A compute-saturated accelerator draws its TDP (its power manager holds the board at the limit
during dense GEMMs), so computing adds ``1 - p_idle`` of TDP on top of the waiting draw: no
separate compute-power coefficient.
``kv`` is the KV-cache bytes per token of context (from the architecture: layers x KV heads x
head dim x 2, or the MLA latent; else a grouped-query prior from the active parameters).
``hops`` weighs the replica's all-reduce by its interconnect (`sync_hops`: a ring over NVLink
or PCIe, a 2D torus over TPU ICI); with ``overlap`` (async scheduling) the host's fixed time
hides behind the device's and the step is their smooth maximum.
``peak_c`` is the 16-bit peak times the native low-precision peak ratio raised to a fitted gain
(FP8 only where the accelerator computes in FP8, FP4 only on Blackwell; otherwise weights are
dequantised and computed at 16 bits). ``d`` is a low-precision kernel overhead in bytes per
weight. A GPU power limit below the step's mean draw stretches the step and scales the
accelerator energy by ``(limit / draw) ** cap_alpha``.

A prompt token costs ``2 a + 2 * layers * hidden * L`` FLOPs (weights plus attention over a
prompt of ``L`` tokens) at ``mfu_prefill``; a cached prompt token costs reading its KV entry; an
embedding token is a prompt token of an encoder. Every function here works on floats and, with
``xp=numpy``, on arrays (the fit in ``benchmarks/accuracy/calibrate.py`` uses the same code).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "ATTN_PRIOR",
    "KV_PRIOR",
    "SCALAR",
    "compute_power",
    "decode_joules",
    "kv_prior_bytes",
    "layers_hidden_prior",
    "prefill_joules",
]

#: Grouped-query KV-cache prior at 16 bits: bytes per token = A * active_params_b ** k. Fitted
#: (log-log least squares) by ``benchmarks/accuracy/calibrate.py`` on the published
#: configurations of the open models in ``models.json`` that carry their architecture;
#: recomputed there.
KV_PRIOR: Final = (52_100.0, 0.44)
#: Attention-width prior: layers x hidden = A * active_params_b ** k (same fit).
ATTN_PRIOR: Final = (32_700.0, 0.682)


class _Scalar:
    """The few math functions the physics needs, for plain floats (numpy has the same names)."""

    exp = staticmethod(math.exp)
    log = staticmethod(math.log)
    minimum = staticmethod(min)
    maximum = staticmethod(max)

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        """``a`` where ``cond`` else ``b``."""
        return a if cond else b


SCALAR: Final = _Scalar()

#: Server power supplies: 80 PLUS Titanium (230 V internal redundant) requires 96 % efficiency at
#: 50 % load and 94 % at 20 % and 91 % at full load (CLEAResult 80 PLUS programme, 2024); 0.94.
PSU_EFFICIENCY: Final = 0.94


#: Share of inactive weights from which an MoE's expert GEMMs run at the fitted ``moe_eff``
#: (below it the efficiency blends to dense: a continuous, monotone term).
MOE_FULL_SPARSITY = 0.5


def _host(e_acc: Any, e_host_dc: Any) -> Any:
    """Host energy at the wall: its own DC draw plus the supplies' loss on host and accelerators."""
    return (e_acc + e_host_dc) / PSU_EFFICIENCY - e_acc


def kv_prior_bytes(active_params_b: Any, xp: Any = SCALAR) -> Any:
    """Prior KV-cache bytes per token at 16 bits for a grouped-query model of this size."""
    return KV_PRIOR[0] * xp.exp(KV_PRIOR[1] * xp.log(active_params_b))


def layers_hidden_prior(active_params_b: Any, xp: Any = SCALAR) -> Any:
    """Prior layers x hidden size for a model of this size."""
    return ATTN_PRIOR[0] * xp.exp(ATTN_PRIOR[1] * xp.log(active_params_b))


def compute_power(coef: Mapping[str, float]) -> float:
    """Accelerator power added by computing, share of TDP: ``1 - p_idle``.

    A compute-saturated accelerator draws its TDP: dense GEMMs run into the board's power limit
    and the power manager lowers the clocks to hold it (the compute-bound prompt phase runs at
    the H100's and A100's power limit while the memory-bound token phase stays well below it:
    Patel et al., "Splitwise", ISCA 2024, arXiv:2311.18677). So compute costs the TDP for its
    time, of which ``p_idle`` is the waiting draw already counted for the whole step.
    """
    return 1.0 - coef["p_idle"]


def compute_peak(coef: Mapping[str, float], peak16: Any, peak_native: Any, xp: Any) -> Any:
    """Effective compute peak: 16-bit peak x (native low-precision ratio) ** lowp_gain."""
    ratio = xp.maximum(peak_native / peak16, 1.0)
    return peak16 * xp.exp(coef["lowp_gain"] * xp.log(ratio))


def _capped(coef: Mapping[str, float], energy: Any, time: Any, gpus: Any, limit_w: Any,
            xp: Any) -> tuple[Any, Any]:
    """Apply a per-accelerator power limit to (energy, time) of a step."""
    draw = energy / (gpus * time)
    factor = xp.minimum(limit_w / draw, 1.0)
    energy2 = energy * xp.exp(coef["cap_alpha"] * xp.log(factor))
    return energy2, xp.maximum(time, energy2 / (gpus * limit_w))


#: Per-hop latency of a tensor-parallel all-reduce relative to NVLink (through NVSwitch):
#: PCIe cards reach each other through a PCIe switch or the CPU's root complex, a few times
#: NVLink's latency; TPU ICI links neighbouring chips directly, taken as NVLink's.
LINK_LATENCY: Final = {"nvlink": 1.0, "pcie": 3.0, "ici": 1.0}


def sync_hops(gpus: Any, interconnect: str, xp: Any = SCALAR) -> Any:
    """Latency-weighted hops of one all-reduce over a replica of ``gpus`` accelerators.

    NVLink and PCIe: a ring, ``gpus - 1`` hops. TPU ICI: a 2D torus slice, a ring along each
    dimension, about ``2 (sqrt(gpus) - 1)`` hops. Weighted by `LINK_LATENCY`.
    """
    ring = 2.0 * (xp.exp(0.5 * xp.log(gpus)) - 1.0) if interconnect == "ici" else gpus - 1.0
    return ring * LINK_LATENCY[interconnect]


def step_time(t_host: Any, t_dev: Any, overlap: Any, xp: Any = SCALAR) -> Any:
    """Step time from the host's fixed work and the device's.

    Summed for a synchronous scheduler; with ``overlap`` = 1 (the host prepares step N+1 while
    the device runs step N: vLLM's async scheduling, SGLang's overlap scheduler) a smooth
    maximum of the two.
    """
    both = xp.exp(_OVERLAP_P * xp.log(t_host)) + xp.exp(_OVERLAP_P * xp.log(t_dev))
    smax = xp.exp(xp.log(both) / _OVERLAP_P)
    return overlap * smax + (1.0 - overlap) * (t_host + t_dev)


#: Sharpness of the smooth maximum of overlapped host and device time.
_OVERLAP_P: Final = 4.0


def roofline_time(t_mem: Any, t_comp: Any, xp: Any = SCALAR) -> Any:
    """Device time of a decode step's kernels: the smooth maximum of memory and compute time.

    A GPU kernel streams its operands while its tensor cores work on those already loaded, so
    its time is the larger of the two (the roofline: Williams, Waterman and Patterson, CACM
    2009), while its energy is the sum of both activities': time overlaps, energy does not
    (Choi, Bedard, Fowler and Vuduc, "A roofline model of energy", IPDPS 2013).
    """
    both = xp.exp(_OVERLAP_P * xp.log(t_mem)) + xp.exp(_OVERLAP_P * xp.log(t_comp))
    return xp.exp(xp.log(both) / _OVERLAP_P)


def decode_joules(
    coef: Mapping[str, float], eng: Mapping[str, Any], *, active: Any, total: Any,
    bytes_per_param: Any, lowp_overhead: Any, kv_bytes: Any, tdp_w: Any, bandwidth: Any,
    peak16: Any, peak_native: Any, gpus: Any, batch: Any, context: Any, limit_w: Any,
    sync_hops: Any, xp: Any = SCALAR,
) -> tuple[Any, Any]:
    """(accelerator, host) joules per output token of the replica.

    ``sync_hops`` is `sync_hops` of the replica's interconnect and accelerator count.

    ``bandwidth`` is in bytes/s, peaks in FLOP/s, ``kv_bytes`` per token of context, ``eng``
    holds ``t_fixed_s``, ``t_seq_s``, ``t_comm_s`` (floats or per-row arrays).
    """
    ratio = xp.minimum(active / total, 1.0 - 1e-12)
    # log1p(-ratio) * batch, written with log so numpy and floats share it
    touched = total * (1.0 - xp.exp(batch * xp.log(1.0 - ratio)))
    touched = xp.where(active >= total * 0.9999, total, touched)
    peak_c = compute_peak(coef, peak16, peak_native, xp)
    t_mem = (touched * 1e9 * (bytes_per_param + lowp_overhead) / coef["eta_mem"]
             + batch * context * kv_bytes / coef["eta_kv"]) / (gpus * bandwidth)
    # MoE expert GEMMs (grouped, a few tokens per expert, routing and permutation) run at a
    # lower share of the peak than dense GEMMs: ``moe_eff`` once at most half the weights are
    # active (every MoE served today: Mixtral 0.28, Qwen3-30B-A3B 0.10, DeepSeek-V3 0.06),
    # blending linearly to dense efficiency as the model approaches dense, so that more active
    # parameters never cost less.
    sparsity = xp.minimum((1.0 - ratio) / MOE_FULL_SPARSITY, 1.0)
    moe = 1.0 - (1.0 - coef["moe_eff"]) * sparsity
    t_comp = 2.0 * active * 1e9 * batch / (gpus * peak_c * coef["mfu_decode"] * moe)
    # Device time of a step: TP synchronisation, weights/KV streaming, GEMMs. Host time: the
    # engine's fixed work plus its work per running sequence (scheduling, sampling,
    # detokenisation: Python on one CPU process, not shortened by more accelerators).
    t_dev = eng["t_comm_s"] * sync_hops + roofline_time(t_mem, t_comp, xp)
    t_host = eng["t_fixed_s"] + eng["t_seq_s"] * batch
    t_step = step_time(t_host, t_dev, eng.get("overlap", 0.0), xp)
    e_acc = gpus * tdp_w * (coef["p_idle"] * t_step + coef["p_mem"] * t_mem
                            + compute_power(coef) * t_comp)
    e_acc, t_step = _capped(coef, e_acc, t_step, gpus, limit_w, xp)
    return e_acc / batch, _host(e_acc, gpus * coef["host_frac"] * tdp_w * t_step) / batch


def prefill_joules(
    coef: Mapping[str, float], *, active: Any, layers_hidden: Any, prompt_len: Any,
    tdp_w: Any, peak16: Any, peak_native: Any, limit_w: Any, xp: Any = SCALAR,
) -> tuple[Any, Any]:
    """(accelerator, host) joules per prompt token, attention over a prompt of ``prompt_len``.

    Compute-bound; the accelerator count cancels (G accelerators for 1/G of the time).
    """
    peak_c = compute_peak(coef, peak16, peak_native, xp)
    flops = 2.0 * active * 1e9 + 2.0 * layers_hidden * prompt_len
    time = flops / (peak_c * coef["mfu_prefill"])
    e_acc = tdp_w * (coef["p_idle"] + compute_power(coef)) * time
    e_acc, time = _capped(coef, e_acc, time, 1.0, limit_w, xp)
    return e_acc, _host(e_acc, coef["host_frac"] * tdp_w * time)


def cached_joules(coef: Mapping[str, float], *, kv_bytes: float, tdp_w: float,
                  bandwidth: float) -> tuple[float, float]:
    """(accelerator, host) joules per cached prompt token: reading its KV entry once."""
    time = kv_bytes / (bandwidth * coef["eta_kv"])
    e_acc = tdp_w * (coef["p_idle"] + coef["p_mem"]) * time
    return e_acc, _host(e_acc, coef["host_frac"] * tdp_w * time)

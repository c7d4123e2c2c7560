"""The calibrated energy model (default method): fitted coefficients and per-token joules.

The physics is in `tracker.model._physics`, the serving-engine profiles in
`tracker.model._engines`; the coefficients are fitted by ``benchmarks/accuracy/calibrate.py``
on three independent public sources (ML.ENERGY, GPU energy under vLLM; MLPerf Inference power, whole
servers at the wall under TensorRT-LLM; SemiAnalysis InferenceX, GPU power under vLLM with async
scheduling; files in ``benchmarks/data/``) and stored with their provenance and scores in
``tracker/model/data/calibration.json``, read once at import.

`replica_joules` gives, for one configuration, the per-token joules at the accelerators and at
the host, split into the terms `CallPricer` needs to price a call with a few multiplications:
per output token at zero context plus a slope per token of context, per prompt token plus a
slope per prompt token (attention), per cached prompt token.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tracker.model import _physics as phys
from tracker.model._engines import EngineProfile, engine_profiles
from tracker.model._specs import BYTES_PER_PARAM, HardwareSpec, ModelSpec

__all__ = [
    "BATCH_SIZE_RANGE",
    "CALIBRATION_FILE",
    "COEFFICIENTS",
    "CONTEXT_PROBE",
    "DEFAULT_BATCH_SIZE",
    "ENGINE_PROFILES",
    "RANGE_LOG2_SPREAD",
    "ReplicaJoules",
    "default_gpus",
    "gpu_joules_per_token",
    "kv_bytes_per_token",
    "layers_hidden",
    "native_peak",
    "replica_joules",
]

#: Fitted coefficients with their provenance (written by ``benchmarks/accuracy/calibrate.py``).
CALIBRATION_FILE: Final = Path(__file__).with_name("data") / "calibration.json"

#: Shared coefficient names the model needs (the JSON file must carry each).
NAMES: Final = (
    "eta_mem", "eta_kv", "mfu_decode", "mfu_prefill", "p_idle", "p_mem", "lowp_gain",
    "overhead_8bit_bytes", "overhead_4bit_bytes", "host_frac", "cap_alpha",
    "moe_eff",
)
#: Per-engine coefficient names.
ENGINE_NAMES: Final = ("t_fixed_s", "t_seq_s", "t_comm_s")

#: Share of accelerator memory the weights may fill; the rest holds KV cache and activations
#: (vLLM's default gpu_memory_utilization is 0.9; a usable KV pool needs a good part of it).
WEIGHT_MEMORY_SHARE: Final = 0.75
_GPUS_PER_NODE: Final = 8
#: Context (tokens) at which the decode slope per token of context is taken.
CONTEXT_PROBE: Final = 4096.0

#: Central batch (concurrent sequences per replica) for hosted or unknown serving: vLLM's
#: long-standing default cap on concurrent sequences (``max_num_seqs`` = 256), where the
#: ML.ENERGY v2/v3 per-token curves have flattened.
DEFAULT_BATCH_SIZE: Final[float] = 256.0

#: (low, high) batch for the range. 64 is EcoLogits' assumed serving batch (``BATCH_SIZE`` in
#: genai-impact/ecologits ecologits/impacts/llm.py), a lightly loaded, latency-first replica;
#: 1024 is about the largest batch the ML.ENERGY sweeps and MLPerf Server runs sustain for
#: 70B-class models (throughput-first serving).
BATCH_SIZE_RANGE: Final[tuple[float, float]] = (64.0, 1024.0)


def _load(path: Path = CALIBRATION_FILE) -> dict[str, object]:
    with path.open(encoding="utf-8") as fh:
        doc: dict[str, object] = json.load(fh)
    return doc


_DOC: Final = _load()
_COEF_RAW: Final = _DOC["coefficients"]
assert isinstance(_COEF_RAW, dict)
#: The fitted shared coefficients in use (see ``calibration.json`` for meaning and provenance).
COEFFICIENTS: Final[Mapping[str, float]] = {n: float(_COEF_RAW[n]) for n in NAMES}
_ENG_RAW: Final = _DOC["engines"]
assert isinstance(_ENG_RAW, dict)
#: Every engine profile, fitted and derived.
ENGINE_PROFILES: Final[Mapping[str, EngineProfile]] = engine_profiles(
    {e: {n: float(_ENG_RAW[e][n]) for n in ENGINE_NAMES} for e in _ENG_RAW})


def _cv_spread() -> float:
    scores = _DOC["scores"]
    assert isinstance(scores, dict)
    return float(scores["range_log2_spread"])


#: Every calibrated range is widened by 2**RANGE_LOG2_SPREAD both ways: the model's median
#: error where it was not fitted (the worst of fitting on one source and scoring the other, and
#: leave-one-model-out), so a range never claims more precision than the model has.
RANGE_LOG2_SPREAD: Final[float] = _cv_spread()


#: Accelerators whose replicas synchronise over PCIe (no NVLink bridge in the listed form)
#: and over TPU ICI; every other accelerator is taken to use NVLink / Infinity Fabric.
_PCIE: Final = frozenset({"h100-pcie", "l4", "l40s"})


def interconnect(hardware: HardwareSpec) -> str:
    """The replica's interconnect: ``ici`` (TPUs), ``pcie`` (PCIe cards) or ``nvlink``."""
    if hardware.name.startswith("tpu"):
        return "ici"
    return "pcie" if hardware.name in _PCIE else "nvlink"


def native_peak(hardware: HardwareSpec, precision: str) -> float:
    """Dense peak FLOP/s the accelerator computes `precision` at: native formats only.

    FP8 only where the accelerator lists FP8 (Hopper, Ada, Blackwell, MI300), INT8 where it
    lists INT8 (A100, TPUs), FP4 only where it lists FP4 (Blackwell); otherwise the weights are
    dequantised and multiplied at 16 bits (an FP8 model on an A100, MXFP4 on an H100).
    """
    peaks = hardware.peak_tflops
    if precision in ("fp8", "int8"):
        value = peaks.get(precision)
    elif precision in ("fp4", "mxfp4"):
        value = peaks.get("fp4") or peaks.get("mxfp4")
    elif precision == "int4":
        value = peaks.get("int4")
    else:
        value = None
    return value * 1e12 if value else hardware.peak_flops("bf16")


def _lowp_overhead(bytes_per_param: float) -> float:
    if bytes_per_param >= 2.0:
        return 0.0
    if bytes_per_param >= 1.0:
        return COEFFICIENTS["overhead_8bit_bytes"]
    return COEFFICIENTS["overhead_4bit_bytes"]


def kv_bytes_per_token(spec: ModelSpec | None, active_b: float) -> float:
    """KV-cache bytes per token of context at 16 bits: the architecture's, else the prior."""
    if spec is not None:
        arch = spec.kv_bytes_per_token()
        if arch is not None:
            return arch
    return float(phys.kv_prior_bytes(max(active_b, 1e-3)))


def layers_hidden(spec: ModelSpec | None, active_b: float) -> float:
    """Layers x hidden size (attention width summed over layers): published, else the prior."""
    if spec is not None and spec.layers and spec.hidden_size:
        return float(spec.layers * spec.hidden_size)
    return float(phys.layers_hidden_prior(max(active_b, 1e-3)))


@dataclass(frozen=True, slots=True)
class ReplicaJoules:
    """Per-token joules at the accelerators (``acc_*``) and the host (``host_*``).

    Output token: ``out0 + out_ctx * context``; prompt token: ``in0 + in_len * prompt_len``;
    cached prompt token: ``cached``.
    """

    acc_out0: float
    acc_out_ctx: float
    acc_in0: float
    acc_in_len: float
    acc_cached: float
    host_out0: float
    host_out_ctx: float
    host_in0: float
    host_in_len: float
    host_cached: float


def replica_joules(
    *, spec: ModelSpec | None, active_b: float, total_b: float, precision: str,
    hardware: HardwareSpec, gpus: int, batch_size: float, engine: EngineProfile,
    power_limit_w: float | None = None, embedding: bool = False,
) -> ReplicaJoules:
    """Per-token joules of one configuration (see `ReplicaJoules`). Pure; callers cache it."""
    coef = COEFFICIENTS
    bpp = BYTES_PER_PARAM[precision]
    kv = kv_bytes_per_token(spec, active_b)
    if engine.kv_low_precision and bpp <= 1.0:
        kv *= 0.5
    lh = layers_hidden(spec, active_b)
    limit = hardware.tdp_w if power_limit_w is None else min(power_limit_w, hardware.tdp_w)
    peak16 = hardware.peak_flops("bf16")
    peak_n = native_peak(hardware, precision)
    bandwidth = hardware.bandwidth_tb_s * 1e12
    total = max(total_b, active_b)
    args = dict(active=active_b, total=total, bytes_per_param=bpp,
                lowp_overhead=_lowp_overhead(bpp), kv_bytes=kv, tdp_w=hardware.tdp_w,
                bandwidth=bandwidth, peak16=peak16, peak_native=peak_n, gpus=float(max(1, gpus)),
                sync_hops=phys.sync_hops(float(max(1, gpus)), interconnect(hardware)),
                batch=max(1.0, float(batch_size)), limit_w=limit)
    eng = {"t_fixed_s": engine.t_fixed_s, "t_seq_s": engine.t_seq_s,
           "t_comm_s": engine.t_comm_s, "overlap": 1.0 if engine.overlap else 0.0}
    if embedding:  # an encoder: no decode
        a0 = h0 = a1 = h1 = 0.0
    else:
        a0, h0 = phys.decode_joules(coef, eng, context=0.0, **args)
        a_p, h_p = phys.decode_joules(coef, eng, context=CONTEXT_PROBE, **args)
        a1, h1 = max(0.0, (a_p - a0) / CONTEXT_PROBE), max(0.0, (h_p - h0) / CONTEXT_PROBE)
    # Encoders attend both ways over the text: twice a causal prefill's attention.
    width = 2.0 * lh if embedding else lh
    p0, ph0 = phys.prefill_joules(coef, active=active_b, layers_hidden=width, prompt_len=0.0,
                                  tdp_w=hardware.tdp_w, peak16=peak16, peak_native=peak_n,
                                  limit_w=limit)
    p1, ph1 = phys.prefill_joules(coef, active=active_b, layers_hidden=width,
                                  prompt_len=CONTEXT_PROBE, tdp_w=hardware.tdp_w,
                                  peak16=peak16, peak_native=peak_n, limit_w=limit)
    c_acc, c_host = phys.cached_joules(coef, kv_bytes=kv, tdp_w=hardware.tdp_w,
                                       bandwidth=bandwidth)
    return ReplicaJoules(
        a0, a1, p0, max(0.0, (p1 - p0) / CONTEXT_PROBE), c_acc,
        h0, h1, ph0, max(0.0, (ph1 - ph0) / CONTEXT_PROBE), c_host,
    )


def gpu_joules_per_token(
    *, active_params_b: float, total_params_b: float, precision: str, hardware: HardwareSpec,
    gpus: int, batch_size: float, engine: str = "vllm", context: float = 0.0,
    prompt_len: float = 0.0,
) -> tuple[float, float]:
    """Accelerator joules per prompt token and per output token at one context (no host, no PUE).

    Non-increasing in ``batch_size``, non-decreasing in ``active_params_b``.
    """
    r = replica_joules(spec=None, active_b=active_params_b, total_b=total_params_b,
                       precision=precision, hardware=hardware, gpus=gpus,
                       batch_size=batch_size, engine=ENGINE_PROFILES[engine])
    return r.acc_in0 + r.acc_in_len * prompt_len, r.acc_out0 + r.acc_out_ctx * context


def default_gpus(total_params_b: float, precision: str, hardware: HardwareSpec) -> int:
    """Accelerators one replica needs: weights within 75 % of memory, a deployable count.

    The weights (total params, so every MoE expert is resident, x bytes per param) may fill
    ``WEIGHT_MEMORY_SHARE`` of each accelerator's memory; the rest is KV cache and activations.
    GPUs: rounded up to a power of two (tensor parallelism) up to 8 per node, then to whole
    8-GPU nodes. TPUs: rounded up to a power of two, the 2D-torus slice shapes Google Cloud
    offers for serving (v5e and v6e: 1, 4, 8 chips per host, then 16, 32, 64 ... 256;
    ``interconnect`` = ``ici``); a 2-chip slice is not offered, so 2 becomes 4.
    """
    weight_gb = total_params_b * BYTES_PER_PARAM[precision]
    need = max(1, math.ceil(weight_gb / (hardware.memory_gb * WEIGHT_MEMORY_SHARE) - 1e-9))
    if interconnect(hardware) == "ici":
        n = 1 << (need - 1).bit_length()
        return 4 if n == 2 else n
    if need <= _GPUS_PER_NODE:
        return 1 << (need - 1).bit_length()
    return _GPUS_PER_NODE * math.ceil(need / _GPUS_PER_NODE)

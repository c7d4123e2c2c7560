"""The calibrated energy model: GPU energy per input and output token from serving physics.

One decode step of a replica (``gpus`` accelerators serving ``batch_size`` sequences) reads the
weights the batch touches and the batch's KV cache once, and runs ``2 x active params`` FLOPs per
sequence. With ``G`` accelerators, batch ``B``, ``a``/``t`` active/total params, ``b`` bytes per
weight (``tracker.specs.BYTES_PER_PARAM``)::

    touched   = t * (1 - (1 - a/t) ** B)        # MoE: distinct experts the batch hits; dense: t
    t_mem     = (touched * (b + d) + B * kv * sqrt(a)) / (G * bandwidth * eta_mem)
    t_comp    = 2 * a * B / (G * peak_eff * mfu_decode)
    t_step    = t_fixed + t_comm * (G - 1) + t_seq * B + (t_mem**k + t_comp**k) ** (1/k)
    E_step    = G * TDP * (p_idle * t_step + p_mem * t_mem + p_comp * t_comp)
    J/output  = E_step / B
    J/input   = 2 * a / (peak_eff * mfu_prefill) * TDP * (p_idle + p_comp)  # compute-bound

``t_fixed`` is host-side time per step (scheduling, launches), ``t_comm`` tensor-parallel
synchronisation, ``t_seq`` per-sequence work outside the weight roofline (attention over the
context, sampling). ``d`` is a low-precision kernel overhead (8-bit: activation quantisation and
small-batch kernel inefficiency; 4-bit: weight dequantisation; in equivalent bytes per weight;
zero at 16 bits and wider) and ``peak_eff`` is the 16-bit peak
times the precision's peak ratio raised to a fitted gain below one, so a narrower format saves
little at large batch and can cost more at small batch, as ML.ENERGY v3 measured for FP8.
Hardware enters only through its spec numbers (TDP, bandwidth, peak FLOP/s, memory). The
coefficients are fitted by ``benchmarks/calibrate.py`` on measured ML.ENERGY data and stored with
their provenance in ``tracker/model/data/calibration.json``, loaded once at import.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from tracker.model._specs import BYTES_PER_PARAM, HardwareSpec

__all__ = [
    "BATCH_SIZE_RANGE",
    "CALIBRATION_FILE",
    "COEFFICIENTS",
    "DEFAULT_BATCH_SIZE",
    "RANGE_LOG2_SPREAD",
    "default_gpus",
    "gpu_joules_per_token",
]

#: Fitted coefficients with their provenance (written by ``benchmarks/calibrate.py``).
CALIBRATION_FILE: Final = Path(__file__).with_name("data") / "calibration.json"

#: Coefficient names the model needs (the JSON file must carry each).
_NAMES: Final = (
    "eta_mem", "mfu_decode", "mfu_prefill", "t_fixed_s", "kv_mb_per_seq", "roofline_k",
    "p_idle", "p_mem", "p_comp", "overhead_8bit_bytes", "overhead_4bit_bytes",
    "lowp_flops_gain", "t_comm_s", "t_seq_s",
)

#: Share of accelerator memory the weights may fill; the rest holds KV cache and activations
#: (vLLM's default gpu_memory_utilization is 0.9; a usable KV pool needs a good part of it).
WEIGHT_MEMORY_SHARE: Final = 0.75
_GPUS_PER_NODE: Final = 8

#: Central batch (concurrent sequences per replica) for hosted or unknown serving.
#:
#: Hosted batch sizes are not published. 256 is vLLM's long-standing default cap on concurrent
#: sequences (``max_num_seqs``), the point where the ML.ENERGY v2/v3 per-token curves have
#: flattened (beyond it energy per token falls by well under 2x while latency keeps growing), and
#: it puts a GPT-4o-class request (88B active of 440B, bf16, 16 H100, 100 in / 300 out) at about
#: 0.16 Wh on the accelerators, 0.30 Wh at the facility (x 1.6 host x 1.2 PUE): beside Google's
#: 0.10 Wh accelerators-only median Gemini prompt and Epoch AI's 0.3 Wh / OpenAI's 0.34 Wh.
DEFAULT_BATCH_SIZE: Final[float] = 256.0

#: (low, high) batch for the range. 64 is EcoLogits' assumed serving batch (``BATCH_SIZE`` in
#: genai-impact/ecologits ecologits/impacts/llm.py) and the knee of the measured curves, i.e. a
#: lightly loaded, latency-first replica; 1024 is about the largest batch the ML.ENERGY sweeps
#: sustain for 70B-class models on 4-8 accelerators (throughput-first serving).
BATCH_SIZE_RANGE: Final[tuple[float, float]] = (64.0, 1024.0)


def _load(path: Path = CALIBRATION_FILE) -> dict[str, float]:
    """Read the fitted coefficients from the calibration file (once, at import)."""
    with path.open(encoding="utf-8") as fh:
        raw = json.load(fh)["coefficients"]
    return {name: float(raw[name]) for name in _NAMES}


#: The fitted coefficients in use (see ``calibration.json`` for meaning and provenance).
COEFFICIENTS: Final[Mapping[str, float]] = _load()


def _cv_spread(path: Path = CALIBRATION_FILE) -> float:
    """The model's own error on models it was not fitted on: leave-one-model-out median |log2|."""
    with path.open(encoding="utf-8") as fh:
        scores = json.load(fh)["scores"]["cross_validation"]["leave_one_model_out"]
    return float(scores["median_abs_log2"])


#: Every calibrated range is widened by 2**RANGE_LOG2_SPREAD both ways: the cross-validated
#: median error of the fit (about 1.3x), so a range never claims more precision than the model has.
RANGE_LOG2_SPREAD: Final[float] = _cv_spread()


def per_token_joules(
    coef: Mapping[str, float],
    *,
    active_params_b: float,
    total_params_b: float,
    bytes_per_param: float,
    tdp_w: float,
    bandwidth_tb_s: float,
    peak_16bit_flops: float,
    peak_flops: float,
    gpus: int,
    batch_size: float,
) -> tuple[float, float]:
    """The model with explicit coefficients and plain hardware numbers (used by the fit too).

    Returns (joules per input token, joules per output token) for the whole replica.
    """
    g = float(max(1, gpus))
    batch = max(1.0, float(batch_size))
    total = max(total_params_b, 1e-6)
    active = min(max(active_params_b, 1e-6), total)
    # Weights the batch touches in one step: each sequence picks experts worth active/total of
    # the expert weights; B sequences cover 1 - (1 - a/t)^B of them (dense: all).
    ratio = active / total
    touched = total if ratio >= 1.0 else total * -math.expm1(batch * math.log1p(-ratio))
    if bytes_per_param >= 2.0:
        overhead = 0.0
    elif bytes_per_param >= 1.0:
        overhead = coef["overhead_8bit_bytes"]
    else:
        overhead = coef["overhead_4bit_bytes"]
    gain = coef["lowp_flops_gain"] if peak_flops > peak_16bit_flops else 1.0
    peak_eff = peak_16bit_flops * (peak_flops / peak_16bit_flops) ** gain
    weight_bytes = touched * 1e9 * (bytes_per_param + overhead)
    kv_bytes = batch * coef["kv_mb_per_seq"] * 1e6 * math.sqrt(active)
    t_mem = (weight_bytes + kv_bytes) / (g * bandwidth_tb_s * 1e12 * coef["eta_mem"])
    t_comp = 2.0 * active * 1e9 * batch / (g * peak_eff * coef["mfu_decode"])
    k = coef["roofline_k"]
    t_step = (
        coef["t_fixed_s"] + coef["t_comm_s"] * (g - 1.0) + coef["t_seq_s"] * batch
        + (t_mem**k + t_comp**k) ** (1.0 / k)
    )
    step_joules = g * tdp_w * (
        coef["p_idle"] * t_step + coef["p_mem"] * t_mem + coef["p_comp"] * t_comp
    )
    prefill = (
        2.0 * active * 1e9 / (peak_eff * coef["mfu_prefill"])
        * tdp_w * (coef["p_idle"] + coef["p_comp"])
    )
    return prefill, step_joules / batch


def gpu_joules_per_token(
    *,
    active_params_b: float,
    total_params_b: float,
    precision: str,
    hardware: HardwareSpec,
    gpus: int,
    batch_size: float,
) -> tuple[float, float]:
    """Accelerator joules per input (prefill) token and per output (decode) token.

    GPU energy only: no host, no PUE. Non-increasing in ``batch_size``, non-decreasing in
    ``active_params_b``. Pure and cheap; callers cache per configuration.
    """
    return per_token_joules(
        COEFFICIENTS,
        active_params_b=active_params_b,
        total_params_b=total_params_b,
        bytes_per_param=BYTES_PER_PARAM[precision],
        tdp_w=hardware.tdp_w,
        bandwidth_tb_s=hardware.bandwidth_tb_s,
        peak_16bit_flops=hardware.peak_flops("bf16"),
        peak_flops=hardware.peak_flops(precision),
        gpus=gpus,
        batch_size=batch_size,
    )


def default_gpus(total_params_b: float, precision: str, hardware: HardwareSpec) -> int:
    """Accelerators one replica needs: weights within 75 % of memory, a power of two.

    The weights (total params, so every MoE expert is resident, x bytes per param) may fill
    ``WEIGHT_MEMORY_SHARE`` of each accelerator's memory; the rest is KV cache and activations.
    The count is rounded up to a power of two (tensor parallelism) up to 8 per node, then to
    whole 8-accelerator nodes.
    """
    weight_gb = total_params_b * BYTES_PER_PARAM[precision]
    need = max(1, math.ceil(weight_gb / (hardware.memory_gb * WEIGHT_MEMORY_SHARE) - 1e-9))
    if need <= _GPUS_PER_NODE:
        return 1 << (need - 1).bit_length()
    return _GPUS_PER_NODE * math.ceil(need / _GPUS_PER_NODE)

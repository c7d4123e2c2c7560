"""Serving-engine profiles: the per-step overheads the calibrated model adds to the roofline.

Four profiles are fitted on measurements (``benchmarks/accuracy/calibrate.py``, stored in
``tracker/model/data/calibration.json``): ``vllm`` (the V1 engine with its default synchronous
scheduler: ML.ENERGY leaderboard v3.0, vLLM 0.11.1), ``vllm-async`` (vLLM with
``async-scheduling``, the host preparing step N+1 while the GPU runs step N: SemiAnalysis
InferenceX's gpt-oss serving, benchmarks/gptoss_fp4_h100.sh), ``vllm-0.4`` (vLLM before its 2024
overhead work: ML.ENERGY v2.0, vLLM 0.4.2) and ``tensorrt-llm`` (MLPerf Inference power results,
NVIDIA's TensorRT-LLM harness). The others are derived with stated multipliers, because no public
energy measurement of them was available to fit on:

- ``sglang``: the geometric mean of ``vllm-async`` and ``tensorrt-llm``, host work overlapped:
  SGLang's overlap scheduler hides the host-side scheduling of a step behind the GPU work, while
  its kernels are vLLM-class (Zheng et al. 2024, arXiv:2312.07104; LMSYS blog "SGLang v0.4",
  2024).
- ``transformers``: Hugging Face ``generate()``: eager PyTorch, no CUDA graphs or paged
  attention, static batches. Three times vLLM's per-step and per-sequence overheads (vLLM paper,
  Kwon et al. 2023, arXiv:2309.06180, measured 14-24x vLLM's throughput over Transformers, mostly
  from batching, which the batch input already carries).
- ``llama.cpp``: C++ with CUDA graphs, small fixed cost per step (half vLLM's) but per-sequence
  work four times vLLM's (no paged batched attention; built for one or a few streams).
- ``mix`` (the default, for hosted APIs whose engine is unknown): the central value is the
  geometric mean of ``vllm-async``, ``sglang`` and ``tensorrt-llm``, the three ways production
  fleets serve today (each overlaps or hides the host's work); the range spans the cheapest and
  the dearest of the three.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "ENGINES",
    "FITTED_ENGINES",
    "MIX",
    "MIX_MEMBERS",
    "EngineProfile",
    "engine_profiles",
]

#: Profiles fitted on measured energy.
FITTED_ENGINES: Final = ("vllm", "vllm-async", "vllm-0.4", "tensorrt-llm")
#: The documented hosted-API mix and its members.
MIX: Final = "mix"
MIX_MEMBERS: Final = ("vllm-async", "sglang", "tensorrt-llm")
#: Every engine name `estimate()` accepts.
ENGINES: Final = ("vllm", "vllm-async", "vllm-0.4", "sglang", "tensorrt-llm", "transformers",
                  "llama.cpp", MIX)

#: Aliases accepted for engine names (lower-cased input).
ALIASES: Final[Mapping[str, str]] = {
    "trt-llm": "tensorrt-llm", "tensorrt_llm": "tensorrt-llm", "trtllm": "tensorrt-llm",
    "tensorrt": "tensorrt-llm", "hf": "transformers", "huggingface": "transformers",
    "llamacpp": "llama.cpp", "llama-cpp": "llama.cpp", "ollama": "llama.cpp",
    "vllm-v0": "vllm-0.4", "vllm-v1": "vllm", "vllm-async-scheduling": "vllm-async",
}

#: Multipliers (t_fixed, t_seq, t_comm) of derived engines relative to vLLM (see module doc).
_DERIVED: Final[Mapping[str, tuple[float, float, float]]] = {
    "transformers": (3.0, 3.0, 1.0),
    "llama.cpp": (0.5, 4.0, 1.0),
}


@dataclass(frozen=True, slots=True)
class EngineProfile:
    """Per-step overheads of one serving engine, in seconds."""

    name: str
    #: fixed host-side time per decode step (scheduling, launches, sampling)
    t_fixed_s: float
    #: time per sequence per step outside the weight/KV roofline
    t_seq_s: float
    #: tensor-parallel synchronisation per step per extra accelerator
    t_comm_s: float
    #: whether the engine stores the KV cache at 8 bits when the weights are 8-bit or narrower
    kv_low_precision: bool = False
    #: whether the host's per-step work overlaps the device's (async / overlap scheduler)
    overlap: bool = False


def _geo(a: float, b: float) -> float:
    return math.sqrt(a * b)


def engine_profiles(fitted: Mapping[str, Mapping[str, float]]) -> dict[str, EngineProfile]:
    """All engine profiles from the fitted ones (``{name: {t_fixed_s, t_seq_s, t_comm_s}}``)."""
    v, t, old = fitted["vllm"], fitted["tensorrt-llm"], fitted["vllm-0.4"]
    # without a fit of its own: vLLM's overheads, the host's share overlapped
    a = fitted.get("vllm-async", v)
    out = {
        "vllm": EngineProfile("vllm", v["t_fixed_s"], v["t_seq_s"], v["t_comm_s"]),
        "vllm-0.4": EngineProfile("vllm-0.4", old["t_fixed_s"], old["t_seq_s"], old["t_comm_s"]),
        # MLPerf's TensorRT-LLM submissions store the KV cache in FP8 with FP8/FP4 weights.
        "tensorrt-llm": EngineProfile("tensorrt-llm", t["t_fixed_s"], t["t_seq_s"],
                                      t["t_comm_s"], kv_low_precision=True),
        "sglang": EngineProfile("sglang", _geo(a["t_fixed_s"], t["t_fixed_s"]),
                                _geo(a["t_seq_s"], t["t_seq_s"]),
                                _geo(a["t_comm_s"], t["t_comm_s"]), overlap=True),
        "vllm-async": EngineProfile("vllm-async", a["t_fixed_s"], a["t_seq_s"], a["t_comm_s"],
                                    overlap=True),
    }
    for name, (f, s, c) in _DERIVED.items():
        out[name] = EngineProfile(name, v["t_fixed_s"] * f, v["t_seq_s"] * s, v["t_comm_s"] * c)
    return out


def normalise_engine(name: str) -> str | None:
    """The canonical engine name of `name`, or None when it is not a known engine."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    return key if key in ENGINES else None

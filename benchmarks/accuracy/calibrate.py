"""Fit the calibrated energy model's coefficients on the three measured sources in benchmarks/data/.

Usage::

    python -m benchmarks.accuracy.calibrate [--out tracker/model/data/calibration.json] [--dry-run]

Sources (see ``benchmarks/data/README.md``):

- ``measured_energy_calibration.csv``: ML.ENERGY leaderboard v2/v3, GPU energy per output token
  under vLLM; the conversation and reasoning rows (lm-arena-chat, chat, gpqa) are used. The file
  has no prompt lengths: ``PROMPT_TOKENS`` below are assumed per task. Leaderboard v2.0 ran vLLM
  0.4.2 (engine profile ``vllm-0.4``), v3.0 vLLM 0.11.1 (``vllm``).
- ``mlperf_power.csv``: MLPerf Inference power results, the whole server at the wall under
  TensorRT-LLM; the distinct runs of greedy-decoding benchmarks (GPT-J decodes with 4-beam search
  and is left out; rows with ``same_run_as`` are duplicates).
- ``inferencex_gpu_power.csv``: SemiAnalysis InferenceX, summed nvidia-smi/amd-smi GPU power of
  the replica (gpt-oss-120b MXFP4 on H100 under vLLM with async scheduling, ``vllm-async``;
  DeepSeek-R1 FP8 on MI325X under SGLang), accelerator energy; the H100 runs' power window
  includes the server's start-up, taken out by ``inferencex_window.py``.

Features are structural only (params, precision, hardware spec, accelerators per replica,
concurrency, token lengths, engine, power limit), never the model's name. The objective is a
robust (soft-L1) loss on log2(estimate / measured), each source weighted to the same total,
with a weak pull of every coefficient toward its physical prior, so a fit on one small source
stays physical; ``host_frac`` is held at its sourced value (``FIXED``). The architecture (KV
bytes per token, layers x hidden) comes from the registry where the measured model publishes it,
else from the size priors, as at run time. Prints the fit, the cross-source scores (fit on two,
score the third) and leave-one-model-out on each source, and writes the coefficients with
provenance and scores.
numpy and scipy are needed here only (the ``fit`` extra); the SDK reads the JSON with the stdlib.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy
from scipy.optimize import least_squares

REPO = Path(__file__).resolve().parents[2]

from benchmarks.accuracy import inferencex_window as window  # noqa: E402
from tracker.model import _calibrated as _calib  # noqa: E402
from tracker.model import _physics as phys  # noqa: E402
from tracker.model._calibrated import CALIBRATION_FILE, ENGINE_NAMES  # noqa: E402
from tracker.model._registry import get_registry  # noqa: E402
from tracker.model._specs import BYTES_PER_PARAM, ModelSpec  # noqa: E402

DATA = REPO / "benchmarks" / "data"
ML_ENERGY_CSV = DATA / "measured_energy_calibration.csv"
MLPERF_CSV = DATA / "mlperf_power.csv"
INFERENCEX_CSV = DATA / "inferencex_gpu_power.csv"
ML_TASKS = ("lm-arena-chat", "chat", "gpqa")
#: Assumed mean prompt tokens per ML.ENERGY task (not in the file): single-turn chat prompts
#: (LMArena, ShareGPT) of a few hundred tokens; a GPQA question with its four choices.
PROMPT_TOKENS = {"lm-arena-chat": 200.0, "chat": 200.0, "gpqa": 250.0}
#: Benchmarks decoded greedily (GPT-J runs 4-beam search: not comparable).
MLPERF_GREEDY = ("llama2-70b", "mixtral-8x7b", "llama3.1-405b", "llama3.1-8b")
FITTED = ("vllm", "vllm-async", "vllm-0.4", "tensorrt-llm")

#: Shared coefficients: (prior, lower, upper). The prior is where the fit starts and what it is
#: weakly pulled toward.
SHARED: dict[str, tuple[float, float, float]] = {
    "eta_mem": (0.7, 0.2, 0.95),
    "eta_kv": (0.5, 0.05, 0.95),
    "mfu_decode": (0.4, 0.05, 0.9),
    "mfu_prefill": (0.5, 0.35, 0.65),
    # H100 idle: 70 W (0.10 of TDP); InferenceX's H100s at TP8 and concurrency 4-8, mostly
    # waiting, draw 240-280 W over the benchmark (0.34-0.40, an upper bound on the waiting draw:
    # benchmarks/accuracy/inferencex_window.py)
    "p_idle": (0.23, 0.15, 0.35),
    "p_mem": (0.3, 0.02, 1.0),
    "lowp_gain": (0.6, 0.05, 1.0),
    "overhead_8bit_bytes": (0.2, 0.01, 2.0),
    "overhead_4bit_bytes": (0.1, 0.01, 2.0),
    "cap_alpha": (0.5, 0.05, 1.0),
    "moe_eff": (0.5, 0.05, 1.0),
}
#: Per-engine overheads: (prior, lower, upper). An engine without rows in the fit keeps its
#: prior. Host time per step of a synchronous vLLM: a GPU bubble of 5-13 ms per decode step in
#: vLLM 0.5 (vllm-project/vllm issue #6854, 2024: prior 9 ms for ``vllm-0.4``) and 5-6 ms
#: between decodes at batch 256 after its output-processing work (issue #10634, 2024: prior
#: 5.5 ms for ``vllm``); with async scheduling the host work overlaps the GPU's (PR #23569).
#: TP synchronisation per extra GPU at most 1 ms (two all-reduces per layer, microseconds each
#: over NVLink), except vLLM 0.4's driver-to-worker broadcast of each step's inputs (10 ms).
#: vLLM before v0.6 (``vllm-0.4``: ML.ENERGY v2.0 ran 0.4.2): the GPU was busy only 38 % of
#: a Llama-3-8B H100 decode, the rest being Python scheduling, sampling and detokenisation per
#: sequence; v0.6 cut that overhead for 2.7x the throughput (vLLM blog, "vLLM v0.6.0: 2.7x
#: throughput improvement", 2024-09), and the V1 engine (``vllm``: ML.ENERGY v3.0 ran 0.11.1)
#: further. TensorRT-LLM: a C++ in-flight-batching executor with
#: CUDA graphs, overlapping host work with the GPU (NVIDIA TensorRT-LLM docs, 2024).
#: ``t_seq_s`` is host time per running sequence (one Python process does it however many GPUs
#: the replica has): in vLLM 0.5, sampling, input preparation, output processing and scheduling
#: took about 20 ms between steps at batch 200 (vllm-project/vllm issue #6801, 2024), and the
#: HTTP server, sharing that process, about as much again (33 % of the time against 29 % for
#: scheduling: vLLM blog, 2024-09): about 40 ms at batch 200, 0.15-0.2 ms per sequence beyond
#: the fixed part (prior 0.2 ms for ``vllm-0.4``).
PER_ENGINE: dict[str, dict[str, tuple[float, float, float]]] = {
    "vllm": {"t_fixed_s": (0.0055, 1e-4, 0.05), "t_seq_s": (5e-5, 1e-7, 1e-3),
             "t_comm_s": (5e-4, 1e-6, 1e-3)},
    "vllm-async": {"t_fixed_s": (0.002, 1e-4, 0.05), "t_seq_s": (2e-5, 1e-7, 1e-3),
                   "t_comm_s": (1e-4, 1e-6, 1e-3)},
    "vllm-0.4": {"t_fixed_s": (0.009, 1e-4, 0.05), "t_seq_s": (2e-4, 1e-7, 1e-3),
                 "t_comm_s": (5e-4, 1e-6, 0.01)},
    "tensorrt-llm": {"t_fixed_s": (0.002, 1e-4, 0.05), "t_seq_s": (1e-5, 1e-7, 1e-3),
                     "t_comm_s": (3e-4, 1e-6, 1e-3)},
}
#: Coefficients held fixed at a sourced value, with the reason.
FIXED: dict[str, tuple[float, str]] = {
    "host_frac": (0.4, "host power at load per accelerator, share of its TDP: the MLPerf 8-GPU "
                       "servers idle at 2.2-2.9 kW, of which about 0.5-0.6 kW is the GPUs' idle "
                       "draw, leaving 210-300 W of host per 700 W H100 at idle (0.3-0.43 of TDP), "
                       "a little more under load. Left free, the fit on MaxQ (GPU-capped) runs "
                       "takes it to 0.56, folding some accelerator energy into the host"),
}
PRIOR_WEIGHT = 0.5
F_SCALE = 0.3
MEANINGS = {
    "eta_mem": "achieved share of HBM bandwidth reading weights in decode",
    "eta_kv": "achieved share of HBM bandwidth reading the KV cache (attention kernels)",
    "mfu_decode": "achieved share of the compute peak in decode GEMMs",
    "mfu_prefill": "achieved share of the compute peak in prefill",
    "p_idle": "accelerator power drawn for the whole step, share of TDP",
    "p_mem": "extra accelerator energy while streaming memory, share of TDP x t_mem",
    "p_comp": "not fitted: computing adds 1 - p_idle of TDP (a compute-saturated "
              "accelerator draws its TDP; tracker/model/_physics.py compute_power)",
    "lowp_gain": "exponent on the native low-precision peak ratio actually realised",
    "overhead_8bit_bytes": "8-bit kernel overhead, equivalent HBM bytes per weight touched",
    "overhead_4bit_bytes": "4-bit kernel overhead (dequantisation), equivalent bytes per weight",
    "host_frac": "host power (CPUs, memory, fans, PSU losses) per accelerator, share of its TDP",
    "cap_alpha": "under a power limit, accelerator energy scales as (limit / draw) ** cap_alpha",
    "moe_eff": "MoE expert GEMMs' share of the dense decode GEMMs' efficiency (grouped GEMM)",
    "t_fixed_s": "engine: fixed host time per decode step (scheduling, launches, sampling), s",
    "t_seq_s": "engine: host time per running sequence per step (scheduling, sampling, "
               "detokenisation), not divided among the replica's accelerators, s",
    "t_comm_s": "engine: tensor-parallel synchronisation per step per extra accelerator, s",
}
PRIOR_SOURCES = {
    "lowp_gain": "ML.ENERGY v3: vLLM FP8 saves little at batch >= 64 (Chung et al. 2026, "
                 "arXiv:2601.22076); MLPerf TensorRT-LLM FP8/FP4 realises more of the peak",
}


@dataclass
class Rows:
    """One source as arrays (one entry per measured row)."""

    source: str
    model: list[str]
    engine: list[str]
    gpu: list[str]
    measured: np.ndarray
    boundary: str  # "accelerator" or "server"
    cols: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.model)

    def take(self, mask: np.ndarray) -> Rows:
        """The rows where `mask` is true."""
        idx = np.flatnonzero(mask)
        return Rows(self.source, [self.model[i] for i in idx], [self.engine[i] for i in idx],
                    [self.gpu[i] for i in idx], self.measured[idx], self.boundary,
                    {k: v[idx] for k, v in self.cols.items()})


def _hw_specs(gpus: Sequence[str]) -> list[Any]:
    reg = get_registry()
    return [reg.hardware(g) for g in gpus]


def _hw_cols(gpus: Sequence[str], precisions: Sequence[str]) -> dict[str, np.ndarray]:
    from tracker.model._calibrated import native_peak

    reg = get_registry()
    hws = [reg.hardware(g) for g in gpus]
    return {
        "tdp_w": np.array([h.tdp_w for h in hws], float),
        "bandwidth": np.array([h.bandwidth_tb_s * 1e12 for h in hws], float),
        "peak16": np.array([h.peak_flops("bf16") for h in hws], float),
        "peak_native": np.array([native_peak(h, p) for h, p in zip(hws, precisions,
                                                                    strict=True)], float),
    }


def _arrays(model: list[str], engine: list[str], gpu: list[str], precision: list[str],
            active: list[float], total: list[float], gpus: list[float], batch: list[float],
            prompt: list[float], output: list[float], limit: list[float | None],
            measured: list[float], source: str, boundary: str) -> Rows:
    cols = _hw_cols(gpu, precision)
    bpp = np.array([BYTES_PER_PARAM[p] for p in precision])
    cols.update({
        "active": np.array(active), "total": np.maximum(np.array(total), np.array(active)),
        "bpp": bpp, "bits": np.where(bpp >= 2, 16, np.where(bpp >= 1, 8, 4)),
        "gpus": np.array(gpus, float), "batch": np.maximum(np.array(batch, float), 1.0),
        "hops": np.array([phys.sync_hops(float(n), _calib.interconnect(h)) for n, h in
                          zip(gpus, _hw_specs(gpu), strict=True)]),
        "prompt": np.array(prompt), "output": np.array(output),
        "kv_low": np.array([e == "tensorrt-llm" and b <= 1 for e, b in zip(engine, bpp,
                                                                            strict=True)]),
    })
    specs = [architecture(m) for m in model]
    cols["kv"] = np.array([_calib.kv_bytes_per_token(sp, a) for sp, a in zip(specs, active,
                                                                              strict=True)])
    cols["lh"] = np.array([_calib.layers_hidden(sp, a) for sp, a in zip(specs, active,
                                                                         strict=True)])
    cols["limit"] = np.array([cols["tdp_w"][i] if x is None else min(x, cols["tdp_w"][i])
                              for i, x in enumerate(limit)])
    return Rows(source, model, engine, gpu, np.array(measured), boundary, cols)


def architecture(name: str) -> ModelSpec | None:
    """The registry's spec of a measured model when it publishes its architecture, else None.

    Only structural facts are read from it (layers, hidden size, KV heads, head dim, MLA latent),
    exactly as the runtime does for a registry model; an unknown model gets the size priors.
    """
    spec = get_registry().find_model(name) or get_registry().find_model(name.split("/")[-1])
    return spec if spec is not None and spec.layers else None


def ml_energy_engine(source: str) -> str:
    """The engine of an ML.ENERGY row: leaderboard v2.0 ran vLLM 0.4.2, v3.0 vLLM 0.11.1."""
    return "vllm-0.4" if "v2.0" in source else "vllm"


def load_ml_energy(path: Path = ML_ENERGY_CSV) -> Rows:
    """ML.ENERGY conversation and reasoning rows (GPU energy, vLLM)."""
    with path.open(encoding="utf-8") as fh:
        rs = [r for r in csv.DictReader(fh) if r["task"] in ML_TASKS]
    return _arrays(
        [r["model"] for r in rs], [ml_energy_engine(r["source"]) for r in rs],
        [r["gpu"] for r in rs],
        [r["precision"] for r in rs], [float(r["active_params_b"]) for r in rs],
        [float(r["total_params_b"]) for r in rs], [float(r["num_gpus"]) for r in rs],
        [float(r["avg_batch"]) for r in rs], [PROMPT_TOKENS[r["task"]] for r in rs],
        [float(r["avg_output_len"]) for r in rs], [None] * len(rs),
        [float(r["joules_per_output_token"]) for r in rs], "ml.energy", "accelerator")


def mlperf_rows(path: Path = MLPERF_CSV) -> list[dict[str, str]]:
    """Distinct greedy-decoding MLPerf runs (the raw CSV rows)."""
    with path.open(encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh)
                if not r["same_run_as"] and r["benchmark"].startswith(MLPERF_GREEDY)]


def load_mlperf(path: Path = MLPERF_CSV) -> Rows:
    """MLPerf distinct greedy runs (whole server at the wall, TensorRT-LLM)."""
    rs = mlperf_rows(path)
    return _arrays(
        [r["model"] for r in rs], ["tensorrt-llm"] * len(rs), [r["accelerator"] for r in rs],
        [r["precision"] for r in rs], [float(r["active_params_b"] or r["total_params_b"])
                                       for r in rs],
        [float(r["total_params_b"]) for r in rs], [float(r["gpus_per_replica"]) for r in rs],
        [float(r["concurrency"]) for r in rs], [float(r["input_tokens_per_sample"]) for r in rs],
        [float(r["output_tokens_per_sample"]) for r in rs],
        [float(r["gpu_power_limit_w"]) if r["gpu_power_limit_w"] else None for r in rs],
        [float(r["joules_per_output_token_wall"]) for r in rs], "mlperf", "server")


def inferencex_engine(source: str, notes: str) -> str:
    """The engine of an InferenceX row: SGLang where the row says so, else vLLM with async
    scheduling (InferenceX's benchmarks/gptoss_fp4_h100.sh serves with ``async-scheduling:
    true``, Marlin MXFP4 kernels and CUDA graphs up to batch 2048)."""
    return "sglang" if "sglang" in (source + notes).lower() else "vllm-async"


def inferencex_startup(rs: Sequence[dict[str, str]]) -> tuple[float, list[Any]]:
    """InferenceX's start-up seconds inside its power window (mean of the paired runs) and the
    pairs (``benchmarks/accuracy/inferencex_window.py``)."""
    pairs = window.startup_s([window.parse(r) for r in rs])
    return (sum(p[2] for p in pairs) / len(pairs) if pairs else 0.0), pairs


def load_inferencex(path: Path = INFERENCEX_CSV) -> Rows:
    """SemiAnalysis InferenceX runs (summed GPU power of the replica, vLLM or SGLang).

    The H100 runs' figures are the benchmark's energy: their published J per output token
    averages the GPU power over a window that includes the server's start-up, which
    `inferencex_window` takes out.
    """
    with path.open(encoding="utf-8") as fh:
        rs = list(csv.DictReader(fh))
    startup, _ = inferencex_startup(rs)
    measured = []
    for r in rs:
        run = window.parse(r)
        measured.append(float(r["measured_wh_per_1k_out"]) * 3.6 if run is None
                        else window.corrected(run, startup))
    return _arrays(
        [r["model"] for r in rs], [inferencex_engine(r["url_or_citation"], r["notes"])
                                   for r in rs],
        [r["hardware"] for r in rs], [r["precision"] for r in rs],
        [float(r["active_params_b"]) for r in rs], [float(r["total_params_b"]) for r in rs],
        [float(r["gpus"]) for r in rs], [float(r["batch_size"]) for r in rs],
        [float(r["input_tokens"]) for r in rs], [float(r["output_tokens"]) for r in rs],
        [None] * len(rs), measured, "inferencex", "accelerator")


def load_all() -> list[Rows]:
    """The three sources, in a fixed order."""
    return [load_ml_energy(), load_mlperf(), load_inferencex()]


# ----------------------------------------------------------------------------- the model


def predict(coef: dict[str, float], engines: dict[str, dict[str, float]], rows: Rows,
            boundary: str | None = None) -> np.ndarray:
    """Joules per output token (prefill folded in) at `boundary` (default: the rows' own)."""
    c = rows.cols
    profiles = _all_engines(engines)
    eng = {n: np.array([profiles[e][n] for e in rows.engine]) for n in (*ENGINE_NAMES,
                                                                          "overlap")}
    over = np.where(c["bits"] == 16, 0.0, np.where(c["bits"] == 8, coef["overhead_8bit_bytes"],
                                                   coef["overhead_4bit_bytes"]))
    kv = c["kv"] * np.where(c["kv_low"], 0.5, 1.0)
    context = c["prompt"] + c["output"] / 2.0
    args = dict(active=c["active"], total=c["total"], bytes_per_param=c["bpp"],
                lowp_overhead=over, kv_bytes=kv, tdp_w=c["tdp_w"], bandwidth=c["bandwidth"],
                peak16=c["peak16"], peak_native=c["peak_native"], gpus=c["gpus"],
                batch=c["batch"], limit_w=c["limit"], sync_hops=c["hops"], xp=np)
    # As the runtime prices it (tracker/model/_calibrated.py replica_joules): the decode energy
    # at no context plus a slope per token of context, from a probe at CONTEXT_PROBE tokens.
    acc0, host0 = phys.decode_joules(coef, eng, context=0.0, **args)
    acc_p, host_p = phys.decode_joules(coef, eng, context=_calib.CONTEXT_PROBE, **args)
    acc_out = acc0 + np.maximum(acc_p - acc0, 0.0) / _calib.CONTEXT_PROBE * context
    host_out = host0 + np.maximum(host_p - host0, 0.0) / _calib.CONTEXT_PROBE * context
    acc_in, host_in = phys.prefill_joules(
        coef, active=c["active"], layers_hidden=c["lh"],
        prompt_len=c["prompt"], tdp_w=c["tdp_w"], peak16=c["peak16"],
        peak_native=c["peak_native"], limit_w=c["limit"], xp=np)
    per_out = c["prompt"] / c["output"]
    acc = acc_out + per_out * acc_in
    if (boundary or rows.boundary) == "accelerator":
        return np.asarray(acc)
    return np.asarray(acc + host_out + per_out * host_in)


def _all_engines(engines: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Fitted profiles plus the derived ones (sglang, ...), as the runtime derives them."""
    from tracker.model._engines import engine_profiles

    return {name: {**{n: float(getattr(prof, n)) for n in ENGINE_NAMES},
                   "overlap": 1.0 if prof.overlap else 0.0}
            for name, prof in engine_profiles(engines).items()}


def errors(coef: dict[str, float], engines: dict[str, dict[str, float]], rows: Rows) -> np.ndarray:
    """log2(estimate / measured) per row."""
    return np.log2(predict(coef, engines, rows) / rows.measured)


def _layout(engines: Sequence[str]) -> list[tuple[str, str | None, tuple[float, float, float]]]:
    out: list[tuple[str, str | None, tuple[float, float, float]]] = [
        (n, None, b) for n, b in SHARED.items()]
    out += [(n, e, b) for e in engines for n, b in PER_ENGINE[e].items()]
    return out


def _unpack(x: np.ndarray, layout: Sequence[tuple[str, str | None, Any]],
            engines: Sequence[str]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    coef: dict[str, float] = {name: value for name, (value, _) in FIXED.items()}
    eng: dict[str, dict[str, float]] = {e: {} for e in FITTED}
    for v, (name, e, _) in zip(x, layout, strict=True):
        if e is None:
            coef[name] = float(math.exp(v))
        else:
            eng[e][name] = float(math.exp(v))
    # An engine without rows of its own keeps its prior overheads.
    for e in FITTED:
        if e not in engines:
            eng[e] = {n: b[0] for n, b in PER_ENGINE[e].items()}
    return coef, eng


def fit(sources: Sequence[Rows]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Fit shared and per-engine coefficients on `sources` (each weighted to the same total).

    Only rows of a fitted engine are fitted on: a row served by a derived profile (SGLang) has
    no overheads of its own to absorb its engine's offset, so it would bend the shared physics;
    it is scored, not fitted.
    """
    sources = [s.take(np.isin(np.array(s.engine), FITTED)) for s in sources]
    sources = [s for s in sources if len(s)]
    engines = sorted({e for s in sources for e in s.engine}, key=FITTED.index)
    layout = _layout(engines)
    prior = np.log([b[0] for _, _, b in layout])
    lo = np.log([b[1] for _, _, b in layout])
    hi = np.log([b[2] for _, _, b in layout])
    n_max = max(len(s) for s in sources)
    weights = [math.sqrt(n_max / len(s)) for s in sources]

    def residuals(x: np.ndarray) -> np.ndarray:
        coef, eng = _unpack(x, layout, engines)
        parts = [w * errors(coef, eng, s) for w, s in zip(weights, sources, strict=True)]
        parts.append(PRIOR_WEIGHT * (x - prior) / math.log(2))
        return np.concatenate(parts)

    res = least_squares(residuals, prior, bounds=(lo, hi), loss="soft_l1", f_scale=F_SCALE)
    res = least_squares(residuals, res.x, bounds=(lo, hi), loss="soft_l1", f_scale=F_SCALE)
    return _unpack(res.x, layout, engines)


def score(errs: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Median |log2|, mean |log2|, share within 2x and median bias of `errs`."""
    e = np.asarray(errs, float)
    a = np.abs(e)
    return {"n": len(a), "median_abs_log2": round(float(np.median(a)), 4),
            "mean_abs_log2": round(float(np.mean(a)), 4),
            "within_2x": round(float(np.mean(a <= 1.0)), 4),
            "median_log2_bias": round(float(np.median(e)), 4)}


def cross_source(sources: Sequence[Rows]) -> dict[str, dict[str, float]]:
    """For each source: fitted on all the others, scored on it."""
    out = {}
    for i, rows in enumerate(sources):
        others = [o for j, o in enumerate(sources) if j != i]
        c, e = fit(others)
        out[f"fit_others_score_{rows.source}"] = score(errors(c, e, rows))
    return out


def lomo(rows: Rows, others: Sequence[Rows] = ()) -> np.ndarray:
    """Leave-one-model-out errors on `rows` (`others` stay in every training set)."""
    out = np.zeros(len(rows))
    keys = np.array([_model_key(m) for m in rows.model])
    for key in sorted(set(keys)):
        mask = keys == key
        coef, eng = fit([rows.take(~mask), *others])
        out[mask] = errors(coef, eng, rows.take(mask))
    return out


def _model_key(name: str) -> str:
    """Group name variants of one model (instruct/thinking/renamed checkpoints) together."""
    return name.split("/")[-1].lower().replace("meta-", "").split("-instruct")[0].split(
        "-thinking")[0]


def breakdown(errs: np.ndarray, labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """Scores per label."""
    keys = sorted(set(labels))
    lab = np.array(labels)
    return {k: score(errs[lab == k]) for k in keys}


def kv_prior_fit() -> dict[str, Any]:
    """Refit the KV-cache and attention-width priors on the registry's published architectures."""
    pts = []
    for spec in get_registry().models():
        kv = spec.kv_bytes_per_token()
        if kv is None or spec.attention != "gqa" or not spec.hidden_size or spec.kind != "chat":
            continue
        pts.append((spec.active, kv, float(spec.layers or 0) * spec.hidden_size, spec.name))
    if len(pts) < 3:
        return {"n": len(pts)}
    x = np.log([p[0] for p in pts])
    kv_k, kv_c = np.polyfit(x, np.log([p[1] for p in pts]), 1)
    lh_k, lh_c = np.polyfit(x, np.log([p[2] for p in pts]), 1)
    return {"n": len(pts), "models": [p[3] for p in pts],
            "kv_bytes_per_token": [round(float(math.exp(kv_c)), -2), round(float(kv_k), 3)],
            "layers_x_hidden": [round(float(math.exp(lh_c)), -2), round(float(lh_k), 3)]}


def main(argv: Sequence[str] | None = None) -> int:
    """Fit, print, write."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--out", type=Path, default=CALIBRATION_FILE)
    ap.add_argument("--dry-run", action="store_true", help="fit and print, write nothing")
    ap.add_argument("--no-cv", action="store_true", help="skip leave-one-model-out (faster)")
    args = ap.parse_args(argv)
    sources = load_all()
    coef, eng = fit(sources)
    print("shared:", json.dumps({k: round(v, 6) for k, v in coef.items()}))
    print("engines:", json.dumps({e: {k: round(v, 7) for k, v in d.items()}
                                  for e, d in eng.items()}))
    scores: dict[str, Any] = {}
    spreads = []
    for rows in sources:
        e = errors(coef, eng, rows)
        scores[rows.source] = {"joint_fit": score(e), "by_hardware": breakdown(e, rows.gpu)}
        # the range must hold the measured figure for 90 % of every source's rows
        spreads.append(round(float(np.quantile(np.abs(e), 0.9)), 4))
        print(f"{rows.source:10s} joint fit: {score(e)}")
    scores["cross_source"] = cross_source(sources)
    for k, v in scores["cross_source"].items():
        print(f"cross-source {k}: {v}")
    # The range's spread: the worst of the 90th percentile of the joint fit's error on each
    # source, the median error where the model was not fitted (a new lab, a new engine:
    # fit on two, score the third) and leave-one-model-out (a new model).
    spreads += [v["median_abs_log2"] for v in scores["cross_source"].values()]
    if not args.no_cv:
        for i, rows in enumerate(sources):
            s = score(lomo(rows, [o for j, o in enumerate(sources) if j != i]))
            scores[rows.source]["leave_one_model_out"] = s
            spreads.append(s["median_abs_log2"])
            print(f"{rows.source:10s} leave-one-model-out: {s}")
    scores["range_log2_spread"] = max(spreads)
    with INFERENCEX_CSV.open(encoding="utf-8") as fh:
        startup, pairs = inferencex_startup(list(csv.DictReader(fh)))
    ix_window = {"startup_s": round(startup, 1), "idle_w_per_gpu": window.IDLE_W_PER_GPU,
                 "pairs": [{"gpus": a.gpus, "concurrency": a.concurrency,
                            "startup_s": round(t, 1), "benchmark_w_per_gpu": round(p / a.gpus)}
                           for a, _, t, p in pairs]}
    print("InferenceX power window:", ix_window)
    priors = kv_prior_fit()
    print("architecture priors refit on the registry:", priors)
    doc = {
        "description": "Fitted coefficients of the calibrated energy model "
                       "(tracker/model/_physics.py, _calibrated.py, _engines.py).",
        "coefficients": {k: round(v, 6) for k, v in coef.items()},
        "engines": {e: {k: float(f"{v:.6g}") for k, v in d.items()} for e, d in eng.items()},
        "meaning": MEANINGS,
        "fixed": {k: reason for k, (_, reason) in FIXED.items()},
        "priors": {**{k: v[0] for k, v in SHARED.items()},
                   **{e: {k: v[0] for k, v in d.items()} for e, d in PER_ENGINE.items()}},
        "prior_sources": PRIOR_SOURCES,
        "assumed_prompt_tokens_ml_energy": PROMPT_TOKENS,
        "architecture_priors": priors,
        "provenance": {
            "script": "benchmarks/accuracy/calibrate.py",
            "date": dt.date.today().isoformat(),
            "input_files": ["benchmarks/data/measured_energy_calibration.csv (ML.ENERGY "
                            "leaderboard v2.0/v3.0, GPU energy, vLLM)",
                            "benchmarks/data/mlperf_power.csv (MLPerf Inference v4.0-v5.1 "
                            "power results, whole server at the wall, TensorRT-LLM)",
                            "benchmarks/data/inferencex_gpu_power.csv (SemiAnalysis InferenceX, "
                            "nvidia-smi/amd-smi GPU power, vLLM and SGLang)"],
            "rows_used": {r.source: len(r) for r in sources},
            "inferencex_power_window": ix_window,
            "objective": f"soft-L1 (f_scale {F_SCALE}) on log2(estimate/measured), sources "
                         f"weighted equally, prior pull {PRIOR_WEIGHT} per log2 unit; "
                         "scipy.optimize.least_squares in log space",
            "hardware_specs": "tracker/model/data/hardware.json",
            "numpy": np.__version__, "scipy": scipy.__version__,
            "python": sys.version.split()[0],
        },
        "scores": scores,
    }
    if not args.dry_run:
        args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The check mode's runner: a random-weight model on the local GPU, measured against the estimate.

A model is built from a configuration with random weights (`transformers`, nothing downloaded),
run with ``generate()`` at each batch size for a fixed prompt and output length, and the named
GPU's energy is read by `EnergySampler` over the run. Measured joules per output token (the whole
run's accelerator energy, prefill included, over the output tokens) are set against the
`calibrated` estimate's accelerator energy for the same hardware, model shape, batch and token
counts (engine profile ``transformers``, one GPU).

Needs torch, transformers and nvidia-ml-py (the ``measure-check`` extra), imported here only when
a check runs; `missing_dependencies()` says which are absent without importing them.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.measure._attribution import RequestSpan, split
from tracker.measure._device import detect_hardware
from tracker.measure._sampler import EnergySampler
from tracker.model._estimate import pricer
from tracker.model._specs import ModelSpec

__all__ = ["SHAPES", "CheckRow", "detect_hardware", "load_shape", "missing_dependencies",
           "model_spec", "run_check"]

#: Built-in shapes (public Llama configurations; weights are random): name -> config fields.
SHAPES: dict[str, dict[str, Any]] = {
    "llama-1b": {"hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
                 "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
                 "model_type": "llama"},
    "llama-8b": {"hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
                 "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
                 "model_type": "llama"},
}
_DEPENDENCIES = (("torch", "torch"), ("transformers", "transformers"),
                 ("pynvml", "nvidia-ml-py"))
_J_PER_KWH = 3.6e6


@dataclass(frozen=True, slots=True)
class CheckRow:
    """One batch size: measured and estimated accelerator joules per output token."""

    batch: int
    measured_j_per_token: float | None
    estimated_j_per_token: float
    seconds: float
    #: Joules over the run from the sampler's intervals, and from the counter's two ends.
    sampler_j: float | None
    counter_j: float | None
    #: The per-request split of the run's energy, summed (equals `sampler_j`).
    split_j: float | None
    status: str


def missing_dependencies() -> list[str]:
    """The distributions the check needs that are not installed (nothing is imported)."""
    return [dist for module, dist in _DEPENDENCIES if importlib.util.find_spec(module) is None]


def load_shape(model: str) -> dict[str, Any]:
    """A built-in shape's fields, or a transformers ``config.json`` file's (raises ValueError)."""
    if model in SHAPES:
        return dict(SHAPES[model])
    path = Path(model)
    if not path.is_file() or path.stat().st_size > 1_000_000:
        raise ValueError(f"--model: neither a built-in shape ({', '.join(SHAPES)}) nor a "
                         "config.json file")
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"--model: not a JSON configuration ({type(exc).__name__})") from None
    if not isinstance(fields, dict) or not isinstance(fields.get("hidden_size"), int):
        raise ValueError("--model: the configuration has no integer hidden_size")
    return fields


def model_spec(name: str, fields: dict[str, Any], params: int) -> ModelSpec:
    """The registry-style spec of a shape, for the estimate (bf16, as the check runs it)."""
    heads = int(fields.get("num_attention_heads") or 1)
    hidden = int(fields["hidden_size"])
    return ModelSpec(name=name, total_params_b=params / 1e9, precision="bf16",
                     layers=int(fields.get("num_hidden_layers") or 1), hidden_size=hidden,
                     attention="gqa", kv_heads=int(fields.get("num_key_value_heads") or heads),
                     head_dim=int(fields.get("head_dim") or hidden // heads))


def _build(torch: Any, fields: dict[str, Any]) -> Any:
    transformers = importlib.import_module("transformers")
    config = transformers.AutoConfig.for_model(**fields)
    torch.manual_seed(0)
    with torch.device("cuda"):  # initialised on the GPU: no host copy of the random weights
        model = transformers.AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16)
    return model.eval()


def run_check(model: str, batches: Sequence[int], *, input_tokens: int, output_tokens: int,
              gpu: int, hardware: str | None, nvml: Any = None) -> tuple[str, list[CheckRow]]:
    """Measure each batch size; returns (a header line, the rows). Raises RuntimeError."""
    torch = importlib.import_module("torch")
    if not torch.cuda.is_available():
        raise RuntimeError("no CUDA GPU visible to torch")
    fields = load_shape(model)
    torch.cuda.set_device(gpu)
    hardware = hardware or detect_hardware(torch.cuda.get_device_name(gpu))
    if hardware is None:
        raise RuntimeError(f"cannot tell the hardware of {torch.cuda.get_device_name(gpu)!r}: "
                           "pass --hardware")
    intervals: list[tuple[float, float, float | None]] = []
    sampler = EnergySampler((gpu,), interval_s=0.02, capacity=1 << 16, nvml=nvml,
                            on_interval=lambda t0, t1, j, _r: intervals.append((t0, t1, j)))
    if not sampler.start():
        raise RuntimeError(sampler.status)
    try:
        net = _build(torch, fields)
        params = sum(p.numel() for p in net.parameters())
        spec = model_spec(model if model in SHAPES else Path(model).stem, fields, params)
        header = (f"{spec.name}: {params / 1e9:.2f}B parameters (random weights, bf16), "
                  f"{input_tokens} prompt + {output_tokens} output tokens per request, "
                  f"{torch.cuda.get_device_name(gpu)} ({hardware}), energy: "
                  + ", ".join(f"GPU {i} {m}" for i, m in sampler.modes.items()))
        rows = [_one(torch, net, spec, sampler, intervals, batch, input_tokens, output_tokens,
                     hardware, int(fields.get("vocab_size") or 32000)) for batch in batches]
    finally:
        sampler.stop()
    return header, rows


def _counter(sampler: EnergySampler, gpu: int) -> float | None:
    if sampler.modes.get(gpu) != "counter":
        return None
    return float(sampler._nvml.nvmlDeviceGetTotalEnergyConsumption(sampler._handles[gpu])) / 1000


def _one(torch: Any, net: Any, spec: ModelSpec, sampler: EnergySampler,
         intervals: list[tuple[float, float, float | None]], batch: int, input_tokens: int,
         output_tokens: int, hardware: str, vocab: int) -> CheckRow:
    ids = torch.randint(0, vocab, (batch, input_tokens), device="cuda")
    kwargs = {"max_new_tokens": output_tokens, "min_new_tokens": output_tokens,
              "do_sample": False, "pad_token_id": 0}
    with torch.inference_mode():
        net.generate(ids[:, : min(input_tokens, 16)], max_new_tokens=4, min_new_tokens=4,
                     do_sample=False, pad_token_id=0)  # warm-up: kernels, allocator
        torch.cuda.synchronize()
        sampler.sample_now()
        first = len(intervals)
        c0, t0 = _counter(sampler, sampler.gpus[0]), time.perf_counter()
        net.generate(ids, **kwargs)
        torch.cuda.synchronize()
        t1 = time.perf_counter()
        sampler.sample_now()
        c1 = _counter(sampler, sampler.gpus[0])
    run = intervals[first:]
    estimate = pricer(spec, hardware=hardware, batch_size=batch, gpus=1, engine="transformers",
                      method="calibrated").price(input_tokens, output_tokens)
    estimated = estimate.accelerator_kwh * _J_PER_KWH / output_tokens
    if not run or any(j is None for _, _, j in run):
        return CheckRow(batch, None, estimated, t1 - t0, None, None, None,
                        "not measured: an interval could not be read")
    sampler_j = sum(j or 0.0 for _, _, j in run)
    start, end = run[0][0], run[-1][1]
    shares, idle = split([(a, b, j or 0.0) for a, b, j in run],
                         [RequestSpan(i, start, end, input_tokens, output_tokens)
                          for i in range(batch)])
    counter_j = None if c0 is None or c1 is None else c1 - c0
    return CheckRow(batch, sampler_j / (batch * output_tokens), estimated, t1 - t0, sampler_j,
                    counter_j, sum(shares.values()), "measured" if idle == 0 else "idle in run")

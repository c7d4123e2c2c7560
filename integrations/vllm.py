"""vLLM offline inference integration (``vllm``): ``LLM.generate`` and ``LLM.chat`` in process.

Patches ``vllm.LLM.generate`` and ``LLM.chat``: one call per invocation, however many prompts it
carries (vLLM batches them itself). A ``generate()`` made inside a recorded ``chat()`` is part of
it. Counts come from the returned ``RequestOutput`` objects: input tokens are each request's
``prompt_token_ids``, output tokens each completion's ``token_ids`` (``n`` completions of one
prompt share its prefill, counted once); finish reasons from the completions.

Model: the engine's ``model_config`` (its served name, else the model's hub id or a local
directory's last component). A model the registry knows is priced as the registry has it;
another on its configuration's shape (parameters computed from the layers, hidden size, heads
and experts: the weights live in the engine's worker processes). Priced on the local GPU (NVML's
name of the first device ``CUDA_VISIBLE_DEVICES`` lists, else GPU 0; a GPU the registry does not
know leaves the configured hardware), engine profile ``vllm``, the tensor- and pipeline-parallel
GPUs, and the call's sequences (at most the scheduler's ``max_num_seqs``) as its batch. Provider
name ``vllm``. With ``measure_gpus`` set, each call's measured energy is attributed to it.

Tested against a stand-in package whose classes mirror vLLM's public ``LLM``, ``RequestOutput``
and ``CompletionOutput``; the test with the real package needs a GPU (it is marked ``gpu``).
"""

from __future__ import annotations

import contextvars
import importlib.util
import os
import threading
import types
import weakref
from collections.abc import Iterable
from importlib import metadata
from typing import Any

from tracker.exceptions import IntegrationNotAvailable

if importlib.util.find_spec("vllm") is None:
    raise IntegrationNotAvailable("the vllm integration needs `pip install vllm`")

from integrations._local_models import config_params, model_name, model_spec
from tracker._internal_errors import report
from tracker.integration import (
    LLMCall,
    LocalServing,
    ModelSpec,
    Patcher,
    Usage,
    count,
    local_hardware,
    start_call,
)
from tracker.model._registry import get_registry

__all__ = ["MIN_VERSION", "NAME", "instrument", "uninstrument"]

NAME = "vllm"
MIN_VERSION = (0, 6)  # RequestOutput/CompletionOutput as read here; LLM.chat
try:
    _VERSION: str | None = metadata.version("vllm")
except metadata.PackageNotFoundError:  # a source checkout without metadata
    _VERSION = None

if _VERSION is not None and tuple(
        int(p) for p in _VERSION.split(".")[:2] if p.isdigit()) < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the vllm integration needs vllm>={'.'.join(map(str, MIN_VERSION))}, found {_VERSION}")

_patcher = Patcher()
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "llm_energy_vllm_generate", default=False)
_lock = threading.Lock()
#: LLM -> (name, spec, hardware, GPUs, max sequences per batch).
_engines: weakref.WeakKeyDictionary[Any, tuple[str, ModelSpec | None, str | None, int, int]] = \
    weakref.WeakKeyDictionary()


def _first_gpu() -> int:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    return int(visible) if visible.isdigit() else 0


def _described(llm: Any) -> tuple[str, ModelSpec | None, str | None, int, int]:
    with _lock:
        known = _engines.get(llm)
    if known is not None:
        return known
    engine = llm.llm_engine
    model_config = engine.model_config
    vllm_config = getattr(engine, "vllm_config", None)
    parallel = getattr(vllm_config, "parallel_config", None) or getattr(
        engine, "parallel_config", None)
    scheduler = getattr(vllm_config, "scheduler_config", None) or getattr(
        engine, "scheduler_config", None)
    hf_config = getattr(model_config, "hf_config", None)
    served = getattr(model_config, "served_model_name", None)
    if isinstance(served, (list, tuple)):
        served = served[0] if served else None
    source = served if isinstance(served, str) and served else getattr(model_config, "model", None)
    name = model_name(types.SimpleNamespace(_name_or_path=source,
                                            model_type=getattr(hf_config, "model_type", None)))
    spec: ModelSpec | None = None
    if get_registry().find_model(name) is None and hf_config is not None:
        params = config_params(hf_config)
        if params is not None:
            quant = getattr(model_config, "quantization", None)
            dtype = "float8_e4m3fn" if isinstance(quant, str) and "fp8" in quant else str(
                getattr(model_config, "dtype", "") or "")
            spec = model_spec(name, hf_config, total=params[0], active=params[1],
                              dtype_name=dtype)
    gpus = 1
    for field in ("tensor_parallel_size", "pipeline_parallel_size"):
        size = getattr(parallel, field, None)
        if type(size) is int and size > 0:
            gpus *= size
    max_seqs = getattr(scheduler, "max_num_seqs", None)
    found = (name, spec, local_hardware(_first_gpu()), gpus,
             max_seqs if type(max_seqs) is int and max_seqs > 0 else 256)
    with _lock:
        _engines[llm] = found
    return found


def _describe(llm: Any) -> tuple[str, ModelSpec | None, str | None, int, int] | None:
    try:
        return _described(llm)
    except Exception as exc:
        report("vllm.describe", exc)
        return None


def _usage(outputs: Any) -> tuple[Usage, int] | None:
    """The counts of a list of `RequestOutput`, and how many sequences it generated."""
    if not isinstance(outputs, Iterable) or isinstance(outputs, (str, bytes)):
        return None
    n_in = n_out = sequences = 0
    reasons: dict[str, None] = {}
    for request in outputs:
        prompt = getattr(request, "prompt_token_ids", None)
        n_in += len(prompt) if prompt is not None else 0
        for completion in getattr(request, "outputs", None) or ():
            ids = getattr(completion, "token_ids", None)
            n_out += len(ids) if ids is not None else 0
            sequences += 1
            reason = getattr(completion, "finish_reason", None)
            if isinstance(reason, str) and len(reason) <= 32:
                reasons[reason] = None
    return (Usage(count(n_in), count(n_out), finish_reasons=tuple(reasons) or None),
            max(1, sequences))


def _finish(call: LLMCall, described: tuple[str, ModelSpec | None, str | None, int, int] | None,
            result: Any) -> None:
    try:
        read = _usage(result)
        usage, sequences = read if read is not None else (Usage(None, None), 1)
        if described is not None:
            _, spec, hardware, gpus, max_seqs = described
            call.serving = LocalServing(spec, NAME, batch_size=min(sequences, max_seqs),
                                        hardware=hardware, gpus=gpus)
        call.finish_usage(usage)
    except Exception as exc:
        report("vllm.finish", exc)


def _generate(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if _inside.get() or instance is None:
        return wrapped(*args, **kwargs)
    token = _inside.set(True)
    try:
        described = _describe(instance)
        call = start_call(provider=NAME, operation="text_completion" if wrapped.__name__ ==
                          "generate" else "chat",
                          request_model=described[0] if described is not None else None)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            call.finish(input_tokens=None, output_tokens=None, error=exc)
            raise
        _finish(call, described, result)
        return result
    finally:
        _inside.reset(token)


def instrument() -> None:
    """Patch ``LLM.generate`` and ``LLM.chat`` (called by `tracker.instrument`)."""
    _patcher.patch("vllm.entrypoints.llm", "LLM.generate", _generate)
    _patcher.patch("vllm.entrypoints.llm", "LLM.chat", _generate)


def uninstrument() -> None:
    """Restore the original methods."""
    _patcher.unpatch_all()

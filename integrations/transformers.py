"""Hugging Face transformers integration (``transformers``): ``generate()`` run in this process.

Patches ``GenerationMixin.generate``, which every causal and sequence-to-sequence language
model's ``generate()`` is, and which the ``text-generation`` and ``text2text-generation``
pipelines call: one call per ``generate()``, so a pipeline call is priced once (per batch the
pipeline hands to ``generate()``). A ``generate()`` made inside another (assisted decoding's
draft model) is part of the outer call and not priced again. Streaming with a
``TextIteratorStreamer`` is priced when ``generate()`` returns, in the thread that ran it.

Counts come from the tensors, not from text: input tokens are each row's attention-mask sum
(its non-padding tokens; without a mask, the tokens that are not the pad token), times the
returned sequences per prompt (``num_return_sequences``); output tokens are each returned row's
new tokens up to and including its first end-of-sequence token (trailing padding excluded). The
call's batch is its returned rows. Beams beyond the returned sequences are not counted.

Model: the configuration's ``_name_or_path`` (a hub id, or a local directory's last component),
else its ``model_type``; priced on the loaded model itself (``num_parameters()``; for a mixture
of experts, the active share from ``num_experts_per_tok`` of the experts' weights), its dtype,
and the GPU it is on (the device's own name; on a CPU or an unknown GPU, the configured
hardware), engine profile ``transformers``, one replica serving the call's batch. Provider name
``transformers``. With ``measure_gpus`` set, each call's measured energy is attributed to it
like any other call's (`tracker.measure`).
"""

from __future__ import annotations

import contextvars
import importlib.util
import threading
import weakref
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from tracker.exceptions import IntegrationNotAvailable

if importlib.util.find_spec("transformers") is None or importlib.util.find_spec("torch") is None:
    raise IntegrationNotAvailable(
        "the transformers integration needs `pip install 'transformers>=4.40' torch`")

from integrations._local_models import model_name, model_spec, moe_shape, text_config
from tracker._internal_errors import report
from tracker.integration import (
    LLMCall,
    LocalServing,
    ModelSpec,
    Patcher,
    Usage,
    local_hardware,
    start_call,
)

__all__ = ["MIN_VERSION", "NAME", "instrument", "uninstrument"]

NAME = "transformers"
MIN_VERSION = (4, 40)  # oldest release the test suite passes on
_VERSION = metadata.version("transformers")

if tuple(int(p) for p in _VERSION.split(".")[:2] if p.isdigit()) < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the transformers integration needs transformers>={'.'.join(map(str, MIN_VERSION))}, "
        f"found {_VERSION}")

_patcher = Patcher()
#: True inside a recorded ``generate()``: a nested one (a draft model's) is part of it.
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "llm_energy_transformers_generate", default=False)
_lock = threading.Lock()
#: Loaded model -> (device it was on, name, spec, hardware, GPUs): counted once per model.
_models: weakref.WeakKeyDictionary[Any, tuple[object, str, ModelSpec | None, str | None, int]] = \
    weakref.WeakKeyDictionary()


def _described(model: Any) -> tuple[str, ModelSpec | None, str | None, int]:
    """(name, spec, hardware, GPUs) of a loaded model, cached until it moves device."""
    device = getattr(model, "device", None)
    device_map = getattr(model, "hf_device_map", None)
    key = (str(device), id(device_map))
    with _lock:
        known = _models.get(model)
    if known is not None and known[0] == key:
        return known[1:]
    config = model.config
    name = model_name(config)
    total = int(model.num_parameters())
    active = total
    moe = moe_shape(text_config(config))
    if moe is not None:
        experts = sum(int(p.numel()) for n, p in model.named_parameters() if ".experts." in n)
        active = total - round(experts * (1 - moe[0] / moe[1]))
    spec = model_spec(name, config, total=total, active=active,
                      dtype_name=str(getattr(model, "dtype", "") or ""))
    hardware, gpus = _hardware(device, device_map)
    with _lock:
        _models[model] = (key, name, spec, hardware, gpus)
    return name, spec, hardware, gpus


def _hardware(device: Any, device_map: Any) -> tuple[str | None, int]:
    """The registry hardware of the GPU the model is on (None: not a GPU it knows), GPU count."""
    indices: set[int] = set()
    if isinstance(device_map, dict):
        for where in device_map.values():
            if type(where) is int:
                indices.add(where)
            elif isinstance(where, str) and where.startswith("cuda"):
                indices.add(int(where.partition(":")[2] or 0))
    if getattr(device, "type", None) == "cuda":
        indices.add(device.index or 0)
    if not indices:
        return None, 1
    first = min(indices)
    try:
        import torch  # type: ignore[import-not-found,unused-ignore]

        name: str | None = torch.cuda.get_device_name(first)
    except Exception:  # CUDA not usable from here: ask NVML by index
        name = None
    return local_hardware(first, name=name), len(indices)


def _option(kwargs: dict[str, Any], model: Any, name: str) -> Any:
    """A generation option: the call's keyword, its ``generation_config``'s, the model's.

    A keyword passed as None unsets the option, as it does in ``generate()``.
    """
    if name in kwargs:
        return kwargs[name]
    for config in (kwargs.get("generation_config"), getattr(model, "generation_config", None)):
        value = getattr(config, name, None)
        if value is not None:
            return value
    return None


def _ids(value: Any) -> frozenset[int]:
    if type(value) is int:
        return frozenset((value,))
    if isinstance(value, Sequence):
        return frozenset(v for v in value if type(v) is int)
    tolist = getattr(value, "tolist", None)  # a tensor of token ids
    return _ids(tolist()) if callable(tolist) else frozenset()


def _rows(tensor: Any) -> list[list[int]] | None:
    shape = getattr(tensor, "shape", None)
    if shape is None or len(shape) != 2:
        return None
    rows: list[list[int]] = tensor.tolist()
    return rows


def _usage(model: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
           result: Any) -> tuple[Usage, int] | None:
    """The call's counts and its batch (returned rows); None when the result has no sequences."""
    sequences = result if hasattr(result, "shape") else getattr(result, "sequences", None)
    out_rows = _rows(sequences)
    if out_rows is None:
        return None
    prompt = kwargs.get("input_ids")
    if prompt is None:
        prompt = kwargs.get("inputs", args[0] if args else None)
    prompt_rows = _rows(prompt)
    embeds = kwargs.get("inputs_embeds")
    pad = _option(kwargs, model, "pad_token_id")
    pad = pad if type(pad) is int else None
    mask = _rows(kwargs.get("attention_mask"))
    if mask is not None:
        per_prompt = [sum(1 for m in row if m) for row in mask]
    elif prompt_rows is not None:
        per_prompt = [sum(1 for t in row if t != pad) for row in prompt_rows]
    elif len(shape := tuple(getattr(embeds, "shape", ()))) == 3:
        per_prompt = [int(shape[1])] * int(shape[0])
    else:
        per_prompt = []
    # where the new tokens start in a returned row: after the prompt (a decoder given ids), after
    # the decoder's start token (an encoder-decoder), at once (a decoder given embeddings only)
    if getattr(model.config, "is_encoder_decoder", False):
        skip = 1
    elif prompt_rows is not None and not getattr(model.config, "is_encoder_decoder", False):
        skip = len(prompt_rows[0]) if prompt_rows else 0
    else:
        skip = 0
    eos = _ids(_option(kwargs, model, "eos_token_id"))
    # rows are padded only after they finished early (an end token, a stop string, a criterion):
    # without any of those, a pad token in a row is one the model generated
    pad = pad if eos or kwargs.get("stop_strings") or kwargs.get("stopping_criteria") else None
    output = 0
    reasons: list[str] = []
    for row in out_rows:
        new = row[skip:]
        n = len(new)
        stopped = False
        for i, token in enumerate(new):
            if token in eos:
                n, stopped = i + 1, True
                break
        if not stopped and pad is not None:
            while n and new[n - 1] == pad:
                n -= 1
        output += n
        reasons.append("stop" if stopped else "length")
    repeat = len(out_rows) // len(per_prompt) if per_prompt and len(out_rows) >= len(
        per_prompt) else 1
    input_tokens = sum(per_prompt) * repeat if per_prompt else None
    finish = tuple(dict.fromkeys(reasons)) or None
    return Usage(input_tokens, output, finish_reasons=finish), len(out_rows)


def _describe(model: Any) -> tuple[str, ModelSpec | None, str | None, int] | None:
    try:
        return _described(model)
    except Exception as exc:
        report("transformers.describe", exc)
        return None


def _finish(call: LLMCall, described: tuple[str, ModelSpec | None, str | None, int] | None,
            model: Any, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> None:
    """Price the finished call on the loaded model and the local hardware (never raises)."""
    try:
        read = _usage(model, args, kwargs, result)
        usage, batch = read if read is not None else (Usage(None, None), 1)
        if described is not None:
            _, spec, hardware, gpus = described
            call.serving = LocalServing(spec, NAME, batch_size=batch, hardware=hardware,
                                        gpus=gpus)
        call.finish_usage(usage)
    except Exception as exc:
        report("transformers.finish", exc)


def _generate(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if _inside.get() or instance is None:
        return wrapped(*args, **kwargs)
    token = _inside.set(True)
    try:
        described = _describe(instance)
        # (start_call never raises, but for an opt-in crossed budget: that is the caller's)
        call = start_call(provider=NAME, operation="text_completion",
                          request_model=described[0] if described is not None else None)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            call.finish(input_tokens=None, output_tokens=None, error=exc)
            raise
        _finish(call, described, instance, args, kwargs, result)
        return result
    finally:
        _inside.reset(token)


def instrument() -> None:
    """Patch ``GenerationMixin.generate`` (called by `tracker.instrument`)."""
    _patcher.patch("transformers.generation.utils", "GenerationMixin.generate", _generate)


def uninstrument() -> None:
    """Restore the original ``generate``."""
    _patcher.unpatch_all()

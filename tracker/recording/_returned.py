"""Provider responses returned by tracked functions: usage extraction and no double counting.

A function decorated with `@track_energy` that returns an OpenAI, Anthropic or Gemini response
(or a dict with a ``usage`` block) has that usage recorded, unless an integration already recorded
that very object (`mark_recorded()` / `is_recorded()`).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracker._internal_errors import report
from tracker.recording import _calls as _usage

__all__ = ["ResponseUsage", "extract_usage", "is_recorded", "mark_recorded", "record_response"]


# ----------------------------------------------------------------------------- no double count

#: id -> a weak reference to the object marked with that id. No callback: a reference whose
#: object died stays until the next sweep, when the table reaches `_sweep_at` entries, so a mark
#: costs one weak reference and one store (a callback per response cost twice that).
_weak: dict[int, weakref.ref[Any]] = {}
_strong: OrderedDict[int, object] = OrderedDict()
_MAX_STRONG = 2048
_MIN_SWEEP = 4096
_sweep_at = _MIN_SWEEP
_sweep_lock = threading.Lock()


def _sweep() -> None:
    """Drop the references whose object died; sweep next at twice the live entries."""
    global _sweep_at
    with _sweep_lock:
        for key, ref in list(_weak.items()):
            if ref() is None:
                gone = _weak.pop(key, None)
                if gone is not ref and gone is not None:  # marked again meanwhile: keep it
                    _weak.setdefault(key, gone)
        _sweep_at = max(_MIN_SWEEP, 2 * len(_weak))


def mark_recorded(obj: object) -> None:
    """Remember that `obj` (a provider response) has been recorded, so it is not counted again."""
    key = id(obj)
    try:
        ref = weakref.ref(obj)
    except TypeError:  # dicts and other objects without weak references: keep them alive briefly
        _strong[key] = obj
        while len(_strong) > _MAX_STRONG:
            _strong.popitem(last=False)
        return
    if len(_weak) >= _sweep_at:
        _sweep()
    _weak[key] = ref


def is_recorded(obj: object) -> bool:
    """Whether `mark_recorded(obj)` was called for this very object."""
    key = id(obj)
    ref = _weak.get(key)
    if ref is not None and ref() is obj:
        return True
    return _strong.get(key) is obj


# ----------------------------------------------------------------------------- response usage


@dataclass(frozen=True, slots=True)
class ResponseUsage:
    """Token usage read from a returned provider response (duck-typed)."""

    input_tokens: int
    output_tokens: int
    model: str | None
    provider: str | None
    operation: str


_SKIP_TYPES = (str, bytes, bytearray, int, float, bool, list, tuple, set, frozenset)
_PROVIDER_BY_MODULE = (("openai", "openai"), ("anthropic", "anthropic"), ("google", "gcp.gemini"))
_OPENAI_OBJECTS = ("chat.completion", "text_completion", "response", "list")
_OPERATION_BY_OBJECT = {"list": "embeddings", "text_completion": "text_completion"}


def _count(get: Any, *names: str) -> int | None:
    for name in names:
        value = get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def extract_usage(obj: object) -> ResponseUsage | None:
    """Read usage from an OpenAI/Anthropic/Gemini response object or dict (duck-typed).

    Input tokens include cached prompt tokens (Anthropic reports them separately); output tokens
    include reasoning. Returns None when `obj` carries no recognisable usage block.
    """
    if obj is None or isinstance(obj, _SKIP_TYPES):
        return None
    if isinstance(obj, Mapping):
        get_obj: Any = obj.get
        usage = obj.get("usage") or obj.get("usage_metadata") or obj.get("usageMetadata")
    else:
        get_obj = lambda name: getattr(obj, name, None)  # noqa: E731
        usage = get_obj("usage") or get_obj("usage_metadata")
    if usage is None or isinstance(usage, _SKIP_TYPES):
        return None
    if isinstance(usage, Mapping):
        get: Any = usage.get
    else:
        get = lambda name: getattr(usage, name, None)  # noqa: E731
    n_in = _count(get, "input_tokens", "prompt_tokens", "prompt_token_count", "promptTokenCount")
    n_out = _count(get, "output_tokens", "completion_tokens", "candidates_token_count",
                   "candidatesTokenCount")
    if n_in is None and n_out is None:
        return None
    for extra in ("cache_creation_input_tokens", "cache_read_input_tokens"):  # Anthropic
        n_in = (n_in or 0) + (_count(get, extra) or 0)
    thoughts = _count(get, "thoughts_token_count", "thoughtsTokenCount")  # Gemini reasoning
    if thoughts:
        n_out = (n_out or 0) + thoughts
    model = get_obj("model") or get_obj("model_version") or get_obj("modelVersion")
    kind = get_obj("object")
    operation = _OPERATION_BY_OBJECT.get(kind, "chat") if isinstance(kind, str) else "chat"
    return ResponseUsage(n_in or 0, n_out or 0, model if isinstance(model, str) else None,
                 _guess_provider(obj, kind, get_obj), operation)


def _guess_provider(obj: object, kind: object, get_obj: Any) -> str | None:
    if isinstance(obj, Mapping):
        if isinstance(kind, str) and kind in _OPENAI_OBJECTS:
            return "openai"
        return "anthropic" if get_obj("type") == "message" else None
    module = type(obj).__module__
    for prefix, provider in _PROVIDER_BY_MODULE:
        if module.startswith(prefix):
            return provider
    return None


def record_response(obj: object, default_model: str | None = None) -> None:
    """Record a returned provider response's usage once (no-op if already recorded or no usage)."""
    try:
        if obj is None or isinstance(obj, _SKIP_TYPES) or is_recorded(obj):
            return
        usage = extract_usage(obj)
        if usage is None:
            return
        _usage.record_usage(usage.model or default_model, usage.input_tokens, usage.output_tokens,
                            usage.provider, usage.operation, response_model=usage.model)
        mark_recorded(obj)
    except Exception as exc:
        report("usage.record_response", exc)

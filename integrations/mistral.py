"""Mistral AI integration (``mistralai``): chat completions, streamed chat and embeddings.

Patches the `Chat` resource's ``complete`` / ``complete_async`` and ``stream`` /
``stream_async`` (the streams are the library's own ``EventStream`` / ``EventStreamAsync``,
proxied) and `Embeddings`' ``create`` / ``create_async``, in ``mistralai.client`` (2.x and
later) or ``mistralai`` (1.x). ``chat.parse*`` go through ``complete``/``stream`` and are
recorded there, once.

Usage: ``prompt_tokens`` as input and ``completion_tokens`` as output (Mistral includes cached
and reasoning tokens in them); in a stream, the ``usage`` of the last chunk.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from tracker.exceptions import IntegrationNotAvailable

try:
    _VERSION = metadata.version("mistralai")
except metadata.PackageNotFoundError as _exc:  # pragma: no cover - only without mistralai
    raise IntegrationNotAvailable(
        "the mistral integration needs `pip install mistralai>=1.9.11`"
    ) from _exc

from tracker.integration import CountingStrategy, Endpoint, Patcher, Usage, count, make_wrapper

__all__ = ["MIN_VERSION", "NAME", "instrument", "uninstrument"]

NAME = "mistral"
MIN_VERSION = (1, 9, 11)  # oldest release the tests pass on (older ones warn on pydantic 2.11)

if tuple(int(p) for p in _VERSION.split(".")[:3] if p.isdigit()) < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the mistral integration needs mistralai>={'.'.join(map(str, MIN_VERSION))}, "
        f"found {_VERSION}"
    )


def _provider(_resource: Any) -> str:
    return "mistral_ai"


def _cached(usage: Any) -> int | None:
    details = getattr(usage, "prompt_tokens_details", None)
    if isinstance(details, Mapping):
        return count(details.get("cached_tokens"))
    return count(getattr(details, "cached_tokens", None))


def _usage(response: Any) -> Usage | None:
    usage = getattr(response, "usage", None)
    if usage is None:
        return None
    reasons = tuple(str(c.finish_reason) for c in getattr(response, "choices", None) or ()
                    if getattr(c, "finish_reason", None) is not None)
    return Usage(count(getattr(usage, "prompt_tokens", None)),
                 count(getattr(usage, "completion_tokens", None)),
                 getattr(response, "model", None), cache_read_input_tokens=_cached(usage),
                 response_id=getattr(response, "id", None), finish_reasons=reasons or None)


class ChatStreamStrategy(CountingStrategy):
    """Completion events: usage from the chunk carrying it, else counted delta text."""

    __slots__ = ()

    def record_chunk(self, chunk: Any) -> None:
        """Read one ``CompletionEvent`` (its ``data`` is the chunk)."""
        data = getattr(chunk, "data", None)
        if self.response_model is None:
            self.response_model = getattr(data, "model", None)
        usage = getattr(data, "usage", None)
        if usage is not None:
            self.reported_input = count(getattr(usage, "prompt_tokens", None))
            self.reported_output = count(getattr(usage, "completion_tokens", None))
        for choice in getattr(data, "choices", None) or ():
            content = getattr(getattr(choice, "delta", None), "content", None)
            if isinstance(content, str):
                self.output_chars += len(content)


def _strategy(kwargs: Mapping[str, Any]) -> ChatStreamStrategy:
    return ChatStreamStrategy((kwargs.get("messages"),))


def _is_stream(_result: Any) -> bool:
    return True


def _answer(response: Any) -> object:
    """The choices' message text, for a missing output count."""
    return [getattr(getattr(c, "message", None), "content", None)
            for c in getattr(response, "choices", None) or ()]


_CHAT = Endpoint("chat", _provider, _usage, output_text=_answer)
_STREAM = Endpoint("chat", _provider, _usage, _is_stream, _strategy)
_EMBEDDINGS = Endpoint("embeddings", _provider, _usage)

_patcher = Patcher()
_TARGETS = (("chat", "Chat", "complete", _CHAT), ("chat", "Chat", "stream", _STREAM),
            ("embeddings", "Embeddings", "create", _EMBEDDINGS))


def instrument() -> None:
    """Patch the Mistral client's chat and embeddings methods (called by `tracker.instrument`)."""
    for package in ("mistralai.client", "mistralai"):  # 2.x and later, else 1.x
        try:
            importlib.import_module(f"{package}.chat")
        except ImportError:
            continue
        for module, cls, method, endpoint in _TARGETS:
            target = f"{package}.{module}"
            _patcher.patch(target, f"{cls}.{method}", make_wrapper(endpoint, is_async=False))
            _patcher.patch(target, f"{cls}.{method}_async", make_wrapper(endpoint, is_async=True))
        return


def uninstrument() -> None:
    """Restore the original methods."""
    _patcher.unpatch_all()

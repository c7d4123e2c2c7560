"""Cohere integration (``cohere``, the v2 API of ``ClientV2`` / ``AsyncClientV2``).

Patches `cohere.v2.client.V2Client` and `AsyncV2Client` (which ``ClientV2`` and
``AsyncClientV2`` inherit): ``chat``, ``chat_stream`` and ``embed``. ``chat_stream`` is a
generator function (an async generator function on the async client, called without
``await``), so its stream is proxied as soon as it is called; the request is sent on the first
read, and an error from it is recorded on the call.

Usage: ``usage.tokens`` (what the model processed), else ``usage.billed_units``; in a stream, the
``message-end`` event's ``delta.usage``. Embeddings: ``meta.tokens``, else ``meta.billed_units``.
Cohere reports counts as floats; whole numbers are taken as counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracker.exceptions import IntegrationNotAvailable

try:
    import cohere  # type: ignore[import-untyped,import-not-found,unused-ignore]
    from cohere.v2 import client as _v2  # type: ignore[import-not-found,unused-ignore] # noqa: F401
except ImportError as _exc:  # pragma: no cover - exercised only without cohere installed
    raise IntegrationNotAvailable(
        "the cohere integration needs `pip install cohere>=5.18`"
    ) from _exc

from tracker._internal_errors import report
from tracker.integration import (
    CountingStrategy,
    Endpoint,
    Patcher,
    Usage,
    count,
    make_wrapper,
    start_call,
    wrap_stream,
)
from tracker.setup import _configure as _config

__all__ = ["MIN_VERSION", "NAME", "instrument", "uninstrument"]

NAME = "cohere"
MIN_VERSION = (5, 18)  # oldest release the test suite passes on (v2 stream events)

if tuple(int(p) for p in cohere.__version__.split(".")[:2] if p.isdigit()) < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the cohere integration needs cohere>={'.'.join(map(str, MIN_VERSION))}, "
        f"found {cohere.__version__}"
    )


def _provider(_client: Any) -> str:
    return "cohere"


def _n(value: Any) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return count(value)


def _pair(block: Any) -> tuple[int | None, int | None]:
    """(input, output) of a usage block: ``tokens`` when reported, else ``billed_units``."""
    for part in (getattr(block, "tokens", None), getattr(block, "billed_units", None)):
        n_in = _n(getattr(part, "input_tokens", None))
        if n_in is not None:
            return n_in, _n(getattr(part, "output_tokens", None))
    return None, None


def _from_block(block: Any, finish: Any, response_id: Any) -> Usage:
    n_in, n_out = _pair(block)
    return Usage(n_in, n_out, cache_read_input_tokens=_n(getattr(block, "cached_tokens", None)),
                 response_id=response_id,
                 finish_reasons=(finish,) if isinstance(finish, str) else None)


def _chat_usage(response: Any) -> Usage | None:
    usage = getattr(response, "usage", None)
    if usage is None:
        return None
    return _from_block(usage, getattr(response, "finish_reason", None),
                       getattr(response, "id", None))


def _embed_usage(response: Any) -> Usage | None:
    n_in, _ = _pair(getattr(response, "meta", None))
    return None if n_in is None else Usage(n_in, 0, response_id=getattr(response, "id", None))


class ChatStreamStrategy(CountingStrategy):
    """v2 stream events: usage from ``message-end``, else counted ``content-delta`` text."""

    __slots__ = ("_end",)

    def __init__(self, request_parts: tuple[object, ...]) -> None:
        super().__init__(request_parts)
        self._end: Usage | None = None

    def record_chunk(self, chunk: Any) -> None:
        """Read one event."""
        kind = getattr(chunk, "type", None)
        if kind == "content-delta":
            content = getattr(getattr(getattr(chunk, "delta", None), "message", None), "content",
                              None)
            text = getattr(content, "text", None)
            if isinstance(text, str):
                self.output_chars += len(text)
        elif kind == "message-end":
            delta = getattr(chunk, "delta", None)
            usage = getattr(delta, "usage", None)
            if usage is not None:
                self._end = _from_block(usage, getattr(delta, "finish_reason", None), None)
                self.reported_input, self.reported_output = (self._end.input_tokens,
                                                             self._end.output_tokens)

    def result(self) -> Usage:
        """The ``message-end`` usage when complete, else counted figures."""
        end = self._end
        if end is not None and end.input_tokens is not None and end.output_tokens is not None:
            return end
        return super().result()


def _strategy(kwargs: Mapping[str, Any]) -> ChatStreamStrategy:
    return ChatStreamStrategy((kwargs.get("messages"),))


def _always(_result: Any) -> bool:
    return True


def _answer(response: Any) -> object:
    """The answer's text parts (v2 ``message.content``, v1 ``text``), for a missing count."""
    message = getattr(response, "message", None)
    parts = getattr(message, "content", None) if message is not None else None
    if isinstance(parts, list):
        return [getattr(p, "text", None) for p in parts]
    return getattr(response, "text", None)


_CHAT = Endpoint("chat", _provider, _chat_usage, output_text=_answer)
_STREAM = Endpoint("chat", _provider, _chat_usage, _always, _strategy)
_EMBED = Endpoint("embeddings", _provider, _embed_usage)


def _async_stream(wrapped: Any, instance: Any, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> Any:
    """``AsyncV2Client.chat_stream``: a plain call returning an async generator."""
    if not _config.get_config().enabled:
        return wrapped(*args, **kwargs)
    call = None
    try:
        model = kwargs.get("model")
        call = start_call(provider="cohere", operation="chat",
                          request_model=model if isinstance(model, str) else None)
    except Exception as exc:
        report("cohere.chat_stream", exc)
    try:
        result = wrapped(*args, **kwargs)  # an async generator: nothing is sent until read
    except BaseException as exc:
        if call is not None:
            call.finish(input_tokens=None, output_tokens=None, error=exc)
        raise
    if call is None:
        return result
    try:
        return wrap_stream(result, call, _strategy(kwargs), is_async=True)
    except Exception as exc:
        report("cohere.chat_stream", exc)
        return result


_patcher = Patcher()
_MODULE = "cohere.v2.client"


def instrument() -> None:
    """Patch the v2 clients' chat and embed methods (called by `tracker.instrument`)."""
    for cls, is_async in (("V2Client", False), ("AsyncV2Client", True)):
        _patcher.patch(_MODULE, f"{cls}.chat", make_wrapper(_CHAT, is_async=is_async))
        _patcher.patch(_MODULE, f"{cls}.embed", make_wrapper(_EMBED, is_async=is_async))
    _patcher.patch(_MODULE, "V2Client.chat_stream", make_wrapper(_STREAM, is_async=False))
    _patcher.patch(_MODULE, "AsyncV2Client.chat_stream", _async_stream)


def uninstrument() -> None:
    """Restore the original methods."""
    _patcher.unpatch_all()

"""Anthropic integration: ``messages.create`` (plain, streamed), ``messages.stream()``, ``parse``.

Patches the public methods of `anthropic.resources.messages.Messages` and `AsyncMessages` (so the
Bedrock, Vertex and Foundry clients, which use the same resources, are covered too; their
provider name comes from the client class).

Usage: input = ``input_tokens + cache_read_input_tokens + cache_creation_input_tokens`` (the API
reports the three apart); output = ``output_tokens``. In a stream, ``message_start`` carries the
input usage and each ``message_delta`` carries the *cumulative* output count, so the last one
wins (deltas are never added up).

``messages.stream()`` does not go through ``create``: its manager is proxied so that entering it
starts the call and the raw event stream it reads is wrapped; the object the caller receives
(`MessageStream`, with ``text_stream``, ``get_final_message()``...) is the library's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

import wrapt

from tracker.exceptions import IntegrationNotAvailable

try:
    import anthropic
    from anthropic import AsyncStream, Stream
except ImportError as _exc:  # pragma: no cover - exercised only without anthropic installed
    raise IntegrationNotAvailable(
        "the anthropic integration needs `pip install anthropic>=0.45`"
    ) from _exc

from tracker.integration import (
    CountingStrategy,
    Endpoint,
    Patcher,
    Usage,
    call_then,
    count,
    estimate_tokens,
    guard,
    make_wrapper,
    tokens_from_chars,
    wrap_stream,
)
from tracker.recording import _calls as _usage
from tracker.setup import _configure as _config

__all__ = ["MIN_VERSION", "NAME", "instrument", "provider_name", "uninstrument"]

NAME = "anthropic"
MIN_VERSION = (0, 45)  # oldest release the test suite passes on (with httpx 0.28)

if tuple(int(p) for p in anthropic.__version__.split(".")[:2] if p.isdigit()) < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the anthropic integration needs anthropic>={'.'.join(map(str, MIN_VERSION))}, "
        f"found {anthropic.__version__}"
    )


def provider_name(client: Any) -> str:
    """`gen_ai.provider.name` of an Anthropic client: from its class, else "anthropic"."""
    cls = type(client).__name__.lower()
    if "bedrock" in cls:
        return "aws.bedrock"
    if "vertex" in cls:
        return "gcp.vertex_ai"
    if "foundry" in cls:
        return "azure.ai.inference"
    return "anthropic"


def _provider(resource: Any) -> str:
    client = getattr(resource, "_client", None)
    return "anthropic" if client is None else provider_name(client)


def _input_tokens(usage: Any) -> int | None:
    """Input tokens with the cached ones (reported apart); None when the base count is missing."""
    base = count(getattr(usage, "input_tokens", None))
    if base is None:
        return None
    return (base + (count(getattr(usage, "cache_read_input_tokens", None)) or 0)
            + (count(getattr(usage, "cache_creation_input_tokens", None)) or 0))


def _message_usage(message: Any) -> Usage | None:
    usage = getattr(message, "usage", None)
    if usage is None:
        return None
    reason = getattr(message, "stop_reason", None)
    return Usage(_input_tokens(usage), count(getattr(usage, "output_tokens", None)),
                 getattr(message, "model", None),
                 cache_read_input_tokens=count(getattr(usage, "cache_read_input_tokens", None)),
                 cache_creation_input_tokens=count(
                     getattr(usage, "cache_creation_input_tokens", None)),
                 response_id=getattr(message, "id", None),
                 finish_reasons=(reason,) if isinstance(reason, str) else None)


def _message_estimate(kwargs: Mapping[str, Any], message: Any) -> Usage:
    """A message that reported no usage: tokens counted from its text blocks."""
    chars = 0
    for block in getattr(message, "content", None) or ():
        text = getattr(block, "text", None) or getattr(block, "thinking", None)
        if isinstance(text, str):
            chars += len(text)
    return Usage(estimate_tokens(kwargs.get("messages"), kwargs.get("system")),
                 tokens_from_chars(chars), getattr(message, "model", None), tokens_estimated=True)


_RAW_TYPES = tuple(t for t in (
    getattr(getattr(anthropic, "_legacy_response", None), "LegacyAPIResponse", None),
    getattr(getattr(anthropic, "_response", None), "APIResponse", None),
    getattr(getattr(anthropic, "_response", None), "AsyncAPIResponse", None),
) if isinstance(t, type))


def _is_raw(result: Any) -> bool:
    """`with_raw_response` / `with_streaming_response` results: parsed later by the caller."""
    return isinstance(result, _RAW_TYPES)


class MessageStreamStrategy(CountingStrategy):
    """Raw message events: input from ``message_start``, output from the last ``message_delta``."""

    __slots__ = ()

    def record_chunk(self, chunk: Any) -> None:
        """Update counters from one raw stream event."""
        kind = getattr(chunk, "type", None)
        if kind == "content_block_delta":
            delta = getattr(chunk, "delta", None)
            text = getattr(delta, "text", None) or getattr(delta, "thinking", None) or getattr(
                delta, "partial_json", None
            )
            if isinstance(text, str):
                self.output_chars += len(text)
        elif kind == "message_delta":
            usage = getattr(chunk, "usage", None)  # may be None on a loosely validated event
            output = count(getattr(usage, "output_tokens", None))
            if output is not None:
                self.reported_output = output  # cumulative: replace, never add
            inputs = _input_tokens(usage)
            if inputs is not None:
                self.reported_input = inputs
        elif kind == "message_start":
            message = getattr(chunk, "message", None)
            self.response_model = getattr(message, "model", None)
            inputs = _input_tokens(getattr(message, "usage", None))
            if inputs is not None:
                self.reported_input = inputs


def _strategy(kwargs: Mapping[str, Any]) -> MessageStreamStrategy:
    return MessageStreamStrategy((kwargs.get("messages"), kwargs.get("system")))


def _is_stream(result: Any) -> bool:
    return isinstance(result, (Stream, AsyncStream))


_MESSAGES = Endpoint("chat", _provider, _message_usage, _is_stream, _strategy,
                     estimate=_message_estimate, is_raw=_is_raw)


class _StreamManagerProxy(wrapt.ObjectProxy):  # type: ignore[type-arg,misc,unused-ignore]
    """Proxy of `MessageStreamManager` / `AsyncMessageStreamManager` (from ``messages.stream()``).

    Entering it starts the call; the `MessageStream` it returns is the library's own, reading a
    proxied raw stream (its ``_raw_stream``), so every exit path finishes the call once.
    """

    def __init__(self, wrapped: Any, provider: str, kwargs: Mapping[str, Any]) -> None:
        super().__init__(wrapped)
        self._self_provider = provider
        self._self_kwargs = kwargs

    def _self_start(self) -> Any:
        model = self._self_kwargs.get("model")
        return _usage.start_call(provider=self._self_provider, operation="chat",
                                 request_model=model if isinstance(model, str) else None)

    def _self_attach(self, call: Any, message_stream: Any, is_async: bool) -> None:
        if call is None:
            return
        with guard("anthropic.stream"):
            raw = message_stream._raw_stream
            message_stream._raw_stream = wrap_stream(
                raw, call, _strategy(self._self_kwargs), is_async=is_async
            )

    def __enter__(self) -> Any:
        call = None
        with guard("anthropic.stream"):
            call = self._self_start()
        try:
            message_stream = self.__wrapped__.__enter__()
        except BaseException as exc:
            if call is not None:
                with guard("anthropic.stream"):
                    call.finish(input_tokens=None, output_tokens=None, error=exc)
            raise
        self._self_attach(call, message_stream, False)
        return message_stream

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Any:
        return self.__wrapped__.__exit__(exc_type, exc, tb)

    async def __aenter__(self) -> Any:
        call = None
        with guard("anthropic.stream"):
            call = self._self_start()
        try:
            message_stream = await self.__wrapped__.__aenter__()
        except BaseException as exc:
            if call is not None:
                with guard("anthropic.stream"):
                    call.finish(input_tokens=None, output_tokens=None, error=exc)
            raise
        self._self_attach(call, message_stream, True)
        return message_stream

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> Any:
        return await self.__wrapped__.__aexit__(exc_type, exc, tb)


def _stream_after(instance: Any, kwargs: dict[str, Any], manager: Any) -> Any:
    if not _config.get_config().enabled:
        return manager
    with guard("anthropic.stream"):
        return _StreamManagerProxy(manager, _provider(instance), kwargs)
    return manager


#: Called through `call_then`, so the library's deprecated-model warning names the caller's line.
_stream_wrapper = call_then(_stream_after)
_patcher = Patcher()
#: The messages resources: the stable API and the beta one (same shapes).
_MODULES = ("anthropic.resources.messages", "anthropic.resources.beta.messages.messages")


def instrument() -> None:
    """Patch the anthropic client's message methods (called by `tracker.instrument`)."""
    for module in _MODULES:
        for cls, is_async in (("Messages", False), ("AsyncMessages", True)):
            _patcher.patch(module, f"{cls}.create", make_wrapper(_MESSAGES, is_async=is_async))
            _patcher.patch(module, f"{cls}.parse", make_wrapper(_MESSAGES, is_async=is_async))
            _patcher.patch(module, f"{cls}.stream", _stream_wrapper)


def uninstrument() -> None:
    """Restore the original methods."""
    _patcher.unpatch_all()

"""OpenAI integration: chat completions, Responses API, embeddings and legacy completions.

Patches the public resource methods of the `openai` client (sync and async; `OpenAI`,
`AzureOpenAI` and any OpenAI-compatible server reached through ``base_url``):

- ``chat.completions.create`` (plain and ``stream=True``; ``chat.completions.stream()`` goes
  through it) and ``chat.completions.parse`` (which does not),
- ``responses.create`` (plain and streamed; ``responses.stream()`` goes through it) and
  ``responses.parse``,
- ``embeddings.create`` and the legacy ``completions.create``.

Usage: ``prompt_tokens`` (which already include cached tokens) as input and
``completion_tokens`` (which already include reasoning tokens) as output; for the Responses API
``input_tokens`` / ``output_tokens``, which include them likewise. Nothing is added twice.

The request is never changed, unless `configure(stream_usage=True)` was given: then a streamed
chat or legacy completion without ``stream_options`` gets ``{"include_usage": True}``, so the
server reports exact usage in a final chunk (the caller then sees that extra chunk).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracker._usage import MAX_TOKENS
from tracker.exceptions import IntegrationNotAvailable

try:
    import openai
    from openai import AsyncStream, Stream
except ImportError as _exc:  # pragma: no cover - exercised only without openai installed
    raise IntegrationNotAvailable(
        "the openai integration needs `pip install openai>=1.92`"
    ) from _exc

from integrations._compatible_hosts import provider_from_url
from integrations._openai_usage import chat_usage as _chat_usage
from integrations._openai_usage import embeddings_usage as _embeddings_usage
from integrations._openai_usage import responses_usage as _responses_usage
from tracker.instrumentation._server import remember_client, server_of, url_key
from tracker.integration import (
    AsyncStreamProxy,
    CountingStrategy,
    Endpoint,
    InBandUsageStrategy,
    Patcher,
    SyncStreamProxy,
    Usage,
    count,
    estimate_tokens,
    guard,
    make_wrapper,
    tokens_from_chars,
)
from tracker.integration import Usage as StreamResult
from tracker.setup import _configure as _config

_int = count  # a provider's number as a token count, or None

__all__ = ["MIN_VERSION", "NAME", "instrument", "provider_name", "uninstrument"]

NAME = "openai"
MIN_VERSION = (1, 92)  # oldest release the test suite passes on (chat stream/parse out of beta)

if tuple(int(p) for p in openai.__version__.split(".")[:2] if p.isdigit()) < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the openai integration needs openai>={'.'.join(map(str, MIN_VERSION))}, "
        f"found {openai.__version__}"
    )

def provider_name(client: Any) -> str:
    """`gen_ai.provider.name` for an OpenAI client: from its class or ``base_url`` host.

    Unrecognised hosts (a self-hosted server on a custom port, the demo server) give "openai",
    the wire protocol spoken.
    """
    runtime = getattr(client, "_provider_runtime", None)
    runtime_name = getattr(runtime, "name", None)
    if isinstance(runtime_name, str) and runtime_name:
        return {"bedrock": "aws.bedrock", "vertex": "gcp.vertex_ai"}.get(runtime_name, runtime_name)
    if isinstance(client, (openai.AzureOpenAI, openai.AsyncAzureOpenAI)):
        return "azure.ai.openai"
    try:
        return provider_from_url(str(client.base_url))
    except AttributeError:
        return "openai"


# id(client) -> (a weak reference to it, its base URL object, (the name, its server)):
# `provider_name()` parses the URL, so it runs once per client and again only if the client's
# ``base_url`` is replaced. (Keyed by id with the referent checked: one lookup, where a
# WeakKeyDictionary builds a weak reference per lookup.) Emptied when full.
_names: dict[int, tuple[Any, Any, tuple[str, tuple[str, int | None] | None]]] = {}
_EMPTY: dict[str, Any] = {}


def _client_info(resource: Any) -> tuple[str, tuple[str, int | None] | None]:
    """(provider name, (host, port) of the client's base URL): one lookup per call."""
    client = getattr(resource, "_client", None)
    if client is None:
        return "openai", server_of(resource)
    # (`url_key(client)` inline: the URL object in the client's instance dictionary)
    base_url = getattr(client, "__dict__", _EMPTY).get("_configured_base_url")
    if base_url is None:
        base_url = url_key(client)
    cached = _names.get(id(client))
    if cached is not None and cached[1] is base_url and cached[0]() is client:
        return cached[2]
    return remember_client(_names, client, base_url, (provider_name(client), server_of(resource)))


def _provider(resource: Any) -> str:
    return _client_info(resource)[0]


def _chat_estimate(kwargs: Mapping[str, Any], response: Any) -> Usage:
    """A chat or legacy completion that reported no usage: tokens counted from the text."""
    chars = 0
    for choice in getattr(response, "choices", None) or ():
        message = getattr(choice, "message", None)
        text = getattr(message, "content", None) if message is not None else getattr(
            choice, "text", None)
        if isinstance(text, str):
            chars += len(text)
        for call in getattr(message, "tool_calls", None) or ():
            arguments = getattr(getattr(call, "function", None), "arguments", None)
            if isinstance(arguments, str):
                chars += len(arguments)
    return Usage(estimate_tokens(kwargs.get("messages"), kwargs.get("prompt")),
                 tokens_from_chars(chars), getattr(response, "model", None),
                 tokens_estimated=True)


def _responses_estimate(kwargs: Mapping[str, Any], response: Any) -> Usage:
    """A Responses API result that reported no usage: tokens counted from the text.

    The text is read from the output items, not the ``output_text`` property, which raises on a
    loosely validated response (content None).
    """
    chars = 0
    for item in getattr(response, "output", None) or ():
        for part in getattr(item, "content", None) or ():
            text = getattr(part, "text", None)
            if isinstance(text, str):
                chars += len(text)
    return Usage(estimate_tokens(kwargs.get("input"), kwargs.get("instructions")),
                 tokens_from_chars(chars), getattr(response, "model", None),
                 tokens_estimated=True)


_RAW_TYPES = tuple(t for t in (
    getattr(getattr(openai, "_legacy_response", None), "LegacyAPIResponse", None),
    getattr(getattr(openai, "_response", None), "APIResponse", None),
    getattr(getattr(openai, "_response", None), "AsyncAPIResponse", None),
) if isinstance(t, type))


#: Classes of the parsed responses seen (`openai.BaseModel` subclasses): neither raw nor a
#: stream, told by one set lookup (an `isinstance` check of a pydantic model costs more).
_MODELS: set[type] = set()


def _is_raw(result: Any) -> bool:
    """`with_raw_response` / `with_streaming_response` results: parsed later by the caller."""
    return type(result) not in _MODELS and isinstance(result, _RAW_TYPES)


class ChatStreamStrategy(CountingStrategy):
    """Chat and legacy completion chunks: usage from the final chunk, else counted content."""

    __slots__ = ()

    def record_chunk(self, chunk: Any) -> None:
        """Count delta characters; take the usage chunk when the server sends one."""
        if self.response_model is None:
            self.response_model = getattr(chunk, "model", None)
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.reported_input = _int(getattr(usage, "prompt_tokens", None))
            self.reported_output = _int(getattr(usage, "completion_tokens", None))
        for choice in getattr(chunk, "choices", None) or ():
            delta = getattr(choice, "delta", None)
            if delta is None:
                text = getattr(choice, "text", None)
            else:
                text = getattr(delta, "content", None)
                for call in getattr(delta, "tool_calls", None) or ():
                    arguments = getattr(getattr(call, "function", None), "arguments", None)
                    if isinstance(arguments, str):
                        self.output_chars += len(arguments)
            if isinstance(text, str):
                self.output_chars += len(text)


class ResponsesStreamStrategy(CountingStrategy):
    """Responses API events: usage from ``response.completed``, else counted text deltas."""

    __slots__ = ()

    def record_chunk(self, chunk: Any) -> None:
        """Count ``*.delta`` text; read usage and model from the final response object."""
        kind = getattr(chunk, "type", "")
        if kind.endswith(".delta"):
            delta = getattr(chunk, "delta", None)
            if isinstance(delta, str):
                self.output_chars += len(delta)
        elif kind in ("response.completed", "response.incomplete", "response.failed",
                      "response.created"):
            response = getattr(chunk, "response", None)
            self.response_model = getattr(response, "model", None) or self.response_model
            usage = getattr(response, "usage", None)
            if usage is not None:
                self.reported_input = _int(getattr(usage, "input_tokens", None))
                self.reported_output = _int(getattr(usage, "output_tokens", None))


class ReportedUsageStrategy(InBandUsageStrategy):
    """Chat and legacy completion streams that asked for usage (``include_usage``).

    The server reports usage in a chunk of its own at the end (OpenAI-compatible servers may
    repeat it, cumulative, on every chunk), so no text is read: the stream proxy only counts the
    chunks and keeps the last one and the last one carrying usage. When the stream ends without
    usage (dropped connection, ``break``), output tokens are one per chunk received, flagged as
    estimated.
    """

    __slots__ = ()

    def result(self) -> StreamResult:
        """Usage and model from the usage chunk, else the chunk count."""
        last, found = self.last, self.usage_chunk
        self.last = self.usage_chunk = None
        if last is not None:
            self.response_model = getattr(last, "model", None)
        if found is not None:
            usage = found.usage
            # (`count()` inlined, twice: this runs at the end of every stream that asked for usage)
            n_in = getattr(usage, "prompt_tokens", None)
            if type(n_in) is not int or not 0 <= n_in <= MAX_TOKENS:
                n_in = None
            n_out = getattr(usage, "completion_tokens", None)
            if type(n_out) is not int or not 0 <= n_out <= MAX_TOKENS:
                n_out = None
            self.reported_input, self.reported_output = n_in, n_out
            if n_in and n_out:  # both reported: the usage as is (`settle` would keep it)
                self._request_parts = ()
                return StreamResult(n_in, n_out, self.response_model)
        return super().result()


def _asks_usage(kwargs: Mapping[str, Any]) -> bool:
    options = kwargs.get("stream_options")
    return isinstance(options, Mapping) and options.get("include_usage") is True


def _chat_strategy(kwargs: Mapping[str, Any]) -> CountingStrategy:
    parts = (kwargs.get("messages"), kwargs.get("prompt"))
    if _asks_usage(kwargs):
        return ReportedUsageStrategy(parts)
    return ChatStreamStrategy(parts)


def _responses_strategy(kwargs: Mapping[str, Any]) -> ResponsesStreamStrategy:
    return ResponsesStreamStrategy((kwargs.get("input"), kwargs.get("instructions")))


def _include_usage(kwargs: dict[str, Any]) -> dict[str, Any]:
    if kwargs.get("stream") is True and "stream_options" not in kwargs and getattr(
        _config.get_config(), "stream_usage", False
    ):
        return {**kwargs, "stream_options": {"include_usage": True}}
    return kwargs


def _is_stream(result: Any) -> bool:
    # isinstance sees through wrapt proxies, so a stream another instrumentation wrapped counts;
    # a plain wrapper class (the contrib openai-v2 instrumentation's stream wrappers) keeps the
    # stream as `.stream` (or `.__wrapped__`): one level is looked through.
    kind = type(result)
    if kind in _MODELS:
        return False
    if isinstance(result, (Stream, AsyncStream)):
        return True
    if result is None:
        return False
    if isinstance(result, openai.BaseModel):
        if kind is result.__class__ and len(_MODELS) < 256:  # (not a proxy of one)
            _MODELS.add(kind)
        return False
    inner = getattr(result, "__wrapped__", None)
    if inner is None:
        inner = getattr(result, "stream", None)
    return isinstance(inner, (Stream, AsyncStream))


_CHAT = Endpoint("chat", _provider, _chat_usage, _is_stream, _chat_strategy, _include_usage,
                 estimate=_chat_estimate, is_raw=_is_raw, client=_client_info)
_RESPONSES = Endpoint("chat", _provider, _responses_usage, _is_stream, _responses_strategy,
                      estimate=_responses_estimate, is_raw=_is_raw, client=_client_info)
_EMBEDDINGS = Endpoint("embeddings", _provider, _embeddings_usage, is_raw=_is_raw,
                       client=_client_info)
_LEGACY = Endpoint("text_completion", _provider, _chat_usage, _is_stream, _chat_strategy,
                   _include_usage, estimate=_chat_estimate, is_raw=_is_raw, client=_client_info)

# (module, (sync class, async class), method, endpoint)
_TARGETS: tuple[tuple[str, tuple[str, str], str, Endpoint], ...] = (
    ("openai.resources.chat.completions", ("Completions", "AsyncCompletions"), "create", _CHAT),
    ("openai.resources.chat.completions", ("Completions", "AsyncCompletions"), "parse", _CHAT),
    ("openai.resources.responses", ("Responses", "AsyncResponses"), "create", _RESPONSES),
    ("openai.resources.responses", ("Responses", "AsyncResponses"), "parse", _RESPONSES),
    ("openai.resources.embeddings", ("Embeddings", "AsyncEmbeddings"), "create", _EMBEDDINGS),
    ("openai.resources.completions", ("Completions", "AsyncCompletions"), "create", _LEGACY),
)

_patcher = Patcher()


# The helper streams of `chat.completions.stream()` and `responses.stream()`: their close() (run
# at the `with` exit) closes the HTTP response, not the raw stream they read; closing that too
# finishes the call at the exit rather than when the stream is garbage-collected.
_HELPER_STREAMS = (
    ("openai.lib.streaming.chat._completions", "ChatCompletionStream", False),
    ("openai.lib.streaming.chat._completions", "AsyncChatCompletionStream", True),
    ("openai.lib.streaming.responses._responses", "ResponseStream", False),
    ("openai.lib.streaming.responses._responses", "AsyncResponseStream", True),
)


def _close_raw(wrapped: Any, instance: Any, args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> Any:
    try:
        return wrapped(*args, **kwargs)
    finally:
        with guard("openai.stream_close"):
            raw = getattr(instance, "_raw_stream", None)
            if isinstance(raw, SyncStreamProxy):
                raw.close()


async def _aclose_raw(wrapped: Any, instance: Any, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> Any:
    try:
        return await wrapped(*args, **kwargs)
    finally:
        with guard("openai.stream_close"):
            raw = getattr(instance, "_raw_stream", None)
            if isinstance(raw, AsyncStreamProxy):
                await raw.close()


def instrument() -> None:
    """Patch the openai client's resource methods (called by `tracker.instrument`)."""
    for module, (sync_cls, async_cls), method, endpoint in _TARGETS:
        _patcher.patch(module, f"{sync_cls}.{method}", make_wrapper(endpoint, is_async=False))
        _patcher.patch(module, f"{async_cls}.{method}", make_wrapper(endpoint, is_async=True))
    for module, cls, is_async in _HELPER_STREAMS:
        _patcher.patch(module, f"{cls}.close", _aclose_raw if is_async else _close_raw)


def uninstrument() -> None:
    """Restore the original methods."""
    _patcher.unpatch_all()

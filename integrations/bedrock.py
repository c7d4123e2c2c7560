"""Amazon Bedrock integration (``boto3`` / ``botocore``, the ``bedrock-runtime`` service).

Patches `botocore.client.BaseClient._make_api_call`, the one method every botocore client
operation goes through, and records only the ``bedrock-runtime`` operations ``Converse``,
``ConverseStream``, ``InvokeModel`` and ``InvokeModelWithResponseStream``; every other service
and operation is passed straight through. ``gen_ai.request.model`` is the ``modelId`` exactly as
passed (inference-profile prefix and version suffix included).

Usage: Converse's ``usage`` (input = ``inputTokens`` + ``cacheReadInputTokens`` +
``cacheWriteInputTokens``, which Bedrock reports apart), ConverseStream's ``metadata`` event;
InvokeModel's ``x-amzn-bedrock-input-token-count`` / ``-output-token-count`` response headers,
else the usage in the model's native body (Anthropic, Meta Llama, Amazon Titan and Nova), copied
as the caller reads the body (a tee under botocore's own ``StreamingBody``, so the caller reads
the same object and gets botocore's errors unchanged; the call is recorded when the body ends);
the response stream's ``amazon-bedrock-invocationMetrics``. The operation of an InvokeModel call
is from its body: ``embeddings`` for an embedding model, ``chat`` for a ``messages`` body, else
``text_completion``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

import wrapt

from tracker.exceptions import IntegrationNotAvailable

try:
    import botocore  # type: ignore[import-untyped,import-not-found,unused-ignore]
    from botocore.response import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
        StreamingBody,
    )
except ImportError as _exc:  # pragma: no cover - exercised only without botocore installed
    raise IntegrationNotAvailable(
        "the bedrock integration needs `pip install boto3>=1.37.25`"
    ) from _exc

from tracker.integration import (
    CountingStrategy,
    Endpoint,
    Patcher,
    Usage,
    count,
    guard,
    make_wrapper,
)

__all__ = ["MIN_VERSION", "NAME", "instrument", "uninstrument"]

NAME = "bedrock"
MIN_VERSION = (1, 37, 25)  # oldest botocore the tests pass on (Converse cache usage)

if tuple(int(p) for p in botocore.__version__.split(".")[:3] if p.isdigit()) < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the bedrock integration needs botocore>={'.'.join(map(str, MIN_VERSION))}, "
        f"found {botocore.__version__}"
    )

_MAX_BODY = 1 << 20  # request bodies larger than this are not parsed for their kind


def _provider(_client: Any) -> str:
    return "aws.bedrock"


def _n(value: Any) -> int:
    return count(value) or 0


def _converse_usage(response: Any) -> Usage | None:
    usage = response.get("usage") if isinstance(response, Mapping) else None
    if not isinstance(usage, Mapping):
        return None
    return _usage_block(usage, response.get("stopReason"))


def _usage_block(usage: Mapping[str, Any], stop: Any) -> Usage:
    read, written = count(usage.get("cacheReadInputTokens")), count(
        usage.get("cacheWriteInputTokens"))
    inputs = count(usage.get("inputTokens"))
    return Usage(
        None if inputs is None else inputs + (read or 0) + (written or 0),
        count(usage.get("outputTokens")),
        cache_read_input_tokens=read, cache_creation_input_tokens=written,
        finish_reasons=(stop,) if isinstance(stop, str) else None)


def _header(headers: Mapping[str, Any], name: str) -> int | None:
    value = headers.get(name)
    return count(int(value)) if isinstance(value, str) and value.isdigit() else None


def _body_usage(body: Mapping[str, Any]) -> Usage | None:
    usage = body.get("usage")
    if isinstance(usage, Mapping) and "input_tokens" in usage:  # Anthropic messages
        inputs = count(usage.get("input_tokens"))
        return Usage(None if inputs is None else inputs + _n(usage.get("cache_read_input_tokens"))
                     + _n(usage.get("cache_creation_input_tokens")),
                     count(usage.get("output_tokens")))
    if isinstance(usage, Mapping):  # Amazon Nova
        return _usage_block(usage, body.get("stopReason"))
    if "prompt_token_count" in body:  # Meta Llama
        return Usage(count(body.get("prompt_token_count")),
                     count(body.get("generation_token_count")))
    if "inputTextTokenCount" in body:  # Amazon Titan text and embeddings
        results = body.get("results")
        counts = [count(r.get("tokenCount")) if isinstance(r, Mapping) else None
                  for r in results] if isinstance(results, list) else []
        out = None if None in counts else sum(c for c in counts if c is not None)
        return Usage(count(body.get("inputTextTokenCount")), out)  # embeddings: no results
    return None


def _header_usage(response: Any) -> Usage | None:
    if not isinstance(response, dict):
        return None
    headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    n_in = _header(headers, "x-amzn-bedrock-input-token-count")
    n_out = _header(headers, "x-amzn-bedrock-output-token-count")
    return Usage(n_in, n_out) if n_in is not None and n_out is not None else None


def _parsed_usage(data: bytes) -> Usage | None:
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return _body_usage(parsed) if isinstance(parsed, Mapping) else None


class _TeeStream(wrapt.ObjectProxy):  # type: ignore[type-arg,misc,unused-ignore]
    """The body's raw stream, copied as the caller reads it; the call is finished at its end.

    Installed as the `StreamingBody`'s ``_raw_stream``: the caller keeps botocore's own body
    object, and every error its reads raise (botocore turns a dropped connection into
    ``ResponseStreamingError``, a short body into ``IncompleteReadError``) is botocore's, unchanged.
    The usage is read from the copy once the body is read to its end; a failed read, `close()`
    before the end, or a body never read finish the call with estimated counts.
    """

    def __init__(self, raw: Any, finish: Callable[[Usage | None, BaseException | None], None]
                 ) -> None:
        super().__init__(raw)
        self._self_finish_call: Callable[[Usage | None, BaseException | None], None] | None = \
            finish
        self._self_copy: bytearray | None = bytearray()

    def _self_done(self, error: BaseException | None = None) -> None:
        finish, self._self_finish_call = self._self_finish_call, None
        if finish is None:
            return
        copy, self._self_copy = self._self_copy, None
        usage = _parsed_usage(bytes(copy)) if copy is not None and error is None else None
        with guard("bedrock.body"):
            finish(usage, error)

    def _self_keep(self, data: bytes | memoryview, at_end: bool) -> None:
        copy = self._self_copy
        if copy is not None:
            if len(copy) + len(data) > _MAX_BODY:
                self._self_copy = None  # too large to parse: estimated
            else:
                copy += data
        if at_end:
            self._self_done()

    def read(self, amt: int | None = None, *args: Any, **kwargs: Any) -> Any:
        """The wrapped stream's `read`, copied; its errors propagate unchanged."""
        try:
            data = self.__wrapped__.read(amt, *args, **kwargs)
        except BaseException as exc:
            self._self_done(exc)
            raise
        self._self_keep(data, amt is None or not data)
        return data

    def readinto(self, buffer: Any) -> int:
        """The wrapped stream's `readinto`, copied; its errors propagate unchanged."""
        try:
            n: int = self.__wrapped__.readinto(buffer)
        except BaseException as exc:
            self._self_done(exc)
            raise
        self._self_keep(memoryview(buffer)[:n], n == 0)
        return n

    def close(self) -> Any:
        """Close the wrapped stream, then finish the call (estimated when not read to its end)."""
        try:
            return self.__wrapped__.close()
        finally:
            self._self_done()

    def __del__(self) -> None:
        self._self_done()


def _invoke_deferred(response: Any,
                     finish: Callable[[Usage | None, BaseException | None], None]) -> bool:
    """No token headers: the usage is in the body, read from a tee as the caller reads it."""
    if _header_usage(response) is not None:
        return False
    body = response.get("body")
    raw = getattr(body, "_raw_stream", None)
    if not isinstance(body, StreamingBody) or raw is None:
        return False
    body._raw_stream = _TeeStream(raw, finish)
    return True


class ConverseStreamStrategy(CountingStrategy):
    """ConverseStream events: usage from ``metadata``, else counted ``contentBlockDelta`` text."""

    __slots__ = ("_extra",)

    def __init__(self, request_parts: tuple[object, ...]) -> None:
        super().__init__(request_parts)
        self._extra: Usage | None = None

    def record_chunk(self, chunk: Any) -> None:
        """Read one event (a one-key dict)."""
        delta = chunk.get("contentBlockDelta")
        if delta is not None:
            text = (delta.get("delta") or {}).get("text")
            if isinstance(text, str):
                self.output_chars += len(text)
            return
        meta = chunk.get("metadata")
        if meta is not None and isinstance(meta.get("usage"), Mapping):
            usage = _usage_block(meta["usage"], None)
            self.reported_input, self.reported_output = usage.input_tokens, usage.output_tokens
            self._extra = usage

    def result(self) -> Usage:
        """Reported (or counted) usage, with the cache split when reported."""
        usage, extra = super().result(), self._extra
        if extra is None:
            return usage
        return dataclasses.replace(usage, cache_read_input_tokens=extra.cache_read_input_tokens,
                                   cache_creation_input_tokens=extra.cache_creation_input_tokens)


class InvokeStreamStrategy(CountingStrategy):
    """Response-stream chunks: ``amazon-bedrock-invocationMetrics``, else one token per chunk."""

    __slots__ = ("chunks",)

    def __init__(self, request_parts: tuple[object, ...]) -> None:
        super().__init__(request_parts)
        self.chunks = 0

    def record_chunk(self, chunk: Any) -> None:
        """Count the chunk; parse it only when it carries the invocation metrics."""
        data = (chunk.get("chunk") or {}).get("bytes")
        if not isinstance(data, bytes):
            return
        self.chunks += 1
        if b"amazon-bedrock-invocationMetrics" in data:
            metrics = json.loads(data).get("amazon-bedrock-invocationMetrics") or {}
            self.reported_input = count(metrics.get("inputTokenCount"))
            self.reported_output = count(metrics.get("outputTokenCount"))

    def counted_output(self) -> int:
        """One token per chunk received (no chunk carried the metrics)."""
        return self.chunks


def _request_parts(kwargs: Mapping[str, Any]) -> tuple[object, ...]:
    return (kwargs.get("messages"), kwargs.get("system"), _body(kwargs))


def _body(kwargs: Mapping[str, Any]) -> Any:
    body = kwargs.get("body")
    if isinstance(body, (bytes, str)) and len(body) <= _MAX_BODY:
        try:
            return json.loads(body)
        except ValueError:
            return None
    return None


def _invoke_operation(kwargs: Mapping[str, Any]) -> str:
    model = kwargs.get("modelId")
    if isinstance(model, str) and "embed" in model.lower():
        return "embeddings"
    body = _body(kwargs)
    return "chat" if isinstance(body, Mapping) and "messages" in body else "text_completion"


def _stream_result(result: Any) -> bool:
    return result is not None


def _endpoint(operation: str, usage: Callable[[Any], Usage | None],
              strategy: Callable[[Mapping[str, Any]], Any] | None = None,
              deferred: Any = None) -> Any:
    endpoint = Endpoint(operation, _provider, usage,
                        _stream_result if strategy is not None else (lambda _r: False),
                        strategy, model_key="modelId", deferred=deferred)
    return make_wrapper(endpoint, is_async=False)


def _converse_strategy(kwargs: Mapping[str, Any]) -> ConverseStreamStrategy:
    return ConverseStreamStrategy(_request_parts(kwargs))


def _invoke_strategy(kwargs: Mapping[str, Any]) -> InvokeStreamStrategy:
    return InvokeStreamStrategy(_request_parts(kwargs))


_CONVERSE = _endpoint("chat", _converse_usage)
_CONVERSE_STREAM = _endpoint("chat", lambda _r: None, _converse_strategy)
_INVOKE = {op: _endpoint(op, _header_usage, deferred=_invoke_deferred)
           for op in ("chat", "text_completion", "embeddings")}
_INVOKE_STREAM = {op: _endpoint(op, lambda _r: None, _invoke_strategy)
                  for op in ("chat", "text_completion", "embeddings")}


def _streamed(wrapper: Any, key: str, call_api: Callable[..., Any], client: Any,
              params: dict[str, Any]) -> Any:
    """Run a streaming operation; the wrapper sees (and proxies) the response's stream."""
    holder: list[Any] = []

    def fetch(**kwargs: Any) -> Any:
        holder.append(call_api(**kwargs))
        response = holder[0]
        return response.get(key) if isinstance(response, dict) else None

    stream = wrapper(fetch, client, (), params)
    response = holder[0]
    if isinstance(response, dict) and key in response:
        response[key] = stream
    return response


def _api_call(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> Any:
    try:  # botocore calls `self._make_api_call(operation_name, api_params)`
        service = instance.meta.service_model.service_name
    except Exception:
        return wrapped(*args, **kwargs)
    if service != "bedrock-runtime" or len(args) != 2 or kwargs or args[0] not in _OPS \
            or not isinstance(args[1], dict):
        return wrapped(*args, **kwargs)
    operation, params = args

    def call_api(**api_params: Any) -> Any:
        return wrapped(operation, api_params)

    if operation == "Converse":
        return _CONVERSE(call_api, instance, (), dict(params))
    if operation == "ConverseStream":
        return _streamed(_CONVERSE_STREAM, "stream", call_api, instance, dict(params))
    if operation == "InvokeModel":
        return _INVOKE[_invoke_operation(params)](call_api, instance, (), dict(params))
    return _streamed(_INVOKE_STREAM[_invoke_operation(params)], "body", call_api, instance,
                     dict(params))


_OPS = frozenset(("Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"))
_patcher = Patcher()


def instrument() -> None:
    """Patch botocore's API-call method for ``bedrock-runtime`` (called by `tracker.instrument`)."""
    _patcher.patch("botocore.client", "BaseClient._make_api_call", _api_call)


def uninstrument() -> None:
    """Restore the original method."""
    _patcher.unpatch_all()

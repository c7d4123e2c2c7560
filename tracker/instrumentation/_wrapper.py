"""What the one wrapper every integration uses does around a call: `Endpoint`, `Usage`, the steps.

The wrapper itself (`make_wrapper`) and the `Patcher` live in
`tracker.instrumentation._frames_importlib_bootstrap`, so that a warning a client library raises
inside the call names the caller's line (that module says how). Each patched method runs
`make_wrapper(endpoint)`: when the SDK is disabled it costs one
config lookup and calls straight through; otherwise it starts an `LLMCall`, calls the provider,
and finishes the call with the response's usage (or wraps a stream in a proxy from
`tracker.recording._streams`). SDK-side work runs inside `guard()`; the provider's exceptions are
re-raised unchanged after being recorded on the call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import wrapt
from opentelemetry import trace

from tracker import _attributes as A
from tracker._internal_errors import guard, report
from tracker._usage import MAX_TOKENS, Usage, settle
from tracker.exceptions import BudgetExceeded
from tracker.export import _genai_spans as _stacked
from tracker.export._call_attributes import request_parameters
from tracker.instrumentation._server import server_of
from tracker.recording import _calls as _usage
from tracker.recording import _returned as _responses
from tracker.recording._streams import StreamStrategy, estimate_tokens, wrap_stream

__all__ = ["Endpoint", "RawResponseProxy", "Usage"]

_STREAM = A.GEN_AI_REQUEST_STREAM
_UNKNOWN: Any = object()  # the server of an endpoint without a `client` reader: `server_of()`

# Span pricing ("never twice", tracker.export._genai_spans): while an `EnergySpanProcessor` or
# `EnergyEnrichingSpanExporter` exists, another instrumentation's span of a call recorded here is
# covered, and a span it starts inside the call becomes the parent of the SDK's span.


@dataclass(frozen=True, slots=True)
class Endpoint:
    """How one provider method is recorded: the per-provider strategy functions."""

    operation: str
    provider: Callable[[Any], str]                     # resource instance -> provider name
    usage: Callable[[Any], Usage | None]               # plain response -> usage
    is_stream: Callable[[Any], bool] = lambda _r: False
    stream_strategy: Callable[[Mapping[str, Any]], StreamStrategy] | None = None
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # opt-in request tweaks
    model_key: str = "model"
    #: (request kwargs, plain response) -> usage estimated from the text, for the counts the
    #: response does not report (`tracker._usage.settle`); unset: input estimated from every
    #: string of the request, output from `output_text`.
    estimate: Callable[[Mapping[str, Any], Any], Usage] | None = None
    #: plain response -> its answer text (strings, at any depth), to estimate a missing output
    #: count; unset: an answer's size is not known (embeddings).
    output_text: Callable[[Any], object] | None = None
    #: (plain response, finish) -> True when the usage comes later (a body the caller has yet
    #: to read): the endpoint then calls ``finish(usage, error)`` once, when it knows.
    deferred: Callable[[Any, Callable[[Usage | None, BaseException | None], None]], bool] \
        | None = None
    #: A response whose body is parsed later (`with_raw_response`, `with_streaming_response`):
    #: it is proxied and its `parse()` result recorded as if the method had returned it.
    is_raw: Callable[[Any], bool] = lambda _r: False
    #: A framework's call (LiteLLM...): recorded only if no call inside it was, such as the
    #: provider client's call it makes ("never twice", `tracker.recording._framework`).
    framework: bool = False
    #: resource instance -> (provider name, (host, port) or None), from one lookup per client
    #: (what `provider` and `server_of` give); unset: those two.
    client: Callable[[Any], tuple[str, tuple[str, int | None] | None]] | None = None


def _begin(endpoint: Endpoint, runtime: Any, instance: Any,
           kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    call = None
    try:  # (plain try/except rather than guard(): this runs on every provider call)
        if endpoint.prepare is not None:
            kwargs = endpoint.prepare(kwargs)
        model = kwargs.get(endpoint.model_key)
        client = endpoint.client
        if client is not None:
            provider, server = client(instance)
        else:
            provider, server = endpoint.provider(instance), _UNKNOWN
        call = _usage._start(provider, endpoint.operation,  # (start_call)
                             model if isinstance(model, str) else None, None, True, runtime)
        if not call._done:
            call.server = server_of(instance) if server is _UNKNOWN else server
            call.request = request_parameters(kwargs)
    except BudgetExceeded:  # opt-in (on_exceed="raise"): the application asked for it
        raise
    except Exception as exc:
        report("instrumentation.start", exc)
    return call, kwargs


def _enter(call: Any) -> Any:
    """Span-pricing bookkeeping before the provider call (only while span pricing exists)."""
    if call is None or call._done:
        return None
    try:
        return _stacked.enter_call()
    except Exception as exc:
        report("instrumentation.stacked", exc)
        return None


def _leave(call: Any, entered: Any) -> None:
    """After the provider call: a span another instrumentation started in it parents ours."""
    try:
        foreign = _stacked.leave_call(entered)
        if foreign is not None and call._parent is not None:
            call._parent = trace.set_span_in_context(trace.NonRecordingSpan(foreign),
                                                     call._parent)
    except Exception as exc:
        report("instrumentation.stacked", exc)


def _fail(call: Any, exc: BaseException) -> None:
    if call is not None:
        with guard("instrumentation.error"):
            call.finish(input_tokens=None, output_tokens=None, error=exc)


def _end(endpoint: Endpoint, call: Any, result: Any, kwargs: Mapping[str, Any],
         is_async: bool) -> Any:
    if call is None:
        return result
    try:
        if endpoint.is_raw(result):
            return RawResponseProxy(result, endpoint, call, kwargs, is_async)
        return _record(endpoint, call, result, kwargs, is_async)
    except Exception as exc:
        report("instrumentation.finish", exc)
    return result


def _record(endpoint: Endpoint, call: Any, result: Any, kwargs: Mapping[str, Any],
            is_async: bool) -> Any:
    """Finish `call` from a response (or wrap a stream); returns what the caller gets."""
    if endpoint.stream_strategy is not None and endpoint.is_stream(result):
        strategy = endpoint.stream_strategy(kwargs)
        request = call.request
        if request is None:
            call.request = {_STREAM: True}
        elif _STREAM not in request:
            request[_STREAM] = True
        return wrap_stream(result, call, strategy, is_async=is_async)
    if endpoint.deferred is not None:
        def finish(usage: Usage | None, error: BaseException | None) -> None:
            call.finish_usage(settle(usage, lambda: _estimated(endpoint, kwargs, None)),
                              error=error)

        if endpoint.deferred(result, finish):
            _responses.mark_recorded(result)
            return result
    usage = endpoint.usage(result)
    counted = usage is not None and (type(n := usage.input_tokens) is int and 0 < n <= MAX_TOKENS
                                     and type(n := usage.output_tokens) is int
                                     and 0 < n <= MAX_TOKENS)
    if not counted:  # (both counts reported: `settle` would return the usage as it is)
        usage = settle(usage, lambda: _estimated(endpoint, kwargs, result),
                       no_output=endpoint.operation == "embeddings")
    try:  # (`call.finish_usage(usage)`, one frame fewer)
        call._finish(usage, None, False, counted)
    except Exception as exc:
        report("usage.finish", exc)
    _responses.mark_recorded(result)
    return result


def _estimated(endpoint: Endpoint, kwargs: Mapping[str, Any], result: Any) -> Usage:
    """Usage counted from the text (request, and answer where `output_text` reads it), flagged."""
    if endpoint.estimate is not None and result is not None:
        try:
            return endpoint.estimate(kwargs, result)
        except Exception as exc:
            report("instrumentation.estimate", exc)
    parts = [v for k, v in kwargs.items() if k != endpoint.model_key]
    output = 0
    if endpoint.output_text is not None and result is not None:
        try:
            output = estimate_tokens(endpoint.output_text(result))
        except Exception as exc:
            report("instrumentation.estimate", exc)
    return Usage(estimate_tokens(*parts), output, tokens_estimated=True)


class RawResponseProxy(wrapt.ObjectProxy):  # type: ignore[type-arg,misc,unused-ignore]
    """A raw response whose body is parsed later: the call is recorded from `parse()`.

    `parse()` (sync or async) returns what the method would have returned, recorded (a stream
    comes back proxied); asked again, the same object. Closed, or dropped, without having been
    parsed, the call is recorded with usage estimated from the request.
    """

    def __init__(self, wrapped: Any, endpoint: Endpoint, call: Any, kwargs: Mapping[str, Any],
                 is_async: bool) -> None:
        super().__init__(wrapped)
        self._self_endpoint = endpoint
        self._self_call = call
        self._self_kwargs = kwargs
        self._self_async = is_async
        self._self_parsed: tuple[Any, Any] | None = None  # (parsed, what the caller got)

    def _self_take(self, parsed: Any) -> Any:
        seen = self._self_parsed
        if seen is not None and seen[0] is parsed:
            return seen[1]
        out = parsed
        try:
            if seen is None:
                out = _record(self._self_endpoint, self._self_call, parsed, self._self_kwargs,
                              self._self_async)
        except Exception as exc:
            report("instrumentation.parse", exc)
        self._self_parsed = (parsed, out)
        return out

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        """The wrapped `parse()`, recording the call from its result."""
        parsed = self.__wrapped__.parse(*args, **kwargs)
        if inspect.isawaitable(parsed):
            async def take() -> Any:
                return self._self_take(await parsed)

            return take()
        return self._self_take(parsed)

    def _self_unparsed(self) -> None:
        if self._self_parsed is None:
            self._self_parsed = (None, None)
            with guard("instrumentation.unparsed"):
                self._self_call.finish_usage(_estimated(self._self_endpoint, self._self_kwargs,
                                                        None))

    def close(self) -> Any:
        """Close the response; a response never parsed is recorded now."""
        closed = self.__wrapped__.close()
        if inspect.isawaitable(closed):
            async def wait() -> Any:
                try:
                    return await closed
                finally:
                    self._self_unparsed()

            return wait()
        self._self_unparsed()
        return closed

    def __del__(self) -> None:
        try:
            self._self_unparsed()
        except Exception as exc:
            report("instrumentation.unparsed", exc)

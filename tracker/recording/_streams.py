"""Provider-agnostic stream proxies that record one LLM call when a streamed response ends.

A provider integration hands `wrap_stream()` the stream object the client library returned, the
`LLMCall` it started, and a provider *strategy*: an object with `record_chunk(chunk)` (called once
per chunk, doing at most a counter update) and `result()` (the usage once the stream is over).
For an `InBandUsageStrategy` (usage reported on a chunk's `usage`), a `for` / `async for` loop
does that update inline, with no call per chunk. The proxy behaves like the original object
(attributes, helper methods, `isinstance`, `next()` / `anext()` mixed with loops) and finishes
the call exactly once, on whichever comes first:

- exhaustion (`StopIteration` / `StopAsyncIteration`),
- an exception from the provider while reading (the call carries it as `error`),
- `close()` / `aclose()`, or leaving a `with` / `async with` block,
- the proxy being dropped before the end (for example after `break` out of a loop): its
  `__del__` records what was received.

When the provider sends no usage (a chat stream without `stream_options.include_usage`, a
truncated stream), strategies count output characters from the deltas and report
``ceil(chars / 4)`` output tokens, and estimate input tokens from the request text the same way;
the call is then flagged ``energy.tokens_estimated = true``. Four characters per token is the
usual rule of thumb for English text with BPE tokenizers (OpenAI, "What are tokens", 2023).
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import wrapt

from tracker._internal_errors import report
from tracker.recording._stream_usage import (
    CHARS_PER_TOKEN,
    CountingStrategy,
    InBandUsageStrategy,
    StreamResult,
    StreamStrategy,
    estimate_tokens,
    tokens_from_chars,
)

if TYPE_CHECKING:
    from tracker.recording._calls import LLMCall

__all__ = [
    "CHARS_PER_TOKEN",
    "AsyncStreamProxy",
    "CountingStrategy",
    "InBandUsageStrategy",
    "StreamResult",
    "StreamStrategy",
    "SyncStreamProxy",
    "estimate_tokens",
    "tokens_from_chars",
    "wrap_stream",
]

_clock = time.perf_counter
#: Gaps between chunks kept per stream for `gen_ai.client.operation.time_per_output_chunk`;
#: a longer stream's later gaps are not recorded.
MAX_CHUNK_GAPS = 4096


class _StreamState:
    """The part shared by sync and async proxies: finishes the call exactly once.

    It also times the chunks: `tick()` per chunk keeps when the first arrived and the gaps
    between later ones, handed to the call (``gen_ai.response.time_to_first_chunk`` and the two
    chunk histograms) when it finishes.
    """

    __slots__ = ("__weakref__", "_after", "_call", "_done", "_first", "_gaps", "_last", "_lock",
                 "_strategy", "gapped")

    def __init__(self, call: LLMCall, strategy: StreamStrategy) -> None:
        self._call = call
        self._strategy = strategy
        self._done = False
        self._lock = threading.Lock()
        self._after: list[Callable[[], object]] | None = None
        self._first: float | None = None
        self._last = 0.0
        self._gaps: list[float] = []
        runtime = call._runtime
        #: Whether the gaps between chunks are kept (``chunk_metrics``); otherwise a chunk after
        #: the first costs no clock read.
        self.gapped = runtime is not None and runtime.config.chunk_metrics

    def tick(self) -> None:
        """One chunk arrived."""
        now = _clock()
        if self._first is None:
            self._first = now
        elif len(self._gaps) < MAX_CHUNK_GAPS and self.gapped:
            self._gaps.append(now - self._last)
        self._last = now

    def finish(self, error: BaseException | None = None) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
            after, self._after = self._after, None
        try:
            call = self._call
            t0 = call._t0
            if self._first is not None and t0 is not None:
                call.chunks = (self._first - t0, self._gaps)
            self._call.finish_usage(self._strategy.result(), error=error)
        except Exception as exc:
            report("streams.finish", exc)
        for callback in after or ():
            try:
                callback()
            except Exception as exc:
                report("streams.after_finish", exc)

    def defer(self, callback: Callable[[], object]) -> bool:
        """Run `callback` once the call is finished; False (nothing kept) if it already is."""
        with self._lock:
            if self._done:
                return False
            if self._after is None:
                self._after = []
            self._after.append(callback)
            return True


class _ProxyBase(wrapt.ObjectProxy):  # type: ignore[type-arg,misc,unused-ignore]
    def __init__(self, wrapped: Any, state: _StreamState) -> None:
        super().__init__(wrapped)
        self._self_state = state
        strategy = state._strategy
        self._self_record = strategy.record_chunk  # per chunk: one call, no lookup
        #: The strategy when loops can update it inline (no call per chunk), else None.
        self._self_tail = strategy if isinstance(strategy, InBandUsageStrategy) else None

    def _self_finish(self, error: BaseException | None = None) -> None:
        self._self_state.finish(error)

    def __del__(self) -> None:
        # The proxy was dropped before the stream ended (a loop left early, then the stream
        # dropped): the call is recorded now, with what was received. (A finalizer per stream,
        # weakref.finalize, costs about ten times more than this method.)
        try:
            self._self_state.finish()
        except Exception as exc:
            report("streams.finish", exc)


class SyncStreamProxy(_ProxyBase):
    """Proxy of a synchronous stream (iterator, context manager, `close()`)."""

    def __iter__(self) -> Iterator[Any]:
        # A `for` loop resumes this generator per chunk, which costs less than calling a Python
        # `__next__`; `next(proxy)` still goes through `__next__` below.
        return self._self_chunks()

    def _self_chunks(self) -> Generator[Any, None, None]:
        record, tail, state = self._self_record, self._self_tail, self._self_state
        # The first chunk's time is read once; later chunks read the clock only when their gaps
        # are kept (chunk_metrics).
        tick = state.tick if state.gapped else None
        first = state._first
        try:
            for chunk in self.__wrapped__:
                try:
                    if tick is not None:
                        tick()
                    elif first is None:
                        first = state._first = _clock() if state._first is None else state._first
                    if tail is None:
                        record(chunk)
                    else:  # InBandUsageStrategy.record_chunk, inline: no call per chunk
                        tail.chunks += 1
                        tail.last = chunk
                        if getattr(chunk, "usage", None) is not None:
                            tail.usage_chunk = chunk
                except Exception as exc:  # a malformed chunk must not break the user's loop
                    report("streams.record_chunk", exc)
                yield chunk
        except GeneratorExit:  # the loop was left early: the call ends with the proxy
            raise
        except BaseException as exc:
            self._self_finish(exc)
            raise
        self._self_finish()

    def __next__(self) -> Any:
        try:
            chunk = self.__wrapped__.__next__()
        except StopIteration:
            self._self_finish()
            raise
        except BaseException as exc:
            self._self_finish(exc)
            raise
        try:
            self._self_state.tick()
            self._self_record(chunk)
        except Exception as exc:  # a malformed chunk must not break the user's loop
            report("streams.record_chunk", exc)
        return chunk

    def __enter__(self) -> Any:
        entered = self.__wrapped__.__enter__()
        return self if entered is self.__wrapped__ else entered

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_finish()

    def close(self) -> Any:
        """Close the underlying stream, then record the call."""
        try:
            return self.__wrapped__.close()
        finally:
            self._self_finish()


class AsyncStreamProxy(_ProxyBase):
    """Proxy of an asynchronous stream (async iterator, async context manager, `close()`)."""

    def __aiter__(self) -> AsyncIterator[Any]:
        # An `async for` loop resumes this async generator per chunk, which costs less than
        # awaiting a Python `__anext__`; `anext(proxy)` still goes through `__anext__` below.
        return self._self_chunks()

    async def _self_chunks(self) -> AsyncGenerator[Any, None]:
        # The same loop as SyncStreamProxy._self_chunks, asynchronous.
        record, tail, state = self._self_record, self._self_tail, self._self_state
        # The first chunk's time is read once; later chunks read the clock only when their gaps
        # are kept (chunk_metrics).
        tick = state.tick if state.gapped else None
        first = state._first
        try:
            async for chunk in self.__wrapped__:
                try:
                    if tick is not None:
                        tick()
                    elif first is None:
                        first = state._first = _clock() if state._first is None else state._first
                    if tail is None:
                        record(chunk)
                    else:  # InBandUsageStrategy.record_chunk, inline: no call per chunk
                        tail.chunks += 1
                        tail.last = chunk
                        if getattr(chunk, "usage", None) is not None:
                            tail.usage_chunk = chunk
                except Exception as exc:  # a malformed chunk must not break the user's loop
                    report("streams.record_chunk", exc)
                yield chunk
        except GeneratorExit:  # the loop was left early: the call ends with the proxy
            raise
        except BaseException as exc:
            self._self_finish(exc)
            raise
        self._self_finish()

    async def __anext__(self) -> Any:
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_finish()
            raise
        except BaseException as exc:
            self._self_finish(exc)
            raise
        try:
            self._self_state.tick()
            self._self_record(chunk)
        except Exception as exc:  # a malformed chunk must not break the user's loop
            report("streams.record_chunk", exc)
        return chunk

    async def __aenter__(self) -> Any:
        entered = await self.__wrapped__.__aenter__()
        return self if entered is self.__wrapped__ else entered

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_finish()

    async def close(self) -> Any:
        """Close the underlying stream, then record the call."""
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_finish()

    @property
    def aclose(self) -> Callable[[], Any]:
        """`aclose()` when the wrapped stream has one (AttributeError otherwise, like it)."""
        inner = self.__wrapped__.aclose  # AttributeError propagates: hasattr() stays faithful

        async def aclose() -> Any:
            try:
                return await inner()
            finally:
                self._self_finish()

        return aclose


def defer_until_finished(obj: object, callback: Callable[[], object],
                         before: Callable[[], object]) -> bool:
    """Hold a scope open while a returned stream is read.

    If `obj` is a stream proxy still being read, call `before()` now and `callback()` when its
    call is finished, and return True; otherwise do nothing and return False.
    """
    if not isinstance(obj, _ProxyBase):
        return False
    state: _StreamState = obj._self_state
    before()
    if state.defer(callback):
        return True
    callback()
    return False


def wrap_stream(stream: Any, call: LLMCall, strategy: StreamStrategy, *, is_async: bool) -> Any:
    """Return a proxy of `stream` that finishes `call` exactly once with `strategy`'s usage."""
    state = _StreamState(call, strategy)
    if is_async:
        return AsyncStreamProxy(stream, state)
    return SyncStreamProxy(stream, state)

"""Provider-agnostic stream proxies that record one LLM call when a streamed response ends.

A provider integration hands `wrap_stream()` the stream object the client library returned, the
`LLMCall` it started, and a provider *strategy*: an object with `record_chunk(chunk)` (called once
per chunk, doing at most a counter update) and `result()` (the usage once the stream is over).
The proxy reads the stream through one generator of its own (a *reader*), which `for` / `async
for` loops resume directly and `next()` / `anext()` step too; for an `InBandUsageStrategy`
(usage reported on a chunk's `usage`) the reader only counts the chunks and keeps the last two,
in local variables, with no call per chunk. The proxy behaves like the original object
(attributes, helper methods, `isinstance`, `next()` / `anext()` mixed with loops) and finishes
the call exactly once, on whichever comes first:

- exhaustion (`StopIteration` / `StopAsyncIteration`),
- an exception from the provider while reading (the call carries it as `error`; the caller gets
  the same exception object),
- `close()` / `aclose()`, or leaving a `with` / `async with` block,
- the stream being dropped before the end (for example after `break` out of a loop): Python
  closes the reader, whose `finally` records what was received (an async reader is closed by
  the event loop, on its next turn or when it shuts down its async generators).

When the provider sends no usage (a chat stream without `stream_options.include_usage`, a
truncated stream), strategies count output characters from the deltas and report
``ceil(chars / 4)`` output tokens, and estimate input tokens from the request text the same way;
the call is then flagged ``energy.tokens_estimated = true``. Four characters per token is the
usual rule of thumb for English text with BPE tokenizers (OpenAI, "What are tokens", 2023).
"""

from __future__ import annotations

import threading
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
)
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
#: Guards every stream's "finished" flag and its deferred callbacks (held for a few bytecodes;
#: one lock for all streams rather than one allocated per stream). Reentrant: the garbage
#: collector may finish a dropped stream while this thread holds it for another one.
_LOCK = threading.RLock()
#: Gaps between chunks kept per stream for `gen_ai.client.operation.time_per_output_chunk`;
#: a longer stream's later gaps are not recorded.
MAX_CHUNK_GAPS = 4096


class _StreamState:
    """What a stream's reader reports to: finishes the call once, then the `defer`red callbacks.

    The reader (`_read` / `_aread`, below) keeps its counts in its own local variables and
    hands them over once, when it ends (`done`); with ``chunk_metrics`` it calls `tick()` per
    chunk to keep the gaps between chunks.
    """

    __slots__ = ("__weakref__", "_after", "_call", "_done", "_first", "_gaps", "_last",
                 "_strategy", "gapped")

    def __init__(self, call: LLMCall, strategy: StreamStrategy) -> None:
        self._call = call
        self._strategy = strategy
        self._done = False
        self._after: list[Callable[[], object]] | None = None
        self._first: float | None = None
        self._gaps: list[float] | None = None  # set by the first tick()
        self._last = 0.0
        runtime = call._runtime
        #: Whether the gaps between chunks are kept (``chunk_metrics``); otherwise a chunk after
        #: the first costs no clock read.
        self.gapped = runtime is not None and runtime.config.chunk_metrics

    def tick(self) -> None:
        """One chunk arrived (``chunk_metrics``: its time, and the gap since the last one)."""
        now = _clock()
        if self._first is None:
            self._first = now
            self._gaps = []
        elif self._gaps is not None and len(self._gaps) < MAX_CHUNK_GAPS:
            self._gaps.append(now - self._last)
        self._last = now

    def finish(self, error: BaseException | None = None) -> None:
        """Finish the call (once; later calls do nothing) with what the strategy has."""
        self.done(0, None, None, None, error)

    def done(self, chunks: int, last: Any, before: Any, first: float | None,
             error: BaseException | None) -> None:
        """The reader ended: hand its counts to an in-band strategy, then finish the call.

        `last` and `before` are the last two chunks received; the usage chunk is the last of
        them whose ``usage`` is set (a usage chunk followed by one without usage still counts).
        """
        with _LOCK:
            if self._done:
                return
            self._done = True
            after, self._after = self._after, None
        try:
            strategy = self._strategy
            if chunks and isinstance(strategy, InBandUsageStrategy):
                try:
                    strategy.chunks += chunks
                    strategy.last = last
                    if getattr(last, "usage", None) is not None:
                        strategy.usage_chunk = last
                    elif before is not None and getattr(before, "usage", None) is not None:
                        strategy.usage_chunk = before
                except Exception as exc:  # a malformed chunk: counted, its usage not read
                    report("streams.record_chunk", exc)
            if first is None:
                first = self._first
            call = self._call
            t0 = call._t0
            if first is not None and t0 is not None:
                call.chunks = (first - t0, self._gaps or [])
            call.finish_usage(strategy.result(), error=error)
        except Exception as exc:
            report("streams.finish", exc)
        for callback in after or ():
            try:
                callback()
            except Exception as exc:
                report("streams.after_finish", exc)

    def defer(self, callback: Callable[[], object]) -> bool:
        """Run `callback` once the call is finished; False (nothing kept) if it already is."""
        with _LOCK:
            if self._done:
                return False
            if self._after is None:
                self._after = []
            self._after.append(callback)
            return True


# The readers: one generator per stream, made and started (so that closing or dropping it always
# runs its `finally`) by `wrap_stream`. `__iter__` returns it, so a `for` loop resumes it in C;
# `next(proxy)` steps the same one. It holds no reference to the proxy: it is dropped with the
# proxy or the loop, whichever is last, and Python then closes it. Per chunk, an in-band strategy
# costs a count and two local variables; other strategies get one `record_chunk()` call.


def _read(stream: Any, state: _StreamState) -> Generator[Any, None, None]:
    chunks = 0
    last = before = first = error = None
    try:
        yield None  # started by `wrap_stream`
        for chunk in stream:
            if first is None:
                first = _clock()
            chunks += 1
            before = last
            last = chunk
            yield chunk
    except GeneratorExit:  # closed, or dropped, before the end: recorded with what was received
        raise
    except BaseException as exc:  # the provider's error: the call carries it, the caller gets it
        error = exc
        raise
    finally:
        state.done(chunks, last, before, first, error)


def _read_each(stream: Any, state: _StreamState) -> Generator[Any, None, None]:
    # `_read` for a strategy that reads every chunk (or with chunk_metrics).
    record = state._strategy.record_chunk
    tick = state.tick if state.gapped else None
    first = error = None
    try:
        yield None
        for chunk in stream:
            try:
                if tick is not None:
                    tick()
                elif first is None:
                    first = _clock()
                record(chunk)
            except Exception as exc:  # a malformed chunk must not break the user's loop
                report("streams.record_chunk", exc)
            yield chunk
    except GeneratorExit:
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        state.done(0, None, None, first, error)


async def _aread(stream: Any, state: _StreamState) -> AsyncGenerator[Any, None]:
    # `_read`, asynchronous.
    chunks = 0
    last = before = first = error = None
    try:
        yield None
        async for chunk in stream:
            if first is None:
                first = _clock()
            chunks += 1
            before = last
            last = chunk
            yield chunk
    except GeneratorExit:
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        state.done(chunks, last, before, first, error)


async def _aread_each(stream: Any, state: _StreamState) -> AsyncGenerator[Any, None]:
    # `_read_each`, asynchronous.
    record = state._strategy.record_chunk
    tick = state.tick if state.gapped else None
    first = error = None
    try:
        yield None
        async for chunk in stream:
            try:
                if tick is not None:
                    tick()
                elif first is None:
                    first = _clock()
                record(chunk)
            except Exception as exc:
                report("streams.record_chunk", exc)
            yield chunk
    except GeneratorExit:
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        state.done(0, None, None, first, error)


class _ProxyBase(wrapt.ObjectProxy):  # type: ignore[type-arg,misc,unused-ignore]
    # Set by `wrap_stream` (no __init__ of our own: one Python frame less per stream).
    _self_state: _StreamState
    _self_reader: Any


class SyncStreamProxy(_ProxyBase):
    """Proxy of a synchronous stream (iterator, context manager, `close()`)."""

    def __iter__(self) -> Iterator[Any]:
        return self._self_reader  # type: ignore[no-any-return]

    def __next__(self) -> Any:
        return self._self_reader.__next__()

    def _self_close_reader(self) -> None:
        try:
            self._self_reader.close()  # its `finally` records the call
        except ValueError:  # being read right now (another thread): it records when it ends
            return
        self._self_state.finish()

    def __enter__(self) -> Any:
        entered = self.__wrapped__.__enter__()
        return self if entered is self.__wrapped__ else entered

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_close_reader()

    def close(self) -> Any:
        """Close the underlying stream, then record the call."""
        try:
            return self.__wrapped__.close()
        finally:
            self._self_close_reader()


class AsyncStreamProxy(_ProxyBase):
    """Proxy of an asynchronous stream (async iterator, async context manager, `close()`)."""

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._self_reader  # type: ignore[no-any-return]

    def __anext__(self) -> Awaitable[Any]:
        return self._self_reader.__anext__()  # type: ignore[no-any-return]

    async def _self_close_reader(self) -> None:
        try:
            await self._self_reader.aclose()  # its `finally` records the call
        except RuntimeError:  # being read right now (another task): it records when it ends
            return
        self._self_state.finish()

    async def __aenter__(self) -> Any:
        entered = await self.__wrapped__.__aenter__()
        return self if entered is self.__wrapped__ else entered

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            await self._self_close_reader()

    async def close(self) -> Any:
        """Close the underlying stream, then record the call."""
        try:
            return await self.__wrapped__.close()
        finally:
            await self._self_close_reader()

    @property
    def aclose(self) -> Callable[[], Any]:
        """`aclose()` when the wrapped stream has one (AttributeError otherwise, like it)."""
        inner = self.__wrapped__.aclose  # AttributeError propagates: hasattr() stays faithful

        async def aclose() -> Any:
            try:
                return await inner()
            finally:
                await self._self_close_reader()

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
    each = state.gapped or not isinstance(strategy, InBandUsageStrategy)
    proxy: _ProxyBase
    reader: Any
    if is_async:
        reader = (_aread_each if each else _aread)(stream, state)
        # started: runs to its first `yield`, which ends the `asend` awaitable's iteration (a
        # loop over it ends on that StopIteration in C; `send()` would raise it into this frame)
        for _ in reader.asend(None):
            pass
        proxy = AsyncStreamProxy(stream)
    else:
        reader = (_read_each if each else _read)(stream, state)
        next(reader)
        proxy = SyncStreamProxy(stream)
    proxy._self_state = state
    proxy._self_reader = reader
    return proxy

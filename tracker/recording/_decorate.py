"""The wrappers `track_energy` puts around a function: plain, coroutine, generator, async generator.

The kind is decided once, at decoration time (`tracker.recording._callables.kind_of`: a partial
or a callable object counts as what it calls). Generators are tracked until exhausted or closed;
their scope is current only while their body runs, and ``send()``/``throw()`` (``asend()``/
``athrow()``) reach the wrapped generator, tracked or not. ``@track_energy`` above
``@classmethod``/``@staticmethod`` wraps the function inside and keeps the method kind.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import Any, ParamSpec, TypeVar, cast

from tracker.recording import _streams
from tracker.recording._callables import kind_of, name_of
from tracker.recording._energy_scope import EnergyScope, _open

__all__ = ["wrap"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _record_returned(result: object, scope: EnergyScope) -> None:
    """Account for what a tracked function returned.

    A stream of an instrumented call keeps the scope open until it ends, so its call is inside
    the scope's sums. A provider response is recorded only when no call inside the scope was
    (an un-instrumented client): a response, its ``model_dump()`` or its usage block returned
    after an integration recorded the call is never counted again.
    """
    if result is None:
        return
    if _streams.defer_until_finished(result, scope._release, scope._hold):
        return
    if scope.calls == 0:
        from tracker.recording import _returned  # here: it imports the recording of calls

        _returned.record_response(result, scope.model)


# ----------------------------------------------------------------------------- wrappers


def _wrap_method(func: classmethod[Any, Any, Any] | staticmethod[Any, Any], name: str | None,
                 model: str | None, labels: Mapping[str, Any] | None) -> Any:
    """``@track_energy`` above ``@classmethod``/``@staticmethod``: wrap the function inside."""
    inner = _wrap(func.__func__, name, model, labels)
    return type(func)(inner)


def _wrap(func: Callable[_P, _R], name: str | None, model: str | None,
          labels: Mapping[str, Any] | None) -> Callable[_P, _R]:
    if isinstance(func, (classmethod, staticmethod)):
        return cast("Callable[_P, _R]", _wrap_method(func, name, model, labels))
    scope_name = name or name_of(func)
    kind = kind_of(func)
    target: Any = func
    if inspect.isasyncgenfunction(kind) or inspect.isasyncgenfunction(func):
        return cast("Callable[_P, _R]", _wrap_async_gen(target, scope_name, model, labels))
    if inspect.isgeneratorfunction(kind) or inspect.isgeneratorfunction(func):
        return cast("Callable[_P, _R]", _wrap_gen(target, scope_name, model, labels))
    if inspect.iscoroutinefunction(kind) or inspect.iscoroutinefunction(func):
        return cast("Callable[_P, _R]", _wrap_coro(target, scope_name, model, labels))

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        scope = _open(scope_name, model, labels)
        if scope is None:
            return func(*args, **kwargs)
        tokens = scope._activate()
        try:
            result = func(*args, **kwargs)
            _record_returned(result, scope)
        except BaseException as exc:
            scope._deactivate(tokens)
            scope._close(exc)
            raise
        scope._deactivate(tokens)
        scope._close(None)
        return result

    return wrapper


def _wrap_coro(func: Callable[_P, Any], scope_name: str, model: str | None,
               labels: Mapping[str, Any] | None) -> Callable[_P, Any]:
    @functools.wraps(func)
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
        scope = _open(scope_name, model, labels)
        if scope is None:
            return await func(*args, **kwargs)
        tokens = scope._activate()
        try:
            result = await func(*args, **kwargs)
            _record_returned(result, scope)
        except BaseException as exc:
            scope._deactivate(tokens)
            scope._close(exc)
            raise
        scope._deactivate(tokens)
        scope._close(None)
        return result

    return wrapper


def _wrap_gen(func: Callable[_P, Generator[Any, Any, Any]], scope_name: str, model: str | None,
              labels: Mapping[str, Any] | None) -> Callable[_P, Generator[Any, Any, Any]]:
    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Generator[Any, Any, Any]:
        gen = func(*args, **kwargs)
        scope = _open(scope_name, model, labels)
        if scope is None:
            return (yield from gen)
        error: BaseException | None = None
        send: Any = None
        pending: BaseException | None = None
        try:
            while True:
                tokens = scope._activate()
                try:
                    if pending is not None:
                        exc, pending = pending, None
                        item = gen.throw(exc)
                    else:
                        item = gen.send(send)
                except StopIteration as stop:
                    return stop.value
                finally:
                    scope._deactivate(tokens)
                try:
                    send = yield item
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    pending = exc
        except GeneratorExit:
            tokens = scope._activate()
            try:
                gen.close()
            finally:
                scope._deactivate(tokens)
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            scope._close(error)

    return wrapper


def _wrap_async_gen(func: Callable[_P, AsyncGenerator[Any, Any]], scope_name: str,
                    model: str | None, labels: Mapping[str, Any] | None,
                    ) -> Callable[_P, AsyncGenerator[Any, Any]]:
    @functools.wraps(func)
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> AsyncGenerator[Any, Any]:
        agen = func(*args, **kwargs)
        scope = _open(scope_name, model, labels)
        if scope is None:  # disabled: still pass asend()/athrow()/aclose() through
            send_value: Any = None
            thrown: BaseException | None = None
            while True:
                try:
                    if thrown is not None:
                        to_throw, thrown = thrown, None
                        value = await agen.athrow(to_throw)
                    else:
                        value = await agen.asend(send_value)
                except StopAsyncIteration:
                    return
                try:
                    send_value = yield value
                except GeneratorExit:
                    await agen.aclose()
                    raise
                except BaseException as raised:
                    thrown = raised
        error: BaseException | None = None
        send: Any = None
        pending: BaseException | None = None
        try:
            while True:
                tokens = scope._activate()
                try:
                    if pending is not None:
                        exc, pending = pending, None
                        item = await agen.athrow(exc)
                    else:
                        item = await agen.asend(send)
                except StopAsyncIteration:
                    return
                finally:
                    scope._deactivate(tokens)
                try:
                    send = yield item
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    pending = exc
        except GeneratorExit:
            tokens = scope._activate()
            try:
                await agen.aclose()
            finally:
                scope._deactivate(tokens)
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            scope._close(error)

    return wrapper


wrap = _wrap

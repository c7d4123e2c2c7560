"""`track_energy`: a decorator and a (sync or async) context manager that sums LLM calls.

Each tracked function call or block is an `EnergyScope` with running totals and an INTERNAL span
named after the function's ``__qualname__`` (or the name given), carrying the sums when it ends.
The current scope lives in a `contextvars.ContextVar`, so concurrent threads and asyncio tasks
never mix totals, and every call adds to its scope and all enclosing scopes (nested roll-up).

The decorator decides once, at decoration time, whether it wraps a function, a coroutine
function, a generator function or an async generator function. Generators are tracked until
exhausted or closed; their scope is current only while their body runs. A tracked function that
returns a provider response (OpenAI/Anthropic object or a dict with a "usage" block) records its
usage unless an integration already did.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import threading
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast, overload

from tracker._internal_errors import report
from tracker.config._configure import get_runtime
from tracker.export import _attributes as A
from tracker.export._telemetry import Telemetry

if TYPE_CHECKING:
    from tracker.model._estimate import Estimate

__all__ = ["EnergyScope", "TrackEnergy", "current_scope", "track_energy"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

_current: contextvars.ContextVar[EnergyScope | None] = contextvars.ContextVar(
    "llm_energy_tracker_scope", default=None)


def current_scope() -> EnergyScope | None:
    """The innermost tracked scope of this thread/task, or None."""
    return _current.get()


class EnergyScope:
    """Running totals of one tracked function call or block (what ``with ... as t`` gives)."""

    __slots__ = ("_ctx", "_lock", "_owner", "_span", "_tokens", "calls", "energy_kwh", "gco2e",
                 "input_tokens", "labels", "model", "name", "output_tokens", "parent", "usd",
                 "water_l")

    def __init__(self, name: str, *, parent: EnergyScope | None = None,
                 model: str | None = None, labels: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.parent = parent
        self.model: str | None = model or (parent.model if parent is not None else None)
        inherited = parent.labels if parent is not None else {}
        self.labels: dict[str, Any] = {**inherited, **labels} if labels else inherited
        #: Facility energy, kWh.
        self.energy_kwh = 0.0
        #: Emissions, grams CO2-equivalent.
        self.gco2e = 0.0
        #: Electricity cost, USD.
        self.usd = 0.0
        #: On-site water, litres.
        self.water_l = 0.0
        self.input_tokens = 0
        self.output_tokens = 0
        #: Number of LLM calls recorded in this scope (nested scopes included).
        self.calls = 0
        self._lock = threading.Lock()
        self._span: Any = None
        self._ctx: Any = None
        self._tokens: Any = None
        self._owner: object = None

    def __repr__(self) -> str:
        return (f"EnergyScope({self.name!r}, calls={self.calls}, energy_kwh={self.energy_kwh:.3g}, "
                f"gco2e={self.gco2e:.3g}, usd={self.usd:.3g})")

    def add(self, est: Estimate) -> None:
        """Add one priced call to this scope and every enclosing scope."""
        scope: EnergyScope | None = self
        while scope is not None:
            with scope._lock:
                scope.energy_kwh += est.energy_kwh
                scope.gco2e += est.gco2e
                scope.usd += est.usd
                scope.water_l += est.water_l
                scope.input_tokens += est.input_tokens
                scope.output_tokens += est.output_tokens
                scope.calls += 1
            scope = scope.parent

    def sums(self) -> dict[str, Any]:
        """The totals as span attributes."""
        with self._lock:
            return {
                A.ENERGY_KWH: self.energy_kwh, A.ENERGY_GCO2E: self.gco2e, A.ENERGY_USD: self.usd,
                A.ENERGY_WATER_L: self.water_l, A.GEN_AI_USAGE_INPUT_TOKENS: self.input_tokens,
                A.GEN_AI_USAGE_OUTPUT_TOKENS: self.output_tokens, A.ENERGY_CALLS: self.calls,
            }

    # -- lifecycle (SDK-internal) --------------------------------------------------------------
    def _activate(self) -> tuple[Any, Any]:
        var_token = _current.set(self)
        otel_token = None
        if self._ctx is not None:
            try:
                otel_token = Telemetry.attach(self._ctx)
            except Exception as exc:
                report("scope.attach", exc)
        return var_token, otel_token

    def _deactivate(self, tokens: tuple[Any, Any]) -> None:
        var_token, otel_token = tokens
        try:
            if otel_token is not None:
                Telemetry.detach(otel_token)
        except Exception as exc:
            report("scope.detach", exc)
        finally:
            _current.reset(var_token)

    def _close(self, error: BaseException | None) -> None:
        span, self._span = self._span, None
        if span is None:
            return
        try:
            Telemetry.end_scope_span(span, self.sums(), error)
        except Exception as exc:
            report("scope.end_span", exc)


def _open(name: str, model: str | None, labels: Mapping[str, Any] | None) -> EnergyScope | None:
    """A new scope under the current one with its span started, or None when disabled/failed."""
    try:
        runtime = get_runtime()
        if not runtime.config.enabled:
            return None
        scope = EnergyScope(name, parent=_current.get(), model=model, labels=labels)
        try:
            scope._span, scope._ctx = runtime.telemetry.start_scope_span(
                name, {**runtime.labels, **scope.labels})
        except Exception as exc:
            report("scope.start_span", exc)
        return scope
    except Exception as exc:
        report("scope.open", exc)
        return None


def _record_returned(result: object, scope: EnergyScope) -> None:
    if result is not None:
        _responses.record_response(result, scope.model)


# ----------------------------------------------------------------------------- wrappers


def _wrap(func: Callable[_P, _R], name: str | None, model: str | None,
          labels: Mapping[str, Any] | None) -> Callable[_P, _R]:
    scope_name = name or getattr(func, "__qualname__", None) or repr(func)
    if inspect.isasyncgenfunction(func):
        return cast("Callable[_P, _R]", _wrap_async_gen(func, scope_name, model, labels))
    if inspect.isgeneratorfunction(func):
        return cast("Callable[_P, _R]", _wrap_gen(func, scope_name, model, labels))
    if inspect.iscoroutinefunction(func):
        return cast("Callable[_P, _R]", _wrap_coro(func, scope_name, model, labels))

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
        if scope is None:
            async for item in agen:
                yield item
            return
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


# ----------------------------------------------------------------------------- public API


class TrackEnergy:
    """What ``track_energy(name, ...)`` returns: a decorator and a sync/async context manager."""

    __slots__ = ("labels", "model", "name")

    def __init__(self, name: str | None, model: str | None,
                 labels: Mapping[str, Any] | None) -> None:
        self.name = name
        self.model = model
        self.labels = dict(labels) if labels else None

    def __call__(self, func: Callable[_P, _R]) -> Callable[_P, _R]:
        """Decorate `func` (any kind: function, coroutine, generator, async generator)."""
        return _wrap(func, self.name, self.model, self.labels)

    def __enter__(self) -> EnergyScope:
        scope = _open(self.name or "track_energy", self.model, self.labels)
        if scope is None:
            return EnergyScope(self.name or "track_energy", model=self.model, labels=self.labels)
        scope._owner = self
        scope._tokens = scope._activate()
        return scope

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        scope = _current.get()
        if scope is None or scope._owner is not self or scope._tokens is None:
            return  # disabled, or the SDK failed to open the scope
        tokens, scope._tokens = scope._tokens, None
        try:
            scope._deactivate(tokens)
        except Exception as err:  # entered in another context: cannot reset, still end the span
            report("scope.exit", err)
        scope._close(exc)

    async def __aenter__(self) -> EnergyScope:
        return self.__enter__()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.__exit__(exc_type, exc, tb)


@overload
def track_energy(func: Callable[_P, _R], /) -> Callable[_P, _R]: ...
@overload
def track_energy(name: str | None = None, /, *, model: str | None = None,
                 labels: Mapping[str, Any] | None = None) -> TrackEnergy: ...
@overload
def track_energy(*, name: str | None = None, model: str | None = None,
                 labels: Mapping[str, Any] | None = None) -> TrackEnergy: ...


def track_energy(func_or_name: Any = None, /, *, name: str | None = None,
                 model: str | None = None, labels: Mapping[str, Any] | None = None) -> Any:
    """Track the energy of the LLM calls a function or block makes.

    Use bare (``@track_energy``), with arguments (``@track_energy(name="summarize",
    labels={"team": "search"})``), or as a context manager (``with track_energy("batch") as t:``,
    also ``async with``); ``t`` has running totals: ``energy_kwh``, ``gco2e``, ``usd``,
    ``water_l``, ``input_tokens``, ``output_tokens``, ``calls``. `model` is the default model for
    `record_usage()` calls inside; `labels` go on the scope's span and on every call inside it.
    """
    if callable(func_or_name) and not isinstance(func_or_name, str):
        return _wrap(func_or_name, name, model, labels)
    return TrackEnergy(func_or_name if func_or_name is not None else name, model, labels)


import tracker.recording._returned as _responses  # noqa: E402  (circular: usage imports this module)

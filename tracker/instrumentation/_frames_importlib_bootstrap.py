"""The frames the SDK puts between the application and a client library: `Patcher`, the wrappers.

Why this module has this name: a client library warns with ``warnings.warn(..., stacklevel=N)``
so that the warning names the line of the application that called it (anthropic's deprecated
model warning, ``typing_extensions.deprecated``...). Every Python frame the SDK adds between the
two would shift that by one: the warning would name the SDK's file, and under Python's default
filters (a `DeprecationWarning` is shown only when attributed to ``__main__``) a script calling a
deprecated model would no longer see it. CPython's `warnings` (its C implementation and the
pure-Python one alike) skips, while counting ``stacklevel``, every frame whose file
name contains both ``importlib`` and ``_bootstrap`` (the import machinery's frames). The
functions below are the only SDK frames on the stack while the library's method runs: the gate
of `Patcher`, the call wrappers of `make_wrapper()` and `call_then()`. Defined in this file, they
are skipped the same way, so the warning names the caller's line under any filters, sync and
async, at no cost per call (the measured alternatives: re-attributing the warnings a call raises
with `warnings.catch_warnings()` is neither thread-safe nor cheap; no pure-Python wrapper has
fewer than one frame).

Limits: ``wrapt``'s C extension must be in use (its pure-Python fallback, forced with
``WRAPT_DISABLE_EXTENSIONS``, adds a frame of its own); an integration's own wrapper written
elsewhere (rather than with `call_then()`) and the stream proxies' ``__next__`` are ordinary
frames, so a warning raised while iterating a stream names the SDK's stream proxy.

Everything else (starting and finishing the call, streams, raw responses) is in
`tracker.instrumentation._wrapper`; the wrappers call it before and after the library's method,
never around it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import wrapt

from tracker.export import _genai_spans as _stacked
from tracker.instrumentation._wrapper import Endpoint, _begin, _end, _enter, _fail, _leave
from tracker.recording import _framework
from tracker.recording._runtime import get_runtime

__all__ = ["Patcher", "call_then", "make_wrapper"]


class Patcher:
    """Records `wrapt` patches on class attributes so they can be undone exactly."""

    def __init__(self) -> None:
        self._patched: list[tuple[type, str, Any]] = []
        #: False once unpatched: wrappers still held by callers then call straight through.
        self.active = False

    def patch(self, module: str, target: str, wrapper: Callable[..., Any]) -> None:
        """Wrap ``module.target`` ("Class.method"); a missing target is skipped (older client)."""
        try:
            mod = importlib.import_module(module)
        except ImportError:
            return
        cls_name, _, attr = target.rpartition(".")
        owner: Any = mod
        for part in cls_name.split(".") if cls_name else ():
            owner = getattr(owner, part, None)
            if owner is None:
                return
        original = vars(owner).get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
        if original is None:
            return
        gate = getattr(wrapper, "_tracker_gate", None)
        if type(gate) is _Gate and gate.patcher is None:  # (a `make_wrapper()`: checks itself)
            gate.patcher = self
        else:
            wrapper = self._gated(wrapper)
        wrapt.wrap_function_wrapper(owner, attr, wrapper)
        self._patched.append((owner, attr, original))
        self.active = True
        _stacked.set_instrumented(module.split(".", 1)[0], True)

    def _gated(self, wrapper: Callable[..., Any]) -> Callable[..., Any]:
        """`wrapper`, calling straight through once unpatched.

        A caller may hold the patched function: a bound method cached by a framework before
        `uninstrument()`.
        """

        def gated(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> Any:
            if self.active:
                return wrapper(wrapped, instance, args, kwargs)
            return wrapped(*args, **kwargs)

        return gated

    def unpatch_all(self) -> None:
        """Put every original attribute back, newest first."""
        self.active = False
        while self._patched:
            owner, attr, original = self._patched.pop()
            _stacked.set_instrumented(getattr(owner, "__module__", "").split(".", 1)[0], False)
            setattr(owner, attr, original)


class _Gate:
    """The `Patcher` that patched a `make_wrapper()` wrapper, which checks it itself.

    The wrapper calls straight through once that patcher is unpatched, as `Patcher._gated`
    makes other wrappers do, without the frame of a second wrapper around it.
    """

    __slots__ = ("patcher",)

    def __init__(self) -> None:
        self.patcher: Patcher | None = None


def call_then(after: Callable[[Any, dict[str, Any], Any], Any]) -> Callable[..., Any]:
    """A `wrapt` wrapper calling the method, then returning ``after(instance, kwargs, result)``.

    For an integration that only post-processes what the method returns (a stream manager to
    proxy): its own code then runs outside the frames the library's warnings count.
    """

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Any:
        return after(instance, kwargs, wrapped(*args, **kwargs))

    return wrapper


def make_wrapper(endpoint: Endpoint, *, is_async: bool) -> Callable[..., Any]:
    """The `wrapt` wrapper recording one call of a provider method described by `endpoint`."""
    if endpoint.framework:
        return _framework_wrapper(endpoint, is_async=is_async)
    gate = _Gate()
    if is_async:

        async def async_wrapper(wrapped: Callable[..., Any], instance: Any,
                                args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            runtime = get_runtime()
            patcher = gate.patcher
            if not runtime.config.enabled or (patcher is not None and not patcher.active):
                return await wrapped(*args, **kwargs)
            call, kwargs = _begin(endpoint, runtime, instance, kwargs)
            entered = _enter(call) if _stacked.ACTIVE else None
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as exc:
                if entered is not None:
                    _leave(call, entered)
                _fail(call, exc)
                raise
            if entered is not None:
                _leave(call, entered)
            return _end(endpoint, call, result, kwargs, True)

        async_wrapper._tracker_gate = gate  # type: ignore[attr-defined]
        return async_wrapper

    def wrapper(wrapped: Callable[..., Any], instance: Any,
                args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        runtime = get_runtime()
        patcher = gate.patcher
        if not runtime.config.enabled or (patcher is not None and not patcher.active):
            return wrapped(*args, **kwargs)
        call, kwargs = _begin(endpoint, runtime, instance, kwargs)
        entered = _enter(call) if _stacked.ACTIVE else None
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            if entered is not None:
                _leave(call, entered)
            _fail(call, exc)
            raise
        if entered is not None:
            _leave(call, entered)
        return _end(endpoint, call, result, kwargs, False)

    wrapper._tracker_gate = gate  # type: ignore[attr-defined]
    return wrapper


def _framework_wrapper(endpoint: Endpoint, *, is_async: bool) -> Callable[..., Any]:
    """`make_wrapper()` for a framework call: the call inside it that was recorded wins."""
    if is_async:

        async def async_wrapper(wrapped: Callable[..., Any], instance: Any,
                                args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            runtime = get_runtime()
            if not runtime.config.enabled:
                return await wrapped(*args, **kwargs)
            call, kwargs = _begin(endpoint, runtime, instance, kwargs)  # (claims an outer frame)
            frame = _framework.open_frame()
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as exc:
                _framework.close_frame(frame)
                if not frame.claimed:
                    _fail(call, exc)
                raise
            _framework.close_frame(frame)
            return result if frame.claimed else _end(endpoint, call, result, kwargs, True)

        return async_wrapper

    def wrapper(wrapped: Callable[..., Any], instance: Any,
                args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        runtime = get_runtime()
        if not runtime.config.enabled:
            return wrapped(*args, **kwargs)
        call, kwargs = _begin(endpoint, runtime, instance, kwargs)
        frame = _framework.open_frame()
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            _framework.close_frame(frame)
            if not frame.claimed:
                _fail(call, exc)
            raise
        _framework.close_frame(frame)
        return result if frame.claimed else _end(endpoint, call, result, kwargs, False)

    return wrapper

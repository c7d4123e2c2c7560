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

Placement: the decorator also goes above ``@classmethod`` and ``@staticmethod`` (the result stays
a class/static method) and on callable objects (an object with ``async def __call__`` gets an
async wrapper). The span name of a ``functools.partial`` or a callable object is the underlying
function's ``__qualname__`` or the object's type name, never its ``repr`` (which may show
arguments: a prompt).

Blocks exited out of order (``with a: with b:``, then ``a`` exited first): exiting a block ends
its span and every block still open inside it, and makes the block's parent current again, so no
span stays open and no stale scope stays current.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

from tracker._internal_errors import report
from tracker.recording._decorate import wrap as _wrap
from tracker.recording._energy_scope import EnergyScope, _current, _open, current_scope

__all__ = ["EnergyScope", "TrackEnergy", "current_scope", "track_energy"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


# ----------------------------------------------------------------------------- public API


class TrackEnergy:
    """What ``track_energy(name, ...)`` returns: a decorator and a sync/async context manager."""

    __slots__ = ("_entered", "labels", "model", "name")

    def __init__(self, name: str | None, model: str | None,
                 labels: Mapping[str, Any] | None) -> None:
        self.name = name
        self.model = model
        self.labels = dict(labels) if labels else None
        #: Scopes entered with this object and not exited yet (the same object may be entered
        #: again, nested or from several threads and tasks).
        self._entered: list[EnergyScope] = []

    def __call__(self, func: Callable[_P, _R]) -> Callable[_P, _R]:
        """Decorate `func` (any kind: function, coroutine, generator, async generator)."""
        return _wrap(func, self.name, self.model, self.labels)

    def __enter__(self) -> EnergyScope:
        scope = _open(self.name or "track_energy", self.model, self.labels)
        if scope is None:
            return EnergyScope(self.name or "track_energy", model=self.model, labels=self.labels)
        scope._owner = self
        scope._tokens = scope._activate()
        self._entered.append(scope)
        return scope

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self._exit(exc)
        except Exception as err:
            report("scope.exit", err)

    def _exit(self, exc: BaseException | None) -> None:
        if not self._entered:
            return  # disabled, or the SDK failed to open the scope
        # The innermost scope of this object in the current chain; else (entered in another
        # context, or the current scope was reset by a generator) the last one it opened.
        chain: list[EnergyScope] = []
        scope = _current.get()
        while scope is not None and scope._owner is not self:
            chain.append(scope)
            scope = scope.parent
        in_chain = scope is not None
        if scope is None:
            scope = self._entered[-1]
            chain = []
        for inner in chain:  # blocks still open inside this one: end them now
            owner = inner._owner
            if isinstance(owner, TrackEnergy):
                _forget(owner, inner)
                inner._tokens = None
                inner._close(None)
        _forget(self, scope)
        tokens, scope._tokens = scope._tokens, None
        if in_chain and tokens is not None:
            try:  # restores what was current when the block was entered
                scope._deactivate(tokens)
            except Exception as err:
                report("scope.exit", err)
                _current.set(scope.parent)
        scope._close(exc)

    async def __aenter__(self) -> EnergyScope:
        return self.__enter__()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.__exit__(exc_type, exc, tb)


def _forget(owner: TrackEnergy, scope: EnergyScope) -> None:
    scope._owner = None
    with contextlib.suppress(ValueError):
        owner._entered.remove(scope)


def track_energy(func_or_name: Any = None, /, *, name: str | None = None,
                 model: str | None = None, labels: Mapping[str, Any] | None = None) -> Any:
    """A tracked function or block, without budgets (the public form: `tracker.reduce._track`)."""
    if isinstance(func_or_name, (classmethod, staticmethod)) or (
            callable(func_or_name) and not isinstance(func_or_name, str)):
        return _wrap(cast("Any", func_or_name), name, model, labels)
    return TrackEnergy(func_or_name if func_or_name is not None else name, model, labels)

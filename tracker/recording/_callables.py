"""What `track_energy` needs to know about the callable it decorates: its kind and a safe name.

A ``functools.partial`` is looked through to its function; a callable object (an instance whose
type defines ``__call__``) is named after its type and has the kind of its ``__call__``, so an
object with ``async def __call__`` gets an async wrapper. A name never comes from ``repr()``,
which for a partial or an object may show its arguments or state (a prompt).
"""

from __future__ import annotations

import functools
import inspect

__all__ = ["MAX_NAME", "kind_of", "name_of"]

#: Longest scope name taken from a function (a longer ``__qualname__`` is cut).
MAX_NAME = 256
_MAX_PARTIALS = 100


def _unpartial(func: object) -> object:
    seen = 0
    while isinstance(func, functools.partial) and seen < _MAX_PARTIALS:
        func, seen = func.func, seen + 1
    return func


def _stands_for_itself(func: object) -> bool:
    return (inspect.isfunction(func) or inspect.ismethod(func) or inspect.isbuiltin(func)
            or isinstance(func, type))


def kind_of(func: object) -> object:
    """What decides a callable's kind: a partial's function, or a callable object's ``__call__``.

    Functions, methods, built-ins and classes stand for themselves.
    """
    func = _unpartial(func)
    if _stands_for_itself(func):
        return func
    call = next((c.__dict__["__call__"] for c in type(func).__mro__ if "__call__" in c.__dict__),
                None)
    if isinstance(call, (staticmethod, classmethod)):
        call = call.__func__
    return call if call is not None else func


def name_of(func: object) -> str:
    """A scope name for `func`: its ``__qualname__``, or its type's; never its repr."""
    func = _unpartial(func)
    qualname = getattr(func, "__qualname__", None) if _stands_for_itself(func) else None
    if not isinstance(qualname, str) or not qualname:
        qualname = type(func).__qualname__  # a callable object: never attributes of the instance
    return qualname[:MAX_NAME]

"""The guard around SDK-side work: an SDK bug never breaks the host application.

`guard(site)` is a context manager and a decorator. An exception raised inside it is logged on the
``tracker.internal`` logger (WARNING the first time a given (site, exception type) pair fails,
DEBUG afterwards) and swallowed, unless strict mode is on (`configure(strict=True)`, meant for the
SDK's own tests), in which case it is logged with its traceback and re-raised.

Outside strict mode the log line names only the site and the exception's type: never its message
or traceback, which can carry data of the application (an exception raised by a response object's
property may quote the prompt). The SDK's own `TrackerError` messages are shown: they name a
field.

The caller's own exceptions never pass through a guard: the SDK guards only its own steps.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import ParamSpec, TypeVar

from tracker.exceptions import TrackerError

__all__ = ["guard", "guarded", "is_strict", "report", "set_strict"]

logger = logging.getLogger("tracker.internal")

_P = ParamSpec("_P")
_R = TypeVar("_R")

_strict = False
_seen: set[tuple[str, type[BaseException]]] = set()
_seen_lock = threading.Lock()


def set_strict(strict: bool) -> None:
    """Re-raise internal errors instead of logging them (set by `configure(strict=...)`)."""
    global _strict
    _strict = bool(strict)


def is_strict() -> bool:
    """Whether internal errors are currently re-raised."""
    return _strict


def report(site: str, exc: BaseException) -> None:
    """Log an internal error once per (site, type); re-raise it when strict.

    Call this from an ``except Exception`` block of SDK-side work.
    """
    key = (site, type(exc))
    with _seen_lock:
        first = key not in _seen
        if first:
            _seen.add(key)
    kind = type(exc).__qualname__
    if isinstance(exc, TrackerError):  # the SDK's own message (names a field), safe to show
        kind = f"{kind}: {exc}"
    try:
        if _strict and first:  # the SDK's own tests: full detail, then re-raised below
            logger.warning("llm-energy-tracker: internal error in %s: %s", site, kind,
                           exc_info=exc)
        elif first:
            logger.warning(
                "llm-energy-tracker: internal error in %s: %s (the application is unaffected; "
                "further %s errors here are logged at DEBUG)", site, kind, kind,
            )
        else:
            logger.debug("llm-energy-tracker: internal error in %s: %s", site, kind)
    except Exception:  # pragma: no cover - a broken logging handler must not escape either
        pass
    if _strict:
        raise exc


def reset_seen() -> None:
    """Forget which errors were logged (tests)."""
    with _seen_lock:
        _seen.clear()


class guard:
    """Context manager and decorator that swallows and logs SDK-side exceptions.

    As a decorator the wrapped function returns None when it fails (use `guarded` for another
    default).
    """

    __slots__ = ("site",)

    def __init__(self, site: str) -> None:
        self.site = site

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False
        report(self.site, exc)
        return True

    def __call__(self, func: Callable[_P, _R]) -> Callable[_P, _R | None]:
        """Decorate `func`: its SDK-side failures are reported and it returns None."""
        site = self.site

        @functools.wraps(func)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R | None:
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                report(site, exc)
                return None

        return wrapper


def guarded(site: str, default: _R) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Decorator: run the function under `guard(site)`, returning `default` if it fails."""

    def decorate(func: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(func)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                report(site, exc)
                return default

        return wrapper

    return decorate

"""Post-import hooks: call a function with a module once the application imports it.

What ``wrapt.register_post_import_hook`` does, as OpenTelemetry's and Sentry's instrumentations
use it, without importing `wrapt` at `configure()`: the `wrapt` package imports `asyncio` and
`importlib.metadata` (tens of milliseconds of start-up), and is needed only once a client library
is imported and patched. The mechanism is wrapt's (PEP 369 style): a finder first on
``sys.meta_path`` answers for the watched names only, finds the module's spec through the other
finders, and wraps its loader so the hooks run right after the module's code, in the importing
thread. A module already imported runs its hook at once. A namespace package has no loader and
never reports its import (watch a module inside it); reloading a module runs no hook.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from importlib.util import find_spec
from types import ModuleType
from typing import Any

__all__ = ["register_post_import_hook"]

Hook = Callable[[ModuleType], Any]

_lock = threading.RLock()
#: Module name -> hooks waiting for its import (dropped once they ran).
_hooks: dict[str, list[Hook]] = {}
_finder: _Finder | None = None


def register_post_import_hook(hook: Hook, name: str) -> None:
    """Call ``hook(module)`` when the module `name` is imported (now, if it already is)."""
    global _finder
    with _lock:
        module = sys.modules.get(name)
        if module is None:
            _hooks.setdefault(name, []).append(hook)
            if _finder is None:
                _finder = _Finder()
                sys.meta_path.insert(0, _finder)
    if module is not None:
        hook(module)


def _notify(module: ModuleType) -> None:
    with _lock:
        hooks = _hooks.pop(getattr(module, "__name__", None) or "", [])
    for hook in hooks:
        hook(module)


class _ChainedLoader:
    """The module's own loader, running the hooks once its code has run."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def _restore(self, module: ModuleType) -> None:
        """Show the module its own loader (`importlib.resources` and others read it)."""
        if getattr(module, "__loader__", None) in (None, self):
            with contextlib.suppress(AttributeError):  # a module that refuses attributes
                module.__loader__ = self._loader
        spec = getattr(module, "__spec__", None)
        if spec is not None and getattr(spec, "loader", None) is self:
            spec.loader = self._loader

    def create_module(self, spec: Any) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return None if create is None else create(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._restore(module)
        self._loader.exec_module(module)
        _notify(module)

    def load_module(self, fullname: str) -> ModuleType:
        module: ModuleType = self._loader.load_module(fullname)
        self._restore(module)
        _notify(module)
        return module


class _Finder:
    """First on ``sys.meta_path``: chains the loader of each watched module."""

    def __init__(self) -> None:
        self._in_progress: set[str] = set()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        with _lock:
            if fullname not in _hooks or fullname in self._in_progress:
                return None
            self._in_progress.add(fullname)
        try:
            spec = find_spec(fullname)  # the other finders (this one answers None meanwhile)
            loader = getattr(spec, "loader", None)
            if loader is not None and hasattr(loader, "exec_module") \
                    and not isinstance(loader, _ChainedLoader):
                spec.loader = _ChainedLoader(loader)  # type: ignore[union-attr]
            return spec
        finally:
            with _lock:
                self._in_progress.discard(fullname)

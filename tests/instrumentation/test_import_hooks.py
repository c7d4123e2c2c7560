"""Post-import hooks (`tracker.instrumentation._import_hooks`) on real modules in a temp dir."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tracker.instrumentation._import_hooks import register_post_import_hook


@pytest.fixture
def modules(tmp_path: Path) -> Iterator[Path]:
    """A directory on sys.path for throwaway modules, forgotten afterwards."""
    sys.path.insert(0, str(tmp_path))
    before = set(sys.modules)
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in set(sys.modules) - before:
            del sys.modules[name]
        importlib.invalidate_caches()


def test_hook_runs_once_after_the_module_code_with_its_own_loader(modules: Path) -> None:
    (modules / "hooked_lib_a.py").write_text("VALUE = 42\n")
    seen: list[tuple[int, object, object]] = []

    def hook(module: ModuleType) -> None:
        seen.append((module.VALUE, type(module.__loader__), type(module.__spec__.loader)))

    register_post_import_hook(hook, "hooked_lib_a")
    assert seen == []
    module = importlib.import_module("hooked_lib_a")
    loader_type = type(importlib.machinery.SourceFileLoader("x", "x"))
    assert seen == [(42, loader_type, loader_type)]
    importlib.reload(module)  # a reload runs no hook again
    assert len(seen) == 1


def test_already_imported_module_runs_the_hook_at_once(modules: Path) -> None:
    (modules / "hooked_lib_b.py").write_text("")
    module = importlib.import_module("hooked_lib_b")
    seen: list[ModuleType] = []
    register_post_import_hook(seen.append, "hooked_lib_b")
    assert seen == [module]


def test_submodule_hook_and_a_failing_import_leave_the_hook_waiting(modules: Path) -> None:
    package = modules / "hooked_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "client.py").write_text("raise ImportError('broken on purpose')\n")
    seen: list[str] = []
    register_post_import_hook(lambda m: seen.append(m.__name__), "hooked_pkg.client")
    with pytest.raises(ImportError, match="broken on purpose"):
        importlib.import_module("hooked_pkg.client")
    assert seen == []
    (package / "client.py").write_text("")
    sys.modules.pop("hooked_pkg.client", None)
    importlib.invalidate_caches()
    importlib.import_module("hooked_pkg.client")
    assert seen == ["hooked_pkg.client"]

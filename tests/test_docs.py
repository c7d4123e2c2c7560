"""The documentation site: reference pages generated from the code, `mkdocs build --strict`."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tracker import _attributes as A
from tracker.config._options import env_name, option_specs

ROOT = Path(__file__).resolve().parents[1]


def gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_docs", ROOT / "benchmarks" / "builders" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: The committed pages print the API price, from the price table of the `prices` extra
#: (genai-prices, Python 3.11 and later); without it the CLI page's examples print none.
PRICE_TABLE = importlib.util.find_spec("genai_prices") is not None


def test_committed_reference_pages_are_what_the_code_generates() -> None:
    stale = gen_docs().generate(check=True)
    if not PRICE_TABLE:
        stale = [name for name in stale if not name.endswith("cli.md")]
    assert stale == [], f"run: python -m benchmarks.builders.gen_docs (stale: {stale})"


def test_the_telemetry_page_lists_every_name_the_code_defines() -> None:
    page = gen_docs().telemetry_page()
    names = {k: v for k, v in vars(A).items() if k.isupper() and isinstance(v, str)}
    assert len(names) > 40
    for constant, value in names.items():
        assert f"| `{value}` | `{constant}` |" in page, constant
    assert "Energy namespace" in page and "Events and metrics" in page


def test_the_configuration_page_lists_every_option() -> None:
    page = gen_docs().configuration_page()
    for f, spec in option_specs():
        assert f"`{f.name}`" in page
        if spec.env:
            assert f"`{env_name(f.name)}`" in page


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    """The site builds with no warning (a copy of the tree: the hook rewrites generated pages)."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copytree(ROOT / "benchmarks" / "builders", tmp_path / "benchmarks" / "builders")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    for extra in ("README.md", "CHANGELOG.md"):
        if (ROOT / extra).exists():
            shutil.copy(ROOT / extra, tmp_path / extra)
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=False,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "site" / "configuration" / "index.html").exists()
    html = (tmp_path / "site" / "telemetry" / "index.html").read_text(encoding="utf-8")
    assert A.ENERGY_KWH in html and A.METRIC_CONSUMPTION in html

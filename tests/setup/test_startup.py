"""Start-up: `import tracker; tracker.configure()` loads only what the configuration uses.

Structural, not timed (the time is measured by ``benchmarks/speed/startup.py``): each case runs
in a fresh interpreter, in an environment with every extra installed, and lists which of the
heavy modules it imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Modules the default `configure()` must not import: the client libraries (patched when the
#: application imports them), what only pricing needs (pydantic and the registry's entry types,
#: loaded on the first priced call), the export code (loaded when something is exported), the
#: network stack (the live grid), the analytics engines, and what `wrapt` would bring
#: (asyncio, importlib.metadata: `wrapt` loads with the first integration patched).
HEAVY = (
    "openai", "anthropic", "google.genai", "mistralai", "cohere", "ollama", "botocore",
    "huggingface_hub", "litellm", "langchain_core", "agents", "pydantic_ai",
    "pydantic", "pydantic_core", "tracker.model._specs", "tracker.model._registry_file",
    "tracker.model._estimate", "tracker.export._providers", "tracker.export._prometheus",
    "opentelemetry.sdk", "requests", "urllib3", "tracker.grid._network", "duckdb", "pyarrow",
    "wrapt", "asyncio", "importlib.metadata", "email",
)


def _imported(code: str, tmp_path: Path, **env: str) -> list[str]:
    """The modules of `HEAVY` that `code` (run in a fresh interpreter) leaves imported."""
    script = f"import json, sys\n{code}\nprint(json.dumps([m for m in {HEAVY!r} " \
             "if m in sys.modules]))"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "OTEL_"))}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=tmp_path,
                         env={**base, "PYTHONPATH": str(ROOT), **env})
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_default_configure_imports_none_of_the_heavy_modules(tmp_path: Path) -> None:
    assert _imported("import tracker\ntracker.configure()", tmp_path) == []


def test_environment_configuration_without_export_or_grid_stays_light(tmp_path: Path) -> None:
    # options that need neither pricing at configure time nor any export or network code
    assert _imported("import tracker\ntracker.configure(labels={'team': 'a'}, strict=True)",
                     tmp_path, TRACKER_LEDGER="") == []


def test_what_is_used_is_loaded(tmp_path: Path) -> None:
    """The lazy parts still load when used: pricing at the first call or a configured
    deployment, `wrapt` with the first client library imported, the grid's network code."""
    first_call = ("import tracker\ntracker.configure()\n"
                  "tracker.record_usage('gpt-4o', input_tokens=10, output_tokens=5)")
    assert {"pydantic", "tracker.model._specs", "tracker.model._estimate"} <= set(
        _imported(first_call, tmp_path))
    deployment = "import tracker\ntracker.configure(region='FR', instrument=False)"
    assert "tracker.model._specs" in _imported(deployment, tmp_path)
    client = "import tracker\ntracker.configure()\nimport openai"
    assert {"openai", "wrapt"} <= set(_imported(client, tmp_path))
    grid = "import tracker\ntracker.configure(grid='uk', instrument=False)\ntracker.shutdown()"
    assert "tracker.grid._network" in _imported(grid, tmp_path)

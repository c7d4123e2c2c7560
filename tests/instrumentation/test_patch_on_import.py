"""Patch on import: `configure()` imports no client library; each is patched when imported.

Every order behaves as before: instrumenting before the application imports the library (the
post-import hook patches it), after (patched at once), and `uninstrument()` in between (the
waiting hook is cancelled). Each runs in a fresh interpreter, the only place a library is not
imported yet.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tracker.demo._server import DemoServer
from tracker.instrumentation._registry import INTEGRATIONS, LIBRARIES


def _python(code: str, tmp_path: Path) -> Any:
    """Run `code` in a fresh interpreter; it prints one JSON value, returned here."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "OTEL_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env["TRACKER_LEDGER"] = str(tmp_path / "ledger.jsonl")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _lines(tmp_path: Path) -> int:
    ledger = tmp_path / "ledger.jsonl"
    return len(ledger.read_text().splitlines()) if ledger.exists() else 0


def _installed() -> list[str]:
    found = []
    for name in INTEGRATIONS:
        try:
            spec = importlib.util.find_spec(LIBRARIES[name][-1])
        except ImportError:
            spec = None
        if spec is not None:
            found.append(name)
    return found


def test_configure_imports_no_client_library(tmp_path: Path) -> None:
    libraries = sorted({m for modules in LIBRARIES.values() for m in modules})
    seen = _python(f"""
        import json, sys, tracker
        tracker.configure(strict=True)
        print(json.dumps([m for m in {libraries!r} if m in sys.modules]))
        """, tmp_path)
    assert seen == []


_CALL = """
import json, openai, tracker
from tracker.instrumentation import _registry
client = openai.OpenAI(api_key="k", base_url={url!r}, max_retries=0)
client.chat.completions.create(model="gpt-4o", messages=[])
print(json.dumps(_registry.instrumented()))
"""


@pytest.mark.parametrize("order", ["before", "after", "uninstrument_between", "named"])
def test_every_order_records_as_before(demo_server: DemoServer, tmp_path: Path,
                                       order: str) -> None:
    url = demo_server.openai_base_url
    if order == "before":  # configured first: the import patches the library
        code = "import tracker\ntracker.configure(strict=True)\n" + _CALL.format(url=url)
    elif order == "after":  # the library first: configure() patches it at once
        code = "import openai, tracker\ntracker.configure(strict=True)\n" + _CALL.format(url=url)
    elif order == "uninstrument_between":  # the waiting hook is cancelled
        code = ("import tracker\ntracker.configure(strict=True)\ntracker.uninstrument()\n"
                + _CALL.format(url=url))
    else:  # named: imported and patched at once, as before
        code = ("import sys, tracker\ntracker.configure(strict=True, instrument=False)\n"
                "tracker.instrument('openai')\nassert 'openai' in sys.modules\n"
                + _CALL.format(url=url))
    active = _python(code, tmp_path)
    if order == "uninstrument_between":
        assert active == [] and _lines(tmp_path) == 0
    else:
        assert active == ["openai"] and _lines(tmp_path) == 1


def test_instrumented_again_after_uninstrument_patches_an_imported_library(
        demo_server: DemoServer, tmp_path: Path) -> None:
    code = ("import tracker\ntracker.configure(strict=True)\ntracker.uninstrument()\n"
            "import openai\ntracker.instrument()\n" + _CALL.format(url=demo_server.openai_base_url))
    assert _python(code, tmp_path) == ["openai"]
    assert _lines(tmp_path) == 1


@pytest.mark.parametrize("name", _installed())
def test_each_installed_library_is_patched_when_imported(name: str, tmp_path: Path) -> None:
    """Instrumented before the import, each integration is active once its library is in."""
    before = _python(f"""
        import importlib, json, tracker
        from tracker.instrumentation import _registry
        tracker.configure(strict=True)
        waiting = _registry.instrumented()
        importlib.import_module({LIBRARIES[name][0]!r})
        print(json.dumps([waiting, _registry.instrumented()]))
        """, tmp_path)
    assert before[0] == []
    assert name in before[1]

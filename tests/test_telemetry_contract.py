"""docs/telemetry.md against the code: every documented attribute and metric has an emitter.

The page lists each name with the constant of `tracker._attributes` that defines it. A name is
emitted when a module that writes telemetry (recording, export, instrumentation, reduce,
integrations) uses that constant; the modules that only *read* names (the reader of other
instrumentations' spans, the ledger reader, the CLI, the reports, the demo) do not count. A name
documented but set by no code path fails here, as `server.address` and the request parameters
once did.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "telemetry.md"
_ROW = re.compile(r"^\| `([^`]+)` \| `([A-Z][A-Z0-9_]*)` \|", re.MULTILINE)
#: Modules that read names (or define them) but emit nothing.
_READERS = ("tracker/_attributes.py", "tracker/export/_genai_spans.py",
            "tracker/export/_ledger_reader.py", "tracker/cli/", "tracker/render/",
            "tracker/demo/", "tracker/footprint/")
#: Constants that are not attribute or metric names (units, buckets, scope and logger names):
#: they are used where instruments, tracers and loggers are made.
_NOT_NAMES = re.compile(r"^(UNIT_|.*_BUCKETS$|INSTRUMENTATION_NAME$|REQUESTS_LOGGER$)")


def _documented() -> dict[str, str]:
    return {constant: name for name, constant in _ROW.findall(PAGE.read_text(encoding="utf-8"))}


def _used_by_emitters() -> set[str]:
    used: set[str] = set()
    files = [*ROOT.joinpath("tracker").rglob("*.py"), *ROOT.joinpath("integrations").glob("*.py")]
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(_READERS):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in ("A", "_attributes"):
                used.add(node.attr)
            elif isinstance(node, ast.ImportFrom) and node.module == "tracker._attributes":
                used.update(alias.name for alias in node.names)
    return used


def test_every_documented_name_is_emitted_by_some_code_path() -> None:
    documented = _documented()
    assert len(documented) > 60
    used = _used_by_emitters()
    missing = sorted(f"{name} ({constant})" for constant, name in documented.items()
                     if not _NOT_NAMES.match(constant) and constant not in used)
    assert missing == [], f"documented in docs/telemetry.md but emitted nowhere: {missing}"


def test_the_check_catches_a_name_nothing_emits() -> None:
    # The rule itself: a constant only the span reader uses counts as not emitted.
    assert "ENERGY_KWH" in _used_by_emitters()
    assert "NOT_A_CONSTANT_ANYWHERE" not in _used_by_emitters()
    assert _ROW.findall("| `server.port` | `SERVER_PORT` | x |") == [("server.port",
                                                                       "SERVER_PORT")]

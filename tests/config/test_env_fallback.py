"""The environment fallback keeps every valid setting and sets aside only the bad one.

Without `configure()` (the lazy default) and under ``opentelemetry-instrument`` (the SDK's
instrumentor), a ``TRACKER_*`` variable that fails to parse *or* to validate is logged by name and
ignored; ``TRACKER_ENABLED=false`` stays false, the labels stay, no ledger appears in the working
directory, and nothing raises into the application or the launcher.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import tracker

BAD = {  # variable -> a value that parses but fails validation, or fails to parse
    "TRACKER_REGION": "nowhere-at-all",
    "TRACKER_HARDWARE": "no-such-gpu",
    "TRACKER_PUE": "0.5",
    "TRACKER_PUE ": "abc",
    "TRACKER_LEDGER": "/no/such/directory/ledger.jsonl",
    "TRACKER_GRID_API_URL": "not a url",
    "TRACKER_OTLP_ENDPOINT": "http://collector host:4318",
    "TRACKER_BUDGETS": "1e999gCO2e/day",
    "TRACKER_WUE": "-1",
}


def _set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable.strip(), value)
    monkeypatch.setenv("TRACKER_LABELS", "team=search")
    monkeypatch.setenv("TRACKER_LEDGER", os.environ.get("TRACKER_LEDGER", "")
                       if variable == "TRACKER_LEDGER" else "auto")


@pytest.mark.parametrize("variable", list(BAD))
@pytest.mark.parametrize("enabled", ["false", "true"])
def test_lazy_default_sets_aside_only_the_bad_variable(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        variable: str, enabled: str) -> None:
    _set(monkeypatch, tmp_path, variable, BAD[variable])
    monkeypatch.setenv("TRACKER_ENABLED", enabled)
    config = tracker.get_config()
    assert config.enabled is (enabled == "true")
    assert dict(config.labels) == {"team": "search"}
    assert variable.strip() in caplog.text and "the other settings apply" in caplog.text
    tracker.record_usage("gpt-4o-mini", 10, 5)
    tracker.shutdown()
    written = list(tmp_path.iterdir())
    if enabled == "false" or variable == "TRACKER_LEDGER":
        assert written == []  # off means off; a bad path is not moved to the working directory


def test_several_bad_variables_each_set_aside(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    _set(monkeypatch, tmp_path, "TRACKER_REGION", "nowhere")
    monkeypatch.setenv("TRACKER_PUE", "0.2")
    monkeypatch.setenv("TRACKER_HARDWARE", "nope")
    monkeypatch.setenv("TRACKER_WUE", "0.4")
    config = tracker.get_config()
    assert config.region is None and config.pue is None and config.hardware is None
    assert config.wue == 0.4 and dict(config.labels) == {"team": "search"}


@pytest.fixture
def instrumentor() -> Any:
    pytest.importorskip("opentelemetry.instrumentation.instrumentor")
    from tracker.setup._otel_instrumentor import TrackerInstrumentor

    inst = TrackerInstrumentor()
    yield inst
    inst.uninstrument()


@pytest.mark.parametrize("variable", [*BAD, "TRACKER_INSTRUMENT"])
def test_instrumentor_never_raises_into_the_launcher(
        instrumentor: Any, otel: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        caplog: pytest.LogCaptureFixture, variable: str) -> None:
    _set(monkeypatch, tmp_path, variable, BAD.get(variable, "no-such-integration"))
    monkeypatch.setenv("TRACKER_ENABLED", "false")
    instrumentor.instrument(**otel.providers())  # the launcher's call: must not raise
    config = tracker.get_config()
    assert config.enabled is False and dict(config.labels) == {"team": "search"}
    assert variable.strip() in caplog.text

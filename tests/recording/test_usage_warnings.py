"""`record_usage()` warns once per unknown model and per sanitised count, never per call."""

from __future__ import annotations

import logging

import pytest

import tracker
from tests.conftest import Otel
from tracker.recording import _usage_warnings


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "tracker.usage" and r.levelno == logging.WARNING]


def test_an_unknown_model_is_named_once(configured: object,
                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="tracker.usage")
    for _ in range(5):
        est = tracker.record_usage("my-private-model-v3", 10, 20, provider="openai")
        assert est is not None and not est.model_known
    tracker.record_usage("another-unknown", 10, 20)
    tracker.record_usage("gpt-4o-mini", 10, 20, provider="openai")  # known: no warning
    messages = warnings_of(caplog)
    assert len(messages) == 2
    assert "'my-private-model-v3' is not in the registry" in messages[0]
    assert "'another-unknown'" in messages[1]


@pytest.mark.parametrize(("tokens", "problem"), [
    ({"input_tokens": -5}, "input_tokens is negative"),
    ({"output_tokens": 2.5}, "output_tokens is not an integer (float)"),
    ({"output_tokens": 10**15}, "output_tokens is larger than 10^12"),
    ({"input_tokens": "12"}, "input_tokens is not an integer (str)"),
])
def test_a_sanitised_count_is_named_once(configured: Otel, caplog: pytest.LogCaptureFixture,
                                         tokens: dict[str, object], problem: str) -> None:
    caplog.set_level(logging.WARNING, logger="tracker.usage")
    for _ in range(4):
        assert tracker.record_usage("gpt-4o-mini", **tokens) is not None  # type: ignore[arg-type]
    spans = configured.call_spans()
    assert len(spans) == 4
    assert all(s.attributes and s.attributes["energy.tokens_estimated"] for s in spans)
    messages = warnings_of(caplog)
    assert len(messages) == 1 and problem in messages[0], messages


def test_warnings_are_bounded(configured: object, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="tracker.usage")
    for i in range(_usage_warnings.MAX_WARNED * 3):
        tracker.record_usage(f"hostile-\x1b[31m-{i}", 1, 1)
    messages = warnings_of(caplog)
    assert len(messages) == _usage_warnings.MAX_WARNED + 1  # and one saying no more
    assert all("\x1b" not in m for m in messages)

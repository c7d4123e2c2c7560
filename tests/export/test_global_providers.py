"""The SDK follows the global providers, and emits nothing (no API call) when none is set.

- A tracer, meter or logger provider the application sets globally after `configure()`, or
  replaces, receives the next call's span, metrics and log record.
- With no provider (passed or global) and no ledger, a recorded call, through a real client,
  makes no OpenTelemetry API call at all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from opentelemetry import _logs, context, metrics, trace
from opentelemetry._logs import _internal as logs_internal
from opentelemetry.metrics import _internal as metrics_internal

import tracker
from tests.conftest import Otel
from tracker.demo._server import DemoServer
from tracker.export import _genai_spans


@pytest.fixture
def no_globals(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Otel], None]]:
    """Unset the API's global providers; the returned function sets (or replaces) all three."""
    def unset() -> None:
        monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
        monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", trace.Once())
        monkeypatch.setattr(metrics_internal, "_METER_PROVIDER", None)
        monkeypatch.setattr(metrics_internal, "_METER_PROVIDER_SET_ONCE", metrics_internal.Once())
        monkeypatch.setattr(logs_internal, "_LOGGER_PROVIDER", None)
        monkeypatch.setattr(logs_internal, "_LOGGER_PROVIDER_SET_ONCE", logs_internal.Once())

    def set_all(otel: Otel) -> None:
        unset()
        trace.set_tracer_provider(otel.tracer_provider)
        metrics.set_meter_provider(otel.meter_provider)
        _logs.set_logger_provider(otel.logger_provider)

    unset()
    # No span processor of the SDK in this process: an earlier test's turned the "never twice"
    # bookkeeping on, which reads the current span on every call by design.
    monkeypatch.setattr(_genai_spans, "ACTIVE", False)
    yield set_all


def _received(otel: Otel) -> tuple[int, int, float]:
    """(call spans, energy.request log records, calls counted by the token histogram)."""
    logs = [r for r in otel.logs() if r.event_name == "energy.request"]
    points = otel.metric_points("gen_ai.client.token.usage")
    return len(otel.call_spans()), len(logs), sum(p.count for p in points)


def test_a_provider_set_after_configure_then_replaced_receives_the_next_call(
        no_globals: Callable[[Otel], None]) -> None:
    first, second = Otel(), Otel()
    try:
        tracker.configure(strict=True, instrument=False, ledger=None)
        tracker.record_usage("gpt-4o", 3, 4, provider="openai")  # nothing set: nowhere
        no_globals(first)
        tracker.record_usage("gpt-4o", 3, 4, provider="openai")
        assert _received(first) == (1, 1, 2)
        no_globals(second)  # replaced (as a test harness, or a re-initialising app, does)
        tracker.record_usage("gpt-4o", 3, 4, provider="openai")
        with tracker.track_energy("scoped"):
            tracker.record_usage("gpt-4o", 3, 4, provider="openai")
        assert _received(first) == (1, 1, 2)
        assert _received(second) == (2, 2, 4)
        assert [s.name for s in second.spans()].count("scoped") == 1
    finally:
        first.shutdown()
        second.shutdown()


def test_providers_passed_to_configure_win_over_the_global_ones(
        no_globals: Callable[[Otel], None], otel: Otel) -> None:
    other = Otel()
    try:
        no_globals(other)
        tracker.configure(strict=True, instrument=False, ledger=None, **otel.providers())
        tracker.record_usage("gpt-4o", 3, 4, provider="openai")
        assert _received(otel) == (1, 1, 2)
        assert _received(other) == (0, 0, 0)
    finally:
        other.shutdown()


_API = [(trace, "get_current_span"), (trace, "set_span_in_context"), (trace, "get_tracer"),
        (trace, "get_tracer_provider"), (trace, "NonRecordingSpan"), (context, "get_current"),
        (context, "attach"), (metrics, "get_meter_provider"), (metrics, "get_meter"),
        (_logs, "get_logger_provider"), (_logs, "get_logger"), (_logs, "LogRecord")]


@pytest.fixture
def api_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call into the OpenTelemetry API entry points the SDK uses, by name."""
    seen: list[str] = []
    for module, name in _API:
        original = getattr(module, name)

        def counting(*args: Any, _original: Any = original, _name: str = name,
                     **kwargs: Any) -> Any:
            seen.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, functools.wraps(original)(counting))
    return seen


def test_no_provider_and_no_ledger_means_no_api_call(
        no_globals: Callable[[Otel], None], demo_server: DemoServer,
        api_calls: list[str]) -> None:
    tracker.configure(strict=True, instrument=False, ledger=None)
    tracker.instrument("openai")
    try:
        with openai.OpenAI(api_key="k", base_url=demo_server.openai_base_url,
                           max_retries=0) as client:
            api_calls.clear()
            client.chat.completions.create(model="gpt-4o", messages=[])
            list(client.chat.completions.create(model="gpt-4o", messages=[], stream=True,
                                                stream_options={"include_usage": True}))
            estimate = tracker.record_usage("gpt-4o", 3, 4, provider="openai")
    finally:
        tracker.uninstrument("openai")
    assert estimate is not None and estimate.energy_kwh > 0  # priced all the same
    assert api_calls == []


def test_the_counting_fixture_sees_the_calls_a_provider_makes(
        no_globals: Callable[[Otel], None], otel: Otel, api_calls: list[str]) -> None:
    """The test above is not vacuous: with a provider the same call goes through the API."""
    tracker.configure(strict=True, instrument=False, ledger=None, **otel.providers())
    api_calls.clear()
    tracker.record_usage("gpt-4o", 3, 4, provider="openai")
    assert "set_span_in_context" in api_calls

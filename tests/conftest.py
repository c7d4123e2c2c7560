"""Shared fixtures: real OpenTelemetry SDK providers with in-memory exporters, a configured SDK.

Reusable by every test module:

- `otel`: fresh TracerProvider / MeterProvider / LoggerProvider wired to in-memory exporters
  (synchronous processors, so data is readable right after the call). Helpers: `otel.spans()`,
  `otel.span(name)`, `otel.logs()` (SDK log records), `otel.metric_points(name)` (data points),
  `otel.metric_sum(name, **attrs)`.
- `configure_tracker(**overrides)`: calls `tracker.configure(strict=True, instrument=False,
  ledger=None, <the otel providers>, **overrides)` and returns the `otel` helper.
- `configured`: `configure_tracker()` with no overrides.

An autouse fixture clears every ``TRACKER_*`` and OTLP-exporter environment variable, disables
the default ledger (``TRACKER_LEDGER=""``, so no test writes ./llm-energy-ledger.jsonl), turns
strict mode on (``TRACKER_STRICT=true``: a swallowed SDK error fails the test) and calls
`tracker.reset()` after each test.

``TRACKER_TEST_PATCH_ON_IMPORT=1`` runs the suite in the other import order: `tracker.instrument()`
before the test modules import the client libraries (they are patched as they are imported).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracker

try:
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter as _LogExporter
except ImportError:  # opentelemetry-sdk < 1.39
    from opentelemetry.sdk._logs.export import InMemoryLogExporter as _LogExporter  # type: ignore


if os.environ.get("TRACKER_TEST_PATCH_ON_IMPORT") == "1":
    # The other import order: instrumented before any test module imports a client library, so
    # each library is patched by its post-import hook (the default run imports them first).
    tracker.instrument()


class Otel:
    """Real SDK providers and what they captured."""

    def __init__(self) -> None:
        self.span_exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.span_exporter))
        self.metric_reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.metric_reader])
        self.log_exporter = _LogExporter()
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.log_exporter))
        self.config: tracker.Config | None = None

    def providers(self) -> dict[str, Any]:
        return {"tracer_provider": self.tracer_provider, "meter_provider": self.meter_provider,
                "logger_provider": self.logger_provider}

    def spans(self) -> list[ReadableSpan]:
        return list(self.span_exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        found = [s for s in self.spans() if s.name == name]
        assert len(found) == 1, f"expected one span {name!r}, got {[s.name for s in self.spans()]}"
        return found[0]

    def call_spans(self) -> list[ReadableSpan]:
        from opentelemetry.trace import SpanKind

        return [s for s in self.spans() if s.kind == SpanKind.CLIENT]

    def logs(self) -> list[Any]:
        """The SDK LogRecords (``.attributes``, ``.event_name``, ``.trace_id``, ``.span_id``)."""
        return [r.log_record for r in self.log_exporter.get_finished_logs()]

    def metric_points(self, name: str) -> list[Any]:
        data = self.metric_reader.get_metrics_data()
        points: list[Any] = []
        if data is None:
            return points
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points

    def metric(self, name: str) -> Any:
        data = self.metric_reader.get_metrics_data()
        assert data is not None
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        return metric
        raise AssertionError(f"no metric {name!r}")

    def metric_sum(self, name: str, **attrs: Any) -> float:
        """Sum of a counter's points (or a histogram's sums) whose attributes include `attrs`."""
        total = 0.0
        for p in self.metric_points(name):
            if all(p.attributes.get(k) == v for k, v in attrs.items()):
                total += p.value if hasattr(p, "value") else p.sum
        return total

    def everything(self, ledger: Any = None) -> str:
        """Every span name and attribute, log attribute, metric and ledger line, as text."""
        import json

        spans = [s.name + json.dumps(dict(s.attributes or {}), default=str) for s in self.spans()]
        logs = [json.dumps(dict(r.attributes or {}), default=str) for r in self.logs()]
        data = self.metric_reader.get_metrics_data()
        text = ledger.read_text() if ledger is not None and ledger.exists() else ""
        return "\n".join([*spans, *logs, data.to_json() if data else "", text])

    def ledger_lines(self) -> list[dict[str, Any]]:
        """The lines of the ledger at ``self.ledger`` (set by the fixture that configured it)."""
        import json

        path = getattr(self, "ledger", None)
        if path is None or not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def assert_attributed(self, framework: str, run_name: str | None) -> None:
        """The one record (span, ``energy.request`` log record, ledger line) names the framework
        call; the metrics do not (their attribute sets stay bounded)."""
        (span,) = self.call_spans()
        (log,) = [r for r in self.logs() if r.event_name == "energy.request"]
        (line,) = self.ledger_lines()
        for attrs in (dict(span.attributes or {}), dict(log.attributes or {}), line):
            assert attrs["energy.framework"] == framework
            assert attrs.get("energy.framework.run_name") == run_name
        data = self.metric_reader.get_metrics_data()
        assert data is not None
        points = [p for rm in data.resource_metrics for sm in rm.scope_metrics
                  for m in sm.metrics for p in m.data.data_points]
        assert points
        assert not any(k.startswith("energy.framework") for p in points for k in p.attributes)

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
        self.logger_provider.shutdown()


@pytest.fixture(autouse=True)
def _tracker_isolation(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith(("TRACKER_", "OTEL_EXPORTER_OTLP", "OTEL_SERVICE_NAME")) or (
                key.startswith("OTEL_") and key.endswith("_EXPORTER")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TRACKER_LEDGER", "")
    # Strict mode everywhere (configure() without strict=, the lazy default, subprocesses):
    # an SDK error the guard would swallow fails the test. Tests of the lenient path say
    # strict=False (or delete the variable).
    monkeypatch.setenv("TRACKER_STRICT", "true")
    tracker.reset()
    yield
    tracker.reset()


@pytest.fixture
def otel() -> Iterator[Otel]:
    helper = Otel()
    yield helper
    helper.shutdown()


@pytest.fixture
def configure_tracker(otel: Otel) -> Callable[..., Otel]:
    def configure(**overrides: Any) -> Otel:
        options: dict[str, Any] = {"strict": True, "instrument": False, "ledger": None,
                                   **otel.providers()}
        options.update(overrides)
        otel.config = tracker.configure(**options)
        return otel

    return configure


@pytest.fixture
def configured(configure_tracker: Callable[..., Otel]) -> Otel:
    return configure_tracker()


@pytest.fixture(scope="session")
def demo_server() -> Iterator[Any]:
    """The bundled local server speaking every provider's protocol (one per test session)."""
    from tracker.demo._server import DemoServer

    with DemoServer() as server:
        yield server


@pytest.fixture
def provider_otel(configure_tracker: Callable[..., Otel], tmp_path: Any,
                  request: pytest.FixtureRequest) -> Iterator[Otel]:
    """The SDK configured with a ledger (``otel.ledger``) and the test module's `INTEGRATION`
    instrumented; uninstrumented afterwards."""
    ledger = tmp_path / "ledger.jsonl"
    otel = configure_tracker(ledger=str(ledger))
    otel.ledger = ledger  # type: ignore[attr-defined]
    name = request.module.INTEGRATION
    tracker.instrument(name)
    yield otel
    tracker.uninstrument(name)


@pytest.fixture(scope="module")
def rotel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real OpenTelemetry collector (rotel) for the module's tests (tests/_rotel.py)."""
    from tests._rotel import rotel_binary, start_rotel

    if rotel_binary() is None:
        pytest.skip("rotel is not installed: pip install rotel==0.0.1a15")
    with start_rotel(tmp_path_factory.mktemp("rotel")) as collector:
        yield collector

"""Testing helpers for applications: capture what the SDK emits, in memory, inside your tests.

```python
from tracker.testing import capture

def test_my_feature_prices_its_llm_calls():
    with capture() as emitted:
        my_feature()                      # calls an instrumented client
    assert len(emitted.calls) == 1
    assert emitted.calls[0].attributes["energy.kwh"] > 0
    assert emitted.total("energy.consumption") > 0
```

`capture()` configures the SDK on real OpenTelemetry SDK providers wired to in-memory exporters
(synchronous processors: everything is readable as soon as the call returns), with no ledger, and
resets the SDK when the block ends. Keyword arguments are `tracker.configure()` options.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

try:
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter as _LogExporter
except ImportError:  # opentelemetry-sdk < 1.39
    from opentelemetry.sdk._logs.export import (  # type: ignore[attr-defined,no-redef,unused-ignore]
        InMemoryLogExporter as _LogExporter,
    )

from tracker import _attributes as A
from tracker.instrumentation._registry import instrumented, uninstrument
from tracker.recording._runtime import reset
from tracker.setup._configure import configure

__all__ = ["Captured", "capture"]


@dataclass
class Captured:
    """What the SDK emitted inside a `capture()` block."""

    span_exporter: InMemorySpanExporter = field(default_factory=InMemorySpanExporter)
    log_exporter: Any = field(default_factory=_LogExporter)
    metric_reader: InMemoryMetricReader = field(default_factory=InMemoryMetricReader)

    @property
    def spans(self) -> list[ReadableSpan]:
        """Every finished span (LLM calls and tracked functions)."""
        return list(self.span_exporter.get_finished_spans())

    @property
    def calls(self) -> list[ReadableSpan]:
        """The CLIENT spans: one per LLM call."""
        return [s for s in self.spans if s.kind == SpanKind.CLIENT]

    @property
    def records(self) -> list[dict[str, Any]]:
        """The attributes of every ``energy.request`` log record (one per LLM call)."""
        out = []
        for item in self.log_exporter.get_finished_logs():
            record = item.log_record
            if getattr(record, "event_name", None) in (None, A.EVENT_REQUEST):
                out.append(dict(record.attributes or {}))
        return out

    def points(self, metric: str) -> list[Any]:
        """The data points of one metric (``energy.consumption``, ...)."""
        data = self.metric_reader.get_metrics_data()
        found: list[Any] = []
        for rm in data.resource_metrics if data is not None else ():
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name == metric:
                        found.extend(m.data.data_points)
        return found

    def total(self, metric: str) -> float:
        """The sum of a counter (or of a histogram's recorded values) over all attributes."""
        return float(sum(p.value if hasattr(p, "value") else p.sum for p in self.points(metric)))


@contextmanager
def capture(**options: Any) -> Iterator[Captured]:
    """Configure the SDK on in-memory providers for the block, then reset it.

    Client libraries the block's configuration instrumented are uninstrumented at its end.
    """
    captured = Captured()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(captured.span_exporter))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(captured.log_exporter))
    meter_provider = MeterProvider(metric_readers=[captured.metric_reader])
    settings: dict[str, Any] = {"ledger": None, **options,
                                "tracer_provider": tracer_provider,
                                "meter_provider": meter_provider,
                                "logger_provider": logger_provider}
    before = set(instrumented())
    configure(**settings)
    try:
        yield captured
    finally:
        # The client libraries the block's configure() instrumented are put back, so calls
        # after the block are not recorded by a configuration that no longer exists.
        added = set(instrumented()) - before
        if added:
            uninstrument(*sorted(added))
        reset()
        tracer_provider.shutdown()
        logger_provider.shutdown()
        meter_provider.shutdown()

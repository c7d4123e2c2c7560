"""Added time of @track_energy and of one record_usage(), against a bare OpenTelemetry span.

All cases run in the same process against the same real SDK providers (spans to a no-op exporter
through a SimpleSpanProcessor, an in-memory metric reader, logs to a no-op exporter; no ledger).
Cases are interleaved: each repetition runs every case once for `--n` iterations, and the
reported figure is the median over repetitions of the per-iteration time.

    python -m benchmarks.speed.tracking_overhead [--reps 15] [--n 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

import tracker

try:
    from opentelemetry.sdk._logs.export import LogRecordExporter as _LogExporterBase
    from opentelemetry.sdk._logs.export import LogRecordExportResult as _LogResult
except ImportError:  # older SDKs
    from opentelemetry.sdk._logs.export import LogExporter as _LogExporterBase  # type: ignore
    from opentelemetry.sdk._logs.export import LogExportResult as _LogResult  # type: ignore


class NullSpanExporter(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class NullLogExporter(_LogExporterBase):  # type: ignore[misc]
    def export(self, batch: Any) -> Any:
        return _LogResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _time(func: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        func()
    return (time.perf_counter() - start) / n


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args(argv)

    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(NullSpanExporter()))
    mp = MeterProvider(metric_readers=[InMemoryMetricReader()])
    lp = LoggerProvider()
    lp.add_log_record_processor(SimpleLogRecordProcessor(NullLogExporter()))
    tracker.configure(tracer_provider=tp, meter_provider=mp, logger_provider=lp, ledger=None,
                      instrument=False)
    tracer = tp.get_tracer("bench")

    def empty() -> None:
        return None

    tracked = tracker.track_energy(empty)

    def bare_span() -> None:
        with tracer.start_as_current_span("chat gpt-4o"):
            pass

    def one_record() -> None:
        tracker.record_usage("gpt-4o", 500, 200, provider="openai")

    cases: dict[str, Callable[[], Any]] = {
        "empty function": empty, "@track_energy(empty)": tracked,
        "bare OTel span": bare_span, "record_usage()": one_record,
    }
    for func in cases.values():  # warm caches (pricer built once here)
        _time(func, 200)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.reps):
        for name, func in cases.items():
            samples[name].append(_time(func, args.n))
    med = {name: statistics.median(values) for name, values in samples.items()}
    span = med["bare OTel span"]
    decorator = med["@track_energy(empty)"] - med["empty function"]
    record = med["record_usage()"]
    print(f"median of {args.reps} interleaved repetitions x {args.n} iterations (microseconds)")
    for name, value in med.items():
        print(f"  {name:<24} {value * 1e6:9.2f} us")
    print(f"added by @track_energy:   {decorator * 1e6:9.2f} us  "
          f"= {decorator / span:.2f} x a bare OTel span")
    print(f"one record_usage():       {record * 1e6:9.2f} us  "
          f"= {record / span:.2f} x a bare OTel span")
    tracker.reset()
    tp.shutdown()
    mp.shutdown()
    lp.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Added time per LLM call: this SDK against the OpenTelemetry contrib instrumentation, EcoLogits.

Every instrumentation is measured on the same OpenAI client call against an in-process
``httpx.MockTransport`` (no network): a plain chat completion and a streamed one (50 content
chunks, then the usage chunk), each sync and async. Each instrumentation runs in its own worker
process with real OpenTelemetry SDK providers behind batching processors and exporters that drop
everything (BatchSpanProcessor, BatchLogRecordProcessor, PeriodicExportingMetricReader), and
measures the bare client in the same process by swapping the patched methods in and out. The
peers run in their own virtual environment (created on first use, pinned to the same openai and
httpx as this one, so the bare client is the same code). Repetitions are interleaved: each round
runs every case in every worker, bare and instrumented back to back in alternating order, and the
figure reported is the median over rounds of (instrumented - bare). Time is the CPU time of the
worker process, all threads included (the exporters' too), which other load on the machine
disturbs far less than elapsed time; ``--clock wall`` measures elapsed time instead.

``--clock instructions`` counts instructions instead of time: every (worker, case) runs as one
process under valgrind's callgrind, in which bare and instrumented blocks of calls alternate
(five rounds, the order flipping every round) and each block is counted on its own; only what
the calling thread executes inside the calls and each block's flush counts (not start-up or
warm-up), with the garbage collector and hash randomisation off. The figure is the median over
rounds of (instrumented - bare). Unlike time, it does not move with other load on the machine,
so it settles differences that time on a shared virtual machine cannot (there, runs
of the time table can differ by 30 % or more); it does not see cache misses, which time does.

A reference worker, "OTel SDK alone, our signals", emits exactly the telemetry this SDK emits per
call, from a bare wrapper with no tracker code on the call's path: at start-up it lets the tracker
instrument one plain and one streamed call (in-memory providers), captures the span (name, kind,
attributes), the log record (attributes, body, event name, severity), every histogram point
(instrument, unit, boundaries, attributes) and the energy counters' observations, uninstruments
it, and then replays those, prebuilt, through the bare OpenTelemetry SDK on every call (a
streamed call through a one-step generator, the least that sees the first chunk, emitting when
it ends). So the floor counts whatever a release adds, and cannot drift from it
(tests/test_overhead_floor.py compares both workers' signals); it is what any OpenTelemetry-based
instrumentation with these signals pays. "ours above the SDK alone" is what the tracker's own
code adds on top. ``BENCH_FLOOR_SIGNALS=span,metrics`` (any of span, log, metrics) makes that
worker emit only those signals: what a lighter contract would cost. ``--shapes WORKER`` prints
what a worker emits per call of each case (names, attribute names and types), as JSON.

Also: `@track_energy` on an empty function against a bare OpenTelemetry span, and the time of
``import tracker`` against ``import opentelemetry.sdk.trace`` (fresh interpreters, best of N).

    python -m benchmarks.speed.overhead [--rounds 31] [--peers contrib,ecologits] [--peers-venv DIR]
                                  [--no-peers] [--no-floor] [--clock cpu|wall|instructions]
                                  [--jobs N] [--json FILE]

Peers: ``contrib`` = opentelemetry-instrumentation-openai-v2, ``ecologits`` = EcoLogits,
``openllmetry`` = opentelemetry-instrumentation-openai (Traceloop; opt-in). The contrib
instrumentation runs with OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT=true, so it too emits a span, a
per-request log record (its operation-details event, no message content) and metrics; EcoLogits
emits no telemetry by default. The virtual environment defaults to
``~/.cache/llm-energy-tracker/bench-peers-venv``. A peer pip cannot install is reported as such
and skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MODEL = "gpt-4o-mini"
CHUNKS = 50
PEER_SPECS: dict[str, list[str]] = {
    # 2.4b0 imports opentelemetry.util.genai.instruments, which util-genai 1.2b0 renamed.
    "contrib": ["opentelemetry-instrumentation-openai-v2==2.4b0",
                "opentelemetry-util-genai==1.1b0"],
    "ecologits": ["ecologits==0.11.3"],
    "openllmetry": ["opentelemetry-instrumentation-openai==0.62.4"],
}
LABELS = {
    "ours": "llm-energy-tracker",
    "floor": "OTel SDK alone, our signals",
    "contrib": "OTel contrib openai-v2 2.4b0",
    "ecologits": "EcoLogits 0.11.3",
    "openllmetry": "OpenLLMetry openai 0.62.4",
}
CASES = ("plain sync", "plain async", f"stream{CHUNKS} sync", f"stream{CHUNKS} async")


# ============================================================================ worker side


def _responses() -> tuple[bytes, bytes]:
    """The canned plain and streamed (SSE) chat completion bodies."""
    words = [f"word{i} " for i in range(CHUNKS)]
    plain = {
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1_700_000_000,
        "model": f"{MODEL}-2024-07-18", "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": "".join(words)}}],
        "usage": {"prompt_tokens": 25, "completion_tokens": CHUNKS, "total_tokens": 25 + CHUNKS},
    }
    events = []
    for i, word in enumerate(words):
        chunk = {"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                 "created": 1_700_000_000, "model": f"{MODEL}-2024-07-18",
                 "system_fingerprint": "fp_bench", "usage": None,
                 "choices": [{"index": 0, "logprobs": None,
                              "finish_reason": "stop" if i == CHUNKS - 1 else None,
                              "delta": {"role": "assistant", "content": word} if i == 0
                              else {"content": word}}]}
        events.append(chunk)
    events.append({"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                   "created": 1_700_000_000, "model": f"{MODEL}-2024-07-18", "choices": [],
                   "usage": {"prompt_tokens": 25, "completion_tokens": CHUNKS,
                             "total_tokens": 25 + CHUNKS}})
    sse = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return json.dumps(plain).encode(), sse.encode()


class _Counting:
    """What the null exporters dropped (to show which signals each instrumentation emits)."""

    spans = 0
    logs = 0
    metrics: set[str] = set()  # noqa: RUF012


def _providers(hold: bool = False) -> dict[str, Any]:
    """Real SDK providers, batching, with exporters that count and drop; set globally too.

    `hold`: the batching processors and the metric reader export only when flushed (no timer, a
    queue larger than any run), so work done by their threads is proportional to the calls
    rather than to elapsed time, which callgrind stretches fifty-fold.
    """
    from opentelemetry import _logs, metrics, trace
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        MetricExporter,
        MetricExportResult,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    try:
        from opentelemetry.sdk._logs.export import LogRecordExporter as LogBase
        from opentelemetry.sdk._logs.export import LogRecordExportResult as LogResult
    except ImportError:  # older SDKs
        from opentelemetry.sdk._logs.export import LogExporter as LogBase  # type: ignore
        from opentelemetry.sdk._logs.export import LogExportResult as LogResult  # type: ignore

    class NullSpans(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            _Counting.spans += len(spans)
            return SpanExportResult.SUCCESS

    class NullLogs(LogBase):  # type: ignore[misc,valid-type]
        def export(self, batch: Any) -> Any:
            _Counting.logs += len(batch)
            return LogResult.SUCCESS

        def shutdown(self) -> None:
            pass

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return True

    class NullMetrics(MetricExporter):
        def export(self, metrics_data: Any, timeout_millis: float = 10_000,
                   **kwargs: Any) -> MetricExportResult:
            for rm in metrics_data.resource_metrics:
                for sm in rm.scope_metrics:
                    _Counting.metrics.update(m.name for m in sm.metrics)
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            pass

    tp = TracerProvider()
    batch: dict[str, Any] = ({"schedule_delay_millis": 3_600_000, "max_queue_size": 100_000,
                              "max_export_batch_size": 100_000} if hold else {})
    tp.add_span_processor(BatchSpanProcessor(NullSpans(), **batch))
    reader = PeriodicExportingMetricReader(
        NullMetrics(), export_interval_millis=3_600_000 if hold else 5_000)
    mp = MeterProvider(metric_readers=[reader])
    lp = LoggerProvider()
    lp.add_log_record_processor(BatchLogRecordProcessor(NullLogs(), **batch))
    trace.set_tracer_provider(tp)
    metrics.set_meter_provider(mp)
    _logs.set_logger_provider(lp)
    return {"tracer_provider": tp, "meter_provider": mp, "logger_provider": lp}


def _patch_points() -> list[tuple[type, str]]:
    import openai.resources.chat.completions as chat

    points = []
    for cls in (chat.Completions, chat.AsyncCompletions):
        points.extend((cls, name) for name in list(vars(cls)) if not name.startswith("__"))
    return points


class Toggle:
    """Swaps an instrumentation's patched methods in and out (the bare client in between)."""

    def __init__(self, instrument: Callable[[], Any]) -> None:
        points = _patch_points()
        before = {p: vars(p[0]).get(p[1]) for p in points}
        instrument()
        self.patched = {p: vars(p[0]).get(p[1]) for p in points if vars(p[0]).get(p[1])
                        is not before[p]}
        self.original = {p: before[p] for p in self.patched}
        if not self.patched:
            raise RuntimeError("the instrumentation patched no chat completion method")

    def set(self, on: bool) -> None:
        for (cls, name), value in (self.patched if on else self.original).items():
            setattr(cls, name, value)


def _recorders() -> tuple[dict[str, Any], Callable[[], dict[str, Any]]]:
    """Providers (not global) with in-memory exporters, and a function returning what they got.

    What they got: ``{"spans": [...], "logs": [...], "metrics": [...]}``, each span as (name,
    kind, attributes), each log record as (attributes, body, event name, severity text and
    number), each metric point as (instrument name, kind, unit, bucket boundaries, attributes,
    value); histograms only count points recorded since the last collection.
    """
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    try:
        from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter as MemoryLogs
    except ImportError:  # older SDKs
        from opentelemetry.sdk._logs.export import InMemoryLogExporter as MemoryLogs  # type: ignore

    spans, logs, reader = InMemorySpanExporter(), MemoryLogs(), InMemoryMetricReader()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(spans))
    lp = LoggerProvider()
    lp.add_log_record_processor(SimpleLogRecordProcessor(logs))
    mp = MeterProvider(metric_readers=[reader])
    seen: dict[tuple[Any, ...], int] = {}  # histogram point -> count at the last collection

    def collect() -> dict[str, Any]:
        got: dict[str, Any] = {
            "spans": [(s.name, s.kind, dict(s.attributes or {}))
                      for s in spans.get_finished_spans()],
            "logs": [(dict(r.log_record.attributes or {}), r.log_record.body,
                      getattr(r.log_record, "event_name", None), r.log_record.severity_text,
                      r.log_record.severity_number) for r in logs.get_finished_logs()],
            "metrics": []}
        spans.clear()
        logs.clear()
        data = reader.get_metrics_data()
        for rm in data.resource_metrics if data is not None else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    for point in metric.data.data_points:
                        attrs = dict(point.attributes or {})
                        if isinstance(point, HistogramDataPoint):
                            key = (metric.name, tuple(sorted(attrs.items())))
                            if point.count == seen.get(key, 0):
                                continue
                            seen[key] = point.count
                            got["metrics"].append((metric.name, "histogram", metric.unit,
                                                   tuple(point.explicit_bounds), attrs,
                                                   point.max))
                        else:
                            got["metrics"].append((metric.name, "observable", metric.unit, (),
                                                   attrs, point.value))
        return got

    return {"tracer_provider": tp, "meter_provider": mp, "logger_provider": lp}, collect


def capture_ours() -> dict[str, dict[str, Any]]:
    """What this SDK emits for one plain and one streamed call, by case kind ("plain", "stream").

    The tracker instruments the client through in-memory providers for one call of each kind, and
    is then put back as it was (uninstrumented, its configuration forgotten).
    """
    import tracker

    got: dict[str, dict[str, Any]] = {}
    for kind in ("plain", "stream"):
        recorders, collect = _recorders()
        tracker.configure(**recorders, ledger=None, instrument=False)
        tracker.instrument("openai")
        try:
            client, _aclient, messages, stream_kw = _clients()
            if kind == "plain":
                client.chat.completions.create(model=MODEL, messages=messages)
            else:
                for _chunk in client.chat.completions.create(model=MODEL, messages=messages,
                                                             **stream_kw):
                    pass
            got[kind] = collect()
        finally:
            tracker.uninstrument("openai")
            tracker.reset()
    return got


def _floor(providers: dict[str, Any]) -> None:
    """The OpenTelemetry SDK work alone that our signals need, with no tracker code at all.

    The signals are those this SDK emits, captured from one real instrumented call of each kind
    in this process (`capture_ours`): the CLIENT span with the same name and attributes, the log
    record with the same attributes and event name, every histogram point with the same
    attributes, and the energy counters' observations; replayed, prebuilt, through the bare SDK.
    So the floor counts whatever attributes a release adds. A streamed call is passed through a
    generator (one step and one check per chunk: the least that sees the first chunk's time) and
    emitted when it ends. What remains above this line is the SDK's own code.
    """
    import openai.resources.chat.completions as chat
    import wrapt
    from opentelemetry import _logs, trace
    from opentelemetry.metrics import Observation

    captured = capture_ours()
    tracer = providers["tracer_provider"].get_tracer("floor")
    logger = providers["logger_provider"].get_logger("floor")
    meter = providers["meter_provider"].get_meter("floor")
    # What-if knob (not used by default): BENCH_FLOOR_SIGNALS=span,metrics drops the log record.
    kinds = set(os.environ.get("BENCH_FLOOR_SIGNALS", "span,log,metrics").split(","))
    histograms: dict[str, Any] = {}
    observed: dict[str, list[Any]] = {}
    plans: dict[str, Callable[[int, float, float | None], None]] = {}
    for case_kind, got in captured.items():
        (name, kind, span_attrs), = got["spans"]
        (log_attrs, body, event_name, severity_text, severity_number), = got["logs"]
        points = []
        for metric, mkind, unit, bounds, attrs, value in got["metrics"]:
            if mkind == "histogram":
                if metric not in histograms:
                    histograms[metric] = meter.create_histogram(
                        metric, unit=unit, explicit_bucket_boundaries_advisory=list(bounds))
                # The durations are measured; token counts are replayed as they were.
                points.append((histograms[metric], value if isinstance(value, int) else None,
                               attrs))
            elif case_kind == "plain":  # the energy counters, observed once per collection
                observed.setdefault(metric, [unit]).append(Observation(value, attrs))
        points_t = tuple(points)

        def signals(start_ns: int, t0: float, first: float | None, name: str = name,
                    kind: Any = kind, span_attrs: dict[str, Any] = span_attrs,
                    log_attrs: dict[str, Any] = log_attrs, body: Any = body,
                    event_name: Any = event_name, severity_text: Any = severity_text,
                    severity_number: Any = severity_number,
                    points: tuple[Any, ...] = points_t) -> None:
            span = None
            if "span" in kinds:
                span = tracer.start_span(name, kind=kind, attributes=span_attrs,
                                         start_time=start_ns)
                span.end()
            if "log" in kinds:
                logger.emit(_logs.LogRecord(
                    timestamp=time.time_ns(),
                    context=trace.set_span_in_context(span) if span is not None else None,
                    severity_text=severity_text, severity_number=severity_number,
                    attributes=log_attrs, body=body, event_name=event_name))
            if "metrics" in kinds:
                elapsed = time.perf_counter() - t0
                for instrument, value, attrs in points:
                    instrument.record(value if value is not None else (
                        first - t0 if first is not None and "chunk" in instrument.name
                        else elapsed), attrs)

        plans[case_kind] = signals
    if "metrics" in kinds:
        for metric, (unit, *observations) in observed.items():
            meter.create_observable_counter(
                metric, unit=unit, callbacks=[lambda _options, obs=tuple(observations): obs])
    plain, streamed = plans["plain"], plans["stream"]

    def chunks(stream: Any, start_ns: int, t0: float) -> Any:
        first = None
        for chunk in stream:
            if first is None:
                first = time.perf_counter()
            yield chunk
        streamed(start_ns, t0, first)

    async def achunks(stream: Any, start_ns: int, t0: float) -> Any:
        first = None
        async for chunk in stream:
            if first is None:
                first = time.perf_counter()
            yield chunk
        streamed(start_ns, t0, first)

    def emit(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        start_ns, t0 = time.time_ns(), time.perf_counter()
        result = wrapped(*args, **kwargs)
        if kwargs.get("stream"):
            return chunks(result, start_ns, t0)
        plain(start_ns, t0, None)
        return result

    async def emit_async(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        start_ns, t0 = time.time_ns(), time.perf_counter()
        result = await wrapped(*args, **kwargs)
        if kwargs.get("stream"):
            return achunks(result, start_ns, t0)
        plain(start_ns, t0, None)
        return result

    wrapt.wrap_function_wrapper(chat.Completions, "create", emit)
    wrapt.wrap_function_wrapper(chat.AsyncCompletions, "create", emit_async)


def _instrumentation(name: str, providers: dict[str, Any]) -> Callable[[], Any]:
    if name == "ours":
        import tracker

        def ours() -> None:
            tracker.configure(**providers, ledger=None, instrument=False)
            tracker.instrument("openai")

        return ours
    if name == "floor":
        return lambda: _floor(providers)
    if name == "contrib":
        # Its per-request log record (the gen_ai.client.inference.operation.details event, no
        # message content): the same three signals as ours.
        os.environ["OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT"] = "true"
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        return lambda: OpenAIInstrumentor().instrument(**providers)
    if name == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as Traceloop

        return lambda: Traceloop().instrument(**providers)
    if name == "ecologits":
        from ecologits import EcoLogits

        return lambda: EcoLogits.init(providers=["openai"])
    raise SystemExit(f"unknown worker {name!r}")


def _clients() -> tuple[Any, Any, list[dict[str, str]], dict[str, Any]]:
    """Sync and async OpenAI clients on a mock transport, the messages and the stream options."""
    import httpx
    import openai

    plain_body, stream_body = _responses()

    def handler(request: httpx.Request) -> httpx.Response:
        if b'"stream":true' in request.content.replace(b" ", b""):
            return httpx.Response(200, content=stream_body,
                                  headers={"content-type": "text/event-stream"})
        return httpx.Response(200, content=plain_body,
                              headers={"content-type": "application/json"})

    client = openai.OpenAI(api_key="sk-bench", base_url="http://bench.invalid/v1", max_retries=0,
                           http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    aclient = openai.AsyncOpenAI(
        api_key="sk-bench", base_url="http://bench.invalid/v1", max_retries=0,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    messages = [{"role": "user", "content": "Say hello in fifty words."}]
    stream_kw: dict[str, Any] = {"stream": True, "stream_options": {"include_usage": True}}
    return client, aclient, messages, stream_kw


def _setup(name: str, hold: bool = False, providers: dict[str, Any] | None = None,
           ) -> tuple[Toggle, dict[str, Any], dict[str, Callable[[int], None]]]:
    """Providers, the instrumentation toggle and one runner per case (client on a mock).

    `providers`: these instead of the dropping ones (`_providers`), not set globally.
    """
    if providers is None:
        providers = _providers(hold)
    toggle = Toggle(_instrumentation(name, providers))
    client, aclient, messages, stream_kw = _clients()
    loop = asyncio.new_event_loop()

    def plain_sync(n: int) -> None:
        for _ in range(n):
            client.chat.completions.create(model=MODEL, messages=messages)  # type: ignore

    def stream_sync(n: int) -> None:
        for _ in range(n):
            for _chunk in client.chat.completions.create(model=MODEL, messages=messages,
                                                         **stream_kw):  # type: ignore
                pass

    async def _plain_async(n: int) -> None:
        for _ in range(n):
            await aclient.chat.completions.create(model=MODEL, messages=messages)  # type: ignore

    async def _stream_async(n: int) -> None:
        for _ in range(n):
            stream = await aclient.chat.completions.create(model=MODEL, messages=messages,
                                                           **stream_kw)  # type: ignore
            async for _chunk in stream:
                pass

    runs: dict[str, Callable[[int], None]] = {
        CASES[0]: plain_sync,
        CASES[1]: lambda n: loop.run_until_complete(_plain_async(n)),
        CASES[2]: stream_sync,
        CASES[3]: lambda n: loop.run_until_complete(_stream_async(n)),
    }

    return toggle, providers, runs


def shapes(name: str) -> dict[str, Any]:
    """What worker `name` emits per instrumented call of each case: names, attribute keys and
    types, metric points (for the test that the floor emits exactly what this SDK emits)."""
    recorders, collect = _recorders()
    toggle, _, runs = _setup(name, providers=recorders)
    toggle.set(True)

    def typed(attrs: dict[str, Any]) -> dict[str, str]:
        return {key: type(value).__name__ for key, value in sorted(attrs.items())}

    for case in CASES:  # warm-up: first-use paths, observable rows
        runs[case](1)
    collect()
    out: dict[str, Any] = {}
    for case in CASES:
        runs[case](1)
        got = collect()
        out[case] = {
            "spans": [[span_name, str(kind), typed(attrs)] for span_name, kind, attrs
                      in got["spans"]],
            "logs": [[typed(attrs), body, event, text, str(number)] for attrs, body, event, text,
                     number in got["logs"]],
            "metrics": sorted([metric, kind, unit, list(bounds), typed(attrs),
                               sorted(map(str, attrs.values()))]
                              for metric, kind, unit, bounds, attrs, _value in got["metrics"]),
        }
    return out


def _flush(providers: dict[str, Any]) -> None:
    providers["tracer_provider"].force_flush()
    providers["logger_provider"].force_flush()
    providers["meter_provider"].force_flush()


def oneshot(name: str, case: str, n: int, rounds: int) -> int:
    """Warm up, then `rounds` rounds of a bare and an instrumented block (for callgrind).

    Each block makes `n` calls of `case` and flushes the providers; round r runs bare first when
    r is even, instrumented first when it is odd (`_block_modes`). The garbage collector is off:
    when a collection lands depends on every allocation before it.
    """
    sys.stdout = sys.stderr
    gc.disable()
    toggle, providers, runs = _setup(name, hold=True)
    for on in (True, False):  # both paths, whichever is measured: caches, lazy imports
        toggle.set(on)
        runs[case](2)

    def block() -> None:
        runs[case](n)
        _flush(providers)

    # callgrind counts only inside itertools.starmap's C `starmap_next` (--toggle-collect) and
    # writes one profile after each (--dump-after): one count per block, none for the rest.
    for mode in _block_modes(rounds):
        toggle.set(mode == "inst")
        list(itertools.starmap(block, [()]))
    return 0


def _block_modes(rounds: int) -> list[str]:
    pairs = (("bare", "inst"), ("inst", "bare"))
    return [mode for r in range(rounds) for mode in pairs[r % 2]]


def worker(name: str) -> int:
    """Serve timing requests on stdin/stdout (one JSON object a line)."""
    out: TextIO = sys.stdout
    sys.stdout = sys.stderr  # libraries' prints never reach the protocol stream
    import openai

    toggle, providers, runs = _setup(name)
    clock = time.process_time if os.environ.get("BENCH_CLOCK", "cpu") == "cpu" else \
        time.perf_counter

    def timed(case: str, n: int, on: bool) -> float:
        toggle.set(on)
        start = clock()
        runs[case](n)
        return (clock() - start) / n

    for case in CASES:  # warm-up: imports, caches, pricers, JIT-free but lazy paths
        timed(case, 5, True)
        timed(case, 5, False)
    out.write(json.dumps({"ready": name, "python": sys.version.split()[0],
                          "openai": openai.__version__,
                          "httpx": sys.modules["httpx"].__version__}) + "\n")
    out.flush()
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd.get("op") == "signals":  # one instrumented call of each kind, then flush
            toggle.set(True)
            _flush(providers)
            spans, logs = _Counting.spans, _Counting.logs
            _Counting.metrics = set()
            runs[CASES[0]](1)
            _flush(providers)
            out.write(json.dumps({"spans": _Counting.spans - spans, "logs": _Counting.logs - logs,
                                  "metrics": sorted(_Counting.metrics)}) + "\n")
            out.flush()
            continue
        case, n, first = cmd["case"], cmd["n"], cmd["first"]
        result = {}
        for on in (first == "inst", first != "inst"):
            result["inst" if on else "bare"] = timed(case, n, on)
        out.write(json.dumps(result) + "\n")
        out.flush()
    return 0


# ============================================================================ driver side


class Worker:
    """A worker process and its line protocol."""

    def __init__(self, name: str, python: str, clock: str) -> None:
        self.name = name
        self.python = python
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TRACKER_LEDGER": "",
               "OTEL_SDK_DISABLED": "false", "BENCH_CLOCK": clock}
        self.proc = subprocess.Popen(
            [python, str(Path(__file__).resolve()), "--worker", name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env, cwd=str(HERE))
        self.info = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"worker {self.name} died:\n{err[-3000:]}")
        return json.loads(line)  # type: ignore[no-any-return]

    def ask(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_peers(venv: Path, peers: Sequence[str]) -> tuple[Path | None, dict[str, str]]:
    """Create/refresh the peers' virtual environment; returns its python and failures by peer."""
    from importlib.metadata import version

    import httpx
    import openai

    base = [f"openai=={openai.__version__}", f"httpx=={httpx.__version__}",
            f"opentelemetry-sdk=={version('opentelemetry-sdk')}"]
    python = _venv_python(venv)
    failures: dict[str, str] = {}
    if not python.exists():
        print(f"creating the peers' virtual environment in {venv} ...", flush=True)
        made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True,
                              text=True)
        if made.returncode != 0:
            return None, {p: f"python -m venv failed: {made.stderr.strip()[-300:]}" for p in peers}
    for peer in peers:
        spec = base + PEER_SPECS[peer]
        stamp = venv / f".installed-{peer}"
        digest = hashlib.sha256("\n".join(spec).encode()).hexdigest()
        if stamp.exists() and stamp.read_text() == digest:
            continue
        print(f"pip install {' '.join(PEER_SPECS[peer])} (into {venv}) ...", flush=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "-q",
                               "--disable-pip-version-check", *spec],
                              capture_output=True, text=True)
        if done.returncode != 0:
            failures[peer] = "pip could not install it: " + (done.stderr.strip()[-400:] or "?")
        else:
            stamp.write_text(digest)
    return python, failures


def _time(func: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        func()
    return (time.perf_counter() - start) / n


def decorator_vs_span(rounds: int, n: int = 5000) -> dict[str, float]:
    """Added time of @track_energy on an empty function, and of a bare OTel span (seconds)."""
    import tracker

    providers = _providers()
    tracker.configure(**providers, ledger=None, instrument=False)
    tracer = providers["tracer_provider"].get_tracer("bench")

    def empty() -> None:
        return None

    tracked = tracker.track_energy(empty)

    def bare_span() -> None:
        with tracer.start_as_current_span("empty"):
            pass

    cases = {"empty": empty, "tracked": tracked, "span": bare_span}
    for func in cases.values():
        _time(func, 500)
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(rounds):
        for key, func in cases.items():
            samples[key].append(_time(func, n))
    med = {k: statistics.median(v) for k, v in samples.items()}
    tracker.reset()
    return {"track_energy": med["tracked"] - med["empty"], "bare_span": med["span"] - med["empty"]}


def import_times(n: int = 7) -> dict[str, float]:
    """Best-of-n wall time of a fresh interpreter importing each module, minus an empty one."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    stmts = {"python -c pass": "pass", "import tracker": "import tracker",
             "import tracker; configure(); instrument()": (
                 "import tracker; tracker.configure(ledger=None, instrument=False); "
                 "tracker.instrument('openai')"),
             "import openai": "import openai",
             "import opentelemetry.sdk.trace": "import opentelemetry.sdk.trace"}
    best: dict[str, float] = {}
    for _ in range(n):
        for key, stmt in stmts.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", stmt], check=True, env=env, cwd=str(HERE))
            took = time.perf_counter() - start
            best[key] = min(best.get(key, took), took)
    empty = best.pop("python -c pass")
    return {key: value - empty for key, value in best.items()}


#: Calls per block, and rounds (a bare and an instrumented block each), per callgrind run.
IR_CALLS = {"plain": 8, "stream": 2}
IR_ROUNDS = 5
#: The most ours may add, as a ratio of what the floor adds (the targets of docs/performance.md:
#: 10 % on a plain call, 5 % on a 50-chunk stream).
FLOOR_LIMITS = {"plain": 1.10, "stream50": 1.05}


def callgrind_blocks(command: Sequence[str], blocks: int, what: str) -> list[int]:
    """Run `command` (a Python process) under callgrind; the instructions of each of its blocks.

    A block is one call of ``list(itertools.starmap(f, [()]))`` in that process: callgrind counts
    only inside the C `starmap_next` (--toggle-collect) and writes one profile after each
    (--dump-after), so start-up, imports and warm-up are not counted.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRACKER_LEDGER": "",
           "OTEL_SDK_DISABLED": "false", "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as tmp:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out",
             "--collect-atstart=no", "--toggle-collect=starmap_next",
             "--dump-after=starmap_next", *command],
            capture_output=True, text=True, env=env, cwd=str(HERE))
        if done.returncode != 0:
            raise RuntimeError(f"callgrind run of {what} failed:\n{done.stderr[-2000:]}")
        counts = []
        dumps = sorted(Path(tmp).glob("cg.out.*"), key=lambda f: int(f.name.split(".")[2]
                                                                      .split("-")[0]))
        for dump in dumps:
            found = re.search(r"^(?:summary|totals): (\d+)", dump.read_text(), re.MULTILINE)
            # starmap_next also runs once more to end the list(): a dump of a few instructions.
            if found is not None and int(found.group(1)) > 1_000:
                counts.append(int(found.group(1)))
    if len(counts) != blocks:
        raise RuntimeError(f"callgrind run of {what}: {len(counts)} blocks counted, "
                           f"{blocks} expected")
    return counts


def alternate_blocks(op: Callable[[], object], n: int, rounds: int,
                     after: Callable[[], object] | None = None) -> None:
    """Warm up, then `rounds` rounds of a block of `n` empty calls and a block of `n` calls of
    `op`, the order flipping every round; `after` (a flush) ends each block. Each block is one
    ``starmap`` call, what `callgrind_blocks` counts."""
    def empty() -> None:
        pass

    for f in (op, empty):
        for _ in range(5):
            f()
    for r in range(rounds):
        for f in ((empty, op) if r % 2 == 0 else (op, empty)):
            def block(f: Callable[[], object] = f) -> None:
                for _ in range(n):
                    f()
                if after is not None:
                    after()
            list(itertools.starmap(block, [()]))


def per_call(counts: Sequence[int], rounds: int, n: int) -> float:
    """The median over rounds of (`op` block - empty block) / n, from the counts of a process
    running `alternate_blocks`."""
    diffs = []
    for r in range(rounds):
        first, second = counts[2 * r], counts[2 * r + 1]
        empty, op = (first, second) if r % 2 == 0 else (second, first)
        diffs.append((op - empty) / n)
    return statistics.median(diffs)


def _callgrind(python: str, name: str, case: str, n: int, rounds: int) -> list[int]:
    """Instructions of each block of a one-shot worker (its calling thread, calls and flush)."""
    return callgrind_blocks([python, str(Path(__file__).resolve()), "--oneshot", name, case,
                             str(n), str(rounds)], 2 * rounds, f"{name} {case}")


def instruction_counts(pythons: dict[str, str], jobs: int) -> dict[tuple[str, str],
                                                                    dict[str, float]]:
    """Per-call instructions, bare and instrumented, of every worker and case.

    Each (worker, case) is one callgrind run in which bare and instrumented blocks alternate
    (IR_ROUNDS rounds, the order flipping every round) in the same process, so both see the same
    interpreter state; the figure is the median over rounds of (instrumented - bare). Only the
    calling thread's instructions inside the calls and each block's flush count (work the
    exporters' threads do is not counted: with the null exporters it is the same for all).
    """
    def calls(case: str) -> int:
        return IR_CALLS["plain" if case.startswith("plain") else "stream"]

    tasks = [(w, c) for w in pythons for c in CASES]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = dict(zip(tasks, pool.map(
            lambda t: _callgrind(pythons[t[0]], t[0], t[1], calls(t[1]), IR_ROUNDS), tasks),
            strict=True))
    out: dict[tuple[str, str], dict[str, float]] = {}
    modes = _block_modes(IR_ROUNDS)
    for (w, c), counts in results.items():
        n = calls(c)
        bare = [v / n for m, v in zip(modes, counts, strict=True) if m == "bare"]
        inst = [v / n for m, v in zip(modes, counts, strict=True) if m == "inst"]
        out[(w, c)] = {"bare": statistics.median(bare), "inst": statistics.median(inst),
                       "added": statistics.median(i - b for i, b in zip(inst, bare, strict=True))}
    return out


def _fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:8.1f} us"


def _fmt_kinstr(count: float) -> str:
    return f"{count / 1e3:8.0f} kI"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--oneshot", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--shapes", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=31, help="interleaved rounds (31)")
    parser.add_argument("--plain-n", type=int, default=40, help="plain calls per block (40)")
    parser.add_argument("--stream-n", type=int, default=10, help="streamed calls per block (10)")
    parser.add_argument("--peers", default="contrib,ecologits",
                        help="comma-separated: contrib, ecologits, openllmetry")
    parser.add_argument("--no-peers", action="store_true", help="measure this SDK only")
    parser.add_argument("--no-floor", action="store_true",
                        help="skip the OTel-SDK-alone reference (same signals, no tracker code)")
    parser.add_argument("--peers-venv", type=Path,
                        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                        / "llm-energy-tracker" / "bench-peers-venv")
    parser.add_argument("--clock", choices=("cpu", "wall", "instructions"), default="cpu",
                        help="cpu: CPU time of the worker process, all threads (default: robust "
                             "to other load on the machine); wall: elapsed time; instructions: "
                             "instructions executed, counted by valgrind's callgrind "
                             "(repeatable to 0.1 %%; slow: about 10 minutes with both peers)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="parallel callgrind runs with --clock instructions (CPU count)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker)
    if args.shapes:
        found = shapes(args.shapes)
        sys.stdout.write(json.dumps(found) + "\n")
        return 0
    if args.oneshot:
        name, case, n, rounds = args.oneshot
        return oneshot(name, case, int(n), int(rounds))
    if args.clock == "instructions" and shutil.which("valgrind") is None:
        parser.error("--clock instructions needs valgrind (Debian: apt-get install valgrind)")

    started = time.perf_counter()
    peers = [] if args.no_peers else [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in peers if p not in PEER_SPECS]
    if unknown:
        parser.error(f"unknown peers {unknown}; known: {', '.join(PEER_SPECS)}")
    workers: dict[str, Worker] = {"ours": Worker("ours", sys.executable, args.clock)}
    if not args.no_floor:
        workers["floor"] = Worker("floor", sys.executable, args.clock)
    failures: dict[str, str] = {}
    if peers:
        python, failures = ensure_peers(args.peers_venv, peers)
        for peer in peers:
            if peer in failures or python is None:
                continue
            try:
                workers[peer] = Worker(peer, str(python), args.clock)
            except RuntimeError as exc:
                failures[peer] = str(exc).splitlines()[-1]
    for peer, why in failures.items():
        print(f"NOTE: peer {LABELS[peer]} not measured: {why}")

    blocks = {c: (args.plain_n if c.startswith("plain") else args.stream_n) for c in CASES}
    samples: dict[tuple[str, str], dict[str, list[float]]] = {
        (w, c): {"bare": [], "inst": [], "added": []} for w in workers for c in CASES}
    names = list(workers)
    for r in range(args.rounds if args.clock != "instructions" else 0):
        order = names[r % len(names):] + names[:r % len(names)]
        for case in CASES:
            for name in order:
                res = workers[name].ask(case=case, n=blocks[case],
                                        first="inst" if r % 2 else "bare")
                s = samples[(name, case)]
                s["bare"].append(res["bare"])
                s["inst"].append(res["inst"])
                s["added"].append(res["inst"] - res["bare"])
    signals = {name: w.ask(op="signals") for name, w in workers.items()}
    for w in workers.values():
        w.close()

    info = workers["ours"].info
    if args.clock == "instructions":
        med = instruction_counts({w: workers[w].python for w in workers}, args.jobs)
        fmt, what = _fmt_kinstr, "instructions"
        how = (f"instructions per call executed by the calling thread (callgrind; "
               f"{IR_ROUNDS} rounds of a bare and an instrumented block of "
               f"{IR_CALLS['plain']} plain / {IR_CALLS['stream']} streamed calls and a flush, in "
               f"one process; median over rounds; garbage collector off)")
    else:
        med = {k: {m: statistics.median(v) for m, v in s.items()} for k, s in samples.items()}
        fmt, what = _fmt_us, "time"
        how = (f"{args.clock} time; {args.rounds} interleaved rounds x ({args.plain_n} plain / "
               f"{args.stream_n} streamed calls per block); median over rounds")
    print(f"\nopenai {info['openai']}, httpx {info['httpx']}, Python {info['python']}; {how}")
    print("\nsignals per instrumented plain call (counted by the dropping exporters):")
    for name, sig in signals.items():
        print(f"  {LABELS[name]:<30} spans={sig['spans']} log records={sig['logs']} "
              f"metrics={', '.join(sig['metrics']) or '-'}")
    print(f"\n{'added ' + what + ' per call':<30}" + "".join(f"{c:>16}" for c in CASES))
    print(f"{'bare client':<30}" + "".join(fmt(med[('ours', c)]['bare']).rjust(16)
                                           for c in CASES))
    for name in workers:
        print(f"{LABELS[name]:<30}" + "".join(
            (fmt(med[(name, c)]["added"]) + f" {med[(name, c)]['added'] / med[(name, c)]['bare']:+4.0%}").rjust(16)  # noqa: E501
            for c in CASES))
    print(f"\n{'added ' + what + ' per chunk':<30}" + "".join(f"{c:>16}" for c in CASES[2:]))
    for name in workers:
        per_chunk = [(med[(name, c)]["added"] - med[(name, p)]["added"]) / CHUNKS
                     for p, c in zip(CASES[:2], CASES[2:], strict=True)]
        print(f"{LABELS[name]:<30}" + "".join(fmt(v).rjust(16) for v in per_chunk))
    if "floor" in workers:
        print(f"\n{'ours above the SDK alone':<30}" + "".join(
            fmt(med[("ours", c)]["added"] - med[("floor", c)]["added"]).rjust(16)
            for c in CASES))
        over = {c: med[("ours", c)]["added"] / med[("floor", c)]["added"] for c in CASES}
        print(f"{'ours / the SDK alone':<30}" + "".join(f"{over[c]:>16.3f}" for c in CASES))
        print(f"{'limit (plain 1.10, stream 1.05)':<30}" + "".join(
            ("met" if over[c] <= FLOOR_LIMITS[c.split(' ')[0]] else "not met").rjust(16)
            for c in CASES))
    ratios: dict[str, dict[str, float]] = {}
    for peer in [p for p in workers if p not in ("ours", "floor")]:
        ratios[peer] = {c: med[("ours", c)]["added"] / med[(peer, c)]["added"] for c in CASES}
        print(f"\nours / {LABELS[peer]:<28}" + "".join(f"{v:>16.3f}" for v in
                                                     ratios[peer].values()))

    deco = decorator_vs_span(rounds=max(5, args.rounds // 2))
    print(f"\n@track_energy on an empty function: {_fmt_us(deco['track_energy']).strip()} added; "
          f"a bare OTel span (start_as_current_span): {_fmt_us(deco['bare_span']).strip()}; "
          f"ratio {deco['track_energy'] / deco['bare_span']:.2f}")
    imports = import_times()
    print(f"import tracker: {imports['import tracker'] * 1e3:.0f} ms; import "
          f"opentelemetry.sdk.trace: {imports['import opentelemetry.sdk.trace'] * 1e3:.0f} ms "
          f"(fresh interpreter, best of 7, minus an empty interpreter)")
    setup = (imports["import tracker; configure(); instrument()"] - imports["import openai"])
    print(f"import tracker + configure() + instrument('openai'), less import openai: "
          f"{setup * 1e3:.0f} ms (the names of `tracker` load their modules on first use)")
    print(f"\ntotal benchmark time {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({
            "medians": {f"{w}|{c}": v for (w, c), v in med.items()}, "ratios": ratios,
            "signals": signals, "failures": failures, "decorator": deco, "imports": imports,
        }, indent=2))
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

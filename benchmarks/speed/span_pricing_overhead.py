"""Calling-thread cost of EnergySpanProcessor next to the contrib OpenAI instrumentation.

One process, one real SDK TracerProvider (BatchSpanProcessor, exporter that drops everything)
with the contrib OpenAI instrumentation (opentelemetry-instrumentation-genai-openai) on it, and the
SDK configured on real logger and meter providers (batching, dropping). The call is a plain
``chat.completions.create`` of the ``openai`` client against an in-process
``httpx.MockTransport`` (no network). Three cases, measured in one run:

- ``bare``: the client with the contrib patch swapped out,
- ``contrib``: the contrib instrumentation on,
- ``contrib + processor``: the same, with `EnergySpanProcessor` added to the provider.

The processor sits behind a switch that is on only in the third case, so the first two pay the
same (a flag test). Time is the CPU time of the calling thread (``time.thread_time_ns``): what
the application's thread spends in the call; the processor's pricing runs on its worker thread,
which this clock does not count, by design. Rounds interleave the cases (the order flips every
round); the figure per case is the median over rounds of the mean per call. The worker is flushed
after each block, outside the calling-thread time; the whole-process CPU time (all threads, the
flush included) is printed next to it, so the worker's pricing is shown, not hidden.

    python -m benchmarks.speed.span_pricing_overhead [--rounds 31] [--calls 200] [--json FILE]

Prints the added time of the contrib instrumentation and of the processor, and the ratio
(processor / contrib). The processor's calling-thread work
(``on_start`` + ``on_end``) is a few microseconds, below what the end-to-end difference resolves
on a loaded machine, so it is also timed directly on the spans the contrib instrumentation made
in the same run, and that ratio is printed too.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import tracker
from tracker.recording._span_pricing import EnergySpanProcessor

try:
    from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
except ImportError:
    sys.exit("needs the contrib instrumentation: pip install 'llm-energy-tracker[otel]'")

BODY = {
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1_700_000_000,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "Energy per token, measured."}}],
    "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49},
}
MESSAGES = [{"role": "user", "content": "How much energy does this call take?"}]


class Drop(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class DropLogs(LogRecordExporter):
    def export(self, batch: Sequence[Any]) -> Any:
        from opentelemetry.sdk._logs.export import LogRecordExportResult

        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class Switch(SpanProcessor):
    """Forwards to `inner` only while `on` (so every case pays the same flag test)."""

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner
        self.on = False

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        if self.on:
            self.inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        if self.on:
            self.inner.on_end(span)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class Recorder(SpanProcessor):
    """Keeps the last ended spans (for timing the processor's hooks on them)."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)
        if len(self.spans) > 10_000:
            del self.spans[:5_000]


def _client() -> openai.OpenAI:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=BODY)

    return openai.OpenAI(api_key="sk-bench", base_url="http://bench.invalid/v1", max_retries=0,
                         http_client=httpx.Client(transport=httpx.MockTransport(handler)))


def _block(calls: Callable[[], Any], flush: Callable[[], Any]) -> tuple[float, float]:
    """CPU time of one block of calls, in microseconds: (calling thread, whole process).

    The process figure includes the flush after the block: the worker's pricing of its spans.
    """
    gc.collect()
    process = time.process_time_ns()
    started = time.thread_time_ns()
    calls()
    thread = time.thread_time_ns() - started
    flush()
    return thread / 1000, (time.process_time_ns() - process) / 1000


CASES = ("bare", "contrib", "contrib + processor")


class Bench:
    """The three cases on one provider: `run(case, n)` makes n calls of `case`."""

    def __init__(self) -> None:
        self.provider = TracerProvider()
        self.provider.add_span_processor(BatchSpanProcessor(Drop()))
        self.processor = EnergySpanProcessor()
        self.switch = Switch(self.processor)
        self.provider.add_span_processor(self.switch)
        self.recorder = Recorder()
        self.provider.add_span_processor(self.recorder)
        self.logs = LoggerProvider()
        self.logs.add_log_record_processor(BatchLogRecordProcessor(DropLogs()))
        self.meters = MeterProvider(metric_readers=[InMemoryMetricReader()])
        tracker.configure(tracer_provider=self.provider, logger_provider=self.logs,
                          meter_provider=self.meters, instrument=False, ledger=None)

        from openai.resources.chat.completions import Completions

        self.completions = Completions
        self.bare = Completions.__dict__["create"]
        OpenAIInstrumentor().instrument(tracer_provider=self.provider,
                                        logger_provider=self.logs, meter_provider=self.meters)
        self.patched = Completions.__dict__["create"]
        self.client = _client()

    def select(self, case: str) -> None:
        setattr(self.completions, "create",  # noqa: B010
                self.bare if case == "bare" else self.patched)
        self.switch.on = case == "contrib + processor"

    def calls(self, n: int) -> None:
        create = self.client.chat.completions.create
        for _ in range(n):
            create(model="gpt-4o-mini", messages=MESSAGES)

    def close(self) -> None:
        self.switch.on = False
        setattr(self.completions, "create", self.patched)  # noqa: B010
        OpenAIInstrumentor().uninstrument()
        self.client.close()
        self.provider.shutdown()
        self.logs.shutdown()
        self.meters.shutdown()


def _order(index: int) -> tuple[str, ...]:
    return CASES if index % 2 == 0 else CASES[::-1]


def oneshot(rounds: int, n: int, collect: int) -> int:
    """Under callgrind: warm up, then `rounds` rounds of the three cases, one block each.

    Each block is one ``list(itertools.starmap(...))``, which callgrind counts on its own
    (--toggle-collect=starmap_next counts the calling thread inside it, not the worker); the
    worker's flush runs between blocks, outside them. With `collect` 0 the garbage collector is
    off; with 1 it is on, so collections the worker's allocations bring forward and that run on
    the calling thread are counted.
    """
    sys.stdout = sys.stderr
    if not collect:
        gc.disable()
    bench = Bench()
    for case in CASES:
        bench.select(case)
        bench.calls(3)
        bench.processor.force_flush()
    for index in range(rounds):
        for case in _order(index):
            bench.select(case)
            list(itertools.starmap(bench.calls, [(n,)]))
            bench.switch.on = False
            bench.processor.force_flush()
            gc.collect()
    bench.close()
    return 0


def instructions(rounds: int, n: int, collect: bool) -> dict[str, Any]:
    """Calling-thread instructions per call of each case, counted by callgrind in one process."""
    from benchmarks.speed.overhead import callgrind_blocks

    counts = callgrind_blocks([sys.executable, "-m", "benchmarks.speed.span_pricing_overhead",
                               "--oneshot", str(rounds), str(n), str(int(collect))],
                              3 * rounds, "span pricing")
    per: dict[str, list[float]] = {c: [] for c in CASES}
    blocks = iter(counts)
    for index in range(rounds):
        for case in _order(index):
            per[case].append(next(blocks) / n)
    contrib = statistics.median(c - b for c, b in zip(per["contrib"], per["bare"], strict=True))
    processor = statistics.median(
        p - c for p, c in zip(per["contrib + processor"], per["contrib"], strict=True))
    ratio = processor / contrib if contrib > 0 else float("inf")
    lines = [f"calling-thread instructions per plain call (callgrind), median of {rounds} rounds "
             f"x {n} calls, garbage collector {'on' if collect else 'off'}"]
    lines += [f"  {case:<22} {statistics.median(per[case]):12,.0f}" for case in CASES]
    lines += [f"  added by contrib       {contrib:12,.0f}",
              f"  added by the processor {processor:12,.0f}",
              f"  ratio processor/contrib {ratio:11.1%}  (instructions on the calling thread)"]
    return {"instructions_per_call": {c: statistics.median(v) for c, v in per.items()},
            "contrib_added_instructions": contrib, "processor_added_instructions": processor,
            "ratio": ratio, "lines": lines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds of the three cases (31; 5 with --clock instructions)")
    parser.add_argument("--calls", type=int, default=None,
                        help="calls per block (200; 20 with --clock instructions)")
    parser.add_argument("--clock", choices=("cpu", "instructions"), default="cpu",
                        help="cpu: CPU time of the calling thread; instructions: instructions "
                             "the calling thread executes, counted by valgrind's callgrind")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--oneshot", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.oneshot:
        sys.exit(oneshot(*args.oneshot))
    if args.clock == "instructions":
        if shutil.which("valgrind") is None:
            parser.error("--clock instructions needs valgrind (Debian: apt-get install valgrind)")
        with ThreadPoolExecutor(2) as pool:  # one callgrind process each, at once
            runs = list(pool.map(lambda on: instructions(args.rounds or 5, args.calls or 20, on),
                                 (False, True)))
        for run in runs:
            print("\n".join(run.pop("lines")))
        figures = {"gc_off": runs[0], "gc_on": runs[1]}
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(figures, fh, indent=2)
        return
    rounds, n = args.rounds or 31, args.calls or 200
    bench = Bench()
    processor = bench.processor

    def run(case: str) -> tuple[float, float]:
        bench.select(case)
        try:
            return _block(lambda: bench.calls(n), processor.force_flush)
        finally:
            bench.switch.on = False

    for case in CASES:  # warm-up
        run(case)
    samples: dict[str, list[float]] = {c: [] for c in CASES}
    totals: dict[str, list[float]] = {c: [] for c in CASES}
    for index in range(rounds):
        for case in _order(index):
            thread, total = run(case)
            samples[case].append(thread / n)
            totals[case].append(total / n)
    bench.select("contrib")

    # The processor's own calling-thread work, timed directly: its on_start and on_end on the
    # spans the contrib instrumentation made for the same calls (a few microseconds, far below
    # what the end-to-end difference above can resolve on a shared machine).
    spans = bench.recorder.spans[-n:]
    hooks: list[float] = []
    for _ in range(rounds):
        gc.collect()
        started = time.thread_time_ns()
        for span in spans:
            processor.on_start(span, None)  # type: ignore[arg-type]
            processor.on_end(span)
        hooks.append((time.thread_time_ns() - started) / len(spans) / 1000)
        processor.force_flush()
    hook = statistics.median(hooks)
    priced, dropped = processor.priced, processor.dropped
    bench.close()

    med = {c: statistics.median(v) for c, v in samples.items()}
    contrib_added = statistics.median(
        c - b for c, b in zip(samples["contrib"], samples["bare"], strict=True))
    processor_added = statistics.median(
        p - c for p, c in zip(samples["contrib + processor"], samples["contrib"],
                                strict=True))
    ratio = processor_added / contrib_added if contrib_added > 0 else float("inf")
    print(f"calling-thread CPU time per plain call, median of {rounds} rounds x "
          f"{n} calls (priced by the worker: {priced}, dropped: {dropped})")
    print(f"  {'':<22} {'calling thread':>15} {'whole process':>15}")
    for case in CASES:
        print(f"  {case:<22} {med[case]:12.1f} us {statistics.median(totals[case]):12.1f} us")
    worker = statistics.median(
        p - c for p, c in zip(totals["contrib + processor"], totals["contrib"], strict=True))
    print(f"  added by contrib       {contrib_added:12.1f} us (calling thread)")
    print(f"  added by the processor {processor_added:12.1f} us (calling thread)")
    print(f"  ratio processor/contrib {ratio:11.1%}  (on the calling thread)")
    print(f"  processor, whole process (worker's pricing included): {worker:.1f} us per call")
    direct = hook / contrib_added if contrib_added > 0 else float("inf")
    print(f"  processor hooks timed directly (on_start + on_end) {hook:8.2f} us per call: "
          f"{direct:.1%} of contrib")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"median_us": med, "process_median_us": {
                           c: statistics.median(v) for c, v in totals.items()},
                       "processor_process_added_us": worker,
                       "contrib_added_us": contrib_added,
                       "processor_added_us": processor_added, "ratio": ratio,
                       "processor_hooks_us": hook, "hooks_ratio": direct,
                       "priced": priced, "dropped": dropped}, fh, indent=2)


if __name__ == "__main__":
    main()

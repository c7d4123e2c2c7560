"""What the OpenTelemetry SDK itself charges for each part of the per-call telemetry contract.

Instructions per operation, counted by valgrind's callgrind, on real SDK providers behind batching
processors with exporters that drop everything (those of `overhead.py`): a CLIENT span, the
`energy.request` log record and one histogram point, each bare and with the very attributes this
SDK emits for a plain OpenAI chat call (captured from the tracker at start-up, as the overhead
benchmark's floor does: `overhead.capture_ours`; 36 on the span in this release). The difference
between the two is what the attributes cost: the SDK validates every attribute of a span, of a
log record and of a metric point. These are the figures behind "what the floor is made of" in
docs/performance.md and the price of each line of `telemetry.md`.

Each operation runs in one process, in which blocks of `--n` operations alternate with blocks of
as many empty calls for `--rounds` rounds (each block ends with a flush of the providers); the
figure is the median over rounds of (operation - empty) / n.

    python -m benchmarks.speed.sdk_costs [--n 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.speed.overhead import (
    _flush,
    _providers,
    alternate_blocks,
    callgrind_blocks,
    capture_ours,
    per_call,
)

OPERATIONS = ("span", "span + attributes", "log record", "log record + attributes",
              "histogram point", "histogram point + attributes")


def captured() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The attributes of our plain call's span, log record and input-token histogram point."""
    got = capture_ours()["plain"]
    span = next(a for _n, _k, a in got["spans"])
    log = got["logs"][0][0]
    point = next(a for name, _k, _u, _b, a, _v in got["metrics"]
                 if name == "gen_ai.client.token.usage" and a.get("gen_ai.token.type") == "input")
    return span, log, point


def _operations(providers: dict[str, Any]) -> dict[str, Callable[[], None]]:
    from opentelemetry import _logs, trace
    from opentelemetry.trace import SpanKind

    tracer = providers["tracer_provider"].get_tracer("sdk-costs")
    logger = providers["logger_provider"].get_logger("sdk-costs")
    histogram = providers["meter_provider"].get_meter("sdk-costs").create_histogram(
        "gen_ai.client.token.usage")
    span_attrs, log_attrs, point_attrs = captured()
    parent = tracer.start_span("parent")
    in_span = trace.set_span_in_context(parent)

    def span(attributes: dict[str, Any] | None) -> Callable[[], None]:
        def run() -> None:
            tracer.start_span("chat x", kind=SpanKind.CLIENT, attributes=attributes).end()
        return run

    def log(attributes: dict[str, Any] | None) -> Callable[[], None]:
        def run() -> None:
            logger.emit(_logs.LogRecord(
                timestamp=time.time_ns(), context=in_span, severity_text="INFO",
                severity_number=_logs.SeverityNumber.INFO, attributes=attributes,
                event_name="energy.request"))
        return run

    def point(attributes: dict[str, Any] | None) -> Callable[[], None]:
        def run() -> None:
            histogram.record(25, attributes)
        return run

    return dict(zip(OPERATIONS, (span(None), span(span_attrs), log(None), log(log_attrs),
                                 point(None), point(point_attrs)), strict=True))


def oneshot(operation: str, n: int, rounds: int) -> int:
    """Alternate blocks of `n` operations and `n` empty calls (for callgrind)."""
    sys.stdout = sys.stderr
    gc.disable()
    providers = _providers(hold=True)
    op = _operations(providers)[operation]

    alternate_blocks(op, n, rounds, lambda: _flush(providers))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="operations per block (100)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (5)")
    parser.add_argument("--oneshot", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.oneshot:
        return oneshot(args.oneshot, args.n, args.rounds)
    if shutil.which("valgrind") is None:
        parser.error("needs valgrind (Debian: apt-get install valgrind)")
    cost: dict[str, float] = {}
    for operation in OPERATIONS:
        counts = callgrind_blocks(
            [sys.executable, str(Path(__file__).resolve()), "--oneshot", operation,
             "--n", str(args.n), "--rounds", str(args.rounds)], 2 * args.rounds, operation)
        cost[operation] = per_call(counts, args.rounds, args.n)
    print(f"instructions per operation (callgrind; {args.rounds} rounds of {args.n}; "
          f"median over rounds), OpenTelemetry SDK with batching processors:")
    for operation in OPERATIONS:
        print(f"  {operation:<32} {cost[operation] / 1e3:7.1f} kI")
    print("attributes alone:")
    span_attrs, log_attrs, point_attrs = captured()
    for what, count in (("span", len(span_attrs)), ("log record", len(log_attrs)),
                        ("histogram point", len(point_attrs))):
        extra = cost[f"{what} + attributes"] - cost[what]
        print(f"  {what:<16} {count:>2} attributes {extra / 1e3:7.1f} kI "
              f"({extra / count / 1e3:.1f} kI each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

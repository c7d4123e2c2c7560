"""What the OpenTelemetry SDK itself charges for each part of the per-call telemetry contract.

Instructions per operation, counted by valgrind's callgrind, on real SDK providers behind batching
processors with exporters that drop everything (those of `overhead.py`): a CLIENT span, the
`energy.request` log record and one histogram point, each bare and with attributes of the same
number and types as ours (30 on the span and on the log record, 4 on a token-usage point). The
difference between the two is what the attributes cost: the SDK validates every attribute of a
span, of a log record and of a metric point. These are the figures behind "what the floor is made
of" in the README (Performance) and the price of each line of `telemetry.md`.

Each operation runs in one process, in which blocks of `--n` operations alternate with blocks of
as many empty calls for `--rounds` rounds (each block ends with a flush of the providers); the
figure is the median over rounds of (operation - empty) / n.

    python -m benchmarks.speed.sdk_costs [--n 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.speed.overhead import _flush, _providers, callgrind_blocks, floor_attributes

OPERATIONS = ("span", "span + 30 attributes", "log record", "log record + 30 attributes",
              "histogram point", "histogram point + 4 attributes")


def _operations(providers: dict[str, Any]) -> dict[str, Callable[[], None]]:
    from opentelemetry import _logs, trace
    from opentelemetry.trace import SpanKind

    tracer = providers["tracer_provider"].get_tracer("sdk-costs")
    logger = providers["logger_provider"].get_logger("sdk-costs")
    histogram = providers["meter_provider"].get_meter("sdk-costs").create_histogram(
        "gen_ai.client.token.usage")
    _base, t_in, _t_out, attrs = floor_attributes()
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

    return dict(zip(OPERATIONS, (span(None), span(attrs), log(None), log(attrs), point(None),
                                 point(t_in)), strict=True))


def oneshot(operation: str, n: int, rounds: int) -> int:
    """Alternate blocks of `n` operations and `n` empty calls (for callgrind)."""
    sys.stdout = sys.stderr
    gc.disable()
    providers = _providers(hold=True)
    op = _operations(providers)[operation]

    def empty() -> None:
        pass

    for f in (op, empty):
        for _ in range(5):
            f()
    for r in range(rounds):
        for f in ((empty, op) if r % 2 == 0 else (op, empty)):
            def block(f: Callable[[], None] = f) -> None:
                for _ in range(n):
                    f()
                _flush(providers)
            list(itertools.starmap(block, [()]))
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
        diffs = []
        for r in range(args.rounds):
            first, second = counts[2 * r], counts[2 * r + 1]
            empty, op = (first, second) if r % 2 == 0 else (second, first)
            diffs.append((op - empty) / args.n)
        cost[operation] = statistics.median(diffs)
    print(f"instructions per operation (callgrind; {args.rounds} rounds of {args.n}; "
          f"median over rounds), OpenTelemetry SDK with batching processors:")
    for operation in OPERATIONS:
        print(f"  {operation:<32} {cost[operation] / 1e3:7.1f} kI")
    print("attributes alone:")
    for what, count in (("span", 30), ("log record", 30), ("histogram point", 4)):
        extra = cost[f"{what} + {count} attributes"] - cost[what]
        print(f"  {what:<16} {count:>2} attributes {extra / 1e3:7.1f} kI "
              f"({extra / count / 1e3:.1f} kI each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

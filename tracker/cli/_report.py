"""`llm-energy report LEDGER`: totals of a JSON Lines ledger, grouped, filtered by time.

The ledger is read line by line (memory grows with the number of groups, not of lines). A line
that is not a JSON object with a valid ``timestamp`` and numeric energy fields is counted,
reported on stderr with its line number, and skipped; it never stops the report (numbers too
large for a float, timestamps outside the representable range, nesting too deep to parse,
negative or implausibly large values are malformed too).

Fields read from each line (`tracker.ledger`, `tracker.attributes`): ``timestamp`` (ISO 8601),
``energy.kwh``, ``energy.gco2e``, ``energy.usd`` (the electricity), ``energy.water_l``, the API
price ``gen_ai.usage.cost.amount`` and its ``energy.price_table``,
``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``, and for grouping
``gen_ai.request.model`` (else ``gen_ai.response.model``, ``energy.model``),
``gen_ai.provider.name``, ``function`` (else ``energy.function``) and ``labels``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from datetime import datetime, timedelta

from tracker.export._ledger_reader import (
    BY_CHOICES,
    Summary,
    parse_time,
    sorted_groups,
    summarize,
)
from tracker.render import _units as U
from tracker.render._columns import human_columns
from tracker.render._tables import Column, Progress, render_table

__all__ = ["main"]

# ----------------------------------------------------------------------------- output
_HEADER = ["calls", "input_tokens", "output_tokens", "energy_kwh", "gco2e", "usd", "water_l",
           "api_calls", "api_usd"]


def _print_table(summary: Summary, by: str | None) -> None:
    ordered = sorted_groups(summary)
    columns, rows, total = human_columns([t for _, t in ordered], summary.total)
    names = [key for key, _ in ordered]
    if by is None:
        render_table([Column(""), *columns], [[names[0], *rows[0]]] if rows else [])
        _price_note(summary)
        return
    render_table([Column(by), *columns], [[n, *r] for n, r in zip(names, rows, strict=True)],
                 total=[U.TOTAL_LABEL, *total])
    _price_note(summary)


def _price_note(summary: Summary) -> None:
    """Where the API price column came from (electricity is what serving the calls used)."""
    t = summary.total
    if t.api_calls:
        missing = t.calls - t.api_calls
        print(f"  API price: list prices of {', '.join(summary.price_tables) or 'a price table'}"
              + (f"; none for {missing:,} of the calls (model not in the table)"
                 if missing else ""))


def _print_json(summary: Summary, args: argparse.Namespace) -> None:
    doc = {
        "ledger": args.ledger, "by": args.by,
        "since": args.since.isoformat() if args.since else None,
        "until": args.until.isoformat() if args.until else None,
        "groups": [{"group": key, **t.as_dict()} for key, t in sorted_groups(summary)],
        "total": summary.total.as_dict(),
        "lines": summary.lines, "filtered_out": summary.filtered_out,
        "malformed": summary.malformed, "malformed_lines": summary.malformed_lines,
        "price_tables": summary.price_tables,
    }
    print(json.dumps(doc, indent=1))


def _print_csv(summary: Summary, by: str | None) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow([by or "group", *_HEADER])
    for key, t in sorted_groups(summary):
        writer.writerow([key, *(repr(v) if isinstance(v, float) else "" if v is None else v
                                for v in t.as_dict().values())])


# ----------------------------------------------------------------------------- command line
def _by(value: str) -> str:
    if value in BY_CHOICES or (value.startswith("label:") and len(value) > len("label:")):
        return value
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(BY_CHOICES)} or label:NAME")


def _since(value: str) -> datetime:
    try:
        return parse_time(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {value!r}") from None
    except OverflowError:
        raise argparse.ArgumentTypeError(f"outside the representable UTC range: {value!r}"
                                         ) from None


def _until(value: str) -> datetime | None:
    """A bare date means the end of that day (inclusive); a time is exclusive.

    The end of the last representable day (9999-12-31) is no bound at all (None).
    """
    parsed = _since(value)
    if len(value.strip()) == 10:
        try:
            parsed += timedelta(days=1)
        except OverflowError:
            return None
    return parsed


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm-energy report",
        description="Totals of energy, emissions, cost, water, tokens and calls in a ledger. "
                    "Tables show human units (Wh, gCO2e, µ$, ...); --json and --csv keep the "
                    "ledger's base units (kWh, gCO2e, USD, L).")
    p.add_argument("ledger", metavar="LEDGER", help="JSON Lines ledger file ('-' for stdin)")
    p.add_argument("--by", type=_by, help="group by model, function, provider, day or label:NAME")
    p.add_argument("--since", type=_since, help="first date/time included (ISO 8601, UTC)")
    p.add_argument("--until", type=_until, help="last date included, or a time excluded")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print one JSON document")
    fmt.add_argument("--csv", action="store_true", help="print CSV rows, one per group")
    p.add_argument("--plot", metavar="FILE.png",
                   help="draw the groups: bars for one day, lines over days (needs matplotlib)")
    p.add_argument("--html", metavar="FILE.html",
                   help="write a self-contained HTML report (totals, charts, table, factors)")
    return p


def _read(args: argparse.Namespace, progress: Progress) -> Summary:
    if args.ledger == "-":
        return summarize(sys.stdin.buffer, by=args.by, since=args.since, until=args.until,
                         daily=bool(args.plot), progress=progress)
    with open(args.ledger, "rb") as stream:
        return summarize(stream, by=args.by, since=args.since, until=args.until,
                         daily=bool(args.plot), progress=progress)


def main(argv: list[str]) -> int:
    """Run the report; returns 0, or 2 for bad arguments or an unreadable ledger."""
    from tracker.exceptions import ConfigError

    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    if args.html and args.ledger == "-":
        print("llm-energy report: error: --html: needs a ledger file (stdin is read once)",
              file=sys.stderr)
        return 2
    total_bytes: float | None = None
    if args.ledger != "-":
        try:
            total_bytes = float(os.stat(args.ledger).st_size)
        except OSError:
            total_bytes = None
    progress = Progress("reading ledger", total_bytes)
    try:
        summary = _read(args, progress)
        if args.html:
            from tracker.render._html import write_report

            write_report(args, progress)
    except OSError as exc:
        progress.close()
        what = "LEDGER" if exc.filename in (None, args.ledger) else "--html"
        print(f"llm-energy report: error: {what}: cannot {'read' if what == 'LEDGER' else 'write'}"
              f" {exc.filename or args.ledger!r}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    progress.close()
    if summary.malformed:
        shown = ", ".join(str(n) for n in summary.malformed_lines)
        more = ", ..." if summary.malformed > len(summary.malformed_lines) else ""
        print(f"llm-energy report: skipped {summary.malformed} malformed line(s) "
              f"(line {shown}{more})", file=sys.stderr)
    if args.json:
        _print_json(summary, args)
    elif args.csv:
        _print_csv(summary, args.by)
    elif not summary.groups:
        print("no records" + (" in the selected period" if summary.filtered_out else ""))
    else:
        _print_table(summary, args.by)
    if args.plot:
        from tracker.render._plot import plot

        try:
            plot(summary, args.plot, args.by)
        except ConfigError as exc:
            print(f"llm-energy report: error: {exc}", file=sys.stderr)
            return 2
        print(f"plot written to {args.plot}", file=sys.stderr)
    if args.html:
        print(f"HTML report written to {args.html}", file=sys.stderr)
    return 0

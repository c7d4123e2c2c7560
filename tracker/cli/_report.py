"""`llm-energy report LEDGER`: totals of a JSON Lines ledger, grouped, filtered by time.

The ledger is read line by line (memory grows with the number of groups, not of lines). A line
that is not a JSON object with a valid ``timestamp`` and numeric energy fields is counted,
reported on stderr with its line number, and skipped; it never stops the report (numbers too
large for a float, timestamps outside the representable range, nesting too deep to parse,
negative or implausibly large values are malformed too).

Fields read from each line (`tracker.ledger`, `tracker.attributes`): ``timestamp`` (ISO 8601),
``energy.kwh``, ``energy.gco2e``, ``energy.usd``, ``energy.water_l``,
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
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import IO, Any

from tracker.cli import _units as U
from tracker.cli._tables import Progress, render_table
from tracker.export import _attributes as A

__all__ = ["LINE_ERRORS", "Summary", "Totals", "human_columns", "main", "parse_line",
           "sorted_groups", "stream_position", "summarize"]

#: Numeric columns: (ledger key, output name).
_NUMBERS = (
    (A.ENERGY_KWH, "energy_kwh"),
    (A.ENERGY_GCO2E, "gco2e"),
    (A.ENERGY_USD, "usd"),
    (A.ENERGY_WATER_L, "water_l"),
)
_TOKENS = ((A.GEN_AI_USAGE_INPUT_TOKENS, "input_tokens"),
           (A.GEN_AI_USAGE_OUTPUT_TOKENS, "output_tokens"))
_BY_CHOICES = ("model", "function", "provider", "day")
_NONE = "(none)"
_SHOWN_BAD_LINES = 5
#: Largest value one line may carry (kWh, gCO2e, USD, L or tokens): 1e15 is beyond the world's
#: yearly electricity use (about 3e13 kWh, IEA Electricity 2024), so larger is a corrupt line; it
#: also keeps every sum finite.
_MAX_VALUE = 1e15
#: Exceptions that mark a line malformed: JSON errors and _Malformed (ValueError), undecodable
#: bytes, integers too large for a float and out-of-range dates (OverflowError), nesting deeper
#: than the parser's recursion limit (RecursionError).
LINE_ERRORS = (ValueError, UnicodeDecodeError, OverflowError, RecursionError, TypeError)


@dataclass
class Totals:
    """Sums over the ledger lines of one group."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    energy_kwh: float = 0.0
    gco2e: float = 0.0
    usd: float = 0.0
    water_l: float = 0.0

    def add(self, other: Totals) -> None:
        """Add another group's sums to this one."""
        self.calls += other.calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.energy_kwh += other.energy_kwh
        self.gco2e += other.gco2e
        self.usd += other.usd
        self.water_l += other.water_l

    def as_dict(self) -> dict[str, float | int]:
        """The sums as a plain dict (output column order)."""
        return {"calls": self.calls, "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens, "energy_kwh": self.energy_kwh,
                "gco2e": self.gco2e, "usd": self.usd, "water_l": self.water_l}


@dataclass
class Summary:
    """What one pass over the ledger found."""

    groups: dict[str, Totals] = field(default_factory=dict)
    total: Totals = field(default_factory=Totals)
    #: (day, group) -> kWh and gCO2e, filled only when a plot is asked for.
    daily: dict[tuple[date, str], list[float]] = field(default_factory=dict)
    lines: int = 0
    filtered_out: int = 0
    malformed: int = 0
    malformed_lines: list[int] = field(default_factory=list)


class _Malformed(ValueError):
    pass


def _parse_time(text: str) -> datetime:
    """ISO 8601 to an aware UTC datetime (naive values are taken as UTC)."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _number(record: dict[str, Any], key: str) -> float:
    value = record.get(key)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Malformed(key)
    number = float(value)  # OverflowError for a 400-digit integer
    if not 0 <= number <= _MAX_VALUE:  # also false for NaN
        raise _Malformed(key)
    return number


def _text(value: object) -> str:
    return _NONE if value is None or value == "" else str(value)


def _group(record: dict[str, Any], by: str | None, when: datetime) -> str:
    if by is None:
        return "total"
    if by == "model":
        return _text(record.get(A.GEN_AI_REQUEST_MODEL) or record.get(A.GEN_AI_RESPONSE_MODEL)
                     or record.get(A.ENERGY_MODEL))
    if by == "provider":
        return _text(record.get(A.GEN_AI_PROVIDER_NAME))
    if by == "function":
        return _text(record.get("function") or record.get(A.ENERGY_FUNCTION))
    if by == "day":
        return when.date().isoformat()
    labels = record.get("labels")
    name = by[len("label:"):]
    value = labels.get(name) if isinstance(labels, dict) else None
    return _text(value if value is not None else record.get(name))


def parse_line(raw: bytes) -> tuple[dict[str, Any], datetime, Totals]:
    """One ledger line: (record, UTC time, its sums); raises one of ``LINE_ERRORS``."""
    record = json.loads(raw)
    if not isinstance(record, dict):
        raise _Malformed("not an object")
    stamp = record.get("timestamp")
    if not isinstance(stamp, str):
        raise _Malformed("timestamp")
    when = _parse_time(stamp)
    row = Totals(1, *(int(_number(record, k)) for k, _ in _TOKENS),
                 *(_number(record, k) for k, _ in _NUMBERS))
    return record, when, row


def summarize(stream: IO[bytes], *, by: str | None = None, since: datetime | None = None,
              until: datetime | None = None, daily: bool = False,
              progress: Progress | None = None) -> Summary:
    """One streaming pass: per-group totals of the lines with ``since <= timestamp < until``."""
    out = Summary()
    tick = progress is not None and progress.enabled
    for number, raw in enumerate(stream, start=1):
        if tick and not number & 0x3FFF and progress is not None:
            progress.update(stream_position(stream), f"{number:,} lines")
        if not raw.strip():
            continue
        out.lines += 1
        try:
            record, when, row = parse_line(raw)
            key = _group(record, by, when)
        except LINE_ERRORS:
            out.malformed += 1
            if len(out.malformed_lines) < _SHOWN_BAD_LINES:
                out.malformed_lines.append(number)
            continue
        if (since is not None and when < since) or (until is not None and when >= until):
            out.filtered_out += 1
            continue
        totals = out.groups.get(key)
        if totals is None:
            totals = out.groups[key] = Totals()
        totals.add(row)
        out.total.add(row)
        if daily:
            cell = out.daily.setdefault((when.date(), key), [0.0, 0.0])
            cell[0] += row.energy_kwh
            cell[1] += row.gco2e
    return out


def stream_position(stream: IO[bytes]) -> float:
    try:
        return float(stream.tell())
    except (OSError, ValueError):
        return 0.0


# ----------------------------------------------------------------------------- output
_HEADER = ["calls", "input_tokens", "output_tokens", "energy_kwh", "gco2e", "usd", "water_l"]


def sorted_groups(summary: Summary) -> list[tuple[str, Totals]]:
    return sorted(summary.groups.items(), key=lambda kv: (-kv[1].energy_kwh, kv[0]))


def human_columns(groups: list[Totals], total: Totals) -> tuple[list[str], list[list[str]],
                                                                   list[str]]:
    """(header, rows, total row) of the people's table: one unit per column, shown in the header."""
    everything = [*groups, total]
    scales = ((U.ENERGY, "energy", "energy_kwh"), (U.CARBON, "carbon", "gco2e"),
              (U.MONEY, "cost", "usd"), (U.WATER, "water", "water_l"))
    units = [scale.for_values(getattr(t, name) for t in everything)
             for scale, _, name in scales]
    header = ["calls", "input tok", "output tok",
              *(f"{label} {unit[1]}" for (_, label, _), unit in zip(scales, units, strict=True))]

    def row(t: Totals) -> list[str]:
        return [f"{t.calls:,}", f"{t.input_tokens:,}", f"{t.output_tokens:,}",
                *(scale.cell(getattr(t, name), unit)
                  for (scale, _, name), unit in zip(scales, units, strict=True))]

    return header, [row(t) for t in groups], row(total)


def _print_table(summary: Summary, by: str | None) -> None:
    ordered = sorted_groups(summary)
    header, rows, total = human_columns([t for _, t in ordered], summary.total)
    names = [key for key, _ in ordered]
    if by is None:
        render_table(["", *header], [[names[0], *rows[0]]] if rows else [], align="lrrrrrrr")
        return
    render_table([by, *header], [[n, *r] for n, r in zip(names, rows, strict=True)],
                 total=["TOTAL", *total], align="lrrrrrrr")


def _print_json(summary: Summary, args: argparse.Namespace) -> None:
    doc = {
        "ledger": args.ledger, "by": args.by,
        "since": args.since.isoformat() if args.since else None,
        "until": args.until.isoformat() if args.until else None,
        "groups": [{"group": key, **t.as_dict()} for key, t in sorted_groups(summary)],
        "total": summary.total.as_dict(),
        "lines": summary.lines, "filtered_out": summary.filtered_out,
        "malformed": summary.malformed, "malformed_lines": summary.malformed_lines,
    }
    print(json.dumps(doc, indent=1))


def _print_csv(summary: Summary, by: str | None) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow([by or "group", *_HEADER])
    for key, t in sorted_groups(summary):
        writer.writerow([key, *(repr(v) if isinstance(v, float) else v
                                for v in t.as_dict().values())])


# ----------------------------------------------------------------------------- command line
def _by(value: str) -> str:
    if value in _BY_CHOICES or (value.startswith("label:") and len(value) > len("label:")):
        return value
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(_BY_CHOICES)} or label:NAME")


def _since(value: str) -> datetime:
    try:
        return _parse_time(value)
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
                    "Tables show human units (Wh, g CO2e, ...); --json and --csv keep the "
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
            from tracker.cli._html import write_report

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
        from tracker.cli._plot import plot

        try:
            plot(summary, args.plot, args.by)
        except ConfigError as exc:
            print(f"llm-energy report: error: {exc}", file=sys.stderr)
            return 2
        print(f"plot written to {args.plot}", file=sys.stderr)
    if args.html:
        print(f"HTML report written to {args.html}", file=sys.stderr)
    return 0

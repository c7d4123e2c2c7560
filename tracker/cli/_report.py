"""`llm-energy report LEDGER`: totals of a JSON Lines ledger, grouped, filtered by time.

The ledger is read line by line (memory grows with the number of groups, not of lines). A line
that is not a JSON object with a valid ``timestamp`` and numeric energy fields is counted,
reported on stderr with its line number, and skipped; it never stops the report.

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
import math
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import IO, Any

from tracker.export import _attributes as A

__all__ = ["Totals", "main", "summarize"]

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
_PLOT_GROUPS = 8


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
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Malformed(key)
    return float(value)


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


def summarize(stream: IO[bytes], *, by: str | None = None, since: datetime | None = None,
              until: datetime | None = None, daily: bool = False) -> Summary:
    """One streaming pass: per-group totals of the lines with ``since <= timestamp < until``."""
    out = Summary()
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        out.lines += 1
        try:
            record = json.loads(raw)
            if not isinstance(record, dict):
                raise _Malformed("not an object")
            stamp = record.get("timestamp")
            if not isinstance(stamp, str):
                raise _Malformed("timestamp")
            when = _parse_time(stamp)
            row = Totals(1, *(int(_number(record, k)) for k, _ in _TOKENS),
                         *(_number(record, k) for k, _ in _NUMBERS))
        except (ValueError, UnicodeDecodeError):  # JSONDecodeError and _Malformed are ValueErrors
            out.malformed += 1
            if len(out.malformed_lines) < _SHOWN_BAD_LINES:
                out.malformed_lines.append(number)
            continue
        if (since is not None and when < since) or (until is not None and when >= until):
            out.filtered_out += 1
            continue
        key = _group(record, by, when)
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


# ----------------------------------------------------------------------------- output
def _fmt(value: float | int) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if value == 0:
        return "0"
    return f"{value:.6g}"


_HEADER = ["calls", "input_tokens", "output_tokens", "energy_kwh", "gco2e", "usd", "water_l"]


def _sorted(summary: Summary) -> list[tuple[str, Totals]]:
    return sorted(summary.groups.items(), key=lambda kv: (-kv[1].energy_kwh, kv[0]))


def _print_table(summary: Summary, by: str | None) -> None:
    rows = [[key, *(_fmt(v) for v in t.as_dict().values())] for key, t in _sorted(summary)]
    if by is not None:
        rows.append(["TOTAL", *(_fmt(v) for v in summary.total.as_dict().values())])
    header = [by or "", "calls", "input tok", "output tok", "kWh", "gCO2e", "USD", "water L"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        print("  ".join(cells).rstrip())


def _print_json(summary: Summary, args: argparse.Namespace) -> None:
    doc = {
        "ledger": args.ledger, "by": args.by,
        "since": args.since.isoformat() if args.since else None,
        "until": args.until.isoformat() if args.until else None,
        "groups": [{"group": key, **t.as_dict()} for key, t in _sorted(summary)],
        "total": summary.total.as_dict(),
        "lines": summary.lines, "filtered_out": summary.filtered_out,
        "malformed": summary.malformed, "malformed_lines": summary.malformed_lines,
    }
    print(json.dumps(doc, indent=1))


def _print_csv(summary: Summary, by: str | None) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow([by or "group", *_HEADER])
    for key, t in _sorted(summary):
        writer.writerow([key, *(repr(v) if isinstance(v, float) else v
                                for v in t.as_dict().values())])


def _plot(summary: Summary, path: str, by: str | None) -> None:
    from tracker.exceptions import ConfigError

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigError("plot", "--plot needs matplotlib: pip install "
                          f"'llm-energy-tracker[plot]' ({exc})") from exc
    top = [key for key, _ in _sorted(summary)[:_PLOT_GROUPS]]
    series: dict[str, dict[date, list[float]]] = {}
    for (day, key), (kwh, gco2e) in summary.daily.items():
        name = key if key in top else "other"
        cell = series.setdefault(name, {}).setdefault(day, [0.0, 0.0])
        cell[0] += kwh
        cell[1] += gco2e
    fig, (ax_e, ax_c) = plt.subplots(2, 1, sharex=True, figsize=(10, 6))
    for name in [*top, "other"] if "other" in series else top:
        days = sorted(series.get(name, {}))
        ax_e.plot(days, [series[name][d][0] for d in days], marker="o", label=name)
        ax_c.plot(days, [series[name][d][1] for d in days], marker="o", label=name)
    ax_e.set_ylabel("energy (kWh / day)")
    ax_c.set_ylabel("emissions (gCO2e / day)")
    ax_c.set_xlabel("day (UTC)")
    ax_e.set_title(f"LLM energy by {by}" if by else "LLM energy")
    if by:
        ax_e.legend(fontsize="small")
    fig.autofmt_xdate()
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as exc:
        raise ConfigError("plot", f"cannot write {path!r}: {exc}") from exc
    finally:
        plt.close(fig)


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


def _until(value: str) -> datetime:
    """A bare date means the end of that day (inclusive); a time is exclusive."""
    parsed = _since(value)
    if len(value.strip()) == 10:
        parsed += timedelta(days=1)
    return parsed


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm-energy report",
        description="Totals of energy, emissions, cost, water, tokens and calls in a ledger.")
    p.add_argument("ledger", metavar="LEDGER", help="JSON Lines ledger file ('-' for stdin)")
    p.add_argument("--by", type=_by, help="group by model, function, provider, day or label:NAME")
    p.add_argument("--since", type=_since, help="first date/time included (ISO 8601, UTC)")
    p.add_argument("--until", type=_until, help="last date included, or a time excluded")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print one JSON document")
    fmt.add_argument("--csv", action="store_true", help="print CSV rows, one per group")
    p.add_argument("--plot", metavar="FILE.png",
                   help="draw the groups over time (needs matplotlib)")
    return p


def main(argv: list[str]) -> int:
    """Run the report; returns 0, or 2 for bad arguments or an unreadable ledger."""
    from tracker.exceptions import ConfigError

    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        if args.ledger == "-":
            summary = summarize(sys.stdin.buffer, by=args.by, since=args.since,
                                until=args.until, daily=bool(args.plot))
        else:
            with open(args.ledger, "rb") as stream:
                summary = summarize(stream, by=args.by, since=args.since, until=args.until,
                                    daily=bool(args.plot))
    except OSError as exc:
        print(f"llm-energy report: error: LEDGER: cannot read {args.ledger!r}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 2
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
        try:
            _plot(summary, args.plot, args.by)
        except ConfigError as exc:
            print(f"llm-energy report: error: {exc}", file=sys.stderr)
            return 2
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0

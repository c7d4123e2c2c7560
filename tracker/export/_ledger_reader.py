"""Reading a ledger: one streaming pass of totals per group, malformed lines counted and skipped.

The ledger is read line by line (memory grows with the number of groups, not of lines). A line
that is not a JSON object with a valid ``timestamp`` and numeric energy fields is counted, its
line number kept, and skipped; it never stops the pass (numbers too large for a float,
timestamps outside the representable range, nesting too deep to parse, negative or implausibly
large values are malformed too). Every text a group is named by (model, provider, function,
label) is cleaned as it enters (`tracker._text.clean`: no control characters, escape sequences or
lone surrogates, length capped), so no output can print it as code. Used by
``llm-energy report`` and by `tracker.compare()`.

Fields read from each line (`tracker.export._ledger`, `tracker._attributes`):
``timestamp`` (ISO 8601), ``energy.kwh``, ``energy.gco2e``, ``energy.usd``, ``energy.water_l``,
``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``, and for grouping
``gen_ai.request.model`` (else ``gen_ai.response.model``, ``energy.model``),
``gen_ai.provider.name``, ``function`` (else ``energy.function``) and ``labels``; the API price
``gen_ai.usage.cost.amount`` (summed over the lines that have one: a group with none has no API
price, not a zero one) and the ``energy.price_table`` it came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any, Protocol

from tracker import _attributes as A
from tracker._isotime import parse_iso
from tracker._text import clean

__all__ = ["BY_CHOICES", "LINE_ERRORS", "Progress", "Summary", "Totals", "group_text",
           "parse_line", "parse_time", "sorted_groups", "stream_position", "summarize"]


class Progress(Protocol):
    """What `summarize` reports progress to (a terminal indicator in the CLI)."""

    enabled: bool

    def update(self, done: float, text: str) -> None:
        """Show how far the pass is."""


#: Numeric columns: (ledger key, output name).
_NUMBERS = (
    (A.ENERGY_KWH, "energy_kwh"),
    (A.ENERGY_GCO2E, "gco2e"),
    (A.ENERGY_USD, "usd"),
    (A.ENERGY_WATER_L, "water_l"),
)
_TOKENS = ((A.GEN_AI_USAGE_INPUT_TOKENS, "input_tokens"),
           (A.GEN_AI_USAGE_OUTPUT_TOKENS, "output_tokens"))
BY_CHOICES = ("model", "function", "provider", "day")
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
    #: The API price (list price, from the price table) of the `api_calls` lines that had one.
    api_usd: float = 0.0
    api_calls: int = 0

    def add(self, other: Totals) -> None:
        """Add another group's sums to this one."""
        self.calls += other.calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.energy_kwh += other.energy_kwh
        self.gco2e += other.gco2e
        self.usd += other.usd
        self.water_l += other.water_l
        self.api_usd += other.api_usd
        self.api_calls += other.api_calls

    def as_dict(self) -> dict[str, float | int | None]:
        """The sums as a plain dict (output column order); ``api_usd`` None when no line had one."""
        return {"calls": self.calls, "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens, "energy_kwh": self.energy_kwh,
                "gco2e": self.gco2e, "usd": self.usd, "water_l": self.water_l,
                "api_calls": self.api_calls, "api_usd": self.api_usd if self.api_calls else None}


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
    #: The price tables (``energy.price_table``) the API prices came from (at most a few).
    price_tables: list[str] = field(default_factory=list)


class _Malformed(ValueError):
    pass


def parse_time(text: str) -> datetime:
    """ISO 8601 to an aware UTC datetime (naive values are taken as UTC); ValueError if not."""
    parsed = parse_iso(text)
    if parsed is None:
        raise ValueError("not an ISO 8601 time")
    return parsed


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


def group_text(value: object) -> str:
    """A group name as safe plain text (`tracker._text.clean`): the ledger is external data."""
    return _NONE if value is None or value == "" else clean(value)


def _group(record: dict[str, Any], by: str | None, when: datetime) -> str:
    if by is None:
        return "total"
    if by == "model":
        return group_text(record.get(A.GEN_AI_REQUEST_MODEL)
                          or record.get(A.GEN_AI_RESPONSE_MODEL) or record.get(A.ENERGY_MODEL))
    if by == "provider":
        return group_text(record.get(A.GEN_AI_PROVIDER_NAME))
    if by == "function":
        return group_text(record.get("function") or record.get(A.ENERGY_FUNCTION))
    if by == "day":
        return when.date().isoformat()
    labels = record.get("labels")
    name = by[len("label:"):]
    value = labels.get(name) if isinstance(labels, dict) else None
    return group_text(value if value is not None else record.get(name))


def parse_line(raw: bytes) -> tuple[dict[str, Any], datetime, Totals]:
    """One ledger line: (record, UTC time, its sums); raises one of ``LINE_ERRORS``."""
    record = json.loads(raw)
    if not isinstance(record, dict):
        raise _Malformed("not an object")
    stamp = record.get("timestamp")
    if not isinstance(stamp, str):
        raise _Malformed("timestamp")
    when = parse_time(stamp)
    row = Totals(1, *(int(_number(record, k)) for k, _ in _TOKENS),
                 *(_number(record, k) for k, _ in _NUMBERS))
    if record.get(A.GEN_AI_USAGE_COST_AMOUNT) is not None:
        row.api_usd = _number(record, A.GEN_AI_USAGE_COST_AMOUNT)
        row.api_calls = 1
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
        if row.api_calls:
            table = record.get(A.ENERGY_PRICE_TABLE)
            if (isinstance(table, str) and len(out.price_tables) < _SHOWN_BAD_LINES
                    and (text := group_text(table)) not in out.price_tables):
                out.price_tables.append(text)
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



def sorted_groups(summary: Summary) -> list[tuple[str, Totals]]:
    return sorted(summary.groups.items(), key=lambda kv: (-kv[1].energy_kwh, kv[0]))



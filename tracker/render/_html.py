"""`llm-energy report LEDGER --html FILE`: one self-contained page to send to someone.

The page holds the totals, charts of energy and carbon over time and by model, function and label
(inline SVG from `_charts`), the table by model, and the method and factors the ledger's lines
used with their sources. It loads nothing: no script, no font, no image, no CDN, and a
Content-Security-Policy that forbids any request, so it opens offline and prints to PDF as shown.
Its totals are computed exactly as ``report --json`` computes them (same lines, same order), and
each total carries its base-unit value in ``data-value`` for machines.
"""

from __future__ import annotations

import argparse
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from html import escape
from typing import IO

from tracker import _attributes as A
from tracker.export._ledger_reader import (
    LINE_ERRORS,
    Totals,
    group_text,
    parse_line,
    stream_position,
)
from tracker.render import _units as U
from tracker.render._charts import bar_chart, line_chart
from tracker.render._columns import human_columns
from tracker.render._tables import Progress

__all__ = ["Collected", "collect", "render", "write_report"]

#: Groups drawn per chart (the rest are summed as "other").
_TOP = 12
#: Label keys given their own chart, first seen first.
_LABEL_KEYS = 4
#: Distinct factor combinations listed.
_FACTOR_ROWS = 12
_NONE = "(none)"
_FACTORS = (A.ENERGY_METHOD, A.ENERGY_HARDWARE, A.ENERGY_REGION, A.ENERGY_PUE,
            A.ENERGY_GRID_GCO2E_PER_KWH, A.ENERGY_GRID_SOURCE, A.ENERGY_PRICE_USD_PER_KWH)


@dataclass
class Collected:
    """Everything the page shows, from one pass over the ledger."""

    total: Totals = field(default_factory=Totals)
    groups: dict[str, dict[str, Totals]] = field(default_factory=dict)
    days: dict[date, list[float]] = field(default_factory=dict)
    hours: dict[datetime, list[float]] = field(default_factory=dict)
    factors: Counter[tuple[str, ...]] = field(default_factory=Counter)
    #: Sums of the lines' low and high ends: energy (kWh) and carbon (gCO2e); a line without
    #: its range counts its central figure at both ends.
    ranges: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])
    first: datetime | None = None
    last: datetime | None = None
    lines: int = 0
    malformed: int = 0
    filtered_out: int = 0


def _text(value: object) -> str:
    return group_text(value)  # cleaned as it enters (tracker._text): ledger text is data


def _bound(value: object, central: float) -> float:
    """A line's range end: a finite, non-negative number, else the central figure."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value) if abs(value) < 1e300 else math.inf
        if math.isfinite(number) and 0 <= number < 1e15:
            return number
    return central


def _add(table: dict[str, Totals], key: str, row: Totals) -> None:
    totals = table.get(key)
    if totals is None:
        totals = table[key] = Totals()
    totals.add(row)


def collect(stream: IO[bytes], *, since: datetime | None = None, until: datetime | None = None,
            progress: Progress | None = None) -> Collected:
    """One pass: totals, groups by model/function/provider/label, days, hours, factors."""
    out = Collected()
    for name in ("model", "function", "provider"):
        out.groups[name] = {}
    tick = progress is not None and progress.enabled
    for number, raw in enumerate(stream, start=1):
        if tick and not number & 0x3FFF and progress is not None:
            progress.update(stream_position(stream), f"{number:,} lines (HTML)")
        if not raw.strip():
            continue
        out.lines += 1
        try:
            record, when, row = parse_line(raw)
            model = _text(record.get(A.GEN_AI_REQUEST_MODEL) or record.get(A.GEN_AI_RESPONSE_MODEL)
                          or record.get(A.ENERGY_MODEL))
            function = _text(record.get("function") or record.get(A.ENERGY_FUNCTION))
            provider = _text(record.get(A.GEN_AI_PROVIDER_NAME))
            labels = record.get("labels")
            label_items = ([(_text(k), _text(v)) for k, v in labels.items()]
                           if isinstance(labels, dict) else [])
            factors = tuple(_text(record.get(k)) for k in _FACTORS)
            low_high = [_bound(record.get(k), central) for k, central in (
                (A.ENERGY_KWH_MIN, row.energy_kwh), (A.ENERGY_KWH_MAX, row.energy_kwh),
                (A.ENERGY_GCO2E_MIN, row.gco2e), (A.ENERGY_GCO2E_MAX, row.gco2e))]
        except LINE_ERRORS:
            out.malformed += 1
            continue
        if (since is not None and when < since) or (until is not None and when >= until):
            out.filtered_out += 1
            continue
        out.total.add(row)
        for k, bound in enumerate(low_high):
            out.ranges[k] += bound
        _add(out.groups["model"], model, row)
        _add(out.groups["function"], function, row)
        _add(out.groups["provider"], provider, row)
        for key, value in label_items:
            table = out.groups.get("label:" + key)
            if table is None:
                if sum(g.startswith("label:") for g in out.groups) >= _LABEL_KEYS:
                    continue
                table = out.groups["label:" + key] = {}
            _add(table, value, row)
        out.factors[factors] += 1
        day = out.days.setdefault(when.date(), [0.0, 0.0])
        day[0] += row.energy_kwh
        day[1] += row.gco2e
        hour = out.hours.setdefault(when.replace(minute=0, second=0, microsecond=0), [0.0, 0.0])
        hour[0] += row.energy_kwh
        hour[1] += row.gco2e
        if out.first is None or when < out.first:
            out.first = when
        if out.last is None or when > out.last:
            out.last = when
    return out


def _ranked(table: dict[str, Totals], value: str) -> list[tuple[str, float]]:
    ordered = sorted(table.items(), key=lambda kv: (-getattr(kv[1], value), kv[0]))
    items = [(k, float(getattr(t, value))) for k, t in ordered[:_TOP]]
    rest = sum(getattr(t, value) for _, t in ordered[_TOP:])
    if len(ordered) > _TOP:
        items.append((f"other ({len(ordered) - _TOP})", float(rest)))
    return items


def _over_time(data: Collected) -> list[str]:
    """Lines over days (over months beyond 92 days) for several days, else bars by hour."""
    if len(data.days) > 1:
        days = sorted(data.days)
        per = "month" if (days[-1] - days[0]).days > 92 else "day"
        buckets: dict[datetime, list[float]] = {}
        for d in days:
            key = datetime(d.year, d.month, 1 if per == "month" else d.day, tzinfo=timezone.utc)
            bucket = buckets.setdefault(key, [0.0, 0.0])
            bucket[0] += data.days[d][0]
            bucket[1] += data.days[d][1]
        points = sorted(buckets.items())
        return [line_chart([(w, v[0]) for w, v in points], U.ENERGY, "Energy over time", per=per),
                line_chart([(w, v[1]) for w, v in points], U.CARBON, "Carbon over time", per=per)]
    hours = sorted(data.hours)
    return [bar_chart([(h.strftime("%H:00 UTC"), data.hours[h][0]) for h in hours], U.ENERGY,
                      "Energy by hour"),
            bar_chart([(h.strftime("%H:00 UTC"), data.hours[h][1]) for h in hours], U.CARBON,
                      "Carbon by hour")]


def _previous_period(data: Collected) -> str:
    """The last 7 days (or the last day) against the 7 days (day) before, when the data allow."""
    if len(data.days) < 2:
        return ""
    last = max(data.days)
    first = min(data.days)
    span = 7 if (last - first).days >= 13 else 1
    if (last - first).days < 2 * span - 1:
        return ""
    recent = [0.0, 0.0]
    before = [0.0, 0.0]
    for d, (kwh, g) in data.days.items():
        age = (last - d).days
        bucket = recent if age < span else before if age < 2 * span else None
        if bucket is not None:
            bucket[0] += kwh
            bucket[1] += g
    what = "the last 7 days" if span == 7 else f"the last day ({last:%Y-%m-%d})"
    other = "the 7 days before" if span == 7 else "the day before"
    rows = []
    for label, scale, k in (("energy", U.ENERGY, 0), ("carbon", U.CARBON, 1)):
        change = ("" if before[k] <= 0 else
                  f" ({'+' if recent[k] >= before[k] else '-'}"
                  f"{U.number(abs(recent[k] / before[k] - 1) * 100)} %)")
        rows.append(f"<li>{label}: {escape(scale.format(recent[k]))} in {what}, against "
                    f"{escape(scale.format(before[k]))} in {other}{escape(change)}</li>")
    return ("<section><h2>Against the previous period</h2><ul>" + "".join(rows) +
            "</ul><p class='meta'>Days are UTC; the last day may be partial.</p></section>")


def _sources(region: str, hardware: str) -> tuple[str, str]:
    """(region source, hardware source) from the registry, '' when unknown there."""
    try:
        from tracker.model._registry import get_registry

        registry = get_registry()
    except Exception:
        return "", ""
    out = []
    for lookup, name in ((registry.region, region), (registry.hardware, hardware)):
        try:
            spec = lookup(name)
            out.append(f"{spec.source} ({spec.year})")
        except Exception:  # not in the registry: the ledger line's own figure is shown
            out.append("")
    return out[0], out[1]


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2428;margin:2rem auto;
max-width:960px;padding:0 1rem;line-height:1.4}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;
border-bottom:1px solid #d6dde1;padding-bottom:.2rem}
.meta{color:#5b676e}.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));
gap:.6rem;margin:1rem 0}.card{border:1px solid #d6dde1;border-radius:6px;padding:.6rem .8rem}
.card dt{color:#5b676e;font-size:.85rem}.card dd{margin:0;font-size:1.35rem;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{padding:.25rem .5rem;
border-bottom:1px solid #e6ebee;text-align:right}th:first-child,td:first-child{text-align:left}
tr.total td{font-weight:600;border-top:2px solid #1d2428}
.charts{display:grid;gap:1.2rem 1.5rem;
grid-template-columns:repeat(auto-fit,minmax(min(380px,100%),1fr))}
.scroll{overflow-x:auto;max-width:100%}.card dd.range{font-size:.8rem;font-weight:400;color:#5b676e}
code{overflow-wrap:anywhere}svg text.label{fill:#1d2428}
figure{margin:0;break-inside:avoid}h3{font-size:1rem}.sources{color:#5b676e;font-size:.85rem}
@media print{body{margin:0;max-width:none}.charts{grid-template-columns:1fr 1fr}
h2{break-after:avoid}figure,tr{break-inside:avoid}}
"""


def _card(label: str, shown: str, key: str, value: float | int | None, note: str = "") -> str:
    extra = f"<dd class='range'>{escape(note)}</dd>" if note else ""
    return (f"<div class='card'><dt>{escape(label)}</dt><dd id='total-{key}' "
            f"data-value='{value!r}'>{escape(shown)}</dd>{extra}</div>")


def _range(scale: U.Scale, central: float, low: float, high: float) -> str:
    unit = scale.for_values((central, high))
    return f"range {scale.format(low, unit)} - {scale.format(high, unit)}"


def _table(title: str, table: dict[str, Totals], total: Totals) -> str:
    ordered = sorted(table.items(), key=lambda kv: (-kv[1].energy_kwh, kv[0]))
    header, rows, total_row = human_columns([t for _, t in ordered], total)
    head = "".join(f"<th>{escape(h)}</th>" for h in [title, *(c.name for c in header)])
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in [name, *row]) + "</tr>"
                   for (name, _), row in zip(ordered, rows, strict=True))
    foot = "".join(f"<td>{escape(c)}</td>" for c in ["total", *total_row])
    return (f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{body}"
            f"<tr class='total'>{foot}</tr></tbody></table></div>")


def _factors(data: Collected) -> str:
    """The factor combinations (most used first), then the sources they refer to, numbered."""
    header = ["calls", "method", "hardware", "region", "PUE", "grid gCO2e/kWh", "grid source",
              "USD/kWh", "sources"]
    sources: list[str] = []

    def ref(text: str) -> str:
        if not text:
            return ""
        if text not in sources:
            sources.append(text)
        return f"[{sources.index(text) + 1}]"

    rows = []
    for combo, calls in data.factors.most_common(_FACTOR_ROWS):
        method, hardware, region, pue, grid, grid_source, price = combo
        region_src, hardware_src = _sources(region, hardware)
        refs = " ".join(r for r in (ref(region_src), ref(hardware_src)) if r) or "ledger"
        cells = [f"{calls:,}", method, hardware, region, pue, grid, grid_source, price, refs]
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    notes = "".join(f"<li>{escape(text)}</li>" for text in sources)
    more = len(data.factors) - _FACTOR_ROWS
    rest = f"<p class='meta'>{more:,} less used combination(s) not listed.</p>" if more > 0 else ""
    return (f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}"
            f"</tbody></table></div>{rest}"
            f"<h3>Sources</h3><ol class='sources'>{notes}</ol>")


def render(data: Collected, *, ledger: str) -> str:
    """The page's HTML text."""
    t = data.total
    period = ("no records" if data.first is None or data.last is None else
              f"{data.first:%Y-%m-%d %H:%M} to {data.last:%Y-%m-%d %H:%M} UTC")
    cards = "".join([
        _card("LLM calls", f"{t.calls:,}", "calls", t.calls),
        _card("input tokens", f"{t.input_tokens:,}", "input_tokens", t.input_tokens),
        _card("output tokens", f"{t.output_tokens:,}", "output_tokens", t.output_tokens),
        _card("energy", U.energy(t.energy_kwh), "energy_kwh", t.energy_kwh,
              _range(U.ENERGY, t.energy_kwh, data.ranges[0], data.ranges[1])),
        _card("carbon", U.carbon(t.gco2e), "gco2e", t.gco2e,
              _range(U.CARBON, t.gco2e, data.ranges[2], data.ranges[3])),
        _card("electricity cost", U.money(t.usd), "usd", t.usd),
        _card("API price", U.money(t.api_usd) if t.api_calls else "none", "api_usd",
              t.api_usd if t.api_calls else None, "list price, from the price table"),
        _card("calls with an API price", f"{t.api_calls:,}", "api_calls", t.api_calls),
        _card("water (on-site)", U.water(t.water_l), "water_l", t.water_l),
    ])
    charts = _over_time(data)
    for name, title in (("model", "model"), ("function", "function"), ("provider", "provider"),
                        *((g, f"label {g[len('label:'):]}") for g in data.groups
                          if g.startswith("label:"))):
        table = data.groups.get(name, {})
        charts.append(bar_chart(_ranked(table, "energy_kwh"), U.ENERGY, f"Energy by {title}"))
        charts.append(bar_chart(_ranked(table, "gco2e"), U.CARBON, f"Carbon by {title}"))
    figures = "".join(f"<figure>{svg}</figure>" for svg in charts)
    skipped = (f" {data.malformed:,} malformed line(s) skipped." if data.malformed else "")
    filtered = (f" {data.filtered_out:,} line(s) outside the period selected."
                if data.filtered_out else "")
    name = group_text(os.path.basename(ledger))  # a file name is data too
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>LLM energy report</title><style>{_CSS}</style></head><body>
<header><h1>LLM energy report</h1>
<p class="meta">Ledger <code>{escape(name)}</code>: {escape(period)}.
{data.lines:,} line(s) read.{skipped}{filtered}</p></header>
<section><h2>Totals</h2><dl class="cards">{cards}</dl></section>
{_previous_period(data)}
<section><h2>Charts</h2><div class="charts">{figures}</div></section>
<section><h2>Top models</h2>{_table("model", data.groups["model"], t)}</section>
<section><h2>Top functions</h2>{_table("function", data.groups["function"], t)}</section>
<section><h2>Method and factors</h2>
<p>Each call was priced by the SDK when it was made; these are the methods and factors its ledger
lines carry (most used first), with the sources of the registry figures. Energy is at the
facility (accelerators, host overhead and PUE); carbon is energy times the grid intensity; cost is
electricity only; water is on-site cooling.</p>{_factors(data)}</section>
<footer><p class="meta">Generated by <code>llm-energy report --html</code>. Machine-readable
totals: <code>llm-energy report --json</code> (kWh, gCO2e, USD, L).</p></footer>
</body></html>
"""


def write_report(args: argparse.Namespace, progress: Progress | None = None) -> None:
    """Read ``args.ledger`` once more and write the page to ``args.html`` (OSError if it can't)."""
    with open(args.ledger, "rb") as stream:
        data = collect(stream, since=args.since, until=args.until, progress=progress)
    page = render(data, ledger=args.ledger)
    with open(args.html, "w", encoding="utf-8") as out:
        out.write(page)


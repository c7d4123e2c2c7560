"""Charts as inline SVG text, generated in Python (no script, no network, prints as drawn).

`bar_chart` draws one horizontal bar per group (what to show when the data spans one day, and the
"by model / function / label" charts); `line_chart` draws one value over time. Values come in the
base unit (kWh, gCO2e, ...) and are shown in one human unit for the whole chart (`_units`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from html import escape

from tracker.render import _units as U

__all__ = ["bar_chart", "line_chart", "nice_ticks"]

_WIDTH = 460
_FONT = "font-family='system-ui, sans-serif' font-size='12'"
_BAR = "#2b8a6e"
_LINE = "#1f6fb2"


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``high`` (1, 2, 2.5 or 5 times a power of ten)."""
    if not math.isfinite(high) or high <= 0:
        return [0.0, 1.0]
    raw = high / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < high - 1e-12 * high:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def _svg(height: int, title: str, body: list[str]) -> str:
    label = escape(title)
    return (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {_WIDTH} {height}' "
            f"width='100%' role='img' aria-label='{label}' {_FONT}>"
            f"<title>{label}</title>" + "".join(body) + "</svg>")


#: Characters of a label that fit the chart's width (12 px system-ui, about 6.6 px a character).
_LABEL_CHARS = 66


def _label(name: str) -> str:
    """A label that fits: whole, or cut after a separator (never after a digit) with ``…``."""
    if len(name) <= _LABEL_CHARS:
        return name
    head = name[:_LABEL_CHARS - 1]
    cut = max(head.rfind(c) for c in " -_.:/,")
    if cut > _LABEL_CHARS // 2:
        head = head[:cut + 1]
    return head.rstrip("0123456789 ") + "…"


def bar_chart(items: Sequence[tuple[str, float]], scale: U.Quantity, title: str) -> str:
    """Horizontal bars, largest first as given; the values' unit is chosen once for the chart.

    Each label is on its own line above its bar, from the left edge, so a long name is never cut
    by the chart's border; a name longer than the chart is shortened after a whole word with
    ``…`` and shown whole on hover (its ``<title>``).
    """
    unit = scale.for_values(v for _, v in items)
    left, right, row = 0, 70, 36
    height = 30 + row * max(len(items), 1)
    high = max((v for _, v in items), default=0.0)
    span = _WIDTH - left - right
    body = [f"<text x='0' y='16' font-weight='600'>{escape(title)} ({escape(unit[1])})</text>"]
    for i, (name, value) in enumerate(items):
        y = 26 + i * row
        width = 0.0 if high <= 0 else span * value / high
        body.append(f"<text x='{left}' y='{y + 12}' class='label'>"
                    f"<title>{escape(name)}</title>{escape(_label(name))}</text>")
        body.append(f"<rect x='{left}' y='{y + 17}' width='{width:.1f}' height='{row - 22}' "
                    f"fill='{_BAR}' rx='2'/>")
        body.append(f"<text x='{left + width + 6:.1f}' y='{y + 28}'>"
                    f"{escape(scale.cell(value, unit))}</text>")
    if not items:
        body.append(f"<text x='{left}' y='40'>no data</text>")
    return _svg(height, title, body)


def line_chart(points: Sequence[tuple[datetime, float]], scale: U.Quantity, title: str,
               *, per: str = "day") -> str:
    """One value over time (points sorted by time), y from 0, a unit chosen for the chart."""
    unit = scale.for_values(v for _, v in points)
    stamp = "%Y-%m" if per == "month" else "%Y-%m-%d"
    left, right, top, bottom, height = 50, 40, 28, 40, 230
    plot_w, plot_h = _WIDTH - left - right, height - top - bottom
    ticks = nice_ticks(max((v * unit[0] for _, v in points), default=0.0))
    y_max = ticks[-1] or 1.0
    body = [f"<text x='0' y='16' font-weight='600'>{escape(title)} "
            f"({escape(unit[1])} per {escape(per)})</text>"]
    for tick in ticks:
        y = top + plot_h - plot_h * tick / y_max
        body.append(f"<line x1='{left}' x2='{_WIDTH - right}' y1='{y:.1f}' y2='{y:.1f}' "
                    f"stroke='#ddd'/>")
        body.append(f"<text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end'>"
                    f"{escape(U.number(tick))}</text>")
    if points:
        t0 = points[0][0].timestamp()
        t_span = (points[-1][0].timestamp() - t0) or 1.0

        def xy(when: datetime, value: float) -> tuple[float, float]:
            x = left + plot_w * (when.timestamp() - t0) / t_span
            return x, top + plot_h - plot_h * value * unit[0] / y_max

        coords = [xy(w, v) for w, v in points]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body.append(f"<polyline points='{path}' fill='none' stroke='{_LINE}' "
                    f"stroke-width='2'/>")
        if len(coords) <= 62:
            body.extend(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='2.5' fill='{_LINE}'/>"
                        for x, y in coords)
        labels = 4
        for i in range(labels + 1):
            index = round(i * (len(points) - 1) / labels)
            if i and index == round((i - 1) * (len(points) - 1) / labels):
                continue
            x, _ = coords[index]
            body.append(f"<text x='{x:.1f}' y='{height - bottom + 16}' text-anchor='middle'>"
                        f"{escape(points[index][0].strftime(stamp))}</text>")
    else:
        body.append(f"<text x='{left + 10}' y='{top + 20}'>no data</text>")
    return _svg(height, title, body)

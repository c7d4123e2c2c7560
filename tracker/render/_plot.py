"""`llm-energy report --plot FILE.png`: the groups drawn with matplotlib (the `plot` extra).

Bars by group when the data spans one day, lines over the days otherwise; the values in one human
unit per chart (`_units`), like the tables.
"""

from __future__ import annotations

from datetime import date

from tracker.export._ledger_reader import Summary, sorted_groups
from tracker.render import _units as U

__all__ = ["plot"]

#: Groups drawn (the rest are summed as "other").
_PLOT_GROUPS = 8


def plot(summary: Summary, path: str, by: str | None) -> None:
    """A PNG: bars by group when the data spans one day, lines over the days otherwise."""
    from tracker.exceptions import ConfigError

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigError("plot", "--plot needs matplotlib: pip install "
                          f"'llm-energy-tracker[plot]' ({exc})") from exc
    top = [key for key, _ in sorted_groups(summary)[:_PLOT_GROUPS]]
    series: dict[str, dict[date, list[float]]] = {}
    for (day, key), (kwh, gco2e) in summary.daily.items():
        name = key if key in top else "other"
        cell = series.setdefault(name, {}).setdefault(day, [0.0, 0.0])
        cell[0] += kwh
        cell[1] += gco2e
    names = [*top, "other"] if "other" in series else top
    days = sorted({day for day, _ in summary.daily})
    e_unit = U.ENERGY.for_values(v[0] for s in series.values() for v in s.values())
    c_unit = U.CARBON.for_values(v[1] for s in series.values() for v in s.values())
    fig, (ax_e, ax_c) = plt.subplots(2, 1, sharex=len(days) > 1, figsize=(10, 6))
    if len(days) <= 1:  # one day: a bar per group
        for ax, i, unit in ((ax_e, 0, e_unit), (ax_c, 1, c_unit)):
            values = [sum(v[i] for v in series.get(n, {}).values()) * unit[0] for n in names]
            ax.bar(range(len(names)), values, color="#2a7")
            ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize="small")
        when = days[0].isoformat() if days else ""
        ax_e.set_ylabel(f"energy ({e_unit[1]})")
        ax_c.set_ylabel(f"emissions ({c_unit[1]})")
        ax_e.set_title(f"LLM energy by {by or 'group'}, {when}")
    else:
        for name in names:
            points = sorted(series.get(name, {}))
            ax_e.plot(points, [series[name][d][0] * e_unit[0] for d in points], marker="o",
                      label=name)
            ax_c.plot(points, [series[name][d][1] * c_unit[0] for d in points], marker="o",
                      label=name)
        ax_e.set_ylabel(f"energy ({e_unit[1]} / day)")
        ax_c.set_ylabel(f"emissions ({c_unit[1]} / day)")
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

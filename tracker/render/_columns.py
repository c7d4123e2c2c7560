"""The people's table of ledger totals: one unit per column, chosen from the column's values."""

from __future__ import annotations

from tracker.export._ledger_reader import Totals
from tracker.render import _units as U

__all__ = ["human_columns"]


def human_columns(groups: list[Totals], total: Totals) -> tuple[list[str], list[list[str]],
                                                                   list[str]]:
    """(header, rows, total row) of the people's table: one unit per column, shown in the header."""
    everything = [*groups, total]
    scales = ((U.ENERGY, "energy", "energy_kwh"), (U.CARBON, "carbon", "gco2e"),
              (U.MONEY, "electricity", "usd"), (U.WATER, "water", "water_l"))
    units = [scale.for_values(getattr(t, name) for t in everything)
             for scale, _, name in scales]
    header = ["calls", "input tok", "output tok",
              *(f"{label} {unit[1]}" for (_, label, _), unit in zip(scales, units, strict=True))]

    def row(t: Totals) -> list[str]:
        return [f"{t.calls:,}", f"{t.input_tokens:,}", f"{t.output_tokens:,}",
                *(scale.cell(getattr(t, name), unit)
                  for (scale, _, name), unit in zip(scales, units, strict=True))]

    return header, [row(t) for t in groups], row(total)



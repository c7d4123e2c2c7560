"""The people's table of ledger totals: one unit per column, chosen from the column's values.

On a narrow terminal the columns go in this order (`tracker.render._tables`): input and output
tokens first, then water, then cost; calls, energy and carbon stay.
"""

from __future__ import annotations

from tracker.export._ledger_reader import Totals
from tracker.render import _units as U
from tracker.render._tables import Column

__all__ = ["human_columns"]


def human_columns(groups: list[Totals], total: Totals) -> tuple[list[Column], list[list[str]],
                                                                   list[str]]:
    """(columns, rows, total row) of the people's table: one unit per column, in the header."""
    everything = [*groups, total]
    scales = ((U.ENERGY, "energy", "energy_kwh", 1), (U.CARBON, "carbon", "gco2e", 1),
              (U.MONEY, "electricity", "usd", 3), (U.WATER, "water", "water_l", 4))
    units = [scale.for_values(getattr(t, name) for t in everything)
             for scale, _, name, _ in scales]
    columns = [Column("calls", "r"), Column("input tok", "r", priority=5),
               Column("output tok", "r", priority=5),
               *(Column(f"{label} {unit[1]}", "r", priority=priority)
                 for (_, label, _, priority), unit in zip(scales, units, strict=True))]

    def row(t: Totals) -> list[str]:
        return [f"{t.calls:,}", f"{t.input_tokens:,}", f"{t.output_tokens:,}",
                *(scale.cell(getattr(t, name), unit)
                  for (scale, _, name, _), unit in zip(scales, units, strict=True))]

    return columns, [row(t) for t in groups], row(total)

"""The people's table of ledger totals: one unit per column, chosen from the column's values.

On a narrow terminal the columns go in this order (`tracker.render._tables`): input and output
tokens first, then water, then the API price, then the electricity; calls, energy and carbon
stay. The API price (what the provider bills at list price, from the price table the ledger
names) is "-" for a group none of whose calls had one.
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
    api_unit = U.MONEY.for_values(t.api_usd for t in everything if t.api_calls)
    columns = [Column("calls", "r"), Column("input tok", "r", priority=5),
               Column("output tok", "r", priority=5),
               *(Column(f"{label} {unit[1]}", "r", priority=priority)
                 for (_, label, _, priority), unit in zip(scales, units, strict=True))]
    priced = total.api_calls > 0  # no column of dashes where no call has an API price
    if priced:
        columns.insert(-1, Column(f"API price {api_unit[1]}", "r", priority=4))

    def row(t: Totals) -> list[str]:
        cells = [f"{t.calls:,}", f"{t.input_tokens:,}", f"{t.output_tokens:,}",
                 *(scale.cell(getattr(t, name), unit)
                   for (scale, _, name, _), unit in zip(scales, units, strict=True))]
        if priced:
            cells.insert(-1, U.MONEY.cell(t.api_usd, api_unit) if t.api_calls else "-")
        return cells

    return columns, [row(t) for t in groups], row(total)

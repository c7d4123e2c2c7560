"""Human units, one way for the whole product: terminal tables, cards, the demo, the HTML report.

The rules (docs/cli.md, "Units"):

- Every quantity is a number, a space, then its unit with an SI prefix: ``4.75 mWh``,
  ``155 mgCO2e``, ``51.5 µ$``, ``12 mL``. Money follows the same rule (``µ$`` is a millionth of a
  dollar, ``m$`` a thousandth: one LLM call often costs a few µ$); there is no ``¢`` and no
  ``USD`` suffix in what a person reads. Emissions are always written ``gCO2e`` (``mgCO2e``,
  ``kgCO2e``, ``tCO2e``), with no space inside.
- Three significant digits, never exponent notation, never three zeros after the point: the
  prefix changes instead. Digits left of the point are never dropped (``12,345``). The prefix is
  the largest in which the value reads at least 1 (engineering style: ``155 mgCO2e``, ``121 k$``).
- A column (or a chart, or a value with its range) uses one unit for all its values, chosen from
  its largest value (`Scale.for_values`), so the rows compare at a glance; a value too small to
  show in it reads ``< 0.001``.
- Durations read in h, min and s (`duration`): ``21 min``, ``3 h 05 min``, ``4.2 s``.
- The sum row of a table is labelled ``total`` (`TOTAL_LABEL`).

Machine outputs (``--json``, ``--csv``, spans, the ledger) keep the base units (kWh, gCO2e, USD,
L) and are not formatted here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["CARBON", "DIGITS", "ENERGY", "MONEY", "TOTAL_LABEL", "WATER", "Quantity", "Scale",
           "carbon", "duration", "energy", "money", "number", "per_kwh", "water"]

#: Significant digits shown, for every quantity and factor.
DIGITS = 3
_DIGITS = DIGITS

#: The label of a table's sum row, everywhere.
TOTAL_LABEL = "total"


@dataclass(frozen=True)
class Scale:
    """A quantity's units: (factor from the base unit, suffix), smallest first."""

    units: tuple[tuple[float, str], ...]

    def unit_for(self, value: float) -> tuple[float, str]:
        """The largest unit in which ``|value|`` reads at least 1 (``290 mWh``, ``4.75 Wh``)."""
        size = abs(value)
        chosen = self.units[0]
        if not math.isfinite(size) or size == 0:
            return self._base()
        for factor, suffix in self.units:
            if size * factor >= 1 - 1e-12:
                chosen = (factor, suffix)
        return chosen

    def _base(self) -> tuple[float, str]:
        return next((u for u in self.units if u[0] == 1.0), self.units[0])

    def for_values(self, values: Iterable[float]) -> tuple[float, str]:
        """One unit for a column: the one its largest value reads best in (the total, often)."""
        finite = [abs(v) for v in values if math.isfinite(v) and v != 0]
        return self.unit_for(max(finite)) if finite else self._base()

    def cell(self, value: float, unit: tuple[float, str]) -> str:
        """The number alone, in a column's unit; ``< 0.001`` for what is too small to show."""
        scaled = value * unit[0]
        if scaled != 0 and abs(scaled) < 0.001:
            return "< 0.001"
        return number(scaled)

    def format(self, value: float, unit: tuple[float, str] | None = None) -> str:
        """``value`` (in the base unit) as text: ``4.75 mWh``; one unit for a column if given."""
        factor, suffix = unit if unit is not None else self.unit_for(value)
        return f"{self.cell(value, (factor, suffix))} {suffix}"

    def span(self, central: float, low: float, high: float) -> str:
        """A value with its range, in one unit: ``155 mgCO2e (32.4-771)``."""
        unit = self.for_values((central, low, high))
        text = self.format(central, unit)
        if low == high:
            return text
        return f"{text} ({self.cell(low, unit)}-{self.cell(high, unit)})"


ENERGY = Scale(((1e9, "µWh"), (1e6, "mWh"), (1e3, "Wh"), (1.0, "kWh"), (1e-3, "MWh"),
                (1e-6, "GWh"), (1e-9, "TWh")))
CARBON = Scale(((1e6, "µgCO2e"), (1e3, "mgCO2e"), (1.0, "gCO2e"), (1e-3, "kgCO2e"),
                (1e-6, "tCO2e")))
WATER = Scale(((1e6, "µL"), (1e3, "mL"), (1.0, "L"), (1e-3, "m³")))
#: Money, in USD: µ$ (a millionth of a dollar), m$ (a thousandth), $, k$, M$.
MONEY = Scale(((1e6, "µ$"), (1e3, "m$"), (1.0, "$"), (1e-3, "k$"), (1e-6, "M$")))

#: Anything that picks a unit for a column and formats values.
Quantity = Scale


def number(value: float, digits: int = _DIGITS) -> str:
    """``value`` with ``digits`` significant digits, fixed-point, thousands separated.

    Never exponent notation: ``1.23``, ``0.0123``, ``12.3``, ``12,345``; ``inf`` and ``nan`` are
    shown as such (callers refuse non-finite inputs before they get here).
    """
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    size = abs(value)
    if size >= 10 ** (digits - 1):
        return f"{value:,.0f}"
    decimals = digits - 1 - math.floor(math.log10(size))
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def energy(kwh: float, unit: tuple[float, str] | None = None) -> str:
    """Energy given in kWh, e.g. ``0.29 Wh``."""
    return ENERGY.format(kwh, unit)


def carbon(gco2e: float, unit: tuple[float, str] | None = None) -> str:
    """Emissions given in gCO2e, e.g. ``1.53 mgCO2e``."""
    return CARBON.format(gco2e, unit)


def water(litres: float, unit: tuple[float, str] | None = None) -> str:
    """Water given in litres, e.g. ``12 mL``."""
    return WATER.format(litres, unit)


def money(usd: float, unit: tuple[float, str] | None = None) -> str:
    """Money given in USD: ``1.23 k$``, ``250 m$``, ``2.46 m$``, ``51.5 µ$``."""
    return MONEY.format(usd, unit)


def per_kwh(value: float, unit: str) -> str:
    """A factor per kWh, e.g. ``369 gCO2e/kWh``, ``0.0812 $/kWh``, ``0.3 L/kWh``."""
    return f"{number(value)} {unit}/kWh"


def duration(seconds: float) -> str:
    """A duration in h, min and s: ``4.2 s``, ``21 min``, ``3 h 05 min``, ``1,234 h``."""
    if not math.isfinite(seconds):
        return str(seconds)
    if seconds < 0:
        return "-" + duration(-seconds)
    if seconds < 60:
        return f"{number(seconds)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours >= 100:
        return f"{hours + minutes / 60:,.0f} h"
    return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"

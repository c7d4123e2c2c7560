"""Human units for what a person reads: mWh/Wh/kWh/MWh, mg/g/kg/t CO2e, mL/L, USD.

Machine outputs (``--json``, ``--csv``, spans, the ledger) keep the base units (kWh, gCO2e, USD,
L); only tables, the demo, the estimate card and the HTML report go through this module. A value is
shown with three significant digits, never in exponent notation and never with three or more
zeros after the point: the unit is scaled instead. A column uses one unit for all its rows
(`Scale.for_values`) so that the rows compare at a glance; a row too small to show in it
reads ``< 0.001``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["CARBON", "ENERGY", "MONEY", "WATER", "Quantity", "Scale", "carbon", "energy", "money",
           "number", "water"]

#: Significant digits shown.
_DIGITS = 3


@dataclass(frozen=True)
class Scale:
    """A quantity's units: (factor from the base unit, suffix), smallest first."""

    units: tuple[tuple[float, str], ...]

    def unit_for(self, value: float) -> tuple[float, str]:
        """The largest unit in which ``|value|`` reads at least 0.1 (``0.29 Wh``, ``4.75 mWh``)."""
        size = abs(value)
        chosen = self.units[0]
        if not math.isfinite(size) or size == 0:
            return self._base()
        for factor, suffix in self.units:
            if size * factor >= 0.1 - 1e-15:
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


ENERGY = Scale(((1e9, "µWh"), (1e6, "mWh"), (1e3, "Wh"), (1.0, "kWh"), (1e-3, "MWh"),
                (1e-6, "GWh"), (1e-9, "TWh")))
CARBON = Scale(((1e6, "µg CO2e"), (1e3, "mg CO2e"), (1.0, "g CO2e"), (1e-3, "kg CO2e"),
                (1e-6, "t CO2e"), (1e-9, "kt CO2e"), (1e-12, "Mt CO2e")))
WATER = Scale(((1e6, "µL"), (1e3, "mL"), (1.0, "L"), (1e-3, "m³")))


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
    """Emissions given in gCO2e, e.g. ``1.53 mg CO2e``."""
    return CARBON.format(gco2e, unit)


def water(litres: float, unit: tuple[float, str] | None = None) -> str:
    """Water given in litres, e.g. ``12 mL``."""
    return WATER.format(litres, unit)


class _Money(Scale):
    """USD: ``$1.23`` from a dollar, ``$0.25`` from 10 cents, ``0.25¢``, then ``3.1 µUSD``."""

    def format(self, value: float, unit: tuple[float, str] | None = None) -> str:
        """``value`` (USD) as text; one unit for a column if given."""
        unit_ = unit if unit is not None else self.unit_for(value)
        scaled = value * unit_[0]
        suffix = unit_[1]
        if suffix == "USD":
            return f"${scaled:,.2f}" if abs(scaled) >= 1 else f"${self.cell(value, unit_)}"
        if suffix == "¢":
            return f"{self.cell(value, unit_)}¢"
        return f"{self.cell(value, unit_)} {suffix}"


#: µUSD is a millionth of a dollar (one LLM call often costs a few).
MONEY = _Money(((1e6, "µUSD"), (100.0, "¢"), (1.0, "USD")))

#: Anything that picks a unit for a column and formats values.
Quantity = Scale


def money(usd: float, unit: tuple[float, str] | None = None) -> str:
    """Money given in USD: ``$1.23``, ``$0.25``, ``0.246¢``, ``3.1 µUSD``."""
    return MONEY.format(usd, unit)

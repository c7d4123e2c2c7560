"""Budget specs: `Budget` (a limit per period, keyed by a label) and their parsing.

Pure data and validation, shared by the configuration (``configure(budgets=...)``, the
``TRACKER_BUDGETS`` variable) and the budget accounting in `tracker.reduce._budgets`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tracker import _attributes as A
from tracker.config import _parsers as P
from tracker.exceptions import ConfigError

__all__ = [
    "FIELD",
    "PERIODS",
    "UNITS",
    "Budget",
    "BudgetEvent",
    "OnExceed",
    "budgets_option",
    "parse_budgets",
]

Unit = Literal["gCO2e", "kWh", "USD"]
Period = Literal["hour", "day", "month"]
UNITS: tuple[str, ...] = ("gCO2e", "kWh", "USD")
PERIODS: tuple[str, ...] = ("hour", "day", "month")
#: Call attribute summed by each unit.
FIELD = {"gCO2e": A.ENERGY_GCO2E, "kWh": A.ENERGY_KWH, "USD": A.ENERGY_USD}


@dataclass(frozen=True, slots=True)
class BudgetEvent:
    """What `on_exceed` receives: the budget crossed and what was spent in its period."""

    key: str
    period: str
    unit: str
    limit: float
    spent: float

    def attributes(self) -> dict[str, Any]:
        """The event as ``energy.budget.*`` attributes."""
        return {A.ENERGY_BUDGET_KEY: self.key, A.ENERGY_BUDGET_PERIOD: self.period,
                A.ENERGY_BUDGET_UNIT: self.unit, A.ENERGY_BUDGET_LIMIT: self.limit,
                A.ENERGY_BUDGET_SPENT: self.spent}


OnExceed = Literal["raise"] | Callable[[BudgetEvent], object] | None


def check_on_exceed(field: str, on_exceed: object) -> None:
    if on_exceed is not None and on_exceed != "raise" and not callable(on_exceed):
        raise ConfigError(field, f"must be None, 'raise' or a callable, got {on_exceed!r}")


def check_limit(field: str, limit: object) -> float:
    """A budget limit: the configuration's one bounded limit parser (finite, > 0, <= 1e15)."""
    if isinstance(limit, str):
        raise ConfigError(field, "must be a number, not text")
    return P.limit(field, limit)


@dataclass(frozen=True)
class Budget:
    """A configuration budget: at most `limit` `unit` per `period` for the calls of one label.

    ``Budget(500, "gCO2e", "day", label="team", value="search")`` is team=search's daily carbon;
    ``value=None`` gives every value of the label its own budget; ``label=None`` counts every
    call. Raises `ConfigError("budgets", ...)` for an invalid field.
    """

    limit: float
    unit: Unit = "gCO2e"
    period: Period = "day"
    label: str | None = None
    value: str | None = None
    on_exceed: OnExceed = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit", check_limit("budgets", self.limit))
        if self.unit not in UNITS:
            raise ConfigError("budgets", f"unit must be one of {', '.join(UNITS)}, "
                              f"got {self.unit!r}")
        if self.period not in PERIODS:
            raise ConfigError("budgets", f"period must be one of {', '.join(PERIODS)}, "
                              f"got {self.period!r}")
        if self.label is not None and (not isinstance(self.label, str) or not self.label):
            raise ConfigError("budgets", f"label must be a label name, got {self.label!r}")
        if self.value is not None and self.label is None:
            raise ConfigError("budgets", "value needs a label")
        if self.value is not None and not isinstance(self.value, str):
            object.__setattr__(self, "value", str(self.value))
        check_on_exceed("budgets", self.on_exceed)

    def key_for(self, value: object) -> str:
        """The ``energy.budget.key`` of this budget for one label value."""
        if self.label is None:
            return "all"
        return f"{self.label}={value}"


_ITEM = re.compile(r"^\s*(?:(?P<label>[A-Za-z_][\w.\-]*)=(?P<value>[^:]+):)?\s*"
                   r"(?P<limit>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(?P<unit>gCO2e|kWh|USD)"
                   r"\s*/\s*(?P<period>hour|day|month)\s*(?P<raise>!raise)?\s*$", re.IGNORECASE)


def parse_budgets(text: str, field: str = "budgets") -> list[Budget]:
    """Budgets from text: comma-separated ``[LABEL=VALUE:]LIMIT UNIT/PERIOD[!raise]`` items.

    ``team=search:500gCO2e/day``, ``tenant=*:2kWh/month`` (every tenant its own), ``10USD/hour``
    (all calls), ``team=ml:1kWh/day!raise``. Raises `ConfigError(field, ...)`.
    """
    budgets: list[Budget] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        match = _ITEM.match(item)
        if match is None:
            raise ConfigError(field, f"cannot read {item!r}: expected [LABEL=VALUE:]LIMIT "
                              "UNIT/PERIOD, e.g. team=search:500gCO2e/day")
        unit = {u.lower(): u for u in UNITS}[match["unit"].lower()]
        value = match["value"].strip() if match["value"] else None
        try:
            budgets.append(Budget(
                P.limit(field, match["limit"]), unit, match["period"].lower(),  # type: ignore[arg-type]
                label=match["label"], value=None if value == "*" else value,
                on_exceed="raise" if match["raise"] else None))
        except ConfigError as exc:
            shown = repr(item) if len(item) <= 60 else repr(item[:57]) + "..."
            raise ConfigError(field, f"{shown}: {str(exc).split(': ', 1)[-1]}") from None
    return budgets


def budgets_option(name: str, value: object) -> tuple[Budget, ...]:
    """The ``budgets`` configuration option: `Budget` specs, mappings, or text (`parse_budgets`).

    None or empty: no budgets. Raises `ConfigError(name, ...)`.
    """
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(parse_budgets(value, name))
    if isinstance(value, (Budget, Mapping)):
        value = [value]
    if not isinstance(value, Iterable):
        raise ConfigError(name, f"expected tracker.Budget specs or text, got {value!r}")
    out: list[Budget] = []
    for item in value:
        if isinstance(item, Budget):
            out.append(item)
        elif isinstance(item, Mapping):
            try:
                out.append(Budget(**item))
            except TypeError as exc:
                raise ConfigError(name, f"not a budget: {exc}") from None
            except ConfigError as exc:
                raise ConfigError(name, str(exc).split(": ", 1)[-1]) from None
        else:
            raise ConfigError(name, f"expected tracker.Budget specs, got {item!r}")
    return tuple(out)



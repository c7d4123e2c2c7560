"""Carbon, energy and cost budgets: per tracked block and per period keyed by a label.

Two kinds of budget, both process-local:

- a tracked block's own: ``track_energy(..., budget_gco2e=50, budget_kwh=..., budget_usd=...)``,
  spent by the LLM calls inside one run of the block (period ``scope``, key: the block's name);
- configuration budgets: `Budget` specs given to `set_budgets()` (what ``configure(budgets=...)``
  passes on), each a limit per ``hour``, ``day`` or ``month`` (UTC calendar periods) for the calls
  whose label `label` has the value `value` (``value=None``: every value its own budget;
  ``label=None``: every call).

When a budget is crossed (spent > limit), once per period and budget however many threads and
tasks spend it: a span event ``energy.budget.exceeded`` (on the block's span, or the span current
when the call began), a WARNING log record with the same attributes (OpenTelemetry and the
``tracker.budgets`` standard-library logger), and the optional `on_exceed` callback. The gauge
``energy.budget.utilization`` reports spent / limit. With ``on_exceed="raise"`` the next LLM call
under a spent budget raises `tracker.BudgetExceeded` before it is made (`check_before_call`).

Cost when no budget is set: one ``is None`` check per call (the export hook is not installed) and
one per enclosing block. A block's own budgets live in `tracker.reduce._block_budgets`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from tracker._internal_errors import report
from tracker.exceptions import BudgetExceeded, ConfigError
from tracker.export import _attributes as A
from tracker.export import _telemetry

__all__ = [
    "PERIODS",
    "UNITS",
    "Budget",
    "BudgetEvent",
    "budgets_option",
    "check_before_call",
    "parse_budgets",
    "set_budgets",
]

Unit = Literal["gCO2e", "kWh", "USD"]
Period = Literal["hour", "day", "month"]
UNITS: tuple[str, ...] = ("gCO2e", "kWh", "USD")
PERIODS: tuple[str, ...] = ("hour", "day", "month")
#: Call attribute summed by each unit.
_FIELD = {"gCO2e": A.ENERGY_GCO2E, "kWh": A.ENERGY_KWH, "USD": A.ENERGY_USD}
#: Distinct label values tracked per configuration budget (further values are not counted).
_MAX_VALUES = 1000

logger = logging.getLogger("tracker.budgets")


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


def _check_on_exceed(field: str, on_exceed: object) -> None:
    if on_exceed is not None and on_exceed != "raise" and not callable(on_exceed):
        raise ConfigError(field, f"must be None, 'raise' or a callable, got {on_exceed!r}")


def _check_limit(field: str, limit: object) -> float:
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0 \
            or limit == float("inf"):
        raise ConfigError(field, f"must be a finite number > 0, got {limit!r}")
    return float(limit)


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
        object.__setattr__(self, "limit", _check_limit("budgets", self.limit))
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
        _check_on_exceed("budgets", self.on_exceed)

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
                float(match["limit"]), unit, match["period"].lower(),  # type: ignore[arg-type]
                label=match["label"], value=None if value == "*" else value,
                on_exceed="raise" if match["raise"] else None))
        except ConfigError as exc:
            raise ConfigError(field, f"{item!r}: {exc}") from None
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


# ----------------------------------------------------------------------------- firing


def _fire(event: BudgetEvent, on_exceed: OnExceed, span: Any, parent: Any,
          telemetry: Any = None) -> None:
    """Emit the event, the log records and call the callback (never raises)."""
    attrs = event.attributes()
    try:
        if telemetry is None:
            from tracker.config._configure import get_runtime

            telemetry = get_runtime().telemetry
        telemetry.budget_exceeded(span, attrs, parent=parent)
    except Exception as exc:
        report("budgets.event", exc)
    logger.warning("%s: budget %r (%s) spent %.6g of %.6g %s", A.EVENT_BUDGET_EXCEEDED,
                   event.key, event.period, event.spent, event.limit, event.unit,
                   extra={"energy_budget": attrs})
    if callable(on_exceed):
        try:
            on_exceed(event)
        except Exception as exc:
            report("budgets.on_exceed", exc)


class _Account:
    """What one budget spent in one period (or one run of a block); crossing is detected once."""

    __slots__ = ("exceeded", "limit", "period_start", "spent")

    def __init__(self, limit: float, period_start: datetime | None = None) -> None:
        self.limit = limit
        self.spent = 0.0
        self.exceeded = False
        self.period_start = period_start

    def spend(self, amount: float) -> bool:
        """Add `amount` (caller holds the lock); True exactly when this spend crossed the limit."""
        self.spent += amount
        if not self.exceeded and self.spent > self.limit:
            self.exceeded = True
            return True
        return False


# ----------------------------------------------------------------------------- configuration


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _period_start(period: str, now: datetime) -> datetime:
    now = now.astimezone(timezone.utc)
    if period == "hour":
        return now.replace(minute=0, second=0, microsecond=0)
    if period == "day":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class _Configured:
    """The configuration budgets in force and their accounts (one lock: spends are short)."""

    def __init__(self, budgets: list[Budget], clock: Callable[[], datetime]) -> None:
        self.budgets = budgets
        self.clock = clock
        self.lock = threading.Lock()
        self.accounts: dict[tuple[int, str], _Account] = {}

    def _account(self, index: int, budget: Budget, value: str, now: datetime) -> _Account | None:
        start = _period_start(budget.period, now)
        account = self.accounts.get((index, value))
        if account is None or account.period_start != start:
            if account is None and len(self.accounts) >= _MAX_VALUES * len(self.budgets):
                return None
            account = self.accounts[(index, value)] = _Account(budget.limit, start)
        return account

    def on_call(self, telemetry: Any, attrs: Mapping[str, Any], labels: Mapping[str, Any],
                parent: Any) -> None:
        """The export hook: spend one priced call on every budget whose label matches."""
        now = self.clock()
        crossed: list[tuple[Budget, BudgetEvent]] = []
        with self.lock:
            for index, budget in enumerate(self.budgets):
                if budget.label is None:
                    value = "*"
                else:
                    raw = labels.get(budget.label)
                    if raw is None:
                        continue
                    value = str(raw)
                    if budget.value is not None and value != budget.value:
                        continue
                account = self._account(index, budget, value, now)
                if account is None:
                    continue
                key = budget.key_for(value)
                if account.spend(float(attrs.get(_FIELD[budget.unit], 0.0) or 0.0)):
                    crossed.append((budget, BudgetEvent(key, budget.period, budget.unit,
                                                        budget.limit, account.spent)))
                _telemetry.set_budget_utilization(key, budget.period, budget.unit,
                                                  account.spent / budget.limit)
        for budget, event in crossed:
            if budget.on_exceed == "raise":
                _arm()
            _fire(event, budget.on_exceed, None, parent, telemetry)

    def exceeded(self, labels: Mapping[str, Any]) -> BudgetEvent | None:
        """A raise-mode budget spent in its current period that the next call would spend."""
        now = self.clock()
        with self.lock:
            for index, budget in enumerate(self.budgets):
                if budget.on_exceed != "raise":
                    continue
                if budget.label is None:
                    value = "*"
                else:
                    raw = labels.get(budget.label)
                    if raw is None:
                        continue
                    value = str(raw)
                account = self.accounts.get((index, value))
                if account is not None and account.exceeded \
                        and account.period_start == _period_start(budget.period, now):
                    return BudgetEvent(budget.key_for(value), budget.period, budget.unit,
                                       budget.limit, account.spent)
        return None


_configured: _Configured | None = None
#: True once a raise-mode budget was crossed: only then does `check_before_call` look further.
_armed = False


#: Read by `tracker.recording._calls` before every call starts: `check_before_call` once a
#: raise-mode budget was crossed, else None (the usual case, one module attribute load).
BEFORE_CALL: Callable[[Mapping[str, Any] | None], None] | None = None


def _arm() -> None:
    """A raise-mode budget was crossed: from now on every call start checks the budgets."""
    global _armed, BEFORE_CALL
    _armed = True
    BEFORE_CALL = check_before_call


def _disarm() -> None:
    global _armed, BEFORE_CALL
    _armed = False
    BEFORE_CALL = None


def set_budgets(budgets: Iterable[Budget | Mapping[str, Any]] | str | None, *,
                clock: Callable[[], datetime] | None = None) -> list[Budget]:
    """Replace the configuration budgets (None or empty: none) and forget what was spent.

    Mappings are read as `Budget` keyword arguments, text as `parse_budgets`. `clock` (tests)
    returns the current UTC time that decides the period. Raises `ConfigError("budgets", ...)`;
    returns the budgets.
    """
    global _configured
    parsed = list(budgets_option("budgets", budgets))
    _telemetry.clear_budget_utilization()
    _disarm()
    if parsed:
        _configured = _Configured(parsed, clock or _utc_now)
        _telemetry.spend_hook = _configured.on_call
    else:
        _configured = None
        _telemetry.spend_hook = None
    return parsed


def check_before_call(labels: Mapping[str, Any] | None = None) -> None:
    """Raise `BudgetExceeded` if the next call would spend a raise-mode budget already spent.

    Installed as `BEFORE_CALL` (read by `tracker.recording._calls`) once such a budget has been
    crossed (None until then: a call start pays one check), and called as a call starts.
    `labels` are the call's labels when known (else the configured and block labels).
    """
    if not _armed:
        return
    event = _exceeded_now(labels)
    if event is not None:
        raise BudgetExceeded(event.key, event.period, event.unit, event.limit, event.spent)


def _exceeded_now(labels: Mapping[str, Any] | None) -> BudgetEvent | None:
    from tracker.recording._scope import current_scope

    scope = current_scope()
    merged: dict[str, Any] = {}
    try:
        from tracker.config._configure import get_runtime

        merged.update(get_runtime().labels)
    except Exception as exc:
        report("budgets.labels", exc)
    if scope is not None:
        merged.update(scope.labels)
    if labels:
        merged.update(labels)
    while scope is not None:
        budget = getattr(scope, "_budget", None)
        if budget is not None and budget.spec.on_exceed == "raise":
            event: BudgetEvent | None = budget.exceeded()
            if event is not None:
                return event
        scope = scope.parent
    configured = _configured
    return configured.exceeded(merged) if configured is not None else None

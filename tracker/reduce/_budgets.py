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
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from tracker import _attributes as A
from tracker._internal_errors import report
from tracker.config._budget_spec import (
    FIELD,
    PERIODS,
    UNITS,
    Budget,
    BudgetEvent,
    OnExceed,
    budgets_option,
    parse_budgets,
)
from tracker.exceptions import BudgetExceeded
from tracker.export import _instruments, _telemetry
from tracker.recording import _calls

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

#: Distinct label values tracked per configuration budget (further values are not counted).
_MAX_VALUES = 1000

logger = logging.getLogger("tracker.budgets")


# ----------------------------------------------------------------------------- firing


def _fire(event: BudgetEvent, on_exceed: OnExceed, span: Any, parent: Any,
          telemetry: Any = None) -> None:
    """Emit the event, the log records and call the callback (never raises)."""
    attrs = event.attributes()
    try:
        if telemetry is None:
            from tracker.recording._runtime import get_runtime

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
                if account.spend(float(attrs.get(FIELD[budget.unit], 0.0) or 0.0)):
                    crossed.append((budget, BudgetEvent(key, budget.period, budget.unit,
                                                        budget.limit, account.spent)))
                _instruments.set_budget_utilization(key, budget.period, budget.unit,
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




def _arm() -> None:
    """A raise-mode budget was crossed: from now on every call start checks the budgets."""
    global _armed
    _armed = True
    _calls.before_call = check_before_call


def _disarm() -> None:
    global _armed
    _armed = False
    _calls.before_call = None


def set_budgets(budgets: Iterable[Budget | Mapping[str, Any]] | str | None, *,
                clock: Callable[[], datetime] | None = None) -> list[Budget]:
    """Replace the configuration budgets (None or empty: none) and forget what was spent.

    Mappings are read as `Budget` keyword arguments, text as `parse_budgets`. `clock` (tests)
    returns the current UTC time that decides the period. Raises `ConfigError("budgets", ...)`;
    returns the budgets.
    """
    global _configured
    parsed = list(budgets_option("budgets", budgets))
    _instruments.clear_budget_utilization()
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

    Installed as `tracker.recording._calls.before_call` once such a budget has been
    crossed (None until then: a call start pays one check), and called as a call starts.
    `labels` are the call's labels when known (else the configured and block labels).
    """
    if not _armed:
        return
    event = _exceeded_now(labels)
    if event is not None:
        raise BudgetExceeded(event.key, event.period, event.unit, event.limit, event.spent)


def _exceeded_now(labels: Mapping[str, Any] | None) -> BudgetEvent | None:
    from tracker.recording._energy_scope import current_scope

    scope = current_scope()
    merged: dict[str, Any] = {}
    try:
        from tracker.recording._runtime import get_runtime

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

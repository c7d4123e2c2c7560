"""A tracked block's own budgets: ``track_energy(..., budget_gco2e=, budget_kwh=, budget_usd=)``.

Each run of the block (a decorated call or a ``with`` block) gets fresh accounts; the calls inside
it spend them through `EnergyScope.add` (one ``is None`` check per enclosing block when no budget
is set). Crossing a limit fires once per run and unit (`tracker.reduce._budgets` for the event,
log records, gauge and callback); with ``on_exceed="raise"`` the next call inside the block
raises `BudgetExceeded` (`check_before_call`).
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import TYPE_CHECKING, Any

from tracker._internal_errors import report
from tracker.config._budget_spec import BudgetEvent, OnExceed, check_limit, check_on_exceed
from tracker.exceptions import ConfigError
from tracker.export import _instruments
from tracker.reduce._budgets import _Account, _arm, _fire

if TYPE_CHECKING:
    from tracker.model._estimate import Estimate
    from tracker.recording._energy_scope import EnergyScope

__all__ = ["budgeted", "scope_budget"]


class _ScopeSpec:
    """The budgets given to one ``track_energy(...)``; `start()` makes one run's accounts."""

    __slots__ = ("limits", "on_exceed")

    def __init__(self, limits: dict[str, float], on_exceed: OnExceed) -> None:
        self.limits = limits
        self.on_exceed = on_exceed

    def start(self, scope: EnergyScope) -> _ScopeBudget:
        """Fresh accounts for one run of the block."""
        return _ScopeBudget(self, scope.name)


class _ScopeBudget:
    """One run's accounts; `spend()` is what `EnergyScope.add` calls for each priced call."""

    __slots__ = ("_accounts", "_lock", "key", "spec")

    def __init__(self, spec: _ScopeSpec, key: str) -> None:
        self.spec = spec
        self.key = key
        self._lock = threading.Lock()
        self._accounts = {unit: _Account(limit) for unit, limit in spec.limits.items()}

    def spend(self, est: Estimate, scope: EnergyScope) -> None:
        """Add one call; fire (once) for each budget it crossed. Never raises."""
        try:
            amounts = {"gCO2e": est.gco2e, "kWh": est.energy_kwh, "USD": est.usd}
            crossed: list[BudgetEvent] = []
            with self._lock:
                for unit, account in self._accounts.items():
                    if account.spend(amounts[unit]):
                        crossed.append(BudgetEvent(self.key, "scope", unit, account.limit,
                                                   account.spent))
                    _instruments.set_budget_utilization(self.key, "scope", unit,
                                                      account.spent / account.limit)
            for event in crossed:
                if self.spec.on_exceed == "raise":
                    _arm()
                _fire(event, self.spec.on_exceed, scope._span, None)
        except Exception as exc:
            report("budgets.scope", exc)

    def exceeded(self) -> BudgetEvent | None:
        """The first spent budget of this run, if any."""
        with self._lock:
            for unit, account in self._accounts.items():
                if account.exceeded:
                    return BudgetEvent(self.key, "scope", unit, account.limit, account.spent)
        return None


def scope_budget(budget_gco2e: float | None, budget_kwh: float | None,
                 budget_usd: float | None, on_exceed: OnExceed) -> _ScopeSpec | None:
    """Validate ``track_energy``'s budget arguments (raises `ConfigError` naming the field)."""
    check_on_exceed("on_exceed", on_exceed)
    limits = {unit: check_limit(field, value) for unit, field, value in (
        ("gCO2e", "budget_gco2e", budget_gco2e), ("kWh", "budget_kwh", budget_kwh),
        ("USD", "budget_usd", budget_usd)) if value is not None}
    if not limits:
        if on_exceed is not None:
            raise ConfigError("on_exceed", "needs budget_gco2e, budget_kwh or budget_usd")
        return None
    return _ScopeSpec(limits, on_exceed)


def _attach(spec: _ScopeSpec) -> None:
    """Give the block just opened (the current scope, still unspent) this run's accounts."""
    from tracker.recording._energy_scope import current_scope

    scope = current_scope()
    if scope is not None and scope._budget is None and scope.calls == 0:
        scope._budget = spec.start(scope)


def _bind(func: Any, spec: _ScopeSpec) -> Any:
    """`func` wrapped (same kind) so that the block `track_energy` opens around it gets `spec`."""
    if isinstance(func, (classmethod, staticmethod)):
        return type(func)(_bind(func.__func__, spec))
    if inspect.isasyncgenfunction(func):
        @functools.wraps(func)
        async def agen(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
            _attach(spec)
            async_gen = func(*args, **kwargs)
            try:
                sent: Any = None
                while True:
                    try:
                        item = await async_gen.asend(sent)
                    except StopAsyncIteration:
                        return
                    sent = yield item
            finally:
                await async_gen.aclose()
        return agen
    if inspect.isgeneratorfunction(func):
        @functools.wraps(func)
        def gen(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            _attach(spec)
            return (yield from func(*args, **kwargs))
        return gen
    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def coro(*args: Any, **kwargs: Any) -> Any:
            _attach(spec)
            return await func(*args, **kwargs)
        return coro

    @functools.wraps(func)
    def plain(*args: Any, **kwargs: Any) -> Any:
        _attach(spec)
        return func(*args, **kwargs)
    return plain


def budgeted(TrackEnergy: Any, func_or_name: Any, name: str | None,
             model: str | None, labels: Mapping[str, Any] | None,
             limits: tuple[float | None, ...], on_exceed: OnExceed) -> Any:
    """``track_energy(...)`` with budgets: what the plain one returns, each run budgeted.

    `TrackEnergy` is the plain decorator/block class (`tracker.recording._scope`). Raises
    `ConfigError` naming the field for an invalid budget (at decoration time).
    """
    gco2e, kwh, usd = limits
    spec = scope_budget(gco2e, kwh, usd, on_exceed)
    target: Any = func_or_name
    if isinstance(target, (classmethod, staticmethod)) or (
            callable(target) and not isinstance(target, str)):
        wrapped: Any = target if spec is None else _bind(target, spec)
        return TrackEnergy(name, model, labels)(wrapped)
    plain = TrackEnergy(target if target is not None else name, model, labels)
    if spec is None:
        return plain
    return _BudgetedBlock(plain, spec)


class _BudgetedBlock:
    """A `TrackEnergy` whose every run (decorated call or ``with`` block) has its budgets."""

    __slots__ = ("_inner", "_spec")

    def __init__(self, inner: Any, spec: _ScopeSpec) -> None:
        self._inner = inner
        self._spec = spec

    def __call__(self, func: Any) -> Any:
        """Decorate `func` (any kind), as `track_energy` does."""
        return self._inner(_bind(func, self._spec))

    def __enter__(self) -> Any:
        scope = self._inner.__enter__()
        _attach(self._spec)
        return scope

    def __exit__(self, *exc_info: Any) -> None:
        self._inner.__exit__(*exc_info)

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(self, *exc_info: Any) -> None:
        self.__exit__(*exc_info)

"""`track_energy`, the public decorator and context manager: a tracked scope, with its budgets.

The scope itself (spans, roll-ups, the decorator forms) is `tracker.recording._scope`; the
budgets of one block are `tracker.reduce._block_budgets`. This module joins the two, so
recording never reaches up into reduce.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar, overload

from tracker.recording import _scope
from tracker.recording._scope import TrackEnergy
from tracker.reduce._block_budgets import budgeted

__all__ = ["track_energy"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


@overload
def track_energy(func: Callable[_P, _R], /) -> Callable[_P, _R]: ...
@overload
def track_energy(name: str | None = None, /, *, model: str | None = None,
                 labels: Mapping[str, Any] | None = None, budget_gco2e: float | None = None,
                 budget_kwh: float | None = None, budget_usd: float | None = None,
                 on_exceed: Any = None) -> TrackEnergy: ...
@overload
def track_energy(*, name: str | None = None, model: str | None = None,
                 labels: Mapping[str, Any] | None = None, budget_gco2e: float | None = None,
                 budget_kwh: float | None = None, budget_usd: float | None = None,
                 on_exceed: Any = None) -> TrackEnergy: ...


def track_energy(func_or_name: Any = None, /, *, name: str | None = None,
                 model: str | None = None, labels: Mapping[str, Any] | None = None,
                 budget_gco2e: float | None = None, budget_kwh: float | None = None,
                 budget_usd: float | None = None, on_exceed: Any = None) -> Any:
    """Track the energy of the LLM calls a function or block makes.

    Use bare (``@track_energy``), with arguments (``@track_energy(name="summarize",
    labels={"team": "search"})``), or as a context manager (``with track_energy("batch") as t:``,
    also ``async with``); ``t`` has running totals: ``energy_kwh``, ``gco2e``, ``usd``,
    ``water_l``, ``input_tokens``, ``output_tokens``, ``calls``. `model` is the default model for
    `record_usage()` calls inside; `labels` go on the scope's span and on every call inside it.
    `budget_gco2e` / `budget_kwh` / `budget_usd` limit each run, `on_exceed` (None, a callable or
    "raise") says what else happens when one is crossed (`tracker.reduce._block_budgets`).
    """
    if budget_gco2e is not None or budget_kwh is not None or budget_usd is not None \
            or on_exceed is not None:
        return budgeted(TrackEnergy, func_or_name, name, model, labels,
                        (budget_gco2e, budget_kwh, budget_usd), on_exceed)
    return _scope.track_energy(func_or_name, name=name, model=model, labels=labels)

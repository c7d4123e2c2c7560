"""Exceptions the SDK raises: only from `configure()`, `estimate()` and other explicit requests."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "BudgetExceeded",
    "ConfigError",
    "IntegrationNotAvailable",
    "TrackerError",
    "UnknownHardwareError",
    "UnknownModelError",
    "UnknownRegionError",
]


class TrackerError(Exception):
    """Base class of every exception the SDK raises on purpose."""


class ConfigError(TrackerError, ValueError):
    """A configuration or estimate input is invalid.

    Raised by `configure()` and `estimate()` (and the CLI built on them), never from inside a
    tracked call. `field` names the offending argument; the message names it too.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class _UnknownNameError(ConfigError):
    kind = "entry"

    def __init__(self, field: str, name: str, known: Iterable[str] = ()) -> None:
        self.name = name
        from difflib import get_close_matches  # only for an unknown name: not at start-up

        self.suggestions = get_close_matches(name.lower(), [k.lower() for k in known], n=3)
        names = ", ".join(repr(s) for s in self.suggestions)
        hint = f"; did you mean {names}?" if self.suggestions else ""
        super().__init__(field, f"unknown {self.kind} {name!r}{hint}")


class UnknownModelError(_UnknownNameError):
    """A model name is in neither the registry nor its aliases (raised by explicit requests)."""

    kind = "model"


class UnknownHardwareError(_UnknownNameError):
    """An accelerator name is not in the hardware registry."""

    kind = "hardware"


class UnknownRegionError(_UnknownNameError):
    """A region or country code is not in the region registry."""

    kind = "region"


class IntegrationNotAvailable(TrackerError, ImportError):
    """`instrument(name)` named a provider whose client library is missing or too old."""


class BudgetExceeded(TrackerError):
    """A budget set with ``on_exceed="raise"`` is spent: raised before the next LLM call starts.

    Opt-in only (the default never changes the application's behaviour). `key` names the budget
    (the tracked block's name, or ``label=value`` for a configuration budget), `period` is
    ``scope``, ``hour``, ``day`` or ``month``, `unit` is ``gCO2e``, ``kWh`` or ``USD``; `limit`
    and `spent` are in that unit.
    """

    def __init__(self, key: str, period: str, unit: str, limit: float, spent: float) -> None:
        self.key = key
        self.period = period
        self.unit = unit
        self.limit = limit
        self.spent = spent
        super().__init__(f"budget {key!r} ({period}) exceeded: {spent:.6g} of {limit:.6g} {unit}")

"""Grid carbon intensity: live figures (refresher, providers) and forecasts (`forecast`)."""

from __future__ import annotations

from typing import Any

__all__ = ["ForecastPoint", "forecast"]


def __getattr__(name: str) -> Any:
    """Lazy re-exports (PEP 562): importing `tracker.grid` stays free of network modules."""
    if name in __all__:
        from tracker.grid import _forecast

        return getattr(_forecast, name)
    raise AttributeError(f"module 'tracker.grid' has no attribute {name!r}")

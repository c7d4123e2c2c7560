"""`Deployment`: the one object describing what a call is served on and where.

It carries the eleven-odd deployment parameters (hardware, region, PUE, host overhead, method,
batch, precision, accelerators, engine, power cap, grid intensity, price, water) from the
configuration through a call to the pricer, to `estimate()` and to the CLI's flags. A field left
``None`` means "not set here": `with_defaults()` fills it from a provider's assumed deployment
(`tracker.model._deployments`), and the energy model's own defaults apply to what stays unset.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

__all__ = ["Deployment"]


@dataclass(frozen=True, slots=True)
class Deployment:
    """Where and on what calls are served; ``None`` fields fall back to defaults."""

    hardware: str | None = None
    region: str | None = None
    pue: float | None = None
    host_overhead: float | None = None
    method: str | None = None
    batch_size: float | None = None
    precision: str | None = None
    gpus: int | None = None
    engine: str | None = None
    power_limit_w: float | None = None
    fleet_idle: float | None = None
    carbon_intensity: float | None = None
    price_usd_per_kwh: float | None = None
    wue: float | None = None

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The parameter names, in order (also the keywords of `estimate()`)."""
        return tuple(f.name for f in fields(cls))

    def with_defaults(self, **defaults: Any) -> Deployment:
        """A copy whose unset fields take the given values (set fields win)."""
        changes = {k: v for k, v in defaults.items()
                   if v is not None and getattr(self, k) is None}
        return replace(self, **changes) if changes else self

    def pricer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `pricer()` / `estimate()`."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

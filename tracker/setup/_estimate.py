"""`tracker.estimate()`: one request's estimate, for the deployment `configure()` was given.

``tracker.configure(region="gcp:us-central1")`` then ``tracker.estimate("gpt-4o", 500)`` prices
the request in gcp:us-central1, as a tracked call would be: each deployment option left unset in
the call (``hardware``, ``region``, ``pue``, ``host_overhead``, ``method``, ``batch_size``,
``precision``, ``gpus``, ``engine``, ``power_limit_w``, ``fleet_idle``, ``carbon_intensity``,
``price_usd_per_kwh``, ``wue``) takes the configured value; ``configured=False`` ignores the
configuration (the pure `tracker.model._estimate.estimate`, the registry's defaults). Before any
`configure()` (and before the first tracked call builds the default from the environment) there
is no configured deployment and the registry's defaults apply.
"""

from __future__ import annotations

from typing import Any

from tracker.model._estimate import estimate as _pure_estimate
from tracker.model._estimate_result import PricedEstimate
from tracker.model._specs import HardwareSpec, ModelSpec
from tracker.recording import _runtime

__all__ = ["DEPLOYMENT_OPTIONS", "estimate"]

#: The `Config` fields that describe the deployment a request is priced for.
DEPLOYMENT_OPTIONS = ("hardware", "region", "pue", "host_overhead", "method", "batch_size",
                      "precision", "gpus", "engine", "power_limit_w", "fleet_idle",
                      "carbon_intensity", "price_usd_per_kwh", "wue")


def estimate(
    model: str | ModelSpec,
    output_tokens: int = 0,
    input_tokens: int = 0,
    *,
    hardware: str | HardwareSpec | None = None,
    precision: str | None = None,
    gpus: int | None = None,
    batch_size: float | None = None,
    method: str | None = None,
    pue: float | None = None,
    host_overhead: float | None = None,
    region: str | None = None,
    carbon_intensity: float | None = None,
    price_usd_per_kwh: float | None = None,
    wue: float | None = None,
    engine: str | None = None,
    power_limit_w: float | None = None,
    fleet_idle: float | None = None,
    cached_input_tokens: int = 0,
    configured: bool = True,
) -> PricedEstimate:
    """Estimate the energy, carbon, electricity cost and water of one request; no I/O.

    The result also carries the request's API price (`PricedEstimate.api_usd`: list price, from
    the price table, no provider assumed beyond the model's maker; None where the table has no
    price for the model or the ``prices`` extra is not installed).

    A keyword given wins; one left unset takes the configured deployment's value (unless
    ``configured=False``), else the registry's default. ``method`` defaults to ``calibrated``.
    Raises `tracker.ConfigError` (a `ValueError`) naming the field for any invalid input.
    """
    given: dict[str, Any] = {
        "hardware": hardware, "precision": precision, "gpus": gpus, "batch_size": batch_size,
        "method": method, "pue": pue, "host_overhead": host_overhead, "region": region,
        "carbon_intensity": carbon_intensity, "price_usd_per_kwh": price_usd_per_kwh,
        "wue": wue, "engine": engine, "power_limit_w": power_limit_w, "fleet_idle": fleet_idle,
    }
    runtime = _runtime._runtime if configured else None
    if runtime is not None:
        for name in DEPLOYMENT_OPTIONS:
            if given[name] is None:
                given[name] = getattr(runtime.config, name, None)
    if given["method"] is None:
        given["method"] = "calibrated"
    return _pure_estimate(model, output_tokens, input_tokens,
                          cached_input_tokens=cached_input_tokens, **given)

"""The energy model: per-token energy for a model on hardware in a region, and `estimate()`.

Two methods (see `../shared/docs/energy-model.md`):

- ``flops``: the seed formula, exactly: ``2 x active params x tokens / (FLOP-per-joule x precision
  multiplier)``, then ``x (1 + host_overhead) x PUE``. A theoretical floor.
- ``calibrated`` (default): a roofline model of prefill and decode fitted to measured serving
  energy (`tracker.calibrated`).

Everything that depends on the configuration is resolved once into a `CallPricer`; pricing a call
is then a handful of multiplications (`CallPricer.price`), which is what the tracking hot path uses.
"""

from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass
from typing import Any, Literal

from tracker.exceptions import ConfigError
from tracker.model import _calibrated as calibrated
from tracker.model._registry import WORLD, Registry, get_registry
from tracker.model._specs import FLOPS_PRECISION_MULTIPLIER, PRECISIONS, HardwareSpec, ModelSpec

__all__ = [
    "DEFAULTS",
    "FALLBACK_MODEL",
    "METHODS",
    "CallPricer",
    "Estimate",
    "estimate",
    "pricer",
]

METHODS = ("calibrated", "flops")
_J_PER_KWH = 3.6e6


@dataclass(frozen=True)
class _Defaults:
    method: str = "calibrated"
    hardware: str = "h100"
    region: str = WORLD
    #: The seed's value; Epoch AI uses 1.2 for AI data centres.
    pue: float = 1.2
    #: Google 2025 measured breakdown: (25 % host + 10 % idle) / 58 % accelerators = 0.6.
    host_overhead_calibrated: float = 0.6
    #: The seed formula has no host term.
    host_overhead_flops: float = 0.0
    #: The seed's "US average" (unsourced, near the US residential average); used only where the
    #: region has no sourced price.
    price_usd_per_kwh: float = 0.152
    #: On-site water, L per IT kWh: Google fleet about 1.0 (derived from the Gemini per-prompt
    #: figures, Elsworth et al. 2025, arXiv:2508.15734).
    wue: float = 1.0


DEFAULTS = _Defaults()

#: Used for a model the registry lacks when the caller asks for a fallback (tracking never raises
#: on an unknown model): a dense 70B model, with an honest range from 8B to 405B.
FALLBACK_MODEL = ModelSpec(
    name="unknown",
    total_params_b=70.0,
    active_params_b=70.0,
    active_params_b_min=8.0,
    active_params_b_max=405.0,
    estimated=True,
    source="llm-energy-tracker fallback for unknown models (dense 70B, range Llama-3.1 8B-405B)",
    year=2025,
)


@dataclass(frozen=True, slots=True)
class Estimate:
    """Energy, carbon, cost and water of one request, with the factors that produced them."""

    energy_kwh: float
    energy_kwh_min: float
    energy_kwh_max: float
    accelerator_kwh: float
    gco2e: float
    gco2e_min: float
    gco2e_max: float
    usd: float
    water_l: float
    input_tokens: int
    output_tokens: int
    method: str
    model: str
    model_known: bool
    params_estimated: bool
    hardware: str
    precision: str
    gpus: int
    batch_size: float
    region: str
    pue: float
    host_overhead: float
    carbon_intensity: float
    grid_source: str
    price_usd_per_kwh: float
    wue: float

    def to_dict(self) -> dict[str, Any]:
        """The estimate as a plain dict (JSON-serialisable)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class CallPricer:
    """A resolved configuration: per-token facility energy, ready to price calls cheaply."""

    # facility kWh per input / output token: central, min, max
    kwh_in: float
    kwh_out: float
    kwh_in_min: float
    kwh_out_min: float
    kwh_in_max: float
    kwh_out_max: float
    #: facility kWh -> accelerator kWh
    accelerator_share: float
    method: str
    model: str
    model_known: bool
    params_estimated: bool
    hardware: str
    precision: str
    gpus: int
    batch_size: float
    region: str
    pue: float
    host_overhead: float
    carbon_intensity: float
    grid_source: str
    price_usd_per_kwh: float
    wue: float

    def price(
        self,
        input_tokens: int,
        output_tokens: int,
        *,
        carbon_intensity: float | None = None,
        grid_source: str | None = None,
    ) -> Estimate:
        """Price one call; `carbon_intensity` replaces the configured figure (a live value)."""
        ci = self.carbon_intensity if carbon_intensity is None else carbon_intensity
        kwh = self.kwh_in * input_tokens + self.kwh_out * output_tokens
        kwh_min = self.kwh_in_min * input_tokens + self.kwh_out_min * output_tokens
        kwh_max = self.kwh_in_max * input_tokens + self.kwh_out_max * output_tokens
        return Estimate(
            kwh, kwh_min, kwh_max, kwh * self.accelerator_share,
            kwh * ci, kwh_min * ci, kwh_max * ci,
            kwh * self.price_usd_per_kwh, kwh / self.pue * self.wue,
            input_tokens, output_tokens, self.method, self.model, self.model_known,
            self.params_estimated, self.hardware, self.precision, self.gpus, self.batch_size,
            self.region, self.pue, self.host_overhead, ci,
            self.grid_source if grid_source is None else grid_source,
            self.price_usd_per_kwh, self.wue,
        )


# ----------------------------------------------------------------------------- validation


def _tokens(field: str, value: object) -> int:
    if isinstance(value, bool):
        raise ConfigError(field, f"must be a non-negative integer, got {value!r}")
    try:
        count = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ConfigError(field, f"must be a non-negative integer, got {value!r}") from None
    if count < 0:
        raise ConfigError(field, f"must be a non-negative integer, got {count}")
    return int(count)


def _number(field: str, value: object, *, minimum: float, inclusive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(field, f"must be a number, got {value!r}")
    number = float(value)
    bad = number < minimum if inclusive else number <= minimum
    if math.isnan(number) or math.isinf(number) or bad:
        bound = ">=" if inclusive else ">"
        raise ConfigError(field, f"must be a finite number {bound} {minimum:g}, got {value!r}")
    return number


def _resolve_model(
    registry: Registry, model: str | ModelSpec | None, unknown_model: str
) -> tuple[ModelSpec, bool]:
    if isinstance(model, ModelSpec):
        return model, True
    if model is None or (isinstance(model, str) and not model.strip()):
        if unknown_model == "fallback":
            return FALLBACK_MODEL, False
        raise ConfigError("model", "a model name or tracker.ModelSpec is required")
    if not isinstance(model, str):
        raise ConfigError("model", f"must be a model name or tracker.ModelSpec, got {model!r}")
    if unknown_model == "fallback":
        spec = registry.find_model(model)
        return (spec, True) if spec is not None else (FALLBACK_MODEL, False)
    return registry.model(model), True


def _resolve_hardware(registry: Registry, hardware: str | HardwareSpec | None) -> HardwareSpec:
    if isinstance(hardware, HardwareSpec):
        return hardware
    if hardware is None:
        return registry.hardware(DEFAULTS.hardware)
    if not isinstance(hardware, str):
        raise ConfigError("hardware", f"must be a hardware name or HardwareSpec, got {hardware!r}")
    return registry.hardware(hardware)


# ----------------------------------------------------------------------------- per-token energy


def _flops_j_per_token(active_b: float, precision: str, hardware: HardwareSpec) -> float:
    fpj = hardware.seed_flops_per_joule() * FLOPS_PRECISION_MULTIPLIER[precision]
    return 2.0 * active_b * 1e9 / fpj


def _corner_j(
    method: str, spec: ModelSpec, active_b: float, precision: str, hardware: HardwareSpec,
    gpus: int | None, batch: float,
) -> tuple[float, float, int]:
    """Accelerator joules per (input, output) token at one corner, and the accelerators used."""
    if method == "flops":
        j = _flops_j_per_token(active_b, precision, hardware)
        return j, j, gpus or 1
    dense = spec.total_params_b <= spec.active * 1.0001
    total_b = active_b if dense else max(spec.total_params_b, active_b)
    n = gpus or calibrated.default_gpus(total_b, precision, hardware)
    j_in, j_out = calibrated.gpu_joules_per_token(
        active_params_b=active_b, total_params_b=total_b, precision=precision,
        hardware=hardware, gpus=n, batch_size=batch,
    )
    return j_in, j_out, n


def pricer(
    model: str | ModelSpec | None,
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
    unknown_model: Literal["raise", "fallback"] = "raise",
    registry: Registry | None = None,
) -> CallPricer:
    """Resolve and validate a configuration into a `CallPricer` (raises `ConfigError`)."""
    reg = registry or get_registry()
    method = DEFAULTS.method if method is None else method
    if method not in METHODS:
        raise ConfigError("method", f"must be one of {', '.join(METHODS)}, got {method!r}")
    spec, known = _resolve_model(reg, model, unknown_model)
    hw = _resolve_hardware(reg, hardware)
    precision = spec.precision if precision is None else precision
    if precision not in PRECISIONS:
        raise ConfigError("precision", f"must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if gpus is not None:
        gpus = _tokens("gpus", gpus)
        if gpus < 1:
            raise ConfigError("gpus", "must be at least 1")
    if batch_size is not None:
        batch_size = _number("batch_size", batch_size, minimum=0.0, inclusive=False)
    pue = DEFAULTS.pue if pue is None else _number("pue", pue, minimum=1.0)
    if host_overhead is None:
        host_overhead = (DEFAULTS.host_overhead_flops if method == "flops"
                         else DEFAULTS.host_overhead_calibrated)
    else:
        host_overhead = _number("host_overhead", host_overhead, minimum=0.0)
    wue = DEFAULTS.wue if wue is None else _number("wue", wue, minimum=0.0)
    if region is not None and not isinstance(region, str):
        raise ConfigError("region", f"must be a region name or country code, got {region!r}")
    reg_region = reg.region(DEFAULTS.region if region is None else region)
    if carbon_intensity is None:
        ci, grid_source = reg_region.gco2e_per_kwh, "registry"
    else:
        ci, grid_source = _number("carbon_intensity", carbon_intensity, minimum=0.0), "user"
    if price_usd_per_kwh is not None:
        price = _number("price_usd_per_kwh", price_usd_per_kwh, minimum=0.0)
    elif reg_region.price_usd_per_kwh is not None:
        price = reg_region.price_usd_per_kwh
    else:
        price = DEFAULTS.price_usd_per_kwh

    low_b, high_b = calibrated.BATCH_SIZE_RANGE
    batch = calibrated.DEFAULT_BATCH_SIZE if batch_size is None else batch_size
    lo_batch, hi_batch = (batch, batch) if batch_size is not None else (high_b, low_b)
    assert spec.active_params_b_min is not None and spec.active_params_b_max is not None
    j_in, j_out, n = _corner_j(method, spec, spec.active, precision, hw, gpus, batch)
    a_lo, a_hi = spec.active_params_b_min, spec.active_params_b_max
    j_in_lo, j_out_lo, _ = _corner_j(method, spec, a_lo, precision, hw, gpus, lo_batch)
    j_in_hi, j_out_hi, _ = _corner_j(method, spec, a_hi, precision, hw, gpus, hi_batch)
    if method == "calibrated":
        # The fitted model's own error on measured serving widens the range both ways.
        spread = 2.0 ** calibrated.RANGE_LOG2_SPREAD
        j_in_lo, j_out_lo, j_in_hi, j_out_hi = (
            j_in_lo / spread, j_out_lo / spread, j_in_hi * spread, j_out_hi * spread,
        )
    scale = (1.0 + host_overhead) * pue / _J_PER_KWH
    return CallPricer(
        kwh_in=j_in * scale, kwh_out=j_out * scale,
        kwh_in_min=min(j_in_lo, j_in) * scale, kwh_out_min=min(j_out_lo, j_out) * scale,
        kwh_in_max=max(j_in_hi, j_in) * scale, kwh_out_max=max(j_out_hi, j_out) * scale,
        accelerator_share=1.0 / ((1.0 + host_overhead) * pue),
        method=method, model=spec.name, model_known=known, params_estimated=spec.estimated,
        hardware=hw.name, precision=precision, gpus=n, batch_size=batch,
        region=reg_region.name, pue=pue, host_overhead=host_overhead,
        carbon_intensity=ci, grid_source=grid_source, price_usd_per_kwh=price, wue=wue,
    )


def estimate(
    model: str | ModelSpec,
    output_tokens: int = 0,
    input_tokens: int = 0,
    *,
    hardware: str | HardwareSpec | None = None,
    precision: str | None = None,
    gpus: int | None = None,
    batch_size: float | None = None,
    method: str = "calibrated",
    pue: float | None = None,
    host_overhead: float | None = None,
    region: str | None = None,
    carbon_intensity: float | None = None,
    price_usd_per_kwh: float | None = None,
    wue: float | None = None,
) -> Estimate:
    """Estimate the energy, carbon, cost and water of one request. Pure: no I/O.

    Raises `tracker.ConfigError` (a `ValueError`) naming the field for any invalid input.
    """
    out_n = _tokens("output_tokens", output_tokens)
    in_n = _tokens("input_tokens", input_tokens)
    return pricer(
        model, hardware=hardware, precision=precision, gpus=gpus, batch_size=batch_size,
        method=method, pue=pue, host_overhead=host_overhead, region=region,
        carbon_intensity=carbon_intensity, price_usd_per_kwh=price_usd_per_kwh, wue=wue,
    ).price(in_n, out_n)

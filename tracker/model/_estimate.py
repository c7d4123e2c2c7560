"""The energy model: per-token energy for a model on hardware in a region, and `estimate()`.

Two methods (see ``docs/energy-model.md``):

- ``flops``: the seed formula, exactly: ``2 x active params x tokens / (FLOP-per-joule x precision
  multiplier)``, then ``x (1 + host_overhead) x PUE``. A theoretical floor.
- ``calibrated`` (default): a roofline model of prefill and decode with per-engine overheads,
  fitted to measured serving energy (`tracker.model._calibrated`, `_physics`, `_engines`).

Every estimate carries three boundaries, each with its range (`tracker.model._boundaries`):
accelerators, server (accelerators + host) and facility (server x (1 + fleet idle) x PUE).

Everything that depends on the configuration is resolved once into a `CallPricer`; pricing a call
is then a handful of multiplications (`CallPricer.price`), which is what the tracking hot path uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tracker.exceptions import ConfigError
from tracker.model import _calibrated as calibrated
from tracker.model import _embodied as embodied
from tracker.model import _estimate_result as _result
from tracker.model._boundaries import FLEET_IDLE_SHARE, calibrated_corners, flops_corners
from tracker.model._call_figures import call_figures, range_figures
from tracker.model._engines import ENGINES, normalise_engine
from tracker.model._estimate_result import Estimate, Range, build_priced
from tracker.model._inputs import (
    MAX_BATCH_SIZE,
    MAX_GPUS,
    check_finite,
    number,
    show,
    tokens,
)
from tracker.model._registry import WORLD, Registry, get_registry
from tracker.model._specs import FLOPS_PRECISION_MULTIPLIER, PRECISIONS, HardwareSpec, ModelSpec

__all__ = [
    "DEFAULTS",
    "FALLBACK_MODEL",
    "METHODS",
    "CallPricer",
    "Estimate",
    "Range",
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
    #: None: host power is modelled (0.4 x TDP per accelerator for the work's duration, plus
    #: power-supply losses; tracker.model._boundaries); a number replaces it by that share of
    #: accelerator energy.
    host_overhead_calibrated: float | None = None
    #: Provisioned idle capacity of a production fleet, share of server energy: Google 2025,
    #: idle 10 % against accelerators 58 % + host 25 % (arXiv:2508.15734).
    fleet_idle_calibrated: float = FLEET_IDLE_SHARE
    #: The seed formula has no idle term.
    fleet_idle_flops: float = 0.0
    #: Serving engine when none is given: the documented hosted-API mix (tracker.model._engines).
    engine: str = "mix"
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

#: Used instead for an unknown model whose name says it is an embedding model: an encoder of
#: 0.35B (range 0.02B, all-MiniLM-L6-v2, to 7.1B, e5-mistral-7b-instruct), never a chat model.
FALLBACK_EMBEDDING_MODEL = ModelSpec(
    name="unknown-embedding",
    total_params_b=0.35,
    active_params_b=0.35,
    active_params_b_min=0.02,
    active_params_b_max=7.1,
    estimated=True,
    kind="embedding",
    source="llm-energy-tracker fallback for unknown embedding models (range: all-MiniLM-L6-v2 "
           "22.7M to e5-mistral-7b-instruct 7.11B, official model cards)",
    year=2025,
)


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
    #: embodied gCO2e per accelerator kWh (central, min, max): the call's accelerator time
    #: times the hardware's amortised manufacturing footprint (`tracker.model._embodied`)
    emb_per_acc_kwh: tuple[float, float, float] = (0.0, 0.0, 0.0)
    # accelerator and server kWh coefficients (out0, out_ctx, in0, in_len, cached):
    # central, min, max (tracker.model._boundaries)
    acc: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)
    acc_min: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)
    acc_max: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)
    srv: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)
    srv_min: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)
    srv_max: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)
    #: server kWh -> facility kWh: (1 + fleet_idle) x PUE
    facility_factor: float = 1.0
    engine: str = "mix"
    fleet_idle: float = 0.0
    power_limit_w: float | None = None

    def price(
        self,
        input_tokens: int,
        output_tokens: int,
        *,
        cached_input_tokens: int = 0,
        carbon_intensity: float | None = None,
        grid_source: str | None = None,
    ) -> Estimate:
        """Price one call; `carbon_intensity` replaces the configured figure (a live value)."""
        ci = self.carbon_intensity if carbon_intensity is None else carbon_intensity
        cached = min(max(cached_input_tokens, 0), input_tokens)
        (kwh, kwh_min, kwh_max, gco2e, gco2e_min, gco2e_max, usd, water_l, acc, srv, emb,
         srv_min, srv_max) = call_figures(self, input_tokens, output_tokens, cached, ci)
        acc_min, acc_max, emb_min, emb_max = range_figures(self, input_tokens, output_tokens,
                                                           cached)
        return build_priced(
            self,
            energy_kwh=kwh, energy_kwh_min=kwh_min, energy_kwh_max=kwh_max,
            accelerator_kwh=acc, gco2e=gco2e, gco2e_min=gco2e_min, gco2e_max=gco2e_max,
            usd=usd, water_l=water_l, input_tokens=input_tokens, output_tokens=output_tokens,
            host_overhead=srv / acc - 1.0 if acc > 0 else self.host_overhead,
            carbon_intensity=ci,
            grid_source=self.grid_source if grid_source is None else grid_source,
            embodied_gco2e=emb, embodied_gco2e_min=emb_min, embodied_gco2e_max=emb_max,
            total_gco2e=gco2e + emb,
            accelerator_kwh_min=acc_min, accelerator_kwh_max=acc_max, server_kwh=srv,
            server_kwh_min=srv_min, server_kwh_max=srv_max, cached_input_tokens=cached,
        )


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
        if spec is not None:
            return spec, True
        return (FALLBACK_EMBEDDING_MODEL if "embed" in model.lower() else FALLBACK_MODEL), False
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


def _resolve_engine(engine: object) -> str:
    if engine is None:
        return DEFAULTS.engine
    name = normalise_engine(engine) if isinstance(engine, str) else None
    if name is None:
        raise ConfigError("engine", f"must be one of {', '.join(ENGINES)}, got {show(engine)}")
    return name


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
    engine: str | None = None,
    power_limit_w: float | None = None,
    fleet_idle: float | None = None,
    unknown_model: Literal["raise", "fallback"] = "raise",
    registry: Registry | None = None,
) -> CallPricer:
    """Resolve and validate a configuration into a `CallPricer` (raises `ConfigError`).

    ``engine``: serving-engine profile (`tracker.model._engines.ENGINES`; default ``mix``, the
    hosted-API mix). ``power_limit_w``: per-accelerator power cap (default: uncapped, TDP).
    ``fleet_idle``: provisioned idle capacity as a share of server energy (default 0.12 for
    ``calibrated``, 0 for ``flops``). ``host_overhead``: host as a share of accelerator energy
    instead of the modelled host.
    """
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
        gpus = tokens("gpus", gpus, maximum=MAX_GPUS)
        if gpus < 1:
            raise ConfigError("gpus", "must be at least 1")
    if batch_size is not None:
        batch_size = number("batch_size", batch_size, minimum=0.0, inclusive=False,
                             maximum=MAX_BATCH_SIZE)
    pue = DEFAULTS.pue if pue is None else number("pue", pue, minimum=1.0)
    host: float | None
    if host_overhead is None:
        host = (DEFAULTS.host_overhead_flops if method == "flops"
                else DEFAULTS.host_overhead_calibrated)
    else:
        host = number("host_overhead", host_overhead, minimum=0.0)
    host_overhead = host
    wue = DEFAULTS.wue if wue is None else number("wue", wue, minimum=0.0)
    if region is not None and not isinstance(region, str):
        raise ConfigError("region", f"must be a region name or country code, got {region!r}")
    reg_region = reg.region(DEFAULTS.region if region is None else region)
    if carbon_intensity is None:
        ci, grid_source = reg_region.gco2e_per_kwh, "registry"
    else:
        ci, grid_source = number("carbon_intensity", carbon_intensity, minimum=0.0), "user"
    if price_usd_per_kwh is not None:
        price = number("price_usd_per_kwh", price_usd_per_kwh, minimum=0.0)
    elif reg_region.price_usd_per_kwh is not None:
        price = reg_region.price_usd_per_kwh
    else:
        price = DEFAULTS.price_usd_per_kwh

    engine_name = _resolve_engine(engine)
    if power_limit_w is not None:
        power_limit_w = number("power_limit_w", power_limit_w, minimum=0.0, inclusive=False)
    if fleet_idle is None:
        fleet_idle = (DEFAULTS.fleet_idle_flops if method == "flops"
                      else DEFAULTS.fleet_idle_calibrated)
    else:
        fleet_idle = number("fleet_idle", fleet_idle, minimum=0.0)
    batch = calibrated.DEFAULT_BATCH_SIZE if batch_size is None else batch_size
    if method == "flops":
        j = _flops_j_per_token(spec.active, precision, hw)
        corners = flops_corners(j, host_overhead or 0.0, gpus or 1)
    else:
        corners = calibrated_corners(spec, precision, hw, gpus, batch_size, engine_name,
                                     power_limit_w, host_overhead)
    n = corners.gpus
    check_finite(*corners.acc, *corners.acc_min, *corners.acc_max, *corners.srv,
                  *corners.srv_min, *corners.srv_max)
    facility = (1.0 + fleet_idle) * pue
    host_share = corners.srv[0] / corners.acc[0] - 1.0 if corners.acc[0] > 0 else 0.0
    # Embodied gCO2e per accelerator kWh: accelerator time (energy / serving draw) x footprint.
    amort = embodied.amortisation(hw)
    s_per_kwh = embodied.seconds_per_joule(hw) * _J_PER_KWH
    return CallPricer(
        emb_per_acc_kwh=(s_per_kwh * amort.g_per_s, s_per_kwh * amort.g_per_s_min,
                         s_per_kwh * amort.g_per_s_max),
        kwh_in=corners.srv[2] * facility, kwh_out=corners.srv[0] * facility,
        kwh_in_min=corners.srv_min[2] * facility, kwh_out_min=corners.srv_min[0] * facility,
        kwh_in_max=corners.srv_max[2] * facility, kwh_out_max=corners.srv_max[0] * facility,
        accelerator_share=1.0 / ((1.0 + host_share) * facility),
        method=method, model=spec.name, model_known=known, params_estimated=spec.estimated,
        hardware=hw.name, precision=precision, gpus=n, batch_size=batch,
        region=reg_region.name, pue=pue, host_overhead=host_share,
        carbon_intensity=ci, grid_source=grid_source, price_usd_per_kwh=price, wue=wue,
        acc=corners.acc, acc_min=corners.acc_min, acc_max=corners.acc_max, srv=corners.srv,
        srv_min=corners.srv_min, srv_max=corners.srv_max, facility_factor=facility,
        engine=engine_name if method == "calibrated" else "none", fleet_idle=fleet_idle,
        power_limit_w=power_limit_w,
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
    engine: str | None = None,
    power_limit_w: float | None = None,
    fleet_idle: float | None = None,
    cached_input_tokens: int = 0,
) -> _result.PricedEstimate:
    """Estimate the energy, carbon, cost and water of one request. Pure: no I/O.

    ``cached_input_tokens`` (a subset of ``input_tokens``) are prompt-cache reads, priced as a KV
    read instead of prefill; reasoning tokens belong in ``output_tokens``. The other keywords
    are `pricer()`'s. Raises `tracker.ConfigError` (a `ValueError`) naming the field for any
    invalid input.
    """
    out_n = tokens("output_tokens", output_tokens)
    in_n = tokens("input_tokens", input_tokens)
    cached_n = tokens("cached_input_tokens", cached_input_tokens)
    if cached_n > in_n:
        raise ConfigError("cached_input_tokens", f"must be at most input_tokens ({in_n}), "
                          f"got {cached_n}")
    e = pricer(
        model, hardware=hardware, precision=precision, gpus=gpus, batch_size=batch_size,
        method=method, pue=pue, host_overhead=host_overhead, region=region,
        carbon_intensity=carbon_intensity, price_usd_per_kwh=price_usd_per_kwh, wue=wue,
        engine=engine, power_limit_w=power_limit_w, fleet_idle=fleet_idle,
    ).price(in_n, out_n, cached_input_tokens=cached_n)
    return _result.with_api_price(e, model if isinstance(model, str) else e.model)


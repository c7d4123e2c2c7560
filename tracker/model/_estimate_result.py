"""`Estimate`: what one request costs, at each boundary, with the factors that produced it.

`Range` is the one type of a min/central/max figure: `Estimate.energy`, `.server`,
`.accelerator`, `.carbon` and `.embodied` give the flat fields as ranges. `PricedEstimate` (what
`estimate()` returns) adds the request's API price; the per-call `Estimate` of a recorded call
carries none (its API price goes on its span as ``gen_ai.usage.cost.amount``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

__all__ = ["CARRIED", "Estimate", "PricedEstimate", "Range", "build_estimate", "build_priced",
           "with_api_price"]


class Range(NamedTuple):
    """A figure with its range: ``min <= central <= max``."""

    central: float
    min: float
    max: float


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
    #: Manufacturing footprint of the hardware amortised over this request (never in `gco2e`).
    embodied_gco2e: float = 0.0
    embodied_gco2e_min: float = 0.0
    embodied_gco2e_max: float = 0.0
    #: `gco2e` + `embodied_gco2e`: usage and manufacturing together.
    total_gco2e: float = 0.0
    #: Inner boundaries of `energy_kwh` (facility): the accelerators alone, and the server (the
    #: accelerators plus host CPUs, memory, fans, power-supply losses), each with its range.
    accelerator_kwh_min: float = 0.0
    accelerator_kwh_max: float = 0.0
    server_kwh: float = 0.0
    server_kwh_min: float = 0.0
    server_kwh_max: float = 0.0
    #: Prompt tokens read from a prompt cache (a subset of `input_tokens`).
    cached_input_tokens: int = 0
    #: Serving-engine profile (`vllm`, `tensorrt-llm`, ..., or `mix`).
    engine: str = "mix"
    #: Provisioned idle capacity added at the facility, share of server energy.
    fleet_idle: float = 0.0
    #: GPU power limit assumed (W); None: uncapped.
    power_limit_w: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The estimate as a plain dict (JSON-serialisable)."""
        return asdict(self)

    @property
    def energy(self) -> Range:
        """Facility energy (kWh) with its range."""
        return Range(self.energy_kwh, self.energy_kwh_min, self.energy_kwh_max)

    @property
    def server(self) -> Range:
        """Server energy (kWh: accelerators and host) with its range."""
        return Range(self.server_kwh, self.server_kwh_min, self.server_kwh_max)

    @property
    def accelerator(self) -> Range:
        """Accelerator energy (kWh) with its range."""
        return Range(self.accelerator_kwh, self.accelerator_kwh_min, self.accelerator_kwh_max)

    @property
    def carbon(self) -> Range:
        """Usage emissions (gCO2e) with their range."""
        return Range(self.gco2e, self.gco2e_min, self.gco2e_max)

    @property
    def embodied(self) -> Range:
        """Manufacturing emissions amortised over the request (gCO2e) with their range."""
        return Range(self.embodied_gco2e, self.embodied_gco2e_min, self.embodied_gco2e_max)


@dataclass(frozen=True, slots=True)
class PricedEstimate(Estimate):
    """An `Estimate` with the request's API price, as `estimate()` returns it.

    `usd` is the electricity; `api_usd` is what the provider bills at list price, from the price
    table named in `price_table` (genai-prices, the ``prices`` extra), None when the table does
    not price the model (or is not installed).
    """

    api_usd: float | None = None
    price_table: str | None = None


def with_api_price(e: Estimate, model: str) -> PricedEstimate:
    """`e` with the request's API price from the price table (None where it has none)."""
    from tracker.model._api_prices import api_price_for, table_version

    try:
        api = api_price_for(model, None)
        amount = (api.amount(e.input_tokens, e.output_tokens, e.cached_input_tokens)
                  if api is not None else None)
    except Exception:  # a price table that fails to load prices nothing
        amount = None
    return PricedEstimate(**e.to_dict(), api_usd=amount,
                          price_table=table_version() if amount is not None else None)


#: The fields a `CallPricer` resolves once and every `Estimate` it prices carries unchanged: the
#: one list of them. `build_priced` copies them from the pricer; the per-call figures are the
#: rest of `Estimate`'s fields (tests/model/test_estimate_fields.py checks both classes).
CARRIED: tuple[str, ...] = (
    "method", "model", "model_known", "params_estimated", "hardware", "precision", "gpus",
    "batch_size", "region", "pue", "price_usd_per_kwh", "wue", "engine", "fleet_idle",
    "power_limit_w",
)


def _constructor() -> Callable[..., Estimate]:
    """A keyword-only constructor of `Estimate` that fills its slots directly.

    The same object as ``Estimate(**fields)``, built about twice as fast: a frozen dataclass's
    ``__init__`` sets each of its 40 fields through ``object.__setattr__``, and an estimate is
    built on every call the SDK records. Every field is required (a missing one is a TypeError).
    """
    names = [f.name for f in fields(Estimate)]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": Estimate}
    body = []
    for i, name in enumerate(names):
        namespace[f"_set{i}"] = Estimate.__dict__[name].__set__
        body.append(f"    _set{i}(o, {name})\n")
    source = f"def build(*, {', '.join(names)}):\n    o = _new(_cls)\n{''.join(body)}    return o\n"
    exec(source, namespace)  # as dataclasses builds __init__
    build: Callable[..., Estimate] = namespace["build"]
    build.__doc__ = "Build an `Estimate` from all its fields, by keyword."
    return build


#: ``build_estimate(**fields)`` == ``Estimate(**fields)``.
build_estimate = _constructor()


def _priced_constructor() -> Callable[..., Estimate]:
    """``build_priced(pricer, **figures)``: an `Estimate` with the `CARRIED` fields of `pricer`.

    Generated like `build_estimate`, for the per-call hot path: the pricer's resolved
    assumptions are read straight off it, the call's own figures come by keyword.
    """
    names = [f.name for f in fields(Estimate)]
    own = [name for name in names if name not in CARRIED]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": Estimate}
    body = []
    for i, name in enumerate(names):
        namespace[f"_set{i}"] = Estimate.__dict__[name].__set__
        value = f"p.{name}" if name in CARRIED else name
        body.append(f"    _set{i}(o, {value})\n")
    source = (f"def build(p, *, {', '.join(own)}):\n    o = _new(_cls)\n{''.join(body)}"
              "    return o\n")
    exec(source, namespace)
    build: Callable[..., Estimate] = namespace["build"]
    build.__doc__ = "Build an `Estimate` priced by `p` (a `CallPricer`) from the call's figures."
    return build


#: ``build_priced(pricer, **figures)``: the per-call hot path's constructor (`CallPricer.price`).
build_priced = _priced_constructor()

"""Registry entry types: models, accelerators, regions, each with the source of its numbers."""

from __future__ import annotations

import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tracker.exceptions import ConfigError

__all__ = [
    "BYTES_PER_PARAM",
    "FLOPS_PRECISION_MULTIPLIER",
    "PRECISIONS",
    "HardwareSpec",
    "ModelSpec",
    "Precision",
    "RegionSpec",
]

Precision = Literal["fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4", "mxfp4", "int4"]
PRECISIONS: tuple[str, ...] = typing.get_args(Precision)

#: The seed formula's precision multipliers (energy-model.md section 2).
FLOPS_PRECISION_MULTIPLIER: dict[str, float] = {
    "fp32": 1.0, "tf32": 1.0, "bf16": 2.0, "fp16": 2.0, "fp8": 4.0, "int8": 4.0,
    "fp4": 8.0, "mxfp4": 8.0, "int4": 8.0,
}

#: Bytes one weight occupies in memory at each precision (MXFP4: 4 bits + a shared 8-bit scale
#: per 32 values = 4.25 bits).
BYTES_PER_PARAM: dict[str, float] = {
    "fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0,
    "fp4": 0.5, "mxfp4": 0.53125, "int4": 0.5,
}

#: Entries are immutable, reject unknown fields and reject NaN and infinities in every number.
_FROZEN = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class _Spec(BaseModel):
    """Base of the entry types: constructing one with a bad value raises `ConfigError`.

    ``ModelSpec(total_params_b=-1)`` raises ``ConfigError("total_params_b", ...)`` (a
    ``ValueError``) rather than pydantic's ``ValidationError``; `model_validate` (what the registry
    file loader uses) still raises ``ValidationError``.
    """

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _config_error(type(self), exc) from None

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        numbers = value.values() if isinstance(value, dict) else (value,)
        for number in numbers:
            if isinstance(number, (int, float)) and not isinstance(number, bool) \
                    and abs(number) > _MAX_NUMBER:
                raise ValueError(f"must be at most {_MAX_NUMBER:g}")
        return value


#: Largest magnitude of any number in an entry: far above every real figure (parameters in
#: billions, TFLOP/s, W, GB, g/kWh), and small enough that energy products stay finite.
_MAX_NUMBER = 1e12


def _config_error(spec_type: type[BaseModel], exc: ValidationError) -> ConfigError:
    kind = spec_type.__name__
    errors = exc.errors(include_url=False)
    first = errors[0] if errors else {"loc": (), "msg": str(exc)}
    loc = ".".join(str(p) for p in first["loc"])
    if not loc:  # a check across fields: named by the first field its message mentions
        msg = str(first["msg"])
        loc = next((name for name in sorted(spec_type.model_fields, key=len, reverse=True)
                    if name in msg), kind)
    messages = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in errors[:5])
    return ConfigError(loc, f"invalid {kind} ({messages})")


class ModelSpec(_Spec):
    """One model: parameter counts (billions), serving precision and where the numbers come from.

    `active_params_b` defaults to `total_params_b` (a dense model). Closed models carry a range
    (`active_params_b_min`/`_max`) and `estimated=True`.
    """

    model_config = _FROZEN

    name: str = Field(min_length=1)
    total_params_b: float = Field(gt=0)
    active_params_b: float | None = Field(default=None, gt=0)
    active_params_b_min: float | None = Field(default=None, gt=0)
    active_params_b_max: float | None = Field(default=None, gt=0)
    precision: Precision = "bf16"
    provider: str | None = None
    estimated: bool = False
    aliases: tuple[str, ...] = ()
    source: str = "user"
    year: int | None = None
    #: ``chat`` (a decoder: prompt, then generated tokens) or ``embedding`` (an encoder pass).
    kind: Literal["chat", "embedding"] = "chat"
    # -- architecture, where published (None: the calibrated model's size-based priors) --
    layers: int | None = Field(default=None, gt=0)
    hidden_size: int | None = Field(default=None, gt=0)
    #: ``mha`` / ``gqa``: KV heads x head_dim cached per layer; ``mla``: a latent of kv_latent_dim.
    attention: Literal["mha", "gqa", "mla"] | None = None
    kv_heads: int | None = Field(default=None, gt=0)
    head_dim: int | None = Field(default=None, gt=0)
    #: Multi-head latent attention: cached values per token per layer (latent + RoPE key).
    kv_latent_dim: int | None = Field(default=None, gt=0)
    architecture_source: str | None = None

    @model_validator(mode="after")
    def _fill_and_check(self) -> ModelSpec:
        active = self.active_params_b if self.active_params_b is not None else self.total_params_b
        lo = self.active_params_b_min if self.active_params_b_min is not None else active
        hi = self.active_params_b_max if self.active_params_b_max is not None else active
        if not lo <= active <= hi:
            raise ValueError("active_params_b must lie within [active_params_b_min, _max]")
        if hi > self.total_params_b * 1.0001 and not self.estimated:
            raise ValueError("active_params_b cannot exceed total_params_b")
        object.__setattr__(self, "active_params_b", active)
        object.__setattr__(self, "active_params_b_min", lo)
        object.__setattr__(self, "active_params_b_max", hi)
        return self

    @property
    def active(self) -> float:
        """Active parameters in billions (central value)."""
        assert self.active_params_b is not None
        return self.active_params_b

    def kv_bytes_per_token(self) -> float | None:
        """KV-cache bytes per token of context at 16 bits, from the architecture (None: unknown)."""
        if self.layers is None:
            return None
        if self.attention == "mla" and self.kv_latent_dim:
            return float(self.layers * self.kv_latent_dim * 2)
        if self.kv_heads and self.head_dim:
            return float(2 * self.layers * self.kv_heads * self.head_dim * 2)
        return None


class HardwareSpec(_Spec):
    """One accelerator: dense peak TFLOP/s per precision, TDP, memory, bandwidth, life cycle."""

    model_config = _FROZEN

    name: str = Field(min_length=1)
    tdp_w: float = Field(gt=0)
    memory_gb: float = Field(gt=0)
    bandwidth_tb_s: float = Field(gt=0)
    peak_tflops: dict[str, float]
    #: Overrides the seed rule `bf16 peak / (TDP x 1500/700)` where the seed states a figure.
    flops_per_joule: float | None = Field(default=None, gt=0)
    aliases: tuple[str, ...] = ()
    source: str = "user"
    year: int | None = None
    flag: str | None = None
    # -- life cycle (tracker/model/_embodied.py, _training.py); None: the documented defaults --
    #: Manufacturing footprint of one accelerator plus its share of the host server, kgCO2e.
    embodied_kgco2e: float | None = Field(default=None, gt=0)
    embodied_kgco2e_min: float | None = Field(default=None, gt=0)
    embodied_kgco2e_max: float | None = Field(default=None, gt=0)
    embodied_source: str | None = None
    embodied_year: int | None = None
    #: Years the hardware is in service (the embodied footprint is spread over them).
    service_life_years: float | None = Field(default=None, gt=0)
    service_life_source: str | None = None
    service_life_year: int | None = None
    #: Share of the service life the accelerator is allocated to work (0-1].
    utilisation: float | None = Field(default=None, gt=0, le=1)
    utilisation_source: str | None = None
    utilisation_year: int | None = None
    #: Average accelerator draw while training, as a fraction of TDP.
    training_power_fraction: float | None = Field(default=None, gt=0, le=1)
    training_power_source: str | None = None
    training_power_year: int | None = None

    @model_validator(mode="after")
    def _check_peaks(self) -> HardwareSpec:
        if not any(p in self.peak_tflops for p in ("bf16", "fp16")):
            raise ValueError("peak_tflops needs a bf16 (or fp16) figure")
        for key, value in self.peak_tflops.items():
            if key not in PRECISIONS or value <= 0:
                raise ValueError(f"peak_tflops[{key!r}]: needs a known precision, a positive value")
        if self.embodied_kgco2e is not None:
            lo = self.embodied_kgco2e_min or self.embodied_kgco2e
            hi = self.embodied_kgco2e_max or self.embodied_kgco2e
            if not lo <= self.embodied_kgco2e <= hi:
                raise ValueError("embodied_kgco2e must lie within [embodied_kgco2e_min, _max]")
        return self

    def peak_flops(self, precision: str) -> float:
        """Dense peak FLOP/s at `precision`, falling back to the nearest wider format."""
        order = {
            "fp4": ("fp4", "mxfp4", "int4", "fp8", "int8", "bf16"),
            "mxfp4": ("mxfp4", "fp4", "int4", "fp8", "int8", "bf16"),
            "int4": ("int4", "fp4", "int8", "fp8", "bf16"),
            "fp8": ("fp8", "int8", "bf16"), "int8": ("int8", "fp8", "bf16"),
            "bf16": ("bf16", "fp16"), "fp16": ("fp16", "bf16"),
            "tf32": ("tf32", "fp32", "bf16"), "fp32": ("fp32", "tf32", "bf16"),
        }[precision]
        for key in order:
            if key in self.peak_tflops:
                return self.peak_tflops[key] * 1e12
        return self.peak_tflops.get("bf16", self.peak_tflops.get("fp16", 0.0)) * 1e12

    def seed_flops_per_joule(self) -> float:
        """The seed formula's FLOP per joule: dense 16-bit peak / (TDP x 1500/700)."""
        if self.flops_per_joule is not None:
            return self.flops_per_joule
        return self.peak_flops("bf16") / (self.tdp_w * 1500.0 / 700.0)


class RegionSpec(_Spec):
    """A grid: carbon intensity (with basis, year, source) and, where known, electricity price."""

    model_config = _FROZEN

    name: str = Field(min_length=1)
    kind: Literal["world", "country", "gcp", "aws", "azure", "custom"] = "custom"
    description: str = ""
    country: str | None = None
    gco2e_per_kwh: float = Field(ge=0)
    basis: str = "location-based"
    year: int | None = None
    source: str = "user"
    price_usd_per_kwh: float | None = Field(default=None, ge=0)
    price_source: str | None = None
    price_year: int | None = None
    grid_water_l_per_kwh: float | None = Field(default=None, ge=0)
    electricitymaps_zone: str | None = None
    aliases: tuple[str, ...] = ()

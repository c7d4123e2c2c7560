"""Registry entry types: models, accelerators, regions, each with the source of its numbers."""

from __future__ import annotations

import typing
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ModelSpec(BaseModel):
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


class HardwareSpec(BaseModel):
    """One accelerator: dense peak TFLOP/s per precision, TDP, memory and bandwidth."""

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

    @model_validator(mode="after")
    def _check_peaks(self) -> HardwareSpec:
        if not any(p in self.peak_tflops for p in ("bf16", "fp16")):
            raise ValueError("peak_tflops needs a bf16 (or fp16) figure")
        for key, value in self.peak_tflops.items():
            if key not in PRECISIONS or value <= 0:
                raise ValueError(f"peak_tflops[{key!r}]: needs a known precision, a positive value")
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


class RegionSpec(BaseModel):
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

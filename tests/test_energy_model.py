"""The energy model: the seed example, input validation, defaults and ranges."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracker
from tracker.exceptions import ConfigError, UnknownHardwareError, UnknownModelError
from tracker.model._estimate import DEFAULTS, FALLBACK_MODEL, estimate, pricer

SEED = dict(
    model="kimi-k2", output_tokens=1_000_000, input_tokens=0, hardware="h100", precision="bf16",
    method="flops", pue=1.2, carbon_intensity=243.0, price_usd_per_kwh=0.152,
)


def test_seed_example_reproduced_exactly() -> None:
    e = tracker.estimate(**SEED)
    assert e.energy_kwh == pytest.approx(0.016186, rel=0.005)
    assert e.gco2e == pytest.approx(3.933, rel=0.005)
    assert e.usd == pytest.approx(0.002460, rel=0.005)
    assert e.energy_kwh / 1e6 == pytest.approx(1.62e-8, rel=0.005)
    # Official parameter counts: the flops method has no range to speak of.
    assert e.energy_kwh_min == pytest.approx(e.energy_kwh)
    assert e.energy_kwh_max == pytest.approx(e.energy_kwh)
    assert e.accelerator_kwh == pytest.approx(e.energy_kwh / 1.2)
    assert (e.method, e.model, e.hardware, e.grid_source) == ("flops", "kimi-k2", "h100", "user")


def test_flops_is_the_seed_formula_for_other_hardware_and_precisions() -> None:
    hw = tracker.HardwareSpec(name="x", tdp_w=400, memory_gb=80, bandwidth_tb_s=2,
                              peak_tflops={"bf16": 312.0})
    e = estimate(tracker.ModelSpec(name="m", total_params_b=10), output_tokens=100, input_tokens=50,
                 hardware=hw, precision="fp8", method="flops", pue=1.0, host_overhead=0.0)
    fpj = 312e12 / (400 * 1500 / 700)
    joules = 2 * 10e9 * 150 / (fpj * 4)
    assert e.accelerator_kwh == pytest.approx(joules / 3.6e6, rel=1e-9)


def test_calibrated_is_the_default_and_higher_than_the_floor() -> None:
    floor = estimate(**SEED)
    cal = estimate(**{**SEED, "method": "calibrated"})
    default = estimate(**{k: v for k, v in SEED.items() if k != "method"})
    assert default.method == "calibrated"
    assert default.energy_kwh == cal.energy_kwh
    assert cal.host_overhead == DEFAULTS.host_overhead_calibrated
    assert cal.accelerator_kwh > floor.accelerator_kwh
    assert cal.energy_kwh_min <= cal.energy_kwh <= cal.energy_kwh_max


def test_region_and_defaults_when_nothing_is_configured() -> None:
    e = estimate("llama-3.1-8b", output_tokens=100)
    assert e.region == "world"
    assert e.carbon_intensity == pytest.approx(458.3, abs=0.05)  # OWID world average
    assert e.grid_source == "registry"
    assert e.pue == 1.2 and e.hardware == "h100"
    assert e.gco2e == pytest.approx(e.energy_kwh * e.carbon_intensity)
    assert e.water_l == pytest.approx(e.energy_kwh / e.pue * DEFAULTS.wue)


def test_region_figure_used() -> None:
    e = estimate("llama-3.1-8b", output_tokens=100, region="gcp:us-central1")
    assert e.carbon_intensity == pytest.approx(412.72)
    assert e.region == "gcp:us-central1"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"output_tokens": -1}, "output_tokens"),
        ({"output_tokens": 1.5}, "output_tokens"),
        ({"input_tokens": "12"}, "input_tokens"),
        ({"input_tokens": True}, "input_tokens"),
        ({"pue": 0.9}, "pue"),
        ({"pue": float("nan")}, "pue"),
        ({"carbon_intensity": -1.0}, "carbon_intensity"),
        ({"price_usd_per_kwh": -0.1}, "price_usd_per_kwh"),
        ({"hardware": "h1000"}, "hardware"),
        ({"region": "mars-1"}, "region"),
        ({"region": 5}, "region"),
        ({"hardware": 5}, "hardware"),
        ({"output_tokens": None}, "output_tokens"),
        ({"pue": "1.2"}, "pue"),
        ({"batch_size": "x"}, "batch_size"),
        ({"gpus": 1.5}, "gpus"),
        ({"carbon_intensity": float("inf")}, "carbon_intensity"),
        ({"wue": -1}, "wue"),
        ({"method": "magic"}, "method"),
        ({"precision": "fp7"}, "precision"),
        ({"gpus": 0}, "gpus"),
        ({"batch_size": 0}, "batch_size"),
        ({"host_overhead": -0.5}, "host_overhead"),
        ({"model": "gpt-4p"}, "model"),
        ({"model": 42}, "model"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"model": "llama-3.1-8b", "output_tokens": 10, **kwargs}
    with pytest.raises(ValueError, match=field) as info:
        estimate(**args)  # type: ignore[arg-type]
    assert isinstance(info.value, ConfigError)
    assert info.value.field == field


def test_unknown_names_suggest_close_ones() -> None:
    with pytest.raises(UnknownHardwareError) as hw:
        estimate("llama-3.1-8b", output_tokens=1, hardware="h10")
    assert "h100" in hw.value.suggestions
    with pytest.raises(UnknownModelError) as model:
        estimate("gpt-4p", output_tokens=1)
    assert "gpt-4o" in model.value.suggestions


def test_unknown_model_fallback_is_flagged() -> None:
    p = pricer("no-such-model-xyz", unknown_model="fallback")
    assert p.model_known is False
    assert p.model == FALLBACK_MODEL.name
    e = p.price(10, 10)
    assert e.energy_kwh > 0 and e.energy_kwh_min < e.energy_kwh < e.energy_kwh_max


def test_hosted_model_range_and_anchor() -> None:
    """GPT-4o-class default within 3x of the published 0.24-0.42 Wh per query anchors."""
    e = estimate("gpt-4o", output_tokens=300, input_tokens=100)
    assert e.params_estimated
    assert e.energy_kwh_min < e.energy_kwh < e.energy_kwh_max
    wh = e.energy_kwh * 1000
    assert 0.24 / 3 <= wh <= 0.42 * 3, wh


def test_pricer_live_intensity_override() -> None:
    p = pricer("llama-3.1-8b", carbon_intensity=100.0)
    e = p.price(10, 20, carbon_intensity=50.0, grid_source="electricitymaps")
    assert e.gco2e == pytest.approx(e.energy_kwh * 50.0)
    assert e.grid_source == "electricitymaps"
    assert p.price(10, 20).grid_source == "user"


# ------------------------------------------------------------------------------ properties

_models = st.builds(
    lambda total, frac, prec: tracker.ModelSpec(
        name="p", total_params_b=total, active_params_b=max(total * frac, 0.1), precision=prec),
    st.floats(0.5, 2000), st.floats(0.01, 1.0), st.sampled_from(["bf16", "fp8", "mxfp4", "fp32"]),
)


@settings(max_examples=60, deadline=None)
@given(model=_models, out=st.integers(0, 10**7), inp=st.integers(0, 10**6),
       method=st.sampled_from(["calibrated", "flops"]), batch=st.none() | st.floats(1, 4096),
       hw=st.sampled_from(["h100", "b200", "a100-40gb", "l4", "mi300x"]))
def test_energy_never_negative_and_range_ordered(model: tracker.ModelSpec, out: int, inp: int,
                                                 method: str, batch: float | None, hw: str) -> None:
    e = estimate(model, output_tokens=out, input_tokens=inp, method=method, batch_size=batch,
                 hardware=hw)
    for value in (e.energy_kwh, e.energy_kwh_min, e.gco2e, e.usd, e.water_l, e.accelerator_kwh):
        assert value >= 0 and math.isfinite(value)
    assert e.energy_kwh_min <= e.energy_kwh <= e.energy_kwh_max
    assert e.gco2e_min <= e.gco2e <= e.gco2e_max


@settings(max_examples=40, deadline=None)
@given(model=_models, out=st.integers(1, 10**6), k=st.integers(2, 50))
def test_flops_linear_in_output_tokens(model: tracker.ModelSpec, out: int, k: int) -> None:
    one = estimate(model, output_tokens=out, method="flops")
    many = estimate(model, output_tokens=out * k, method="flops")
    assert many.energy_kwh == pytest.approx(one.energy_kwh * k, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(total=st.floats(1, 1000), a=st.floats(0.05, 1.0), b=st.floats(0.05, 1.0),
       method=st.sampled_from(["calibrated", "flops"]), batch=st.none() | st.floats(1, 1024))
def test_non_decreasing_in_active_params(total: float, a: float, b: float, method: str,
                                         batch: float | None) -> None:
    lo, hi = sorted((a, b))
    small = tracker.ModelSpec(name="s", total_params_b=total, active_params_b=total * lo)
    big = tracker.ModelSpec(name="b", total_params_b=total, active_params_b=total * hi)
    kw: dict[str, object] = {"output_tokens": 1000, "input_tokens": 100, "method": method,
                             "batch_size": batch}
    assert estimate(big, **kw).energy_kwh >= estimate(small, **kw).energy_kwh * (1 - 1e-12)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(p1=st.floats(1, 3), p2=st.floats(1, 3), c1=st.floats(0, 2000), c2=st.floats(0, 2000),
       method=st.sampled_from(["calibrated", "flops"]))
def test_non_decreasing_in_pue_and_intensity(p1: float, p2: float, c1: float, c2: float,
                                             method: str) -> None:
    (plo, phi), (clo, chi) = sorted((p1, p2)), sorted((c1, c2))
    base = {"model": "llama-3.1-70b", "output_tokens": 500, "method": method}
    assert estimate(**base, pue=phi).energy_kwh >= estimate(**base, pue=plo).energy_kwh  # type: ignore[arg-type]
    assert (estimate(**base, carbon_intensity=chi).gco2e  # type: ignore[arg-type]
            >= estimate(**base, carbon_intensity=clo).gco2e)  # type: ignore[arg-type]

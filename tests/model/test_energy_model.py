"""The energy model: the seed example, input validation, defaults and ranges."""

from __future__ import annotations

import math
from typing import Any

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
    assert DEFAULTS.host_overhead_calibrated is None  # host power is modelled
    assert 0.1 < cal.host_overhead < 1.0
    assert cal.server_kwh == pytest.approx(cal.accelerator_kwh * (1 + cal.host_overhead))
    assert cal.energy_kwh == pytest.approx(cal.server_kwh * (1 + cal.fleet_idle) * cal.pue)
    assert cal.fleet_idle == pytest.approx(10 / 83)  # Google 2025: idle 10 % / (58 + 25) %
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
        ({"engine": "magic"}, "engine"),
        ({"engine": 3}, "engine"),
        ({"power_limit_w": 0}, "power_limit_w"),
        ({"power_limit_w": "300"}, "power_limit_w"),
        ({"fleet_idle": -0.1}, "fleet_idle"),
        ({"cached_input_tokens": -1}, "cached_input_tokens"),
        ({"cached_input_tokens": 11, "input_tokens": 10}, "cached_input_tokens"),
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


def test_unknown_embedding_model_falls_back_to_an_encoder() -> None:
    p = pricer("acme-embed-large-v9", unknown_model="fallback")
    assert p.model == "unknown-embedding" and p.model_known is False
    chat = pricer("acme-chat-v9", unknown_model="fallback")
    assert chat.model == FALLBACK_MODEL.name
    assert p.price(1000, 0).energy_kwh < chat.price(1000, 0).energy_kwh / 10


@pytest.mark.parametrize("published_wh", [0.24, 0.3, 0.34, 0.42])
def test_hosted_model_range_and_anchor(published_wh: float) -> None:
    """GPT-4o, 200 in / 400 out, defaults only: within 3x of each published per-query figure
    (Google 0.24 Wh, Epoch AI 0.3 Wh, OpenAI 0.34 Wh, Jegham et al. 0.42 Wh)."""
    e = estimate("gpt-4o", output_tokens=400, input_tokens=200)
    assert e.params_estimated and e.engine == "mix"
    assert e.energy_kwh_min < e.energy_kwh < e.energy_kwh_max
    wh = e.energy_kwh * 1000
    assert published_wh / 3 <= wh <= published_wh * 3, wh


def test_boundaries_nest() -> None:
    e = estimate("llama-3.1-70b", output_tokens=400, input_tokens=200)
    assert 0 < e.accelerator_kwh < e.server_kwh < e.energy_kwh
    gpu_only = estimate("llama-3.1-70b", output_tokens=400, input_tokens=200, host_overhead=0,
                        fleet_idle=0, pue=1)
    assert gpu_only.energy_kwh == pytest.approx(gpu_only.server_kwh)
    assert gpu_only.server_kwh == pytest.approx(gpu_only.accelerator_kwh)
    assert gpu_only.accelerator_kwh == pytest.approx(e.accelerator_kwh)
    given = estimate("llama-3.1-70b", output_tokens=400, input_tokens=200, host_overhead=0.5)
    assert given.server_kwh == pytest.approx(1.5 * given.accelerator_kwh)


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


@settings(max_examples=80, deadline=None)
@given(model=_models, out=st.integers(0, 10**7), inp=st.integers(0, 10**6),
       cached=st.floats(0, 1), method=st.sampled_from(["calibrated", "flops"]),
       batch=st.none() | st.floats(1, 4096),
       hw=st.sampled_from(["h100", "b200", "a100-40gb", "l4", "mi300x", "tpu-v6e"]),
       engine=st.none() | st.sampled_from(["vllm", "sglang", "tensorrt-llm", "transformers",
                                           "llama.cpp", "mix"]),
       limit=st.none() | st.floats(50, 2000), kind=st.sampled_from(["chat", "embedding"]))
def test_energy_never_negative_and_range_ordered(
        model: tracker.ModelSpec, out: int, inp: int, cached: float, method: str,
        batch: float | None, hw: str, engine: str | None, limit: float | None,
        kind: str) -> None:
    """min <= central <= max at every boundary, and the boundaries nest."""
    model = model.model_copy(update={"kind": kind})
    e = estimate(model, output_tokens=out, input_tokens=inp, method=method, batch_size=batch,
                 hardware=hw, engine=engine, power_limit_w=limit,
                 cached_input_tokens=int(inp * cached))
    for value in (e.energy_kwh, e.energy_kwh_min, e.gco2e, e.usd, e.water_l, e.accelerator_kwh,
                  e.accelerator_kwh_min, e.server_kwh, e.server_kwh_min):
        assert value >= 0 and math.isfinite(value)
    assert e.accelerator_kwh_min <= e.accelerator_kwh <= e.accelerator_kwh_max
    assert e.server_kwh_min <= e.server_kwh <= e.server_kwh_max
    assert e.energy_kwh_min <= e.energy_kwh <= e.energy_kwh_max
    assert e.gco2e_min <= e.gco2e <= e.gco2e_max
    assert e.accelerator_kwh <= e.server_kwh * (1 + 1e-12) <= e.energy_kwh * (1 + 1e-9)


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


# ------------------------------------------------------------------------------ end to end


def test_embedding_call_span_through_a_real_client(configure_tracker: Any, demo_server: Any,
                                                   tmp_path: Any) -> None:
    """A real OpenAI embeddings call: priced as an encoder pass by a known registry entry, with
    the boundaries on the log record and the ledger line, and the engine on the span."""
    import json

    import openai

    ledger = tmp_path / "ledger.jsonl"
    otel = configure_tracker(ledger=str(ledger))
    tracker.instrument("openai")
    try:
        with openai.OpenAI(api_key="sk-test", base_url=demo_server.openai_base_url,
                           max_retries=0) as client:
            client.embeddings.create(model="text-embedding-3-small", input="some text")
            client.chat.completions.create(model="gpt-4o-mini",
                                           messages=[{"role": "user", "content": "hi"}])
    finally:
        tracker.uninstrument()
    spans = {s.attributes["gen_ai.operation.name"]: s.attributes for s in otel.call_spans()}
    emb, chat = spans["embeddings"], spans["chat"]
    assert emb["energy.model_known"] is True
    assert emb["energy.model"] == "text-embedding-3-small"
    assert emb["energy.engine"] == "mix"
    per_token_emb = emb["energy.kwh"] / emb["gen_ai.usage.input_tokens"]
    per_token_chat = chat["energy.kwh"] / (chat["gen_ai.usage.input_tokens"]
                                           + chat["gen_ai.usage.output_tokens"])
    assert per_token_emb < per_token_chat
    logs = [r.attributes for r in otel.logs()]
    lines = [json.loads(x) for x in ledger.read_text().splitlines()]
    for record in (*logs, *lines):
        assert 0 < record["energy.accelerator_kwh"] < record["energy.server_kwh"]
        assert record["energy.server_kwh"] < record["energy.kwh"]

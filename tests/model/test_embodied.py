"""Embodied carbon: registry fields with sources, per-call amortisation, span and ledger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import tracker
from tracker import _attributes as A
from tracker.model import _embodied as embodied
from tracker.model._estimate import estimate
from tracker.model._registry import get_registry
from tracker.model._specs import HardwareSpec
from tracker.recording._scope import track_energy

_LIFE_CYCLE_FIELDS = (
    ("embodied_kgco2e", "embodied_source", "embodied_year"),
    ("service_life_years", "service_life_source", "service_life_year"),
    ("utilisation", "utilisation_source", "utilisation_year"),
    ("training_power_fraction", "training_power_source", "training_power_year"),
)


@pytest.mark.parametrize("hw", get_registry().hardware_list(), ids=lambda h: h.name)
def test_every_hardware_entry_has_life_cycle_fields_with_source_and_year(
        hw: HardwareSpec) -> None:
    """Each new number carries a source and a year; the embodied range brackets the value."""
    for value_field, source_field, year_field in _LIFE_CYCLE_FIELDS:
        assert getattr(hw, value_field) is not None, value_field
        assert len(getattr(hw, source_field) or "") > 20, source_field
        year = getattr(hw, year_field)
        assert isinstance(year, int) and 2015 <= year <= 2026, year_field
    assert hw.embodied_kgco2e_min is not None and hw.embodied_kgco2e_max is not None
    assert hw.embodied_kgco2e_min < hw.embodied_kgco2e < hw.embodied_kgco2e_max  # type: ignore[operator]
    assert 0 < hw.training_power_fraction <= 1  # type: ignore[operator]


def test_training_accelerators_are_registered() -> None:
    """V100, TPU v3 and TPU v4 (GPT-3, Gopher, PaLM) are in the registry."""
    reg = get_registry()
    assert reg.hardware("nvidia-tesla-v100").name == "v100"
    assert reg.hardware("tpu-v3").peak_flops("bf16") == pytest.approx(123e12)
    assert reg.hardware("tpu-v4").peak_flops("bf16") == pytest.approx(275e12)
    assert reg.hardware("v100").peak_flops("bf16") == pytest.approx(125e12)  # fp16 fallback


def test_hardware_file_has_no_machine_paths() -> None:
    """The data file's description names sources, not paths on someone's machine."""
    text = (Path(tracker.__file__).parent / "model" / "data" / "hardware.json").read_text("utf-8")
    for folder in ("work", "tmp", "root", "home"):
        assert f"/{folder}/" not in text


def test_embodied_is_beside_usage_carbon_never_in_it() -> None:
    """gco2e stays energy x intensity; total_gco2e adds the embodied share explicitly."""
    e = estimate("gpt-4o", output_tokens=400, input_tokens=200, carbon_intensity=400.0)
    assert e.gco2e == pytest.approx(e.energy_kwh * 400.0)
    assert e.embodied_gco2e > 0
    assert e.total_gco2e == pytest.approx(e.gco2e + e.embodied_gco2e)
    assert e.embodied_gco2e_min < e.embodied_gco2e < e.embodied_gco2e_max
    zero = estimate("gpt-4o", output_tokens=0, input_tokens=0)
    assert zero.embodied_gco2e == 0.0
    hw = get_registry().hardware(e.hardware)
    assert "Boavizta" in (hw.embodied_source or "") and hw.embodied_year


def test_embodied_grows_with_the_call_and_the_hardware_time() -> None:
    """More output tokens hold the accelerators longer: embodied carbon follows their time."""
    short = estimate("llama-3.1-70b", output_tokens=100, hardware="h100", gpus=4, batch_size=64)
    long = estimate("llama-3.1-70b", output_tokens=1000, hardware="h100", gpus=4, batch_size=64)
    assert long.embodied_gco2e > short.embodied_gco2e
    assert long.embodied_gco2e / short.embodied_gco2e == pytest.approx(
        long.accelerator_kwh / short.accelerator_kwh)
    # allocation by accelerator time: energy / (TDP x serving draw) over the service life
    hw = get_registry().hardware("h100")
    seconds = short.accelerator_kwh * 3.6e6 * embodied.seconds_per_joule(hw)
    assert short.embodied_gco2e == pytest.approx(seconds * embodied.amortisation(hw).g_per_s)


def test_embodied_amortisation_follows_footprint_life_and_utilisation() -> None:
    """Double footprint doubles it; double life halves it; half utilisation doubles it."""
    base = get_registry().hardware("h100")
    fields = base.model_dump()

    def variant(**changes: Any) -> HardwareSpec:
        return HardwareSpec(**{**fields, "name": "h100-variant", **changes})

    def emb(hw: HardwareSpec) -> float:
        return estimate("llama-3.1-70b", output_tokens=500, input_tokens=100, hardware=hw,
                        gpus=4, batch_size=64).embodied_gco2e

    ref = emb(variant())
    double = 2 * (base.embodied_kgco2e or 0)
    assert emb(variant(embodied_kgco2e=double, embodied_kgco2e_max=double * 2)) == \
        pytest.approx(2 * ref)
    assert emb(variant(service_life_years=2 * (base.service_life_years or 0))) == \
        pytest.approx(ref / 2)
    assert emb(variant(utilisation=0.5)) == pytest.approx(2 * ref)


def test_user_hardware_without_life_cycle_fields_uses_documented_defaults() -> None:
    """A HardwareSpec without figures gets the A100 server defaults, not zero."""
    hw = HardwareSpec(name="custom", tdp_w=500, memory_gb=96, bandwidth_tb_s=3.0,
                      peak_tflops={"bf16": 800})
    amort = embodied.amortisation(hw)
    c = embodied.DEFAULT_EMBODIED_KGCO2E[0]
    year_s = embodied.DEFAULT_SERVICE_LIFE_YEARS * 365.25 * 86400
    assert amort.g_per_s == pytest.approx(c * 1000 / year_s)
    assert amort.g_per_s_min < amort.g_per_s < amort.g_per_s_max
    assert embodied.training_power_fraction(hw) == embodied.DEFAULT_TRAINING_POWER_FRACTION


def test_invalid_embodied_range_is_rejected() -> None:
    """The central footprint must lie inside its range."""
    with pytest.raises(ValueError, match="embodied_kgco2e"):
        HardwareSpec(name="bad", tdp_w=500, memory_gb=96, bandwidth_tb_s=3.0,
                     peak_tflops={"bf16": 800}, embodied_kgco2e=100, embodied_kgco2e_min=200)


def test_call_span_carries_embodied_attribute(configure_tracker: Any) -> None:
    """`energy.embodied_gco2e` is on the call span, equal to the estimate's value."""
    otel = configure_tracker()
    tracker.record_usage(model="gpt-4o", input_tokens=200, output_tokens=400)
    (span,) = otel.call_spans()
    attrs = dict(span.attributes or {})
    expected = estimate("gpt-4o", output_tokens=400, input_tokens=200, hardware=str(
        attrs[A.ENERGY_HARDWARE]), region=str(attrs[A.ENERGY_REGION]),
        pue=float(attrs[A.ENERGY_PUE]))  # type: ignore[arg-type]
    assert attrs[A.ENERGY_EMBODIED_GCO2E] == pytest.approx(expected.embodied_gco2e)
    (log,) = otel.logs()
    assert dict(log.attributes)[A.ENERGY_EMBODIED_GCO2E] == attrs[A.ENERGY_EMBODIED_GCO2E]


def test_scope_training_tokens_on_span_and_ledger(configure_tracker: Any,
                                                  tmp_path: Path) -> None:
    """`t.add_training_tokens(n)`: the scope span and a ledger line carry the estimate."""
    ledger = tmp_path / "ledger.jsonl"
    otel = configure_tracker(ledger=str(ledger))
    with track_energy("finetune", model="llama-3.1-8b") as t:
        t.add_training_tokens(60_000_000, method="lora", hardware="h100")
        est = t.add_training_tokens(40_000_000, method="lora", hardware="h100")
    assert est is not None and est.training_tokens == 100_000_000
    attrs = dict(otel.span("finetune").attributes or {})
    assert attrs[A.ENERGY_TRAINING_TOKENS] == 100_000_000
    assert attrs[A.ENERGY_TRAINING_ESTIMATED] is True
    assert attrs[A.ENERGY_TRAINING_KWH] == pytest.approx(est.energy_kwh)
    assert attrs[A.ENERGY_KWH] == 0.0  # no LLM calls: training is not mixed into call sums
    lines = [json.loads(x) for x in ledger.read_text("utf-8").splitlines() if x.strip()]
    (line,) = [x for x in lines if x["event"] == A.EVENT_TRAINING]
    assert line[A.ENERGY_TRAINING_GCO2E] == pytest.approx(est.gco2e)
    assert line["function"] == "finetune"


def test_bad_training_option_never_raises_into_the_block(configure_tracker: Any) -> None:
    """A bad option is reported, the user's block carries on."""
    configure_tracker(strict=False)
    with track_energy("finetune", model="llama-3.1-8b") as t:
        assert t.add_training_tokens(1000, method="nonsense") is None

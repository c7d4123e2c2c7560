"""estimate_training(): published training runs, LoRA vs full, validation, the CLI."""

from __future__ import annotations

import json
import math
import statistics

import pytest

from tracker.cli._app import main as cli_main
from tracker.exceptions import ConfigError
from tracker.model._registry import get_registry
from tracker.model._specs import ModelSpec
from tracker.model._training import (
    DEFAULT_MFU,
    MFU_RANGE,
    MFU_RUNS,
    estimate_training,
    realised_mfu,
)


def _loo_mfu(name: str) -> float:
    """Median whole-run MFU of the published runs other than `name` (leave one out)."""
    return statistics.median(realised_mfu(r) for r in MFU_RUNS if r.name != name)


def _ratio(estimated: float, published: float) -> float:
    return estimated / published


def test_gpt3_facility_energy_within_2x_of_patterson() -> None:
    """GPT-3 175B, 300B tokens, V100, PUE 1.10: 1,287 MWh facility (Patterson et al. 2021)."""
    est = estimate_training(ModelSpec(name="gpt-3", total_params_b=175), 300_000_000_000,
                            hardware="v100", pue=1.10, mfu=_loo_mfu("GPT-3 175B"))
    assert 0.5 <= _ratio(est.energy_kwh, 1_287_000) <= 2.0
    # the default MFU (which includes this run) also lands within 2x
    default = estimate_training(ModelSpec(name="gpt-3", total_params_b=175), 300_000_000_000,
                                hardware="v100", pue=1.10)
    assert 0.5 <= _ratio(default.energy_kwh, 1_287_000) <= 2.0
    assert default.energy_kwh_min <= default.energy_kwh <= default.energy_kwh_max


def test_bloom_accelerator_energy_within_2x_of_luccioni() -> None:
    """BLOOM-176B, 366B tokens, A100-80GB: 433 MWh = GPU-hours x 400 W (Luccioni et al. 2022)."""
    est = estimate_training(ModelSpec(name="bloom", total_params_b=176), 366_000_000_000,
                            hardware="a100-80gb", mfu=_loo_mfu("BLOOM-176B"))
    assert 0.5 <= _ratio(est.accelerator_kwh, 433_000) <= 2.0
    assert est.accelerator_kwh < est.server_kwh < est.energy_kwh


def test_bloom_published_gpu_hours_win_and_reproduce_the_boundary() -> None:
    """Given the 1.08M published GPU-hours at full TDP, accelerator energy is exactly 433 MWh."""
    est = estimate_training(ModelSpec(name="bloom", total_params_b=176), 366_000_000_000,
                            hardware="a100-80gb", gpu_hours=1.08e6, mfu=None)
    assert est.accelerator_hours == 1.08e6 and est.accelerator_hours_given
    assert est.mfu is None
    # 1.08M h x 400 W = 432 MWh at TDP: the range's upper end, the central value below it
    assert est.energy_kwh_max / (est.pue * (1 + est.host_overhead)) == pytest.approx(432_000)
    assert est.accelerator_kwh < 432_000


#: Other published runs, energy at a stated boundary: (name, params B, tokens, hardware, PUE,
#: boundary, published kWh, source). Not used by the MFU default.
ENERGY_RUNS = (
    ("Gopher 280B", 280.0, 300e9, "tpu-v3", 1.08, "server", 1_066_000,
     "Rae et al. 2021 via Luccioni et al. 2022 Table 4 (1,066 MWh before PUE 1.08)"),
    ("OPT-175B", 175.0, 180e9, "a100-80gb", 1.09, "server", 324_000,
     "Zhang et al. 2022 via Luccioni et al. 2022 Table 4 (324 MWh)"),
)


@pytest.mark.parametrize("run", ENERGY_RUNS, ids=[r[0] for r in ENERGY_RUNS])
def test_other_published_runs_energy_within_2x(run: tuple[object, ...]) -> None:
    """Gopher and OPT-175B from model-card facts, at the boundary their figure was stated at."""
    name, params, tokens, hardware, pue, boundary, published, _source = run
    assert isinstance(params, float) and isinstance(tokens, float)
    mfu = _loo_mfu(str(name))
    est = estimate_training(ModelSpec(name=str(name), total_params_b=params), int(tokens),
                            hardware=str(hardware), pue=float(str(pue)), mfu=mfu)
    value = est.server_kwh if boundary == "server" else est.energy_kwh
    assert 0.5 <= value / float(str(published)) <= 2.0


def test_published_accelerator_hours_scored_leave_one_out() -> None:
    """Every run with published accelerator-hours, estimated with the MFU of the others."""
    errors = []
    for run in MFU_RUNS:
        est = estimate_training(ModelSpec(name=run.name, total_params_b=run.params_b),
                                int(run.tokens), hardware=run.hardware, mfu=_loo_mfu(run.name))
        errors.append(abs(math.log2(est.accelerator_hours / run.accelerator_hours)))
    within = sum(e <= 1.0 for e in errors) / len(errors)
    assert statistics.median(errors) <= 0.5
    assert within >= 0.8  # Llama 3.1 8B (whole-run MFU 0.14) is the known outlier


def test_default_mfu_is_the_median_of_the_published_runs() -> None:
    """The default is recomputed from the run table in the repository, not typed in."""
    values = [realised_mfu(r) for r in MFU_RUNS]
    assert abs(DEFAULT_MFU - statistics.median(values)) <= 1e-3
    assert MFU_RANGE[0] < DEFAULT_MFU < MFU_RANGE[1]
    for run in MFU_RUNS:
        assert run.source and get_registry().hardware(run.hardware)


def test_lora_fine_tune_costs_less_than_full() -> None:
    """LoRA of an 8B model on 100M tokens: no weight gradients for the frozen weights."""
    full = estimate_training("llama-3.1-8b", 100_000_000, hardware="h100")
    lora = estimate_training("llama-3.1-8b", 100_000_000, hardware="h100", method="lora")
    qlora = estimate_training("llama-3.1-8b", 100_000_000, hardware="h100", method="qlora",
                              trainable_fraction=0.01)
    assert lora.energy_kwh < full.energy_kwh
    assert lora.flops / full.flops == pytest.approx((4 + 2 * 0.005) / 6)
    assert qlora.flops > lora.flops  # a larger trainable share costs more
    assert lora.gco2e < full.gco2e and lora.embodied_gco2e < full.embodied_gco2e


def test_compute_scales_with_params_and_tokens_and_attention_term() -> None:
    """6ND, plus 6 x layers x context x d_model per token when the architecture is given."""
    base = estimate_training(ModelSpec(name="m", total_params_b=1.0), 1_000_000, mfu=0.5)
    assert base.flops == pytest.approx(6e9 * 1e6)
    attn = estimate_training(ModelSpec(name="m", total_params_b=1.0), 1_000_000, mfu=0.5,
                             context_length=4096, n_layers=16, d_model=2048)
    assert attn.flops == pytest.approx((6e9 + 6 * 16 * 4096 * 2048) * 1e6)
    twice = estimate_training(ModelSpec(name="m", total_params_b=2.0), 1_000_000, mfu=0.5)
    assert twice.energy_kwh == pytest.approx(2 * base.energy_kwh)


def test_attention_term_uses_the_registry_architecture() -> None:
    """A registry model with published layers and hidden size gets the attention term."""
    spec = get_registry().model("llama-3.1-8b")
    if not (getattr(spec, "layers", None) and getattr(spec, "hidden_size", None)):
        pytest.skip("registry entry without architecture")
    plain = estimate_training(spec, 1_000_000, mfu=0.4)
    long = estimate_training(spec, 1_000_000, mfu=0.4, context_length=8192)
    extra = 6 * spec.layers * 8192 * spec.hidden_size * 1_000_000  # type: ignore[attr-defined]
    assert long.flops - plain.flops == pytest.approx(extra)


def test_carbon_embodied_and_total_are_separate() -> None:
    """Embodied carbon is reported beside usage carbon; total adds them."""
    est = estimate_training("llama-3.1-8b", 10_000_000_000, hardware="h100", gpus=64,
                            carbon_intensity=400.0)
    assert est.gco2e == pytest.approx(est.energy_kwh * 400.0)
    assert est.embodied_gco2e > 0
    assert est.total_gco2e == pytest.approx(est.gco2e + est.embodied_gco2e)
    assert est.embodied_gco2e_min < est.embodied_gco2e < est.embodied_gco2e_max
    assert est.wall_clock_hours == pytest.approx(est.accelerator_hours / 64)
    assert est.estimated is True
    json.dumps(est.to_dict())


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"training_tokens": -1}, "training_tokens"),
    ({"method": "adapter"}, "method"),
    ({"mfu": 1.5}, "mfu"),
    ({"mfu": 0.3, "gpu_hours": 10.0}, "mfu"),
    ({"gpu_hours": -2.0}, "gpu_hours"),
    ({"method": "lora", "trainable_fraction": 2.0}, "trainable_fraction"),
    ({"gpus": 0}, "gpus"),
    ({"pue": 0.5}, "pue"),
    ({"precision": "fp7"}, "precision"),
    ({"hardware": "z80"}, "hardware"),
])
def test_bad_input_raises_config_error_naming_the_field(kwargs: dict[str, object],
                                                        field: str) -> None:
    """Only ConfigError, with the offending field."""
    args: dict[str, object] = {"training_tokens": 1000, **kwargs}
    tokens = args.pop("training_tokens")
    with pytest.raises(ConfigError) as info:
        estimate_training("llama-3.1-8b", tokens, **args)  # type: ignore[arg-type]
    assert info.value.field == field


def test_cli_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`llm-energy estimate-training` prints a table, or JSON equal to the Python result."""
    argv = ["estimate-training", "--model", "gpt-3", "--params-b", "175",
            "--tokens", "300000000000", "--hardware", "v100", "--pue", "1.1"]
    assert cli_main(argv) == 0
    table = capsys.readouterr().out
    assert "GWh" in table and "embodied" in table and "estimate" in table
    assert cli_main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    direct = estimate_training(ModelSpec(name="gpt-3", total_params_b=175), 300_000_000_000,
                               hardware="v100", pue=1.1)
    assert data["energy_kwh"] == pytest.approx(direct.energy_kwh)
    assert data["hardware"] == "v100"


@pytest.mark.parametrize(("extra", "field"), [
    (["--params-b", "-3"], "params_b"),
    (["--mfu", "2"], "mfu"),
    (["--method", "sgd"], "method"),
])
def test_cli_bad_input_exits_2_naming_the_field(extra: list[str], field: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Exit status 2 and the field in the message."""
    argv = ["estimate-training", "--model", "llama-3.1-8b", "--tokens", "1000", *extra]
    assert cli_main(argv) == 2
    assert field in capsys.readouterr().err


@pytest.mark.parametrize(("written", "tokens"), [
    ("300000000000", 300_000_000_000), ("300_000_000_000", 300_000_000_000),
    ("3e11", 300_000_000_000), ("300B", 300_000_000_000), ("15T", 15_000_000_000_000),
    ("2.5M", 2_500_000), ("10k", 10_000),
])
def test_cli_token_counts_as_model_cards_write_them(written: str, tokens: int,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """``--tokens`` takes plain, scientific and suffixed counts; the FLOP note has no ``e+``."""
    argv = ["estimate-training", "--model", "llama-3.1-8b", "--tokens", written]
    assert cli_main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["training_tokens"] == tokens
    assert cli_main(argv) == 0
    table = capsys.readouterr().out
    assert f"{tokens:,} tokens" in table and "e+" not in table


@pytest.mark.parametrize("written", ["abc", "1.5", "1e400", "nan", "3x", ""])
def test_cli_token_count_that_is_not_one_exits_2(written: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A count that is not a whole number is refused by the argument parser, naming --tokens."""
    assert cli_main(["estimate-training", "--model", "llama-3.1-8b", "--tokens", written]) == 2
    assert "--tokens" in capsys.readouterr().err


def test_cli_unknown_model_suggests_params_b(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["estimate-training", "--model", "my-model", "--tokens", "1T"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'my-model'" in err and "--params-b" in err

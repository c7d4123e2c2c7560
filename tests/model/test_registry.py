"""Behaviour of the model, hardware and region registries (tracker/registry.py)."""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracker.exceptions import (
    ConfigError,
    UnknownHardwareError,
    UnknownModelError,
    UnknownRegionError,
)
from tracker.model._registry import (
    WORLD,
    Registry,
    get_registry,
    load_registry_file,
    register,
    reset_registry,
)
from tracker.model._specs import HardwareSpec, ModelSpec, RegionSpec

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "reference"
CALIBRATION = (Path(__file__).resolve().parents[2] / "benchmarks" / "data"
               / "measured_energy_calibration.csv")


@pytest.fixture
def reg() -> Registry:
    return Registry()


@pytest.fixture
def clean_global() -> Iterator[None]:
    reset_registry()
    yield
    reset_registry()


def _csv(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# --- counts and provenance -------------------------------------------------------------------


def test_counts(reg: Registry) -> None:
    assert len(reg.models()) >= 60
    names = {h.name for h in reg.hardware_list()}
    assert names >= {"h100", "h100-pcie", "h200", "b200", "gb200", "a100-40gb", "a100-80gb", "l4",
                     "l40s", "mi300x", "mi325x", "tpu-v5e", "tpu-v5p", "tpu-v6e"}
    kinds = [r.kind for r in reg.regions()]
    assert kinds.count("gcp") == 44
    assert kinds.count("aws") >= 15 and kinds.count("azure") >= 15
    assert kinds.count("country") + kinds.count("world") == 215


def test_every_builtin_entry_has_source_and_year(reg: Registry) -> None:
    entries: list[ModelSpec | HardwareSpec | RegionSpec] = [
        *reg.models(), *reg.hardware_list(), *reg.regions()]
    for spec in entries:
        assert spec.source and spec.source != "user", spec.name
        assert spec.year is not None and 2019 <= spec.year <= 2026, spec.name


def test_every_price_has_source_and_year(reg: Registry) -> None:
    priced = [r for r in reg.regions() if r.price_usd_per_kwh is not None]
    assert priced
    for region in priced:
        assert region.price_source and region.price_year, region.name
    assert reg.region("DE").price_usd_per_kwh is None  # no sourced non-household figure


def test_names_and_aliases_are_unique(reg: Registry) -> None:
    for specs in (reg.models(), reg.hardware_list(), reg.regions()):
        keys = [k.lower() for s in specs for k in (s.name, *s.aliases)]
        assert len(keys) == len(set(keys))


# --- models ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("gpt-4o", "gpt-4o"),
    ("GPT-4o", "gpt-4o"),
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    ("openai/gpt-4o", "gpt-4o"),
    ("chatgpt-4o-latest", "gpt-4o"),
    ("gpt-4-1106-preview", "gpt-4-turbo"),
    ("gpt-4-0613", "gpt-4"),
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
    ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
    ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
    ("claude-3-5-sonnet@20240620", "claude-3-5-sonnet"),
    ("claude-3.5-sonnet", "claude-3-5-sonnet"),
    ("claude-sonnet-3.5", "claude-3-5-sonnet"),
    ("anthropic/claude-3.5-sonnet:beta", "claude-3-5-sonnet"),
    ("claude-3-7-sonnet-20250219", "claude-3-7-sonnet"),
    ("claude-sonnet-4-20250514", "claude-sonnet-4"),
    ("claude-opus-4-20250514", "claude-opus-4"),
    ("claude-opus-4-1-20250805", "claude-opus-4-1"),
    ("claude-3-opus-20240229", "claude-3-opus"),
    ("claude-3-haiku-20240307", "claude-3-haiku"),
    ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
    ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
    ("us.anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet"),
    ("models/gemini-2.5-flash", "gemini-2.5-flash"),
    ("gemini-2.0-flash-001", "gemini-2.0-flash"),
    ("gemini-2.5-flash-preview-05-20", "gemini-2.5-flash"),
    ("meta-llama/llama-3.1-8b-instruct", "llama-3.1-8b"),
    ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b"),
    ("meta-llama/llama-3.3-70b-instruct:free", "llama-3.3-70b"),
    ("Qwen/Qwen3-235B-A22B-Instruct-2507", "qwen3-235b-a22b"),
    ("deepseek/deepseek-r1:free", "deepseek-r1"),
    ("KIMI-K2", "kimi-k2"),
    ("mistral-large-latest", "mistral-large-2"),
])
def test_model_alias_resolution(reg: Registry, name: str, expected: str) -> None:
    assert reg.model(name).name == expected


@pytest.mark.parametrize("name", ["gpt-4p", "claude-opus-9", "llama-3.1-8", "gpt-4o-ultra", ""])
def test_unknown_models_are_not_fuzzy_matched(reg: Registry, name: str) -> None:
    assert reg.find_model(name) is None
    with pytest.raises(UnknownModelError) as info:
        reg.model(name)
    assert info.value.field == "model"


def test_unknown_model_suggests_close_names(reg: Registry) -> None:
    with pytest.raises(UnknownModelError) as info:
        reg.model("gpt-4p")
    assert "gpt-4o" in info.value.suggestions
    assert "gpt-4o" in str(info.value)


def test_seed_model_counts(reg: Registry) -> None:
    kimi = reg.model("kimi-k2")
    assert (kimi.active, kimi.total_params_b, kimi.estimated) == (32, 1000, False)
    assert reg.model("gpt-oss-120b").precision == "mxfp4"
    assert reg.model("deepseek-v3").active < reg.model("deepseek-v3").total_params_b


def test_calibration_models_resolve_with_their_counts(reg: Registry) -> None:
    with CALIBRATION.open(encoding="utf-8") as fh:
        rows = {r["model"]: r for r in csv.DictReader(fh)}
    assert len(rows) == 32
    for hf_id, row in rows.items():
        spec = reg.model(hf_id)
        assert hf_id in spec.aliases
        assert spec.total_params_b == pytest.approx(float(row["total_params_b"]), rel=0.02)
        assert spec.active == pytest.approx(float(row["active_params_b"]), rel=0.02)


def test_closed_models_carry_ranges_with_geometric_centre(reg: Registry) -> None:
    closed = [m for m in reg.models() if m.estimated]
    providers = {m.provider for m in closed}
    assert {"openai", "anthropic", "google", "xai"} <= providers
    for m in closed:
        assert m.active_params_b_min is not None and m.active_params_b_max is not None
        assert m.active_params_b_min < m.active <= m.active_params_b_max, m.name
        if m.source.startswith("closed-model sizing method"):
            continue  # central: the open peers' mean (tests/model/test_closed_sizing.py)
        geo = math.sqrt(m.active_params_b_min * m.active_params_b_max)
        assert m.active == pytest.approx(geo, abs=0.06), m.name
    four_o = reg.model("gpt-4o")
    assert four_o.source.startswith("closed-model sizing method")
    # holds EcoLogits' 44-132B and Epoch AI's 100B active
    assert four_o.active_params_b_min <= 44 and four_o.active_params_b_max >= 132


# --- hardware ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("H100", "h100"), ("h100-sxm", "h100"), ("nvidia-h100", "h100"),
    ("NVIDIA H100 80GB HBM3", "h100"), ("a100", "a100-80gb"), ("A100-40GB", "a100-40gb"),
    ("TPU v5e", "tpu-v5e"), ("trillium", "tpu-v6e"), ("nvidia-l4", "l4"),
])
def test_hardware_aliases(reg: Registry, name: str, expected: str) -> None:
    assert reg.hardware(name).name == expected


def test_hardware_figures(reg: Registry) -> None:
    h100 = reg.hardware("h100")
    assert h100.flops_per_joule == 6.59e11
    assert h100.peak_tflops["bf16"] == 989.4 and h100.peak_tflops["fp8"] == 1978.9
    for tpu in ("tpu-v5e", "tpu-v5p", "tpu-v6e"):
        assert "estimate" in (reg.hardware(tpu).flag or "")
    for spec in reg.hardware_list():
        assert spec.flag, spec.name


def test_unknown_hardware_suggests(reg: Registry) -> None:
    with pytest.raises(UnknownHardwareError) as info:
        reg.hardware("h10")
    assert info.value.suggestions[0] == "h100"
    assert info.value.field == "hardware"


# --- regions ----------------------------------------------------------------------------------


def test_gcp_regions_match_published_csv(reg: Registry) -> None:
    for row in _csv("gcp_region_carbon_2024.csv"):
        region = reg.region(f"gcp:{row['Google Cloud Region']}")
        assert region.gco2e_per_kwh == float(row["Grid carbon intensity (gCO2eq / kWh)"])
        assert region.year == 2024 and "region-carbon-info" in region.source
    assert reg.region("us-central1").gco2e_per_kwh == 412.72
    assert reg.region("us-central1").name == "gcp:us-central1"


def test_every_country_zone_resolves_by_alpha3_and_alpha2(reg: Registry) -> None:
    rows = _csv("country_grid_intensity.csv")
    assert len(rows) == 215
    for row in rows:
        region = reg.region(row["iso3"])
        assert region.gco2e_per_kwh == float(row["gco2e_per_kwh"])
        assert region.grid_water_l_per_kwh == float(row["grid_water_l_per_kwh"])
        assert reg.region(region.name) is region
    assert reg.region("DE") is reg.region("deu") is reg.region("De")
    assert reg.region("DE").electricitymaps_zone == "DE"


def test_world_region(reg: Registry) -> None:
    world = reg.region(WORLD)
    assert world is reg.region("WOR") is reg.region("World")
    assert world.gco2e_per_kwh == pytest.approx(458.3, abs=0.05)
    assert world.kind == "world"


def test_cloud_regions(reg: Registry) -> None:
    assert reg.region("us-east-1") is reg.region("aws:us-east-1")
    assert reg.region("aws:us-east-1").electricitymaps_zone == "US-MIDA-PJM"
    assert reg.region("us-central1").electricitymaps_zone == "US-MIDW-MISO"
    assert reg.region("us-west-2").electricitymaps_zone == "US-NW-BPAT"
    # same grid area -> same published figure; country-basis regions use the country average
    iowa = reg.region("gcp:us-central1").gco2e_per_kwh
    assert reg.region("azure:centralus").gco2e_per_kwh == iowa
    assert reg.region("eu-west-1").gco2e_per_kwh == reg.region("IE").gco2e_per_kwh
    assert "country grid average of IE" in reg.region("northeurope").basis
    for name in ("eastus", "eastus2", "westus2", "westeurope", "swedencentral", "japaneast"):
        assert reg.region(name).kind == "azure"


def test_prices_only_where_sourced(reg: Registry) -> None:
    iowa = reg.region("gcp:us-central1")
    assert iowa.price_usd_per_kwh == 0.1023 and iowa.price_year == 2024
    assert "EIA" in (iowa.price_source or "")
    assert "USD/EUR" in (reg.region("IE").price_source or "")
    assert reg.region("FR").price_usd_per_kwh is None
    assert reg.region(WORLD).price_usd_per_kwh is None


def test_unknown_region_suggests(reg: Registry) -> None:
    with pytest.raises(UnknownRegionError) as info:
        reg.region("us-centrl1")
    assert "us-central1" in info.value.suggestions


def test_regions_json_is_reproducible() -> None:
    from benchmarks.builders import build_regions

    built = build_regions.build(REFERENCE)
    path = ROOT / "tracker" / "model" / "data" / "regions.json"
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert built == stored


# --- user additions ---------------------------------------------------------------------------


def test_register_in_code_adds_and_overrides(clean_global: None) -> None:
    register(ModelSpec(name="my-model", total_params_b=3, aliases=("acme/my-model",)))
    assert get_registry().model("ACME/my-model-2025-01-01").total_params_b == 3
    register(ModelSpec(name="gpt-4o", total_params_b=200, active_params_b=50))
    assert get_registry().model("gpt-4o-2024-08-06").active == 50
    reset_registry()
    assert get_registry().find_model("my-model") is None
    assert get_registry().model("gpt-4o").estimated


TOML_FILE = """
[[models]]
name = "house-llm"
total_params_b = 70
active_params_b = 12
aliases = ["acme/house-llm"]
source = "our model card"
year = 2025

[[models]]
name = "gpt-4o"
total_params_b = 400
active_params_b = 100
estimated = true
source = "Epoch AI assumption"

[[hardware]]
name = "h100"
tdp_w = 700
memory_gb = 80
bandwidth_tb_s = 3.35
peak_tflops = { bf16 = 900.0 }

[[regions]]
name = "onprem-lyon"
kind = "custom"
gco2e_per_kwh = 30
price_usd_per_kwh = 0.2
"""


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_user_file_adds_and_overrides(tmp_path: Path, fmt: str, reg: Registry) -> None:
    toml = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    path = tmp_path / f"registry.{fmt}"
    text = TOML_FILE if fmt == "toml" else json.dumps(toml.loads(TOML_FILE))
    path.write_text(text, encoding="utf-8")
    builtin_count = len(reg.models())
    reg.load_file(path)
    assert reg.model("acme/house-llm").active == 12
    assert reg.model("GPT-4o-2024-08-06").active == 100          # override keeps alias rules
    assert reg.model("chatgpt-4o-latest").source == "Epoch AI assumption"
    assert reg.hardware("H100-SXM").peak_tflops == {"bf16": 900.0}
    assert reg.region("ONPREM-LYON").gco2e_per_kwh == 30
    assert len(reg.models()) == builtin_count + 1
    assert Registry().model("gpt-4o").active != 100              # other registries untouched


def test_load_registry_file_uses_global_registry(tmp_path: Path, clean_global: None) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"regions": [{"name": "lab", "gco2e_per_kwh": 12}]}), "utf-8")
    load_registry_file(str(path))
    assert get_registry().region("LAB").gco2e_per_kwh == 12


@pytest.mark.parametrize(("content", "suffix", "expected"), [
    ({"models": [{"name": "a", "total_params_b": 1}, {"name": "b", "total_params_b": -5}]},
     ".json", ["models[1]", "'b'", "total_params_b"]),
    ({"hardware": [{"name": "x", "tdp_w": 300, "memory_gb": 80, "bandwidth_tb_s": 2,
                    "peak_tflops": {"bf16": 100}, "colour": "red"}]},
     ".json", ["hardware[0]", "colour"]),
    ({"regions": [{"name": "r"}]}, ".json", ["regions[0]", "gco2e_per_kwh"]),
    ({"modelz": []}, ".json", ["modelz"]),
    ({"models": {"name": "a"}}, ".json", ["'models' must be a list"]),
    ("{not json", ".json", ["not valid"]),
    pytest.param("[[models]]\nname = ", ".toml", ["not valid .toml"], marks=pytest.mark.skipif(
        sys.version_info < (3, 11), reason="TOML parser is tomllib (3.11+) or optional tomli")),
])
def test_corrupt_file_raises_config_error(tmp_path: Path, reg: Registry, content: object,
                                          suffix: str, expected: list[str]) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    with pytest.raises(ConfigError) as info:
        reg.load_file(path)
    assert info.value.field == "registry_file"
    for fragment in expected:
        assert fragment in str(info.value)
    assert reg.find_model("a") is None                             # nothing half-loaded


def test_missing_file_raises_config_error(tmp_path: Path, reg: Registry) -> None:
    with pytest.raises(ConfigError, match="registry_file"):
        reg.load_file(tmp_path / "absent.toml")


def test_empty_registry_without_builtin() -> None:
    empty = Registry(builtin=False)
    assert empty.models() == [] and empty.regions() == []
    empty.add(HardwareSpec(name="npu", tdp_w=50, memory_gb=8, bandwidth_tb_s=0.1,
                           peak_tflops={"fp16": 20}))
    assert empty.hardware("NPU").tdp_w == 50
    with pytest.raises(UnknownModelError):
        empty.model("gpt-4o")

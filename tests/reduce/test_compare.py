"""What-if comparisons: the seed's Kimi K2 over regions and precisions, token mixes, model
siblings, and a 10,000-line demo ledger whose baseline equals `llm-energy report`."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest

import tracker
from tracker import _attributes as A
from tracker.cli._app import main as cli
from tracker.exceptions import ConfigError
from tracker.model._estimate import pricer
from tracker.model._registry import get_registry
from tracker.reduce._compare import Row, compare, family, siblings

KIMI = {"model": "kimi-k2", "output_tokens": 1_000_000, "region": "gcp:us-central1",
        "hardware": "h100"}
QUANTITIES = ("energy_kwh", "gco2e", "usd", "water_l")


def assert_ranges(row: Row) -> None:
    for q in QUANTITIES:
        low, central, high = getattr(row, f"{q}_min"), getattr(row, q), getattr(row, f"{q}_max")
        assert 0 <= low <= central <= high, (row.alternative, q)


def assert_matches(row: Row, e: Any) -> None:
    """A row priced from one call equals estimate() of the same change."""
    assert row.energy_kwh == pytest.approx(e.energy_kwh, rel=1e-12)
    assert row.energy_kwh_min == pytest.approx(e.energy_kwh_min, rel=1e-12)
    assert row.energy_kwh_max == pytest.approx(e.energy_kwh_max, rel=1e-12)
    assert row.gco2e == pytest.approx(e.gco2e, rel=1e-12)
    assert row.gco2e_min == pytest.approx(e.gco2e_min, rel=1e-12)
    assert row.gco2e_max == pytest.approx(e.gco2e_max, rel=1e-12)
    assert row.usd == pytest.approx(e.usd, rel=1e-12)
    assert row.water_l == pytest.approx(e.water_l, rel=1e-12)


# ----------------------------------------------------------------------------- the seed's example


def test_kimi_k2_over_regions_and_precisions() -> None:
    result = compare(KIMI, regions=["gcp:us-central1", "gcp:europe-north1", "FR"],
                     precisions=["bf16", "fp8"])
    carbon = [r.gco2e for r in result.rows]
    assert carbon == sorted(carbon)
    names = {(r.kind, r.alternative) for r in result.rows}
    # us-central1 and fp8 (Kimi K2's own precision) are the baseline: no duplicate rows.
    assert names == {("baseline", result.baseline.alternative), ("region", "gcp:europe-north1"),
                     ("region", "FR"), ("precision", "bf16")}
    base = tracker.estimate(**KIMI)
    assert base.precision == "fp8"
    assert_matches(result.baseline, base)
    for row in result.rows:
        assert_ranges(row)
        assert row.like_for_like
        change = {"region": {"region": row.alternative},
                  "precision": {"precision": row.alternative}}.get(row.kind, {})
        e = tracker.estimate(**{**KIMI, **change})
        assert_matches(row, e)
        assert row.saving_gco2e == pytest.approx(base.gco2e - e.gco2e)
        assert row.saving_pct == pytest.approx(100 * (base.gco2e - e.gco2e) / base.gco2e)
        assert row.saving_kwh == pytest.approx(base.energy_kwh - e.energy_kwh)
        assert row.saving_usd == pytest.approx(base.usd - e.usd)
    by_name = {r.alternative: r for r in result.rows}
    registry = get_registry()
    north = by_name["gcp:europe-north1"]
    # Moving region changes the grid, not the energy.
    assert north.energy_kwh == pytest.approx(base.energy_kwh)
    assert north.gco2e / base.gco2e == pytest.approx(
        registry.region("gcp:europe-north1").gco2e_per_kwh
        / registry.region("gcp:us-central1").gco2e_per_kwh)
    assert north.saving_pct > 0 and by_name["FR"].saving_pct > 0
    assert by_name["bf16"].saving_pct < 0  # bf16 costs more than the fp8 baseline
    assert result.rows[0].alternative == min(("gcp:europe-north1", "FR"),
                                             key=lambda n: by_name[n].gco2e)


def test_seed_flops_example_fp8_halves_the_energy() -> None:
    seed = {"model": "kimi-k2", "output_tokens": 1_000_000, "hardware": "h100",
            "precision": "bf16", "method": "flops", "pue": 1.2, "carbon_intensity": 243.0,
            "price_usd_per_kwh": 0.152}
    result = compare(seed, precisions=["fp8"], regions=["FR"])
    base = result.baseline
    assert base.energy_kwh == pytest.approx(0.016186, rel=1e-3)  # the seed's worked figure
    fp8 = next(r for r in result.rows if r.alternative == "fp8")
    assert fp8.energy_kwh == pytest.approx(base.energy_kwh / 2)  # seed multipliers: 2 -> 4
    assert fp8.saving_pct == pytest.approx(50.0)
    fr = next(r for r in result.rows if r.alternative == "FR")
    # A region alternative brings its own grid figure, not the workload's override.
    assert fr.gco2e == pytest.approx(base.energy_kwh * get_registry().region("FR").gco2e_per_kwh)


def test_cloud_wildcard_is_every_region_of_that_cloud() -> None:
    result = compare(KIMI, regions="gcp:*")
    gcp = {r.name for r in get_registry().regions() if r.kind == "gcp"}
    rows = {r.alternative for r in result.rows if r.kind == "region"}
    assert rows == gcp - {"gcp:us-central1"}
    assert [r.gco2e for r in result.rows] == sorted(r.gco2e for r in result.rows)


def test_token_mix_sums_each_shape_times_its_count() -> None:
    mix = [{"model": "llama-3.1-70b", "input_tokens": 1200, "output_tokens": 300, "count": 500},
           {"model": "llama-3.1-70b", "input_tokens": 50, "output_tokens": 5, "count": 2000}]
    result = compare(mix, regions=["FR"], hardware=["h200"])
    for row in result.rows:
        change = {"region": {"region": "FR"}, "hardware": {"hardware": "h200"}}.get(row.kind, {})
        want = sum(tracker.estimate(**{**{k: v for k, v in m.items() if k != "count"}, **change})
                   .gco2e * m["count"] for m in mix)
        assert row.gco2e == pytest.approx(want, rel=1e-12)
        assert_ranges(row)


# ----------------------------------------------------------------------------- models


def test_siblings_are_smaller_models_of_the_same_family() -> None:
    registry = get_registry()
    big = registry.model("qwen3-235b-a22b")
    found = siblings(big.name)
    assert found
    for name in found:
        spec = registry.model(name)
        assert family(spec.name) == family(big.name) == "qwen3"
        assert spec.active < big.active
    assert "qwen3-coder-30b-a3b" not in found  # another family
    assert siblings("kimi-k2") == []


def test_model_alternatives_are_not_like_for_like() -> None:
    work = {"model": "llama-3.1-405b", "input_tokens": 1000, "output_tokens": 400}
    result = compare(work, models=["siblings", "mixtral-8x22b"])
    rows = {r.alternative: r for r in result.rows if r.kind == "model"}
    assert set(rows) == {*siblings("llama-3.1-405b"), "mixtral-8x22b"}
    for name, row in rows.items():
        assert not row.like_for_like
        assert "not like-for-like" in row.note
        assert_matches(row, tracker.estimate(**{**work, "model": name}))
    assert "sibling" in rows["llama-3.1-8b"].note
    assert "sibling" not in rows["mixtral-8x22b"].note
    assert result.baseline.like_for_like


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("workload", "options", "field"), [
    (KIMI, {"regions": ["mars-1"]}, "region"),
    (KIMI, {"regions": "oracle:*"}, "regions"),
    (KIMI, {"precisions": ["fp7"]}, "precision"),
    (KIMI, {"hardware": ["h9000"]}, "hardware"),
    (KIMI, {"models": ["gpt-17"]}, "model"),
    ({"model": "kimi-k2", "tokens": 3}, {}, "workload"),
    ([], {}, "workload"),
    ({"output_tokens": 3}, {}, "workload"),
    ("no/such/ledger.jsonl", {}, "workload"),
    ([{"model": "kimi-k2", "count": -1}], {}, "workload"),
])
def test_bad_input_names_the_field(workload: Any, options: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        compare(workload, **options)
    assert info.value.field == field


def test_engines_pass_through_only_where_estimate_takes_them() -> None:
    if "engine" in inspect.signature(tracker.estimate).parameters:
        result = compare(KIMI, engines=["vllm", "tensorrt-llm"])
        rows = {r.alternative: r for r in result.rows if r.kind == "engine"}
        assert set(rows) == {"vllm", "tensorrt-llm"}
        for name, row in rows.items():
            assert_matches(row, tracker.estimate(**KIMI, engine=name))  # type: ignore[call-arg]
    else:
        with pytest.raises(ConfigError) as info:
            compare(KIMI, engines=["vllm"])
        assert info.value.field == "engines"


# ----------------------------------------------------------------------------- ledgers


@pytest.fixture(scope="module")
def demo_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10,000 lines of the demo's real records (its calls, repeated)."""
    from tracker.demo._run import main as demo

    folder = tmp_path_factory.mktemp("ledger")
    once = folder / "demo.jsonl"
    assert demo(["--ledger", str(once), "--quiet"]) == 0
    tracker.reset()
    lines = once.read_text().splitlines()
    assert lines
    big = folder / "demo-10000.jsonl"
    big.write_text("\n".join(lines[i % len(lines)] for i in range(10_000)) + "\n")
    return big


def report_totals(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert cli(["report", str(path), "--json"]) == 0
    total: dict[str, Any] = json.loads(capsys.readouterr().out)["total"]
    return total


def test_ledger_baseline_equals_the_report(demo_ledger: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    result = compare(demo_ledger, regions=["gcp:europe-north1", "FR"], precisions=["fp8"])
    total = report_totals(demo_ledger, capsys)
    assert total["calls"] == 10_000
    base = result.baseline
    assert base.kind == "baseline"
    assert (base.energy_kwh, base.gco2e, base.usd, base.water_l) == (
        total["energy_kwh"], total["gco2e"], total["usd"], total["water_l"])
    assert_ranges(base)
    assert [r.gco2e for r in result.rows] == sorted(r.gco2e for r in result.rows)


def test_ledger_alternatives_reprice_each_line(demo_ledger: Path) -> None:
    result = compare(demo_ledger, regions=["FR"], hardware=["h200"])
    want = {"FR": [0.0, 0.0, 0.0], "h200": [0.0, 0.0, 0.0]}
    cached: dict[tuple[Any, ...], Any] = {}
    for line in demo_ledger.read_text().splitlines():
        rec = json.loads(line)
        tin, tout = rec[A.GEN_AI_USAGE_INPUT_TOKENS], rec[A.GEN_AI_USAGE_OUTPUT_TOKENS]
        kw = {"hardware": rec[A.ENERGY_HARDWARE], "method": rec[A.ENERGY_METHOD],
              "region": rec[A.ENERGY_REGION], "pue": rec[A.ENERGY_PUE],
              "unknown_model": "fallback"}
        if rec.get(A.ENERGY_ENGINE) and "engine" in inspect.signature(pricer).parameters:
            kw["engine"] = rec[A.ENERGY_ENGINE]
        model = rec[A.ENERGY_MODEL] if rec[A.ENERGY_MODEL_KNOWN] else None
        for alt, change in (("FR", {"region": "FR"}), ("h200", {"hardware": "h200"})):
            key = (model, *map(str, kw.values()), alt)
            p = cached.get(key)
            if p is None:
                p = cached[key] = pricer(model, **{**kw, **change})  # type: ignore[arg-type]
            kwh = p.kwh_in * tin + p.kwh_out * tout
            ci = p.carbon_intensity if alt == "FR" else rec[A.ENERGY_GRID_GCO2E_PER_KWH]
            price = p.price_usd_per_kwh if alt == "FR" else rec[A.ENERGY_PRICE_USD_PER_KWH]
            want[alt][0] += kwh
            want[alt][1] += kwh * ci
            want[alt][2] += kwh * price
    rows = {r.alternative: r for r in result.rows}
    for alt, (kwh, g, usd) in want.items():
        assert rows[alt].energy_kwh == pytest.approx(kwh, rel=1e-9)
        assert rows[alt].gco2e == pytest.approx(g, rel=1e-9)
        assert rows[alt].usd == pytest.approx(usd, rel=1e-9)
        assert_ranges(rows[alt])


# ----------------------------------------------------------------------------- llm-energy compare


SEED_CLI = ["compare", "--model", "kimi-k2", "--output-tokens", "1000000", "--region",
            "gcp:us-central1", "--regions", "gcp:us-central1,gcp:europe-north1,FR",
            "--precisions", "bf16,fp8"]


def test_cli_table_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli([*SEED_CLI, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    want = compare(KIMI, regions=["gcp:us-central1", "gcp:europe-north1", "FR"],
                   precisions=["bf16", "fp8"])
    assert doc == want.to_dict() | {"workload": doc["workload"]}
    chart = tmp_path / "carbon.svg"
    assert cli([*SEED_CLI, "--plot", str(chart)]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.split()
             and line.split()[0] in ("gcp:europe-north1", "FR", "bf16")]
    assert [line.split()[0] for line in lines] == [
        r.alternative for r in want.rows if r.kind != "baseline"]
    assert "baseline" in out and "-90" in out and "%" in out
    assert "e-0" not in out
    assert chart.read_text().startswith("<svg")


def test_cli_ledger(demo_ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["compare", "--ledger", str(demo_ledger), "--regions", "FR", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    total = report_totals(demo_ledger, capsys)
    assert doc["baseline"]["gco2e"] == total["gco2e"]


@pytest.mark.parametrize(("args", "field"), [
    (["--model", "kimi-k2", "--output-tokens", "5", "--regions", "mars-1"], "region"),
    (["--output-tokens", "5"], "model"),
    (["--model", "kimi-k2", "--ledger", "x.jsonl"], "ledger"),
    (["--model", "kimi-k2", "--output-tokens", "5", "--precisions", "fp7"], "precision"),
])
def test_cli_bad_input_exits_2_naming_the_field(capsys: pytest.CaptureFixture[str],
                                                args: list[str], field: str) -> None:
    assert cli(["compare", *args]) == 2
    assert f"error: {field}:" in capsys.readouterr().err


def test_cli_png_chart_with_the_plot_extra(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    chart = tmp_path / "carbon.png"
    assert cli([*SEED_CLI, "--plot", str(chart)]) == 0
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli([*SEED_CLI, "--plot", str(tmp_path / "missing" / "c.png")]) == 2
    assert "error: plot:" in capsys.readouterr().err


def test_the_api_price_follows_the_model_and_the_table(configure_tracker: Any,
                                                       tmp_path: Path) -> None:
    genai_prices = pytest.importorskip("genai_prices")

    def table(model: str, n_in: int, n_out: int) -> float:
        usage = genai_prices.Usage(input_tokens=n_in, output_tokens=n_out)
        return float(genai_prices.calc_price(usage, model).total_price)

    result = compare({"model": "gpt-4o", "input_tokens": 3000, "output_tokens": 1000,
                      "count": 10}, models=["gpt-4o-mini"], regions=["FR"])
    rows = {r.alternative: r for r in result}
    base = result.baseline
    assert base.api_usd == pytest.approx(10 * table("gpt-4o", 3000, 1000), rel=1e-9)
    assert rows["FR"].api_usd == base.api_usd  # a region changes the footprint only
    assert rows["FR"].gco2e != base.gco2e
    assert rows["gpt-4o-mini"].api_usd == pytest.approx(10 * table("gpt-4o-mini", 3000, 1000),
                                                        rel=1e-9)
    assert base.price_table == f"genai-prices {genai_prices.__version__}"
    unknown = compare({"model": "llama-3.1-8b", "output_tokens": 100})
    assert unknown.baseline.api_usd is None and unknown.baseline.price_table is None

    ledger = tmp_path / "ledger.jsonl"  # a ledger: its recorded API price is the baseline
    configure_tracker(ledger=str(ledger))
    for n_in, n_out in ((1000, 100), (3000, 250)):
        tracker.record_usage("gpt-4o-mini", n_in, n_out, provider="openai")
    tracker.shutdown()
    result = compare(ledger, models=["gpt-4o"], regions=["FR"])
    rows = {r.alternative: r for r in result}
    recorded = table("gpt-4o-mini", 1000, 100) + table("gpt-4o-mini", 3000, 250)
    assert result.baseline.api_usd == pytest.approx(recorded, rel=1e-9)
    assert rows["FR"].api_usd == pytest.approx(recorded, rel=1e-9)
    assert rows["gpt-4o"].api_usd == pytest.approx(table("gpt-4o", 4000, 350), rel=1e-9)

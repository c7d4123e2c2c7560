"""`llm-energy price`: tables, JSON, CSV, Parquet; bad input exits 2; no text of a source shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracker.cli._app import main

DATA = Path(__file__).parents[1] / "footprint" / "data"
ALL = [str(p) for p in sorted(DATA.iterdir()) if p.suffix != ".csv"]


def test_table_of_every_format_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["price", *ALL, "--by", "month,provider"]) == 0
    out, err = capsys.readouterr()
    assert "energy" in out and "total" in out and "anthropic" in out and "aws.bedrock" in out
    assert "requests assumed" in out and "fallback model" in out
    assert err.count("warning") == 1 and "bedrock_invocations.jsonl:3" in err


@pytest.mark.parametrize("flag", [[], ["--json"], ["--csv"], ["--engine", "python", "--json"]])
def test_no_text_field_of_a_source_reaches_any_output(flag: list[str], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["price", *ALL, "--by", "model,project,api_key,label:region", *flag]) == 0
    out, err = capsys.readouterr()
    for secret in ("SECRET", "sk-not-a-hash"):
        assert secret not in out and secret not in err


def test_json_rows_carry_figures_with_ranges_and_assumptions(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["price", str(DATA / "openai_completions.json"), "--json", "--by", "model"]) == 0
    data = json.loads(capsys.readouterr().out)
    row = data["rows"][0]
    assert row["energy_kwh_min"] <= row["energy_kwh"] <= row["energy_kwh_max"]
    assert row["gco2e_min"] <= row["gco2e"] <= row["gco2e_max"]
    assert row["boundary"] == "facility" and row["assumptions"]
    dep = {d["model"]: d for d in data["deployments"]}["gpt-4o-2024-08-06"]
    assert dep["hardware"] == "h100" and dep["region"] == "azure:eastus"


def test_deployment_options_apply(capsys: pytest.CaptureFixture[str]) -> None:
    source = str(DATA / "openai_completions.json")
    assert main(["price", source, "--json", "--by", "model"]) == 0
    base = json.loads(capsys.readouterr().out)["rows"][0]
    assert main(["price", source, "--json", "--by", "model", "--carbon-intensity", "0"]) == 0
    zero = json.loads(capsys.readouterr().out)["rows"][0]
    assert base["gco2e"] > 0 and zero["gco2e"] == 0 and zero["energy_kwh"] == base["energy_kwh"]


def test_parquet_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    target = tmp_path / "out.parquet"
    assert main(["price", str(DATA / "litellm_spend.jsonl"), "--parquet", str(target)]) == 0
    table = pq.read_table(target).to_pylist()
    assert {r["model"] for r in table} >= {"gpt-4o", "acme-private-llm-v9"}


@pytest.mark.parametrize("argv", [
    ["price", str(DATA / "usage_map.csv")],  # a CSV without a map: unknown format
    ["price", "/no/such/file.jsonl"],
    ["price", str(DATA / "openai_completions.json"), "--by", "colour"],
    ["price", str(DATA / "openai_completions.json"), "--since", "yesterday-ish"],
    ["price", str(DATA / "openai_completions.json"), "--pue", "0.5"],
    ["price", str(DATA / "openai_completions.json"), "--region", "atlantis"],
    ["price", str(DATA / "openai_completions.json"), "--mean-input-tokens", "0"],
    ["price", str(DATA / "openai_completions.json"), "--format", "litellm-spend"],
])
def test_bad_input_exits_2_naming_the_problem(argv: list[str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err


def test_garbage_files_never_give_a_traceback(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (tmp_path / "binary.jsonl").write_bytes(b"{\xff\xfe\x00}\n")
    for name in ("bad.gz", "binary.jsonl"):
        code = main(["price", str(tmp_path / name)])
        assert code in (0, 2)
        assert "Traceback" not in capsys.readouterr().err


def test_the_api_price_beside_the_electricity(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    genai_prices = pytest.importorskip("genai_prices")
    usage = tmp_path / "usage.csv"
    usage.write_text("model,input_tokens,output_tokens\nacme-private-llm-v9,1000,100\n"
                     "gpt-4o-mini,2000,300\n")
    assert main(["price", str(usage), "--by", "model", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["model"]: r for r in data["rows"]}
    want = genai_prices.calc_price(genai_prices.Usage(input_tokens=2000, output_tokens=300),
                                   "gpt-4o-mini").total_price
    assert rows["gpt-4o-mini"]["api_usd"] == pytest.approx(float(want), rel=1e-9)
    assert rows["acme-private-llm-v9"]["api_usd"] is None  # unknown to the table: absent
    assert data["price_table"] == f"genai-prices {genai_prices.__version__}"
    assert main(["price", str(usage), "--by", "model"]) == 0
    out = capsys.readouterr().out
    assert "electricity" in out and "API price" in out and "genai-prices" in out
    assert "none for 1 of the calls" in out

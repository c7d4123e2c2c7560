"""The `llm-energy` command line: estimate output, JSON, listings, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import tracker
from tracker.cli._app import main

SEED_ARGS = ["estimate", "--model", "kimi-k2", "--output-tokens", "1000000", "--hardware", "h100",
             "--precision", "bf16", "--method", "flops", "--pue", "1.2",
             "--carbon-intensity", "243", "--price", "0.152"]


def test_estimate_json_matches_the_seed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SEED_ARGS, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["energy_kwh"] == pytest.approx(0.016186, rel=0.005)
    assert out["gco2e"] == pytest.approx(3.933, rel=0.005)
    assert out["usd"] == pytest.approx(0.002460, rel=0.005)
    for key in ("energy_kwh_min", "energy_kwh_max", "accelerator_kwh"):
        assert key in out


def test_estimate_table_is_the_same_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(SEED_ARGS) == 0
    text = capsys.readouterr().out
    e = tracker.estimate(model="kimi-k2", output_tokens=1_000_000, hardware="h100",
                         precision="bf16", method="flops", pue=1.2, carbon_intensity=243,
                         price_usd_per_kwh=0.152)
    assert f"{e.energy_kwh:.5g} kWh" in text and "0.016186 kWh" in text
    assert f"{e.gco2e:.5g} gCO2e" in text
    assert f"{e.usd:.5g} USD" in text
    assert "243 gCO2e/kWh (user)" in text


def test_python_dash_m_runs_the_same_cli() -> None:
    proc = subprocess.run([sys.executable, "-m", "tracker", *SEED_ARGS, "--json"],
                          capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["energy_kwh"] == pytest.approx(
        tracker.estimate(model="kimi-k2", output_tokens=1_000_000, hardware="h100",
                         precision="bf16", method="flops", pue=1.2).energy_kwh)


def test_bad_input_exits_2_naming_the_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "--model", "kimi-k2", "--output-tokens", "10", "--pue", "0.5"]) == 2
    assert "pue" in capsys.readouterr().err
    assert main(["estimate", "--model", "kimi-k2", "--hardware", "h10"]) == 2
    assert "h100" in capsys.readouterr().err


@pytest.mark.parametrize(("command", "search", "expected"), [
    ("models", "kimi", "kimi-k2"),
    ("hardware", "mi3", "mi300x"),
    ("regions", "us-central1", "gcp:us-central1"),
])
def test_listings_search(capsys: pytest.CaptureFixture[str], command: str, search: str,
                         expected: str) -> None:
    assert main([command, "--search", search, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records and all(search.lower() in json.dumps(r).lower() for r in records)
    assert expected in [r["name"] for r in records]
    assert all(r["source"] for r in records)
    assert main([command, "--search", search]) == 0
    assert expected in capsys.readouterr().out

"""`tracker.estimate()` prices a request for the configured deployment unless told otherwise."""

from __future__ import annotations

import json

import pytest

import tracker
from tracker.model._estimate import estimate as pure_estimate


def test_estimate_uses_the_configured_region_and_hardware() -> None:
    before = tracker.estimate("gpt-4o", 500, 100)
    assert before.region == "world"
    tracker.configure(region="gcp:us-central1", hardware="h200", ledger=None, instrument=False)
    try:
        configured = tracker.estimate("gpt-4o", 500, 100)
        assert configured.region == "gcp:us-central1" and configured.hardware == "h200"
        assert configured == pure_estimate("gpt-4o", 500, 100, region="gcp:us-central1",
                                           hardware="h200")
        assert configured.gco2e != before.gco2e
        # a keyword given wins over the configuration; configured=False ignores it
        assert tracker.estimate("gpt-4o", 500, 100, region="FR").region == "FR"
        assert tracker.estimate("gpt-4o", 500, 100, configured=False) == before
    finally:
        tracker.reset()
    assert tracker.estimate("gpt-4o", 500, 100) == before


def test_configured_overrides_and_bad_input_still_name_the_field() -> None:
    tracker.configure(pue=1.1, carbon_intensity=100.0, ledger=None, instrument=False)
    try:
        e = tracker.estimate("gpt-4o", 500)
        assert e.pue == 1.1 and e.carbon_intensity == 100.0
        with pytest.raises(tracker.ConfigError, match="output_tokens"):
            tracker.estimate("gpt-4o", -1)
    finally:
        tracker.reset()


def test_the_api_price_beside_the_electricity_on_the_estimate_and_its_card(
        capsys: pytest.CaptureFixture[str]) -> None:
    genai_prices = pytest.importorskip("genai_prices")
    from tracker.cli._app import main

    e = tracker.estimate("gpt-4o-mini", 500, 2000, cached_input_tokens=1500)
    want = genai_prices.calc_price(genai_prices.Usage(
        input_tokens=2000, cache_read_tokens=1500, output_tokens=500), "gpt-4o-mini").total_price
    assert e.api_usd == pytest.approx(float(want), rel=1e-9)
    assert e.price_table == f"genai-prices {genai_prices.__version__}"
    assert e.usd != e.api_usd  # the electricity
    assert tracker.estimate("llama-3.1-8b", 500).api_usd is None
    assert main(["estimate", "--model", "gpt-4o-mini", "--output-tokens", "500",
                 "--input-tokens", "2000", "--cached-input-tokens", "1500"]) == 0
    card = capsys.readouterr().out
    assert "electricity" in card and "API price" in card and "genai-prices" in card
    assert main(["estimate", "--model", "gpt-4o-mini", "--output-tokens", "500",
                 "--input-tokens", "2000", "--cached-input-tokens", "1500", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["api_usd"] == pytest.approx(float(want), rel=1e-9) and doc["usd"] == e.usd

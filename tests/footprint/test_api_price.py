"""The API price of usage exports (``api_usd``): the price table's, per row, on every engine.

Expected amounts are computed here from genai-prices itself (its `calc_price`, with its batch
price context for batch rows), never written down: a change of the table moves both sides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tracker.footprint import price_usage

genai_prices = pytest.importorskip("genai_prices")

DATA = Path(__file__).parent / "data"
ENGINES = ["python", pytest.param("duckdb", marks=pytest.mark.skipif(
    __import__("importlib").util.find_spec("duckdb") is None, reason="no duckdb"))]


def _table(model: str, provider: str, *, batch: bool = False, **tokens: int) -> float:
    price = genai_prices.calc_price(
        genai_prices.Usage(**tokens), model, provider_id=provider,
        price_context={"processing": "batch"} if batch else None)
    return float(price.total_price)


def _by_model(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["model"]: r for r in rows}


@pytest.mark.parametrize("engine", ENGINES)
def test_openai_usage_standard_and_batch_rows_match_the_table(engine: str) -> None:
    rows = _by_model(price_usage(str(DATA / "openai_completions.json"), engine=engine,
                                 by="model"))
    pages = json.loads((DATA / "openai_completions.json").read_text())
    want: dict[str, float] = {}
    for bucket in pages["data"]:
        for r in bucket["results"]:
            want[r["model"]] = want.get(r["model"], 0.0) + _table(
                r["model"], "openai", batch=r["batch"], input_tokens=r["input_tokens"],
                cache_read_tokens=r["input_cached_tokens"], output_tokens=r["output_tokens"])
    assert any(r["batch"] for b in pages["data"] for r in b["results"])
    for model, amount in want.items():
        assert rows[model]["api_usd"] == pytest.approx(amount, rel=1e-9), model
        assert rows[model]["api_calls"] == rows[model]["calls"]
        assert rows[model]["price_table"] == f"genai-prices {genai_prices.__version__}"
        assert rows[model]["api_currency"] == "USD"
        assert rows[model]["usd"] != rows[model]["api_usd"]  # the electricity


def test_batch_is_the_tables_batch_price_not_a_guess() -> None:
    standard = _table("gpt-4o-mini", "openai", input_tokens=90_000, output_tokens=45_000)
    batch = _table("gpt-4o-mini", "openai", batch=True, input_tokens=90_000,
                   output_tokens=45_000)
    assert batch < standard  # the table has a batch price for this model
    rows = _by_model(price_usage(str(DATA / "openai_completions.json"), engine="python",
                                 by="model"))
    assert rows["gpt-4o-mini-2024-07-18"]["api_usd"] != pytest.approx(standard)


@pytest.mark.parametrize("engine", ENGINES)
def test_anthropic_cache_reads_writes_and_batch_match_the_table(engine: str) -> None:
    rows = _by_model(price_usage(str(DATA / "anthropic_messages.json"), engine=engine,
                                 by="model"))
    report = json.loads((DATA / "anthropic_messages.json").read_text())
    want: dict[str, float] = {}
    for bucket in report["data"]:
        for r in bucket["results"]:
            written = sum((r.get("cache_creation") or {}).values())
            read = r["cache_read_input_tokens"]
            want[r["model"]] = want.get(r["model"], 0.0) + _table(
                r["model"], "anthropic", batch=r["service_tier"] == "batch",
                input_tokens=r["uncached_input_tokens"] + read + written,
                cache_read_tokens=read, cache_write_tokens=written,
                output_tokens=r["output_tokens"])
    for model, amount in want.items():
        assert rows[model]["api_usd"] == pytest.approx(amount, rel=1e-9), model


@pytest.mark.parametrize("engine", ENGINES)
def test_a_model_the_table_lacks_has_no_api_price(engine: str, tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    path.write_text("model,input_tokens,output_tokens\nacme-private-llm-v9,1000,100\n"
                    "gpt-4o-mini,1000,100\n")
    rows = _by_model(price_usage(str(path), engine=engine, by="model"))
    private = rows["acme-private-llm-v9"]
    assert private["api_usd"] is None and private["api_calls"] == 0
    assert private["price_table"] is None
    assert private["usd"] > 0  # the electricity is still there
    assert rows["gpt-4o-mini"]["api_usd"] == pytest.approx(
        _table("gpt-4o-mini", "openai", input_tokens=1000, output_tokens=100), rel=1e-9)

"""The Spark engine against a real local Spark (``local[2]``): the same rows as DuckDB and Python.

Marked ``spark``: it needs Java and the ``spark`` extra, which tests/run_spark.sh installs, and
runs in its own CI step (the main test run deselects it with ``-m "not spark"``).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tracker.footprint import price_usage
from tracker.footprint._plan import API_FIGURES, FIGURES

pytestmark = pytest.mark.spark

DATA = Path(__file__).parent / "data"
#: Figures compared to a relative tolerance (sums in another order).
CLOSE = (*FIGURES, *API_FIGURES)
FIXTURES = [
    ("openai_completions.json", {}), ("openai_embeddings.json", {}),
    ("anthropic_messages.json", {}), ("bedrock_invocations.jsonl", {}),
    ("litellm_spend.jsonl", {}), ("otlp_traces.jsonl", {}),
    ("usage_map.csv", {"column_map": "model=llm,input_tokens=prompt_tok,output_tokens="
                                     "completion_tok,requests=calls,timestamp=day"}),
]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (tests/run_spark.sh installs it)")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("llm-energy tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    yield session
    session.stop()


def _agree(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert len(a) == len(b) and a
    for x, y in zip(a, b, strict=True):
        assert {k: v for k, v in x.items() if k not in CLOSE} == {
            k: v for k, v in y.items() if k not in CLOSE}
        assert (x["api_usd"] is None) == (y["api_usd"] is None)
        if x["api_usd"] is not None:
            assert math.isclose(x["api_usd"], y["api_usd"], rel_tol=1e-9), "api_usd"
        for name in FIGURES:
            assert math.isclose(x[name], y[name], rel_tol=1e-9, abs_tol=1e-300), name


@pytest.mark.parametrize(("name", "options"), FIXTURES)
def test_spark_agrees_with_python_and_duckdb(spark: Any, name: str,
                                             options: dict[str, Any]) -> None:
    source = str(DATA / name)
    by = "month,model,provider,project,api_key"
    reference = price_usage(source, engine="python", by=by, **options)
    got = price_usage(source, engine="spark", spark=spark, by=by, **options)
    assert got.engine == "spark"
    _agree(got, reference)
    pytest.importorskip("duckdb")
    _agree(price_usage(source, engine="duckdb", by=by, **options), reference)


def test_spark_prices_a_ledger_with_labels_and_reprice(spark: Any, configure_tracker: Any,
                                                       tmp_path: Path) -> None:
    import tracker

    ledger = tmp_path / "ledger.jsonl"
    configure_tracker(ledger=str(ledger))
    for i in range(30):
        tracker.record_usage("gpt-4o", 200 + 50 * i, 20 + 7 * i, provider="openai",
                             team=f"t{i % 3}", project="p")
    tracker.shutdown()
    for reprice in (False, True):
        by = "day,label:team,project"
        _agree(price_usage(str(ledger), spark=spark, by=by, reprice=reprice),
               price_usage(str(ledger), engine="python", by=by, reprice=reprice))
    assert json.loads(ledger.read_text().splitlines()[0])["energy.kwh"] > 0


def test_spark_started_from_a_master_url(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java")
    source = str(DATA / "openai_completions.json")
    got = price_usage(source, engine="spark", master="local[2]", by="model")
    _agree(got, price_usage(source, engine="python", by="model"))

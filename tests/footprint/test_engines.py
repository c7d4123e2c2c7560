"""The engines agree, and they price as the live SDK does: N requests of the row's mean."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from tracker.footprint import price_usage
from tracker.footprint._coefficients import (
    BASIS,
    COEFFICIENT_COLUMNS,
    basis,
    coefficient_row,
    resolve_pricer,
)
from tracker.footprint._plan import API_FIGURES, COUNTS, FIGURES
from tracker.model._deployment import Deployment

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



@pytest.fixture(autouse=True)
def _needs_duckdb(request: pytest.FixtureRequest) -> None:
    """Every test here compares with DuckDB but the basis test (the model alone)."""
    if request.function.__name__ != "test_the_basis_reproduces_the_pricer":
        pytest.importorskip("duckdb")


def assert_agree(a: list[dict[str, Any]], b: list[dict[str, Any]], rel: float = 1e-9) -> None:
    assert len(a) == len(b) and a
    for x, y in zip(a, b, strict=True):
        assert {k: v for k, v in x.items() if k not in CLOSE} == {
            k: v for k, v in y.items() if k not in CLOSE}
        assert (x["api_usd"] is None) == (y["api_usd"] is None)
        if x["api_usd"] is not None:
            assert math.isclose(x["api_usd"], y["api_usd"], rel_tol=1e-9), "api_usd"
        for name in FIGURES:
            assert math.isclose(x[name], y[name], rel_tol=rel, abs_tol=1e-300), name


@pytest.mark.parametrize(("name", "options"), FIXTURES)
@pytest.mark.parametrize("by", ["month,model", "day,provider,project,api_key"])
def test_duckdb_agrees_with_the_python_reference(name: str, options: dict[str, Any],
                                                 by: str) -> None:
    source = str(DATA / name)
    reference = price_usage(source, engine="python", by=by, **options)
    assert_agree(price_usage(source, engine="duckdb", by=by, **options), reference)


def test_the_basis_reproduces_the_pricer() -> None:
    """coefficients . basis == CallPricer.price for any request: the one place the model's
    per-request form is restated; a refit of the coefficients keeps it, a new term breaks this."""
    rng = random.Random(7)
    columns = COEFFICIENT_COLUMNS
    for provider, model in [("openai", "gpt-4o"), ("anthropic", "claude-3-5-haiku-20241022"),
                            (None, "llama-3.1-70b"), ("openai", "no-such-model")]:
        p = resolve_pricer(Deployment(), provider, model)
        row = dict(zip(columns, coefficient_row(p), strict=True))
        for _ in range(50):
            i = rng.uniform(0, 200000)
            o = rng.uniform(0, 8000)
            c = rng.uniform(-10, i * 1.2)
            f = basis(i, o, c)
            e = p.price(i, o, cached_input_tokens=c)  # type: ignore[arg-type]
            srv = sum(row[f"srv_{k}"] * f[k] for k in range(len(BASIS)))
            acc_max = sum(row[f"acc_max_{k}"] * f[k] for k in range(len(BASIS)))
            assert math.isclose(srv * row["facility"], e.energy_kwh, rel_tol=1e-12)
            assert math.isclose(srv, e.server_kwh, rel_tol=1e-12)
            assert math.isclose(acc_max * row["emb_max"], e.embodied_gco2e_max, rel_tol=1e-12)
            assert math.isclose(srv * row["facility"] * row["ci"], e.gco2e, rel_tol=1e-12)


def test_a_row_is_n_requests_of_its_mean_never_one_request_of_the_sum(tmp_path: Path) -> None:
    rows = [{"timestamp": "2025-12-01", "model": "gpt-4o", "provider": "openai",
             "requests": 100, "input_tokens": 300000, "output_tokens": 50000}]
    path = tmp_path / "u.csv"
    path.write_text("timestamp,model,provider,requests,input_tokens,output_tokens\n"
                    + "\n".join(",".join(str(r[k]) for k in rows[0]) for r in rows) + "\n")
    got = price_usage(str(path), engine="duckdb", by="model")[0]
    p = resolve_pricer(Deployment(), "openai", "gpt-4o")
    one = p.price(3000, 500)
    assert math.isclose(got["energy_kwh"], 100 * one.energy_kwh, rel_tol=1e-12)
    assert not math.isclose(got["energy_kwh"], p.price(300000, 50000).energy_kwh, rel_tol=0.01)


def test_same_calls_recorded_live_and_from_a_usage_export_agree(configure_tracker: Any,
                                                                tmp_path: Path) -> None:
    """A month of usage export and the same calls recorded live by the SDK: within 1 %."""
    import tracker

    ledger = tmp_path / "ledger.jsonl"
    configure_tracker(ledger=str(ledger))
    rng = random.Random(3)
    calls = [(rng.randint(200, 4000), rng.randint(20, 900)) for _ in range(300)]
    for n_in, n_out in calls:
        tracker.record_usage("gpt-4o", n_in, n_out, provider="openai")
    tracker.shutdown()
    live = price_usage(str(ledger), by="model")[0]
    page = {"object": "page", "has_more": False, "next_page": None, "data": [{
        "object": "bucket", "start_time": 1764547200, "end_time": 1764633600, "results": [{
            "object": "organization.usage.completions.result",
            "input_tokens": sum(c[0] for c in calls), "output_tokens": sum(c[1] for c in calls),
            "input_cached_tokens": 0, "input_audio_tokens": 0, "output_audio_tokens": 0,
            "num_model_requests": len(calls), "project_id": None, "user_id": None,
            "api_key_id": None, "model": "gpt-4o", "batch": None, "service_tier": None}]}]}
    export = tmp_path / "usage.json"
    export.write_text(json.dumps(page))
    priced = price_usage(str(export), by="model")[0]
    assert live["recorded_calls"] == priced["calls"] == len(calls)
    for name in ("energy_kwh", "gco2e", "usd", "water_l"):
        assert priced[name] == pytest.approx(live[name], rel=0.01), name


def test_ledger_keeps_recorded_figures_unless_repriced(configure_tracker: Any,
                                                       tmp_path: Path) -> None:
    import tracker

    ledger = tmp_path / "ledger.jsonl"
    configure_tracker(ledger=str(ledger), region="FR")
    tracker.record_usage("gpt-4o", 1000, 200, provider="openai", project="search")
    tracker.record_usage("claude-3-5-haiku-20241022", 500, 50, provider="anthropic",
                         project="support")
    tracker.shutdown()
    lines = [json.loads(x) for x in ledger.read_text().splitlines()]
    kept = price_usage(str(ledger), engine="python", by="project")
    assert [r["project"] for r in kept] == ["search", "support"]
    assert kept[0]["energy_kwh"] == lines[0]["energy.kwh"]
    assert kept[0]["gco2e"] == lines[0]["energy.gco2e"]
    assert kept[0]["recorded_calls"] == 1
    for engine in ("python", "duckdb"):
        repriced = price_usage(str(ledger), engine=engine, by="project", reprice=True,
                               region="SE")
        assert repriced[0]["recorded_calls"] == 0
        assert repriced[0]["gco2e"] < kept[0]["gco2e"]  # Sweden's grid against France's
    assert_agree(price_usage(str(ledger), engine="duckdb", by="project"), kept)
    assert_agree(price_usage(str(ledger), engine="duckdb", by="project", reprice=True),
                 price_usage(str(ledger), engine="python", by="project", reprice=True))


def test_counts_are_whole_numbers_on_every_engine() -> None:
    for engine in ("python", "duckdb"):
        row = price_usage(str(DATA / "openai_completions.json"), engine=engine, by="model")[0]
        assert all(type(row[k]) is int for k in COUNTS)


def _native_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.footprint import _duck

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the Python reader was used")

    monkeypatch.setattr(_duck, "_load_python", refuse)


def test_duckdb_reads_clean_spend_logs_itself_with_the_same_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = (DATA / "litellm_spend.jsonl").read_text().splitlines()
    clean = tmp_path / "spend.jsonl"
    clean.write_text("\n".join(lines[:3] + lines[4:]) + "\n")  # without the malformed line 4
    by = "month,model,provider,project,api_key,label:user"
    reference = price_usage(str(clean), engine="python", by=by, reprice=True)
    _native_only(monkeypatch)
    assert_agree(price_usage(str(clean), engine="duckdb", by=by, reprice=True), reference)
    assert_agree(price_usage(str(clean), engine="duckdb", by=by, since="2026-01-01"),
                 price_usage(str(clean), engine="python", by=by, since="2026-01-01"))


def test_duckdb_reads_clean_ledgers_itself_with_the_same_rows(
        configure_tracker: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tracker

    ledger = tmp_path / "ledger.jsonl"
    configure_tracker(ledger=str(ledger))
    for i in range(40):
        tracker.record_usage(["gpt-4o", "claude-3-5-haiku-20241022", "mystery-model"][i % 3],
                             100 + 37 * i, 10 + 11 * i, provider=["openai", "anthropic"][i % 2],
                             project=f"p{i % 4}", team="search", batch=i % 2 == 0, tier=i % 3)
    tracker.shutdown()
    for by in ("month,model", "project,provider,label:team", "label:batch,label:tier,function"):
        for reprice in (False, True):
            reference = price_usage(str(ledger), engine="python", by=by, reprice=reprice)
            with monkeypatch.context() as m:
                _native_only(m)
                native = price_usage(str(ledger), engine="duckdb", by=by, reprice=reprice)
            assert_agree(native, reference)
            assert native.unknown_models == reference.unknown_models


def test_a_malformed_line_sends_the_file_to_the_python_reader(tmp_path: Path) -> None:
    path = tmp_path / "spend.jsonl"
    shutil_lines = (DATA / "litellm_spend.jsonl").read_text()
    path.write_text(shutil_lines)
    got = price_usage(str(path), engine="duckdb", by="model")
    assert got.malformed is not None and "spend.jsonl:4" in got.malformed
    assert_agree(got, price_usage(str(path), engine="python", by="model"))

"""Each usage format read from a fixture that follows its real schema, field for field."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tracker.exceptions import ConfigError
from tracker.footprint import price_usage
from tracker.footprint._schema import DEFAULT_MEAN_INPUT_TOKENS

DATA = Path(__file__).parent / "data"


def _one(source: Any, **kwargs: Any) -> Any:
    return price_usage(source, engine="python", **kwargs)


def _by(rows: Any, key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows}


def test_openai_usage_pages_keep_counts_requests_and_keys() -> None:
    rows = _one(str(DATA / "openai_completions.json"), by="month,model,project,api_key")
    first = rows[0]
    assert (first["month"], first["model"], first["project"], first["api_key"]) == (
        "2025-12", "gpt-4o-2024-08-06", "proj_search", "key_abc123")
    assert (first["calls"], first["input_tokens"], first["output_tokens"],
            first["cached_input_tokens"]) == (1000, 1250000, 310000, 400000)
    assert [r["calls"] for r in rows] == [1000, 300, 500]
    assert rows.unknown_models == [] and rows.malformed is None
    assert all(r["requests_assumed"] == 0 for r in rows)


def test_openai_embeddings_have_no_output_tokens() -> None:
    rows = _one(str(DATA / "openai_embeddings.json"), by="model")
    assert rows[0]["model"] == "text-embedding-3-small"
    row = rows[0]
    assert (row["calls"], row["input_tokens"], row["output_tokens"]) == (2000, 800000, 0)
    assert rows[0]["energy_kwh"] > 0


def test_anthropic_report_sums_input_kinds_and_assumes_the_request_count() -> None:
    rows = _by(_one(str(DATA / "anthropic_messages.json"), by="model,project"), "model")
    sonnet = rows["claude-sonnet-4-20250514"]
    assert sonnet["input_tokens"] == 500000 + 20000 + 80000 + 400000
    assert sonnet["cached_input_tokens"] == 400000
    assert sonnet["calls"] == sonnet["requests_assumed"] == 1000000 // DEFAULT_MEAN_INPUT_TOKENS
    assert sonnet["project"] == "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"
    assert any("assumed" in note for note in sonnet["assumptions"])
    bigger = _by(price_usage(str(DATA / "anthropic_messages.json"), engine="python", by="model",
                             mean_input_tokens=250000), "model")["claude-sonnet-4-20250514"]
    assert bigger["calls"] == 4
    # Fewer, longer requests: the context term makes each token dearer, never the same total.
    assert bigger["energy_kwh"] != pytest.approx(sonnet["energy_kwh"], rel=1e-3)


def test_bedrock_logs_read_counts_never_text_and_name_the_bad_line() -> None:
    rows = _one(str(DATA / "bedrock_invocations.jsonl"), by="month,model,label:region")
    assert [(r["month"], r["label:region"], r["calls"]) for r in rows] == [
        ("2025-12", "us-east-1", 1), ("2025-12", "us-east-1", 1), ("2026-01", "eu-west-1", 1)]
    last = rows[2]
    assert (last["input_tokens"], last["cached_input_tokens"], last["output_tokens"]) == (
        4000, 1000, 800)
    assert rows.malformed is not None and "bedrock_invocations.jsonl:3" in rows.malformed
    assert rows.malformed_count == 1


def test_litellm_spend_logs_json_and_csv_agree(tmp_path: Path) -> None:
    records = [json.loads(line) for line in (DATA / "litellm_spend.jsonl").read_text().splitlines()]
    fields = sorted({k for r in records for k in r})
    lines = [",".join(fields)]
    for r in records:
        cells = []
        for f in fields:
            v = r.get(f)
            text = "" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else str(v))
            cells.append('"' + text.replace('"', '""') + '"')
        lines.append(",".join(cells))
    csv_path = tmp_path / "spend.csv"
    csv_path.write_text("\n".join(lines) + "\n")
    from_json = _one(str(DATA / "litellm_spend.jsonl"), by="model,provider,project,api_key")
    from_csv = _one(str(csv_path), by="model,provider,project,api_key")
    assert from_json == from_csv
    rows = _by(from_json, "model")
    assert rows["amazon.titan-embed-text-v2:0"]["provider"] == "aws.bedrock"
    assert rows["gpt-4o"]["api_key"] == records[0]["api_key"]  # LiteLLM's hash of the key
    assert rows["amazon.titan-embed-text-v2:0"]["api_key"] is None  # not a hash: dropped
    assert from_json.unknown_models == ["acme-private-llm-v9"]
    assert rows["acme-private-llm-v9"]["fallback_calls"] == 1
    assert "litellm_spend.jsonl:4" in (from_json.malformed or "")


def test_otlp_json_prices_each_llm_span_once() -> None:
    rows = _one(str(DATA / "otlp_traces.jsonl"), by="model,provider,project")
    got = {(r["model"], r["provider"], r["project"]): (r["calls"], r["input_tokens"],
                                                       r["output_tokens"]) for r in rows}
    assert got == {
        ("gpt-4o-2024-08-06", "openai", "checkout"): (1, 1500, 300),
        ("gpt-4o-mini", "openai", "checkout"): (1, 800, 120),  # OpenLLMetry's llm.usage.*
        ("claude-3-5-haiku-20241022", "anthropic", "support-bot"): (1, 2000, 400),
    }  # the agent and tool spans, and the SDK's own priced span, are not counted
    assert "otlp_traces.jsonl:2" in (rows.malformed or "")


def test_csv_with_a_column_map() -> None:
    rows = _one(str(DATA / "usage_map.csv"), by="project", column_map=(
        "model=llm,input_tokens=prompt_tok,output_tokens=completion_tok,requests=calls,"
        "timestamp=day,project=team"))
    assert [(r["project"], r["calls"], r["input_tokens"]) for r in rows] == [
        ("search", 50, 72000), ("support", 100, 80000)]
    assert "usage_map.csv:4" in (rows.malformed or "")
    with pytest.raises(ConfigError, match="map"):
        _one(str(DATA / "usage_map.csv"), column_map="tokens=prompt_tok")


def test_unknown_format_and_missing_field_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"usage_map\.csv"):
        _one(str(DATA / "usage_map.csv"))
    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"hello": 1}\n')
    with pytest.raises(ConfigError, match=r"odd\.jsonl"):
        _one(str(odd))
    spend = tmp_path / "spend.jsonl"
    spend.write_text(json.dumps({"request_id": "x", "prompt_tokens": 1, "completion_tokens": 1,
                                 "startTime": "2025-01-01T00:00:00"}) + "\n")
    with pytest.raises(ConfigError, match=r"spend\.jsonl.*'model'"):
        _one(str(spend))
    with pytest.raises(ConfigError, match="no such file"):
        _one(str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="format"):
        _one(str(spend), format="parquet-please")


def test_gzip_directories_globs_and_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    plain = _one(str(DATA / "bedrock_invocations.jsonl"), by="model")
    folder = tmp_path / "logs" / "2025"
    folder.mkdir(parents=True)
    with gzip.open(folder / "part-0.json.gz", "wb") as out:
        out.write((DATA / "bedrock_invocations.jsonl").read_bytes())
    assert _one(str(tmp_path / "logs"), by="model") == plain
    assert _one(str(tmp_path / "logs" / "*" / "*.gz"), by="model") == plain
    shutil.copy(DATA / "bedrock_invocations.jsonl", tmp_path / "copy.jsonl")
    doubled = _one([str(tmp_path / "copy.jsonl"), str(folder / "part-0.json.gz")], by="model")
    assert [r["calls"] for r in doubled] == [2 * r["calls"] for r in plain]
    stdin = io.TextIOWrapper(io.BytesIO((DATA / "bedrock_invocations.jsonl").read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert _one("-", by="model") == plain


def test_since_and_until_bound_the_rows() -> None:
    source = str(DATA / "openai_completions.json")
    assert [r["month"] for r in _one(source, by="month", since="2026-01-01")] == ["2026-01"]
    assert [r["month"] for r in _one(source, by="month", until="2025-12-31")] == ["2025-12"]
    assert _one(source, by="month", since="2027-01-01") == []


def test_hostile_lines_are_counted_not_priced(tmp_path: Path) -> None:
    path = tmp_path / "spend.jsonl"
    good = {"request_id": "a", "prompt_tokens": 10, "completion_tokens": 5, "startTime":
            "2025-01-01T00:00:00", "model": "gpt-4o", "custom_llm_provider": "openai"}
    lines = [json.dumps(good),
             json.dumps({**good, "prompt_tokens": 10**13}),  # beyond any plausible count
             json.dumps({**good, "prompt_tokens": True, "completion_tokens": None}),
             "[" * 100000,  # nesting deeper than the parser goes
             json.dumps({**good, "model": "x" * 5000}),  # a name that is text
             "\x00\xff garbage",
             json.dumps(good)]
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape") + b"\n")
    rows = _one(str(path), by="model")
    assert [(r["model"], r["calls"], r["input_tokens"]) for r in rows] == [("gpt-4o", 3, 20)]
    assert rows.malformed_count == 4

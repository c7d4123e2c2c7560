"""The API price of a call (``gen_ai.usage.cost.*``) matches the genai-prices table.

Real clients against the demo server: a gpt-4o-mini call (half its input served from the cache,
reasoning tokens inside the output) and a claude call (cache reads and cache writes), each priced
as billed; the same amount on the span, the log record and the ledger line, beside the
electricity (``energy.usd``), which stays a different figure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest

import tracker
from tests.integrations.test_openai import KEY, MESSAGES, Telemetry, instrumented, serve
from tracker import _attributes as A
from tracker.demo._server import DemoServer

genai_prices = pytest.importorskip("genai_prices")

server = pytest.fixture(scope="module", name="server")(serve)


@pytest.fixture
def otel(tmp_path: Path) -> Iterator[Telemetry]:
    yield from instrumented(tmp_path, "openai", "anthropic")


def _rates(model: str, provider: str) -> dict[str, float]:
    """The table's flat per-million-token prices of `model` (input, cache read/write, output)."""
    found = genai_prices.calc_price(genai_prices.Usage(input_tokens=1, output_tokens=1), model,
                                    provider_id=provider).model_price
    names = ("input_mtok", "cache_read_mtok", "cache_write_mtok", "output_mtok")
    return {n: float(getattr(found, n)) for n in names if getattr(found, n) is not None}


def _everywhere(otel: Telemetry) -> list[dict[str, object]]:
    (span,) = otel.client_spans()
    (record,) = [r.log_record for r in otel.logs.get_finished_logs()
                 if r.log_record.event_name == A.EVENT_REQUEST]
    (line,) = [json.loads(x) for x in otel.ledger.read_text().splitlines()]
    return [dict(span.attributes or {}), dict(record.attributes or {}), line]


def test_gpt_4o_mini_matches_the_price_table(server: DemoServer, otel: Telemetry) -> None:
    with openai.OpenAI(api_key=KEY, base_url=server.openai_base_url, max_retries=0) as c:
        reply = c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    usage = reply.usage
    assert usage is not None and usage.prompt_tokens_details is not None
    cached = usage.prompt_tokens_details.cached_tokens or 0
    assert cached > 0
    want = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=usage.prompt_tokens, cache_read_tokens=cached,
                           output_tokens=usage.completion_tokens),
        "gpt-4o-mini", provider_id="openai").total_price
    # the same from the table's own per-token prices: reasoning tokens are output tokens
    rates = _rates("gpt-4o-mini", "openai")
    details = usage.completion_tokens_details
    assert details is not None and (details.reasoning_tokens or 0) > 0
    by_hand = ((usage.prompt_tokens - cached) * rates["input_mtok"]
               + cached * rates["cache_read_mtok"]
               + usage.completion_tokens * rates["output_mtok"]) / 1_000_000
    assert float(want) == pytest.approx(by_hand, rel=1e-12)
    for attrs in _everywhere(otel):
        assert attrs[A.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(float(want), rel=1e-9)
        assert attrs[A.GEN_AI_USAGE_COST_CURRENCY] == "USD"
        assert attrs[A.GEN_AI_USAGE_COST_SOURCE] == "local"
        assert attrs[A.ENERGY_PRICE_TABLE] == f"genai-prices {genai_prices.__version__}"
        assert attrs[A.ENERGY_USD] != attrs[A.GEN_AI_USAGE_COST_AMOUNT]  # the electricity


def test_claude_matches_the_price_table_with_cache_reads_and_writes(
        server: DemoServer, otel: Telemetry) -> None:
    model = "claude-3-5-haiku-latest"
    with anthropic.Anthropic(api_key=KEY, base_url=server.anthropic_base_url,
                             max_retries=0) as a:
        message = a.messages.create(model=model, max_tokens=32, messages=MESSAGES)
    u = message.usage
    read, written = u.cache_read_input_tokens or 0, u.cache_creation_input_tokens or 0
    assert read > 0 and written > 0
    want = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=u.input_tokens + read + written, cache_read_tokens=read,
                           cache_write_tokens=written, output_tokens=u.output_tokens),
        model, provider_id="anthropic").total_price
    rates = _rates(model, "anthropic")
    by_hand = (u.input_tokens * rates["input_mtok"] + read * rates["cache_read_mtok"]
               + written * rates["cache_write_mtok"]
               + u.output_tokens * rates["output_mtok"]) / 1_000_000
    assert float(want) == pytest.approx(by_hand, rel=1e-12)
    for attrs in _everywhere(otel):
        assert attrs[A.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(float(want), rel=1e-9)


def test_a_local_model_has_no_api_price(otel: Telemetry) -> None:
    tracker.record_usage("llama-3.1-8b", 100, 10, provider="ollama")
    (span,) = otel.client_spans()
    assert A.GEN_AI_USAGE_COST_AMOUNT not in (span.attributes or {})


def _points(otel: Telemetry, name: str) -> list[object]:
    data = otel.reader.get_metrics_data()
    assert data is not None
    return [p for rm in data.resource_metrics for sm in rm.scope_metrics
            for m in sm.metrics if m.name == name for p in m.data.data_points]


def test_the_api_price_counter_sums_the_calls_priced(server: DemoServer,
                                                     otel: Telemetry) -> None:
    with openai.OpenAI(api_key=KEY, base_url=server.openai_base_url, max_retries=0) as c:
        for _ in range(2):
            c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    tracker.record_usage("llama-3.1-8b", 100, 10, provider="ollama")  # no API price
    amounts = [dict(s.attributes or {})[A.GEN_AI_USAGE_COST_AMOUNT]
               for s in otel.client_spans()[:2]]
    (point,) = _points(otel, A.METRIC_API_COST)
    attributes = dict(point.attributes)  # type: ignore[attr-defined]
    assert point.value == pytest.approx(sum(amounts), rel=1e-12)  # type: ignore[attr-defined]
    assert attributes[A.GEN_AI_USAGE_COST_CURRENCY] == "USD"
    assert attributes[A.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    # the electricity counter counts all three calls, under its own name
    electricity = [p for p in _points(otel, A.METRIC_COST)]
    assert len(electricity) == 2
    assert sum(p.value for p in electricity) != pytest.approx(  # type: ignore[attr-defined]
        point.value)  # type: ignore[attr-defined]

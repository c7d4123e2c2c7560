"""Pydantic AI integration: real agents, a tool that delegates to a sub-agent, over HTTP.

The triage agent calls its ``ask_forecaster`` tool, which runs the forecaster agent (one model
request), then answers: three model requests. With the openai integration on as well (in either
order), each request is one CLIENT span recorded by the openai integration; without it, Pydantic
AI's own record of the request is priced. Either way each call carries its agent's name, and each
``invoke_agent`` / ``execute_tool`` span sums exactly the calls made inside it. Pydantic AI's spans
sent to a real tracer provider instead are priced by EnergySpanProcessor with the same numbers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pydantic_ai")
import openai
from pydantic_ai import Agent
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
from pydantic_ai.providers.openai import OpenAIProvider

import tracker
from tests.conftest import Otel
from tests.integrations._agent_checks import assert_sums, below, children
from tracker.demo._server import DEMO_REPLY, DemoServer

INTEGRATION = "pydantic_ai"
KEY = "sk-pydantic-secret-key-0123456789"
MODEL = "gpt-4o-mini"
QUESTION = "What is the weather like in Oslo today?"


def make_agent(client: openai.AsyncOpenAI, api: str) -> Agent[None, str]:
    provider = OpenAIProvider(openai_client=client)
    model: Any = (OpenAIResponsesModel(MODEL, provider=provider) if api == "responses"
                  else OpenAIChatModel(MODEL, provider=provider))
    forecaster = Agent(model, name="Forecaster", instructions="Answer in one sentence.")
    triage = Agent(model, name="Triage", instructions="Ask the forecaster.")

    @triage.tool_plain
    async def ask_forecaster(city: str) -> str:
        """Ask the forecaster about a city."""
        result = await forecaster.run(f"Weather in {city}?")
        return result.output

    return triage


def run_agent(server: DemoServer, api: str, how: str) -> Any:
    """Run the triage agent on a fresh event loop; the client is closed on it afterwards."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key=KEY, max_retries=0)
    agent = make_agent(client, api)

    async def streamed() -> Any:
        async with agent.run_stream(QUESTION) as result:
            return await result.get_output()

    try:
        if how == "sync":
            return agent.run_sync(QUESTION).output
        if how == "async":
            return loop.run_until_complete(agent.run(QUESTION)).output
        return loop.run_until_complete(streamed())
    finally:
        loop.run_until_complete(client.close())
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()


@pytest.fixture(autouse=True)
def _uninstrumented() -> Iterator[None]:
    yield
    tracker.uninstrument()
    Agent.instrument_all(False)


@pytest.fixture(params=["client-first", "framework-first", "framework-only"])
def mode(request: pytest.FixtureRequest, ledger_otel: Otel) -> str:
    names = {"client-first": ["openai", INTEGRATION], "framework-first": [INTEGRATION, "openai"],
             "framework-only": [INTEGRATION]}[request.param]
    for name in names:
        tracker.instrument(name)
    return str(request.param)


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize("how", ["sync", "async", "streamed"])
def test_agent_run_is_priced_once_per_call_with_the_agent(
        mode: str, ledger_otel: Otel, demo_server: DemoServer, api: str, how: str) -> None:
    before = len(demo_server.served)
    assert run_agent(demo_server, api, how) == DEMO_REPLY
    served = demo_server.served[before:]
    assert len(served) == 3  # tool call, the forecaster's answer, the triage's answer

    calls = ledger_otel.call_spans()
    assert len(calls) == len(served) == len(ledger_otel.ledger_lines())
    assert sorted(dict(c.attributes or {})["gen_ai.usage.input_tokens"] for c in calls) == \
        sorted(sent.input_tokens for sent in served)
    for record in [dict(c.attributes or {}) for c in calls] + ledger_otel.ledger_lines():
        assert record["energy.kwh"] > 0
        assert record["energy.framework"] == INTEGRATION
        assert record["gen_ai.agent.name"] in ("Triage", "Forecaster")
        assert record["gen_ai.conversation.id"]

    everything = ledger_otel.spans()
    triage = ledger_otel.span("invoke_agent Triage")
    forecaster = ledger_otel.span("invoke_agent Forecaster")
    tool = ledger_otel.span("execute_tool ask_forecaster")
    assert dict(tool.attributes or {})["gen_ai.tool.name"] == "ask_forecaster"
    assert tool.parent is not None and tool.parent.span_id == triage.context.span_id
    assert forecaster.parent is not None and forecaster.parent.span_id == tool.context.span_id
    assert_sums(triage, below(triage, calls, everything))
    assert_sums(tool, below(tool, calls, everything))
    assert_sums(forecaster, children(forecaster, calls))
    assert len(below(triage, calls, everything)) == 3
    (inner,) = children(forecaster, calls)
    assert dict(inner.attributes or {})["gen_ai.agent.name"] == "Forecaster"
    assert {dict(c.attributes or {})["gen_ai.agent.name"] for c in children(triage, calls)} == \
        {"Triage"}
    assert not [s for s in everything if s.instrumentation_scope is not None
                and s.instrumentation_scope.name == "pydantic-ai"]


def test_results_unchanged_and_uninstrument_leaves_nothing(
        configure_tracker: Callable[..., Otel], demo_server: DemoServer) -> None:
    otel = configure_tracker()
    plain = run_agent(demo_server, "chat", "sync")
    assert otel.spans() == []
    tracker.instrument("openai", INTEGRATION)
    assert run_agent(demo_server, "chat", "sync") == plain
    assert otel.spans()
    tracker.uninstrument()
    n = len(otel.spans())
    assert run_agent(demo_server, "chat", "streamed") == plain
    assert len(otel.spans()) == n


def test_energy_span_processor_gives_the_same_numbers(
        configure_tracker: Callable[..., Otel], demo_server: DemoServer, tmp_path: Path) -> None:
    """Pydantic AI's own spans on a real provider, priced by EnergySpanProcessor: the same
    energy per call as the integration's records."""
    ledger = tmp_path / "integration.jsonl"
    otel = configure_tracker(ledger=str(ledger))
    otel.ledger = ledger  # type: ignore[attr-defined]
    tracker.instrument(INTEGRATION)
    run_agent(demo_server, "chat", "async")
    by_integration = sorted(line["energy.kwh"] for line in otel.ledger_lines())
    tracker.uninstrument()

    other = tmp_path / "processor.jsonl"
    otel2 = configure_tracker(ledger=str(other))
    otel2.ledger = other  # type: ignore[attr-defined]
    processor = tracker.EnergySpanProcessor()
    otel2.tracer_provider.add_span_processor(processor)
    Agent.instrument_all(InstrumentationSettings(tracer_provider=otel2.tracer_provider,
                                                 include_content=False))
    run_agent(demo_server, "chat", "async")
    processor.force_flush()
    by_processor = sorted(line["energy.kwh"] for line in otel2.ledger_lines())
    processor.shutdown()
    assert len(by_integration) == 3
    assert by_processor == pytest.approx(by_integration)


def test_prompt_and_key_never_reach_telemetry(ledger_otel: Otel, demo_server: DemoServer) -> None:
    tracker.instrument(INTEGRATION)
    run_agent(demo_server, "chat", "sync")
    text = ledger_otel.everything(ledger_otel.ledger)  # type: ignore[attr-defined]
    for secret in (KEY, QUESTION, DEMO_REPLY, "Ask the forecaster", "Weather in Oslo"):
        assert secret not in text


def test_an_application_instrumentation_is_left_alone(
        configured: Otel, demo_server: DemoServer, caplog: pytest.LogCaptureFixture) -> None:
    """Agent.instrument_all set by the application: the integration stays off (never both)."""
    mine = InstrumentationSettings(tracer_provider=configured.tracer_provider,
                                   include_content=False)
    Agent.instrument_all(mine)
    with caplog.at_level("WARNING"):
        tracker.instrument(INTEGRATION)
    assert "EnergySpanProcessor" in caplog.text
    run_agent(demo_server, "chat", "async")
    spans = configured.spans()
    assert [s for s in spans if s.instrumentation_scope is not None
            and s.instrumentation_scope.name == "pydantic-ai"]
    assert not [s for s in spans if s.name.startswith("invoke_agent")
                and "energy.kwh" in (s.attributes or {})]
    tracker.uninstrument()
    assert getattr(Agent, "_instrument_default", None) is mine

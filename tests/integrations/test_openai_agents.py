"""OpenAI Agents SDK integration: real agents, a tool call and a hand-off, over HTTP to the server.

The triage agent calls its ``get_weather`` tool, then hands off to the forecaster, which answers:
three model requests. With the openai integration on as well (in either order), each request is
one CLIENT span recorded by the openai client integration; without it, the Agents SDK's own model
spans are recorded. Either way each call carries the agent's name, and the ``invoke_agent`` span of
each agent sums exactly its calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

agents = pytest.importorskip("agents")
import openai  # noqa: E402
from agents import (  # noqa: E402
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    function_tool,
)
from opentelemetry.sdk.trace import ReadableSpan  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402

import tracker  # noqa: E402
from integrations import openai_agents as integration  # noqa: E402
from tests.conftest import Otel  # noqa: E402
from tests.integrations._agent_checks import children  # noqa: E402
from tracker.demo._server import DEMO_REPLY, DemoServer  # noqa: E402

INTEGRATION = "openai_agents"
KEY = "sk-agents-secret-key-0123456789"
MODEL = "gpt-4o-mini"
QUESTION = "What is the weather like in Oslo today?"
WORKFLOW = "weather desk"
GROUP = "conversation-42"


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny and cold in {city}."


def make_agents(client: openai.AsyncOpenAI, api: str) -> Agent[Any]:
    model: Any = (OpenAIResponsesModel(model=MODEL, openai_client=client) if api == "responses"
                  else OpenAIChatCompletionsModel(model=MODEL, openai_client=client))
    # A streamed chat completion reports usage only when asked to (``include_usage``).
    settings = ModelSettings(include_usage=True)
    forecaster = Agent(name="Forecaster", instructions="Answer in one sentence.", model=model,
                       model_settings=settings)
    return Agent(name="Triage", instructions="Look the weather up, then hand off.", model=model,
                 tools=[get_weather], handoffs=[forecaster], model_settings=settings)


def on_fresh_loop(main: Callable[[openai.AsyncOpenAI], Any], server: DemoServer,
                  sync: bool = False) -> Any:
    """`main(client)` on a new event loop (``Runner.run_sync`` runs on the thread's default
    loop), the client closed on that loop afterwards."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key=KEY, max_retries=0)
    try:
        if sync:
            return main(client)
        return loop.run_until_complete(main(client))
    finally:
        loop.run_until_complete(client.close())
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()


def run_agent(server: DemoServer, api: str, how: str) -> Any:
    config = RunConfig(workflow_name=WORKFLOW, group_id=GROUP)
    if how == "sync":
        return on_fresh_loop(lambda client: Runner.run_sync(make_agents(client, api), QUESTION,
                                                            run_config=config), server, sync=True)

    async def run(client: openai.AsyncOpenAI) -> Any:
        if how == "async":
            return await Runner.run(make_agents(client, api), QUESTION, run_config=config)
        result = Runner.run_streamed(make_agents(client, api), QUESTION, run_config=config)
        async for _ in result.stream_events():
            pass
        return result

    return on_fresh_loop(run, server)


@pytest.fixture(autouse=True)
def _only_our_processor() -> Iterator[None]:
    """No exporter to OpenAI's tracing backend: only the processor under test is registered."""
    agents.set_trace_processors([])
    integration._registered = False
    yield
    tracker.uninstrument()
    agents.set_trace_processors([])
    integration._registered = False


@pytest.fixture(params=["client-first", "framework-first", "framework-only"])
def mode(request: pytest.FixtureRequest, ledger_otel: Otel) -> str:
    """Who records the model calls: the openai integration (patched first or last), or the SDK."""
    names = {"client-first": ["openai", INTEGRATION], "framework-first": [INTEGRATION, "openai"],
             "framework-only": [INTEGRATION]}[request.param]
    for name in names:
        tracker.instrument(name)
    return str(request.param)


def internal(otel: Otel) -> list[ReadableSpan]:
    return [s for s in otel.spans() if s.kind == SpanKind.INTERNAL]


@pytest.mark.parametrize("api", ["responses", "chat"])
@pytest.mark.parametrize("how", ["sync", "async", "streamed"])
def test_agent_run_is_priced_once_per_call_with_the_agent(
        mode: str, ledger_otel: Otel, demo_server: DemoServer, api: str, how: str) -> None:
    before = len(demo_server.served)
    result = run_agent(demo_server, api, how)
    assert result.final_output == DEMO_REPLY
    assert result.last_agent.name == "Forecaster"
    served = demo_server.served[before:]
    assert len(served) == 3  # tool call, hand-off, answer

    calls = ledger_otel.call_spans()
    assert len(calls) == len(served) == len(ledger_otel.ledger_lines())
    assert sorted(dict(c.attributes or {})["gen_ai.usage.input_tokens"] for c in calls) == \
        sorted(sent.input_tokens for sent in served)
    for record in [dict(c.attributes or {}) for c in calls] + ledger_otel.ledger_lines():
        assert record["energy.kwh"] > 0
        assert record["energy.framework"] == INTEGRATION
        assert record["energy.framework.run_name"] == WORKFLOW
        assert record["gen_ai.conversation.id"] == GROUP
        assert record["gen_ai.agent.name"] in ("Triage", "Forecaster")

    scopes = internal(ledger_otel)
    for agent, n_calls in (("Triage", 2), ("Forecaster", 1)):
        span = ledger_otel.span(f"invoke_agent {agent}")
        attrs = dict(span.attributes or {})
        assert attrs["gen_ai.operation.name"] == "invoke_agent"
        assert attrs["gen_ai.agent.name"] == agent
        own = children(span, calls)
        assert len(own) == n_calls == attrs["energy.calls"]
        assert {dict(c.attributes or {})["gen_ai.agent.name"] for c in own} == {agent}
        for key in ("energy.kwh", "energy.gco2e", "energy.usd", "energy.water_l"):
            assert attrs[key] == pytest.approx(sum(dict(c.attributes or {})[key] for c in own))
    tool = ledger_otel.span("execute_tool get_weather")
    tool_attrs = dict(tool.attributes or {})
    assert tool_attrs["gen_ai.tool.name"] == "get_weather"
    assert tool_attrs["gen_ai.agent.name"] == "Triage"
    assert tool_attrs["energy.calls"] == 0
    assert tool.parent is not None
    assert tool.parent.span_id == ledger_otel.span("invoke_agent Triage").context.span_id
    for span in scopes:
        assert not [k for k in (span.attributes or {}) if k.startswith("gen_ai.usage.")]


def test_results_unchanged_and_uninstrument_leaves_nothing(
        configure_tracker: Callable[..., Otel], demo_server: DemoServer) -> None:
    otel = configure_tracker()
    plain = run_agent(demo_server, "responses", "sync")
    assert otel.spans() == []
    tracker.instrument("openai", INTEGRATION)
    traced = run_agent(demo_server, "responses", "sync")
    assert otel.spans()
    assert traced.final_output == plain.final_output
    assert [type(i).__name__ for i in traced.new_items] == \
        [type(i).__name__ for i in plain.new_items]
    assert traced.context_wrapper.usage.input_tokens == plain.context_wrapper.usage.input_tokens

    tracker.uninstrument()
    n = len(otel.spans())
    again = run_agent(demo_server, "responses", "streamed")
    assert again.final_output == plain.final_output
    assert len(otel.spans()) == n
    assert not integration._processor._scopes and not integration._processor._calls


def test_tool_that_calls_a_model_rolls_up_into_the_tool_and_the_agent(
        configured: Otel, demo_server: DemoServer) -> None:
    tracker.instrument("openai", INTEGRATION)

    async def run(client: openai.AsyncOpenAI) -> Any:
        @function_tool
        async def summarise(topic: str) -> str:
            """Summarise a topic."""
            reply = await client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": topic}])
            return reply.choices[0].message.content or ""

        model = OpenAIResponsesModel(model=MODEL, openai_client=client)
        agent = Agent(name="Writer", instructions="Summarise.", model=model, tools=[summarise])
        return await Runner.run(agent, "Summarise penguins")

    result = on_fresh_loop(run, demo_server)
    assert result.final_output == DEMO_REPLY
    tool = configured.span("execute_tool summarise")
    run = configured.span("invoke_agent Writer")
    calls = configured.call_spans()
    assert len(calls) == 3
    (inner,) = children(tool, calls)
    assert dict(inner.attributes or {})["gen_ai.agent.name"] == "Writer"
    tool_attrs, run_attrs = dict(tool.attributes or {}), dict(run.attributes or {})
    assert tool_attrs["energy.calls"] == 1
    assert tool_attrs["energy.kwh"] == pytest.approx(dict(inner.attributes or {})["energy.kwh"])
    assert run_attrs["energy.calls"] == 3
    assert run_attrs["energy.kwh"] == pytest.approx(
        sum(dict(c.attributes or {})["energy.kwh"] for c in calls))


def test_prompt_and_key_never_reach_telemetry(ledger_otel: Otel, demo_server: DemoServer) -> None:
    tracker.instrument(INTEGRATION)
    run_agent(demo_server, "responses", "sync")
    text = ledger_otel.everything(ledger_otel.ledger)  # type: ignore[attr-defined]
    for secret in (KEY, QUESTION, DEMO_REPLY, "Sunny and cold", "Look the weather up"):
        assert secret not in text

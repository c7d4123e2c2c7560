"""LlamaIndex integration: real agents, a tool that runs a sub-agent, a hand-off, over HTTP.

The triage agent (a ``FunctionAgent``) calls its ``ask_forecaster`` tool, which runs the
forecaster agent (one model request), then answers: three model requests. In an
``AgentWorkflow``, the triage agent calls ``get_weather``, hands off (the demo server fills every
string argument with "Oslo", so the forecaster is called Oslo), and the forecaster answers. With
the openai integration on as well (in either order), each request is one CLIENT span recorded by
the openai integration; without it, LlamaIndex's own record of the response is priced. Either way
each call carries its agent's name, and each ``invoke_agent`` / ``execute_tool`` span sums exactly
the calls made inside it. These tests run in their own CI step (tests/run_frameworks.sh).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

pytest.importorskip("llama_index.core")
pytest.importorskip("llama_index.llms.openai")
from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.instrumentation import get_dispatcher
from llama_index.llms.openai import OpenAI

import tracker
from tests.conftest import Otel
from tests.integrations._agent_checks import assert_sums, below, children
from tracker.demo._server import DEMO_REPLY, DemoServer

INTEGRATION = "llama_index"
KEY = "sk-llama-secret-key-0123456789"
MODEL = "gpt-4o-mini"
QUESTION = "What is the weather like in Oslo today?"
# The workflows package reads pydantic's deprecated attributes when building an agent.
pytestmark = pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecationWarning")


def make_llm(server: DemoServer, http: httpx.AsyncClient | None = None) -> OpenAI:
    # A streamed chat completion reports usage only when asked to (``include_usage``).
    return OpenAI(model=MODEL, api_base=server.openai_base_url, api_key=KEY, max_retries=0,
                  additional_kwargs={"stream_options": {"include_usage": True}},
                  async_http_client=http)


def make_triage(server: DemoServer, streaming: bool, http: httpx.AsyncClient) -> FunctionAgent:
    llm = make_llm(server, http)
    forecaster = FunctionAgent(name="Forecaster", description="Forecasts.", llm=llm,
                               system_prompt="Answer in one sentence.", streaming=streaming)

    async def ask_forecaster(city: str) -> str:
        """Ask the forecaster about a city."""
        return str(await forecaster.run(user_msg=f"Weather in {city}?"))

    return FunctionAgent(name="Triage", description="Triages.", llm=llm, tools=[ask_forecaster],
                         system_prompt="Ask the forecaster.", streaming=streaming)


def make_workflow(server: DemoServer, streaming: bool, http: httpx.AsyncClient
                  ) -> AgentWorkflow:
    llm = make_llm(server, http)

    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"Sunny and cold in {city}."

    triage = FunctionAgent(name="Triage", description="Triages.", llm=llm, tools=[get_weather],
                           system_prompt="Look the weather up, then hand off.",
                           can_handoff_to=["Oslo"], streaming=streaming)
    oslo = FunctionAgent(name="Oslo", description="Forecasts for Oslo.", llm=llm,
                         system_prompt="Answer in one sentence.", streaming=streaming)
    return AgentWorkflow(agents=[triage, oslo], root_agent="Triage")


def run(make: Callable[..., Any], server: DemoServer, streaming: bool, how: str) -> str:
    """Run on a fresh event loop: awaited ("plain"), or its event stream read ("streamed"); the
    HTTP client is closed on that loop."""
    async def main() -> str:
        async with httpx.AsyncClient() as http:
            handler = make(server, streaming, http).run(user_msg=QUESTION)
            if how == "streamed":
                async for _ in handler.stream_events():
                    pass
            return str(await handler)

    return asyncio.run(main())


@pytest.fixture(autouse=True)
def _uninstrumented() -> Iterator[None]:
    yield
    tracker.uninstrument()


@pytest.fixture(params=["client-first", "framework-first", "framework-only"])
def mode(request: pytest.FixtureRequest, ledger_otel: Otel) -> str:
    names = {"client-first": ["openai", INTEGRATION], "framework-first": [INTEGRATION, "openai"],
             "framework-only": [INTEGRATION]}[request.param]
    for name in names:
        tracker.instrument(name)
    return str(request.param)


def assert_priced_once(otel: Otel, server: DemoServer, before: int, agents: set[str]) -> None:
    served = server.served[before:]
    assert len(served) == 3
    calls = otel.call_spans()
    assert len(calls) == len(served) == len(otel.ledger_lines())
    assert sorted(dict(c.attributes or {})["gen_ai.usage.input_tokens"] for c in calls) == \
        sorted(sent.input_tokens for sent in served)
    assert sorted(dict(c.attributes or {})["gen_ai.usage.output_tokens"] for c in calls) == \
        sorted(sent.output_tokens for sent in served)
    for record in [dict(c.attributes or {}) for c in calls] + otel.ledger_lines():
        assert record["energy.kwh"] > 0
        assert record["energy.framework"] == INTEGRATION
        assert record["gen_ai.agent.name"] in agents
        assert not record.get("energy.tokens_estimated")


@pytest.mark.parametrize("how", ["plain", "streamed"])
@pytest.mark.parametrize("streaming", [False, True], ids=["chat", "stream-chat"])
def test_sub_agent_in_a_tool_is_priced_once_per_call_with_the_agent(
        mode: str, ledger_otel: Otel, demo_server: DemoServer, how: str,
        streaming: bool) -> None:
    before = len(demo_server.served)
    assert run(make_triage, demo_server, streaming, how) == DEMO_REPLY
    assert_priced_once(ledger_otel, demo_server, before, {"Triage", "Forecaster"})

    calls = ledger_otel.call_spans()
    everything = ledger_otel.spans()
    triage = ledger_otel.span("invoke_agent Triage")
    forecaster = ledger_otel.span("invoke_agent Forecaster")
    tool = ledger_otel.span("execute_tool ask_forecaster")
    tool_attrs = dict(tool.attributes or {})
    assert tool_attrs["gen_ai.tool.name"] == "ask_forecaster"
    assert tool_attrs["gen_ai.tool.call.id"] == "call_demo_1"
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


@pytest.mark.parametrize("streaming", [False, True], ids=["chat", "stream-chat"])
def test_hand_off_in_an_agent_workflow(mode: str, ledger_otel: Otel, demo_server: DemoServer,
                                       streaming: bool) -> None:
    before = len(demo_server.served)
    assert run(make_workflow, demo_server, streaming, "streamed") == DEMO_REPLY
    assert_priced_once(ledger_otel, demo_server, before, {"Triage", "Oslo"})
    calls = ledger_otel.call_spans()
    triage = ledger_otel.span("invoke_agent Triage")
    oslo = ledger_otel.span("invoke_agent Oslo")
    assert_sums(triage, children(triage, calls))
    assert_sums(oslo, children(oslo, calls))
    assert len(children(triage, calls)) == 2 and len(children(oslo, calls)) == 1
    names = {s.name for s in ledger_otel.spans()}
    assert {"execute_tool get_weather", "execute_tool handoff"} <= names
    for name in ("execute_tool get_weather", "execute_tool handoff"):
        span = ledger_otel.span(name)
        assert span.parent is not None and span.parent.span_id == triage.context.span_id
        assert dict(span.attributes or {})["gen_ai.agent.name"] == "Triage"
        assert_sums(span, [])


@pytest.mark.parametrize("how", ["sync", "async", "stream", "astream"])
def test_a_model_call_outside_agents(mode: str, ledger_otel: Otel, demo_server: DemoServer,
                                     how: str) -> None:
    llm = make_llm(demo_server)
    messages = [ChatMessage(role="user", content=QUESTION)]

    async def main() -> str:
        async with httpx.AsyncClient() as http:
            llm = make_llm(demo_server, http)
            if how == "async":
                return str((await llm.achat(messages)).message.content)
            text = ""
            async for chunk in await llm.astream_chat(messages):
                text += chunk.delta or ""
            return text

    if how == "sync":
        text = str(llm.chat(messages).message.content)
    elif how == "stream":
        text = "".join(chunk.delta or "" for chunk in llm.stream_chat(messages))
    else:
        text = asyncio.run(main())
    assert text == DEMO_REPLY
    (call,) = ledger_otel.call_spans()
    attrs = dict(call.attributes or {})
    assert attrs["energy.framework"] == INTEGRATION
    assert "gen_ai.agent.name" not in attrs
    assert attrs["gen_ai.usage.input_tokens"] == demo_server.served[-1].input_tokens
    assert len(ledger_otel.ledger_lines()) == 1


def test_results_unchanged_and_uninstrument_leaves_nothing(
        configure_tracker: Callable[..., Otel], demo_server: DemoServer) -> None:
    otel = configure_tracker()
    root = get_dispatcher()
    handlers = (list(root.span_handlers), list(root.event_handlers))
    plain = run(make_triage, demo_server, True, "plain")
    assert otel.spans() == []
    tracker.instrument("openai", INTEGRATION)
    assert run(make_triage, demo_server, True, "plain") == plain
    assert otel.spans()
    tracker.uninstrument()
    assert (list(root.span_handlers), list(root.event_handlers)) == handlers
    n = len(otel.spans())
    assert run(make_triage, demo_server, False, "streamed") == plain
    assert len(otel.spans()) == n


def test_prompt_and_key_never_reach_telemetry(ledger_otel: Otel, demo_server: DemoServer) -> None:
    tracker.instrument(INTEGRATION)
    run(make_triage, demo_server, True, "plain")
    text = ledger_otel.everything(ledger_otel.ledger)  # type: ignore[attr-defined]
    for secret in (KEY, QUESTION, DEMO_REPLY, "Ask the forecaster", "Weather in Oslo"):
        assert secret not in text

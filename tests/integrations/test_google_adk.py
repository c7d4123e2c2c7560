"""Google ADK integration: real agents, a tool call and a sub-agent run as a tool, over HTTP.

The triage agent (a ``LiteLlm`` model on LiteLLM's ``openai/`` route to the local server) calls
its ``get_weather`` tool, then the forecaster through an ``AgentTool`` (one model request), then
answers: four model requests. With the openai (and litellm) integration on as well, in either
order, each request is one CLIENT span recorded by the openai integration; without them, ADK's
own record of the response (``usage_metadata``) is priced. Either way each call carries its
agent's name, and each ``invoke_agent`` / ``execute_tool`` span sums exactly the calls made
inside it. These tests run in their own CI step (tests/run_frameworks.sh).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # nothing fetched at import
os.environ.setdefault("LITELLM_TELEMETRY", "False")
pytest.importorskip("google.adk")
from google.adk.agents import LlmAgent
from google.adk.agents.run_config import RunConfig, StreamingMode
from google.adk.apps import App
from google.adk.models.lite_llm import LiteLlm
from google.adk.runners import InMemoryRunner, Runner
from google.adk.tools.agent_tool import AgentTool
from google.genai import types

import tracker
from integrations import google_adk as integration
from tests.conftest import Otel
from tests.integrations._agent_checks import assert_sums, below, children
from tracker.demo._server import DEMO_REPLY, DemoServer

INTEGRATION = "google_adk"
KEY = "sk-adk-secret-key-0123456789"
QUESTION = "What is the weather like in Oslo today?"
# ADK's own: its AgentTool builds a runner with the deprecated ``plugins`` argument, and its
# experimental-feature notices; pydantic's notices about LiteLLM's streamed-chunk types.
pytestmark = [pytest.mark.filterwarnings("ignore:The `plugins` argument is deprecated"),
              pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecationWarning"),
              pytest.mark.filterwarnings("ignore::UserWarning:google.adk.*"),
              pytest.mark.filterwarnings("ignore:Item .* is using the `ReadOnly` qualifier")]


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny and cold in {city}."


def make_runner(server: DemoServer) -> InMemoryRunner:
    model = LiteLlm(model="openai/gpt-4o-mini", api_base=server.openai_base_url, api_key=KEY)
    forecaster = LlmAgent(name="Forecaster", model=model, description="Forecasts.",
                          instruction="Answer in one sentence.")
    triage = LlmAgent(name="Triage", model=model, instruction="Ask the forecaster.",
                      tools=[get_weather, AgentTool(agent=forecaster)])
    return InMemoryRunner(agent=triage, app_name="weather")


def final_text(event: Any) -> str | None:
    if event.is_final_response() and event.content and event.content.parts:
        return str(event.content.parts[0].text or "")
    return None


def run(server: DemoServer, how: str) -> str:
    """A fresh runner: ``Runner.run`` ("sync"), or ``run_async`` on a fresh event loop, with
    server-sent events for "streamed"."""
    runner = make_runner(server)
    message = types.Content(role="user", parts=[types.Part(text=QUESTION)])
    answer = ""
    if how == "sync":
        session = asyncio.run(runner.session_service.create_session(app_name="weather",
                                                                    user_id="u"))
        for event in runner.run(user_id="u", session_id=session.id, new_message=message):
            answer = final_text(event) or answer
        asyncio.run(runner.close())
        return answer

    async def main() -> str:
        answer = ""
        session = await runner.session_service.create_session(app_name="weather", user_id="u")
        config = RunConfig(streaming_mode=StreamingMode.SSE if how == "streamed"
                           else StreamingMode.NONE)
        async for event in runner.run_async(user_id="u", session_id=session.id,
                                            new_message=message, run_config=config):
            answer = final_text(event) or answer
        await runner.close()
        return answer

    return asyncio.run(main())


@pytest.fixture(autouse=True)
def _uninstrumented() -> Iterator[None]:
    yield
    tracker.uninstrument()


@pytest.fixture(params=["client-first", "framework-first", "framework-only"])
def mode(request: pytest.FixtureRequest, ledger_otel: Otel) -> str:
    names = {"client-first": ["openai", "litellm", INTEGRATION],
             "framework-first": [INTEGRATION, "litellm", "openai"],
             "framework-only": [INTEGRATION]}[request.param]
    for name in names:
        tracker.instrument(name)
    return str(request.param)


@pytest.mark.parametrize("how", ["sync", "plain", "streamed"])
def test_agent_run_is_priced_once_per_call_with_the_agent(
        mode: str, ledger_otel: Otel, demo_server: DemoServer, how: str) -> None:
    before = len(demo_server.served)
    assert run(demo_server, how) == DEMO_REPLY
    served = demo_server.served[before:]
    assert len(served) == 4  # the tool call, the forecaster's tool call, its answer, the answer

    calls = ledger_otel.call_spans()
    assert len(calls) == len(served) == len(ledger_otel.ledger_lines())
    assert sorted(dict(c.attributes or {})["gen_ai.usage.input_tokens"] for c in calls) == \
        sorted(sent.input_tokens for sent in served)
    assert sorted(dict(c.attributes or {})["gen_ai.usage.output_tokens"] for c in calls) == \
        sorted(sent.output_tokens for sent in served)
    for record in [dict(c.attributes or {}) for c in calls] + ledger_otel.ledger_lines():
        assert record["energy.kwh"] > 0
        assert record["energy.framework"] == INTEGRATION
        assert record["gen_ai.agent.name"] in ("Triage", "Forecaster")
        assert record["gen_ai.conversation.id"]

    everything = ledger_otel.spans()
    triage = ledger_otel.span("invoke_agent Triage")
    forecaster = ledger_otel.span("invoke_agent Forecaster")
    tool = ledger_otel.span("execute_tool Forecaster")
    weather = ledger_otel.span("execute_tool get_weather")
    for span in (tool, weather):
        assert span.parent is not None and span.parent.span_id == triage.context.span_id
        assert dict(span.attributes or {})["gen_ai.tool.call.id"].startswith("call_demo_")
    assert forecaster.parent is not None and forecaster.parent.span_id == tool.context.span_id
    assert_sums(triage, below(triage, calls, everything))
    assert_sums(tool, below(tool, calls, everything))
    assert_sums(weather, [])
    assert_sums(forecaster, children(forecaster, calls))
    assert len(below(triage, calls, everything)) == 4
    (inner,) = children(forecaster, calls)
    assert dict(inner.attributes or {})["gen_ai.agent.name"] == "Forecaster"
    assert {dict(c.attributes or {})["gen_ai.agent.name"] for c in children(triage, calls)} == \
        {"Triage"}


def test_results_unchanged_and_uninstrument_leaves_nothing(
        configure_tracker: Callable[..., Otel], demo_server: DemoServer) -> None:
    otel = configure_tracker()
    original = vars(Runner)["__init__"]
    plain = run(demo_server, "plain")
    assert otel.spans() == []
    tracker.instrument("openai", INTEGRATION)
    assert vars(Runner)["__init__"] is not original
    assert run(demo_server, "plain") == plain
    assert otel.spans()
    tracker.uninstrument()
    assert vars(Runner)["__init__"] is original
    n = len(otel.spans())
    assert run(demo_server, "streamed") == plain
    assert len(otel.spans()) == n


def test_the_plugin_added_by_hand(configure_tracker: Callable[..., Otel],
                                  demo_server: DemoServer) -> None:
    """`EnergyPlugin` on a runner of the application's: the same scopes, without instrument()."""
    otel = configure_tracker()
    tracker.instrument("openai")
    plugin = integration.EnergyPlugin()

    async def main() -> Any:
        model = LiteLlm(model="openai/gpt-4o-mini", api_base=demo_server.openai_base_url,
                        api_key=KEY)
        agent = LlmAgent(name="Solo", model=model, instruction="Answer.")
        runner = InMemoryRunner(app=App(name="solo", root_agent=agent, plugins=[plugin]))
        session = await runner.session_service.create_session(app_name="solo", user_id="u")
        message = types.Content(role="user", parts=[types.Part(text=QUESTION)])
        async for _ in runner.run_async(user_id="u", session_id=session.id,
                                        new_message=message):
            pass
        await runner.close()

    asyncio.run(main())
    (call,) = otel.call_spans()
    solo = otel.span("invoke_agent Solo")
    assert call.parent is not None and call.parent.span_id == solo.context.span_id
    assert dict(call.attributes or {})["gen_ai.agent.name"] == "Solo"
    assert_sums(solo, [call])


def test_prompt_and_key_never_reach_telemetry(ledger_otel: Otel, demo_server: DemoServer) -> None:
    tracker.instrument(INTEGRATION)
    run(demo_server, "plain")
    text = ledger_otel.everything(ledger_otel.ledger)  # type: ignore[attr-defined]
    for secret in (KEY, QUESTION, DEMO_REPLY, "Ask the forecaster", "Sunny and cold"):
        assert secret not in text

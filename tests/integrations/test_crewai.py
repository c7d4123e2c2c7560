"""CrewAI integration: a real crew, a tool call and delegations to a coworker, over HTTP.

The triage agent calls its ``get_weather`` tool, delegates work to its coworker, asks the
coworker a question (the demo server calls each offered tool once, filling every string
argument with "Oslo", so the coworker's role is Oslo), then answers: four model requests by the
triage agent and one by the coworker in each delegation. The openai integration records each
request once (CrewAI's native OpenAI provider calls the openai client); with no client
integration on, the crewai integration records it from CrewAI's own count; each call carries its
agent's role, and each ``invoke_agent`` / ``execute_tool`` span sums exactly the calls made
inside it. These tests run in their own CI step (tests/run_frameworks.sh).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator

import pytest

# No telemetry or trace upload from CrewAI itself (nothing outside the machine is reachable).
os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("CREWAI_TRACING_ENABLED", "false")
pytest.importorskip("crewai")
from crewai import LLM, Agent, Crew, Process, Task
from crewai.hooks import InterceptionPoint, get_hooks
from crewai.tools import tool
from opentelemetry.sdk.trace import ReadableSpan

import tracker
from tests.conftest import Otel
from tests.integrations._agent_checks import assert_sums, below, children
from tracker.demo._server import DEMO_REPLY, DemoServer

INTEGRATION = "crewai"
KEY = "sk-crewai-secret-key-0123456789"
QUESTION = "What is the weather like in Oslo today?"
# CrewAI reads its own deprecated fields (``function_calling_llm``...) while it builds agents.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:crewai.*")
POINTS = (InterceptionPoint.PRE_MODEL_CALL, InterceptionPoint.POST_MODEL_CALL,
          InterceptionPoint.PRE_TOOL_CALL, InterceptionPoint.POST_TOOL_CALL,
          InterceptionPoint.EXECUTION_END)


@tool("get_weather")
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny and cold in {city}."


def make_crew(server: DemoServer, stream: bool, litellm: bool = False) -> Crew:
    llm = LLM(model="openai/gpt-4o-mini", base_url=server.openai_base_url, api_key=KEY,
              stream=stream, is_litellm=litellm)
    oslo = Agent(role="Oslo", goal="Forecast the weather.", backstory="A forecaster.", llm=llm)
    triage = Agent(role="Triage", goal="Answer weather questions.", backstory="Triages.",
                   llm=llm, tools=[get_weather], allow_delegation=True)
    task = Task(description=QUESTION, expected_output="One sentence.", agent=triage)
    return Crew(agents=[triage, oslo], tasks=[task], process=Process.sequential)


def kickoff(server: DemoServer, how: str, stream: bool = False, litellm: bool = False) -> str:
    crew = make_crew(server, stream, litellm)
    if how == "async":
        return str(asyncio.run(crew.kickoff_async()))
    return str(crew.kickoff())


@pytest.fixture(autouse=True)
def _uninstrumented() -> Iterator[None]:
    yield
    tracker.uninstrument()


@pytest.fixture(params=["client-first", "framework-first", "framework-alone", "with-litellm"])
def mode(request: pytest.FixtureRequest, ledger_otel: Otel) -> str:
    """Which integrations are on: with none of the clients, CrewAI's own count prices the calls."""
    names = {"client-first": ["openai", INTEGRATION],
             "framework-first": [INTEGRATION, "openai"],
             "framework-alone": [INTEGRATION],
             "with-litellm": [INTEGRATION, "litellm", "openai"]}[request.param]
    for name in names:
        tracker.instrument(name)
    return str(request.param)


def named(otel: Otel, name: str) -> list[ReadableSpan]:
    return [s for s in otel.spans() if s.name == name]


@pytest.mark.parametrize("how", ["sync", "async"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_crew_run_is_priced_once_per_call_with_the_agent(
        mode: str, ledger_otel: Otel, demo_server: DemoServer, how: str, stream: bool) -> None:
    before = len(demo_server.served)
    assert kickoff(demo_server, how, stream) == DEMO_REPLY
    served = demo_server.served[before:]
    assert len(served) == 6  # tool, delegation (+1 by the coworker), question (+1), answer

    calls = ledger_otel.call_spans()
    assert len(calls) == len(served) == len(ledger_otel.ledger_lines())
    assert sorted(dict(c.attributes or {})["gen_ai.usage.input_tokens"] for c in calls) == \
        sorted(sent.input_tokens for sent in served)
    for record in [dict(c.attributes or {}) for c in calls] + ledger_otel.ledger_lines():
        assert record["energy.kwh"] > 0
        assert record["energy.framework"] == INTEGRATION
        assert record["gen_ai.agent.name"] in ("Triage", "Oslo")

    everything = ledger_otel.spans()
    (triage,) = named(ledger_otel, "invoke_agent Triage")
    coworkers = named(ledger_otel, "invoke_agent Oslo")
    assert len(coworkers) == 2
    assert_sums(triage, below(triage, calls, everything))
    assert len(below(triage, calls, everything)) == 6
    assert len(children(triage, calls)) == 4
    assert {dict(c.attributes or {})["gen_ai.agent.name"] for c in children(triage, calls)} == \
        {"Triage"}
    for name in ("execute_tool get_weather", "execute_tool delegate_work_to_coworker",
                 "execute_tool ask_question_to_coworker"):
        (span,) = named(ledger_otel, name)
        assert span.parent is not None and span.parent.span_id == triage.context.span_id
        assert dict(span.attributes or {})["gen_ai.agent.name"] == "Triage"
        assert_sums(span, below(span, calls, everything))
    for coworker in coworkers:
        assert coworker.parent is not None
        assert by_id(everything, coworker.parent.span_id).name.startswith("execute_tool ")
        (inner,) = children(coworker, calls)
        assert dict(inner.attributes or {})["gen_ai.agent.name"] == "Oslo"
        assert_sums(coworker, [inner])


@pytest.mark.parametrize("names", [[INTEGRATION], [INTEGRATION, "litellm"],
                                   ["openai", "litellm", INTEGRATION]],
                         ids=["alone", "litellm", "litellm-openai"])
def test_litellm_route_is_priced_once(ledger_otel: Otel, demo_server: DemoServer,
                                      names: list[str]) -> None:
    """CrewAI's LiteLLM route: LiteLLM's (or the openai client's) record, else CrewAI's count."""
    tracker.instrument(*names)
    before = len(demo_server.served)
    assert kickoff(demo_server, "sync", litellm=True) == DEMO_REPLY
    served = demo_server.served[before:]
    assert len(served) == 6
    calls = ledger_otel.call_spans()
    assert len(calls) == len(served) == len(ledger_otel.ledger_lines())
    assert sorted(dict(c.attributes or {})["gen_ai.usage.input_tokens"] for c in calls) == \
        sorted(sent.input_tokens for sent in served)
    for attrs in (dict(c.attributes or {}) for c in calls):
        assert attrs["energy.framework"] == INTEGRATION
        assert attrs["gen_ai.agent.name"] in ("Triage", "Oslo")
    everything = ledger_otel.spans()
    (triage,) = named(ledger_otel, "invoke_agent Triage")
    assert_sums(triage, below(triage, calls, everything))


def by_id(spans: list[ReadableSpan], span_id: int) -> ReadableSpan:
    (found,) = [s for s in spans if s.context.span_id == span_id]
    return found


def test_framework_alone_prices_as_the_client_integration(
        configure_tracker: Callable[..., Otel], demo_server: DemoServer) -> None:
    """CrewAI's own count gives the numbers the openai integration gives, never both records."""
    otel = configure_tracker()

    def run(*names: str) -> list[dict[str, object]]:
        before = len(otel.call_spans())
        tracker.instrument(*names)
        assert kickoff(demo_server, "sync") == DEMO_REPLY
        tracker.uninstrument()
        return sorted((dict(c.attributes or {}) for c in otel.call_spans()[before:]),
                      key=lambda a: (str(a["gen_ai.agent.name"]),
                                     int(str(a["gen_ai.usage.input_tokens"]))))

    alone, client = run(INTEGRATION), run("openai", INTEGRATION)
    assert len(alone) == len(client) == 6
    for own, theirs in zip(alone, client, strict=True):
        for key in ("gen_ai.agent.name", "gen_ai.usage.input_tokens",
                    "gen_ai.usage.output_tokens", "gen_ai.provider.name", "energy.framework"):
            assert own.get(key) == theirs.get(key), key
        assert own["energy.kwh"] == pytest.approx(theirs["energy.kwh"])


def test_results_unchanged_and_uninstrument_leaves_nothing(
        configure_tracker: Callable[..., Otel], demo_server: DemoServer) -> None:
    otel = configure_tracker()
    hooks = {point: list(get_hooks(point)) for point in POINTS}
    plain = kickoff(demo_server, "sync")
    assert otel.spans() == []
    tracker.instrument("openai", INTEGRATION)
    assert kickoff(demo_server, "sync") == plain
    assert otel.spans()
    tracker.uninstrument()
    assert {point: list(get_hooks(point)) for point in POINTS} == hooks
    n = len(otel.spans())
    assert kickoff(demo_server, "async", stream=True) == plain
    assert len(otel.spans()) == n


def test_prompt_and_key_never_reach_telemetry(ledger_otel: Otel, demo_server: DemoServer) -> None:
    tracker.instrument("openai", INTEGRATION)
    kickoff(demo_server, "sync")
    text = ledger_otel.everything(ledger_otel.ledger)  # type: ignore[attr-defined]
    for secret in (KEY, QUESTION, DEMO_REPLY, "Sunny and cold", "A forecaster."):
        assert secret not in text

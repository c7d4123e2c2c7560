"""Agent and tool scopes (`tracker.recording._agents`): roll-ups, attribution, any-order closing."""

from __future__ import annotations

import contextvars

import pytest

import tracker
from tests.conftest import Otel
from tracker.recording import _agents
from tracker.recording._energy_scope import current_scope


def test_agent_and_tool_spans_sum_their_calls_without_token_counts(configured: Otel) -> None:
    agent = _agents.open_scope("invoke_agent", "Planner", framework="demo",
                               conversation_id="conv-1")
    tracker.record_usage("gpt-4o-mini", 100, 20)
    tool = _agents.open_scope("execute_tool", "search", framework="demo", tool_call_id="c1",
                              tool_type="function")
    assert current_scope() is tool
    tracker.record_usage("gpt-4o-mini", 50, 10)
    _agents.close_scope(tool)
    assert current_scope() is agent
    _agents.close_scope(agent)
    assert current_scope() is None

    calls = configured.call_spans()
    assert len(calls) == 2
    for call in calls:
        attrs = dict(call.attributes or {})
        assert attrs["gen_ai.agent.name"] == "Planner"
        assert attrs["gen_ai.conversation.id"] == "conv-1"
        assert attrs["energy.framework"] == "demo"
    run = dict(configured.span("invoke_agent Planner").attributes or {})
    step = dict(configured.span("execute_tool search").attributes or {})
    assert run["gen_ai.operation.name"] == "invoke_agent" and run["energy.calls"] == 2
    assert step["gen_ai.tool.name"] == "search" and step["gen_ai.tool.call.id"] == "c1"
    assert step["gen_ai.agent.name"] == "Planner" and step["energy.calls"] == 1
    assert run["energy.kwh"] == pytest.approx(
        sum(dict(c.attributes or {})["energy.kwh"] for c in calls))
    for attrs in (run, step):
        assert not [k for k in attrs if k.startswith("gen_ai.usage.")]


def test_closed_from_another_context_ends_the_span(configured: Otel) -> None:
    scope = _agents.open_scope("invoke_agent", "Elsewhere", framework="demo")
    contextvars.Context().run(_agents.close_scope, scope)  # a hook running in another context
    assert configured.span("invoke_agent Elsewhere").end_time is not None
    assert current_scope() is scope
    _agents.close_scope(scope)  # again, where it is current: restored, no second span
    assert current_scope() is None
    assert len(configured.spans()) == 1


def test_long_names_are_cut_and_disabled_opens_nothing(configure_tracker: object) -> None:
    otel = configure_tracker()  # type: ignore[operator]
    scope = _agents.open_scope("invoke_agent", "x" * 1000, framework="demo")
    assert scope is not None and len(scope.call_attributes["gen_ai.agent.name"]) == 128
    _agents.close_scope(scope)
    configure_tracker(enabled=False)  # type: ignore[operator]
    assert _agents.open_scope("invoke_agent", "Off", framework="demo") is None
    assert [s.name for s in otel.spans()] == [f"invoke_agent {'x' * 128}"]

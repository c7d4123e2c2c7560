"""The demo's agent run: its ``invoke_agent`` span sums its two calls, the tool has its own span."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("openai")

import tracker
from tracker import _attributes as A
from tracker.demo._agent import AGENT, TOOL, run_agent


def test_agent_span_sums_its_calls_and_carries_no_token_counts(
        configure_tracker: Callable[..., Any], demo_server: Any) -> None:
    otel = configure_tracker()
    tracker.instrument("openai")
    try:
        sums = run_agent(demo_server.openai_base_url, "demo-key", "gpt-4o-mini")
    finally:
        tracker.uninstrument("openai")
    assert sums is not None
    calls = [dict(s.attributes or {}) for s in otel.call_spans()]
    assert len(calls) == 2 and all(c[A.GEN_AI_AGENT_NAME] == AGENT for c in calls)
    agent = dict(otel.span(f"invoke_agent {AGENT}").attributes or {})
    tool = otel.span(f"execute_tool {TOOL}")
    assert agent[A.ENERGY_CALLS] == 2 == sums[A.ENERGY_CALLS]
    assert agent[A.ENERGY_KWH] == pytest.approx(sum(c[A.ENERGY_KWH] for c in calls))
    assert not [k for k in agent if k.startswith("gen_ai.usage.")]
    assert tool.parent is not None and tool.attributes[A.GEN_AI_TOOL_NAME] == TOOL
    assert otel.span(f"invoke_agent {AGENT}").context.span_id == tool.parent.span_id

"""A span is priced once however many processors see it, and content attributes never reach
telemetry through `record_usage(**attributes)`."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind

import tracker
from tracker.recording._span_pricing import EnergySpanProcessor

SPAN = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 40,
        "gen_ai.usage.output_tokens": 10}


def _records(otel: Any) -> list[Any]:
    return [r for r in otel.logs() if r.event_name == "energy.request"]


@pytest.mark.parametrize("order", ["by hand first", "configure first"])
def test_processor_by_hand_plus_price_spans_prices_once(configure_tracker: Any, otel: Any,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        order: str) -> None:
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: otel.tracer_provider)
    by_hand = EnergySpanProcessor()
    if order == "by hand first":  # as docs/pricing-spans.md shows
        otel.tracer_provider.add_span_processor(by_hand)
        configure_tracker(price_spans=True)
    else:
        configure_tracker(price_spans=True)
        otel.tracer_provider.add_span_processor(by_hand)
    tracer = otel.tracer_provider.get_tracer("some.vendor")
    for _ in range(3):
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT,
                                          attributes=SPAN):
            pass
    assert otel.tracer_provider.force_flush(10_000)
    processors = [p for p in otel.tracer_provider._active_span_processor._span_processors
                  if isinstance(p, EnergySpanProcessor)]
    for processor in processors:
        assert processor.force_flush(10_000)
    assert len(_records(otel)) == 3
    assert sum(p.priced for p in processors) == 3


def test_system_instructions_never_reach_telemetry(configured: Any) -> None:
    secret = "canary-SYSTEM-INSTRUCTIONS-3f1a you are a helpful assistant"
    tracker.record_usage("gpt-4o-mini", 10, 5, system_instructions=secret,
                         tool_call_arguments='{"q": "canary"}', team="search")
    everything = configured.everything()
    assert "canary-SYSTEM-INSTRUCTIONS" not in everything
    assert '"q": "canary"' not in everything
    span = configured.call_spans()[0]
    assert span.attributes is not None and span.attributes.get("team") == "search"

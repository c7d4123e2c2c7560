"""`read_call`: one reader of every instrumentation's LLM span shape, with duck-typed spans.

The shapes are those the packages write (the real packages drive real clients in
tests/integrations/test_foreign_instrumentations.py); here each rule is checked on its own,
with plain objects carrying ``attributes``, ``kind``, ``instrumentation_scope``, ``name`` and
``context``, as a span read back from an OTLP file is.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry.trace import SpanKind

from tracker.export._genai_spans import read_call


def _span(attrs: dict[str, Any], scope: str = "some.vendor",
          kind: SpanKind = SpanKind.CLIENT) -> Any:
    return SimpleNamespace(attributes=attrs, kind=kind, name="span",
                           instrumentation_scope=SimpleNamespace(name=scope),
                           context=SimpleNamespace(trace_id=1, span_id=2))


def test_openinference_llm_span() -> None:
    call = read_call(_span({
        "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini",
        "llm.provider": "openai", "llm.token_count.prompt": 120,
        "llm.token_count.completion": 30, "llm.token_count.total": 150,
        "llm.token_count.prompt_details.cache_read": 64,
        "llm.token_count.completion_details.reasoning": 4,
    }, "openinference.instrumentation.openai", SpanKind.INTERNAL))
    assert call is not None
    assert (call.operation, call.provider, call.request_model) == ("chat", "openai",
                                                                   "gpt-4o-mini")
    assert (call.input_tokens, call.output_tokens) == (120, 30)
    assert (call.cache_read_input_tokens, call.reasoning_output_tokens) == (64, 4)
    assert call.scope == "openinference.instrumentation.openai"


@pytest.mark.parametrize("kind", ["CHAIN", "AGENT", "TOOL", "RETRIEVER", "RERANKER", "GUARDRAIL"])
def test_openinference_other_kinds_are_never_calls(kind: str) -> None:
    assert read_call(_span({"openinference.span.kind": kind, "llm.model_name": "gpt-4o",
                            "llm.token_count.prompt": 500,
                            "llm.token_count.completion": 100})) is None


def test_openinference_provider_names_map_to_the_conventions() -> None:
    call = read_call(_span({"openinference.span.kind": "LLM", "llm.provider": "azure",
                            "llm.token_count.prompt": 1, "llm.token_count.completion": 1}))
    assert call is not None and call.provider == "azure.ai.openai"


def test_openllmetry_older_llm_usage_span() -> None:
    call = read_call(_span({"llm.request.type": "chat", "gen_ai.system": "openai",
                            "gen_ai.request.model": "gpt-4o-mini",
                            "llm.usage.prompt_tokens": 11, "llm.usage.completion_tokens": 7,
                            "llm.usage.total_tokens": 18}, "opentelemetry.instrumentation.openai"))
    assert call is not None and (call.input_tokens, call.output_tokens) == (11, 7)


@pytest.mark.parametrize("kind", ["workflow", "task", "agent", "tool"])
def test_openllmetry_workflow_spans_are_never_calls(kind: str) -> None:
    assert read_call(_span({"traceloop.span.kind": kind, "gen_ai.system": "openai",
                            "gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 5,
                            "llm.request.type": "chat"})) is None


def test_openlit_shape() -> None:
    call = read_call(_span({"gen_ai.operation.name": "chat", "gen_ai.system": "openai",
                            "gen_ai.request.model": "gpt-4o-mini",
                            "gen_ai.usage.input_tokens": 9, "gen_ai.usage.output_tokens": 3,
                            "gen_ai.usage.total_tokens": 12, "gen_ai.usage.cost": 0.5},
                           "openlit.otel.tracing"))
    assert call is not None and (call.input_tokens, call.output_tokens) == (9, 3)


def test_logfire_internal_span_without_operation_is_a_call() -> None:
    attrs = {"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini",
             "gen_ai.usage.input_tokens": 9, "gen_ai.usage.output_tokens": 3}
    call = read_call(_span(attrs, "logfire.openai", SpanKind.INTERNAL))
    assert call is not None and call.operation == "chat"
    # The same INTERNAL shape from any other scope is a roll-up, not a call.
    assert read_call(_span(attrs, "my.app", SpanKind.INTERNAL)) is None


def test_cache_write_read_under_both_names() -> None:
    base = {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 100,
            "gen_ai.usage.output_tokens": 1}
    for name in ("gen_ai.usage.cache_write.input_tokens",
                 "gen_ai.usage.cache_creation.input_tokens"):
        call = read_call(_span({**base, name: 40}))
        assert call is not None and call.cache_creation_input_tokens == 40


@pytest.mark.parametrize("attrs,scope", [
    ({"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 5, "energy.kwh": 1e-6},
     "some.vendor"),  # priced by the SDK already
    ({"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 5}, "llm-energy-tracker"),
    ({"gen_ai.operation.name": "invoke_agent", "gen_ai.usage.input_tokens": 5}, "some.vendor"),
    ({"gen_ai.operation.name": "execute_tool", "gen_ai.usage.input_tokens": 5}, "some.vendor"),
])
def test_priced_and_rollup_spans_are_never_read(attrs: dict[str, Any], scope: str) -> None:
    assert read_call(_span(attrs, scope)) is None

"""Assertions every provider integration's tests share: one CLIENT span, with the served tokens."""

from __future__ import annotations

from typing import Any


def one_span(otel: Any) -> Any:
    """The one call span recorded (fails naming the spans when there are more or fewer)."""
    spans = otel.call_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def check_served(otel: Any, server: Any, *, provider: str, operation: str,
                 model: str) -> dict[str, Any]:
    """The one call span names the call and carries the tokens the server last served."""
    span = one_span(otel)
    attrs = dict(span.attributes or {})
    served = server.served[-1]
    assert span.name == f"{operation} {model}"
    assert attrs["gen_ai.operation.name"] == operation
    assert attrs["gen_ai.provider.name"] == provider
    assert attrs["gen_ai.request.model"] == model
    assert attrs["gen_ai.usage.input_tokens"] == served.input_tokens
    assert attrs["gen_ai.usage.output_tokens"] == served.output_tokens
    assert attrs["energy.tokens_estimated"] is False
    return attrs

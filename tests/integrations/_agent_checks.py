"""What the agent frameworks' tests share: span trees and the roll-ups of agent and tool spans."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import ReadableSpan


def children(span: ReadableSpan, spans: list[ReadableSpan]) -> list[ReadableSpan]:
    """The spans of `spans` whose parent is `span`."""
    return [s for s in spans if s.parent is not None
            and s.parent.span_id == span.context.span_id]


def below(span: ReadableSpan, spans: list[ReadableSpan], everything: list[ReadableSpan]
          ) -> list[ReadableSpan]:
    """The spans of `spans` anywhere under `span`."""
    by_id = {s.context.span_id: s for s in everything}
    out = []
    for s in spans:
        parent = s.parent
        while parent is not None and parent.span_id != span.context.span_id:
            above = by_id.get(parent.span_id)
            parent = above.parent if above is not None else None
        if parent is not None:
            out.append(s)
    return out


def assert_sums(span: ReadableSpan, calls: list[ReadableSpan]) -> None:
    """`span` (an agent or tool span) carries the energy.* sums of `calls`, no gen_ai.usage.*."""
    attrs = dict(span.attributes or {})
    assert attrs["energy.calls"] == len(calls)
    for key in ("energy.kwh", "energy.gco2e", "energy.usd", "energy.water_l"):
        assert attrs[key] == pytest.approx(sum(dict(c.attributes or {})[key] for c in calls))
    assert not [k for k in attrs if k.startswith("gen_ai.usage.")]

"""EnergyEnrichingSpanExporter: the GenAI spans a team exports carry energy.* attributes.

Real instrumentations (the contrib OpenAI instrumentation, the ``anthropic`` client's own
tracing) make the spans for real client calls to the bundled demo server; the wrapper sits between
a real SDK span processor and an in-memory exporter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import tracker
from tracker.demo._server import DemoServer
from tracker.recording import _enriching_exporter
from tracker.recording._enriching_exporter import EnergyEnrichingSpanExporter

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")

KEY = "sk-canary-KEY-77aa"
MESSAGES = [{"role": "user", "content": "canary-PROMPT-3e1f tell me"}]
ENERGY = ("energy.kwh", "energy.gco2e", "energy.usd", "energy.water_l", "energy.kwh_min",
          "energy.kwh_max")


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer() as s:
        yield s


class Enriched:
    def __init__(self, otel: Any) -> None:
        self.otel = otel
        self.exported = InMemorySpanExporter()
        self.wrapper = EnergyEnrichingSpanExporter(self.exported)
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.wrapper))
        self.clients: list[Any] = []

    def spans(self) -> list[ReadableSpan]:
        return list(self.exported.get_finished_spans())


@pytest.fixture
def enriched(configure_tracker: Callable[..., Any]) -> Iterator[Enriched]:
    e = Enriched(configure_tracker())
    yield e
    for client in e.clients:
        client.close()
    e.provider.shutdown()
    tracker.uninstrument()


def test_contrib_openai_spans_exported_with_energy(enriched: Enriched,
                                                   server: DemoServer) -> None:
    module = pytest.importorskip("opentelemetry.instrumentation.genai.openai")
    contrib = module.OpenAIInstrumentor()
    contrib.instrument(tracer_provider=enriched.provider)
    try:
        client = openai.OpenAI(api_key=KEY, base_url=server.openai_base_url, max_retries=0)
        enriched.clients.append(client)
        before = len(server.served)
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                                stream=True,
                                                stream_options={"include_usage": True}):
            pass
        served = server.served[before:]
    finally:
        contrib.uninstrument()

    spans = [s for s in enriched.spans() if s.kind == SpanKind.CLIENT]
    assert len(spans) == 2 == len(served)
    for span, call in zip(spans, served, strict=True):
        attrs = span.attributes
        assert attrs is not None
        for key in ENERGY:
            assert attrs[key] > 0, key
        assert attrs["energy.priced_from"] == span.instrumentation_scope.name
        # The instrumentation's own attributes are kept as it set them.
        assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (
            call.input_tokens, call.output_tokens)
        assert attrs["gen_ai.operation.name"] == "chat"
    # Priced like an SDK call of the same usage (the instrumentation reports cached tokens).
    from tracker.recording import _calls
    from tracker.recording._runtime import get_runtime

    cached = (spans[0].attributes or {}).get("gen_ai.usage.cache_read.input_tokens") or 0
    pricer = _calls._priced(get_runtime(), "gpt-4o-mini", "openai").pricer
    expected = pricer.price(served[0].input_tokens, served[0].output_tokens,
                            cached_input_tokens=cached)
    assert expected is not None
    assert spans[0].attributes["energy.kwh"] == pytest.approx(expected.energy_kwh, rel=1e-12)
    # Only attributes: no log record or ledger line comes from the exporter.
    assert [r for r in enriched.otel.logs()
            if "energy.priced_from" in (r.attributes or {})] == []


def test_anthropic_client_spans_exported_with_energy(enriched: Enriched,
                                                     server: DemoServer) -> None:
    client = anthropic.Anthropic(api_key=KEY, base_url=server.anthropic_base_url, max_retries=0,
                                 open_telemetry={"tracer_provider": enriched.provider})
    enriched.clients.append(client)
    client.messages.create(model="claude-3-5-haiku-latest", max_tokens=64, messages=MESSAGES)
    (span,) = enriched.spans()
    assert span.instrumentation_scope.name == "com.anthropic.sdk.python"
    assert span.attributes is not None
    assert span.attributes["energy.kwh"] > 0
    assert span.attributes["gen_ai.provider.name"] == "anthropic"


def test_other_spans_pass_unchanged(enriched: Enriched) -> None:
    tracer = enriched.provider.get_tracer("some.http.client")
    attributes = {"http.request.method": "POST", "server.address": "127.0.0.1"}
    with tracer.start_as_current_span("POST", kind=SpanKind.CLIENT, attributes=attributes):
        pass
    with tracer.start_as_current_span("agent", attributes={
            "gen_ai.operation.name": "invoke_agent", "gen_ai.usage.input_tokens": 10}):
        pass
    http, agent = enriched.spans()
    assert dict(http.attributes or {}) == attributes
    assert "energy.kwh" not in (agent.attributes or {})


def test_sdk_spans_and_covered_spans_are_left_alone(enriched: Enriched,
                                                    server: DemoServer) -> None:
    """The SDK's own openai integration and the contrib one both on: the SDK's span carries the
    energy; the contrib span of the same request is exported as the contrib made it."""
    module = pytest.importorskip("opentelemetry.instrumentation.genai.openai")
    contrib = module.OpenAIInstrumentor()
    tracker.configure(tracer_provider=enriched.provider, instrument=False, ledger=None,
                      strict=True)
    tracker.instrument("openai")
    contrib.instrument(tracer_provider=enriched.provider)
    try:
        client = openai.OpenAI(api_key=KEY, base_url=server.openai_base_url, max_retries=0)
        enriched.clients.append(client)
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        contrib.uninstrument()
        tracker.uninstrument()
    ours = [s for s in enriched.spans() if s.instrumentation_scope.name == "llm-energy-tracker"]
    theirs = [s for s in enriched.spans() if s.instrumentation_scope.name != "llm-energy-tracker"]
    assert len(ours) == len(theirs) == 1
    assert "energy.priced_from" not in (ours[0].attributes or {})
    assert "energy.kwh" not in (theirs[0].attributes or {})
    assert ours[0].parent is not None
    assert ours[0].parent.span_id == theirs[0].context.span_id


class Failing(SpanExporter):
    def __init__(self) -> None:
        self.batches: list[Sequence[ReadableSpan]] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.batches.append(spans)
        return SpanExportResult.SUCCESS


def test_pricing_failure_still_exports_the_batch(configure_tracker: Callable[..., Any],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    configure_tracker()
    failures: list[str] = []
    monkeypatch.setattr(_enriching_exporter, "report", lambda where, exc: failures.append(where))

    def boom(call: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(_enriching_exporter, "price_call", boom)
    inner = Failing()
    provider = TracerProvider()
    processor = BatchSpanProcessor(EnergyEnrichingSpanExporter(inner))
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("some.vendor")
    for _ in range(3):
        with tracer.start_as_current_span("chat", kind=SpanKind.CLIENT, attributes={
                "gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 10,
                "gen_ai.usage.output_tokens": 5}):
            pass
    assert processor.force_flush(10_000)
    provider.shutdown()
    assert sum(len(b) for b in inner.batches) == 3
    assert failures == ["span_pricing.enrich"] * 3
    assert all("energy.kwh" not in (s.attributes or {}) for b in inner.batches for s in b)


def test_shutdown_and_flush_reach_the_wrapped_exporter() -> None:
    inner = InMemorySpanExporter()
    wrapper = EnergyEnrichingSpanExporter(inner)
    assert wrapper.exporter is inner
    assert wrapper.force_flush(1000) is True
    wrapper.shutdown()
    assert wrapper.export([]) == SpanExportResult.FAILURE  # the in-memory exporter is shut down

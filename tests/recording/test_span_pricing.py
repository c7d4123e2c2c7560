"""EnergySpanProcessor: other instrumentations' GenAI spans priced like the SDK's own calls.

Real instrumentations emit the spans: the OpenTelemetry GenAI OpenAI instrumentation
(opentelemetry-instrumentation-genai-openai) and the ``anthropic`` client's own tracing, each for
real client calls over HTTP to the bundled demo server, on a real SDK TracerProvider that also has
the processor. OpenLLMetry's spelling is covered by spans carrying its recorded attributes.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

import tracker
from tracker.demo._server import DemoServer
from tracker.export import _genai_spans as G
from tracker.recording import _span_pricing
from tracker.recording._span_pricing import EnergySpanProcessor, install_on_global_provider

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")

KEY = "sk-canary-KEY-51f0"
PROMPT = "canary-PROMPT-9b2d how much energy"
MESSAGES = [{"role": "user", "content": PROMPT}]


def _contrib() -> Any:
    module = pytest.importorskip("opentelemetry.instrumentation.genai.openai")
    return module.OpenAIInstrumentor()


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer() as s:
        yield s


class Setup:
    """The conftest providers, the tracker configured on them with a ledger, the processor."""

    def __init__(self, otel: Any, ledger: Path, processor: EnergySpanProcessor) -> None:
        self.otel = otel
        self.ledger = ledger
        self.processor = processor
        self.clients: list[Any] = []

    def flush(self) -> None:
        assert self.processor.force_flush(10_000)

    def records(self) -> list[Any]:
        self.flush()
        return [r for r in self.otel.logs() if r.event_name == "energy.request"]

    def lines(self) -> list[dict[str, Any]]:
        self.flush()
        if not self.ledger.exists():
            return []
        return [json.loads(line) for line in self.ledger.read_text().splitlines()]

    def foreign_spans(self) -> list[Any]:
        return [s for s in self.otel.call_spans()
                if s.instrumentation_scope.name != "llm-energy-tracker"]

    def openai(self, server: DemoServer) -> Any:
        client = openai.OpenAI(api_key=KEY, base_url=server.openai_base_url, max_retries=0)
        self.clients.append(client)
        return client

    def anthropic(self, server: DemoServer) -> Any:
        client = anthropic.Anthropic(
            api_key=KEY, base_url=server.anthropic_base_url, max_retries=0,
            open_telemetry={"tracer_provider": self.otel.tracer_provider})
        self.clients.append(client)
        return client


@pytest.fixture
def setup(configure_tracker: Callable[..., Any], tmp_path: Path) -> Iterator[Setup]:
    ledger = tmp_path / "ledger.jsonl"
    otel = configure_tracker(ledger=str(ledger))
    processor = EnergySpanProcessor()
    otel.tracer_provider.add_span_processor(processor)
    s = Setup(otel, ledger, processor)
    yield s
    for client in s.clients:
        client.close()
    tracker.uninstrument()
    # Price what is still queued now, into this test's providers, not into the next test's.
    processor.shutdown()


@pytest.fixture
def contrib(setup: Setup) -> Iterator[Any]:
    instrumentor = _contrib()
    instrumentor.instrument(tracer_provider=setup.otel.tracer_provider,
                            meter_provider=setup.otel.meter_provider,
                            logger_provider=setup.otel.logger_provider)
    yield instrumentor
    instrumentor.uninstrument()


def _tokens(span: Any) -> tuple[int, int]:
    return (span.attributes["gen_ai.usage.input_tokens"],
            span.attributes.get("gen_ai.usage.output_tokens", 0))


def assert_one_record_per_span(setup: Setup, spans: list[Any]) -> None:
    """One log record and one ledger line per span, in its trace context, with its tokens."""
    records, lines = setup.records(), setup.lines()
    assert len(records) == len(spans) == len(lines)
    by_span = {r.span_id: r for r in records}
    lines_by_span = {line["span_id"]: line for line in lines}
    missing = [(s.name, s.instrumentation_scope.name) for s in spans
               if s.context.span_id not in by_span]
    assert not missing, (missing, [(r.attributes.get("energy.priced_from"),
                                    r.attributes.get("gen_ai.operation.name")) for r in records
                                   if r.span_id not in {s.context.span_id for s in spans}])
    for span in spans:
        record = by_span[span.context.span_id]
        assert record.trace_id == span.context.trace_id
        assert (record.attributes["gen_ai.usage.input_tokens"],
                record.attributes["gen_ai.usage.output_tokens"]) == _tokens(span)
        assert record.attributes["energy.priced_from"] == span.instrumentation_scope.name
        assert record.attributes["energy.kwh"] > 0
        line = lines_by_span[format(span.context.span_id, "016x")]
        assert line["trace_id"] == format(span.context.trace_id, "032x")
        assert line["energy.kwh"] == record.attributes["energy.kwh"]
        assert line["energy.priced_from"] == span.instrumentation_scope.name
        assert (line["gen_ai.usage.input_tokens"], line["gen_ai.usage.output_tokens"]) \
            == _tokens(span)
    assert setup.otel.metric_sum("energy.consumption") == pytest.approx(
        sum(line["energy.kwh"] for line in lines), rel=1e-9)
    assert PROMPT not in json.dumps(lines) and KEY not in json.dumps(lines)


# ----------------------------------------------------------------------- real instrumentations
def test_contrib_openai_spans_are_priced_once_each(setup: Setup, contrib: Any,
                                                   server: DemoServer) -> None:
    client = setup.openai(server)
    before = len(server.served)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                            stream_options={"include_usage": True})
    for _ in stream:
        pass
    client.embeddings.create(model="text-embedding-3-small", input=PROMPT)
    served = server.served[before:]

    spans = setup.foreign_spans()
    assert len(spans) == 3 == len(served)
    assert [_tokens(s) for s in spans[:2]] == [(c.input_tokens, c.output_tokens)
                                                for c in served[:2]]
    assert_one_record_per_span(setup, spans)
    assert setup.processor.priced == 3 and setup.processor.dropped == 0
    operations = sorted(r.attributes["gen_ai.operation.name"] for r in setup.records())
    assert operations == ["chat", "chat", "embeddings"]


def test_anthropic_client_own_spans_are_priced(setup: Setup, server: DemoServer) -> None:
    client = setup.anthropic(server)
    before = len(server.served)
    client.messages.create(model="claude-3-5-haiku-latest", max_tokens=64, messages=MESSAGES)
    with client.messages.stream(model="claude-3-5-haiku-latest", max_tokens=64,
                                messages=MESSAGES) as stream:
        for _ in stream.text_stream:
            pass
    served = server.served[before:]

    spans = setup.foreign_spans()
    assert {s.instrumentation_scope.name for s in spans} == {"com.anthropic.sdk.python"}
    assert len(spans) == 2 == len(served)
    # The client reports input including the cached tokens, as the conventions say.
    assert sorted(_tokens(s) for s in spans) == sorted(
        (c.input_tokens, c.output_tokens) for c in served)
    assert_one_record_per_span(setup, spans)
    record = setup.records()[0]
    assert record.attributes["gen_ai.provider.name"] == "anthropic"
    assert record.attributes["gen_ai.usage.cache_read.input_tokens"] == \
        spans[0].attributes["gen_ai.usage.cache_read.input_tokens"]


# ----------------------------------------------------------------------------- never twice
def _calls(client: Any, stream_usage: bool) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    extra: dict[str, Any] = {"stream_options": {"include_usage": True}} if stream_usage else {}
    for _ in client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                            **extra):
        pass


@pytest.mark.parametrize("order", ["contrib_first", "sdk_first"])
@pytest.mark.parametrize("stream_usage", [True, False])
def test_sdk_integration_and_contrib_one_record_per_request(
        setup: Setup, server: DemoServer, order: str, stream_usage: bool) -> None:
    contrib = _contrib()
    providers = {"tracer_provider": setup.otel.tracer_provider,
                 "meter_provider": setup.otel.meter_provider,
                 "logger_provider": setup.otel.logger_provider}
    # wrapt patches stack: each is undone in the reverse order (the outer one first).
    if order == "contrib_first":
        contrib.instrument(**providers)
        tracker.instrument("openai")
        undo = (tracker.uninstrument, contrib.uninstrument)
    else:
        tracker.instrument("openai")
        contrib.instrument(**providers)
        undo = (contrib.uninstrument, tracker.uninstrument)
    try:
        before = len(server.served)
        _calls(setup.openai(server), stream_usage)
        served = server.served[before:]
    finally:
        for step in undo:
            step()

    records = setup.records()
    assert len(records) == len(served) == 2 == len(setup.lines())
    # The SDK's own record wins: its spans carry energy.*, the contrib spans are not priced.
    assert all("energy.priced_from" not in r.attributes for r in records)
    assert setup.processor.priced == 0
    ours = [s for s in setup.otel.call_spans() if s.instrumentation_scope.name
            == "llm-energy-tracker"]
    theirs = setup.foreign_spans()
    assert len(ours) == len(theirs) == 2
    # Whatever the order of the patches, each SDK span is a child of the contrib span of its call.
    for mine, other in zip(sorted(ours, key=lambda s: s.start_time),
                           sorted(theirs, key=lambda s: s.start_time), strict=True):
        assert mine.context.trace_id == other.context.trace_id
        assert mine.parent is not None and mine.parent.span_id == other.context.span_id
    # The stream the contrib wrapped is still read as a stream: never 0 tokens.
    streamed = max(ours, key=lambda s: s.start_time)
    assert streamed.attributes["gen_ai.usage.output_tokens"] > 0
    if stream_usage:
        assert _tokens(streamed) == (served[1].input_tokens, served[1].output_tokens)
        assert streamed.attributes["energy.tokens_estimated"] is False


def test_async_stacked_contrib_first_one_record_per_request(setup: Setup,
                                                           server: DemoServer) -> None:
    contrib = _contrib()
    contrib.instrument(tracer_provider=setup.otel.tracer_provider,
                       meter_provider=setup.otel.meter_provider,
                       logger_provider=setup.otel.logger_provider)
    tracker.instrument("openai")

    async def go() -> None:
        async with openai.AsyncOpenAI(api_key=KEY, base_url=server.openai_base_url,
                                      max_retries=0) as client:
            await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True,
                stream_options={"include_usage": True})
            async for _ in stream:
                pass

    try:
        before = len(server.served)
        asyncio.run(go())
        served = server.served[before:]
    finally:
        tracker.uninstrument()
        contrib.uninstrument()
    records = setup.records()
    assert len(records) == len(served) == 2
    assert setup.processor.priced == 0
    ours = sorted((s for s in setup.otel.call_spans()
                   if s.instrumentation_scope.name == "llm-energy-tracker"),
                  key=lambda s: s.start_time)
    theirs = {s.context.span_id for s in setup.foreign_spans()}
    assert [_tokens(s) for s in ours] == [(c.input_tokens, c.output_tokens) for c in served]
    assert all(s.parent is not None and s.parent.span_id in theirs for s in ours)


def test_sdk_anthropic_integration_and_client_tracing_one_record(setup: Setup,
                                                                 server: DemoServer) -> None:
    """The anthropic client's own span starts inside the SDK's patched call: covered, parent."""
    tracker.instrument("anthropic")
    client = setup.anthropic(server)
    before = len(server.served)
    client.messages.create(model="claude-3-5-haiku-latest", max_tokens=64, messages=MESSAGES)
    (served,) = server.served[before:]
    (record,) = setup.records()
    assert "energy.priced_from" not in record.attributes
    assert setup.processor.priced == 0
    (theirs,) = setup.foreign_spans()
    (ours,) = [s for s in setup.otel.call_spans() if s.instrumentation_scope.name
               == "llm-energy-tracker"]
    assert ours.parent is not None and ours.parent.span_id == theirs.context.span_id
    assert _tokens(ours) == _tokens(theirs) == (served.input_tokens, served.output_tokens)


def test_sdk_own_spans_are_skipped(setup: Setup, server: DemoServer) -> None:
    tracker.instrument("openai")
    setup.openai(server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    records = setup.records()
    assert len(records) == 1 and "energy.priced_from" not in records[0].attributes
    assert setup.processor.priced == 0


# ----------------------------------------------------------------------------- recorded attributes
def _span(setup: Setup, scope: str, attributes: dict[str, Any],
          kind: SpanKind = SpanKind.CLIENT, name: str = "openai.chat") -> Any:
    tracer = setup.otel.tracer_provider.get_tracer(scope)
    with tracer.start_as_current_span(name, kind=kind, attributes=attributes) as span:
        pass
    return span


# What OpenLLMetry's openai instrumentation (traceloop) records on a chat span.
OPENLLMETRY = {
    "llm.request.type": "chat",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "llm.usage.total_tokens": 160,
    "gen_ai.usage.prompt_tokens": 120,
    "gen_ai.usage.completion_tokens": 40,
    "gen_ai.usage.cache_read_input_tokens": 64,
    "llm.is_streaming": False,
    "gen_ai.prompt.0.role": "user",
    "gen_ai.prompt.0.content": PROMPT,
}


def test_openllmetry_spelling(setup: Setup) -> None:
    span = _span(setup, "opentelemetry.instrumentation.openai.v1", OPENLLMETRY)
    (record,) = setup.records()
    attrs = record.attributes
    assert record.span_id == span.get_span_context().span_id
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (120, 40)
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 64
    assert attrs["energy.priced_from"] == "opentelemetry.instrumentation.openai.v1"
    assert PROMPT not in json.dumps(setup.lines())
    # Priced as the SDK prices a call of its own; the cached tokens reach the pricer.
    uncached = {k: v for k, v in OPENLLMETRY.items() if "cache" not in k}
    _span(setup, "opentelemetry.instrumentation.openai.v1", uncached)
    plain = next(r for r in setup.records() if r.span_id != record.span_id)
    expected = tracker.record_usage("gpt-4o-mini", 120, 40, provider="openai")
    assert expected is not None
    assert plain.attributes["energy.kwh"] == pytest.approx(expected.energy_kwh, rel=1e-12)
    if "cached_input_tokens" in inspect.signature(tracker.CallPricer.price).parameters:
        assert attrs["energy.kwh"] < plain.attributes["energy.kwh"]
    else:
        assert attrs["energy.kwh"] == plain.attributes["energy.kwh"]


def test_openllmetry_total_only_gives_output(setup: Setup) -> None:
    attrs = {"llm.request.type": "completion", "gen_ai.system": "openai",
             "gen_ai.request.model": "gpt-4o-mini", "llm.usage.prompt_tokens": 30,
             "llm.usage.total_tokens": 50}
    _span(setup, "opentelemetry.instrumentation.openai.v1", attrs)
    (record,) = setup.records()
    assert record.attributes["gen_ai.operation.name"] == "text_completion"
    assert record.attributes["gen_ai.usage.output_tokens"] == 20


def test_deprecated_semconv_names_and_reasoning(setup: Setup) -> None:
    _span(setup, "some.vendor", {"gen_ai.system": "openai", "gen_ai.operation.name": "chat",
                                 "gen_ai.request.model": "o3-mini",
                                 "gen_ai.usage.prompt_tokens": 200,
                                 "gen_ai.usage.completion_tokens": 90,
                                 "gen_ai.usage.reasoning.output_tokens": 70})
    (record,) = setup.records()
    attrs = record.attributes
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (200, 90)
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 70
    assert attrs["energy.tokens_estimated"] is False


def test_only_one_count_is_flagged_estimated(setup: Setup) -> None:
    base = {"gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": 12}
    _span(setup, "some.vendor", {**base, "gen_ai.operation.name": "chat"})
    _span(setup, "some.vendor", {**base, "gen_ai.operation.name": "embeddings"})
    chat, embeddings = sorted(setup.records(),
                              key=lambda r: r.attributes["gen_ai.operation.name"])
    assert chat.attributes["gen_ai.usage.output_tokens"] == 0
    assert chat.attributes["energy.tokens_estimated"] is True
    # An embedding has no output: a missing output count is not an estimate there.
    assert embeddings.attributes["gen_ai.usage.output_tokens"] == 0
    assert embeddings.attributes["energy.tokens_estimated"] is False


@pytest.mark.parametrize("attributes", [
    {"http.request.method": "POST", "url.full": "http://127.0.0.1/v1/chat"},
    {"gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "openai",
     "gen_ai.usage.input_tokens": 500, "gen_ai.usage.output_tokens": 100},
    {"gen_ai.operation.name": "execute_tool", "gen_ai.usage.input_tokens": 5},
    {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai"},  # no usage at all
    {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": "12"},  # not a count
    {"llm.request.type": "rerank", "llm.usage.prompt_tokens": 10},
])
def test_not_a_call_passes_unpriced(setup: Setup, attributes: dict[str, Any]) -> None:
    span = _span(setup, "some.vendor", attributes)
    assert setup.records() == [] and setup.lines() == []
    assert dict(span.attributes) == attributes
    assert setup.processor.priced == 0


def test_internal_span_without_operation_is_not_a_call(setup: Setup) -> None:
    _span(setup, "some.vendor", {"gen_ai.system": "openai", "gen_ai.usage.input_tokens": 9},
          kind=SpanKind.INTERNAL)
    assert setup.records() == []
    _span(setup, "some.vendor", {"gen_ai.system": "openai", "gen_ai.usage.input_tokens": 9})
    assert len(setup.records()) == 1  # a CLIENT span naming a provider is a chat call


def test_configured_budget_counts_priced_spans(setup: Setup) -> None:
    from tracker.reduce._budgets import Budget, set_budgets

    seen: list[Any] = []
    _span(setup, "some.vendor", OPENLLMETRY)
    (first,) = setup.records()
    set_budgets([Budget(first.attributes["energy.gco2e"] * 1.5, "gCO2e", "day",
                        on_exceed=seen.append)])
    try:
        _span(setup, "some.vendor", OPENLLMETRY)
        assert seen == []
        span = _span(setup, "some.vendor", OPENLLMETRY)
        setup.flush()
        assert len(seen) == 1
        (event,) = [r for r in setup.otel.logs() if r.event_name == "energy.budget.exceeded"]
        assert event.trace_id == span.get_span_context().trace_id
    finally:
        set_budgets(None)


def test_disabled_sdk_prices_nothing(configure_tracker: Callable[..., Any]) -> None:
    otel = configure_tracker(enabled=False)
    processor = EnergySpanProcessor()
    otel.tracer_provider.add_span_processor(processor)
    tracer = otel.tracer_provider.get_tracer("some.vendor")
    with tracer.start_as_current_span("chat", kind=SpanKind.CLIENT, attributes=OPENLLMETRY):
        pass
    assert processor.force_flush(5000)
    assert processor.priced == 0 and otel.logs() == []


# ----------------------------------------------------------------------------- the worker
def test_full_queue_drops_and_counts(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    real = _span_pricing.price_call

    def slow(call: G.SpanCall) -> Any:
        gate.wait(10)
        return real(call)

    monkeypatch.setattr(_span_pricing, "price_call", slow)
    processor = EnergySpanProcessor(max_queue_size=2)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("some.vendor")
    for _ in range(8):
        with tracer.start_as_current_span("chat", kind=SpanKind.CLIENT, attributes=OPENLLMETRY):
            pass
    # One span is with the worker, two wait in the queue: the other five were dropped.
    assert processor.dropped >= 5
    gate.set()
    assert processor.force_flush(10_000)
    assert processor.priced == 8 - processor.dropped
    provider.shutdown()


def test_pricing_failure_is_reported_and_the_worker_goes_on(
        setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker import _internal_errors

    failures: list[str] = []
    monkeypatch.setattr(_internal_errors, "report",
                        lambda where, exc: failures.append(where))
    monkeypatch.setattr(_span_pricing, "report", lambda where, exc: failures.append(where))
    real = _span_pricing.price_call
    calls = iter([RuntimeError("boom")])

    def flaky(call: G.SpanCall) -> Any:
        error = next(calls, None)
        if error is not None:
            raise error
        return real(call)

    monkeypatch.setattr(_span_pricing, "price_call", flaky)
    _span(setup, "some.vendor", OPENLLMETRY)
    _span(setup, "some.vendor", OPENLLMETRY)
    assert len(setup.records()) == 1
    assert failures == ["span_pricing.worker"]


def test_shutdown_prices_what_is_queued_then_stops(configure_tracker: Callable[..., Any]) -> None:
    otel = configure_tracker()
    processor = EnergySpanProcessor()
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("some.vendor")
    for _ in range(3):
        with tracer.start_as_current_span("chat", kind=SpanKind.CLIENT, attributes=OPENLLMETRY):
            pass
    provider.shutdown()
    assert processor.priced == 3
    assert len([r for r in otel.logs() if r.event_name == "energy.request"]) == 3
    assert processor._thread is not None and not processor._thread.is_alive()


def test_install_on_global_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry import trace

    provider = TracerProvider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    first = install_on_global_provider()
    assert isinstance(first, EnergySpanProcessor)
    assert install_on_global_provider() is first
    assert first in provider._active_span_processor._span_processors
    provider.shutdown()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: trace.ProxyTracerProvider())
    assert install_on_global_provider() is None

"""Counting: one call is one record, with its real tokens: never twice, never zero, never negative.

Real openai and anthropic clients talk HTTP to the bundled demo server; the SDK runs on real
OpenTelemetry SDK providers with in-memory exporters (the `configure_tracker` fixture).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import openai
import pytest
from opentelemetry.trace import SpanKind

import tracker
from tests.conftest import Otel
from tracker.demo._server import DemoServer

MESSAGES = [{"role": "user", "content": "how many tokens is this prompt, roughly?"}]


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer() as s:
        yield s


@pytest.fixture
def inst(configure_tracker: Callable[..., Otel]) -> Iterator[Otel]:
    helper = configure_tracker()
    tracker.instrument("openai", "anthropic")
    yield helper
    tracker.uninstrument()


@pytest.fixture
def oai(server: DemoServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key="sk-test", base_url=server.openai_base_url, max_retries=0) as c:
        yield c


@pytest.fixture
def claude(server: DemoServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key="sk-ant-test", base_url=server.anthropic_base_url,
                             max_retries=0) as c:
        yield c


def _calls(inst: Otel) -> list[Any]:
    return [s for s in inst.spans() if s.kind == SpanKind.CLIENT]


def _tokens(span: Any) -> tuple[int, int, bool]:
    a = span.attributes
    return (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"],
            a["energy.tokens_estimated"])


def _served(server: DemoServer) -> tuple[int, int]:
    last = server.served[-1]
    return last.input_tokens, last.output_tokens


# ----------------------------------------------------------------------------- never twice


@pytest.mark.parametrize("shape", ["model_dump", "usage_dict", "response"])
def test_returned_response_of_a_recorded_call_is_not_counted_again(
        inst: Otel, oai: openai.OpenAI, shape: str) -> None:
    @tracker.track_energy
    def ask() -> Any:
        response = oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        if shape == "model_dump":
            return response.model_dump()
        if shape == "usage_dict":
            return {"usage": response.usage.model_dump() if response.usage else None}
        return response

    ask()
    assert len(_calls(inst)) == 1
    scope = inst.span("test_returned_response_of_a_recorded_call_is_not_counted_again."
                      "<locals>.ask")
    assert scope.attributes["energy.calls"] == 1


def test_returned_usage_of_an_uninstrumented_call_is_still_counted(inst: Otel) -> None:
    @tracker.track_energy
    def ask() -> dict[str, Any]:
        return {"object": "chat.completion", "model": "gpt-4o-mini",
                "usage": {"prompt_tokens": 12, "completion_tokens": 30}}

    ask()
    (span,) = _calls(inst)
    assert _tokens(span) == (12, 30, False)


# ----------------------------------------------------------------------------- never zero


def test_openai_with_raw_response_records_the_parsed_usage(
        inst: Otel, oai: openai.OpenAI, server: DemoServer) -> None:
    raw = oai.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    completion = raw.parse()
    assert completion.usage is not None
    assert raw.parse() is completion  # asked again: the same object, still one record
    (span,) = _calls(inst)
    assert _tokens(span) == (*_served(server), False)
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] >= 0


def test_openai_with_raw_response_stream_records_the_stream_usage(
        inst: Otel, oai: openai.OpenAI, server: DemoServer) -> None:
    raw = oai.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True,
        stream_options={"include_usage": True})
    chunks = list(raw.parse())
    assert chunks
    (span,) = _calls(inst)
    assert _tokens(span) == (*_served(server), False)


def test_openai_with_streaming_response_records_the_parsed_usage(
        inst: Otel, oai: openai.OpenAI, server: DemoServer) -> None:
    with oai.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=MESSAGES) as response:
        completion = response.parse()
    assert completion.choices
    (span,) = _calls(inst)
    assert _tokens(span) == (*_served(server), False)


def test_streaming_response_never_parsed_is_recorded_once_as_estimated(
        inst: Otel, oai: openai.OpenAI) -> None:
    with oai.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=MESSAGES) as response:
        assert response.read()
    (span,) = _calls(inst)
    n_in, _, estimated = _tokens(span)
    assert estimated and n_in > 0


def test_openai_async_with_raw_and_streaming_response(
        inst: Otel, server: DemoServer) -> None:
    async def run() -> None:
        async with openai.AsyncOpenAI(api_key="sk-test", base_url=server.openai_base_url,
                                      max_retries=0) as client:
            raw = await client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=MESSAGES)
            raw.parse()
            async with client.chat.completions.with_streaming_response.create(
                    model="gpt-4o-mini", messages=MESSAGES) as response:
                await response.parse()

    asyncio.run(run())
    spans = _calls(inst)
    assert len(spans) == 2
    assert all(not _tokens(s)[2] and _tokens(s)[1] > 0 for s in spans)


def test_anthropic_with_raw_response_records_the_parsed_usage(
        inst: Otel, claude: anthropic.Anthropic, server: DemoServer) -> None:
    raw = claude.messages.with_raw_response.create(model="claude-sonnet-4-5", max_tokens=64,
                                                   messages=MESSAGES)
    message = raw.parse()
    assert message.content
    (span,) = _calls(inst)
    n_in, n_out, estimated = _tokens(span)
    assert (n_in, n_out, estimated) == (*_served(server), False)


def test_anthropic_with_streaming_response_records_the_parsed_usage(
        inst: Otel, claude: anthropic.Anthropic, server: DemoServer) -> None:
    with claude.messages.with_streaming_response.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES) as response:
        response.parse()
    (span,) = _calls(inst)
    assert _tokens(span) == (*_served(server), False)


@pytest.mark.parametrize("api", ["chat", "anthropic"])
def test_a_response_without_usage_is_estimated_not_zero(
        inst: Otel, oai: openai.OpenAI, claude: anthropic.Anthropic, api: str) -> None:
    if api == "chat":
        oai.chat.completions.create(model="fault-nousage", messages=MESSAGES)
    else:
        claude.messages.create(model="fault-nousage", max_tokens=64, messages=MESSAGES)
    (span,) = _calls(inst)
    n_in, n_out, estimated = _tokens(span)
    assert estimated and n_in > 0 and n_out > 0
    assert span.attributes["energy.kwh"] > 0


def test_anthropic_beta_messages_are_tracked(
        inst: Otel, claude: anthropic.Anthropic, server: DemoServer) -> None:
    claude.beta.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES)
    with claude.beta.messages.stream(model="claude-sonnet-4-5", max_tokens=64,
                                     messages=MESSAGES) as stream:
        for _ in stream:
            pass
    spans = _calls(inst)
    assert len(spans) == 2
    assert all(not _tokens(s)[2] and _tokens(s)[1] > 0 for s in spans)


# ----------------------------------------------------------------------------- never negative


@pytest.mark.parametrize("n_in, n_out", [(-5, 10), (10, -5), (-1, -1), (10**30, 5), (True, 5)])
def test_implausible_token_counts_are_never_priced(configured: Otel, n_in: Any, n_out: Any
                                                   ) -> None:
    est = tracker.record_usage("gpt-4o-mini", n_in, n_out, provider="openai")
    assert est is not None and est.energy_kwh >= 0 and est.input_tokens >= 0
    (span,) = _calls(configured)
    assert span.attributes["energy.tokens_estimated"] is True
    assert span.attributes["energy.kwh"] >= 0
    assert configured.metric_sum("energy.consumption") >= 0


# ----------------------------------------------------------------------------- streams


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_break_out_of_a_stream_helper_records_at_the_with_exit(
        inst: Otel, oai: openai.OpenAI, api: str) -> None:
    gc.disable()
    try:
        if api == "chat":
            with oai.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES) as stream:
                for _ in stream:
                    break
        else:
            with oai.responses.stream(model="gpt-4o-mini", input="hello there") as stream:
                for _ in stream:
                    break
        assert len(_calls(inst)) == 1  # recorded at the exit, not by the garbage collector
    finally:
        gc.enable()


def test_a_tracked_function_returning_a_stream_counts_its_call(
        inst: Otel, oai: openai.OpenAI) -> None:
    @tracker.track_energy(name="streamer")
    def stream_answer() -> Any:
        return oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)

    chunks = list(stream_answer())
    assert chunks
    scope = inst.span("streamer")
    (call,) = _calls(inst)
    assert scope.attributes["energy.calls"] == 1
    assert scope.attributes["energy.kwh"] == pytest.approx(call.attributes["energy.kwh"])
    assert call.parent is not None and call.parent.span_id == scope.context.span_id


def test_uninstrument_stops_a_cached_patched_method(inst: Otel, oai: openai.OpenAI) -> None:
    create = oai.chat.completions.with_raw_response.create  # a framework caches this
    tracker.uninstrument("openai")
    create(model="gpt-4o-mini", messages=MESSAGES).parse()
    assert _calls(inst) == []


# ----------------------------------------------------------------------------- registry


def test_a_model_registered_after_its_first_call_is_used_on_the_next(configured: Otel) -> None:
    first = tracker.record_usage(model="our-ft", input_tokens=10, output_tokens=10,
                                 provider="vllm")
    tracker.register(tracker.ModelSpec(name="our-ft", total_params_b=8, source="ours",
                                       year=2026))
    second = tracker.record_usage(model="our-ft", input_tokens=10, output_tokens=10,
                                  provider="vllm")
    assert first is not None and second is not None
    spans = _calls(configured)
    assert spans[0].attributes["energy.model_known"] is False
    assert spans[1].attributes["energy.model_known"] is True
    assert spans[1].attributes["energy.model"] == "our-ft"
    assert second.energy_kwh < first.energy_kwh  # 8B, not the 70B fallback

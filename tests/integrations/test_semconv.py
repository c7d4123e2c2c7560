"""Today's GenAI conventions on the SDK's own spans and metrics, with the real clients.

Request parameters, ``server.address`` / ``server.port``, ``gen_ai.request.stream``, time to
first chunk (span and histogram) and time per output chunk, ``gen_ai.response.model`` on metric
points, the ``exception`` event of a failed call, ``cache_write`` beside the earlier
``cache_creation`` name, per-modality counts where the provider reports them, and usage summed
over a trace with a tracked scope.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anthropic
import openai
import pytest
from opentelemetry.trace import SpanKind

import tracker
from tests.integrations.test_openai import KEY, MESSAGES, MODEL, Telemetry, instrumented, serve
from tracker import _attributes as A
from tracker.demo._server import DemoServer

server = pytest.fixture(scope="module", name="server")(serve)


@pytest.fixture
def otel(tmp_path: Path) -> Iterator[Telemetry]:
    yield from instrumented(tmp_path, "openai", "anthropic")


def _points(otel: Telemetry, name: str) -> list[Any]:
    data = otel.reader.get_metrics_data()
    return [p for rm in (data.resource_metrics if data else ()) for sm in rm.scope_metrics
            for m in sm.metrics if m.name == name for p in m.data.data_points]


def _address(server: DemoServer) -> tuple[str, int]:
    parts = urlsplit(server.openai_base_url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def test_request_parameters_server_and_metric_points(server: DemoServer, otel: Telemetry) -> None:
    with openai.OpenAI(api_key=KEY, base_url=server.openai_base_url, max_retries=0) as c:
        reply = c.chat.completions.create(
            model=MODEL, messages=MESSAGES, max_tokens=64, temperature=0.25, top_p=0.5,
            frequency_penalty=0.1, presence_penalty=0.2, seed=7, n=1, stop=["canary-STOP"])
    (span,) = otel.client_spans()
    attrs = span.attributes or {}
    host, port = _address(server)
    assert (attrs[A.SERVER_ADDRESS], attrs[A.SERVER_PORT]) == (host, port)
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 64
    assert attrs[A.GEN_AI_REQUEST_TEMPERATURE] == 0.25
    assert attrs[A.GEN_AI_REQUEST_TOP_P] == 0.5
    assert attrs[A.GEN_AI_REQUEST_FREQUENCY_PENALTY] == 0.1
    assert attrs[A.GEN_AI_REQUEST_PRESENCE_PENALTY] == 0.2
    assert attrs[A.GEN_AI_REQUEST_SEED] == 7
    assert attrs[A.GEN_AI_REQUEST_CHOICE_COUNT] == 1
    assert A.GEN_AI_REQUEST_STREAM not in attrs  # not asked for
    assert A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK not in attrs
    assert "canary-STOP" not in otel.everything()  # stop sequences are text: never recorded
    for name in (A.METRIC_OPERATION_DURATION, A.METRIC_TOKEN_USAGE):
        points = _points(otel, name)
        assert points
        for p in points:
            assert p.attributes[A.GEN_AI_RESPONSE_MODEL] == reply.model
            assert (p.attributes[A.SERVER_ADDRESS], p.attributes[A.SERVER_PORT]) == (host, port)
    assert not _points(otel, A.METRIC_TIME_TO_FIRST_CHUNK)


@pytest.mark.parametrize("chunk_metrics", [True, False])
@pytest.mark.parametrize("client", ["openai", "anthropic"])
def test_stream_flag_first_chunk_and_chunk_metrics(server: DemoServer, otel: Telemetry,
                                                   client: str, chunk_metrics: bool) -> None:
    otel.configure(chunk_metrics=chunk_metrics)
    chunks = 0
    if client == "openai":
        with openai.OpenAI(api_key=KEY, base_url=server.openai_base_url, max_retries=0) as c:
            for _ in c.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                               stream_options={"include_usage": True}):
                chunks += 1
    else:
        with anthropic.Anthropic(api_key=KEY, base_url=server.anthropic_base_url,
                                 max_retries=0) as a:
            for _ in a.messages.create(model="claude-3-5-haiku-latest", max_tokens=32,
                                       messages=MESSAGES, stream=True):
                chunks += 1
    assert chunks > 2
    (span,) = otel.client_spans()
    attrs = span.attributes or {}
    assert attrs[A.GEN_AI_REQUEST_STREAM] is True
    ttfc = attrs[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]
    assert span.end_time is not None and span.start_time is not None
    assert 0 < ttfc <= (span.end_time - span.start_time) / 1e9
    (first,) = _points(otel, A.METRIC_TIME_TO_FIRST_CHUNK)
    assert first.count == 1 and first.sum == pytest.approx(ttfc)
    if chunk_metrics:  # one measurement per chunk after the first: off unless asked for
        (per_chunk,) = _points(otel, A.METRIC_TIME_PER_OUTPUT_CHUNK)
        assert per_chunk.count == chunks - 1
    else:
        assert not _points(otel, A.METRIC_TIME_PER_OUTPUT_CHUNK)
    assert first.attributes[A.SERVER_ADDRESS] == _address(server)[0]


def test_failed_call_has_the_exception_event(server: DemoServer, otel: Telemetry) -> None:
    with openai.OpenAI(api_key=KEY, base_url=server.openai_base_url, max_retries=0) as c, \
            pytest.raises(openai.RateLimitError):
        c.chat.completions.create(model="fault-429", messages=MESSAGES, max_tokens=8)
    (span,) = otel.client_spans()
    assert (span.attributes or {})[A.ERROR_TYPE] == "RateLimitError"
    (event,) = [e for e in span.events if e.name == A.EVENT_EXCEPTION]
    assert dict(event.attributes or {}) == {A.EXCEPTION_TYPE: "openai.RateLimitError"}
    assert (span.attributes or {})[A.SERVER_ADDRESS] == _address(server)[0]
    (duration,) = _points(otel, A.METRIC_OPERATION_DURATION)
    assert duration.attributes[A.SERVER_ADDRESS] == _address(server)[0]


@pytest.mark.parametrize("legacy", [True, False])
def test_cache_write_and_the_switchable_earlier_name(server: DemoServer, otel: Telemetry,
                                                     legacy: bool) -> None:
    otel.configure(legacy_cache_creation=legacy)
    tracker.instrument("anthropic")
    with anthropic.Anthropic(api_key=KEY, base_url=server.anthropic_base_url,
                             max_retries=0) as a:
        message = a.messages.create(model="claude-3-5-haiku-latest", max_tokens=32,
                                    messages=MESSAGES)
    (span,) = otel.client_spans()
    attrs = span.attributes or {}
    written = message.usage.cache_creation_input_tokens
    assert written
    assert attrs[A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == written
    assert attrs.get(A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS) == (written if legacy else None)
    assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == message.usage.cache_read_input_tokens


def test_reasoning_tokens_on_the_span(server: DemoServer, otel: Telemetry) -> None:
    with openai.OpenAI(api_key=KEY, base_url=server.openai_base_url, max_retries=0) as c:
        reply = c.chat.completions.create(model=MODEL, messages=MESSAGES)
    (span,) = otel.client_spans()
    assert reply.usage is not None and reply.usage.completion_tokens_details is not None
    assert (span.attributes or {})[A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == \
        reply.usage.completion_tokens_details.reasoning_tokens


def test_trace_usage_sums_to_the_tokens_served(server: DemoServer, otel: Telemetry) -> None:
    """A scope around two real calls: gen_ai.usage.* over every span equals what was served."""
    before = len(server.served)
    with openai.OpenAI(api_key=KEY, base_url=server.openai_base_url, max_retries=0) as c, \
            tracker.track_energy("pipeline"):
        c.chat.completions.create(model=MODEL, messages=MESSAGES)
        c.chat.completions.create(model=MODEL, messages=[*MESSAGES, *MESSAGES])
    served = server.served[before:]
    spans = otel.spans.get_finished_spans()
    assert len(spans) == 3
    for key, want in ((A.GEN_AI_USAGE_INPUT_TOKENS, sum(s.input_tokens for s in served)),
                      (A.GEN_AI_USAGE_OUTPUT_TOKENS, sum(s.output_tokens for s in served))):
        assert sum(int((s.attributes or {}).get(key, 0)) for s in spans) == want
    (scope,) = [s for s in spans if s.kind == SpanKind.INTERNAL]
    assert (scope.attributes or {})[A.ENERGY_INPUT_TOKENS] == sum(s.input_tokens for s in served)
    assert not any(k.startswith("gen_ai.usage.") for k in scope.attributes or {})


def test_per_modality_counts_only_where_the_provider_reports_them(
        server: DemoServer, otel: Telemetry) -> None:
    with openai.OpenAI(api_key=KEY, base_url=server.openai_base_url, max_retries=0) as c:
        audio = c.chat.completions.create(model="gpt-4o-audio-preview", messages=MESSAGES)
        c.chat.completions.create(model=MODEL, messages=MESSAGES)  # reports audio 0 only
    with anthropic.Anthropic(api_key=KEY, base_url=server.anthropic_base_url,
                             max_retries=0) as a:
        a.messages.create(model="claude-3-5-haiku-latest", max_tokens=32, messages=MESSAGES)
    spans = {s.attributes[A.GEN_AI_REQUEST_MODEL]: dict(s.attributes)
             for s in otel.client_spans() if s.attributes}
    details = audio.usage.prompt_tokens_details if audio.usage else None
    assert details is not None and details.audio_tokens and details.text_tokens
    assert audio.usage is not None and audio.usage.completion_tokens_details is not None
    got = spans["gpt-4o-audio-preview"]
    assert got[A.GEN_AI_USAGE_AUDIO_INPUT_TOKENS] == details.audio_tokens
    assert got[A.GEN_AI_USAGE_TEXT_INPUT_TOKENS] == details.text_tokens
    assert got[A.GEN_AI_USAGE_TEXT_OUTPUT_TOKENS] == \
        audio.usage.completion_tokens_details.text_tokens
    assert A.GEN_AI_USAGE_IMAGE_INPUT_TOKENS not in got  # reported 0: not set
    modality = {A.GEN_AI_USAGE_TEXT_INPUT_TOKENS, A.GEN_AI_USAGE_IMAGE_INPUT_TOKENS,
                A.GEN_AI_USAGE_AUDIO_INPUT_TOKENS, A.GEN_AI_USAGE_VIDEO_INPUT_TOKENS,
                A.GEN_AI_USAGE_TEXT_OUTPUT_TOKENS, A.GEN_AI_USAGE_AUDIO_OUTPUT_TOKENS}
    assert not modality & set(spans[MODEL])
    assert not modality & set(spans["claude-3-5-haiku-latest"])  # Anthropic reports none


def test_modality_tokens_keeps_only_the_conventions_names() -> None:
    from tracker.integration import modality_tokens

    assert modality_tokens([("TEXT", 10), ("DOCUMENT", 5), ("audio", 0), ("image", -1),
                            ("video", True), ("IMAGE", 3), ("image", 4)],
                           [("text", 7), ("image", 2)]) == (
        (A.GEN_AI_USAGE_TEXT_INPUT_TOKENS, 10), (A.GEN_AI_USAGE_IMAGE_INPUT_TOKENS, 7),
        (A.GEN_AI_USAGE_TEXT_OUTPUT_TOKENS, 7))
    assert modality_tokens([("text", 0)], [(None, 5)]) is None

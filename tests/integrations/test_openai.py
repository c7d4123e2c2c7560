"""OpenAI integration against the local demo server, with the real client and real OTel SDK."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import tracker
from tracker.demo._server import DEMO_REPLY, DemoServer
from tracker.setup import _configure as config

KEY = "sk-canary-KEY-0d9f2a"
PROMPT = "canary-PROMPT-7c1e please explain"
MESSAGES = [{"role": "user", "content": PROMPT}]
MODEL = "gpt-4o-mini"


class Telemetry:
    def __init__(self, tmp: Path) -> None:
        self.spans = InMemorySpanExporter()
        self.logs = InMemoryLogRecordExporter()
        self.reader = InMemoryMetricReader()
        self.tp = TracerProvider()
        self.tp.add_span_processor(SimpleSpanProcessor(self.spans))
        self.lp = LoggerProvider()
        self.lp.add_log_record_processor(SimpleLogRecordProcessor(self.logs))
        self.mp = MeterProvider(metric_readers=[self.reader])
        self.ledger = tmp / "ledger.jsonl"

    def configure(self, **extra: Any) -> None:
        config.configure(tracer_provider=self.tp, meter_provider=self.mp,
                         logger_provider=self.lp, ledger=str(self.ledger), strict=True,
                         instrument=False, **extra)

    def client_spans(self) -> list[Any]:
        return [s for s in self.spans.get_finished_spans() if s.kind == SpanKind.CLIENT]

    def everything(self) -> str:
        spans = [json.dumps(dict(s.attributes or {}), default=str) + s.name
                 for s in self.spans.get_finished_spans()]
        logs = [json.dumps(dict(r.log_record.attributes or {}), default=str)
                for r in self.logs.get_finished_logs()]
        metrics = self.reader.get_metrics_data()
        ledger = self.ledger.read_text() if self.ledger.exists() else ""
        return "\n".join([*spans, *logs, metrics.to_json() if metrics else "", ledger])

    def close(self) -> None:
        self.tp.shutdown()
        self.lp.shutdown()
        self.mp.shutdown()


def serve() -> Iterator[DemoServer]:
    """The bundled OpenAI/Anthropic-compatible server (module-scoped fixture body)."""
    with DemoServer() as s:
        yield s


def instrumented(tmp_path: Path, *providers: str) -> Iterator[Telemetry]:
    """Real OTel providers, the tracker configured on them, `providers` instrumented."""
    t = Telemetry(tmp_path)
    t.configure()
    for provider in providers:
        tracker.instrument(provider)
    yield t
    tracker.uninstrument()
    config.reset()
    t.close()


server = pytest.fixture(scope="module", name="server")(serve)


@pytest.fixture
def otel(tmp_path: Path) -> Iterator[Telemetry]:
    yield from instrumented(tmp_path, "openai")


_sync_clients: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _close_sync_clients() -> Iterator[None]:
    """Close every client a test made. A client dropped with a keep-alive connection open
    leaves its socket to the garbage collector, whose finalizers may run before the client's
    own `__del__` closes it: a ResourceWarning in whichever test collects next."""
    yield
    while _sync_clients:
        _sync_clients.pop().close()


def sync_client(server: DemoServer) -> openai.OpenAI:
    client = openai.OpenAI(api_key=KEY, base_url=server.openai_base_url, max_retries=0)
    _sync_clients.append(client)
    return client


def async_client(server: DemoServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=KEY, base_url=server.openai_base_url, max_retries=0)


def dump(obj: Any) -> Any:
    return (type(obj).__name__, obj.model_dump(mode="json"))


USAGE = {"include_usage": True}

# name -> (sync call, async call, exact usage expected)
Shape = tuple[Callable[[Any], Any], Callable[[Any], Any], bool]


async def _alist(stream: Any) -> list[Any]:
    return [dump(c) async for c in stream]


async def _a_chat_helper(c: Any) -> Any:
    async with c.chat.completions.stream(model=MODEL, messages=MESSAGES) as s:
        return dump(await s.get_final_completion())


async def _a_resp_helper(c: Any) -> Any:
    async with c.responses.stream(model=MODEL, input=PROMPT) as s:
        return dump(await s.get_final_response())


def _chat_helper(c: Any) -> Any:
    with c.chat.completions.stream(model=MODEL, messages=MESSAGES) as s:
        return dump(s.get_final_completion())


def _resp_helper(c: Any) -> Any:
    with c.responses.stream(model=MODEL, input=PROMPT) as s:
        return dump(s.get_final_response())


SHAPES: dict[str, Shape] = {
    "chat": (lambda c: dump(c.chat.completions.create(model=MODEL, messages=MESSAGES)),
             lambda c: _await_dump(c.chat.completions.create(model=MODEL, messages=MESSAGES)),
             True),
    "chat_stream": (
        lambda c: [dump(x) for x in c.chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True)],
        lambda c: _astream(c.chat.completions.create(model=MODEL, messages=MESSAGES,
                                                     stream=True)),
        False),
    "chat_stream_usage": (
        lambda c: [dump(x) for x in c.chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True, stream_options=USAGE)],
        lambda c: _astream(c.chat.completions.create(model=MODEL, messages=MESSAGES,
                                                     stream=True, stream_options=USAGE)),
        True),
    "chat_stream_helper": (_chat_helper, _a_chat_helper, False),
    "chat_parse": (lambda c: dump(c.chat.completions.parse(model=MODEL, messages=MESSAGES)),
                   lambda c: _await_dump(c.chat.completions.parse(model=MODEL,
                                                                  messages=MESSAGES)),
                   True),
    "responses": (lambda c: dump(c.responses.create(model=MODEL, input=PROMPT)),
                  lambda c: _await_dump(c.responses.create(model=MODEL, input=PROMPT)), True),
    "responses_stream": (
        lambda c: [dump(x) for x in c.responses.create(model=MODEL, input=PROMPT, stream=True)],
        lambda c: _astream(c.responses.create(model=MODEL, input=PROMPT, stream=True)), True),
    "responses_stream_helper": (_resp_helper, _a_resp_helper, True),
    "embeddings": (
        lambda c: dump(c.embeddings.create(model="text-embedding-3-small", input=PROMPT)),
        lambda c: _await_dump(c.embeddings.create(model="text-embedding-3-small",
                                                  input=PROMPT)),
        True),
    "legacy": (
        lambda c: dump(c.completions.create(model="gpt-3.5-turbo-instruct", prompt=PROMPT)),
        lambda c: _await_dump(c.completions.create(model="gpt-3.5-turbo-instruct",
                                                   prompt=PROMPT)),
        True),
    "legacy_stream": (
        lambda c: [dump(x) for x in c.completions.create(
            model="gpt-3.5-turbo-instruct", prompt=PROMPT, stream=True, stream_options=USAGE)],
        lambda c: _astream(c.completions.create(model="gpt-3.5-turbo-instruct", prompt=PROMPT,
                                                stream=True, stream_options=USAGE)),
        True),
}


async def _await_dump(coro: Any) -> Any:
    return dump(await coro)


async def _astream(coro: Any) -> Any:
    return await _alist(await coro)


def run_shape(server: DemoServer, name: str, is_async: bool) -> Any:
    sync_call, async_call, _ = SHAPES[name]
    if is_async:
        async def go() -> Any:
            async with async_client(server) as client:
                return await async_call(client)
        return asyncio.run(go())
    with sync_client(server) as client:
        return sync_call(client)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", list(SHAPES))
def test_every_call_shape_records_one_span_and_is_transparent(
    server: DemoServer, otel: Telemetry, name: str, is_async: bool
) -> None:
    """One CLIENT span with the server's usage; the caller receives exactly what it would
    without instrumentation; no prompt, completion or key in any output."""
    observed = run_shape(server, name, is_async)
    served = server.served[-1]
    spans = otel.client_spans()
    assert len(spans) == 1
    attrs = spans[0].attributes or {}
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["energy.kwh"] > 0 and attrs["energy.gco2e"] > 0
    if SHAPES[name][2]:
        assert attrs["gen_ai.usage.input_tokens"] == served.input_tokens
        assert attrs["gen_ai.usage.output_tokens"] == served.output_tokens
        assert attrs["energy.tokens_estimated"] is False
    else:  # no usage on the wire: counted from the deltas, ~4 characters per token
        assert attrs["energy.tokens_estimated"] is True
        assert attrs["gen_ai.usage.output_tokens"] == -(-len(DEMO_REPLY) // 4)
        assert attrs["gen_ai.usage.input_tokens"] > 0
    text = otel.everything()
    for canary in (KEY, PROMPT, DEMO_REPLY, "canary-"):
        assert canary not in text

    tracker.uninstrument("openai")
    assert run_shape(server, name, is_async) == observed
    assert len(otel.client_spans()) == 1  # nothing emitted after uninstrument()


def test_cached_and_reasoning_tokens_are_not_counted_twice(server: DemoServer,
                                                           otel: Telemetry) -> None:
    """prompt_tokens already include cached tokens, completion_tokens include reasoning."""
    reply = sync_client(server).chat.completions.create(model=MODEL, messages=MESSAGES)
    assert reply.usage is not None and reply.usage.prompt_tokens_details is not None
    assert reply.usage.prompt_tokens_details.cached_tokens
    attrs = otel.client_spans()[0].attributes or {}
    assert attrs["gen_ai.usage.input_tokens"] == reply.usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == reply.usage.completion_tokens


@pytest.mark.parametrize("fault,exc_type", [("429", openai.RateLimitError),
                                            ("500", openai.InternalServerError),
                                            # older clients let httpx's error through
                                            ("truncate", (openai.APIConnectionError,
                                                          httpx.RemoteProtocolError))])
@pytest.mark.parametrize("stream", [False, True])
def test_provider_errors_propagate_unchanged(server: DemoServer, otel: Telemetry, fault: str,
                                            exc_type: Any, stream: bool) -> None:
    """The provider's exception reaches the caller untouched; the span carries error.type."""
    client = sync_client(server)
    with pytest.raises(exc_type) as caught:
        result = client.chat.completions.create(model=f"fault-{fault}", messages=MESSAGES,
                                                stream=stream)
        list(result)
    spans = otel.client_spans()
    assert len(spans) == 1
    assert (spans[0].attributes or {})["error.type"] == type(caught.value).__name__
    tracker.uninstrument()
    with pytest.raises(exc_type):
        list(client.chat.completions.create(model=f"fault-{fault}", messages=MESSAGES,
                                            stream=stream))


def test_malformed_stream_and_timeout(server: DemoServer, otel: Telemetry) -> None:
    """A malformed SSE line raises the client's own JSON error; a timeout raises
    APITimeoutError; each gives one span with error.type."""
    client = sync_client(server)
    with pytest.raises(json.JSONDecodeError):
        list(client.chat.completions.create(model="fault-malformed", messages=MESSAGES,
                                            stream=True))
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.2).chat.completions.create(
            model="fault-slow", messages=MESSAGES, extra_headers={"x-demo-delay": "1"})
    errors = [(s.attributes or {}).get("error.type") for s in otel.client_spans()]
    assert errors == ["JSONDecodeError", "APITimeoutError"]


@pytest.mark.parametrize("how", ["break_gc", "close", "context"])
def test_stream_ends_early_exactly_one_span(server: DemoServer, otel: Telemetry,
                                            how: str) -> None:
    """break + garbage collection, close() and context exit each finish the call once."""
    client = sync_client(server)
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    if how == "context":
        with stream as s:
            next(iter(s))
    else:
        for _chunk in stream:
            break
        if how == "close":
            stream.close()
            stream.close()
    assert len(otel.client_spans()) == (0 if how == "break_gc" else 1)
    del stream
    gc.collect()
    spans = otel.client_spans()
    assert len(spans) == 1
    assert (spans[0].attributes or {})["energy.tokens_estimated"] is True


def test_stream_usage_opt_in_adds_include_usage(server: DemoServer, otel: Telemetry) -> None:
    """configure(stream_usage=True) asks the server for usage; without it the request is as sent."""
    chunks = list(sync_client(server).chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True))
    assert all(c.usage is None for c in chunks)
    otel.configure(stream_usage=True)
    chunks = list(sync_client(server).chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True))
    assert chunks[-1].usage is not None
    attrs = otel.client_spans()[-1].attributes or {}
    assert attrs["energy.tokens_estimated"] is False
    assert attrs["gen_ai.usage.input_tokens"] == server.served[-1].input_tokens


def test_disabled_sdk_calls_straight_through(server: DemoServer, otel: Telemetry) -> None:
    """With enabled=False nothing is emitted and the response is unchanged."""
    otel.configure(enabled=False)
    sync_client(server).chat.completions.create(model=MODEL, messages=MESSAGES)
    assert otel.client_spans() == []


@pytest.mark.parametrize("base_url,expected", [
    ("https://api.openai.com/v1", "openai"),
    ("https://openrouter.ai/api/v1", "openrouter"),
    ("http://localhost:11434/v1", "ollama"),
    ("http://127.0.0.1:1234/v1", "lm_studio"),
    ("https://api.groq.com/openai/v1", "groq"),
    ("https://api.moonshot.ai/v1", "moonshot_ai"),
    ("https://api.moonshot.cn/v1", "moonshot_ai"),
    ("https://router.huggingface.co/v1", "huggingface"),
    ("https://abc123.us-east-1.aws.endpoints.huggingface.cloud/v1", "huggingface"),
    ("http://10.0.0.7:9999/v1", "openai"),
])
def test_provider_name_from_base_url(base_url: str, expected: str) -> None:
    """OpenAI-compatible servers are named from their host, else "openai"."""
    from integrations.openai import provider_name

    assert provider_name(openai.OpenAI(api_key=KEY, base_url=base_url)) == expected


def test_azure_client_is_azure_openai() -> None:
    """AzureOpenAI is reported as azure.ai.openai."""
    from integrations.openai import provider_name

    client = openai.AzureOpenAI(api_key=KEY, azure_endpoint="https://x.openai.azure.com",
                                api_version="2024-06-01")
    assert provider_name(client) == "azure.ai.openai"


def test_usage_stream_truncated_counts_one_token_per_chunk(server: DemoServer,
                                                           otel: Telemetry) -> None:
    """With include_usage and no usage chunk (connection dropped), output tokens are the chunks
    received, flagged as estimated; the client's error propagates."""
    client = sync_client(server)
    received: list[Any] = []
    with pytest.raises((openai.APIConnectionError, httpx.RemoteProtocolError)):
        for chunk in client.chat.completions.create(model="fault-truncate", messages=MESSAGES,
                                                    stream=True, stream_options=USAGE):
            received.append(chunk)
    assert received and all(c.usage is None for c in received)
    attrs = otel.client_spans()[0].attributes or {}
    assert attrs["gen_ai.usage.output_tokens"] == len(received)
    assert attrs["energy.tokens_estimated"] is True
    assert attrs["gen_ai.response.model"] == received[-1].model


def test_usage_on_every_chunk_takes_the_last() -> None:
    """OpenAI-compatible servers may repeat cumulative usage on each chunk: the last one counts,
    and a chunk without usage after it does not erase it."""
    from types import SimpleNamespace as NS

    from integrations.openai import ReportedUsageStrategy

    strategy = ReportedUsageStrategy((MESSAGES,))
    for n in (1, 2, 3):
        strategy.record_chunk(NS(model="m-1", usage=NS(prompt_tokens=7, completion_tokens=n)))
    strategy.record_chunk(NS(model="m-1", usage=None))
    result = strategy.result()
    assert (result.input_tokens, result.output_tokens, result.response_model) == (7, 3, "m-1")
    assert result.tokens_estimated is False


def assert_one_call_with_reported_usage(otel: Telemetry, seen: list[Any]) -> None:
    """Only the last chunk seen carried usage, and exactly one call span reports it."""
    usage = seen[-1].usage
    assert usage is not None and all(c.usage is None for c in seen[:-1])
    spans = otel.client_spans()
    assert len(spans) == 1
    attrs = spans[0].attributes or {}
    assert attrs["gen_ai.usage.output_tokens"] == usage.completion_tokens
    assert attrs["gen_ai.usage.input_tokens"] == usage.prompt_tokens
    assert attrs["energy.tokens_estimated"] is False


def test_stream_mixed_next_loop_and_resume_after_break(server: DemoServer,
                                                       otel: Telemetry) -> None:
    """next(), a loop left early and a second loop read one stream as the bare client does, and
    the call is recorded once, at the end, with the reported usage."""
    client = sync_client(server)
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                            stream_options=USAGE)
    seen = [next(stream)]
    for chunk in stream:
        seen.append(chunk)
        break
    assert otel.client_spans() == []
    seen.extend(stream)
    assert_one_call_with_reported_usage(otel, seen)
    tracker.uninstrument()
    bare = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                               stream_options=USAGE))
    assert len(bare) == len(seen)


@pytest.mark.parametrize("options", [None, USAGE], ids=["counted", "usage"])
@pytest.mark.parametrize("how", ["break_gc", "close", "context"])
def test_async_stream_ends_early_exactly_one_span(server: DemoServer, otel: Telemetry,
                                                  how: str, options: Any) -> None:
    """Async: break + garbage collection, close() and `async with` exit each finish the call
    once, with what was received, flagged as estimated (with include_usage: one output token
    for the one chunk received). Dropping a stream after `break` makes the bare client's own
    async generators log an asyncio error too; that is not checked here."""
    extra = {"stream_options": options} if options else {}
    spans_before_drop: list[int] = []

    async def go() -> None:
        async with async_client(server) as client:
            stream = await client.chat.completions.create(model=MODEL, messages=MESSAGES,
                                                          stream=True, **extra)
            if how == "context":
                async with stream as s:
                    async for _chunk in s:
                        break
            else:
                async for _chunk in stream:
                    break
                if how == "close":
                    await stream.close()
                    await stream.close()
            spans_before_drop.append(len(otel.client_spans()))
            del stream
            gc.collect()

    asyncio.run(go())
    gc.collect()
    assert spans_before_drop == [0 if how == "break_gc" else 1]
    spans = otel.client_spans()
    assert len(spans) == 1
    attrs = spans[0].attributes or {}
    assert attrs["energy.tokens_estimated"] is True
    if options:
        assert attrs["gen_ai.usage.output_tokens"] == 1


def test_async_usage_stream_truncated_counts_one_token_per_chunk(server: DemoServer,
                                                                 otel: Telemetry) -> None:
    """Async, with include_usage and a dropped connection: the client's error propagates and
    the call carries it, with one output token per chunk received, flagged as estimated."""
    received: list[Any] = []

    async def go() -> None:
        async with async_client(server) as client:
            stream = await client.chat.completions.create(
                model="fault-truncate", messages=MESSAGES, stream=True, stream_options=USAGE)
            async for chunk in stream:
                received.append(chunk)

    with pytest.raises((openai.APIConnectionError, httpx.RemoteProtocolError)) as raised:
        asyncio.run(go())
    assert received and all(c.usage is None for c in received)
    attrs = otel.client_spans()[0].attributes or {}
    assert attrs["gen_ai.usage.output_tokens"] == len(received)
    assert attrs["energy.tokens_estimated"] is True
    assert attrs["error.type"] == type(raised.value).__qualname__


def test_async_stream_mixed_anext_and_loop(server: DemoServer, otel: Telemetry) -> None:
    """`anext()` then `async for` read one async stream as the bare client does; the call is
    recorded once, at the end, with the reported usage."""

    async def go() -> list[Any]:
        async with async_client(server) as client:
            stream = await client.chat.completions.create(model=MODEL, messages=MESSAGES,
                                                          stream=True, stream_options=USAGE)
            seen = [await stream.__anext__()]
            assert otel.client_spans() == []
            seen.extend([c async for c in stream])
            return seen

    assert_one_call_with_reported_usage(otel, asyncio.run(go()))

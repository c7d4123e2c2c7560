"""Anthropic integration against the local demo server, with the real client and real OTel SDK."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

import tracker
from tests.integrations.test_openai import KEY, PROMPT, Telemetry, instrumented, serve
from tracker.demo._server import DEMO_REPLY, DemoServer

MODEL = "claude-haiku-4-5"
MESSAGES = [{"role": "user", "content": PROMPT}]


server = pytest.fixture(scope="module", name="server")(serve)


@pytest.fixture
def otel(tmp_path: Path) -> Iterator[Telemetry]:
    yield from instrumented(tmp_path, "anthropic")


def dump(obj: Any) -> Any:
    return (type(obj).__name__, obj.model_dump(mode="json"))


def _sync(c: anthropic.Anthropic, shape: str) -> Any:
    kw: dict[str, Any] = {"model": MODEL, "max_tokens": 64, "messages": MESSAGES}
    if shape == "create":
        return dump(c.messages.create(**kw))
    if shape == "create_stream":
        return [dump(e) for e in c.messages.create(**kw, stream=True)]
    if shape == "parse":
        return dump(c.messages.parse(**kw))
    with c.messages.stream(**kw) as s:
        text = list(s.text_stream)
        return text, dump(s.get_final_message())


async def _async(c: anthropic.AsyncAnthropic, shape: str) -> Any:
    kw: dict[str, Any] = {"model": MODEL, "max_tokens": 64, "messages": MESSAGES}
    if shape == "create":
        return dump(await c.messages.create(**kw))
    if shape == "create_stream":
        return [dump(e) async for e in await c.messages.create(**kw, stream=True)]
    if shape == "parse":
        return dump(await c.messages.parse(**kw))
    async with c.messages.stream(**kw) as s:
        text = [t async for t in s.text_stream]
        return text, dump(await s.get_final_message())


def run(server: DemoServer, shape: str, is_async: bool) -> Any:
    opts: dict[str, Any] = {"api_key": KEY, "base_url": server.anthropic_base_url,
                            "max_retries": 0}
    if is_async:
        async def go() -> Any:
            async with anthropic.AsyncAnthropic(**opts) as c:
                return await _async(c, shape)
        return asyncio.run(go())
    with anthropic.Anthropic(**opts) as c:
        return _sync(c, shape)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("shape", ["create", "create_stream", "parse", "stream_helper"])
def test_every_call_shape(server: DemoServer, otel: Telemetry, shape: str,
                          is_async: bool) -> None:
    """One CLIENT span; input = input + cache read + cache creation; output from the final
    (cumulative) message_delta; the caller receives the same as without instrumentation."""
    if shape == "parse" and not hasattr(anthropic.resources.Messages, "parse"):
        pytest.skip("this anthropic version has no messages.parse")
    observed = run(server, shape, is_async)
    served = server.served[-1]
    spans = otel.client_spans()
    assert len(spans) == 1
    attrs = spans[0].attributes or {}
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.usage.input_tokens"] == served.input_tokens
    assert attrs["gen_ai.usage.output_tokens"] == served.output_tokens
    assert attrs["energy.tokens_estimated"] is False
    assert attrs["energy.kwh"] > 0
    text = otel.everything()
    for canary in (KEY, PROMPT, DEMO_REPLY):
        assert canary not in text
    tracker.uninstrument("anthropic")
    assert run(server, shape, is_async) == observed
    assert len(otel.client_spans()) == 1


@pytest.mark.parametrize("fault,exc_type", [("429", anthropic.RateLimitError),
                                            ("500", anthropic.InternalServerError)])
def test_errors_propagate_with_error_type(server: DemoServer, otel: Telemetry, fault: str,
                                          exc_type: type[Exception]) -> None:
    """HTTP errors reach the caller unchanged, from create() and from stream()."""
    with anthropic.Anthropic(api_key=KEY, base_url=server.anthropic_base_url,
                             max_retries=0) as c, pytest.raises(exc_type):
        c.messages.create(model=f"fault-{fault}", max_tokens=8, messages=MESSAGES)
    with anthropic.Anthropic(api_key=KEY, base_url=server.anthropic_base_url,
                             max_retries=0) as c:
        manager = c.messages.stream(model=f"fault-{fault}", max_tokens=8, messages=MESSAGES)
        with pytest.raises(exc_type), manager as s:
            s.get_final_message()
    errors = [(s.attributes or {}).get("error.type") for s in otel.client_spans()]
    assert errors == [exc_type.__name__, exc_type.__name__]


def test_truncated_stream_records_partial_usage(server: DemoServer, otel: Telemetry) -> None:
    """A dropped connection mid-stream raises the client's error; the span keeps what was read."""
    c = anthropic.Anthropic(api_key=KEY, base_url=server.anthropic_base_url, max_retries=0)
    with c, pytest.raises(Exception) as caught:
        list(c.messages.create(model="fault-truncate", max_tokens=8, messages=MESSAGES,
                               stream=True))
    attrs = otel.client_spans()[0].attributes or {}
    assert attrs["error.type"] == type(caught.value).__name__
    assert attrs["gen_ai.usage.input_tokens"] == server.served[-1].input_tokens


@pytest.mark.parametrize("how", ["break_gc", "close", "context"])
def test_stream_helper_ends_early_one_span(server: DemoServer, otel: Telemetry,
                                           how: str) -> None:
    """Leaving messages.stream() early still finishes the call exactly once."""
    c = anthropic.Anthropic(api_key=KEY, base_url=server.anthropic_base_url, max_retries=0)
    kw: dict[str, Any] = {"model": MODEL, "max_tokens": 8, "messages": MESSAGES}
    if how == "context":
        with c.messages.stream(**kw) as s:
            next(iter(s))
    else:
        stream = c.messages.create(**kw, stream=True)
        next(iter(stream))
        if how == "close":
            stream.close()
        del stream
        gc.collect()
    spans = otel.client_spans()
    assert len(spans) == 1
    assert (spans[0].attributes or {})["gen_ai.usage.input_tokens"] == \
        server.served[-1].input_tokens
    c.close()

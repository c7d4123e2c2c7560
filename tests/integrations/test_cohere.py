"""cohere integration: the real cohere ClientV2 / AsyncClientV2 over HTTP to the bundled server."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest

cohere = pytest.importorskip("cohere")

import tracker  # noqa: E402
from tests.integrations._checks import check_served, one_span  # noqa: E402
from tracker.demo._protocols._common import DEMO_REPLY  # noqa: E402

INTEGRATION = "cohere"
KEY = "canary-KEY-cohere-3c9d"
PROMPT = "canary-PROMPT-8a2f rank these data centres"
MESSAGES = [{"role": "user", "content": PROMPT}]
MODEL = "command-a-03-2025"
NO_RETRY = {"max_retries": 0}


@pytest.fixture
def client(demo_server: Any) -> Iterator[Any]:
    with cohere.ClientV2(api_key=KEY, base_url=demo_server.cohere_base_url) as c:
        yield c


def _check(otel: Any, server: Any, operation: str = "chat", model: str = MODEL) -> None:
    check_served(otel, server, provider="cohere", operation=operation, model=model)


def test_chat_sync(provider_otel: Any, demo_server: Any, client: Any) -> None:
    response = client.chat(model=MODEL, messages=MESSAGES)
    assert response.message.content[0].text == DEMO_REPLY
    _check(provider_otel, demo_server)
    attrs = one_span(provider_otel).attributes
    assert attrs["energy.model_known"] is True
    assert attrs["gen_ai.response.finish_reasons"] == ("COMPLETE",)


def test_chat_stream_sync(provider_otel: Any, demo_server: Any, client: Any) -> None:
    text = "".join(e.delta.message.content.text for e in client.chat_stream(
        model=MODEL, messages=MESSAGES) if e.type == "content-delta")
    assert text == DEMO_REPLY
    _check(provider_otel, demo_server)


def test_async_chat_stream_and_embed(provider_otel: Any, demo_server: Any) -> None:
    async def go() -> str:
        async with cohere.AsyncClientV2(api_key=KEY, base_url=demo_server.cohere_base_url) as c:
            response = await c.chat(model=MODEL, messages=MESSAGES)
            _check(provider_otel, demo_server)
            provider_otel.span_exporter.clear()
            text = "".join([e.delta.message.content.text async for e in c.chat_stream(
                model=MODEL, messages=MESSAGES) if e.type == "content-delta"])
            _check(provider_otel, demo_server)
            provider_otel.span_exporter.clear()
            await c.embed(model="embed-v4.0", texts=[PROMPT], input_type="search_document",
                          embedding_types=["float"])
            return str(response.message.content[0].text) + text

    assert asyncio.run(go()) == DEMO_REPLY * 2
    _check(provider_otel, demo_server, "embeddings", "embed-v4.0")


# Older cohere releases' own chat_stream generator ignores GeneratorExit when dropped (a
# RuntimeError the interpreter reports as unraisable); that is the library's, not ours.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("how", ["break", "close"])
def test_stream_left_early_records_once(provider_otel: Any, client: Any, how: str) -> None:
    stream = client.chat_stream(model=MODEL, messages=MESSAGES)
    for _event in stream:
        break
    if how == "close":
        stream.close()
        assert len(provider_otel.call_spans()) == 1
    del stream
    gc.collect()
    assert len(provider_otel.call_spans()) == 1
    assert one_span(provider_otel).attributes["energy.tokens_estimated"] is True


def test_embed_sync(provider_otel: Any, demo_server: Any, client: Any) -> None:
    result = client.embed(model="embed-v4.0", texts=[PROMPT, "second"],
                          input_type="search_document", embedding_types=["float"])
    assert len(result.embeddings.float_) == 2
    _check(provider_otel, demo_server, "embeddings", "embed-v4.0")


@pytest.mark.parametrize("fault", ["429", "500"])
def test_provider_error_reaches_caller(provider_otel: Any, client: Any, fault: str) -> None:
    with pytest.raises(cohere.core.ApiError) as caught:
        client.chat(model=f"fault-{fault}", messages=MESSAGES, request_options=NO_RETRY)
    assert caught.value.status_code == int(fault)
    span = one_span(provider_otel)
    assert span.attributes["error.type"] == type(caught.value).__qualname__
    assert not span.status.is_ok


def test_stream_error_reaches_caller(provider_otel: Any, client: Any) -> None:
    with pytest.raises(cohere.core.ApiError) as caught:
        list(client.chat_stream(model="fault-429", messages=MESSAGES, request_options=NO_RETRY))
    assert one_span(provider_otel).attributes["error.type"] == type(caught.value).__qualname__


def test_no_secret_or_prompt_anywhere(provider_otel: Any, client: Any) -> None:
    client.chat(model=MODEL, messages=MESSAGES)
    list(client.chat_stream(model=MODEL, messages=MESSAGES))
    text = provider_otel.everything(provider_otel.ledger)
    assert len(provider_otel.call_spans()) == 2 and "energy.kwh" in text
    assert KEY not in text and "canary-PROMPT" not in text


def test_uninstrument_restores_methods(provider_otel: Any, client: Any) -> None:
    import wrapt
    from cohere.v2 import client as v2

    methods = [(c, m) for c in (v2.V2Client, v2.AsyncV2Client)
               for m in ("chat", "chat_stream", "embed")]
    assert all(isinstance(vars(c)[m], wrapt.FunctionWrapper) for c, m in methods)
    tracker.uninstrument(INTEGRATION)
    assert not any(isinstance(vars(c)[m], wrapt.FunctionWrapper) for c, m in methods)
    client.chat(model=MODEL, messages=MESSAGES)
    assert provider_otel.call_spans() == []

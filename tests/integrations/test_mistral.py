"""mistral integration: the real mistralai client over HTTP to the bundled server."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

pytest.importorskip("mistralai")
try:
    from mistralai.client import Mistral
except ImportError:  # mistralai 1.x
    from mistralai import Mistral  # type: ignore[attr-defined,no-redef]

import tracker
from tests.integrations._checks import check_served, one_span
from tracker.demo._protocols._common import DEMO_REPLY

INTEGRATION = "mistral"
KEY = "canary-KEY-mistral-77a1"
PROMPT = "canary-PROMPT-4e8c summarise the grid mix"
MESSAGES = [{"role": "user", "content": PROMPT}]
MODEL = "mistral-small-latest"


@pytest.fixture
def client(demo_server: Any) -> Iterator[Any]:
    c = Mistral(api_key=KEY, server_url=demo_server.mistral_base_url)
    yield c
    c.sdk_configuration.client.close()  # (`with Mistral(...)` is recent: 1.2 lacks it)


@contextlib.asynccontextmanager
async def async_client(server: Any) -> AsyncIterator[Any]:
    c = Mistral(api_key=KEY, server_url=server.mistral_base_url)
    try:
        yield c
    finally:
        await c.sdk_configuration.async_client.aclose()
        c.sdk_configuration.client.close()


def _check(otel: Any, server: Any, operation: str = "chat", model: str = MODEL) -> None:
    attrs = check_served(otel, server, provider="mistral_ai", operation=operation, model=model)
    assert attrs["gen_ai.response.model"] == model
    assert attrs["energy.model_known"] is (operation == "chat")


def test_complete_sync(provider_otel: Any, demo_server: Any, client: Any) -> None:
    response = client.chat.complete(model=MODEL, messages=MESSAGES)
    assert response.choices[0].message.content == DEMO_REPLY
    _check(provider_otel, demo_server)
    attrs = one_span(provider_otel).attributes
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.response.id"] == "cmpl-demo-mistral"
    assert attrs["energy.region"] == "FR"  # Mistral's assumed deployment


def test_stream_sync(provider_otel: Any, demo_server: Any, client: Any) -> None:
    with client.chat.stream(model=MODEL, messages=MESSAGES) as stream:
        text = "".join(e.data.choices[0].delta.content or "" for e in stream)
    assert text == DEMO_REPLY
    _check(provider_otel, demo_server)


def test_async_complete_and_stream(provider_otel: Any, demo_server: Any) -> None:
    async def go() -> str:
        async with async_client(demo_server) as client:
            response = await client.chat.complete_async(model=MODEL, messages=MESSAGES)
            _check(provider_otel, demo_server)
            provider_otel.span_exporter.clear()
            stream = await client.chat.stream_async(model=MODEL, messages=MESSAGES)
            text = "".join([e.data.choices[0].delta.content or "" async for e in stream])
            return str(response.choices[0].message.content) + text

    assert asyncio.run(go()) == DEMO_REPLY * 2
    _check(provider_otel, demo_server)


@pytest.mark.parametrize("how", ["break", "close", "context"])
def test_stream_left_early_records_once(provider_otel: Any, client: Any, how: str) -> None:
    stream = client.chat.stream(model=MODEL, messages=MESSAGES)
    if how == "close" and not hasattr(stream.__wrapped__, "close"):  # mistralai < 1.10
        how = "context"
    if how == "context":
        with stream as s:
            next(iter(s))
    else:
        for _event in stream:
            break
        stream.close() if how == "close" else stream.__wrapped__.response.close()
    assert len(provider_otel.call_spans()) == (0 if how == "break" else 1)
    del stream
    gc.collect()
    assert len(provider_otel.call_spans()) == 1
    assert one_span(provider_otel).attributes["energy.tokens_estimated"] is True


def test_embeddings_sync_and_async(provider_otel: Any, demo_server: Any, client: Any) -> None:
    result = client.embeddings.create(model="mistral-embed", inputs=[PROMPT, "second"])
    assert len(result.data) == 2
    _check(provider_otel, demo_server, "embeddings", "mistral-embed")
    provider_otel.span_exporter.clear()

    async def go() -> None:
        async with async_client(demo_server) as c:
            await c.embeddings.create_async(model="mistral-embed", inputs=[PROMPT])

    asyncio.run(go())
    _check(provider_otel, demo_server, "embeddings", "mistral-embed")


@pytest.mark.parametrize("fault", ["429", "500"])
def test_provider_error_reaches_caller(provider_otel: Any, client: Any, fault: str) -> None:
    with pytest.raises(Exception) as caught:
        client.chat.complete(model=f"fault-{fault}", messages=MESSAGES)
    assert getattr(caught.value, "status_code", None) == int(fault)
    span = one_span(provider_otel)
    assert span.attributes["error.type"] == type(caught.value).__qualname__
    assert not span.status.is_ok


def test_no_secret_or_prompt_anywhere(provider_otel: Any, client: Any) -> None:
    client.chat.complete(model=MODEL, messages=MESSAGES)
    with client.chat.stream(model=MODEL, messages=MESSAGES) as stream:
        list(stream)
    text = provider_otel.everything(provider_otel.ledger)
    assert len(provider_otel.call_spans()) == 2 and "energy.kwh" in text
    assert KEY not in text and "canary-PROMPT" not in text


def test_uninstrument_restores_methods(provider_otel: Any, client: Any) -> None:
    import wrapt

    try:
        package = "mistralai.client"
        chat = importlib.import_module(f"{package}.chat").Chat
    except ImportError:  # mistralai 1.x
        package = "mistralai"
        chat = importlib.import_module(f"{package}.chat").Chat
    embeddings = importlib.import_module(f"{package}.embeddings").Embeddings
    methods = [(chat, m) for m in ("complete", "complete_async", "stream", "stream_async")]
    methods += [(embeddings, "create"), (embeddings, "create_async")]
    assert all(isinstance(vars(c)[m], wrapt.FunctionWrapper) for c, m in methods)
    tracker.uninstrument(INTEGRATION)
    assert not any(isinstance(vars(c)[m], wrapt.FunctionWrapper) for c, m in methods)
    client.chat.complete(model=MODEL, messages=MESSAGES)
    assert provider_otel.call_spans() == []

"""ollama integration: the real ollama client over HTTP to the bundled server's ``/api/*``."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest

ollama = pytest.importorskip("ollama")

import tracker  # noqa: E402
from tests.integrations._checks import check_served, one_span  # noqa: E402
from tracker.demo._protocols._common import DEMO_REPLY  # noqa: E402
from tracker.demo._protocols._ollama import DURATIONS_NS  # noqa: E402

INTEGRATION = "ollama"
PROMPT = "canary-PROMPT-2d7e estimate my laptop's joules"
MESSAGES = [{"role": "user", "content": PROMPT}]
MODEL = "llama3.2:3b"
SECRET = "Bearer canary-KEY-ollama-6b0c"


@pytest.fixture
def client(demo_server: Any) -> Iterator[Any]:
    c = ollama.Client(host=demo_server.url, headers={"Authorization": SECRET})
    yield c
    c._client.close()  # (Client.close() is recent: older releases lack it)


def _check(otel: Any, server: Any, operation: str = "chat", model: str = MODEL) -> None:
    check_served(otel, server, provider="ollama", operation=operation, model=model)


@pytest.mark.parametrize("positional", [False, True])
def test_chat_and_generate_sync(provider_otel: Any, demo_server: Any, client: Any,
                                positional: bool) -> None:
    if positional:
        response = client.chat(MODEL, MESSAGES)
    else:
        response = client.chat(model=MODEL, messages=MESSAGES)
    assert response.message.content == DEMO_REPLY
    _check(provider_otel, demo_server)
    attrs = one_span(provider_otel).attributes
    assert attrs["energy.model_known"] is True and attrs["energy.model"] == "llama-3.2-3b"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["energy.region"] == "world"  # no cloud deployment assumed for a local server
    for name, nanos in DURATIONS_NS.items():  # the server's timings, kept for local measurement
        assert attrs[f"energy.server.{name}_s"] == pytest.approx(nanos / 1e9)
    provider_otel.span_exporter.clear()
    assert client.generate(model=MODEL, prompt=PROMPT).response == DEMO_REPLY
    _check(provider_otel, demo_server, "text_completion")


def test_streams_sync(provider_otel: Any, demo_server: Any, client: Any) -> None:
    text = "".join(c.message.content for c in client.chat(model=MODEL, messages=MESSAGES,
                                                          stream=True))
    assert text == DEMO_REPLY
    _check(provider_otel, demo_server)
    provider_otel.span_exporter.clear()
    text = "".join(c.response for c in client.generate(model=MODEL, prompt=PROMPT, stream=True))
    assert text == DEMO_REPLY
    _check(provider_otel, demo_server, "text_completion")


def test_async_everything(provider_otel: Any, demo_server: Any) -> None:
    async def go() -> None:
        c = ollama.AsyncClient(host=demo_server.url)
        try:
            await c.chat(model=MODEL, messages=MESSAGES)
            _check(provider_otel, demo_server)
            provider_otel.span_exporter.clear()
            stream = await c.chat(model=MODEL, messages=MESSAGES, stream=True)
            assert "".join([x.message.content async for x in stream]) == DEMO_REPLY
            _check(provider_otel, demo_server)
            provider_otel.span_exporter.clear()
            stream = await c.generate(model=MODEL, prompt=PROMPT, stream=True)
            assert "".join([x.response async for x in stream]) == DEMO_REPLY
            _check(provider_otel, demo_server, "text_completion")
            provider_otel.span_exporter.clear()
            await c.embed(model="nomic-embed-text", input=[PROMPT])
            _check(provider_otel, demo_server, "embeddings", "nomic-embed-text")
        finally:
            await c._client.aclose()

    asyncio.run(go())


def test_embed_sync(provider_otel: Any, demo_server: Any, client: Any) -> None:
    result = client.embed(model="nomic-embed-text", input=[PROMPT, "second"])
    assert len(result.embeddings) == 2
    _check(provider_otel, demo_server, "embeddings", "nomic-embed-text")


def test_module_functions_are_recorded(provider_otel: Any, demo_server: Any,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    default = ollama.chat.__self__  # ollama's module-level client, bound at import
    monkeypatch.setattr(default, "_client", type(default._client)(
        base_url=demo_server.url, timeout=5))
    try:
        ollama.chat(MODEL, messages=MESSAGES)
    finally:
        default._client.close()
    _check(provider_otel, demo_server)


@pytest.mark.parametrize("how", ["break", "close"])
def test_stream_left_early_records_once(provider_otel: Any, client: Any, how: str) -> None:
    stream = client.chat(model=MODEL, messages=MESSAGES, stream=True)
    for _chunk in stream:
        break
    if how == "close":
        stream.close()
        assert len(provider_otel.call_spans()) == 1
    del stream
    gc.collect()
    assert len(provider_otel.call_spans()) == 1
    assert one_span(provider_otel).attributes["energy.tokens_estimated"] is True


@pytest.mark.parametrize("fault", ["429", "500"])
def test_provider_error_reaches_caller(provider_otel: Any, client: Any, fault: str) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model=f"fault-{fault}", messages=MESSAGES)
    assert caught.value.status_code == int(fault)
    span = one_span(provider_otel)
    assert span.attributes["error.type"] == "ResponseError"
    assert not span.status.is_ok


def test_no_secret_or_prompt_anywhere(provider_otel: Any, client: Any) -> None:
    client.chat(model=MODEL, messages=MESSAGES)
    list(client.generate(model=MODEL, prompt=PROMPT, stream=True))
    text = provider_otel.everything(provider_otel.ledger)
    assert len(provider_otel.call_spans()) == 2 and "energy.kwh" in text
    assert "canary-KEY" not in text and "canary-PROMPT" not in text


def test_uninstrument_restores_methods(provider_otel: Any, client: Any) -> None:
    import importlib

    import wrapt

    module = importlib.import_module("ollama._client")  # (`ollama._client` is a Client)

    methods = [(vars(c), m) for c in (module.Client, module.AsyncClient)
               for m in ("chat", "generate", "embed")]
    methods += [(vars(ollama), m) for m in ("chat", "generate", "embed")]
    assert all(isinstance(d[m], wrapt.FunctionWrapper) for d, m in methods)
    tracker.uninstrument(INTEGRATION)
    assert not any(isinstance(d[m], wrapt.FunctionWrapper) for d, m in methods)
    client.chat(model=MODEL, messages=MESSAGES)
    assert provider_otel.call_spans() == []

"""google_genai integration: the real google-genai client over HTTP to the bundled server."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest

genai = pytest.importorskip("google.genai")
from google.genai import errors, types  # noqa: E402

import tracker  # noqa: E402
from tracker.demo._protocols._common import DEMO_REPLY  # noqa: E402
from tracker.demo._protocols._gemini import THOUGHTS  # noqa: E402

INTEGRATION = "google_genai"
KEY = "AIza-canary-KEY-51f0"
PROMPT = "canary-PROMPT-9b3d how warm is the grid"
MODEL = "gemini-2.5-flash"


@pytest.fixture
def client(demo_server: Any) -> Iterator[Any]:
    c = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=demo_server.url))
    yield c
    getattr(c, "close", lambda: None)()  # (older releases have no close())


def _attrs(otel: Any) -> dict[str, Any]:
    spans = otel.call_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return dict(spans[0].attributes or {})


def _check_generate(otel: Any, server: Any) -> None:
    served = server.served[-1]
    attrs = _attrs(otel)
    assert otel.call_spans()[0].name == f"generate_content {MODEL}"
    assert attrs["gen_ai.operation.name"] == "generate_content"
    assert attrs["gen_ai.provider.name"] == "gcp.gemini"
    assert attrs["gen_ai.request.model"] == MODEL
    assert attrs["gen_ai.usage.input_tokens"] == served.input_tokens
    assert attrs["gen_ai.usage.output_tokens"] == served.output_tokens
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == THOUGHTS
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == served.input_tokens // 2
    # per modality, as the server reported them (promptTokensDetails, candidatesTokensDetails)
    assert attrs["gen_ai.usage.text.input_tokens"] == served.input_tokens
    assert attrs["gen_ai.usage.text.output_tokens"] == served.output_tokens - THOUGHTS
    assert "gen_ai.usage.audio.input_tokens" not in attrs
    assert attrs["energy.tokens_estimated"] is False
    assert attrs["energy.kwh"] > 0


def test_generate_content_sync(provider_otel: Any, demo_server: Any, client: Any) -> None:
    response = client.models.generate_content(model=MODEL, contents=PROMPT)
    assert response.text == DEMO_REPLY
    _check_generate(provider_otel, demo_server)
    assert _attrs(provider_otel)["gen_ai.response.finish_reasons"] == ("STOP",)


def test_generate_content_stream_sync(provider_otel: Any, demo_server: Any,
                                      client: Any) -> None:
    text = "".join(c.text for c in client.models.generate_content_stream(model=MODEL,
                                                                        contents=PROMPT))
    assert text == DEMO_REPLY
    _check_generate(provider_otel, demo_server)


def test_async_generate_and_stream(provider_otel: Any, demo_server: Any, client: Any) -> None:
    async def go() -> str:
        response = await client.aio.models.generate_content(model=MODEL, contents=PROMPT)
        _check_generate(provider_otel, demo_server)
        provider_otel.span_exporter.clear()
        stream = await client.aio.models.generate_content_stream(model=MODEL, contents=PROMPT)
        text = "".join([c.text async for c in stream])
        if hasattr(client.aio, "aclose"):
            await client.aio.aclose()
        return str(response.text) + text

    assert asyncio.run(go()) == DEMO_REPLY * 2
    _check_generate(provider_otel, demo_server)


@pytest.mark.parametrize("how", ["break", "close"])
def test_stream_left_early_records_once(provider_otel: Any, client: Any, how: str) -> None:
    stream = client.models.generate_content_stream(model=MODEL, contents=PROMPT)
    for _chunk in stream:
        break
    if how == "close":
        stream.close()
    del stream
    gc.collect()
    attrs = _attrs(provider_otel)
    assert attrs["gen_ai.usage.output_tokens"] == 1 + THOUGHTS  # the first chunk's usage
    gc.collect()
    assert len(provider_otel.call_spans()) == 1


def test_embed_content(provider_otel: Any, demo_server: Any, client: Any) -> None:
    result = client.models.embed_content(model="gemini-embedding-001",
                                         contents=[PROMPT, "second text"])
    assert result.embeddings is not None and len(result.embeddings) == 2
    attrs = _attrs(provider_otel)
    assert provider_otel.call_spans()[0].name == "embeddings gemini-embedding-001"
    assert attrs["gen_ai.usage.output_tokens"] == 0
    if "usage_metadata" in type(result).model_fields:
        assert attrs["gen_ai.usage.input_tokens"] == demo_server.served[-1].input_tokens
        assert attrs["energy.tokens_estimated"] is False
    else:  # older google-genai drops the embeddings' usage: estimated from the contents
        assert attrs["energy.tokens_estimated"] is True


@pytest.mark.parametrize("fault", ["429", "500"])
def test_provider_error_reaches_caller(provider_otel: Any, client: Any, fault: str) -> None:
    with pytest.raises(errors.APIError) as caught:
        client.models.generate_content(model=f"fault-{fault}", contents=PROMPT)
    assert caught.value.code == int(fault)
    (span,) = provider_otel.call_spans()
    assert span.attributes["error.type"] == type(caught.value).__qualname__
    assert not span.status.is_ok


def test_no_secret_or_prompt_anywhere(provider_otel: Any, client: Any) -> None:
    client.models.generate_content(model=MODEL, contents=PROMPT)
    list(client.models.generate_content_stream(model=MODEL, contents=PROMPT))
    text = provider_otel.everything(provider_otel.ledger)
    assert len(provider_otel.call_spans()) == 2 and "energy.kwh" in text
    assert KEY not in text and "canary-PROMPT" not in text


def test_vertex_client_is_gcp_vertex_ai(provider_otel: Any, demo_server: Any) -> None:
    c = genai.Client(vertexai=True, project="demo-project", location="us-central1",
                     credentials=_NoCredentials(),
                     http_options=types.HttpOptions(base_url=demo_server.url))
    try:
        c.models.generate_content(model=MODEL, contents=PROMPT)
    finally:
        getattr(c, "close", lambda: None)()
    assert _attrs(provider_otel)["gen_ai.provider.name"] == "gcp.vertex_ai"


class _NoCredentials:
    """Stand-in google.auth credentials: always valid, adds no header."""

    token = "ya29.canary"
    valid = True
    expired = False
    quota_project_id = None

    def refresh(self, request: Any) -> None:
        pass

    def before_request(self, request: Any, method: Any, url: Any, headers: Any) -> None:
        pass


def test_uninstrument_restores_methods(provider_otel: Any, client: Any) -> None:
    import wrapt
    from google.genai import models

    methods = [(cls, name) for cls in (models.Models, models.AsyncModels)
               for name in ("generate_content", "generate_content_stream", "embed_content")]
    assert all(isinstance(vars(c)[n], wrapt.FunctionWrapper) for c, n in methods)
    tracker.uninstrument(INTEGRATION)
    assert not any(isinstance(vars(c)[n], wrapt.FunctionWrapper) for c, n in methods)
    client.models.generate_content(model=MODEL, contents=PROMPT)
    assert provider_otel.call_spans() == []

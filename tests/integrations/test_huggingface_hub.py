"""Hugging Face Hub integration: the real InferenceClient over HTTP to the local server.

``chat_completion`` against the server's OpenAI-compatible route (``base_url``), and
``text_generation`` against its Text Generation Inference route (``/tgi``), plain and streamed,
with the sync and async clients: one priced CLIENT span per request, with the usage sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("huggingface_hub")
from huggingface_hub import AsyncInferenceClient, InferenceClient

import tracker
from tests.conftest import Otel
from tracker.demo._server import DEMO_REPLY, DemoServer

INTEGRATION = "huggingface_hub"
KEY = "hf_demo-secret-token-0123456789"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
MESSAGES = [{"role": "user", "content": "Summarise the breeding season of the emperor penguin"}]
PROMPT = "Once upon a time in Antarctica"


def one_call(otel: Otel, server: DemoServer, before: int, exact_input: bool = True
             ) -> dict[str, Any]:
    served = server.served[before:]
    assert len(served) == 1
    (span,) = otel.call_spans()
    assert len(otel.ledger_lines()) == 1
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.provider.name"] == "huggingface"
    assert attrs["energy.kwh"] > 0
    if exact_input:
        assert attrs["gen_ai.usage.input_tokens"] == served[0].input_tokens
    else:  # counted from the prompt's characters
        assert attrs["gen_ai.usage.input_tokens"] == -(-len(PROMPT) // 4)
    return attrs


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("is_async", [False, True])
def test_chat_completion_is_one_priced_call(provider_otel: Otel, demo_server: DemoServer,
                                            stream: bool, is_async: bool) -> None:
    kwargs: dict[str, Any] = {"model": MODEL, "stream": stream}
    if stream:
        kwargs["stream_options"] = {"include_usage": True}
    before = len(demo_server.served)
    if is_async:
        async def run() -> str:
            async with AsyncInferenceClient(base_url=demo_server.openai_base_url,
                                            api_key=KEY) as client:
                if not stream:
                    return (await client.chat_completion(MESSAGES, **kwargs)).choices[0] \
                        .message.content
                return "".join([c.choices[0].delta.content or "" async for c in
                                await client.chat_completion(MESSAGES, **kwargs) if c.choices])

        text = asyncio.run(run())
    else:
        client = InferenceClient(base_url=demo_server.openai_base_url, api_key=KEY)
        if stream:
            text = "".join(c.choices[0].delta.content or ""
                           for c in client.chat_completion(MESSAGES, **kwargs) if c.choices)
        else:
            text = client.chat_completion(messages=MESSAGES, **kwargs).choices[0].message.content
    assert text == DEMO_REPLY
    attrs = one_call(provider_otel, demo_server, before)
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == MODEL
    assert attrs["gen_ai.usage.output_tokens"] == demo_server.served[-1].output_tokens
    assert attrs["energy.tokens_estimated"] is False


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("is_async", [False, True])
def test_text_generation_with_details_is_one_priced_call(
        provider_otel: Otel, demo_server: DemoServer, stream: bool, is_async: bool) -> None:
    base_url = f"{demo_server.url}/tgi"
    before = len(demo_server.served)
    if is_async:
        async def run() -> Any:
            async with AsyncInferenceClient(base_url=base_url, api_key=KEY) as client:
                if stream:
                    return [c async for c in await client.text_generation(
                        PROMPT, details=True, stream=True)]
                return await client.text_generation(PROMPT, details=True,
                                                    decoder_input_details=True)

        result = asyncio.run(run())
    else:
        client = InferenceClient(base_url=base_url, api_key=KEY)
        result = list(client.text_generation(PROMPT, details=True, stream=True)) if stream \
            else client.text_generation(PROMPT, details=True, decoder_input_details=True)
    text = "".join(c.token.text for c in result) if stream else result.generated_text
    assert text == DEMO_REPLY
    attrs = one_call(provider_otel, demo_server, before, exact_input=not stream)
    assert attrs["gen_ai.operation.name"] == "text_completion"
    assert attrs["gen_ai.usage.output_tokens"] == demo_server.served[-1].output_tokens
    # A stream tells no prompt token count: the input is counted from the prompt.
    assert attrs["energy.tokens_estimated"] is stream


def test_plain_text_generation_is_counted(provider_otel: Otel, demo_server: DemoServer) -> None:
    client = InferenceClient(base_url=f"{demo_server.url}/tgi", api_key=KEY)
    before = len(demo_server.served)
    assert client.text_generation(PROMPT) == DEMO_REPLY
    attrs = one_call(provider_otel, demo_server, before, exact_input=False)
    assert attrs["energy.tokens_estimated"] is True
    assert attrs["gen_ai.usage.output_tokens"] == -(-len(DEMO_REPLY) // 4)


def test_provider_errors_propagate_unchanged(provider_otel: Otel,
                                             demo_server: DemoServer) -> None:
    from huggingface_hub.errors import HfHubHTTPError

    client = InferenceClient(base_url=demo_server.openai_base_url, api_key=KEY)
    with pytest.raises(HfHubHTTPError):
        client.chat_completion(MESSAGES, model="fault-500")
    (span,) = provider_otel.call_spans()
    assert dict(span.attributes or {})["error.type"] == "HfHubHTTPError"


def test_uninstrument_restores_and_key_never_leaks(provider_otel: Otel,
                                                   demo_server: DemoServer) -> None:
    client = InferenceClient(base_url=demo_server.openai_base_url, api_key=KEY)
    client.chat_completion(MESSAGES, model=MODEL)
    text = provider_otel.everything(provider_otel.ledger)  # type: ignore[attr-defined]
    for secret in (KEY, MESSAGES[0]["content"], DEMO_REPLY):
        assert secret not in text
    tracker.uninstrument(INTEGRATION)
    client.chat_completion(MESSAGES, model=MODEL)
    assert len(provider_otel.call_spans()) == 1
    assert not hasattr(InferenceClient.chat_completion, "__wrapped__")


@pytest.mark.parametrize("url,expected", [
    ("https://router.huggingface.co/v1", "huggingface"),
    ("https://xyz.us-east-1.aws.endpoints.huggingface.cloud", "huggingface"),
    ("https://api.together.xyz/v1", "together"),
])
def test_provider_name(url: str, expected: str) -> None:
    from integrations.huggingface_hub import _provider

    assert _provider(InferenceClient(base_url=url)) == expected
    assert _provider(InferenceClient(model=MODEL)) == "huggingface"

"""bedrock integration: the real boto3 bedrock-runtime client over HTTP to the bundled server.

The server speaks Converse / InvokeModel JSON and the AWS event stream binary encoding for
ConverseStream and InvokeModelWithResponseStream; botocore signs requests with fake keys.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from typing import Any

import pytest

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

import tracker  # noqa: E402
from tests.integrations._checks import check_served, one_span  # noqa: E402
from tracker.demo._protocols._common import DEMO_REPLY  # noqa: E402

INTEGRATION = "bedrock"
ACCESS_KEY = "AKIACANARYKEY0000001"
SECRET_KEY = "canary-SECRET-aws-5e2b"
PROMPT = "canary-PROMPT-1f6a what does a token cost"
LLAMA = "us.meta.llama3-1-8b-instruct-v1:0"
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": PROMPT}]}]


def _client(server: Any, service: str = "bedrock-runtime") -> Any:
    return boto3.client(service, endpoint_url=server.url, region_name="us-east-1",
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                        config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def client(demo_server: Any) -> Iterator[Any]:
    c = _client(demo_server)
    yield c
    c.close()


def _check(otel: Any, server: Any, operation: str, model: str) -> dict[str, Any]:
    attrs = check_served(otel, server, provider="aws.bedrock", operation=operation, model=model)
    assert attrs["energy.model_known"] is True
    return attrs


def test_converse(provider_otel: Any, demo_server: Any, client: Any) -> None:
    response = client.converse(modelId=LLAMA, messages=MESSAGES)
    assert response["output"]["message"]["content"][0]["text"] == DEMO_REPLY
    attrs = _check(provider_otel, demo_server, "chat", LLAMA)
    n_in = demo_server.served[-1].input_tokens
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == n_in // 2
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == n_in // 4
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attrs["energy.region"] == "aws:us-east-1"  # the assumed AWS deployment


def test_converse_stream(provider_otel: Any, demo_server: Any, client: Any) -> None:
    response = client.converse_stream(modelId=CLAUDE, messages=MESSAGES)
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in response["stream"]
                   if "contentBlockDelta" in e)
    assert text == DEMO_REPLY
    attrs = _check(provider_otel, demo_server, "chat", CLAUDE)
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == demo_server.served[-1].input_tokens // 2


@pytest.mark.parametrize("how", ["break", "close"])
def test_stream_left_early_records_once(provider_otel: Any, client: Any, how: str) -> None:
    response = client.converse_stream(modelId=LLAMA, messages=MESSAGES)
    stream = response["stream"]
    inner = stream.__wrapped__  # botocore's own EventStream, kept to close its socket
    for _event in stream:
        break
    if how == "close":
        stream.close()
    del stream, response
    gc.collect()
    inner.close()
    attrs = dict(one_span(provider_otel).attributes or {})
    assert attrs["energy.tokens_estimated"] is True  # the metadata event never arrived
    gc.collect()
    assert len(provider_otel.call_spans()) == 1


@pytest.mark.parametrize(("model", "body", "operation"), [
    (CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
              "messages": [{"role": "user", "content": PROMPT}]}, "chat"),
    ("meta.llama3-70b-instruct-v1:0", {"prompt": PROMPT}, "text_completion"),
    ("mistral.mistral-large-2407-v1:0", {"prompt": PROMPT}, "text_completion"),
    ("amazon.titan-embed-text-v2:0", {"inputText": PROMPT}, "embeddings"),
    ("amazon.nova-lite-v1:0", {"messages": [{"role": "user", "content": [{"text": PROMPT}]}]},
     "chat"),
])
@pytest.mark.parametrize("headers", ["headers", "body"])
def test_invoke_model(provider_otel: Any, demo_server: Any, client: Any, model: str,
                      body: dict[str, Any], operation: str, headers: str) -> None:
    if headers == "body":  # a response without the token-count headers: usage from the body

        def strip(parsed: dict[str, Any], **_: Any) -> None:
            for name in ("x-amzn-bedrock-input-token-count",
                         "x-amzn-bedrock-output-token-count"):
                parsed["ResponseMetadata"]["HTTPHeaders"].pop(name, None)

        client.meta.events.register("after-call.bedrock-runtime.InvokeModel", strip)
    response = client.invoke_model(modelId=model, body=json.dumps(body))
    answer = json.loads(response["body"].read())  # still readable after the SDK's look
    assert answer
    if headers == "body" and model.startswith("mistral."):  # its body carries no usage
        attrs = one_span(provider_otel).attributes
        assert attrs["energy.tokens_estimated"] is True and answer["outputs"]
        return
    _check(provider_otel, demo_server, operation, model)


def test_invoke_model_with_response_stream(provider_otel: Any, demo_server: Any,
                                           client: Any) -> None:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
            "messages": [{"role": "user", "content": PROMPT}]}
    response = client.invoke_model_with_response_stream(modelId=CLAUDE, body=json.dumps(body))
    chunks = [json.loads(e["chunk"]["bytes"]) for e in response["body"]]
    assert "".join(c["delta"]["text"] for c in chunks) == DEMO_REPLY
    _check(provider_otel, demo_server, "chat", CLAUDE)


@pytest.mark.parametrize(("fault", "code"), [("429", "ThrottlingException"),
                                             ("500", "InternalServerException")])
def test_provider_error_reaches_caller(provider_otel: Any, client: Any, fault: str,
                                       code: str) -> None:
    with pytest.raises(ClientError) as caught:
        client.converse(modelId=f"fault-{fault}", messages=MESSAGES)
    assert caught.value.response["Error"]["Code"] == code
    span = one_span(provider_otel)
    assert span.attributes["error.type"] == code == type(caught.value).__qualname__
    assert not span.status.is_ok


def test_truncated_stream_records_the_error(provider_otel: Any, client: Any) -> None:
    response = client.converse_stream(modelId="fault-truncate", messages=MESSAGES)
    with pytest.raises(Exception) as caught:
        list(response["stream"])
    span = one_span(provider_otel)
    assert span.attributes["error.type"] == type(caught.value).__qualname__


def test_other_services_are_not_touched(provider_otel: Any, demo_server: Any) -> None:
    control = _client(demo_server, "bedrock")  # the control plane, not bedrock-runtime
    try:
        with pytest.raises(ClientError):
            control.list_foundation_models()
    finally:
        control.close()
    assert provider_otel.call_spans() == []


def test_no_credentials_or_prompt_anywhere(provider_otel: Any, client: Any) -> None:
    client.converse(modelId=LLAMA, messages=MESSAGES)
    list(client.converse_stream(modelId=LLAMA, messages=MESSAGES)["stream"])
    text = provider_otel.everything(provider_otel.ledger)
    assert len(provider_otel.call_spans()) == 2 and "energy.kwh" in text
    for secret in (ACCESS_KEY, SECRET_KEY, "canary-PROMPT"):
        assert secret not in text


def test_uninstrument_restores_the_method(provider_otel: Any, client: Any) -> None:
    import wrapt
    from botocore.client import BaseClient

    assert isinstance(BaseClient.__dict__["_make_api_call"], wrapt.FunctionWrapper)
    tracker.uninstrument(INTEGRATION)
    assert not isinstance(BaseClient.__dict__["_make_api_call"], wrapt.FunctionWrapper)
    client.converse(modelId=LLAMA, messages=MESSAGES)
    assert provider_otel.call_spans() == []

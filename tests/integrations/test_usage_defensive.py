"""Usage read defensively, with the real clients, under strict mode (a swallowed SDK error
would fail the test): a missing or None field is "not reported", estimated and flagged, never an
exception; Bedrock's body is read through a tee that keeps botocore's own errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

import tracker
from tests.integrations._canned import Canned

INTEGRATION = "openai"  # (provider_otel instruments it; the others are instrumented below)
PROMPT = "how green is this answer"


def _only_call(otel: Any) -> dict[str, Any]:
    spans = otel.call_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return dict(spans[0].attributes or {})


def test_openai_responses_with_content_none_is_recorded(provider_otel: Any) -> None:
    openai = pytest.importorskip("openai")
    body = {"id": "resp_1", "object": "response", "created_at": 1, "model": "gpt-4o-mini",
            "status": "completed", "output": [{"type": "message", "id": "m1",
                                               "role": "assistant", "status": "completed",
                                               "content": None}],
            "usage": None, "parallel_tool_calls": True, "tool_choice": "auto", "tools": []}
    with Canned(json.dumps(body).encode()) as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="k", max_retries=0)
        response = client.responses.create(model="gpt-4o-mini", input=PROMPT)
        client.close()
    with pytest.raises(TypeError):
        response.output_text  # noqa: B018  (the property the SDK must not touch)
    attrs = _only_call(provider_otel)
    assert attrs["energy.tokens_estimated"] is True
    assert attrs["gen_ai.usage.input_tokens"] > 0


def _sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def test_anthropic_message_delta_without_usage_is_recorded(configure_tracker: Any,
                                                           tmp_path: Any) -> None:
    anthropic = pytest.importorskip("anthropic")
    otel = configure_tracker()
    tracker.instrument("anthropic")
    events = [
        {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-haiku",
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text",
                                                                      "text": ""}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "text_delta", "text": "twelve characters of answer text"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
         "usage": None},
        {"type": "message_stop"},
    ]
    try:
        with Canned(_sse(events), content_type="text/event-stream") as server:
            client = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0)
            stream = client.messages.create(model="claude-3-5-haiku", max_tokens=50,
                                            messages=[{"role": "user", "content": PROMPT}],
                                            stream=True)
            kinds = [event.type for event in stream]
            client.close()
    finally:
        tracker.uninstrument("anthropic")
    assert kinds[-1] == "message_stop"
    attrs = _only_call(otel)
    assert attrs["gen_ai.usage.input_tokens"] == 12
    assert attrs["gen_ai.usage.output_tokens"] > 1  # counted from the text, not the stale 1
    assert attrs["energy.tokens_estimated"] is True


def test_bedrock_dropped_body_keeps_botocore_error(configure_tracker: Any) -> None:
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config
    from botocore.exceptions import ResponseStreamingError
    from botocore.response import StreamingBody

    otel = configure_tracker()
    tracker.instrument("bedrock")
    body = json.dumps({"generation": "x" * 400, "prompt_token_count": 7,
                       "generation_token_count": 90}).encode()
    try:
        with Canned(body, cut_after=40) as server:
            client = boto3.client("bedrock-runtime", endpoint_url=server.url,
                                  region_name="us-east-1", aws_access_key_id="AKIAX",
                                  aws_secret_access_key="s",
                                  config=Config(retries={"total_max_attempts": 1}))
            response = client.invoke_model(modelId="us.meta.llama3-1-8b-instruct-v1:0",
                                           body=json.dumps({"prompt": PROMPT}))
            assert type(response["body"]) is StreamingBody  # the caller's own object
            assert otel.call_spans() == []  # not read yet: nothing consumed, nothing recorded
            with pytest.raises(ResponseStreamingError):
                response["body"].read()
            client.close()
    finally:
        tracker.uninstrument("bedrock")
    attrs = _only_call(otel)  # the call is recorded, estimated
    assert attrs["energy.tokens_estimated"] is True


def test_bedrock_body_read_in_chunks_gives_reported_usage(configure_tracker: Any) -> None:
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    otel = configure_tracker()
    tracker.instrument("bedrock")
    body = json.dumps({"generation": "x" * 4000, "prompt_token_count": 7,
                       "generation_token_count": 90}).encode()
    try:
        with Canned(body) as server:
            client = boto3.client("bedrock-runtime", endpoint_url=server.url,
                                  region_name="us-east-1", aws_access_key_id="AKIAX",
                                  aws_secret_access_key="s",
                                  config=Config(retries={"total_max_attempts": 1}))
            response = client.invoke_model(modelId="us.meta.llama3-1-8b-instruct-v1:0",
                                           body=json.dumps({"prompt": PROMPT}))
            read = b"".join(response["body"].iter_chunks(333))
            client.close()
    finally:
        tracker.uninstrument("bedrock")
    assert read == body
    attrs = _only_call(otel)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (7, 90)
    assert attrs["energy.tokens_estimated"] is False

"""Amazon Bedrock Runtime for the demo server: Converse and InvokeModel, plain and streamed.

Routes: ``POST /model/{modelId}/converse`` and ``/converse-stream``, ``/invoke`` and
``/invoke-with-response-stream``. Streams use the AWS event stream binary encoding
(``application/vnd.amazon.eventstream``: prelude, CRC32s, string headers ``:event-type``,
``:content-type``, ``:message-type``), which botocore decodes.

Converse reports ``usage`` (``inputTokens`` excludes the cache reads and writes, reported
apart, as Bedrock does); ConverseStream ends with a ``metadata`` event carrying it. InvokeModel
answers in the model family's native body (Anthropic messages, Meta Llama, Mistral, Amazon
Titan text and embeddings, Amazon Nova) and always sends the
``x-amzn-bedrock-input-token-count`` / ``-output-token-count`` headers; its stream's last
chunk carries ``amazon-bedrock-invocationMetrics``.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote

from tracker.demo._protocols._common import DEMO_REPLY, Reply, input_tokens, pieces

__all__ = ["event", "reply"]

_KEYS = ("messages", "system", "prompt", "inputText")
_EVENT_STREAM = "application/vnd.amazon.eventstream"


def _header(name: str, value: str) -> bytes:
    n, v = name.encode(), value.encode()
    return bytes([len(n)]) + n + b"\x07" + struct.pack(">H", len(v)) + v


def event(kind: str, payload: Mapping[str, Any]) -> bytes:
    """One event-stream message: ``:event-type`` `kind`, JSON `payload`."""
    headers = (_header(":event-type", kind) + _header(":content-type", "application/json")
               + _header(":message-type", "event"))
    data = json.dumps(payload).encode()
    prelude = struct.pack(">II", 16 + len(headers) + len(data), len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + data
    return message + struct.pack(">I", zlib.crc32(message))


def _family(model_id: str) -> str:
    low = model_id.lower()
    for family in ("anthropic", "meta", "mistral", "titan-embed", "titan", "nova"):
        if family in low:
            return family
    return "anthropic"


def _invoke_body(family: str, n_in: int, n_out: int) -> dict[str, Any]:
    if family == "anthropic":
        return {"id": "msg_demo", "type": "message", "role": "assistant",
                "content": [{"type": "text", "text": DEMO_REPLY}], "stop_reason": "end_turn",
                "usage": {"input_tokens": n_in, "output_tokens": n_out}}
    if family == "meta":
        return {"generation": DEMO_REPLY, "prompt_token_count": n_in,
                "generation_token_count": n_out, "stop_reason": "stop"}
    if family == "mistral":
        return {"outputs": [{"text": DEMO_REPLY, "stop_reason": "stop"}]}
    if family == "titan-embed":
        return {"embedding": [0.125] * 8, "inputTextTokenCount": n_in}
    if family == "titan":
        return {"inputTextTokenCount": n_in, "results": [
            {"tokenCount": n_out, "outputText": DEMO_REPLY, "completionReason": "FINISH"}]}
    return {"output": {"message": {"role": "assistant", "content": [{"text": DEMO_REPLY}]}},
            "stopReason": "end_turn", "usage": {"inputTokens": n_in, "outputTokens": n_out}}


def _invoke_chunks(family: str, n_in: int) -> Iterator[bytes]:
    parts = pieces()
    for i, piece in enumerate(parts, 1):
        body: dict[str, Any] = {"type": "content_block_delta", "index": 0,
                                "delta": {"type": "text_delta", "text": piece}}
        if family != "anthropic":
            body = {"generation": piece} if family == "meta" else {"outputs": [{"text": piece}]}
        if i == len(parts):
            body["amazon-bedrock-invocationMetrics"] = {
                "inputTokenCount": n_in, "outputTokenCount": len(parts),
                "invocationLatency": 25, "firstByteLatency": 5}
        yield event("chunk", {"bytes": base64.b64encode(json.dumps(body).encode()).decode()})


def _usage(n_in: int, n_out: int) -> dict[str, int]:
    read, written = n_in // 2, n_in // 4
    return {"inputTokens": n_in - read - written, "outputTokens": n_out,
            "totalTokens": n_in + n_out, "cacheReadInputTokens": read,
            "cacheWriteInputTokens": written}


def _converse_chunks(n_in: int) -> Iterator[bytes]:
    yield event("messageStart", {"role": "assistant"})
    for piece in pieces():
        yield event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})
    yield event("contentBlockStop", {"contentBlockIndex": 0})
    yield event("messageStop", {"stopReason": "end_turn"})
    yield event("metadata", {"usage": _usage(n_in, len(pieces())), "metrics": {"latencyMs": 25}})


def reply(path: str, body: Mapping[str, Any], fault: str | None) -> Reply | None:
    """Answer a Bedrock Runtime request, or None when `path` is not one of its routes."""
    if not path.startswith("/model/"):
        return None
    model_id, _, method = unquote(path[len("/model/"):]).rpartition("/")
    if fault in ("429", "500"):
        kind = "ThrottlingException" if fault == "429" else "InternalServerException"
        return Reply(model_id, 0, 0, status=int(fault), headers={"x-amzn-ErrorType": kind},
                     payload={"message": f"demo server fault {fault}"})
    n_in, n_out = input_tokens(body, _KEYS), len(pieces())
    if method == "converse":
        return Reply(model_id, n_in, n_out, payload={
            "output": {"message": {"role": "assistant", "content": [{"text": DEMO_REPLY}]}},
            "stopReason": "end_turn", "usage": _usage(n_in, n_out),
            "metrics": {"latencyMs": 25}})
    if method == "converse-stream":
        return Reply(model_id, n_in, n_out, chunks=_converse_chunks(n_in),
                     content_type=_EVENT_STREAM, malformed=b"\x00\x00\x00\x20garbage")
    family = _family(model_id)
    if family == "titan-embed":
        n_out = 0
    if method == "invoke-with-response-stream":
        return Reply(model_id, n_in, n_out, chunks=_invoke_chunks(family, n_in),
                     content_type=_EVENT_STREAM, malformed=b"\x00\x00\x00\x20garbage")
    if method != "invoke":
        return None
    headers = {"x-amzn-bedrock-input-token-count": str(n_in),
               "x-amzn-bedrock-output-token-count": str(n_out)}
    return Reply(model_id, n_in, n_out, payload=_invoke_body(family, n_in, n_out),
                 headers=headers)

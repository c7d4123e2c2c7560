"""Gemini REST (Gemini API and Vertex AI paths) for the demo server.

Routes: ``POST .../models/{model}:generateContent``, ``:streamGenerateContent?alt=sse``
(server-sent events, each chunk carrying the cumulative ``usageMetadata``, as Gemini does),
``:embedContent`` and ``:batchEmbedContents`` (``usageMetadata.promptTokenCount`` only).
``promptTokenCount`` includes the ``cachedContentTokenCount`` (half the input); the answer has
`THOUGHTS` thinking tokens besides the candidate tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from tracker.demo._protocols._common import DEMO_REPLY, Reply, input_tokens, pieces, sse

__all__ = ["THOUGHTS", "reply"]

THOUGHTS = 2
_ROUTE = re.compile(r"/models/([^/:]+):(generateContent|streamGenerateContent|embedContent"
                    r"|batchEmbedContents)$")
_KEYS = ("contents", "systemInstruction")


def _usage(n_in: int, n_out: int) -> dict[str, Any]:
    return {"promptTokenCount": n_in, "cachedContentTokenCount": n_in // 2,
            "candidatesTokenCount": n_out, "thoughtsTokenCount": THOUGHTS,
            "totalTokenCount": n_in + n_out + THOUGHTS,
            # per modality, as the API reports them: the demo's prompts are text
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": n_in}],
            "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": n_out}]}


def _response(model: str, text: str, usage: dict[str, Any], done: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]},
                                 "index": 0}
    if done:
        candidate["finishReason"] = "STOP"
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model,
            "responseId": "resp_demo_gemini"}


def _chunks(model: str, n_in: int) -> Iterator[bytes]:
    parts = pieces()
    for i, piece in enumerate(parts, 1):
        yield sse(_response(model, piece, _usage(n_in, i), i == len(parts)))


def _contents(body: Mapping[str, Any]) -> int:
    requests = body.get("requests")
    if isinstance(requests, list):
        return sum(input_tokens(r.get("content") or {}, ("parts",)) - 3
                   for r in requests if isinstance(r, Mapping))
    return max(1, input_tokens(body.get("content") or {}, ("parts",)) - 3)


def reply(path: str, body: Mapping[str, Any], fault: str | None) -> Reply | None:
    """Answer a Gemini request, or None when `path` is not a Gemini route."""
    match = _ROUTE.search(path)
    if match is None:
        return None
    model, method = match.groups()
    if fault in ("429", "500"):
        status = "RESOURCE_EXHAUSTED" if fault == "429" else "INTERNAL"
        return Reply(model, 0, 0, status=int(fault), payload={"error": {
            "code": int(fault), "message": f"demo server fault {fault}", "status": status}})
    if method in ("embedContent", "batchEmbedContents"):
        requests = body.get("requests")
        n = len(requests) if isinstance(requests, list) else 1
        n_in = _contents(body)
        payload: dict[str, Any] = {"embeddings": [{"values": [0.125] * 8}] * n}
        if method == "embedContent":
            payload = {"embedding": {"values": [0.125] * 8}}
        payload["usageMetadata"] = {"promptTokenCount": n_in, "totalTokenCount": n_in}
        return Reply(model, n_in, 0, payload=payload)
    n_in = input_tokens(body, _KEYS)
    n_out = len(pieces())
    if method == "streamGenerateContent":
        return Reply(model, n_in, n_out + THOUGHTS, chunks=_chunks(model, n_in),
                     content_type="text/event-stream")
    return Reply(model, n_in, n_out + THOUGHTS,
                 payload=_response(model, DEMO_REPLY, _usage(n_in, n_out), True))

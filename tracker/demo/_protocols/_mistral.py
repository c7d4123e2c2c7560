"""Mistral AI's API for the demo server, mounted under ``/mistral`` (the client's ``server_url``).

Routes: ``POST /mistral/v1/chat/completions`` (plain, and ``stream=true``: server-sent events
whose last chunk carries ``usage``, then ``[DONE]``, as Mistral does) and
``POST /mistral/v1/embeddings``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tracker.demo._protocols._common import DEMO_REPLY, Reply, input_tokens, pieces, sse

__all__ = ["PREFIX", "reply"]

PREFIX = "/mistral/v1/"
CREATED = 1_700_000_000


def _usage(n_in: int, n_out: int) -> dict[str, int]:
    return {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out}


def _chunks(model: str, n_in: int) -> Iterator[bytes]:
    parts = pieces()
    base = {"id": "cmpl-demo-mistral", "object": "chat.completion.chunk", "created": CREATED,
            "model": model}
    yield sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                    "finish_reason": None}]})
    for i, piece in enumerate(parts, 1):
        chunk: dict[str, Any] = {**base, "choices": [{
            "index": 0, "delta": {"content": piece},
            "finish_reason": "stop" if i == len(parts) else None}]}
        if i == len(parts):
            chunk["usage"] = _usage(n_in, len(parts))
        yield sse(chunk)
    yield sse("[DONE]")


def reply(path: str, body: Mapping[str, Any], fault: str | None) -> Reply | None:
    """Answer a Mistral request, or None when `path` is not under `PREFIX`."""
    if not path.startswith(PREFIX):
        return None
    route = path[len(PREFIX):]
    model = str(body.get("model") or "mistral-small-latest")
    if fault in ("429", "500") or route not in ("chat/completions", "embeddings"):
        status = int(fault) if fault in ("429", "500") else 404
        return Reply(model, 0, 0, status=status,
                     payload={"object": "error", "message": f"demo server fault {status}",
                              "type": "api_error", "code": str(status)})
    if route == "embeddings":
        raw = body.get("input")
        n = len(raw) if isinstance(raw, list) else 1
        n_in = input_tokens(body, ("input",))
        return Reply(model, n_in, 0, payload={
            "id": "emb-demo", "object": "list", "model": model, "usage": _usage(n_in, 0),
            "data": [{"object": "embedding", "embedding": [0.125] * 8, "index": i}
                     for i in range(n)]})
    n_in, n_out = input_tokens(body), len(pieces())
    if body.get("stream"):
        return Reply(model, n_in, n_out, chunks=_chunks(model, n_in),
                     content_type="text/event-stream")
    return Reply(model, n_in, n_out, payload={
        "id": "cmpl-demo-mistral", "object": "chat.completion", "created": CREATED,
        "model": model, "usage": _usage(n_in, n_out),
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": DEMO_REPLY}}]})

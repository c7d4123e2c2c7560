"""Cohere's v2 API for the demo server, mounted under ``/cohere`` (the client's ``base_url``).

Routes: ``POST /cohere/v2/chat`` (plain, and ``stream=true``: server-sent events
``message-start``, ``content-start``, ``content-delta``..., ``content-end``, ``message-end``
whose delta carries ``usage``) and ``POST /cohere/v2/embed``. Usage has both ``tokens`` and
``billed_units``; the billed input is smaller (Cohere bills the prompt without its template).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tracker.demo._protocols._common import DEMO_REPLY, Reply, input_tokens, pieces, sse

__all__ = ["PREFIX", "reply"]

PREFIX = "/cohere/v2/"
TEMPLATE = 3  # tokens of the chat template: counted in `tokens`, not in `billed_units`


def _usage(n_in: int, n_out: int) -> dict[str, Any]:
    return {"billed_units": {"input_tokens": n_in - TEMPLATE, "output_tokens": n_out},
            "tokens": {"input_tokens": n_in, "output_tokens": n_out}}


def _chunks(n_in: int) -> Iterator[bytes]:
    message = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [],
               "citations": []}
    yield sse({"type": "message-start", "id": "chat-demo", "delta": {"message": message}},
              "message-start")
    yield sse({"type": "content-start", "index": 0,
               "delta": {"message": {"content": {"type": "text", "text": ""}}}}, "content-start")
    for piece in pieces():
        yield sse({"type": "content-delta", "index": 0,
                   "delta": {"message": {"content": {"text": piece}}}}, "content-delta")
    yield sse({"type": "content-end", "index": 0}, "content-end")
    yield sse({"type": "message-end", "delta": {"finish_reason": "COMPLETE",
                                                "usage": _usage(n_in, len(pieces()))}},
              "message-end")


def reply(path: str, body: Mapping[str, Any], fault: str | None) -> Reply | None:
    """Answer a Cohere v2 request, or None when `path` is not under `PREFIX`."""
    if not path.startswith(PREFIX):
        return None
    route = path[len(PREFIX):]
    model = str(body.get("model") or "command-a-03-2025")
    if fault in ("429", "500") or route not in ("chat", "embed"):
        status = int(fault) if fault in ("429", "500") else 404
        return Reply(model, 0, 0, status=status,
                     payload={"message": f"demo server fault {status}"})
    if route == "embed":
        texts = body.get("texts") or body.get("inputs") or []
        n = len(texts) if isinstance(texts, list) else 1
        n_in = input_tokens(body, ("texts", "inputs"))
        meta = {"api_version": {"version": "2"}, "billed_units": {"input_tokens": n_in},
                "tokens": {"input_tokens": n_in}}
        return Reply(model, n_in, 0, payload={
            "id": "embed-demo", "response_type": "embeddings_by_type",
            "embeddings": {"float": [[0.125] * 8] * n}, "texts": [], "meta": meta})
    n_in, n_out = input_tokens(body), len(pieces())
    if body.get("stream"):
        return Reply(model, n_in, n_out, chunks=_chunks(n_in), content_type="text/event-stream")
    return Reply(model, n_in, n_out, payload={
        "id": "chat-demo", "finish_reason": "COMPLETE", "usage": _usage(n_in, n_out),
        "message": {"role": "assistant", "content": [{"type": "text", "text": DEMO_REPLY}]}})

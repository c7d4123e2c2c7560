"""Ollama's native API for the demo server: ``/api/chat``, ``/api/generate``, ``/api/embed``.

Chat and generate stream by default (newline-delimited JSON, ``application/x-ndjson``; the last
object has ``done: true`` with ``prompt_eval_count``, ``eval_count`` and the durations in
nanoseconds); ``stream: false`` answers with one object. Durations are fixed (`DURATIONS_NS`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from tracker.demo._protocols._common import DEMO_REPLY, Reply, input_tokens, pieces

__all__ = ["DURATIONS_NS", "reply"]

CREATED_AT = "2023-11-14T22:13:20Z"
#: The durations every answer reports, in nanoseconds.
DURATIONS_NS = {"total_duration": 250_000_000, "load_duration": 50_000_000,
                "prompt_eval_duration": 40_000_000, "eval_duration": 150_000_000}


def _piece(route: str, model: str, text: str) -> dict[str, Any]:
    out: dict[str, Any] = {"model": model, "created_at": CREATED_AT, "done": False}
    if route == "chat":
        out["message"] = {"role": "assistant", "content": text}
    else:
        out["response"] = text
    return out


def _final(route: str, model: str, text: str, n_in: int, n_out: int) -> dict[str, Any]:
    return {**_piece(route, model, text), "done": True, "done_reason": "stop",
            "prompt_eval_count": n_in, "eval_count": n_out, **DURATIONS_NS}


def _lines(route: str, model: str, n_in: int) -> Iterator[bytes]:
    parts = pieces()
    for piece in parts:
        yield json.dumps(_piece(route, model, piece)).encode() + b"\n"
    yield json.dumps(_final(route, model, "", n_in, len(parts))).encode() + b"\n"


def reply(path: str, body: Mapping[str, Any], fault: str | None) -> Reply | None:
    """Answer an Ollama request, or None when `path` is not one of its routes."""
    if not path.startswith("/api/"):
        return None
    route = path[len("/api/"):]
    model = str(body.get("model") or "llama3.2:3b")
    if fault in ("429", "500") or route not in ("chat", "generate", "embed"):
        status = int(fault) if fault in ("429", "500") else 404
        return Reply(model, 0, 0, status=status, payload={"error": f"demo server fault {status}"})
    if route == "embed":
        raw = body.get("input")
        n = len(raw) if isinstance(raw, list) else 1
        n_in = input_tokens(body, ("input",))
        return Reply(model, n_in, 0, payload={
            "model": model, "embeddings": [[0.125] * 8] * n, "prompt_eval_count": n_in,
            "total_duration": DURATIONS_NS["total_duration"],
            "load_duration": DURATIONS_NS["load_duration"]})
    n_in, n_out = input_tokens(body), len(pieces())
    if body.get("stream", True):
        return Reply(model, n_in, n_out, chunks=_lines(route, model, n_in),
                     content_type="application/x-ndjson", malformed=b"{\"not json\n")
    return Reply(model, n_in, n_out, payload=_final(route, model, DEMO_REPLY, n_in, n_out))

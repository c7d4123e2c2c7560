"""Text Generation Inference (TGI) for the demo server, at ``POST /tgi`` (a client's ``base_url``).

What ``huggingface_hub.InferenceClient.text_generation`` sends to a TGI endpoint: ``{"inputs":
prompt, "parameters": {...}, "stream": bool}``. A plain answer is a one-element list with
``generated_text`` and, when ``parameters.details`` is true, ``details`` (``generated_tokens``,
and the prompt's tokens as ``prefill`` when ``decoder_input_details`` is true too). A stream is
server-sent events, one token each, the last with ``generated_text`` and ``details``. Input
tokens are the prompt's words (what ``prefill`` lists), output tokens the pieces of the reply.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tracker.demo._protocols._common import DEMO_REPLY, Reply, pieces, sse

__all__ = ["PATH", "reply"]

PATH = "/tgi"


def _tokens(parts: list[str]) -> list[dict[str, Any]]:
    return [{"id": i, "text": text, "logprob": -0.5, "special": False}
            for i, text in enumerate(parts)]


def _chunks(n_out: int) -> Iterator[bytes]:
    parts = pieces()
    for i, piece in enumerate(parts):
        last = i == len(parts) - 1
        yield sse({"index": i, "token": _tokens([piece])[0], "top_tokens": None,
                   "generated_text": DEMO_REPLY if last else None,
                   "details": {"finish_reason": "eos_token", "generated_tokens": n_out,
                               "seed": None, "input_length": None} if last else None})


def reply(path: str, body: Mapping[str, Any], fault: str | None) -> Reply | None:
    """Answer a TGI request, or None when `path` is not `PATH`."""
    if path != PATH:
        return None
    model = "tgi-demo"
    if fault in ("429", "500") or not isinstance(body.get("inputs"), str):
        status = int(fault) if fault in ("429", "500") else 422
        return Reply(model, 0, 0, status=status,
                     payload={"error": f"demo server fault {status}", "error_type": "demo"})
    n_in, n_out = max(1, len(str(body["inputs"]).split())), len(pieces())  # the prefill
    if body.get("stream"):
        return Reply(model, n_in, n_out, chunks=_chunks(n_out), content_type="text/event-stream")
    params = body.get("parameters")
    params = params if isinstance(params, Mapping) else {}
    answer: dict[str, Any] = {"generated_text": DEMO_REPLY}
    if params.get("details"):
        prompt = str(body["inputs"]).split()
        answer["details"] = {
            "finish_reason": "eos_token", "generated_tokens": n_out, "seed": None,
            "prefill": _tokens(prompt) if params.get("decoder_input_details") else [],
            "tokens": _tokens(pieces())}
    return Reply(model, n_in, n_out, payload=[answer])

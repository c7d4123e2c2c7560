"""A small local server speaking the LLM providers' HTTP APIs, for the demo and the tests.

`DemoServer` runs the standard library's `http.server` in a daemon thread on ``127.0.0.1:0`` and
answers, in the providers' JSON and server-sent-events wire formats:

- ``POST /v1/chat/completions`` (plain, ``stream=True``, with or without
  ``stream_options.include_usage``), ``POST /v1/responses`` (plain and streamed),
  ``POST /v1/embeddings``, ``POST /v1/completions`` (legacy), ``POST /v1/messages``
  (Anthropic, plain and streamed: ``message_start``, ``content_block_*``, ``message_delta``,
  ``message_stop``).
- Gemini, Bedrock Runtime, Mistral, Cohere v2, Ollama, TGI (``/tgi``), and tool calls for OpenAI
  requests that offer tools: see `tracker.demo._protocols`.

Usage numbers are deterministic: input tokens are the words of the request's text plus 3 per
message, output tokens the pieces of `DEMO_REPLY` sent. OpenAI responses report half the input
as cached (included in ``prompt_tokens``, as OpenAI does) and 2 reasoning tokens (included in
``completion_tokens``); Anthropic responses split the same input into ``input_tokens``,
``cache_read_input_tokens`` and ``cache_creation_input_tokens``; an OpenAI ``*audio*`` model's
prompt is a quarter audio. Every answer is appended to `DemoServer.served` for the tests.

Fault modes, per request, by the ``x-demo-fault`` header or a model named ``fault-<mode>``:
``429`` and ``500`` (error JSON), ``truncate`` (the connection drops mid-body), ``malformed``
(a stream with an invalid SSE data line), ``slow`` (waits ``x-demo-delay`` seconds, default 2,
before answering), ``nousage`` (a plain answer whose ``usage`` is null). The server never
reads, stores or echoes credentials.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tracker.demo._protocols import Reply, _common, reply
from tracker.demo._protocols._common import DEMO_REPLY, input_tokens

__all__ = ["DEMO_REPLY", "DemoServer", "ServedCall"]

FAULTS = ("429", "500", "truncate", "malformed", "slow", "nousage")
_FAULT = re.compile(r"fault-(429|500|truncate|malformed|slow|nousage)\b")
#: Fixed "created" timestamp, so two runs of the same call receive identical objects.
CREATED = 1_700_000_000


@dataclass(frozen=True, slots=True)
class ServedCall:
    """One request the server answered (no request text, no headers)."""

    path: str
    model: str
    stream: bool
    input_tokens: int
    output_tokens: int
    fault: str | None


REASONING_TOKENS = 2


def _openai_usage(n_in: int, n_out: int, model: str = "") -> dict[str, Any]:
    prompt, completion = {"cached_tokens": n_in // 2}, {"reasoning_tokens": REASONING_TOKENS}
    audio = n_in // 4 if "audio" in model else 0  # an audio model reports each modality
    prompt.update(audio_tokens=audio, **({"text_tokens": n_in - audio} if audio else {}))
    completion.update(audio_tokens=0, **({"text_tokens": n_out} if audio else {}))
    return {"prompt_tokens": n_in, "completion_tokens": n_out + REASONING_TOKENS,
            "total_tokens": n_in + n_out + REASONING_TOKENS,
            "prompt_tokens_details": prompt, "completion_tokens_details": completion}


def _responses_usage(n_in: int, n_out: int) -> dict[str, Any]:
    return {
        "input_tokens": n_in, "output_tokens": n_out + REASONING_TOKENS,
        "total_tokens": n_in + n_out + REASONING_TOKENS,
        "input_tokens_details": {"cached_tokens": n_in // 2, "cache_write_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": REASONING_TOKENS},
    }


def _anthropic_usage(n_in: int, n_out: int) -> dict[str, Any]:
    read, created = n_in // 2, n_in // 4
    return {"input_tokens": n_in - read - created, "cache_read_input_tokens": read,
            "cache_creation_input_tokens": created, "output_tokens": n_out}


def _response_object(model: str, status: str, text: str, usage: dict[str, Any] | None
                     ) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []}] if text else []
    output = [{"type": "message", "id": "msg_demo", "status": status, "role": "assistant",
               "content": content}] if status == "completed" else []
    return {"id": "resp_demo", "object": "response", "created_at": CREATED,
            "status": status, "model": model, "output": output, "usage": usage,
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "error": None,
            "incomplete_details": None, "instructions": None, "metadata": {},
            "temperature": 1.0, "top_p": 1.0, "text": {"format": {"type": "text"}}}


def _openai_events(path: str, model: str, body: Mapping[str, Any], n_in: int
                   ) -> Iterator[tuple[str | None, dict[str, Any] | str]]:
    pieces = _common.pieces()
    created = CREATED
    if path.endswith("/responses"):
        seq = iter(range(1_000))
        yield "response.created", {"type": "response.created", "sequence_number": next(seq),
                                   "response": _response_object(model, "in_progress", "", None)}
        item = {"type": "message", "id": "msg_demo", "status": "in_progress",
                "role": "assistant", "content": []}
        yield "response.output_item.added", {"type": "response.output_item.added",
                                             "sequence_number": next(seq), "output_index": 0,
                                             "item": item}
        part = {"type": "output_text", "text": "", "annotations": []}
        where = {"item_id": "msg_demo", "output_index": 0, "content_index": 0}
        yield "response.content_part.added", {"type": "response.content_part.added",
                                              "sequence_number": next(seq), "part": part, **where}
        for piece in pieces:
            yield "response.output_text.delta", {"type": "response.output_text.delta",
                                                 "sequence_number": next(seq), "delta": piece,
                                                 "logprobs": [], **where}
        yield "response.output_text.done", {"type": "response.output_text.done",
                                            "sequence_number": next(seq), "text": DEMO_REPLY,
                                            "logprobs": [], **where}
        done_part = {**part, "text": DEMO_REPLY}
        yield "response.content_part.done", {"type": "response.content_part.done",
                                             "sequence_number": next(seq), "part": done_part,
                                             **where}
        done_item = {**item, "status": "completed", "content": [done_part]}
        yield "response.output_item.done", {"type": "response.output_item.done",
                                            "sequence_number": next(seq), "output_index": 0,
                                            "item": done_item}
        final = _response_object(model, "completed", DEMO_REPLY,
                                 _responses_usage(n_in, len(pieces)))
        yield "response.completed", {"type": "response.completed",
                                     "sequence_number": next(seq), "response": final}
        return
    options = body.get("stream_options")
    include_usage = isinstance(options, Mapping) and bool(options.get("include_usage"))
    legacy = path.endswith("/completions") and not path.endswith("/chat/completions")
    base: dict[str, Any] = {"id": "cmpl-demo", "created": created, "model": model,
            "object": "text_completion" if legacy else "chat.completion.chunk"}
    if include_usage:
        base["usage"] = None
    steps: list[str | None] = [None, *pieces, ""]
    for i, step in enumerate(steps):
        finish = "stop" if i == len(steps) - 1 else None
        if legacy:
            if step is None:
                continue
            choice: dict[str, Any] = {"index": 0, "text": step, "logprobs": None,
                                      "finish_reason": finish}
        else:
            delta = {"role": "assistant", "content": ""} if step is None else (
                {"content": step} if step else {})
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        yield None, {**base, "choices": [choice]}
    if include_usage:
        yield None, {**base, "choices": [], "usage": _openai_usage(n_in, len(pieces), model)}
    yield None, "[DONE]"


def _anthropic_events(model: str, n_in: int) -> Iterator[tuple[str | None, dict[str, Any] | str]]:
    pieces = _common.pieces()
    start_usage = {**_anthropic_usage(n_in, 1)}
    message: dict[str, Any] = {
        "id": "msg_demo", "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    yield "message_start", {"type": "message_start", "message": message}
    yield "content_block_start", {"type": "content_block_start", "index": 0,
                                  "content_block": {"type": "text", "text": ""}}
    yield "ping", {"type": "ping"}
    for piece in pieces:
        yield "content_block_delta", {"type": "content_block_delta", "index": 0,
                                      "delta": {"type": "text_delta", "text": piece}}
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    yield "message_delta", {"type": "message_delta",
                            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                            "usage": {"output_tokens": len(pieces)}}  # cumulative, like the API
    yield "message_stop", {"type": "message_stop"}


def _plain_body(path: str, model: str, body: Mapping[str, Any], n_in: int) -> dict[str, Any]:
    n_out = len(_common.pieces())
    now = CREATED
    if path.endswith("/messages"):
        return {"id": "msg_demo", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": DEMO_REPLY}], "stop_reason": "end_turn",
                "stop_sequence": None, "usage": _anthropic_usage(n_in, n_out)}
    if path.endswith("/responses"):
        return _response_object(model, "completed", DEMO_REPLY, _responses_usage(n_in, n_out))
    if path.endswith("/embeddings"):
        raw = body.get("input")
        count = len(raw) if isinstance(raw, list) and raw and not isinstance(raw[0], int) else 1
        return {"object": "list", "model": model,
                "data": [{"object": "embedding", "index": i, "embedding": [0.125] * 8}
                         for i in range(count)],
                "usage": {"prompt_tokens": n_in, "total_tokens": n_in}}
    if path.endswith("/chat/completions"):
        message = {"role": "assistant", "content": DEMO_REPLY, "refusal": None}
        return {"id": "chatcmpl-demo", "object": "chat.completion", "created": now,
                "model": model, "usage": _openai_usage(n_in, n_out, model),
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": "stop"}]}
    return {"id": "cmpl-demo", "object": "text_completion", "created": now, "model": model,
            "usage": _openai_usage(n_in, n_out, model),
            "choices": [{"index": 0, "text": DEMO_REPLY, "logprobs": None,
                         "finish_reason": "stop"}]}


def _reported_output(path: str) -> int:
    n_out = len(_common.pieces())
    if path.endswith("/embeddings"):
        return 0
    return n_out if path.endswith("/messages") else n_out + REASONING_TOKENS


_ROUTES = ("/chat/completions", "/responses", "/embeddings", "/completions", "/messages")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        """Silence the default stderr access log."""

    def _send_json(self, status: int, payload: object, *, truncate: bool = False,
                   headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self._head(status, "application/json", {
            **(headers or {}), "content-length": str(len(data) * (2 if truncate else 1)),
            **({"connection": "close"} if truncate else {})})
        self.wfile.write(data[: len(data) // 2] if truncate else data)

    def _head(self, status: int, content_type: str, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in {"content-type": content_type, **headers,
                            "x-request-id": "req_demo"}.items():
            self.send_header(name, value)
        self.end_headers()

    def _error(self, status: int, anthropic_style: bool) -> None:
        kind = "rate_limit_error" if status == 429 else "api_error"
        error = {"type": kind, "message": f"demo server fault {status}"}
        payload: dict[str, Any] = {"type": "error", "error": error} if anthropic_style else {
            "error": {**error, "code": kind, "param": None}}
        self._send_json(status, payload)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _stream(self, frames: Iterator[bytes], fault: str | None, content_type: str,
                malformed: bytes, headers: Mapping[str, str] | None = None) -> None:
        # Closed after a stream; the header says so (a client must not reuse it from its pool).
        self._head(200, content_type, {**(headers or {}), "transfer-encoding": "chunked",
                                       "connection": "close"})
        for i, frame in enumerate(frames):
            if fault == "truncate" and i == 4:
                return  # drop the connection without the terminating chunk
            if fault == "malformed" and i == 3:
                self._chunk(malformed)
                break
            self._chunk(frame)
        self._chunk(b"")

    def _reply(self, answer: Reply, path: str, fault: str | None) -> None:
        self.server.served.append(ServedCall(path, answer.model, answer.stream,
                                             answer.input_tokens, answer.output_tokens, fault))
        if fault == "slow":
            time.sleep(float(self.headers.get("x-demo-delay") or 2.0))
        if answer.chunks is not None:
            self._stream(answer.chunks, fault, answer.content_type, answer.malformed,
                         answer.headers)
        else:
            self._send_json(answer.status, answer.payload, truncate=fault == "truncate",
                            headers=answer.headers)

    def do_POST(self) -> None:
        """Answer one API request (see the module docstring)."""
        path = self.path.split("?", 1)[0].rstrip("/")
        length = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = None
        named = _FAULT.search(f"{path} {body.get('model')}" if isinstance(body, dict) else path)
        fault = self.headers.get("x-demo-fault") or (named.group(1) if named else None)
        answer = reply(path, body, fault) if isinstance(body, dict) else None
        if answer is not None:
            self._reply(answer, path, fault or None)
            return
        if not isinstance(body, dict) or not path.endswith(_ROUTES):
            self._send_json(400 if path.endswith(_ROUTES) else 404,
                            {"error": {"type": "invalid_request_error", "message": "bad request"}})
            return
        model = str(body.get("model") or "demo-model")
        anthropic_style = path.endswith("/messages")
        stream = bool(body.get("stream"))
        n_in = input_tokens(body)
        self.server.served.append(ServedCall(path, model, stream, n_in, _reported_output(path),
                                             fault))
        if fault == "slow":
            time.sleep(float(self.headers.get("x-demo-delay") or 2.0))
        elif fault in ("429", "500"):
            self._error(int(fault), anthropic_style)
            return
        if stream and not path.endswith("/embeddings"):
            events = (_anthropic_events(model, n_in) if anthropic_style
                      else _openai_events(path, model, body, n_in))
            self._stream((_common.sse(p, e) for e, p in events), fault, "text/event-stream",
                         b"event: content_block_delta\ndata: {\"choices\": [ not json\n\n")
            return
        plain = _plain_body(path, model, body, n_in)
        if fault == "nousage":  # a server that reports no usage block
            plain["usage"] = None
        self._send_json(200, plain, truncate=fault == "truncate")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    served: list[ServedCall]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up early (a stream it stopped reading)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class DemoServer:
    """The local OpenAI- and Anthropic-compatible server, in a background thread.

    Use as a context manager (``with DemoServer() as server:``) or call `start()`/`stop()`.
    `openai_base_url` and `anthropic_base_url` are what to give the clients' ``base_url``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> DemoServer:
        """Bind and serve in a daemon thread; returns self."""
        if self._httpd is None:
            self._httpd = _Server(self._address, _Handler)
            self._httpd.served = []
            self._thread = threading.Thread(target=self._httpd.serve_forever,
                                            name="llm-energy-demo-server", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self._httpd is None:
            raise RuntimeError("the demo server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base_url(self) -> str:
        """Base URL for the OpenAI client (``.../v1``)."""
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Base URL for the Anthropic client."""
        return self.url

    @property
    def mistral_base_url(self) -> str:
        """``server_url`` for the Mistral client (Gemini, Bedrock and Ollama take `url`)."""
        return self.url + "/mistral"

    @property
    def cohere_base_url(self) -> str:  # the Cohere client's ``base_url``
        return self.url + "/cohere"

    @property
    def served(self) -> list[ServedCall]:
        """Every request answered so far, oldest first."""
        return self._httpd.served if self._httpd is not None else []

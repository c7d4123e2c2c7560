"""Tool calls for the demo server's OpenAI routes: what an agent needs to call a tool or hand off.

A ``POST /v1/chat/completions`` or ``POST /v1/responses`` request that offers function tools
(``tools``) is answered with a call of the first offered tool that the conversation has not
called yet (by name, from the assistant's earlier tool calls in ``messages`` or the
``function_call`` items of ``input``), plain or streamed; once every offered tool was called, the
request gets the usual text answer (this module answers None). An agent framework that offers a
hand-off as a tool (``transfer_to_<agent>``) therefore calls its tools in order, then hands off.

The arguments fill each required parameter of the tool's JSON schema with a fixed value of its
type. Usage: input tokens counted as for every route, `TOOL_CALL_TOKENS` output tokens.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from tracker.demo._protocols._common import Reply, input_tokens, sse

__all__ = ["TOOL_CALL_TOKENS", "reply"]

#: Output tokens a tool-call answer reports.
TOOL_CALL_TOKENS = 7
CREATED = 1_700_000_000
_VALUES: dict[str, Any] = {"string": "Oslo", "integer": 1, "number": 1.5, "boolean": True,
                           "array": [], "object": {}}


def _offered(body: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(name, parameters schema) of each function tool offered, in order."""
    out: list[tuple[str, Mapping[str, Any]]] = []
    for tool in body.get("tools") or ():
        if not isinstance(tool, Mapping) or tool.get("type") != "function":
            continue
        inner = tool.get("function")
        fn: Mapping[str, Any] = inner if isinstance(inner, Mapping) else tool
        name, params = fn.get("name"), fn.get("parameters")
        if isinstance(name, str):
            out.append((name, params if isinstance(params, Mapping) else {}))
    return out


def _called(body: Mapping[str, Any]) -> set[str]:
    """Names of the tools the conversation already called."""
    names: set[str] = set()
    for message in body.get("messages") or ():
        if isinstance(message, Mapping) and message.get("role") == "assistant":
            for call in message.get("tool_calls") or ():
                fn = call.get("function") if isinstance(call, Mapping) else None
                if isinstance(fn, Mapping) and isinstance(fn.get("name"), str):
                    names.add(fn["name"])
    items = body.get("input")
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping) and item.get("type") == "function_call" \
                and isinstance(item.get("name"), str):
            names.add(item["name"])
    return names


def _arguments(params: Mapping[str, Any]) -> str:
    props = params.get("properties")
    props = props if isinstance(props, Mapping) else {}
    args = {}
    for name in params.get("required") or ():
        prop = props.get(name)
        kind = prop.get("type") if isinstance(prop, Mapping) else None
        args[name] = _VALUES.get(kind if isinstance(kind, str) else "string", "Oslo")
    return json.dumps(args)


def _responses_usage(n_in: int) -> dict[str, Any]:
    return {"input_tokens": n_in, "output_tokens": TOOL_CALL_TOKENS,
            "total_tokens": n_in + TOOL_CALL_TOKENS,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0}}


def _chat_usage(n_in: int) -> dict[str, Any]:
    return {"prompt_tokens": n_in, "completion_tokens": TOOL_CALL_TOKENS,
            "total_tokens": n_in + TOOL_CALL_TOKENS}


def _response(model: str, item: dict[str, Any] | None, usage: dict[str, Any] | None
              ) -> dict[str, Any]:
    done = item is not None
    return {"id": "resp_demo_tool", "object": "response", "created_at": CREATED,
            "status": "completed" if done else "in_progress", "model": model,
            "output": [item] if item is not None else [], "usage": usage,
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "error": None,
            "incomplete_details": None, "instructions": None, "metadata": {},
            "temperature": 1.0, "top_p": 1.0, "text": {"format": {"type": "text"}}}


def _responses_chunks(model: str, item: dict[str, Any], n_in: int) -> Iterator[bytes]:
    seq = iter(range(100))
    started = {**item, "arguments": "", "status": "in_progress"}
    yield sse({"type": "response.created", "sequence_number": next(seq),
               "response": _response(model, None, None)}, "response.created")
    yield sse({"type": "response.output_item.added", "sequence_number": next(seq),
               "output_index": 0, "item": started}, "response.output_item.added")
    where = {"item_id": item["id"], "output_index": 0}
    yield sse({"type": "response.function_call_arguments.delta", "sequence_number": next(seq),
               "delta": item["arguments"], **where}, "response.function_call_arguments.delta")
    yield sse({"type": "response.function_call_arguments.done", "sequence_number": next(seq),
               "arguments": item["arguments"], **where},
              "response.function_call_arguments.done")
    yield sse({"type": "response.output_item.done", "sequence_number": next(seq),
               "output_index": 0, "item": item}, "response.output_item.done")
    yield sse({"type": "response.completed", "sequence_number": next(seq),
               "response": _response(model, item, _responses_usage(n_in))}, "response.completed")


def _chat_chunks(model: str, call: dict[str, Any], n_in: int, include_usage: bool
                 ) -> Iterator[bytes]:
    base: dict[str, Any] = {"id": "chatcmpl-demo-tool", "object": "chat.completion.chunk",
                            "created": CREATED, "model": model}
    head = {"index": 0, "id": call["id"], "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""}}
    yield sse({**base, "choices": [{"index": 0, "finish_reason": None, "delta": {
        "role": "assistant", "content": None, "tool_calls": [head]}}]})
    yield sse({**base, "choices": [{"index": 0, "finish_reason": None, "delta": {
        "tool_calls": [{"index": 0, "function": {"arguments": call["function"]["arguments"]}}]}}]})
    yield sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    if include_usage:
        yield sse({**base, "choices": [], "usage": _chat_usage(n_in)})
    yield sse("[DONE]")


def reply(path: str, body: Mapping[str, Any], fault: str | None) -> Reply | None:
    """A tool call for an OpenAI request that offers a tool not called yet, else None."""
    chat = path.endswith("/chat/completions")
    if fault or not (chat or path.endswith("/responses")) or not body.get("tools"):
        return None
    called = _called(body)
    todo = [(name, params) for name, params in _offered(body) if name not in called]
    if not todo:
        return None
    name, params = todo[0]
    model = str(body.get("model") or "demo-model")
    call_id = f"call_demo_{len(called) + 1}"
    arguments = _arguments(params)
    n_in = input_tokens(body)
    stream = bool(body.get("stream"))
    if chat:
        call = {"id": call_id, "type": "function",
                "function": {"name": name, "arguments": arguments}}
        if stream:
            options = body.get("stream_options")
            include = isinstance(options, Mapping) and bool(options.get("include_usage"))
            return Reply(model, n_in, TOOL_CALL_TOKENS, content_type="text/event-stream",
                         chunks=_chat_chunks(model, call, n_in, include))
        message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [call]}
        return Reply(model, n_in, TOOL_CALL_TOKENS, payload={
            "id": "chatcmpl-demo-tool", "object": "chat.completion", "created": CREATED,
            "model": model, "usage": _chat_usage(n_in),
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "tool_calls"}]})
    item = {"type": "function_call", "id": f"fc_demo_{len(called) + 1}", "call_id": call_id,
            "name": name, "arguments": arguments, "status": "completed"}
    if stream:
        return Reply(model, n_in, TOOL_CALL_TOKENS, content_type="text/event-stream",
                     chunks=_responses_chunks(model, item, n_in))
    return Reply(model, n_in, TOOL_CALL_TOKENS,
                 payload=_response(model, item, _responses_usage(n_in)))

"""Wire protocols of the local demo server beyond OpenAI and Anthropic, one module each.

`_tools` answers OpenAI requests that offer tools with a tool call (what agents need); `_tgi`
speaks Text Generation Inference at ``/tgi``.

Each module has ``reply(path, body, fault) -> Reply | None``: None when the path is not one of
its routes, else the answer (a JSON body or framed stream chunks) and what it reports as usage.
`tracker.demo._server.DemoServer` writes the reply and applies the transport faults
(``truncate``, ``malformed``, ``slow``); error faults (``429``, ``500``) are answered by the
protocol in its own error format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracker.demo._protocols import _bedrock, _cohere, _gemini, _mistral, _ollama, _tgi, _tools
from tracker.demo._protocols._common import Reply

__all__ = ["Reply", "reply"]

_MODULES = (_gemini, _bedrock, _mistral, _cohere, _ollama, _tgi, _tools)


def reply(path: str, body: Mapping[str, Any], fault: str | None) -> Reply | None:
    """The answer of the first protocol that serves `path`, or None."""
    for module in _MODULES:
        answer: Reply | None = module.reply(path, body, fault)
        if answer is not None:
            return answer
    return None

"""What the demo server's protocols share: the reply text, the token counting, `Reply`.

Usage numbers are deterministic: input tokens are the words of the request's text plus 3 per
message, output tokens the pieces of `DEMO_REPLY` sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEMO_REPLY", "Reply", "input_tokens", "pieces", "sse", "words"]

DEMO_REPLY = "Measured energy per token keeps the inference bill honest and the grid greener."


def words(obj: object) -> int:
    """Whitespace-separated words of every string in `obj` (``role``/``type`` values skipped)."""
    if isinstance(obj, str):
        return len(obj.split())
    if isinstance(obj, Mapping):
        return sum(words(v) for k, v in obj.items() if k not in ("role", "type"))
    if isinstance(obj, Sequence) and not isinstance(obj, (bytes, bytearray)):
        return sum(words(v) for v in obj)
    return 0


def input_tokens(body: Mapping[str, Any],
                 keys: Sequence[str] = ("messages", "input", "prompt", "system",
                                        "instructions")) -> int:
    """Input tokens of a request: the words under `keys` plus 3 per message (at least 1)."""
    messages = body.get("messages")
    n_messages = len(messages) if isinstance(messages, list) else 1
    return max(1, words([body.get(k) for k in keys]) + 3 * n_messages)


def pieces() -> list[str]:
    """`DEMO_REPLY` in the pieces a stream sends (one output token each)."""
    parts = DEMO_REPLY.split(" ")
    return [w + (" " if i < len(parts) - 1 else "") for i, w in enumerate(parts)]


def sse(payload: object, event: str | None = None) -> bytes:
    """One server-sent event (``event:`` line when given, ``data:`` JSON line)."""
    data = payload if isinstance(payload, str) else json.dumps(payload)
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {data}\n\n".encode()


@dataclass
class Reply:
    """One answer: a JSON `payload`, or `chunks` of a stream, and the usage it reports."""

    model: str
    input_tokens: int
    output_tokens: int
    payload: object = None
    chunks: Iterator[bytes] | None = None
    status: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    #: A chunk a ``malformed`` fault sends instead of the fourth one (then the stream ends).
    malformed: bytes = b"data: {\"not json\n\n"

    @property
    def stream(self) -> bool:
        """Whether this is a streamed reply."""
        return self.chunks is not None

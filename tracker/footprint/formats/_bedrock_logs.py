"""Amazon Bedrock model invocation logs (JSON Lines, as delivered to S3 or CloudWatch Logs).

Each record (``schemaType`` ``ModelInvocationLog``) is one invocation: ``timestamp``,
``accountId``, ``identity``, ``region``, ``requestId``, ``operation``, ``modelId``, and
``input`` / ``output`` objects holding the whole request and response bodies
(``inputBodyJson``, ``outputBodyJson``) next to ``inputTokenCount``, ``outputTokenCount`` and
the cache counts. Only the counts, the model id, the region and the time are read: the prompt
and completion text is never copied into anything. Required: ``modelId``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from tracker._usage import parse_count
from tracker.footprint._schema import UsageRow, name, timestamp

if TYPE_CHECKING:
    from tracker.footprint.formats import ReadContext

NAME = "bedrock-logs"
KIND = "json"


def sniff(first: Any) -> bool:
    """A model invocation log record."""
    return isinstance(first, dict) and (first.get("schemaType") == "ModelInvocationLog" or (
        "modelId" in first and isinstance(first.get("input"), dict)))


def _count(part: Any, key: str) -> int | None:
    return parse_count(part.get(key)) if isinstance(part, dict) else None


def read(records: Iterable[tuple[int, Any]], ctx: ReadContext) -> Iterator[UsageRow]:
    """One row per invocation."""
    for line, rec in records:
        if not isinstance(rec, dict):
            ctx.issues.bad(ctx.label, line)
            continue
        model = name(rec.get("modelId"))
        if model is None:
            ctx.missing(line, "modelId")
            continue
        source_in, source_out = rec.get("input"), rec.get("output")
        n_in = _count(source_in, "inputTokenCount")
        n_out = _count(source_out, "outputTokenCount")
        if n_in is None and n_out is None:
            ctx.issues.bad(ctx.label, line)
            continue
        ctx.ok()
        cached = _count(source_in, "cacheReadInputTokenCount") or 0
        written = _count(source_in, "cacheWriteInputTokenCount") or 0
        region = name(rec.get("region"))
        yield UsageRow(
            timestamp=timestamp(rec.get("timestamp")), provider="aws.bedrock", model=model,
            requests=1, input_tokens=(n_in or 0) + cached + written, output_tokens=n_out or 0,
            cached_input_tokens=cached, project=name(rec.get("accountId")),
            labels=(("region", region),) if region else ())

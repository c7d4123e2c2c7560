"""OpenAI organization Usage API pages saved as JSON: completions and embeddings.

The pages of ``/v1/organization/usage/completions`` and ``/v1/organization/usage/embeddings``.

A page (``"object": "page"``) holds buckets (``start_time``, ``end_time``: Unix seconds), each
with ``results``: ``input_tokens`` (cached ones included), ``output_tokens`` (completions),
``input_cached_tokens``, ``num_model_requests``, and the group keys asked for (``model``,
``project_id``, ``api_key_id``, ``user_id``, ``batch``, ``service_tier``). A result without a
``model`` (usage not grouped by model) is priced by the fallback model. Required:
``num_model_requests`` and ``input_tokens``. Other usage kinds (images, audio, moderations,
vector stores, code interpreter) carry no tokens to price and are skipped. A result with
``"batch": true`` (usage grouped by ``batch``) is Batch API usage, priced at the price table's
batch prices.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from tracker._usage import parse_count
from tracker.footprint._schema import UsageRow, name, timestamp

if TYPE_CHECKING:
    from tracker.footprint.formats import ReadContext

NAME = "openai-usage"
KIND = "json"
_PRICED = ("organization.usage.completions.result", "organization.usage.embeddings.result")


def sniff(first: Any) -> bool:
    """A usage page or bucket."""
    if not isinstance(first, dict):
        return False
    if first.get("object") == "bucket":
        return True
    data = first.get("data")
    return (first.get("object") == "page" and isinstance(data, list)
            and any(isinstance(b, dict) and b.get("object") == "bucket" for b in data))


def _buckets(rec: dict[str, Any]) -> list[Any]:
    if rec.get("object") == "bucket":
        return [rec]
    data = rec.get("data")
    return data if isinstance(data, list) else []


def read(records: Iterable[tuple[int, Any]], ctx: ReadContext) -> Iterator[UsageRow]:
    """One row per bucket result."""
    for line, rec in records:
        if not isinstance(rec, dict) or not sniff(rec):
            ctx.missing(line, "data")
            continue
        for bucket in _buckets(rec):
            if not isinstance(bucket, dict) or not isinstance(bucket.get("results"), list):
                ctx.issues.bad(ctx.label, line)
                continue
            ts = timestamp(bucket.get("start_time"))
            for result in bucket["results"]:
                if not isinstance(result, dict) or result.get("object") not in _PRICED:
                    continue
                requests = parse_count(result.get("num_model_requests"))
                n_in = parse_count(result.get("input_tokens"))
                if requests is None:
                    ctx.missing(line, "num_model_requests")
                    continue
                if n_in is None:
                    ctx.missing(line, "input_tokens")
                    continue
                ctx.ok()
                if requests == 0:
                    continue
                yield UsageRow(
                    timestamp=ts, provider="openai", model=name(result.get("model")),
                    requests=requests, input_tokens=n_in,
                    output_tokens=parse_count(result.get("output_tokens")) or 0,
                    cached_input_tokens=parse_count(result.get("input_cached_tokens")) or 0,
                    project=name(result.get("project_id")),
                    api_key_id=name(result.get("api_key_id")),
                    batch=result.get("batch") is True)

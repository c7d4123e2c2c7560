"""Anthropic Admin API usage report pages saved as JSON.

The pages of ``/v1/organizations/usage_report/messages``.

A page holds ``data``: time buckets (``starting_at``, ``ending_at``: RFC 3339) with ``results``:
``uncached_input_tokens``, ``cache_creation`` (``ephemeral_1h_input_tokens``,
``ephemeral_5m_input_tokens``), ``cache_read_input_tokens``, ``output_tokens``, ``server_tool_use``
and the group keys asked for (``model``, ``workspace_id``, ``api_key_id``, ``service_tier``,
``context_window``). Input tokens are the three input counts together, cache reads the cached part,
cache writes the written part (for the API price). A result of the ``batch`` service tier is
Message Batches usage, priced at the price table's batch prices. The report counts no requests: a
row's request count is assumed from its input tokens at the mean request size of the options
(`DEFAULT_MEAN_INPUT_TOKENS`), and the row says it was assumed. Required: ``output_tokens`` and
``uncached_input_tokens``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from tracker._usage import parse_count
from tracker.footprint._schema import UsageRow, name, timestamp

if TYPE_CHECKING:
    from tracker.footprint.formats import ReadContext

NAME = "anthropic-usage"
KIND = "json"


def _is_bucket(value: Any) -> bool:
    return isinstance(value, dict) and "starting_at" in value and isinstance(
        value.get("results"), list)


def sniff(first: Any) -> bool:
    """A usage report page (or one of its buckets)."""
    if _is_bucket(first):
        return True
    data = first.get("data") if isinstance(first, dict) else None
    return isinstance(data, list) and any(_is_bucket(b) for b in data)


def _creation(value: Any) -> int:
    if not isinstance(value, dict):
        return 0
    return sum(parse_count(v) or 0 for v in value.values())


def read(records: Iterable[tuple[int, Any]], ctx: ReadContext) -> Iterator[UsageRow]:
    """One row per bucket result, its request count assumed."""
    mean = ctx.options.mean_input_tokens
    for line, rec in records:
        if not isinstance(rec, dict):
            ctx.issues.bad(ctx.label, line)
            continue
        buckets = [rec] if _is_bucket(rec) else rec.get("data")
        if not isinstance(buckets, list):
            ctx.missing(line, "data")
            continue
        for bucket in buckets:
            if not _is_bucket(bucket):
                ctx.issues.bad(ctx.label, line)
                continue
            ts = timestamp(bucket.get("starting_at"))
            for result in bucket["results"]:
                if not isinstance(result, dict):
                    ctx.issues.bad(ctx.label, line)
                    continue
                uncached = parse_count(result.get("uncached_input_tokens"))
                n_out = parse_count(result.get("output_tokens"))
                if uncached is None:
                    ctx.missing(line, "uncached_input_tokens")
                    continue
                if n_out is None:
                    ctx.missing(line, "output_tokens")
                    continue
                ctx.ok()
                cached = parse_count(result.get("cache_read_input_tokens")) or 0
                written = _creation(result.get("cache_creation"))
                n_in = uncached + cached + written
                if n_in == 0 and n_out == 0:
                    continue
                yield UsageRow(
                    timestamp=ts, provider="anthropic", model=name(result.get("model")),
                    requests=max(1, math.ceil(n_in / mean)), requests_assumed=True,
                    input_tokens=n_in, output_tokens=n_out, cached_input_tokens=cached,
                    project=name(result.get("workspace_id")),
                    api_key_id=name(result.get("api_key_id")), cache_write_tokens=written,
                    batch=result.get("service_tier") == "batch")

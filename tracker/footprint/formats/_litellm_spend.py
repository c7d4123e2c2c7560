"""LiteLLM proxy spend logs: an export of the ``LiteLLM_SpendLogs`` table.

JSON Lines, a JSON array, or CSV.

A row is one request: ``request_id``, ``call_type``, ``api_key`` (LiteLLM stores the hash of
the virtual key), ``spend``, ``total_tokens``, ``prompt_tokens``, ``completion_tokens``,
``startTime``, ``endTime``, ``model``, ``model_group``, ``custom_llm_provider``, ``api_base``,
``user``, ``metadata``, ``cache_hit``, ``request_tags``, ``team_id``, ``end_user``, and, where
the proxy stores them, ``messages`` and ``response``: those are never read. The row's project is
``team_id``; its API key id is the stored hash (a key itself is never kept: a value that is not
a hex digest is dropped). Required: ``model``.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from tracker._usage import parse_count
from tracker.footprint._schema import UsageRow, name, timestamp

if TYPE_CHECKING:
    from tracker.footprint.formats import ReadContext

NAME = "litellm-spend"
KIND = "any"
#: LiteLLM's provider names -> the OpenTelemetry ``gen_ai.provider.name`` the SDK prices by.
PROVIDERS = {"bedrock": "aws.bedrock", "bedrock_converse": "aws.bedrock",
             "vertex_ai": "gcp.vertex_ai", "vertex_ai_beta": "gcp.vertex_ai",
             "gemini": "gcp.gemini", "azure": "azure.ai.openai", "azure_ai": "azure.ai.openai",
             "mistral": "mistral_ai", "text-completion-openai": "openai"}
_HEX = frozenset(string.hexdigits)


def sniff(first: Any) -> bool:
    """A spend-log row (JSON) or header (CSV)."""
    keys = first if isinstance(first, list) else (first if isinstance(first, dict) else ())
    return "request_id" in keys and "prompt_tokens" in keys and "startTime" in keys


def _key_id(value: Any) -> str | None:
    text = name(value)
    return text if text is not None and len(text) >= 32 and set(text) <= _HEX else None


def read(records: Iterable[tuple[int, Any]], ctx: ReadContext) -> Iterator[UsageRow]:
    """One row per request."""
    for line, rec in records:
        if not isinstance(rec, dict):
            ctx.issues.bad(ctx.label, line)
            continue
        model = name(rec.get("model"))
        if model is None:
            ctx.missing(line, "model")
            continue
        n_in = parse_count(rec.get("prompt_tokens"), text=True)
        n_out = parse_count(rec.get("completion_tokens"), text=True)
        if n_in is None and n_out is None:
            ctx.issues.bad(ctx.label, line)
            continue
        ctx.ok()
        provider = name(rec.get("custom_llm_provider"))
        if provider is not None:
            prefix = provider + "/"
            model = model[len(prefix):] if model.startswith(prefix) else model
            provider = PROVIDERS.get(provider, provider)
        yield UsageRow(
            timestamp=timestamp(rec.get("startTime")), provider=provider, model=model,
            requests=1, input_tokens=n_in or 0, output_tokens=n_out or 0,
            project=name(rec.get("team_id")), api_key_id=_key_id(rec.get("api_key")),
            labels=tuple((k, v) for k, v in (("user", name(rec.get("user"))),
                                              ("end_user", name(rec.get("end_user"))))
                         if v is not None))

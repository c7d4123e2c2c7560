"""Any CSV of usage, with a column map: ``--map input_tokens=prompt_tok,output_tokens=...``.

The canonical column names (`COLUMNS`) are taken as they are; the map renames others to them
(``label.NAME=column`` makes a label). Each row is one request unless a ``requests`` column
says how many. Required: ``input_tokens`` and ``output_tokens``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from tracker._usage import parse_count
from tracker.footprint._schema import UsageRow, name, timestamp

if TYPE_CHECKING:
    from tracker.footprint.formats import ReadContext

NAME = "csv"
KIND = "csv"
COLUMNS = ("timestamp", "provider", "model", "requests", "input_tokens", "output_tokens",
           "cached_input_tokens", "project", "api_key_id", "function")


def sniff(first: Any) -> bool:
    """A header with the canonical token columns."""
    return isinstance(first, list) and "input_tokens" in first and "output_tokens" in first


def read(records: Iterable[tuple[int, Any]], ctx: ReadContext) -> Iterator[UsageRow]:
    """One row per CSV row."""
    mapping = dict(ctx.options.mapping)
    columns = {c: mapping.get(c, c) for c in COLUMNS}
    labels = {k[len("label."):]: v for k, v in mapping.items() if k.startswith("label.")}
    for line, rec in records:
        def get(field: str, rec: dict[str, Any] = rec) -> Any:
            return rec.get(columns[field])

        n_in = parse_count(get("input_tokens"), text=True)
        n_out = parse_count(get("output_tokens"), text=True)
        if columns["input_tokens"] not in rec:
            ctx.missing(line, columns["input_tokens"])
            continue
        if columns["output_tokens"] not in rec:
            ctx.missing(line, columns["output_tokens"])
            continue
        requests = parse_count(get("requests"), text=True) if columns["requests"] in rec else 1
        if n_in is None or n_out is None or requests is None:
            ctx.issues.bad(ctx.label, line)
            continue
        ctx.ok()
        if requests == 0:
            continue
        yield UsageRow(
            timestamp=timestamp(get("timestamp")), provider=name(get("provider")),
            model=name(get("model")), requests=requests, input_tokens=n_in, output_tokens=n_out,
            cached_input_tokens=parse_count(get("cached_input_tokens"), text=True) or 0,
            project=name(get("project")), api_key_id=name(get("api_key_id")),
            function=name(get("function")),
            labels=tuple((k, v) for k, c in labels.items() if (v := name(rec.get(c)))))

"""Usage readers, one module per format, each producing usage rows.

Each reader yields `tracker.footprint._schema.UsageRow` values.

A format module has ``NAME``, ``KIND`` (``json`` or ``csv``), ``sniff(first)`` (the first JSON
record, or the CSV header: whether the source is in this format) and ``read(records, ctx)``
(records: (line, JSON value or CSV row dict) pairs). A new format is one more module listed in
`FORMATS`. `read_source()` picks the format (``auto``: the first module whose ``sniff`` accepts
the source) and reads it; an unknown format or a missing required field is a `ConfigError`
naming the file and the field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from tracker.exceptions import ConfigError
from tracker.footprint._schema import DEFAULT_MEAN_INPUT_TOKENS, UsageRow
from tracker.footprint._sources import Issues, Source, csv_header, csv_records, json_records
from tracker.footprint.formats import (
    _anthropic_usage,
    _bedrock_logs,
    _csv,
    _ledger,
    _litellm_spend,
    _openai_usage,
    _otlp_json,
)

__all__ = ["FORMATS", "ReadContext", "ReadOptions", "read_source", "resolve_format"]

#: Format name -> reader module, in the order ``auto`` tries them.
FORMATS: dict[str, ModuleType] = {m.NAME: m for m in (
    _ledger, _otlp_json, _openai_usage, _anthropic_usage, _bedrock_logs, _litellm_spend, _csv)}


@dataclass(frozen=True)
class ReadOptions:
    """What a reader needs beyond the source: the CSV column map, assumed request size."""

    mapping: Mapping[str, str] = field(default_factory=dict)
    mean_input_tokens: int = DEFAULT_MEAN_INPUT_TOKENS
    #: The ledger label read as the ``project`` key.
    project_label: str = "project"


@dataclass
class ReadContext:
    """One source being read: its name, the malformed-line count, the options."""

    label: str
    format: str
    issues: Issues
    options: ReadOptions
    seen: bool = False

    def missing(self, line: int, name: str) -> None:
        """A record lacks a required field: `ConfigError` on the first record, else malformed."""
        if not self.seen:
            raise ConfigError("sources", f"{self.label}: line {line} has no {name!r}, a field "
                                         f"the {self.format} format requires")
        self.issues.bad(self.label, line)

    def ok(self) -> None:
        """A record was read."""
        self.seen = True


def _kind(source: Source) -> str:
    from tracker.footprint._sources import peek

    head = peek(source, 4096).lstrip()
    return "json" if head[:1] in (b"{", b"[") else "csv"


def _detect(source: Source, _: Issues, options: ReadOptions) -> ModuleType:
    kind = _kind(source)
    first: Any
    if kind == "json":
        first = None
        scratch = Issues()
        for _line, value in json_records(source, scratch):
            first = value
            break
    else:
        first = csv_header(source)
        if options.mapping:
            return _csv
    for module in FORMATS.values():
        if module.KIND in (kind, "any") and first is not None and module.sniff(first):
            return module
    raise ConfigError("format", f"{source.label}: not a format this reads (give --format: "
                                f"{', '.join(FORMATS)})")


def resolve_format(source: Source, fmt: str, options: ReadOptions) -> str:
    """The format of `source`: `fmt`, or the detected one when ``auto``."""
    if fmt == "auto":
        return str(_detect(source, Issues(), options).NAME)
    if fmt not in FORMATS:
        raise ConfigError("format", f"unknown {fmt!r} (choose from auto, {', '.join(FORMATS)})")
    return fmt


def read_source(source: Source, fmt: str, issues: Issues,
                options: ReadOptions) -> Iterator[UsageRow]:
    """The usage rows of one source in format `fmt` (``auto``: detected)."""
    module = FORMATS[resolve_format(source, fmt, options)]
    ctx = ReadContext(source.label, module.NAME, issues, options)
    kind = _kind(source) if module.KIND == "any" else module.KIND
    records = (json_records(source, issues) if kind == "json"
               else csv_records(source, issues))
    rows: Iterator[UsageRow] = module.read(records, ctx)
    return rows

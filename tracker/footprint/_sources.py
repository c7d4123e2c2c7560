"""Where usage comes from: files, directories, globs, gzip, ``-`` (standard input).

`expand()` turns the command line's SOURCE arguments into sources (a directory: its files,
sorted, recursively; a glob: its matches; a missing path is a `ConfigError` naming it).
`json_records()` yields the JSON objects of a source with their line numbers, whether the file
is JSON Lines or one (pretty-printed) JSON document; `csv_records()` yields a CSV's rows.
Lines that do not parse are counted in `Issues` (file, line) and skipped; a line longer than
`MAX_LINE` bytes is one of them, never read whole into a record.
"""

from __future__ import annotations

import csv
import glob
import gzip
import io
import json
import os
import sys
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from tracker.exceptions import ConfigError

__all__ = ["MAX_DOCUMENT", "MAX_LINE", "Issues", "Source", "csv_header", "csv_records",
           "expand", "json_records", "peek"]

#: Longest line read (bytes): a Bedrock invocation log line holds whole prompts, so this is large;
#: a longer line is malformed.
MAX_LINE = 16 * 1024 * 1024
#: Largest single JSON document read whole (a saved usage-API page, pretty-printed).
MAX_DOCUMENT = 256 * 1024 * 1024
_SHOWN = 5
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class Issues:
    """Malformed lines or rows: how many, and the first few (source, line)."""

    count: int = 0
    first: list[tuple[str, int]] = field(default_factory=list)

    def bad(self, source: str, line: int) -> None:
        """Count one malformed line."""
        self.count += 1
        if len(self.first) < _SHOWN:
            self.first.append((source, line))

    def message(self) -> str | None:
        """One warning naming the malformed lines, or None when there were none."""
        if not self.count:
            return None
        where = ", ".join(f"{s}:{n}" for s, n in self.first)
        more = f" and {self.count - len(self.first)} more" if self.count > len(self.first) else ""
        noun = "line or row" if self.count == 1 else "lines or rows"
        return f"skipped {self.count} malformed {noun} ({where}{more}); the rest is priced"


@dataclass
class Source:
    """One input: a file path, or standard input (read once, kept in memory)."""

    label: str
    path: str | None = None
    data: bytes | None = None

    def open(self) -> IO[bytes]:
        """The source's bytes, decompressed when gzip."""
        raw: IO[bytes] = (io.BytesIO(self.data or b"") if self.path is None
                          else open(self.path, "rb"))  # noqa: SIM115 (the caller closes it)
        head = raw.read(2)
        raw.seek(0)
        if head != _GZIP_MAGIC:
            return raw
        if self.path is None:
            return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
        raw.close()
        return gzip.open(self.path, "rb")  # type: ignore[return-value]


def expand(sources: str | Sequence[str]) -> list[Source]:
    """The files named by `sources` (paths, directories, globs, ``-``), in order."""
    items = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
    if not items:
        raise ConfigError("sources", "name at least one file, directory, glob or -")
    found: list[Source] = []
    for item in items:
        text = os.fspath(item)
        if text == "-":
            found.append(Source("<stdin>", None, sys.stdin.buffer.read()))
        elif os.path.isdir(text):
            for root, dirs, files in os.walk(text):
                dirs.sort()
                found += [Source(os.path.join(root, f), os.path.join(root, f))
                          for f in sorted(files) if not f.startswith(".")]
        elif os.path.isfile(text):
            found.append(Source(text, text))
        elif glob.has_magic(text):
            matches = sorted(m for m in glob.glob(text, recursive=True) if os.path.isfile(m))
            if not matches:
                raise ConfigError("sources", f"{text}: no file matches")
            found += [Source(m, m) for m in matches]
        else:
            raise ConfigError("sources", f"{text}: no such file or directory")
    return found


def peek(source: Source, size: int = 65536) -> bytes:
    """The first bytes of a source (decompressed)."""
    try:
        with source.open() as stream:
            return stream.read(size)
    except (OSError, EOFError) as exc:
        raise ConfigError("sources", f"{source.label}: cannot be read ({exc.__class__.__name__})"
                          ) from None


def _lines(source: Source) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line) pairs; None for a line over `MAX_LINE` (its rest is skipped)."""
    with source.open() as stream:
        number = 0
        while True:
            try:
                line = stream.readline(MAX_LINE + 1)
            except (OSError, EOFError, zlib.error):  # a truncated or corrupt gzip stream
                yield number + 1, None
                return
            if not line:
                return
            number += 1
            if len(line) > MAX_LINE:
                while line and not line.endswith(b"\n"):
                    line = stream.readline(MAX_LINE)
                yield number, None
                continue
            yield number, line


def json_records(source: Source, issues: Issues) -> Iterator[tuple[int, Any]]:
    """The JSON values of a JSON Lines file, or of one JSON document (an array: its items)."""
    head = peek(source, 4096).lstrip()
    if head[:1] == b"[" or (head[:1] == b"{" and _first_line_open(source)):
        with source.open() as stream:
            data = stream.read(MAX_DOCUMENT + 1)
        if len(data) > MAX_DOCUMENT:
            issues.bad(source.label, 1)
            return
        try:
            value = json.loads(data)
        except (ValueError, RecursionError):
            issues.bad(source.label, 1)
            return
        for item in value if isinstance(value, list) else [value]:
            yield 1, item
        return
    for number, line in _lines(source):
        if line is None:
            issues.bad(source.label, number)
            continue
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except (ValueError, RecursionError):
            issues.bad(source.label, number)


def _first_line_open(source: Source) -> bool:
    """Whether the first line is not a whole JSON value (a pretty-printed document)."""
    for _, line in _lines(source):
        if line is None:
            return True
        if not line.strip():
            continue
        try:
            json.loads(line)
        except (ValueError, RecursionError):
            return True
        return False
    return False


def csv_records(source: Source, issues: Issues) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of a CSV file with a header, as dicts, with their line numbers."""
    csv.field_size_limit(MAX_LINE)
    with source.open() as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
        reader = csv.reader(text)
        try:
            header = next(reader)
        except (StopIteration, csv.Error):
            return
        width = len(header)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except (OSError, EOFError, zlib.error):
                issues.bad(source.label, reader.line_num + 1)
                return
            except csv.Error:
                issues.bad(source.label, reader.line_num)
                continue
            if not row:
                continue
            if len(row) != width:
                issues.bad(source.label, reader.line_num)
                continue
            yield reader.line_num, dict(zip(header, row, strict=True))


def csv_header(source: Source) -> list[str]:
    """The header row of a CSV source ([] when it has none)."""
    with source.open() as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
        try:
            return next(csv.reader(text))
        except (StopIteration, csv.Error):
            return []

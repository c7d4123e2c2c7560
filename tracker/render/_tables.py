"""Terminal output for people: tables that fit the width, colour rules, progress.

`render_table(columns, rows, ...)` is the one table of the command line. Its layout rules
(docs/cli.md, "Tables and terminal width"):

- The width is ``width=`` if given, else ``COLUMNS`` when set, else the terminal's; piped or
  redirected output without ``COLUMNS`` has no width limit and is never cut or wrapped.
- A number is never cut and never wrapped. Text cells (names, sources) wrap onto more lines,
  at spaces or after ``-``, ``:``, ``/``, ``_``, ``.`` where they can, down to their column's
  ``min_width``; headers wrap at spaces.
- When that is not enough, columns are dropped, the highest ``priority`` number first (ties: the
  rightmost first); the first column is never dropped, and a note under the table names the
  columns left out (``--json`` has them all).
- When fewer than two columns would be left, the table is stacked instead: each row becomes a
  block of ``name  value`` lines.

`rich` (the optional ``cli`` extra) only styles the lines laid out here (bold header and total,
the first column in cyan), on a terminal, as `rich.text.Text`: a cell is never read as markup, so
a model named ``[/bold]`` or ``[link=...]`` prints as written. Colour follows the usual
conventions: off when not a terminal, off when ``NO_COLOR`` is set (https://no-color.org), off
for ``TERM=dumb``. Progress goes to stderr, only on a terminal.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

__all__ = ["Column", "Progress", "color_enabled", "output_width", "render_table", "rich_console",
           "wrap_text", "write_wrapped"]

#: Spaces between two columns.
GAP = 2
#: Where a long word may break: after these characters.
_BREAK_AFTER = re.compile(r"(?<=[-:/_.,])")


@dataclass(frozen=True)
class Column:
    """A table column.

    ``align``: ``"l"`` or ``"r"``. ``numeric`` (default: right-aligned columns are numeric): its
    cells are never cut nor wrapped. ``priority``: 1 is the most important; when the width is
    short, the highest number is dropped first (the first column never is). ``min_width``: the
    narrowest a text column wraps to before columns are dropped. ``max_lines``: a text cell wraps
    to at most this many lines, the last ending in ``…`` after a whole word (never after a digit);
    the full text is in ``--json`` and in piped output. ``wrap``: a priority-1 text column that
    wraps before any column is dropped (text columns of priority 2 and above always do).
    """

    name: str
    align: str = "l"
    numeric: bool | None = None
    priority: int = 1
    min_width: int = 12
    max_lines: int | None = None
    wrap: bool = False

    @property
    def is_numeric(self) -> bool:
        """Whether the cells are numbers (never cut, never wrapped)."""
        return self.align == "r" if self.numeric is None else self.numeric


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def color_enabled(stream: TextIO) -> bool:
    """Whether colour may be written to ``stream`` (terminal, no ``NO_COLOR``, not dumb)."""
    return (_is_tty(stream) and not os.environ.get("NO_COLOR")
            and os.environ.get("TERM", "") != "dumb")


def output_width(stream: TextIO) -> int | None:
    """The width to fit: ``COLUMNS`` when set, else the terminal's; None (no limit) when piped."""
    text = os.environ.get("COLUMNS", "").strip()
    if text.isdigit() and 20 <= int(text) <= 10_000:
        return int(text)
    if not _is_tty(stream):
        return None
    try:
        return max(20, os.get_terminal_size(stream.fileno()).columns)
    except (AttributeError, ValueError, OSError):
        return max(20, shutil.get_terminal_size().columns)


def rich_console(stream: TextIO) -> Any | None:
    """A `rich` Console writing to ``stream`` if it is a terminal and rich is installed."""
    if not _is_tty(stream):
        return None
    try:
        from rich.console import Console
    except ImportError:
        return None
    return Console(file=stream, no_color=not color_enabled(stream), highlight=False,
                   soft_wrap=True, markup=False, emoji=False, width=10_000)


def wrap_text(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width``: at spaces, else after ``-:/_.,``, else anywhere."""
    width = max(1, width)
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        while len(word) > width:
            pieces = [p for p in _BREAK_AFTER.split(word) if p]
            head = ""
            for piece in pieces:
                if len(head) + len(piece) > width:
                    break
                head += piece
            head = head or word[:width]
            lines.append(head)
            word = word[len(head):]
        current = word
    lines.append(current)
    return lines or [""]


def _clip(lines: list[str], limit: int | None, width: int) -> list[str]:
    """At most ``limit`` lines; the last cut after a whole word and marked ``…``."""
    if limit is None or len(lines) <= limit:
        return lines
    last = lines[limit - 1]
    words = last.split(" ")
    while words and (len(" ".join(words)) + 1 > width or words[-1][-1:].isdigit()):
        words.pop()
    return [*lines[:limit - 1], (" ".join(words) + "…") if words else "…"]


def _min_width(column: Column, cells: list[str]) -> int:
    """The narrowest the column may be: numbers whole, header words whole, text to min_width."""
    header_word = max((len(w) for w in column.name.split(" ")), default=0)
    natural = max((len(c) for c in cells), default=0)
    if column.is_numeric:
        return max(natural, header_word)
    return max(min(max(natural, len(column.name)), column.min_width), 1)


def _natural(column: Column, cells: list[str]) -> int:
    return max([len(column.name), *(len(c) for c in cells)])


def _shrink(columns: list[Column], natural: list[int], least: list[int],
            budget: int) -> list[int]:
    """Narrow text columns to ``budget``: the least important (then the widest) first."""
    widths = natural[:]
    while sum(widths) > budget:
        k = max((j for j in range(len(widths)) if widths[j] > least[j]),
                key=lambda j: (columns[j].priority, widths[j]))
        widths[k] -= 1
    return widths


def _fit(columns: list[Column], body: list[list[str]],
         width: int) -> tuple[list[int], list[int]] | None:
    """(kept column indices, their widths) that fit ``width``, or None: stack the table.

    In order: the natural widths; text columns of priority 2 and above wrapped; those columns
    dropped (highest priority number first); every text column wrapped; columns of priority 1
    dropped (rightmost first); stacked when fewer than two columns would be left.
    """
    kept = list(range(len(columns)))
    cells = [[row[i] for row in body] for i in range(len(columns))]
    while True:
        shown = [columns[i] for i in kept]
        natural = [_natural(columns[i], cells[i]) for i in kept]
        least = [_min_width(columns[i], cells[i]) for i in kept]
        budget = width - GAP * (len(kept) - 1)
        if sum(natural) <= budget:
            return kept, natural
        soft = [n if c.priority <= 1 and not c.wrap else m
                for c, n, m in zip(shown, natural, least, strict=True)]
        if sum(soft) <= budget:
            return kept, _shrink(shown, natural, soft, budget)
        droppable = [i for i in kept[1:] if columns[i].priority > 1]
        if droppable:
            kept.remove(max(droppable, key=lambda i: (columns[i].priority, i)))
            continue
        if sum(least) <= budget:
            return kept, _shrink(shown, natural, least, budget)
        if len(kept) <= 2:
            return None
        kept.remove(kept[-1])


Segment = tuple[str, str | None]


def _row_lines(cells: list[str], columns: list[Column], widths: list[int],
               style: str | None, first_style: str | None, header: bool) -> list[list[Segment]]:
    wrapped = [wrap_text(c, w) if header else [c] if col.is_numeric else
               _clip(wrap_text(c, w), col.max_lines, w)
               for c, col, w in zip(cells, columns, widths, strict=True)]
    height = max(len(w) for w in wrapped)
    out: list[list[Segment]] = []
    for line in range(height):
        parts: list[Segment] = []
        for j, (col, w, lines) in enumerate(zip(columns, widths, wrapped, strict=True)):
            text = lines[line] if line < len(lines) else ""
            text = text.rjust(w) if col.align == "r" else text.ljust(w)
            if j:
                parts.append((" " * GAP, None))
            parts.append((text, first_style if j == 0 and first_style else style))
        out.append(parts)
    return out


def _stacked(columns: list[Column], body: list[list[str]], width: int,
             header: bool) -> list[list[Segment]]:
    label = max(len(c.name) for c in columns[1:]) if len(columns) > 1 else 0
    out: list[list[Segment]] = []
    for n, row in enumerate(body):
        if n:
            out.append([("", None)])
        out.extend([[(line, "bold cyan")] for line in wrap_text(row[0], width)])
        for col, cell in zip(columns[1:], row[1:], strict=True):
            name = col.name if header else ""
            room = width - label - 4
            lines = [cell] if col.is_numeric or room < 8 else wrap_text(cell, room)
            for k, line in enumerate(lines):
                out.append([(f"  {(name if k == 0 else ''):<{label}}  ", "bold"), (line, None)])
    return out


def render_table(columns: Sequence[str | Column], rows: Sequence[Sequence[str]], *,
                 align: str | None = None, total: Sequence[str] | None = None,
                 title: str | None = None, out: TextIO | None = None,
                 width: int | None = None, header: bool = True) -> None:
    """Print a table that fits the width (see the module's rules); never cuts a number.

    ``columns``: `Column` objects, or names with ``align`` giving one ``l``/``r`` per column.
    ``rows``: the cells, as text. ``total``: a last row, in bold. ``header=False`` omits the
    header line (a card of label/value/note rows). ``width``: overrides `output_width`.
    """
    stream = out if out is not None else sys.stdout
    cols = [c if isinstance(c, Column) else
            Column(c, align=(align[i] if align is not None and i < len(align) else "l"))
            for i, c in enumerate(columns)]
    body = [[str(c) for c in r] for r in rows]
    if total is not None:
        body.append([str(c) for c in total])
    limit = width if width is not None else output_width(stream)
    lines: list[list[Segment]] = []
    if title:
        lines += [[(t, "bold")] for t in (wrap_text(title, limit) if limit else [title])]
    note = ""
    plan = (list(range(len(cols))), [_natural(c, [r[i] for r in body]) for i, c in
                                     enumerate(cols)]) if limit is None else _fit(cols, body, limit)
    if plan is None:
        lines += _stacked(cols, body, limit or 10_000, header)
    else:
        kept, widths = plan
        shown = [cols[i] for i in kept]
        if header:
            lines += _row_lines([c.name for c in shown], shown, widths, "bold", None, True)
        for n, row in enumerate(body):
            is_total = total is not None and n == len(body) - 1
            lines += _row_lines([row[i] for i in kept], shown, widths,
                                "bold" if is_total else None, None if is_total else "cyan",
                                False)
        left_out = [c.name or f"column {i + 1}" for i, c in enumerate(cols) if i not in kept]
        if left_out:
            note = f"(not shown at {limit} columns: {', '.join(left_out)}; --json has them all)"
    if note and limit:
        lines += [[(t, "dim")] for t in wrap_text(note, limit)]
    _write(stream, lines)


def write_wrapped(text: str, out: TextIO | None = None, *, indent: str = "") -> None:
    """Write prose, each line wrapped to `output_width` (none when piped), ``indent`` after."""
    stream = out if out is not None else sys.stdout
    limit = output_width(stream)
    for line in text.split("\n"):
        if limit is None or len(line) <= limit:
            stream.write(line + "\n")
            continue
        first, *rest = wrap_text(line, limit)
        stream.write(first + "\n")
        for more in wrap_text(" ".join(rest), limit - len(indent)) if rest else []:
            stream.write(indent + more + "\n")


def _write(stream: TextIO, lines: list[list[Segment]]) -> None:
    console = rich_console(stream)
    if console is None:
        stream.write("".join("".join(t for t, _ in line).rstrip() + "\n" for line in lines))
        return
    from rich.text import Text

    for line in lines:
        text = Text()
        for segment, style in line:
            text.append(segment, style=style or "")
        text.rstrip()
        console.print(text, overflow="ignore", crop=False, no_wrap=True)


class Progress:
    """A one-line progress indicator on stderr, drawn only when stderr is a terminal.

    ``update(done)`` is cheap to call often: it redraws at most ten times a second.
    """

    def __init__(self, label: str, total: float | None, *, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_tty(self.stream)
        self.label = label
        self.total = total
        self._next = 0.0
        self._drawn = False

    def update(self, done: float, note: str = "") -> None:
        """Redraw with ``done`` out of the total (bytes, lines, ...)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + 0.1
        if self.total:
            share = min(max(done / self.total, 0.0), 1.0)
            bar = "#" * int(share * 30)
            text = f"{self.label} [{bar:<30}] {share:4.0%}"
        else:
            text = f"{self.label} ..."
        self.stream.write(f"\r{text} {note}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Erase the line (the output that follows starts clean)."""
        if self.enabled and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

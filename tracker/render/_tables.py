"""Terminal output for people: tables (with `rich` when installed), colour rules, progress.

`rich` is the optional ``cli`` extra. It is used only when the output is a terminal; piped or
redirected output is plain, aligned text (stable for ``grep``/``awk`` and free of escape codes).
Colour follows the usual conventions: off when not a terminal, off when ``NO_COLOR`` is set
(https://no-color.org), off for ``TERM=dumb``. Progress goes to stderr, only on a terminal.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = ["Progress", "color_enabled", "render_table", "rich_console"]


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def color_enabled(stream: TextIO) -> bool:
    """Whether colour may be written to ``stream`` (terminal, no ``NO_COLOR``, not dumb)."""
    return (_is_tty(stream) and not os.environ.get("NO_COLOR")
            and os.environ.get("TERM", "") != "dumb")


def rich_console(stream: TextIO) -> Any | None:
    """A `rich` Console writing to ``stream`` if it is a terminal and rich is installed."""
    if not _is_tty(stream):
        return None
    try:
        from rich.console import Console
    except ImportError:
        return None
    return Console(file=stream, no_color=not color_enabled(stream), highlight=False,
                   soft_wrap=False)


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, align: str,
                 total: Sequence[str] | None = None, title: str | None = None,
                 out: TextIO | None = None) -> None:
    """Print a table; ``align`` holds one ``l`` or ``r`` per column; ``total`` is a last row."""
    stream = out if out is not None else sys.stdout
    console = rich_console(stream)
    if console is not None:
        from rich import box
        from rich.table import Table
        from rich.text import Text  # cells are data, never markup

        table = Table(title=Text(title) if title is not None else None, box=box.SIMPLE_HEAD,
                      show_footer=total is not None, header_style="bold", title_justify="left")
        for i, name in enumerate(header):
            table.add_column(name, justify="right" if align[i] == "r" else "left",
                             footer=total[i] if total is not None else "",
                             footer_style="bold", no_wrap=i == 0,
                             style="cyan" if i == 0 else None)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        console.print(table)
        return
    if title:
        stream.write(title + "\n")
    body = [list(header), *(list(r) for r in rows)]
    if total is not None:
        body.append(list(total))
    widths = [max(len(r[i]) for r in body) for i in range(len(header))]
    for row in body:
        cells = [c.rjust(w) if a == "r" else c.ljust(w)
                 for c, w, a in zip(row, widths, align, strict=True)]
        stream.write("  ".join(cells).rstrip() + "\n")


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

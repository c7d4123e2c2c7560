"""One sanitiser for external text a person or a page will see: `clean()`.

Text that comes from outside the SDK (a model name a server answered with, a label read from the
environment, a span name from another instrumentation, a file name) is data, never code. It is
cleaned once, where it enters (the ledger reader, the span reader, the usage-export readers), so no
output path (terminal table, CSV, JSON, HTML, plot) can forget it:

- control characters (C0, DEL, C1: ESC and CSI/OSC introducers, CR, LF, TAB...) become a space, so
  no escape sequence reaches a terminal and no value splits a row or a line;
- Unicode format characters that reorder or hide text (bidirectional overrides and isolates,
  zero-width characters, the BOM) and lone surrogates (valid in JSON, unencodable in UTF-8) become
  U+FFFD, so every output encodes;
- the length is capped (`MAX_CHARS`), ending in ``…`` when cut.

The result is plain text: markup-neutral, it holds no escaping of its own (``[bold]`` stays
``[bold]``). Whatever renders it (rich, HTML) escapes it as that format requires.
"""

from __future__ import annotations

import re

__all__ = ["MAX_CHARS", "clean", "clean_or_none", "encodable"]

#: Longest text kept (characters): more than any model, provider, function or label name needs.
MAX_CHARS = 200
_REPLACEMENT = "\ufffd"
#: C0 controls, DEL and C1 controls (ESC, CSI, OSC, NEL, ...).
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
#: Lone surrogates, bidirectional embeddings/overrides/isolates, zero-width and invisible
#: formatting characters, line/paragraph separators, the BOM and interlinear annotation marks.
_HIDDEN = re.compile("[\ud800-\udfff\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]")


def clean(value: object, limit: int = MAX_CHARS) -> str:
    """`value` as safe, plain text of at most `limit` characters (see the module docstring)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    text = _CONTROLS.sub(" ", text)
    return _HIDDEN.sub(_REPLACEMENT, text)


def clean_or_none(value: object, limit: int = MAX_CHARS) -> str | None:
    """`clean(value)` for a string; None for anything else (a missing or non-text field)."""
    return clean(value, limit) if isinstance(value, str) else None


def encodable(text: str) -> str:
    """`text` with lone surrogates replaced by U+FFFD, so it encodes to UTF-8 (nothing else)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return re.sub("[\ud800-\udfff]", _REPLACEMENT, text)
    return text

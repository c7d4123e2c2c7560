"""The one sanitiser for external text (`tracker._text`): property-based, the whole class."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from tracker._text import MAX_CHARS, clean, clean_or_none, encodable

#: Any code point, lone surrogates included (valid in JSON, unencodable in UTF-8).
ANY_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF,
                                          blacklist_categories=()), max_size=600)


@given(ANY_TEXT)
def test_clean_output_is_printable_encodable_single_line_and_capped(raw: str) -> None:
    out = clean(raw)
    assert len(out) <= MAX_CHARS
    out.encode("utf-8")  # no lone surrogate
    assert not any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in out)
    assert "\x1b" not in out and "\r" not in out and "\n" not in out
    assert clean(out) == out  # idempotent: cleaning twice changes nothing


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=150))
def test_clean_keeps_printable_ascii_as_is(raw: str) -> None:
    # markup-neutral: "[bold]" stays "[bold]"; renderers escape for their own format
    assert clean(raw) == raw


@given(ANY_TEXT, st.integers(min_value=1, max_value=300))
def test_clean_caps_at_any_limit(raw: str, limit: int) -> None:
    out = clean(raw, limit)
    assert len(out) <= limit
    if len(raw) > limit:
        assert out.endswith("…")


def test_the_named_cases() -> None:
    assert clean("gpt\x1b]8;;https://evil\x07x\x1b]8;;\x07") == "gpt ]8;;https://evil x ]8;; "
    assert clean("a\r\nb") == "a  b"
    assert clean("bad\ud800") == "bad\ufffd"
    assert clean("right\u202eto-left") == "right\ufffdto-left"
    assert clean(12) == "12"
    assert clean_or_none(12) is None and clean_or_none("x\n") == "x "
    assert encodable("ok\udc80") == "ok\ufffd" and encodable("😀") == "😀"

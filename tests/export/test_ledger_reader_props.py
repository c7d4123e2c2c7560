"""The one validated ledger reader, property-tested: any line is counted or skipped (never an
exception), every group name is clean text, and sums stay finite and non-negative."""

from __future__ import annotations

import io
import json
import math
import unicodedata
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.export._ledger_reader import BY_CHOICES, summarize

KEYS = ["timestamp", "gen_ai.request.model", "gen_ai.response.model", "energy.model",
        "gen_ai.provider.name", "function", "energy.function", "labels",
        "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "energy.kwh", "energy.gco2e",
        "energy.usd", "energy.water_l"]
TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF,
                                      blacklist_categories=()), max_size=30)
LEAF = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
                 st.floats(allow_nan=False, allow_infinity=False), TEXT,
                 st.sampled_from(["2026-03-01T12:00:00Z", "2026-03-01", "9999-12-31T23:59-05:00"]))
VALUE = st.recursive(LEAF, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(TEXT, inner, max_size=3)),
                     max_leaves=6)
LINE = st.dictionaries(st.sampled_from(KEYS), VALUE, max_size=len(KEYS))


def _clean(name: str) -> bool:
    return len(name) <= 200 and not any(
        unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in name)


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(LINE, max_size=6),
       by=st.sampled_from([*BY_CHOICES, "label:team", None]))
def test_any_lines_are_counted_or_skipped(lines: list[dict[str, Any]], by: str | None) -> None:
    raw = "".join(json.dumps(line) + "\n" for line in lines).encode("utf-8", "surrogatepass")
    summary = summarize(io.BytesIO(raw), by=by)
    assert summary.lines == len(lines)
    assert summary.total.calls + summary.malformed == len(lines)
    for name, totals in summary.groups.items():
        assert _clean(name)
        name.encode("utf-8")
        for value in (totals.energy_kwh, totals.gco2e, totals.usd, totals.water_l):
            assert math.isfinite(value) and value >= 0
        assert totals.input_tokens >= 0 and totals.output_tokens >= 0

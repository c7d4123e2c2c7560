"""`compare(ledger)` reads lines through the report's one validated reader (`parse_line`).

A line the report skips (too deep to parse, a count written as a string, a negative or huge
value) is skipped by the comparison too: no exception, the baseline equals the report's total,
and no alternative re-prices a line the report did not count.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tracker import compare
from tracker.cli._app import main
from tracker.export._ledger_reader import summarize

GOOD: dict[str, Any] = {
    "timestamp": "2026-03-01T12:00:00+00:00", "gen_ai.request.model": "gpt-4o-mini",
    "energy.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 1000,
    "gen_ai.usage.output_tokens": 500, "energy.kwh": 2e-4, "energy.gco2e": 0.08,
    "energy.usd": 3e-5, "energy.water_l": 4e-4, "energy.region": "aws:us-east-1",
    "energy.grid.gco2e_per_kwh": 400.0, "energy.price.usd_per_kwh": 0.15,
}
BAD = {
    "nested": "[" * 100_000 + "]" * 100_000,
    "nested in a field": json.dumps(GOOD)[:-1] + ', "labels": ' + "[" * 100_000
                         + "]" * 100_000 + "}",
    "string count": json.dumps({**GOOD, "gen_ai.usage.input_tokens": "1000"}),
    "negative counts": json.dumps({**GOOD, "gen_ai.usage.input_tokens": -10**9,
                                   "gen_ai.usage.output_tokens": -10**9}),
    "huge count": json.dumps({**GOOD, "gen_ai.usage.output_tokens": 10**30}),
    "no timestamp": json.dumps({k: v for k, v in GOOD.items() if k != "timestamp"}),
    "negative kWh": json.dumps({**GOOD, "energy.kwh": -1.0}),
    "a list": "[1, 2]",
}


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _single(tmp_path: Path) -> Any:
    return compare(_write(tmp_path / "one.jsonl", [json.dumps(GOOD)] * 2),
                   regions=["gcp:europe-north1"])


@pytest.mark.parametrize("name", list(BAD))
def test_a_line_the_report_skips_is_skipped_by_compare(tmp_path: Path, name: str) -> None:
    clean = _single(tmp_path)
    path = _write(tmp_path / "l.jsonl", [json.dumps(GOOD), BAD[name], json.dumps(GOOD)])
    result = compare(path, regions=["gcp:europe-north1"])
    with path.open("rb") as stream:
        report = summarize(stream)
    assert report.malformed == 1
    assert result.baseline.energy_kwh == pytest.approx(report.total.energy_kwh)
    assert result.baseline.energy_kwh == pytest.approx(clean.baseline.energy_kwh)
    for row, ref in zip(sorted(result.rows, key=lambda r: r.kind),
                        sorted(clean.rows, key=lambda r: r.kind), strict=True):
        assert row.energy_kwh == pytest.approx(ref.energy_kwh)  # not inflated, never negative
        assert row.energy_kwh >= 0 and row.saving_pct <= 100


@pytest.mark.parametrize("name", list(BAD))
def test_cli_compare_never_tracebacks(tmp_path: Path, name: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "l.jsonl", [json.dumps(GOOD), BAD[name]])
    assert main(["compare", "--ledger", str(path), "--regions", "gcp:europe-north1",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc


_VALUE = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**20, max_value=10**20),
                   st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                   st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5),
                                                                        st.integers(),
                                                                        max_size=3))
_FIELDS = st.sampled_from([*sorted(GOOD), "energy.pue", "energy.hardware", "energy.engine",
                           "energy.method", "energy.model_known", "energy.kwh.min",
                           "energy.kwh.max"])


@pytest.mark.parametrize("field", ["energy.hardware", "energy.region", "energy.method",
                                   "energy.engine", "energy.model"])
def test_a_factor_the_registry_does_not_know_is_priced_at_its_default(tmp_path: Path,
                                                                       field: str) -> None:
    path = _write(tmp_path / "u.jsonl", [json.dumps({**GOOD, field: "no-such-thing"})])
    result = compare(path, regions=["gcp:europe-north1"])
    assert all(row.energy_kwh >= 0 for row in result.rows)


@example(changes={"energy.kwh": 2.225073858507e-311})  # subnormal: its ratios overflowed
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(_FIELDS, _VALUE, max_size=4))
def test_any_line_gives_a_finite_non_negative_comparison(tmp_path: Path,
                                                         changes: dict[str, Any]) -> None:
    line = json.dumps({**GOOD, **changes})
    path = _write(tmp_path / "h.jsonl", [json.dumps(GOOD), line])
    result = compare(path, regions=["gcp:europe-north1"])
    with path.open("rb") as stream:
        report = summarize(stream)
    assert result.baseline.energy_kwh == pytest.approx(report.total.energy_kwh)
    for row in result.rows:
        for value in (row.energy_kwh, row.gco2e, row.usd, row.water_l):
            assert value >= 0 and value < float("inf")

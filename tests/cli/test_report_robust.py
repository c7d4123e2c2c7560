"""`llm-energy report` on hostile ledgers: every line counts or is skipped and said so."""

from __future__ import annotations

import io
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.cli._report import main
from tracker.export._ledger_reader import summarize

GOOD: dict[str, Any] = {
    "timestamp": "2026-03-01T12:00:00+00:00", "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5, "energy.kwh": 2e-6,
    "energy.gco2e": 1e-3, "energy.usd": 3e-7, "energy.water_l": 4e-6,
}
NESTED = "[" * 100_000 + "]" * 100_000

HOSTILE = {
    "400-digit kWh": json.dumps({**GOOD, "energy.kwh": 0}).replace('"energy.kwh": 0',
                                                                  '"energy.kwh": ' + "9" * 400),
    "400-digit tokens": json.dumps({**GOOD, "gen_ai.usage.input_tokens": 0}).replace(
        '"gen_ai.usage.input_tokens": 0', '"gen_ai.usage.input_tokens": ' + "9" * 400),
    "5000-digit kWh": '{"timestamp": "2026-03-01", "energy.kwh": ' + "9" * 5000 + "}",
    "timestamp past 9999 in UTC": json.dumps({**GOOD, "timestamp": "9999-12-31T23:59:59-05:00"}),
    "timestamp before year 1 in UTC": json.dumps({**GOOD, "timestamp": "0001-01-01T00:00+05:00"}),
    "nested arrays": NESTED,
    "nested arrays in a field": json.dumps(GOOD)[:-1] + ', "labels": ' + NESTED + "}",
    "negative kWh": json.dumps({**GOOD, "energy.kwh": -1.0}),
    "1e300 gCO2e": json.dumps({**GOOD, "energy.gco2e": 1e300}),
    "Infinity": json.dumps({**GOOD, "energy.usd": float("inf")}),
    "bool tokens": json.dumps({**GOOD, "gen_ai.usage.output_tokens": True}),
    "NUL bytes": '{"timestamp": "2026\x00-03-01"}',
    "a string": '"just text"',
    "null": "null",
}


def write(path: Path, lines: list[str]) -> Path:
    path.write_bytes(b"".join(line.encode("utf-8", "surrogatepass") + b"\n" for line in lines))
    return path


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_line_is_skipped_and_reported(tmp_path: Path, name: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "l.jsonl", [json.dumps(GOOD), HOSTILE[name], json.dumps(GOOD)])
    assert main([str(path), "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["total"]["calls"] == 2 and doc["malformed"] == 1 and doc["malformed_lines"] == [2]
    assert doc["total"]["energy_kwh"] == 2 * GOOD["energy.kwh"]
    assert "skipped 1 malformed line(s) (line 2)" in captured.err
    assert main([str(path), "--by", "label:team"]) == 0  # the table too
    assert "total" in capsys.readouterr().out


def test_until_the_last_representable_day_is_no_bound(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "l.jsonl", [json.dumps(GOOD)] * 3)
    assert main([str(path), "--until", "9999-12-31", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["total"]["calls"] == 3 and doc["until"] is None
    assert main([str(path), "--since", "0001-01-01", "--until", "9999-12-31T00:00Z"]) == 0
    assert main([str(path), "--since", "9999-12-31T23:00-05:00"]) == 2
    err = capsys.readouterr().err
    assert "--since" in err and "Traceback" not in err


def test_html_from_stdin_exits_2_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-", "--html", "x.html"]) == 2
    assert "--html" in capsys.readouterr().err


def test_unwritable_html_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "l.jsonl", [json.dumps(GOOD)])
    assert main([str(path), "--html", str(tmp_path / "missing-dir" / "r.html")]) == 2
    assert "--html" in capsys.readouterr().err


# ------------------------------------------------------------------------------- fuzz
_scalars = (st.none() | st.booleans() | st.integers(min_value=-(10**400), max_value=10**400)
            | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30))
_json = st.recursive(_scalars, lambda kids: st.lists(kids, max_size=4)
                     | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=20)
_timestamps = (st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
               | st.text(max_size=40) | _scalars)
_ledger_keys = ["timestamp", "energy.kwh", "energy.gco2e", "energy.usd", "energy.water_l",
                "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "labels",
                "gen_ai.request.model", "function"]
_records = st.fixed_dictionaries(
    {"timestamp": _timestamps},
    optional={k: _json | st.floats(min_value=0, max_value=1e3) for k in _ledger_keys[1:]})


def _line(value: Any) -> bytes:
    try:
        return json.dumps(value).encode()
    except (ValueError, RecursionError):
        return b"{"


_lines = (_records.map(_line) | _json.map(_line) | st.binary(max_size=60)
          | st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_lines, min_size=1, max_size=6), st.sampled_from(
    [None, "model", "function", "day", "label:team", "provider"]))
def test_fuzz_every_line_counts_or_is_skipped(lines: list[bytes], by: str | None) -> None:
    good = json.dumps(GOOD).encode()
    body = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines]
    stream = io.BytesIO(b"\n".join([good, *body, good]) + b"\n")
    summary = summarize(stream, by=by)
    assert summary.total.calls + summary.malformed == summary.lines
    assert summary.total.calls >= 2
    totals = summary.total.as_dict()
    assert (totals["api_usd"] is None) == (totals["api_calls"] == 0)  # absent, never 0
    assert all(math.isfinite(v) and v >= 0 for v in totals.values() if v is not None)
    assert math.isclose(sum(t.energy_kwh for t in summary.groups.values()),
                        summary.total.energy_kwh, rel_tol=1e-9, abs_tol=1e-300)


@settings(max_examples=40, deadline=None)
@given(st.lists(_lines, min_size=1, max_size=4))
def test_fuzz_the_command_never_escapes(lines: list[bytes]) -> None:
    """Through main(): exit 0, valid JSON out, the skipped lines named on stderr."""
    body = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "l.jsonl"
        path.write_bytes(b"\n".join(body) + b"\n")
        out, err = io.StringIO(), io.StringIO()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        try:
            code = main([str(path), "--json"])
            table_code = main([str(path), "--by", "model"])
        finally:
            sys.stdout, sys.stderr = saved
    assert code == 0 and table_code == 0
    doc = json.loads(out.getvalue().split("\n}\n", 1)[0] + "\n}")
    assert doc["total"]["calls"] + doc["malformed"] == doc["lines"]
    if doc["malformed"]:
        assert f"skipped {doc['malformed']} malformed" in err.getvalue()


def test_the_html_report_skips_the_same_lines(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "l.jsonl", [json.dumps(GOOD), *HOSTILE.values(), json.dumps(GOOD)])
    page = tmp_path / "r.html"
    assert main([str(path), "--html", str(page)]) == 0
    assert f"skipped {len(HOSTILE)} malformed" in capsys.readouterr().err
    html = page.read_text(encoding="utf-8")
    assert f"{len(HOSTILE)} malformed line(s) skipped" in html
    assert f"data-value='{2 * GOOD['energy.kwh']!r}'" in html

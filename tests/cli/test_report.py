"""`llm-energy report`: totals, grouping, time filters, formats, malformed lines, plot."""

from __future__ import annotations

import csv
import io
import json
import math
import random
import sys
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tracker.cli._report import main

MODELS = ["gpt-4o-mini", "claude-3-5-haiku", "llama-3.1-8b"]
PROVIDERS = ["openai", "anthropic", "local"]
FUNCTIONS = ["summarize", "classify", None]
START = datetime(2025, 3, 1, tzinfo=timezone.utc)


def make_line(rng: random.Random, i: int) -> dict[str, Any]:
    when = START + timedelta(hours=i * 7 % (24 * 10), seconds=rng.randint(0, 3599))
    kwh = rng.uniform(1e-7, 1e-3)
    return {
        "timestamp": when.isoformat(),
        "event": "energy.request",
        "function": rng.choice(FUNCTIONS),
        "labels": {"team": rng.choice(["search", "chat"])} if i % 3 else {},
        "gen_ai.request.model": rng.choice(MODELS),
        "gen_ai.provider.name": rng.choice(PROVIDERS),
        "gen_ai.usage.input_tokens": rng.randint(0, 5000),
        "gen_ai.usage.output_tokens": rng.randint(0, 2000),
        "energy.kwh": kwh,
        "energy.gco2e": kwh * rng.uniform(20, 800),
        "energy.usd": kwh * rng.uniform(0.05, 0.3),
        "energy.water_l": kwh * rng.uniform(0.1, 2),
    }


@pytest.fixture
def records() -> list[dict[str, Any]]:
    rng = random.Random(5)
    return [make_line(rng, i) for i in range(400)]


def write(path: Path, records: list[dict[str, Any]], bad: dict[int, str] | None = None) -> Path:
    """Write records as JSON lines; ``bad`` inserts raw lines before the given record index."""
    with path.open("w") as f:
        for i, rec in enumerate(records):
            if bad and i in bad:
                f.write(bad[i] + "\n")
            f.write(json.dumps(rec) + "\n")
    return path


def sums(recs: list[dict[str, Any]]) -> dict[str, float]:
    return {
        "calls": len(recs),
        "input_tokens": sum(r["gen_ai.usage.input_tokens"] for r in recs),
        "output_tokens": sum(r["gen_ai.usage.output_tokens"] for r in recs),
        "energy_kwh": math.fsum(r["energy.kwh"] for r in recs),
        "gco2e": math.fsum(r["energy.gco2e"] for r in recs),
        "usd": math.fsum(r["energy.usd"] for r in recs),
        "water_l": math.fsum(r["energy.water_l"] for r in recs),
    }


def assert_totals(got: dict[str, Any], want: dict[str, float]) -> None:
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-9), key


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_totals_equal_the_sum_of_the_lines(tmp_path: Path, records: list[dict[str, Any]],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, str(write(tmp_path / "l.jsonl", records)))
    assert_totals(doc["total"], sums(records))
    assert doc["malformed"] == 0 and doc["lines"] == len(records)


@pytest.mark.parametrize("by", ["model", "provider", "function", "label:team", "day"])
def test_each_group_is_the_sum_of_its_lines(tmp_path: Path, records: list[dict[str, Any]],
                                            capsys: pytest.CaptureFixture[str], by: str) -> None:
    def key(r: dict[str, Any]) -> str:
        value = {"model": r["gen_ai.request.model"], "provider": r["gen_ai.provider.name"],
                 "function": r["function"], "label:team": r["labels"].get("team"),
                 "day": r["timestamp"][:10]}[by]
        return "(none)" if value is None else str(value)

    expected: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        expected[key(r)].append(r)
    doc = run_json(capsys, str(write(tmp_path / "l.jsonl", records)), "--by", by)
    groups = {g["group"]: g for g in doc["groups"]}
    assert set(groups) == set(expected)
    for name, recs in expected.items():
        assert_totals(groups[name], sums(recs))
    assert_totals(doc["total"], sums(records))
    kwh = [g["energy_kwh"] for g in doc["groups"]]
    assert kwh == sorted(kwh, reverse=True)


def test_since_and_until_select_by_timestamp(tmp_path: Path, records: list[dict[str, Any]],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = str(write(tmp_path / "l.jsonl", records))
    lo, hi = START + timedelta(days=2), START + timedelta(days=5)
    inside = [r for r in records
              if lo <= datetime.fromisoformat(r["timestamp"]) < hi + timedelta(days=1)]
    assert 0 < len(inside) < len(records)
    doc = run_json(capsys, path, "--since", lo.date().isoformat(), "--until", hi.date().isoformat())
    assert_totals(doc["total"], sums(inside))
    assert doc["filtered_out"] == len(records) - len(inside)
    # A time bound (here with a Z suffix) is exclusive at the end.
    cut = START + timedelta(days=3, hours=5)
    before = [r for r in records if datetime.fromisoformat(r["timestamp"]) < cut]
    doc = run_json(capsys, path, "--until", cut.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert_totals(doc["total"], sums(before))


def test_malformed_lines_are_counted_reported_and_skipped(
        tmp_path: Path, records: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    bad = {0: "{not json", 10: "[1, 2]", 20: json.dumps({"energy.kwh": 1.0}),
           30: json.dumps({**records[0], "energy.kwh": "lots"}),
           40: json.dumps({**records[0], "timestamp": "yesterday"}), 50: "\xff\xfe garbage",
           60: json.dumps({**records[0], "energy.gco2e": float("nan")})}
    path = write(tmp_path / "l.jsonl", records, bad)
    assert main([str(path), "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert_totals(doc["total"], sums(records))
    assert doc["malformed"] == len(bad)
    # Bad line k is written just before record k: file line number = k + (bad lines before) + 1.
    first = [k + i + 1 for i, k in enumerate(sorted(bad))][:5]
    assert doc["malformed_lines"] == first
    assert f"skipped {len(bad)} malformed" in captured.err
    assert "line " + ", ".join(map(str, first)) in captured.err


def test_blank_lines_are_ignored(tmp_path: Path, records: list[dict[str, Any]],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "l.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records[:5]) + "\n\n\n")
    doc = run_json(capsys, str(path))
    assert doc["malformed"] == 0
    assert_totals(doc["total"], sums(records[:5]))


def test_csv_matches_json(tmp_path: Path, records: list[dict[str, Any]],
                          capsys: pytest.CaptureFixture[str]) -> None:
    path = str(write(tmp_path / "l.jsonl", records))
    doc = run_json(capsys, path, "--by", "model")
    assert main([path, "--by", "model", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["model"] for r in rows] == [g["group"] for g in doc["groups"]]
    for row, group in zip(rows, doc["groups"], strict=True):
        assert int(row["calls"]) == group["calls"]
        assert float(row["energy_kwh"]) == group["energy_kwh"]


def test_table_lists_groups_and_total(tmp_path: Path, records: list[dict[str, Any]],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(write(tmp_path / "l.jsonl", records)), "--by", "provider"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["provider", "calls", "input"]
    assert {line.split()[0] for line in out[1:]} == {*PROVIDERS, "total"}
    total = next(line for line in out if line.startswith("total")).split()
    assert total[1] == f"{len(records):,}"


def test_a_real_ledger_written_by_the_tracker(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from tracker.recording._calls import record_usage
    from tracker.setup._configure import configure, reset

    ledger = tmp_path / "real.jsonl"
    configure(ledger=str(ledger), labels={"team": "x"}, instrument=False)
    try:
        estimates = [record_usage("gpt-4o-mini", 100 * i, 10 * i, provider="openai")
                     for i in range(1, 6)]
    finally:
        reset()
    assert all(e is not None for e in estimates)
    doc = run_json(capsys, str(ledger), "--by", "label:team")
    assert [g["group"] for g in doc["groups"]] == ["x"]
    assert doc["total"]["calls"] == 5
    assert doc["total"]["energy_kwh"] == pytest.approx(math.fsum(e.energy_kwh for e in estimates
                                                                 if e is not None))
    assert doc["total"]["input_tokens"] == 1500


def test_missing_ledger_and_bad_arguments_exit_2(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope.jsonl")]) == 2
    assert "LEDGER" in capsys.readouterr().err
    path = str(write(tmp_path / "l.jsonl", []))
    assert main([path, "--by", "colour"]) == 2
    assert "--by" in capsys.readouterr().err
    assert main([path, "--since", "last tuesday"]) == 2
    assert "--since" in capsys.readouterr().err


def test_plot_writes_a_png(tmp_path: Path, records: list[dict[str, Any]],
                           capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "energy.png"
    assert main([str(write(tmp_path / "l.jsonl", records)), "--by", "model",
                 "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 10_000


def test_plot_without_matplotlib_says_which_extra(tmp_path: Path, records: list[dict[str, Any]],
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "energy.png"
    assert main([str(write(tmp_path / "l.jsonl", records)), "--plot", str(out)]) == 2
    err = capsys.readouterr().err
    assert "matplotlib" in err and "[plot]" in err
    assert not out.exists()


def test_llm_energy_report_command(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    """`python -m tracker report` is this report (exit 0, JSON on stdout, warnings on stderr)."""
    import subprocess

    path = write(tmp_path / "l.jsonl", records, {3: "oops"})
    proc = subprocess.run([sys.executable, "-m", "tracker", "report", str(path), "--by", "day",
                           "--json"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "skipped 1 malformed line(s) (line 4)" in proc.stderr
    assert_totals(json.loads(proc.stdout)["total"], sums(records))


def _run_with_stderr_on_a_terminal(argv: list[str]) -> tuple[int, str, str]:
    import os
    import pty
    import subprocess

    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "tracker", "report", *argv],
                                stdout=subprocess.PIPE, stderr=terminal)
        os.close(terminal)
        chunks = []
        while True:
            try:
                data = os.read(controller, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        assert proc.stdout is not None
        out = proc.stdout.read().decode()
        proc.stdout.close()
        code = proc.wait(timeout=120)
    finally:
        os.close(controller)
    return code, out, b"".join(chunks).decode(errors="replace")


def test_progress_is_drawn_on_a_terminal_only(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(9)
    path = write(tmp_path / "big.jsonl", [make_line(rng, i) for i in range(40_000)])
    code, out, err = _run_with_stderr_on_a_terminal([str(path), "--json"])
    assert code == 0
    assert json.loads(out)["total"]["calls"] == 40_000  # stdout stays clean JSON
    assert "reading ledger" in err and "%" in err and "\r\x1b[K" in err
    assert main([str(path), "--json"]) == 0  # not a terminal: nothing on stderr
    assert capsys.readouterr().err == ""


def test_table_shows_human_units_one_per_column(tmp_path: Path, records: list[dict[str, Any]],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from tracker.render import _units as U

    assert main([str(write(tmp_path / "l.jsonl", records)), "--by", "model"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0]
    total = sum(r["energy.kwh"] for r in records)
    unit = U.ENERGY.for_values([total])
    assert f"energy {unit[1]}" in header and "e-0" not in "\n".join(lines)
    shown = lines[-1].split()
    assert U.ENERGY.cell(total, unit) in shown


def test_plot_draws_bars_for_one_day_and_lines_over_days(
        tmp_path: Path, records: list[dict[str, Any]], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.axes import Axes

    drawn: list[str] = []
    for kind in ("bar", "plot"):
        original = getattr(Axes, kind)

        def spy(self: Any, *a: Any, _kind: str = kind, _original: Any = original,
                **kw: Any) -> Any:
            drawn.append(_kind)
            return _original(self, *a, **kw)

        monkeypatch.setattr(Axes, kind, spy)
    day = [r for r in records if r["timestamp"].startswith("2025-03-02")]
    out = tmp_path / "day.png"
    assert main([str(write(tmp_path / "d.jsonl", day)), "--by", "model", "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert drawn == ["bar", "bar"]
    drawn.clear()
    assert main([str(write(tmp_path / "l.jsonl", records)), "--by", "model", "--plot",
                 str(out)]) == 0
    assert set(drawn) == {"plot"} and len(drawn) == 2 * len(MODELS)


def test_the_api_price_of_the_ledger_beside_the_electricity(
        configure_tracker: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    genai_prices = pytest.importorskip("genai_prices")
    import tracker

    ledger = tmp_path / "ledger.jsonl"
    configure_tracker(ledger=str(ledger))
    for n_in, n_out in ((1000, 100), (3000, 250)):
        tracker.record_usage("gpt-4o-mini", n_in, n_out, provider="openai")
    tracker.record_usage("llama-3.1-8b", 100, 10, provider="ollama")  # served locally: no price
    tracker.shutdown()
    want = sum(float(genai_prices.calc_price(genai_prices.Usage(input_tokens=i, output_tokens=o),
                                             "gpt-4o-mini", provider_id="openai").total_price)
               for i, o in ((1000, 100), (3000, 250)))
    assert main([str(ledger), "--json", "--by", "model"]) == 0
    doc = json.loads(capsys.readouterr().out)
    groups = {g["group"]: g for g in doc["groups"]}
    assert groups["gpt-4o-mini"]["api_usd"] == pytest.approx(want, rel=1e-9)
    assert groups["gpt-4o-mini"]["api_calls"] == 2
    assert groups["llama-3.1-8b"]["api_usd"] is None  # absent, not zero
    assert doc["total"]["api_usd"] == pytest.approx(want, rel=1e-9)
    assert doc["price_tables"] == [f"genai-prices {genai_prices.__version__}"]
    assert main([str(ledger), "--by", "model"]) == 0
    out = capsys.readouterr().out
    assert "electricity" in out and "API price" in out
    assert "genai-prices" in out and "none for 1 of the calls" in out

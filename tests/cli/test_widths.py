"""Every command at 60, 80, 100 and 200 columns: no line wider, no number cut (no digit then …).

The width comes from ``COLUMNS`` (as a terminal sets it); piped output without it is not limited
(`test_piped_output_is_never_cut`).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_report import make_line
from tests.grid._forecast_server import ForecastServer, serve
from tracker.cli._app import main
from tracker.demo import _run as demo
from tracker.grid import _forecast

WIDTHS = (60, 80, 100, 200)
#: A cut number: a digit followed by an ellipsis.
CUT = re.compile(r"\d(…|\.\.\.)")


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import random

    rng = random.Random(3)
    records = [make_line(rng, i) for i in range(120)]
    for i, rec in enumerate(records[:6]):  # long names: they wrap, never push numbers out
        rec["gen_ai.request.model"] = f"us.meta.llama3-1-405b-instruct-v1:{i}-with-a-long-tail"
        rec["function"] = "app.handlers.summarise_the_customer_conversation_for_the_agent"
    path = tmp_path_factory.mktemp("widths") / "ledger.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def api() -> Iterator[ForecastServer]:
    _forecast.clear_cache()
    yield from serve()
    _forecast.clear_cache()


def commands(ledger: Path, api_url: str) -> list[tuple[list[str], int]]:
    """Each command with arguments that give its widest output, and its exit status."""
    return [
        (["estimate", "--model", "kimi-k2", "--output-tokens", "1e6", "--input-tokens", "2k",
          "--region", "gcp:europe-north1"], 0),
        (["estimate", "--model", "llama-3.1-405b", "--input-tokens", "128k"], 0),
        (["estimate-training", "--model", "llama-3.1-8b", "--tokens", "15T", "--gpus", "1024"],
         0),
        (["estimate-training", "--model", "x", "--params-b", "7", "--tokens", "300B",
          "--method", "lora", "--trainable-fraction", "0.01"], 0),
        (["compare", "--model", "llama-3.1-405b", "--output-tokens", "1e6", "--count", "10",
          "--region", "aws:us-east-1", "--regions", "gcp:europe-north1,FR",
          "--accelerators", "h200", "--precisions", "fp8", "--models", "siblings"], 0),
        (["compare", "--ledger", str(ledger), "--regions", "gcp:*"], 0),
        (["report", str(ledger)], 0),
        (["report", str(ledger), "--by", "model"], 0),
        (["report", str(ledger), "--by", "function"], 0),
        (["report", str(ledger), "--by", "day"], 0),
        (["models"], 0), (["models", "--search", "claude"], 0),
        (["hardware"], 0), (["regions"], 0), (["regions", "--search", "europe"], 0),
        (["grid", "GB", "--provider", "uk", "--api-url", api_url, "--timeout", "2"], 1),
        (["when", "--zone", "GB", "--duration", "2h", "--api-url", api_url], 0),
    ]


def assert_fits(text: str, width: int, what: str) -> None:
    for line in text.splitlines():
        assert len(line) <= width, f"{what} at {width}: {len(line)} > {width}: {line!r}"
    assert not CUT.search(text), f"{what} at {width}: a number cut: {CUT.search(text)}"


@pytest.mark.parametrize("width", WIDTHS)
def test_every_command_fits_the_width(width: int, ledger: Path, api: ForecastServer,
                                      capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    api.values = [300.0] * 10 + [90.0] * 4 + [250.0] * 82
    for argv, code in commands(ledger, api.url):
        assert main(argv) == code, (argv, capsys.readouterr())
        assert_fits(capsys.readouterr().out, width, " ".join(argv[:2]))


@pytest.fixture(scope="module")
def demo_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.jsonl"
    assert demo.main(["--ledger", str(path), "--quiet"]) == 0
    return path


@pytest.mark.parametrize("width", WIDTHS)
def test_the_demo_fits_the_width(width: int, demo_ledger: Path,
                                 monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The demo's per-call lines (80 columns, or two lines when narrower) and its summary."""
    capsys.readouterr()
    monkeypatch.setenv("COLUMNS", str(width))
    out = io.StringIO()
    records: list[dict[str, Any]] = [json.loads(line) for line in
                                     demo_ledger.read_text(encoding="utf-8").splitlines()]
    for rec in records:
        out.write(demo.story_line(rec, width if width < 80 else None) + "\n")
    assert_fits(out.getvalue(), min(width, 80), "demo calls")
    summary = io.StringIO()
    demo._summary(demo_ledger, summary)
    assert_fits(summary.getvalue(), width, "demo summary")
    assert "cached" in summary.getvalue()


def test_piped_output_is_never_cut(ledger: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``COLUMNS`` and not a terminal: every column, each entry on one line, nothing cut."""
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["regions"]) == 0
    out = capsys.readouterr().out
    assert main(["regions", "--json"]) == 0
    regions = json.loads(capsys.readouterr().out)
    lines = out.splitlines()
    assert lines[0].split() == ["region", "where", "gCO2e/kWh", "basis", "year", "$/kWh",
                                "source"]
    for region in regions:  # the whole source text, on the region's one line
        line = next(line for line in lines if line.startswith(region["name"] + " "))
        assert region["source"] in line and "…" not in line


def test_rich_never_reads_a_cell_as_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal with rich, a model named like markup is printed as written."""
    pytest.importorskip("rich")
    from tracker.render._tables import Column, render_table

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("NO_COLOR", "1")
    term = Terminal()
    names = ["[/bold]", "[link=https://example.com]x[/link]", "[red]model[/red]", ":smile:"]
    render_table([Column("model"), Column("energy Wh", "r")], [[n, "1.5"] for n in names],
                 out=term, width=80)
    for name in names:
        assert name in term.getvalue()

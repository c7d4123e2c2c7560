"""Text from a ledger is data, never code: no escape sequence, split row, markup or crash.

A ledger is data anyone can append to (a server's model name, a label from the environment, a
file name). Every text it holds is cleaned where it enters (`tracker._text`), and a terminal
table renders cells as plain text, so the report and the comparison print it as data.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracker
from tracker.cli._app import main

GOOD: dict[str, Any] = {
    "timestamp": "2026-03-01T12:00:00+00:00", "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5, "energy.kwh": 2e-6,
    "energy.gco2e": 1e-3, "energy.usd": 3e-7, "energy.water_l": 4e-6,
}
HOSTILE_NAMES = [
    "evil\x1b[2J\x1b[31mred",                       # clear screen, colour
    "link\x1b]8;;https://evil.example\x07x\x1b]8;;\x07",  # OSC 8 hyperlink
    "two\r\nrows\rhere",                             # splits a row
    "[/bold]",                                       # rich markup: MarkupError on main
    "[link=https://evil.example]click[/link]",       # rich markup: a live hyperlink
    "bad\ud800",                                     # lone surrogate (valid JSON)
    "x" * 5000,                                      # very long
]
ESCAPE = re.compile(r"\x1b")


class _Terminal:
    """A text stream that says it is a terminal (so the report uses rich)."""

    encoding = "utf-8"

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        raise OSError("not a real terminal")

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _ledger(path: Path, names: list[str]) -> Path:
    lines = [json.dumps({**GOOD, "gen_ai.request.model": n, "labels": {"team": n}})
             for n in names]
    path.write_bytes("".join(line + "\n" for line in lines).encode())
    return path


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_piped_report_has_no_escape_codes_and_one_row_per_group(
        tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = _ledger(tmp_path / "l.jsonl", [name, "gpt-4o-mini"])
    assert main(["report", str(path), "--by", "model"]) == 0
    out = capsys.readouterr().out
    assert not ESCAPE.search(out)
    assert "\r" not in out
    rows = [line for line in out.splitlines() if line.strip()]
    assert len(rows) == 4  # header, two groups, total: no row was split
    out.encode("utf-8")


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_terminal_report_prints_markup_as_text(tmp_path: Path, name: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rich")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("NO_COLOR", "1")
    path = _ledger(tmp_path / "l.jsonl", [name])
    term = _Terminal()
    monkeypatch.setattr(sys, "stdout", term)
    assert main(["report", str(path), "--by", "model"]) == 0
    assert "\x1b]8;" not in term.text  # no hyperlink
    if name.startswith("["):
        assert name in term.text  # shown as the text it is


@pytest.mark.parametrize("args", [["--by", "model"], ["--by", "model", "--csv"],
                                  ["--by", "model", "--json"], ["--by", "label:team"]])
def test_lone_surrogate_never_crashes_any_output(tmp_path: Path, args: list[str],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = _ledger(tmp_path / "l.jsonl", ["bad\ud800"])
    assert main(["report", str(path), *args]) == 0
    out = capsys.readouterr().out
    out.encode("utf-8")
    shown = json.dumps(json.loads(out), ensure_ascii=False) if "--json" in args else out
    assert "bad\ufffd" in shown


def test_html_report_with_hostile_names(tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.jsonl", HOSTILE_NAMES)
    html = tmp_path / "r.html"
    assert main(["report", str(path), "--by", "model", "--html", str(html)]) == 0
    text = html.read_text(encoding="utf-8")
    assert "\x1b" not in text and "<link=" not in text


def test_the_sdk_never_writes_a_line_its_reader_rejects(tmp_path: Path, otel: Any,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    # A label read from a non-UTF-8 environment holds a lone surrogate (os.environ's
    # surrogateescape); a response model can hold one too (valid JSON).
    ledger = tmp_path / "ledger.jsonl"
    tracker.configure(strict=True, instrument=False, ledger=str(ledger),
                      labels={"team": "caf\udce9"}, **otel.providers())
    tracker.record_usage("gpt-4o-mini", 10, 5, response_model="m\ud800")
    tracker.shutdown()
    raw = ledger.read_bytes()
    raw.decode("utf-8")  # strict UTF-8
    line = json.loads(raw)
    assert line["labels"]["team"] == "caf\ufffd"
    html = tmp_path / "r.html"
    assert main(["report", str(ledger), "--by", "label:team", "--html", str(html)]) == 0
    capsys.readouterr()
    assert main(["report", str(ledger), "--by", "label:team", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [g["group"] for g in doc["groups"]] == ["caf\ufffd"]


def test_compare_ledger_file_name_is_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    pytest.importorskip("rich")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("NO_COLOR", "1")
    path = _ledger(tmp_path / "[link=https:evil.example]x[link]\x1b[31m.jsonl", ["gpt-4o-mini"])
    term = _Terminal()
    monkeypatch.setattr(sys, "stdout", term)
    assert main(["compare", "--ledger", str(path), "--regions", "gcp:europe-north1"]) == 0
    assert "\x1b]8;" not in term.text and "\x1b[31m" not in term.text
    assert "[link=https:evil.example]x[link]" in term.text


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=80))
def test_no_traceback_for_any_model_name(tmp_path: Path, name: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = _ledger(tmp_path / "p.jsonl", [name])
    for fmt in ([], ["--csv"], ["--json"]):
        assert main(["report", str(path), "--by", "model", *fmt]) == 0
        out = capsys.readouterr().out
        assert not ESCAPE.search(out)
        out.encode("utf-8")


def test_html_report_of_a_ledger_with_a_non_utf8_file_name(tmp_path: Path) -> None:
    name = tmp_path / "ledger-\udce9\x1b[31m.jsonl"  # a non-UTF-8 byte, as os.fsdecode gives it
    try:
        _ledger(name, ["gpt-4o-mini"])
    except (OSError, UnicodeEncodeError):
        pytest.skip("the file system refuses such a name")
    html = tmp_path / "r.html"
    assert main(["report", str(name), "--html", str(html)]) == 0
    text = html.read_text(encoding="utf-8")
    assert "\x1b" not in text and "ledger-\ufffd" in text

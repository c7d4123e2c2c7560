"""The `llm-energy` command line: estimate output, JSON, listings, errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

import tracker
from tracker.cli._app import COMMANDS, main
from tracker.render import _units as U

#: A number in exponent notation, or with three or more zeros right after the point.
UNREADABLE = re.compile(r"\d[eE][+-]?\d|\binf\b|\bnan\b|\.000\d|\b0\.000")


def assert_readable(text: str) -> None:
    bad = [line for line in text.splitlines() if UNREADABLE.search(line)]
    assert not bad, bad
    assert "{" not in text  # no raw JSON

SEED_ARGS = ["estimate", "--model", "kimi-k2", "--output-tokens", "1000000", "--hardware", "h100",
             "--precision", "bf16", "--method", "flops", "--pue", "1.2",
             "--carbon-intensity", "243", "--price", "0.152"]


def test_estimate_json_matches_the_seed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SEED_ARGS, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["energy_kwh"] == pytest.approx(0.016186, rel=0.005)
    assert out["gco2e"] == pytest.approx(3.933, rel=0.005)
    assert out["usd"] == pytest.approx(0.002460, rel=0.005)
    for key in ("energy_kwh_min", "energy_kwh_max", "accelerator_kwh"):
        assert key in out


def test_estimate_table_is_the_same_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(SEED_ARGS) == 0
    text = capsys.readouterr().out
    e = tracker.estimate(model="kimi-k2", output_tokens=1_000_000, hardware="h100",
                         precision="bf16", method="flops", pue=1.2, carbon_intensity=243,
                         price_usd_per_kwh=0.152)
    # Human units: 0.016186 kWh reads 16.2 Wh, 3.933 gCO2e reads 3.93 gCO2e, 0.00246 USD 2.46 m$.
    assert "16.2 Wh" in text and U.energy(e.energy_kwh) == "16.2 Wh"
    assert "3.93 gCO2e" in text and U.carbon(e.gco2e) == "3.93 gCO2e"
    assert "2.46 m$" in text and U.money(e.usd) == "2.46 m$"
    assert "243 gCO2e/kWh (user)" in text
    assert_readable(text)


def test_python_dash_m_runs_the_same_cli() -> None:
    proc = subprocess.run([sys.executable, "-m", "tracker", *SEED_ARGS, "--json"],
                          capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["energy_kwh"] == pytest.approx(
        tracker.estimate(model="kimi-k2", output_tokens=1_000_000, hardware="h100",
                         precision="bf16", method="flops", pue=1.2).energy_kwh)


def test_bad_input_exits_2_naming_the_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "--model", "kimi-k2", "--output-tokens", "10", "--pue", "0.5"]) == 2
    assert "pue" in capsys.readouterr().err
    assert main(["estimate", "--model", "kimi-k2", "--output-tokens", "10", "--hardware", "h10"]
                ) == 2
    assert "h100" in capsys.readouterr().err


@pytest.mark.parametrize(("command", "search", "expected"), [
    ("models", "kimi", "kimi-k2"),
    ("hardware", "mi3", "mi300x"),
    ("regions", "us-central1", "gcp:us-central1"),
])
def test_listings_search(capsys: pytest.CaptureFixture[str], command: str, search: str,
                         expected: str) -> None:
    assert main([command, "--search", search, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records and all(search.lower() in json.dumps(r).lower() for r in records)
    assert expected in [r["name"] for r in records]
    assert all(r["source"] for r in records)
    assert main([command, "--search", search]) == 0
    assert expected in capsys.readouterr().out


@pytest.mark.parametrize(("model", "tokens"), [
    ("gpt-4o-mini", ["--output-tokens", "1"]), ("gpt-4o-mini", ["--output-tokens", "300"]),
    ("kimi-k2", ["--output-tokens", "1000000", "--input-tokens", "2000000"]),
    ("llama-3.1-8b", ["--input-tokens", "20"]), ("claude-haiku-4-5", ["--output-tokens", "50"]),
])
def test_estimate_card_reads_in_human_units(capsys: pytest.CaptureFixture[str], model: str,
                                            tokens: list[str]) -> None:
    assert main(["estimate", "--model", model, *tokens]) == 0
    text = capsys.readouterr().out
    assert_readable(text)
    assert re.search(r"energy +[\d.,]+ (µWh|mWh|Wh|kWh|MWh)", text), text


@pytest.mark.parametrize(("argv", "field"), [
    (["--output-tokens", "9" * 40], "--output-tokens"),
    (["--input-tokens", str(2**200)], "--input-tokens"),
    (["--gpus", "100000000000"], "gpus"),
    (["--batch-size", "1e308"], "batch_size"),
    (["--batch-size", "inf"], "batch_size"),
    (["--batch-size", "nan"], "batch_size"),
    (["--pue", "1e400"], "pue"),
    (["--output-tokens", "-5"], "--output-tokens"),
    (["--output-tokens", "1e400"], "--output-tokens"),
    (["--output-tokens", "9" * 5000], "--output-tokens"),
])
def test_estimate_bad_numbers_exit_2_naming_the_field(capsys: pytest.CaptureFixture[str],
                                                      argv: list[str], field: str) -> None:
    tokens = [] if any(a.endswith("-tokens") for a in argv) else ["--output-tokens", "10"]
    assert main(["estimate", "--model", "kimi-k2", *tokens, *argv]) == 2
    captured = capsys.readouterr()
    assert field in captured.err
    assert "Traceback" not in captured.err and "inf kWh" not in captured.out
    assert captured.out == ""


@pytest.mark.parametrize("command", ["models", "regions", "hardware"])
def test_listing_into_a_closed_pipe_is_quiet(command: str) -> None:
    """`llm-energy models | head -1`: one line, no BrokenPipeError, no traceback."""
    proc = subprocess.run(f"{sys.executable} -m tracker {command} | head -1", shell=True,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.stdout.count("\n") == 1 and proc.stdout.split()[0] in ("model", "region",
                                                                          "hardware")
    assert "Error" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_every_command_has_help_and_unknown_ones_exit_2(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    listed = capsys.readouterr().out
    for name in COMMANDS:
        assert name in listed
        assert main([name, "--help"]) == 0, name
        assert f"llm-energy {name}" in capsys.readouterr().out, name
    assert main(["nonsense"]) == 2
    assert "command" in capsys.readouterr().err
    assert main([]) == 2
    assert main(["estimate"]) == 2  # --model is required
    assert "--model" in capsys.readouterr().err


#: An SGR escape that sets a foreground colour (bold alone is not colour).
COLOUR = re.compile(r"\x1b\[(?:[\d;]*;)?(?:3[0-7]|38|9[0-7])[;m]")


class _Terminal:
    """A text stream that says it is a terminal."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True

    @property
    def text(self) -> str:
        return "".join(self.parts)


def test_tables_use_rich_on_a_terminal_and_honour_no_color(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rich")
    from tracker.render._tables import render_table

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    term = _Terminal()
    render_table(["model", "energy Wh"], [["a", "1.5"], ["b", "12"]], total=["TOTAL", "13.5"],
                 align="lr", out=term)  # type: ignore[arg-type]
    assert COLOUR.search(term.text) and "TOTAL" in term.text and "12" in term.text
    monkeypatch.setenv("NO_COLOR", "1")
    term = _Terminal()
    render_table(["model", "energy Wh"], [["a", "1.5"]], align="lr", out=term)  # type: ignore[arg-type]
    assert not COLOUR.search(term.text) and "energy Wh" in term.text


def test_piped_output_is_plain_text_without_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the `cli` extra the tables are the same plain text (no import error)."""
    monkeypatch.setitem(sys.modules, "rich", None)
    monkeypatch.setitem(sys.modules, "rich.console", None)
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-c",
                           "import sys; sys.modules['rich'] = None; sys.modules['rich.console'] "
                           "= None\nfrom tracker.cli._app import main; sys.exit(main(['models',"
                           " '--search', 'kimi']))"],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "model" and "kimi-k2" in proc.stdout
    assert "\x1b[" not in proc.stdout

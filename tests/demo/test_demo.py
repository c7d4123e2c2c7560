"""`llm-energy demo`: offline, no API key, exits 0 and writes a ledger."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli import assert_readable
from tracker.demo import _run as demo
from tracker.demo._server import DEMO_REPLY
from tracker.render import _units as U

#: A story line: indented function, model, tokens in/out, energy, carbon (the names may be on
#: the line before, when too long for their columns).
STORY = re.compile(r"^  \S+ +\S+\n? +[\d,]+/[\d,]+ +[\d.,]+ \S*Wh +[\d.,]+ \S*gCO2e",
                   re.MULTILINE)


def test_demo_main_runs_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """main() exits 0, prints one story line per call and a summary, fills the ledger."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    ledger = tmp_path / "demo.jsonl"
    assert demo.main(["--ledger", str(ledger)]) == 0
    out = capsys.readouterr().out
    records = [json.loads(line) for line in ledger.read_text().splitlines()]
    story = [m.group(0) for m in STORY.finditer(out)]
    assert len(story) == len(records) >= 8
    assert all(len(line) <= 80 for line in out.split("\n\n")[0].splitlines()), out
    for line, rec in zip(story, records, strict=True):  # the ledger is written in call order
        fields = line.split()
        # (an agent's or tool's scope, "invoke_agent weather_agent", shows as its name)
        assert fields[0] == rec["function"].rsplit(".", 1)[-1].rpartition(" ")[2]
        assert fields[1] == rec["gen_ai.request.model"]
        assert (f"{rec['gen_ai.usage.input_tokens']}/{rec['gen_ai.usage.output_tokens']}"
                in line)
        assert U.energy(rec["energy.kwh"]) in line and U.carbon(rec["energy.gco2e"]) in line
    assert_readable(out.replace(demo.DUMMY_KEY, ""))
    providers = {r["gen_ai.provider.name"] for r in records}
    assert {"openai", "anthropic"} <= providers and len(providers) >= 4
    assert all(r["energy.kwh"] > 0 for r in records)
    assert all(r["gen_ai.usage.output_tokens"] > 0 for r in records
               if r["gen_ai.operation.name"] == "chat")
    functions = {r["function"].rsplit(".", 1)[-1] for r in records}
    assert {"answer_question", "stream_answer", "summarise_with_claude",
            "concurrent_batch"} <= functions
    assert "total" in out and "cached tok" in out
    # the agent run: its calls carry the agent's name; its span's roll-up is printed under them
    agent = [r for r in records if r.get("gen_ai.agent.name") == "weather_agent"]
    assert len(agent) == 2
    rollup = re.search(r"^  invoke_agent weather_agent: 2 calls, 1 tool call, (.+), (.+)$",
                       out, re.MULTILINE)
    assert rollup is not None, out
    assert rollup.group(1) == U.energy(sum(r["energy.kwh"] for r in agent))
    assert rollup.group(2) == U.carbon(sum(r["energy.gco2e"] for r in agent))
    assert "where each provider's calls were priced" in out
    assert re.search(r"^openai +azure:eastus +h100 ", out, re.MULTILINE)
    assert re.search(r"^gcp.gemini +gcp:us-central1 +tpu-v6e ", out, re.MULTILINE)
    assert DEMO_REPLY not in ledger.read_text() and demo.DUMMY_KEY not in out


def test_demo_json_prints_the_raw_records(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    ledger = tmp_path / "demo.jsonl"
    assert demo.main(["--ledger", str(ledger), "--json"]) == 0
    out = capsys.readouterr().out
    records = [json.loads(line) for line in ledger.read_text().splitlines()]
    printed = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(printed) == len(records) >= 8
    assert [p["energy.kwh"] for p in printed] == [r["energy.kwh"] for r in records]
    assert not [line for line in out.splitlines() if STORY.match(line)]


def test_demo_as_subprocess(tmp_path: Path) -> None:
    """`python -m tracker demo` works offline and exits 0."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    proc = subprocess.run([sys.executable, "-m", "tracker", "demo"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "total" in proc.stdout


def test_demo_without_client_libraries_still_records(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A core-only install (no openai, no anthropic) still runs the demo and exits 0."""
    for name in ("openai", "anthropic", "integrations.openai", "integrations.anthropic"):
        monkeypatch.setitem(sys.modules, name, None)
    ledger = tmp_path / "ledger.jsonl"
    assert demo.main(["--ledger", str(ledger)]) == 0
    out = capsys.readouterr().out
    assert "neither openai nor anthropic is installed" in out
    lines = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert lines and all(rec["energy.kwh"] > 0 for rec in lines)

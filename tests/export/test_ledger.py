"""The JSON Lines ledger: fields, line atomicity across processes, fork handling."""

from __future__ import annotations

import json
import multiprocessing
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

import tracker
from tracker import _attributes as A
from tracker.export._ledger import LedgerWriter

LABEL = "x" * 1500  # long lines: a torn write would show up as a broken JSON line


def test_ledger_line_holds_log_record_fields(configure_tracker: Any, tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    otel = configure_tracker(ledger=str(path), labels={"team": "search"})
    with tracker.track_energy("job", labels={"batch": 7}):
        tracker.record_usage("gpt-4o", 11, 22, provider="openai")
    tracker.shutdown()
    (line,) = path.read_text().splitlines()
    record = json.loads(line)
    (span,) = otel.call_spans()
    assert record["trace_id"] == format(span.context.trace_id, "032x")
    assert record["span_id"] == format(span.context.span_id, "016x")
    assert record["function"] == "job"
    assert record["labels"] == {"team": "search", "batch": 7}
    assert record["event"] == A.EVENT_REQUEST
    assert record["timestamp"].endswith("+00:00")
    for key, value in span.attributes.items():
        if key not in record["labels"]:
            assert record[key] == value
    # the log record carries the same facts
    (log,) = otel.logs()
    assert {k: v for k, v in log.attributes.items() if k not in record["labels"]} == {
        k: v for k, v in record.items() if k.startswith(("gen_ai.", "energy."))}


def test_explicit_ledger_is_created_at_configure_time(tmp_path: Path) -> None:
    path = tmp_path / "created.jsonl"
    tracker.configure(ledger=path, instrument=False)
    assert path.exists()


def test_ledger_without_any_otel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_LEDGER")
    monkeypatch.chdir(tmp_path)

    @tracker.track_energy
    def work() -> int:
        tracker.record_usage("llama-3.1-8b", 5, 5)
        return 1

    assert work() == 1  # lazily configured: no TracerProvider anywhere, so "auto" writes
    lines = (tmp_path / "llm-energy-ledger.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["trace_id"] is None


def _append_from_process(path: str, tag: str, count: int) -> None:
    tracker.configure(ledger=path, instrument=False, labels={"tag": tag, "pad": LABEL})
    for i in range(count):
        tracker.record_usage("llama-3.1-8b", i, i)
    tracker.shutdown()


def test_two_processes_append_without_losing_or_tearing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.jsonl")
    ctx = multiprocessing.get_context("spawn")
    count = 1500
    procs = [ctx.Process(target=_append_from_process, args=(path, tag, count))
             for tag in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    # A writer opening the file while the other's long line is half copied sees it end mid-line
    # and starts its first line on a new one: a blank line, which readers skip; nothing is torn.
    lines = [line for line in Path(path).read_text().splitlines() if line]
    assert len(lines) == 2 * count
    tags = [json.loads(line)["labels"]["tag"] for line in lines]
    assert tags.count("a") == count and tags.count("b") == count


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_reopens_and_appends(tmp_path: Path) -> None:
    path = tmp_path / "fork.jsonl"
    writer = LedgerWriter(str(path), open_now=True)
    writer.write({"n": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # child
        try:
            writer.write({"n": 2})
            writer.close()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    writer.write({"n": 3})
    writer.close()
    assert sorted(json.loads(line)["n"] for line in path.read_text().splitlines()) == [1, 2, 3]


def test_writer_reopens_after_close(tmp_path: Path) -> None:
    path = tmp_path / "w.jsonl"
    writer = LedgerWriter(str(path))
    writer.write({"a": 1})
    writer.close()
    writer.write({"a": 2})
    writer.close()
    assert [json.loads(x)["a"] for x in path.read_text().splitlines()] == [1, 2]

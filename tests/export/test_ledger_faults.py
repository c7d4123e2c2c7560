"""The ledger: no torn, merged or lost line.

- A write cut short (file size limit, full disk) leaves a fragment, but the next line starts on a
  line of its own, so `llm-energy report` loses only the cut line.
- A file that already ends without a newline (a crash mid-write) gets the same treatment.
- After a logrotate-style rename and re-create, or a deletion, later lines go to the path.
- Every line is strict JSON: NaN and infinities never reach the file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import tracker
from tracker.export import _ledger
from tracker.export._ledger import LedgerWriter, encode_line


@pytest.fixture
def check_every_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compare the path with the open file before every write (default: once a second)."""
    monkeypatch.setattr(_ledger, "CHECK_INTERVAL_S", 0.0)


def _strict(line: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(line, parse_constant=refuse)


def _records(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """(parsed lines, malformed non-empty lines)."""
    good, bad = [], []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            continue
        try:
            good.append(_strict(line))
        except ValueError:
            bad.append(line)
    return good, bad


_FSIZE_SCRIPT = """
import os, resource, sys
import tracker
path = sys.argv[1]
tracker.configure(ledger=path, instrument=False, labels={"n": "1"})
tracker.record_usage("gpt-4o", 10, 5, provider="openai")
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(path) + 40, hard))
tracker.configure(ledger=path, instrument=False, labels={"n": "2"}, strict=False)  # logged
tracker.record_usage("gpt-4o", 10, 5, provider="openai")   # cut after 40 bytes
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
tracker.configure(ledger=path, instrument=False, labels={"n": "3"})
tracker.record_usage("gpt-4o", 10, 5, provider="openai")
tracker.record_usage("gpt-4o", 10, 5, provider="openai")
"""


def test_write_cut_by_file_size_limit_does_not_merge_the_next_line(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    proc = subprocess.run([sys.executable, "-c", _FSIZE_SCRIPT, str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    good, bad = _records(path)
    assert [r["labels"]["n"] for r in good] == ["1", "3", "3"]
    assert len(bad) == 1 and len(bad[0]) == 40  # the fragment, alone on its line


def test_write_failure_in_process_marks_the_next_line(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger.jsonl"
    writer = LedgerWriter(str(path))
    writer.write({"n": 1})
    real_write = os.write
    calls: list[int] = []

    def short_then_full(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, data[:5])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", short_then_full)
    with pytest.raises(OSError):
        writer.write({"n": 2})
    monkeypatch.setattr(os, "write", real_write)
    writer.write({"n": 3})
    writer.close()
    good, bad = _records(path)
    assert [r["n"] for r in good] == [1, 3]
    assert bad == ['{"n":']


def test_file_ending_mid_line_gets_a_separating_newline(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_text('{"event":"energy.request","energy.kwh":0.1}\n{"event":"energy.req')
    tracker.configure(ledger=path, instrument=False)
    tracker.record_usage("gpt-4o", 10, 5)
    good, bad = _records(path)
    assert len(good) == 2 and bad == ['{"event":"energy.req']


@pytest.mark.usefixtures("check_every_write")
def test_rotation_by_rename_and_recreate_follows_the_path(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    tracker.configure(ledger=path, instrument=False)
    tracker.record_usage("gpt-4o", 10, 5)
    rotated = tmp_path / "ledger.jsonl.1"
    os.rename(path, rotated)
    path.touch()  # logrotate's "create"
    tracker.record_usage("gpt-4o", 20, 5)
    tracker.record_usage("gpt-4o", 30, 5)
    assert [r["gen_ai.usage.input_tokens"] for r in _records(rotated)[0]] == [10]
    assert [r["gen_ai.usage.input_tokens"] for r in _records(path)[0]] == [20, 30]


@pytest.mark.usefixtures("check_every_write")
def test_rotation_without_recreate_and_deletion_recreate_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    tracker.configure(ledger=path, instrument=False)
    tracker.record_usage("gpt-4o", 10, 5)
    os.rename(path, tmp_path / "old.jsonl")
    tracker.record_usage("gpt-4o", 20, 5)
    assert [r["gen_ai.usage.input_tokens"] for r in _records(path)[0]] == [20]
    path.unlink()
    tracker.record_usage("gpt-4o", 30, 5)
    assert [r["gen_ai.usage.input_tokens"] for r in _records(path)[0]] == [30]


def test_rotation_is_noticed_within_the_check_interval(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    tracker.configure(ledger=path, instrument=False)
    tracker.record_usage("gpt-4o", 10, 5)
    os.rename(path, tmp_path / "ledger.jsonl.1")
    path.touch()
    tracker.record_usage("gpt-4o", 20, 5)  # within the interval: the rotated file, whole
    time.sleep(_ledger.CHECK_INTERVAL_S + 0.05)
    tracker.record_usage("gpt-4o", 30, 5)
    rotated = [r["gen_ai.usage.input_tokens"] for r in _records(tmp_path / "ledger.jsonl.1")[0]]
    assert rotated == [10, 20]
    assert [r["gen_ai.usage.input_tokens"] for r in _records(path)[0]] == [30]


def test_encode_line_is_strict_json() -> None:
    record = {"a": float("nan"), "b": [1.0, float("inf"), {"c": -float("inf")}], "d": 0.5,
              "e": "text"}
    line = encode_line(record)
    assert _strict(line) == {"a": None, "b": [1.0, None, {"c": None}], "d": 0.5, "e": "text"}
    assert _strict(LedgerWriter.encode({"x": float("nan")}).decode()) == {"x": None}


def test_non_finite_label_never_reaches_the_ledger_as_nan(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    try:
        tracker.configure(ledger=path, instrument=False, labels={"score": float("nan")})
    except tracker.ConfigError as exc:  # rejected up front is fine too
        assert exc.field == "labels"
        tracker.configure(ledger=path, instrument=False)
    tracker.record_usage("gpt-4o", 10, 5, weight=float("nan"), ratio=float("inf"))
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    (row,) = _records(path)[0]
    assert "weight" not in row and "ratio" not in row

"""The local ledger: one JSON object per LLM call, appended to a JSON Lines file.

Lines are atomic under threads and under several processes writing the same file: the file is
opened with ``O_APPEND`` and every line (record plus newline) goes out in one ``os.write`` of the
encoded bytes, so the kernel places each whole line at the end of the file. The descriptor stays
open; a forked child reopens its own on its first write.

Each line holds the fields of the ``energy.request`` log record (the call span's attributes, with
the user's labels) plus ``timestamp`` (ISO 8601 UTC), ``trace_id``, ``span_id``, ``function`` (the
innermost tracked function or block, or null) and ``labels`` (the user's labels as an object).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from tracker.exceptions import ConfigError

__all__ = ["DEFAULT_LEDGER_PATH", "LedgerWriter", "validate_ledger_path"]

#: Where ``ledger="auto"`` writes, relative to the working directory at configure time.
DEFAULT_LEDGER_PATH = "llm-energy-ledger.jsonl"

_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


def validate_ledger_path(path: str | os.PathLike[str]) -> str:
    """Return the absolute ledger path, or raise ``ConfigError("ledger", ...)``."""
    resolved = Path(path).expanduser().absolute()
    parent = resolved.parent
    if not parent.is_dir():
        raise ConfigError("ledger", f"directory {str(parent)!r} does not exist")
    if resolved.is_dir():
        raise ConfigError("ledger", f"{str(resolved)!r} is a directory, not a file")
    if not os.access(parent, os.W_OK) or (resolved.exists() and not os.access(resolved, os.W_OK)):
        raise ConfigError("ledger", f"{str(resolved)!r} is not writable")
    return str(resolved)


class LedgerWriter:
    """Appends JSON lines to one file; safe to share between threads and forked processes."""

    def __init__(self, path: str, *, open_now: bool = False) -> None:
        self.path = path
        self._fd = -1
        self._pid = -1
        self._lock = threading.Lock()
        if open_now:
            self._open()

    def _open(self) -> int:
        with self._lock:
            pid = os.getpid()
            if self._fd < 0 or self._pid != pid:
                # In a forked child the inherited descriptor is left to the parent.
                self._fd = os.open(self.path, _FLAGS, 0o644)
                self._pid = pid
            return self._fd

    @staticmethod
    def encode(record: dict[str, Any]) -> bytes:
        """One record as one line of UTF-8 JSON, newline included."""
        return (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode("utf-8")

    def write_line(self, data: bytes) -> None:
        """Append one encoded line with a single ``os.write`` (retrying only a short write)."""
        fd = self._fd
        if fd < 0 or self._pid != _current_pid():
            fd = self._open()
        written = os.write(fd, data)
        while written < len(data):  # only on a full disk or a signal; keep the line whole-ish
            written += os.write(fd, data[written:])

    def write(self, record: dict[str, Any]) -> None:
        """Encode and append one record."""
        self.write_line(self.encode(record))

    def close(self) -> None:
        """Close the descriptor (a later write reopens it)."""
        with self._lock:
            fd, self._fd = self._fd, -1
            if fd >= 0 and self._pid == os.getpid():
                os.close(fd)


_pid = os.getpid()


def _current_pid() -> int:
    return _pid


def _after_fork() -> None:
    global _pid
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)

"""The local ledger: one JSON object per LLM call, appended to a JSON Lines file.

Lines are atomic under threads and under several processes writing the same file: the file is
opened with ``O_APPEND`` and every line (record plus newline) goes out in one ``os.write`` of the
encoded bytes, so the kernel places each whole line at the end of the file. The descriptor stays
open; a forked child reopens its own on its first write.

Faults (docs/reliability.md, class 4):

- Strict JSON only: a non-finite number (NaN, infinity) is written as ``null`` (`encode_line`).
- A torn line (the disk filled, or ``RLIMIT_FSIZE`` was reached, in the middle of a write) is never
  merged with the next one: after a failed write, and whenever the file is (re)opened and does not
  end with a newline, the next line starts with a newline, so the fragment stays a malformed line
  of its own that readers skip.
- Rotation and deletion: the path is compared with the open file (device and inode, as
  ``logging.handlers.WatchedFileHandler`` does) before a write, at most once every
  `CHECK_INTERVAL_S` (a ``stat`` costs several microseconds; a call's whole pricing costs about
  as much); when the file was renamed away (logrotate) or deleted, the path is reopened (created
  again) and later lines go there. Lines written within that second after a rotation go to the
  rotated file, whole.
- The descriptor is closed by `close()` and, at the latest, when the writer is garbage-collected
  (a replaced configuration never leaks it).

Each line holds the fields of the ``energy.request`` log record (the call span's attributes, with
the user's labels) plus ``timestamp`` (ISO 8601 UTC), ``trace_id``, ``span_id``, ``function`` (the
innermost tracked function or block, or null) and ``labels`` (the user's labels as an object).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from tracker._text import encodable
from tracker.exceptions import ConfigError

__all__ = ["DEFAULT_LEDGER_PATH", "LedgerWriter", "encode_line", "validate_ledger_path"]

#: Where ``ledger="auto"`` writes, relative to the working directory at configure time.
DEFAULT_LEDGER_PATH = "llm-energy-ledger.jsonl"

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | _CLOEXEC
_READ_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | _CLOEXEC
#: Seconds between two checks that the path still names the open file.
CHECK_INTERVAL_S = 1.0


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


def _finite(value: Any) -> Any:
    """`value` with every non-finite float (at any depth) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _utf8(value: Any) -> Any:
    """`value` with every lone surrogate in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return encodable(value)
    if isinstance(value, dict):
        return {_utf8(k): _utf8(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_utf8(v) for v in value]
    return value


def encode_line(record: dict[str, Any]) -> str:
    """One record as one line of strict JSON (no newline), one its own reader accepts.

    NaN and infinities become null, lone surrogates (a label from a non-UTF-8 environment)
    U+FFFD, so every line is valid UTF-8 text.
    """
    try:
        line = json.dumps(record, separators=(",", ":"), default=str, allow_nan=False)
    except ValueError:  # a non-finite float somewhere: rare, so the copy is made only then
        line = json.dumps(_finite(record), separators=(",", ":"), default=str, allow_nan=False)
    if "\\ud" in line:  # a surrogate escape (rare): only then is the record copied
        line = json.dumps(_utf8(_finite(record)), separators=(",", ":"), default=str,
                          allow_nan=False)
    return line


class _Fd:
    """The open descriptor of one writer (kept apart so a finalizer can close it)."""

    __slots__ = ("checked", "fd", "ident", "pid", "torn")

    def __init__(self) -> None:
        self.fd = -1
        self.pid = -1
        #: (st_dev, st_ino) of the open file.
        self.ident: tuple[int, int] | None = None
        #: The file may end with a partial line: start the next write with a newline.
        self.torn = False
        #: time.monotonic() of the last check that the path names the open file.
        self.checked = 0.0

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0 and self.pid == os.getpid():
            with contextlib.suppress(OSError):
                os.close(fd)


def _ends_without_newline(fd: int, size: int) -> bool:
    if size <= 0:
        return False
    try:
        return os.pread(fd, 1, size - 1) != b"\n"
    except OSError:  # opened write-only: assume the file is whole
        return False


class LedgerWriter:
    """Appends JSON lines to one file; safe to share between threads and forked processes."""

    def __init__(self, path: str, *, open_now: bool = False) -> None:
        self.path = path
        self._state = _Fd()
        self._lock = threading.RLock()  # re-entrant: a signal handler may record a call too
        self._finalizer = weakref.finalize(self, self._state.close)
        _writers.add(self)
        if open_now:
            with self._lock:
                self._reopen()

    def _reopen(self) -> int:
        """(Re)open the path; the caller holds the lock."""
        state = self._state
        if state.pid == os.getpid():
            state.close()
        state.fd = -1
        try:
            fd = os.open(self.path, _READ_FLAGS, 0o644)
        except PermissionError:  # a write-only file
            fd = os.open(self.path, _FLAGS, 0o644)
        try:
            st = os.fstat(fd)
            if _ends_without_newline(fd, st.st_size):
                state.torn = True
        except BaseException:
            os.close(fd)
            raise
        state.fd, state.pid, state.ident = fd, os.getpid(), (st.st_dev, st.st_ino)
        state.checked = time.monotonic()
        return fd

    def _current_fd(self) -> int:
        """The descriptor to write to, reopened after a fork, a rotation or a deletion."""
        state = self._state
        if state.fd >= 0 and state.pid == _current_pid():
            now = time.monotonic()
            if now - state.checked < CHECK_INTERVAL_S:
                return state.fd
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                st = None
            if st is not None and (st.st_dev, st.st_ino) == state.ident:
                state.checked = now
                return state.fd
        return self._reopen()

    @staticmethod
    def encode(record: dict[str, Any]) -> bytes:
        """One record as one line of UTF-8 strict JSON, newline included."""
        return (encode_line(record) + "\n").encode("utf-8")

    def write_line(self, data: bytes) -> None:
        """Append one encoded line with a single ``os.write`` (retrying only a short write).

        Raises the ``OSError`` of a failed write (full disk, file size limit); the next line then
        starts with a newline, so it is not merged with the fragment left behind.
        """
        with self._lock:
            fd = self._current_fd()
            state = self._state
            if state.torn:
                data = b"\n" + data
            state.torn = True  # until the whole line is out
            written = os.write(fd, data)
            while written < len(data):  # only on a full disk or a signal
                written += os.write(fd, data[written:])
            state.torn = False

    def write(self, record: dict[str, Any]) -> None:
        """Encode and append one record."""
        self.write_line(self.encode(record))

    def close(self) -> None:
        """Close the descriptor (a later write reopens it)."""
        with self._lock:
            self._state.close()


_pid = os.getpid()
_writers: weakref.WeakSet[LedgerWriter] = weakref.WeakSet()


def _current_pid() -> int:
    return _pid


def _after_fork() -> None:
    global _pid
    _pid = os.getpid()
    for writer in list(_writers):  # a lock held by another thread at fork time stays held
        writer._lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)

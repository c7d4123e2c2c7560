"""Flushing the SDK's own telemetry providers at exit, on every Python from 3.10.

Python 3.12 and later refuse to start a thread from an ``atexit`` callback ("can't create new
thread at interpreter shutdown"), which is where exporters used to be flushed in parallel. So:

- `register_exit_flush` runs the shutdown from a ``threading._register_atexit`` callback, when the
  main thread ends and threads can still be started (``atexit`` where that hook is missing);
- `run_parallel` runs the flush jobs on daemon threads with one deadline, and the remaining jobs
  on the calling thread when no thread can be started, so nothing queued is lost either way.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracker.export._providers import OwnedProviders

__all__ = ["quietly", "register_exit_flush", "run_parallel"]

_log = logging.getLogger("tracker.export._providers")


def quietly(func: Callable[[], object]) -> None:
    try:
        func()
    except Exception:  # never let teardown raise into the application
        _log.debug("llm-energy-tracker: error while stopping telemetry", exc_info=True)


class _Standby:
    """Daemon threads started ahead of exit, each able to run one flush job then.

    Python 3.12+ refuses to start threads once the interpreter is shutting down (also in
    ``threading._register_atexit`` callbacks, on 3.12.1), which would leave the three signals to
    be flushed one after the other: with a collector down, three export timeouts in a row. These
    threads exist already, so the signals still flush in parallel within one deadline.
    """

    def __init__(self, size: int) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], object], threading.Event]] = (
            queue.SimpleQueue())
        for _ in range(size):
            threading.Thread(target=self._serve, daemon=True,
                             name="llm-energy-tracker-exit-flush").start()

    def _serve(self) -> None:
        while True:
            job, done = self._jobs.get()
            quietly(job)
            done.set()

    def submit(self, job: Callable[[], object]) -> threading.Event:
        done = threading.Event()
        self._jobs.put((job, done))
        return done


_standby: _Standby | None = None
_standby_lock = threading.Lock()


def _start_standby(size: int = 3) -> None:
    global _standby
    with _standby_lock:
        if _standby is None:
            with contextlib.suppress(RuntimeError):  # already shutting down
                _standby = _Standby(size)


def _join(thread: threading.Thread, timeout: float) -> bool:
    thread.join(timeout)
    return not thread.is_alive()


def run_parallel(jobs: Sequence[Callable[[], object]], timeout_s: float) -> bool:
    """Run ``jobs`` in parallel on daemon threads; True if all returned within ``timeout_s``.

    Where no thread can be started any more (interpreter shutdown on Python 3.12+), the
    standby threads started at configuration run them; failing those, they run here, one after
    the other, so nothing queued is lost.
    """
    waits: list[Callable[[float], bool]] = []
    inline: list[Callable[[], object]] = []
    for job in jobs:
        t = threading.Thread(target=quietly, args=(job,), daemon=True,
                             name="llm-energy-tracker-flush")
        try:
            t.start()
        except RuntimeError:
            if _standby is None:
                inline.append(job)
                continue
            waits.append(_standby.submit(job).wait)
            continue
        waits.append(functools.partial(_join, t))
    for job in inline:
        quietly(job)
    deadline = time.monotonic() + timeout_s
    finished = [wait(max(0.0, deadline - time.monotonic())) for wait in waits]
    return all(finished)


def _shutdown_at_exit(ref: weakref.ref[OwnedProviders]) -> None:
    owned = ref()
    if owned is None or owned._done:
        return
    current = threading.current_thread()
    working = [t for t in threading.enumerate()
               if t is not current and not t.daemon and t.is_alive()]
    if working:  # threads still running may record more: flush now, stop after they end
        quietly(owned.force_flush)
        atexit.register(owned.shutdown)
        return
    quietly(owned.shutdown)


def register_exit_flush(owned: OwnedProviders) -> None:
    """Flush and stop `owned` when the interpreter exits, while threads can still be started.

    ``threading._register_atexit`` callbacks run when the main thread ends, before
    non-daemon threads are joined and before ``atexit`` callbacks; on Python 3.12+ an ``atexit``
    callback can no longer start the export threads. When non-daemon threads are still running
    (they may record more calls), what is queued is flushed then and the shutdown is left to
    ``atexit``, after they end (`run_parallel` then works without new threads). Falls back to
    ``atexit`` where that hook is missing. Holds `owned` weakly (a replaced configuration is not
    kept alive); `shutdown` is idempotent, so an extra ``atexit`` registration is harmless.
    """
    _start_standby()
    callback = functools.partial(_shutdown_at_exit, weakref.ref(owned))
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        try:
            register(callback)
            return
        except RuntimeError:  # already shutting down
            pass
    atexit.register(callback)

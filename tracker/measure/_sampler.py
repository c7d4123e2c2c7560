"""`EnergySampler`: the GPUs' energy read from NVML on a daemon thread, into a bounded ring.

Per GPU, the total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``, millijoules since the
driver loaded; Volta and later) is read; where a GPU has no counter, its power
(``nvmlDeviceGetPowerUsage``, milliwatts) is sampled and integrated over time (trapezoids). NVML
comes from ``nvidia-ml-py`` (module ``pynvml``), imported on `start()` only; any NVML-like object
can be passed instead (tests pass a fake).

Nothing here raises into the application. No NVML, no permission, a GPU lost, a counter that went
backwards (a wrap or a driver reload): the sampler says "not measured" with the reason, for the
whole run (`status`) or for the interval concerned (``on_interval(t0, t1, None, reason)``), and
the application goes on.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from tracker._internal_errors import report

__all__ = ["EnergySampler", "IntervalSink", "nvml_reason"]

#: Receives each interval: (start, end, joules or None, reason when None).
IntervalSink = Callable[[float, float, "float | None", "str | None"], None]

#: NVML return codes (nvml.h) named in the reasons.
_REASONS = {1: "NVML not initialised", 2: "invalid argument (no such GPU index?)",
            3: "not supported on this GPU", 4: "permission denied", 9: "NVIDIA driver not loaded",
            12: "NVML library not found", 15: "GPU lost", 999: "unknown NVML error"}


def nvml_reason(exc: BaseException) -> str:
    """A short reason for an NVML failure (never the exception's full text)."""
    value = getattr(exc, "value", None)
    if isinstance(value, int) and value in _REASONS:
        return _REASONS[value]
    if isinstance(value, int):
        return f"NVML error {value}"
    return type(exc).__name__[:64]


def _load_nvml() -> Any:
    return importlib.import_module("pynvml")  # nvidia-ml-py


class EnergySampler:
    """Samples the summed energy of the named GPUs every `interval_s` seconds."""

    def __init__(self, gpus: Sequence[int], *, interval_s: float = 0.05, capacity: int = 4096,
                 nvml: Any = None, on_interval: IntervalSink | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.gpus = tuple(gpus)
        self.interval_s = interval_s
        self.clock = clock
        #: (time, cumulative joules of valid intervals since start): the last `capacity` samples.
        self.samples: deque[tuple[float, float]] = deque(maxlen=capacity)
        #: "measuring", or "not measured: <reason>" when nothing can be read at all.
        self.status = "not measured: not started"
        #: Per GPU: "counter" or "power".
        self.modes: dict[int, str] = {}
        self._nvml = nvml
        self._sink = on_interval
        self._handles: dict[int, Any] = {}
        self._last: dict[int, float | None] = {}  # counter mJ, or power mW
        self._last_t: float | None = None
        self._total_j = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ok(self) -> bool:
        """Whether the sampler started and is reading."""
        return self.status == "measuring"

    @property
    def total_joules(self) -> float:
        """Joules of every valid interval since `start()`."""
        return self._total_j

    def start(self, *, thread: bool = True) -> bool:
        """Open NVML and take the first sample; start the thread. False (and `status`) if not."""
        if not self.gpus:
            self.status = "not measured: no GPU named"
            return False
        try:
            nvml = self._nvml if self._nvml is not None else _load_nvml()
        except ImportError:
            self.status = "not measured: NVML not available (install nvidia-ml-py)"
            return False
        try:
            nvml.nvmlInit()
            for index in self.gpus:
                self._handles[index] = nvml.nvmlDeviceGetHandleByIndex(index)
                try:
                    self._last[index] = float(
                        nvml.nvmlDeviceGetTotalEnergyConsumption(self._handles[index]))
                    self.modes[index] = "counter"
                except Exception as exc:
                    if getattr(exc, "value", None) != 3:  # only "not supported" means: no counter
                        raise
                    self._last[index] = float(nvml.nvmlDeviceGetPowerUsage(self._handles[index]))
                    self.modes[index] = "power"
        except Exception as exc:
            self.status = f"not measured: {nvml_reason(exc)}"
            return False
        self._nvml = nvml
        self._last_t = self.clock()
        self.samples.append((self._last_t, 0.0))
        self.status = "measuring"
        if thread:
            self._thread = threading.Thread(target=self._run, name="llm-energy-nvml", daemon=True)
            self._thread.start()
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sample_now()
            except Exception as exc:  # pragma: no cover - sample_now catches its own
                report("measure.sampler", exc)

    def sample_now(self) -> None:
        """Read every GPU now and hand the interval since the previous sample to the sink."""
        if not self.ok:
            return
        with self._lock:
            t0 = self._last_t
            t1 = self.clock()
            if t0 is None or t1 <= t0:
                return
            joules: float | None = 0.0
            reason: str | None = None
            for index in self.gpus:
                got, why = self._read(index, t1 - t0)
                if got is None:
                    joules, reason = None, reason or why
                elif joules is not None:
                    joules += got
            self._last_t = t1
            if joules is not None:
                self._total_j += joules
            self.samples.append((t1, self._total_j))
            sink = self._sink
            if sink is not None:  # under the lock: intervals reach the sink in time order
                try:
                    sink(t0, t1, joules, reason)
                except Exception as exc:
                    report("measure.attribution", exc)

    def _read(self, index: int, dt: float) -> tuple[float | None, str | None]:
        """Joules of GPU `index` over the last `dt` seconds, or (None, reason)."""
        nvml, handle, last = self._nvml, self._handles[index], self._last[index]
        try:
            if self.modes[index] == "counter":
                now = float(nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
            else:
                now = float(nvml.nvmlDeviceGetPowerUsage(handle))
        except Exception as exc:
            self._last[index] = None  # the next reading starts afresh
            return None, f"GPU {index}: {nvml_reason(exc)}"
        self._last[index] = now
        if last is None:
            return None, f"GPU {index}: re-reading after an error"
        if self.modes[index] == "power":
            return (last + now) / 2 / 1000 * dt, None
        if now < last:
            return None, f"GPU {index}: energy counter wrapped or reset"
        return (now - last) / 1000, None

    def stop(self) -> None:
        """Stop the thread (bounded wait) and release NVML; safe to call twice."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=max(1.0, 4 * self.interval_s))
        self._thread = None
        if self.ok:
            self.status = "not measured: sampler stopped"
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()

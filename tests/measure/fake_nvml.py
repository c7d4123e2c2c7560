"""A stand-in for the `pynvml` module: scripted counter and power readings, NVML's error codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_GPU_IS_LOST = 15


class NVMLError(Exception):
    """As pynvml's: the NVML return code in `value`."""

    def __init__(self, value: int) -> None:
        super().__init__(f"NVML error {value}")
        self.value = value


class FakeNVML:
    """Per GPU index, a script: each read returns the next value, or raises the next NVMLError.

    `counters[i]` scripts ``nvmlDeviceGetTotalEnergyConsumption`` (mJ); a GPU without a counter
    has `power[i]` (mW) instead. The last value repeats once a script is used up.
    """

    NVMLError = NVMLError

    def __init__(self, counters: dict[int, list[Any]] | None = None,
                 power: dict[int, list[Any]] | None = None, *, init_error: int | None = None,
                 on_read: Callable[[], None] | None = None) -> None:
        self.counters = {k: list(v) for k, v in (counters or {}).items()}
        self.power = {k: list(v) for k, v in (power or {}).items()}
        self.init_error = init_error
        self.on_read = on_read
        self.reads = 0
        self.shut_down = False

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise NVMLError(self.init_error)

    def nvmlShutdown(self) -> None:
        self.shut_down = True

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        if index not in self.counters and index not in self.power:
            raise NVMLError(2)
        return index

    @staticmethod
    def _next(script: list[Any]) -> Any:
        value = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(value, NVMLError):
            raise value
        return value

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> int:
        if handle not in self.counters:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        self.reads += 1
        if self.on_read is not None:
            self.on_read()
        return int(self._next(self.counters[handle]))

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        self.reads += 1
        return int(self._next(self.power[handle]))

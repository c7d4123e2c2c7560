"""Naming the local accelerator: the GPU's own name (NVML) and the hardware registry entry it is.

In-process inference (`transformers`, vLLM's offline ``LLM``) runs on hardware this process can
see, so its calls are priced on it rather than on an assumption. `gpu_name()` asks NVML for the
device's name (``NVIDIA H100 80GB HBM3``); `detect_hardware()` maps such a name to the registry's
entry where that is unambiguous; `local_hardware()` does both, once per device, and never raises
(None: no NVML, no such GPU, or a GPU the registry does not know; the configured hardware then
applies). NVML numbers GPUs as the driver does, whatever ``CUDA_VISIBLE_DEVICES`` says: a caller
that knows the device's name already (``torch.cuda.get_device_name``) passes it instead.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from tracker._internal_errors import report

__all__ = ["detect_hardware", "forget", "gpu_name", "local_hardware"]

#: Substrings of a device name, most specific first -> the hardware registry's name (None:
#: a GPU the registry lacks that a shorter needle would mistake for another, the L40 for the L4).
_NAMES: tuple[tuple[str, str | None], ...] = (
    ("H200", "h200"), ("H100 PCIE", "h100-pcie"), ("H100", "h100"),
    ("A100-SXM4-40GB", "a100-40gb"), ("A100-PCIE-40GB", "a100-40gb"), ("A100", "a100-80gb"),
    ("L40S", "l40s"), ("L40", None), ("L4", "l4"), ("GB200", "gb200"), ("B200", "b200"),
    ("V100", "v100"), ("MI325X", "mi325x"), ("MI300X", "mi300x"))
#: Longest device name looked at.
_MAX_NAME = 128

_lock = threading.Lock()
_found: dict[object, str | None] = {}


def detect_hardware(device_name: str) -> str | None:
    """The hardware registry name of a GPU's name, where it is unambiguous (else None)."""
    name = device_name[:_MAX_NAME].upper()
    for needle, registry_name in _NAMES:
        if needle in name:
            return registry_name
    return None


def gpu_name(index: int, *, nvml: Any = None) -> str | None:
    """NVML's name of GPU `index` (None without NVML or without that GPU; never raises)."""
    try:
        nvml = nvml if nvml is not None else importlib.import_module("pynvml")
        nvml.nvmlInit()
        try:
            name = nvml.nvmlDeviceGetName(nvml.nvmlDeviceGetHandleByIndex(index))
        finally:
            nvml.nvmlShutdown()
    except Exception:  # no nvidia-ml-py, no driver, no such GPU: nothing to name
        return None
    if isinstance(name, bytes):  # older nvidia-ml-py releases return bytes
        name = name.decode("utf-8", "replace")
    return name[:_MAX_NAME] if isinstance(name, str) else None


def local_hardware(index: int = 0, *, name: str | None = None, nvml: Any = None) -> str | None:
    """The registry hardware of local GPU `index` (or of the device called `name`), cached."""
    key: object = ("name", name) if name is not None else ("index", index)
    with _lock:
        if key in _found:
            return _found[key]
    try:
        found = detect_hardware(name if name is not None else gpu_name(index, nvml=nvml) or "")
    except Exception as exc:
        report("measure.local_hardware", exc)
        found = None
    with _lock:
        if len(_found) > 64:
            _found.clear()
        _found[key] = found
    return found


def forget() -> None:
    """Forget the devices named so far (tests that change NVML)."""
    with _lock:
        _found.clear()

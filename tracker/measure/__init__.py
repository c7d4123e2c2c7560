"""Measured energy where the GPU is ours: NVML sampling and per-request attribution.

`start_meter()` samples the GPUs a deployment names (``configure(measure_gpus=[0])``) on a daemon
thread; the recording layer calls `Meter.begin()` and `Meter.end()` around each call, and
`Meter.end()` returns the call's `MeasuredEnergy` (``energy.measured.kwh``, accelerator boundary)
or why there is none. `split()` is the same attribution for a whole recorded run. Needs the
``measure`` extra (``nvidia-ml-py``); without it every result says "not measured".
"""

from tracker.measure._attribution import (
    INPUT_WEIGHT,
    MEASURED,
    Attribution,
    MeasuredEnergy,
    RequestSpan,
    split,
)
from tracker.measure._meter import Meter, start_meter
from tracker.measure._sampler import EnergySampler

__all__ = ["INPUT_WEIGHT", "MEASURED", "Attribution", "EnergySampler", "MeasuredEnergy", "Meter",
           "RequestSpan", "split", "start_meter"]

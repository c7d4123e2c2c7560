"""`Meter`: a sampler and an attribution together, the one object the recording layer calls.

`start_meter(gpus)` never raises: without NVML (or without permission, or with no such GPU) it
returns a meter whose every `end()` says "not measured" with the reason, and calls go on as
before. `begin()` costs a dictionary store; `end()` takes one counter read per named GPU (so the
interval the request ends in is complete) and the request's share of the intervals it spanned.
The periodic sampling runs on the sampler's own daemon thread.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from typing import Any

from tracker._internal_errors import report
from tracker.measure._attribution import INPUT_WEIGHT, Attribution, MeasuredEnergy
from tracker.measure._sampler import EnergySampler

__all__ = ["Meter", "start_meter"]


class Meter:
    """Measured energy per request for the GPUs a deployment names."""

    __slots__ = ("attribution", "clock", "sampler")

    def __init__(self, gpus: Sequence[int], *, nvml: Any = None, interval_s: float = 0.05,
                 input_weight: float = INPUT_WEIGHT, thread: bool = True) -> None:
        self.clock = time.perf_counter
        self.attribution = Attribution(input_weight=input_weight)
        self.sampler = EnergySampler(gpus, interval_s=interval_s, nvml=nvml,
                                     on_interval=self.attribution.add_interval, clock=self.clock)
        self.sampler.start(thread=thread)

    @property
    def status(self) -> str:
        """``measuring``, or ``not measured: <reason>``."""
        return self.sampler.status

    def begin(self, request_id: Hashable) -> None:
        """A request starts now (never raises)."""
        if self.sampler.ok:
            try:
                self.attribution.begin(request_id, self.clock())
            except Exception as exc:
                report("measure.begin", exc)

    def end(self, request_id: Hashable, input_tokens: int, output_tokens: int) -> MeasuredEnergy:
        """The request ended now: its measured energy, or why there is none (never raises)."""
        if not self.sampler.ok:
            return MeasuredEnergy(None, self.sampler.status)
        try:
            t = self.clock()
            self.sampler.sample_now()
            return self.attribution.end(request_id, t, input_tokens, output_tokens)
        except Exception as exc:
            report("measure.end", exc)
            return MeasuredEnergy.not_measured("internal error")

    def close(self) -> None:
        """Stop sampling (never raises)."""
        try:
            self.sampler.stop()
        except Exception as exc:
            report("measure.close", exc)


def start_meter(gpus: Sequence[int], *, nvml: Any = None, interval_s: float = 0.05) -> Meter:
    """A started meter for `gpus` (never raises; see `Meter.status`)."""
    return Meter(gpus, nvml=nvml, interval_s=interval_s)

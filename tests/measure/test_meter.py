"""`Meter`: the sampler's thread and many calling threads together; the books always balance."""

from __future__ import annotations

import math
import threading
import time

from tracker.measure import MEASURED, Meter

from .fake_nvml import FakeNVML


class _Counter(FakeNVML):
    """A counter that rises 1 J per read (any thread), like energy flowing while requests run."""

    def __init__(self) -> None:
        super().__init__({0: [0]})
        self.mj = 0
        self.lock = threading.Lock()

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> int:
        with self.lock:
            self.mj += 1000
            return self.mj


def test_threads_and_sampler_together_split_the_measured_total_exactly() -> None:
    nvml = _Counter()
    meter = Meter((0,), nvml=nvml, interval_s=0.002)
    assert meter.status == "measuring"
    results = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(40):
            rid = (n, i)
            meter.begin(rid)
            time.sleep(0.001)
            got = meter.end(rid, 10 * n, i)
            with lock:
                results.append(got)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    meter.close()
    books = meter.attribution.snapshot()
    assert all(r.status == MEASURED and (r.joules or 0) >= 0 for r in results)
    assert len(results) == 240
    assert books["pending"] == 0 and books["unattributed"] == 0
    per_request = sum(r.joules or 0.0 for r in results)
    assert math.isclose(per_request + books["idle"], meter.sampler.total_joules, rel_tol=1e-9)
    assert math.isclose(books["total"], meter.sampler.total_joules, rel_tol=1e-12)
    assert per_request > 0


def test_a_meter_that_could_not_start_says_why_at_every_end() -> None:
    meter = Meter((0,), nvml=FakeNVML({0: [0]}, init_error=9))
    meter.begin("r")
    assert meter.end("r", 1, 1).status == "not measured: NVIDIA driver not loaded"
    meter.close()

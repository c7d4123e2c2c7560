"""`EnergySampler` against a fake NVML: counter and power modes, and every failure."""

from __future__ import annotations

import sys
import time

import pytest

from tracker.measure import EnergySampler

from .fake_nvml import NVML_ERROR_GPU_IS_LOST, NVML_ERROR_NO_PERMISSION, FakeNVML, NVMLError


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        self.t += 0.5
        return self.t


def _sampler(nvml: FakeNVML, gpus: tuple[int, ...] = (0,), **kw: object) -> tuple[
        EnergySampler, list[tuple[float, float, float | None, str | None]]]:
    got: list[tuple[float, float, float | None, str | None]] = []
    s = EnergySampler(gpus, nvml=nvml, clock=Clock(),
                      on_interval=lambda *a: got.append(a), **kw)  # type: ignore[arg-type]
    return s, got


def test_counter_total_is_the_counters_difference_summed_over_gpus() -> None:
    nvml = FakeNVML({0: [1_000, 3_000, 7_500], 1: [50_000, 50_400, 51_000]})
    s, got = _sampler(nvml, (0, 1))
    assert s.start(thread=False) and s.modes == {0: "counter", 1: "counter"}
    s.sample_now()
    s.sample_now()
    assert [j for *_, j, _ in got] == [pytest.approx(2.4), pytest.approx(5.1)]
    assert s.total_joules == pytest.approx((7_500 - 1_000 + 51_000 - 50_000) / 1000)
    assert got[0][1] == got[1][0]  # intervals are contiguous
    assert s.samples[-1][1] == s.total_joules


def test_power_is_integrated_where_the_counter_is_missing() -> None:
    nvml = FakeNVML(power={0: [100_000, 300_000]})  # mW
    s, got = _sampler(nvml)
    assert s.start(thread=False) and s.modes == {0: "power"}
    s.sample_now()  # 0.5 s at a mean of 200 W
    assert got[0][2] == pytest.approx(100.0)


def test_counter_wrap_marks_the_interval_not_measured_then_goes_on() -> None:
    nvml = FakeNVML({0: [5_000, 9_000, 1_000, 2_000]})
    s, got = _sampler(nvml)
    s.start(thread=False)
    for _ in range(3):
        s.sample_now()
    assert got[0][2] == pytest.approx(4.0)
    assert got[1][2] is None and got[1][3] == "GPU 0: energy counter wrapped or reset"
    assert got[2][2] == pytest.approx(1.0)
    assert s.total_joules == pytest.approx(5.0)


def test_gpu_lost_mid_run_never_raises() -> None:
    nvml = FakeNVML({0: [1_000, 2_000, NVMLError(NVML_ERROR_GPU_IS_LOST),
                         NVMLError(NVML_ERROR_GPU_IS_LOST)]})
    s, got = _sampler(nvml)
    s.start(thread=False)
    for _ in range(3):
        s.sample_now()
    assert got[0][2] == pytest.approx(1.0)
    assert [r for *_, r in got[1:]] == ["GPU 0: GPU lost", "GPU 0: GPU lost"]
    assert s.ok


@pytest.mark.parametrize(("nvml", "status"), [
    (FakeNVML({0: [0]}, init_error=NVML_ERROR_NO_PERMISSION), "not measured: permission denied"),
    (FakeNVML({0: [NVMLError(NVML_ERROR_NO_PERMISSION)]}), "not measured: permission denied"),
    (FakeNVML({1: [0]}), "not measured: invalid argument (no such GPU index?)"),
])
def test_start_failures_say_why(nvml: FakeNVML, status: str) -> None:
    s, got = _sampler(nvml)
    assert not s.start(thread=False)
    assert s.status == status
    s.sample_now()  # nothing read, nothing raised
    assert got == []


def test_no_nvml_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    s = EnergySampler((0,))
    assert not s.start()
    assert s.status == "not measured: NVML not available (install nvidia-ml-py)"
    assert not EnergySampler(()).start()


def test_thread_samples_into_a_bounded_ring_and_stops() -> None:
    nvml = FakeNVML({0: list(range(0, 10_000_000, 1_000))})
    s = EnergySampler((0,), nvml=nvml, interval_s=0.001, capacity=4)
    assert s.start()
    deadline = time.monotonic() + 5
    while len(s.samples) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    s.stop()
    s.stop()
    assert len(s.samples) == 4
    assert s.samples[-1][1] > 0 and nvml.reads >= 4
    assert nvml.shut_down and s.status == "not measured: sampler stopped"

"""`measure_gpus` end to end: the measured energy on the call's span, log record and ledger line.

The real `pynvml` is replaced by a fake module object in ``sys.modules``; every failure leaves the
call recorded as before, with ``energy.measured.status`` saying why there is no figure.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import partialmethod
from pathlib import Path
from typing import Any

import pytest

import tracker
from tracker import _attributes as A
from tracker.exceptions import ConfigError
from tracker.measure import EnergySampler
from tracker.recording._runtime import get_runtime

from .fake_nvml import NVML_ERROR_GPU_IS_LOST, NVML_ERROR_NO_PERMISSION, FakeNVML, NVMLError

_start = EnergySampler.start


def _call(input_tokens: int = 100, output_tokens: int = 50) -> None:
    call = tracker.start_call(provider="vllm", request_model="llama-3.1-8b")
    call.finish(input_tokens=input_tokens, output_tokens=output_tokens)


def _measured(configure_tracker: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
              nvml: Any, **options: Any) -> Any:
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    # no sampling thread: the intervals are exactly the reads the calls make
    monkeypatch.setattr(EnergySampler, "start", partialmethod(_start, thread=False))
    return configure_tracker(measure_gpus=[0], **options)


def test_measured_energy_on_span_log_and_ledger(configure_tracker: Callable[..., Any],
                                                monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    # 1 J between the first read and any later one: the one call takes it all
    nvml = FakeNVML({0: [10_000] + [11_000] * 1000})
    ledger = tmp_path / "ledger.jsonl"
    otel = _measured(configure_tracker, monkeypatch, nvml, ledger=str(ledger))
    meter = get_runtime().meter
    assert meter.status == "measuring"
    _call()
    tracker.shutdown()
    span = otel.call_spans()[0]
    assert span.attributes[A.ENERGY_MEASURED_STATUS] == "measured"
    assert span.attributes[A.ENERGY_MEASURED_KWH] == pytest.approx(1.0 / 3.6e6)
    assert span.attributes[A.ENERGY_KWH] > 0  # the estimate is still there beside it
    record = otel.logs()[0]
    assert record.attributes[A.ENERGY_MEASURED_KWH] == pytest.approx(1.0 / 3.6e6)
    line = json.loads(ledger.read_text().splitlines()[0])
    assert line[A.ENERGY_MEASURED_STATUS] == "measured"
    assert line[A.ENERGY_MEASURED_KWH] == pytest.approx(1.0 / 3.6e6)


def test_measuring_off_adds_nothing(configured: Any) -> None:
    assert get_runtime().meter is None
    _call()
    attrs = configured.call_spans()[0].attributes
    assert A.ENERGY_MEASURED_STATUS not in attrs and A.ENERGY_MEASURED_KWH not in attrs


@pytest.mark.parametrize(("nvml", "status"), [
    (None, "not measured: NVML not available (install nvidia-ml-py)"),
    (FakeNVML({0: [0]}, init_error=NVML_ERROR_NO_PERMISSION), "not measured: permission denied"),
    (FakeNVML({0: [1_000, NVMLError(NVML_ERROR_GPU_IS_LOST)]}),
     "not measured: GPU 0: GPU lost"),
    (FakeNVML({0: [9_000, 1_000]}), "not measured: GPU 0: energy counter wrapped or reset"),
])
def test_failures_leave_the_call_recorded_and_say_not_measured(
        configure_tracker: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, nvml: Any,
        status: str) -> None:
    otel = _measured(configure_tracker, monkeypatch, nvml)
    _call()
    span = otel.call_spans()[0]
    assert span.attributes[A.ENERGY_MEASURED_STATUS] == status
    assert A.ENERGY_MEASURED_KWH not in span.attributes
    assert span.attributes[A.ENERGY_KWH] > 0
    assert span.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 50


def test_a_failed_call_leaves_the_meter(configure_tracker: Callable[..., Any],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _measured(configure_tracker, monkeypatch, FakeNVML({0: [0]}))
    call = tracker.start_call(provider="vllm", request_model="llama-3.1-8b")
    assert get_runtime().meter.attribution.open_requests() == 1
    call.finish(input_tokens=None, output_tokens=None, error=RuntimeError("boom"))
    assert get_runtime().meter.attribution.open_requests() == 0


def test_reconfiguring_stops_the_old_sampler(configure_tracker: Callable[..., Any],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    nvml = FakeNVML({0: [0]})
    _measured(configure_tracker, monkeypatch, nvml)
    old = get_runtime().meter
    configure_tracker()
    assert old.status == "not measured: sampler stopped" and nvml.shut_down
    assert get_runtime().meter is None


def test_option_from_environment_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.config._parsers import gpu_indices

    assert gpu_indices("measure_gpus", "0, 1,1") == (0, 1)
    assert gpu_indices("measure_gpus", [2]) == (2,)
    assert gpu_indices("measure_gpus", 3) == (3,)
    assert gpu_indices("measure_gpus", "") is None
    for bad in ("a", [-1], [True], {"x": 1}, list(range(65)), [2**40]):
        with pytest.raises(ConfigError, match="measure_gpus"):
            gpu_indices("measure_gpus", bad)
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setenv("TRACKER_MEASURE_GPUS", "0,1")
    config = tracker.configure(instrument=False, ledger=None)
    try:
        assert config.measure_gpus == (0, 1)
    finally:
        tracker.configure(instrument=False, ledger=None, measure_gpus=None)

"""Behaviour of the calibrated energy model (tracker.calibrated) and its fitted data."""

from __future__ import annotations

import csv
import itertools
import json
import math
import statistics
from pathlib import Path

import pytest

from tracker.model import _calibrated as calibrated
from tracker.model._calibrated import (
    BATCH_SIZE_RANGE,
    DEFAULT_BATCH_SIZE,
    default_gpus,
    gpu_joules_per_token,
)
from tracker.model._registry import get_registry
from tracker.model._specs import HardwareSpec

CSV = Path(__file__).resolve().parents[2] / "shared" / "calibration" / (
    "measured_energy_calibration.csv")


def hw(name: str) -> HardwareSpec:
    return get_registry().hardware(name)


def j_out(active: float, total: float, batch: float, *, precision: str = "bf16",
          hardware: str = "h100", gpus: int = 1) -> float:
    return gpu_joules_per_token(active_params_b=active, total_params_b=total,
                                precision=precision, hardware=hw(hardware), gpus=gpus,
                                batch_size=batch)[1]


def test_quality_bar_on_calibration_file() -> None:
    """Median |log2| <= 0.35 and >= 90 % within 2x on conversation and reasoning rows."""
    if not CSV.exists():
        pytest.skip("../shared/calibration not present")
    with CSV.open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["task"] in ("lm-arena-chat", "chat", "gpqa")]
    assert len(rows) > 300
    errs = [
        abs(math.log2(j_out(float(r["active_params_b"]), float(r["total_params_b"]),
                            float(r["avg_batch"]), precision=r["precision"],
                            hardware=r["gpu"], gpus=int(r["num_gpus"]))
                      / float(r["joules_per_output_token"])))
        for r in rows
    ]
    assert statistics.median(errs) <= 0.35
    assert sum(e <= 1.0 for e in errs) / len(errs) >= 0.90


@pytest.mark.parametrize(("active", "total", "gpus", "hardware"), [
    (8.0, 8.0, 1, "h100"), (70.6, 70.6, 4, "h100"), (3.3, 30.5, 1, "b200"),
    (37.0, 671.0, 8, "h100"), (88.0, 440.0, 16, "h100"), (12.9, 46.7, 4, "a100-40gb"),
])
def test_non_increasing_in_batch(active: float, total: float, gpus: int, hardware: str) -> None:
    values = [j_out(active, total, b, gpus=gpus, hardware=hardware)
              for b in (1, 2, 8, 16, 64, 128, 256, 1024, 4096)]
    assert all(b <= a * (1 + 1e-12) for a, b in itertools.pairwise(values))
    assert values[0] > 3 * values[-1]  # batching really pays


@pytest.mark.parametrize("batch", [1, 16, 256])
def test_non_decreasing_in_active_params(batch: float) -> None:
    dense = [j_out(a, 400.0, batch, gpus=8) for a in (1, 10, 50, 200, 400)]
    assert all(b >= a for a, b in itertools.pairwise(dense))
    assert dense[-1] > dense[0]


def test_prefill_cheaper_than_decode_at_small_batch() -> None:
    for active, total, gpus in ((8.0, 8.0, 1), (70.6, 70.6, 4), (37.0, 671.0, 8)):
        j_in, j_dec = gpu_joules_per_token(active_params_b=active, total_params_b=total,
                                           precision="bf16", hardware=hw("h100"), gpus=gpus,
                                           batch_size=8)
        assert 0 < j_in < j_dec / 5


def test_moe_pays_for_resident_experts() -> None:
    """A large MoE needs more accelerators than a dense model of its active size, and costs more."""
    h100 = hw("h100")
    assert default_gpus(440, "bf16", h100) > default_gpus(88, "bf16", h100)
    moe = j_out(37.0, 671.0, 64, gpus=default_gpus(671, "bf16", h100))
    dense = j_out(37.0, 37.0, 64, gpus=default_gpus(37, "bf16", h100))
    assert moe > 2 * dense


def test_default_gpus_matches_common_deployments() -> None:
    h100, b200, a100 = hw("h100"), hw("b200"), hw("a100-40gb")
    assert default_gpus(8.03, "bf16", h100) == 1
    assert default_gpus(70.6, "bf16", h100) == 4
    assert default_gpus(70.6, "bf16", b200) == 2
    assert default_gpus(70.6, "bf16", a100) == 8
    assert default_gpus(70.6, "fp8", h100) == 2  # fewer bytes per weight, fewer accelerators
    for total in (1, 5, 30, 100, 250, 400):
        n = default_gpus(total, "bf16", h100)
        assert n & (n - 1) == 0  # power of two within a node
    big = default_gpus(1000, "bf16", h100)
    assert big > 8 and big % 8 == 0  # whole nodes beyond one


def test_fp8_is_not_a_flat_2x() -> None:
    """Measured FP8 costs a bit more at small batch and saves little at large batch."""
    for active, total, gpus in ((8.0, 8.0, 1), (70.6, 70.6, 4)):
        small = j_out(active, total, 8, precision="fp8", gpus=gpus) / j_out(active, total, 8,
                                                                             gpus=gpus)
        large = j_out(active, total, 256, precision="fp8", gpus=gpus) / j_out(active, total, 256,
                                                                              gpus=gpus)
        assert small >= 1.0
        assert 0.6 < large < 1.0


def test_default_batch_and_range() -> None:
    low, high = BATCH_SIZE_RANGE
    assert 1 <= low < DEFAULT_BATCH_SIZE < high


def test_gpt4o_class_anchor() -> None:
    """440B total / 88B active MoE, bf16, H100: 100 in + 300 out near the published 0.24-0.42 Wh."""
    h100 = hw("h100")
    gpus = default_gpus(440, "bf16", h100)
    j_in, j_dec = gpu_joules_per_token(active_params_b=88, total_params_b=440, precision="bf16",
                                       hardware=h100, gpus=gpus, batch_size=DEFAULT_BATCH_SIZE)
    accel_wh = (100 * j_in + 300 * j_dec) / 3600
    facility_wh = accel_wh * 1.6 * 1.2
    assert 0.05 <= accel_wh <= 0.55
    assert 0.24 / 3 <= facility_wh <= 0.42 * 3


def test_calibration_file_has_provenance() -> None:
    doc = json.loads(calibrated.CALIBRATION_FILE.read_text(encoding="utf-8"))
    prov = doc["provenance"]
    for key in ("script", "date", "input_file", "input_rows", "rows_used", "objective",
                "numpy", "scipy"):
        assert prov[key]
    assert doc["scores"]["in_sample"]["median_abs_log2"] <= 0.35
    assert "leave_one_model_out" in doc["scores"]["cross_validation"]
    assert set(calibrated.COEFFICIENTS) <= set(doc["coefficients"])
    assert all(v >= 0 for v in calibrated.COEFFICIENTS.values())


def test_estimate_uses_this_model_gpu_only() -> None:
    """estimate(method="calibrated", pue=1, host_overhead=0) reports exactly this energy."""
    from tracker.model._estimate import estimate
    from tracker.model._specs import ModelSpec

    spec = ModelSpec(name="probe", total_params_b=30.5, active_params_b=3.3)
    est = estimate(spec, output_tokens=1_000_000, input_tokens=0, hardware="h100", gpus=2,
                   batch_size=64, precision="bf16", method="calibrated", pue=1,
                   host_overhead=0, carbon_intensity=0, price_usd_per_kwh=0)
    expected = j_out(3.3, 30.5, 64, gpus=2) * 1_000_000 / 3.6e6
    assert est.accelerator_kwh == pytest.approx(expected, rel=1e-9)

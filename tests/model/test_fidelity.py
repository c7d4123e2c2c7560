"""The energy model against the measured sources in benchmarks/data/ (the quality bars)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks.accuracy import calibrate, fidelity

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def ml() -> calibrate.Rows:
    return calibrate.load_ml_energy()


@pytest.fixture(scope="module")
def mp() -> calibrate.Rows:
    return calibrate.load_mlperf()


def test_data_is_in_the_repository(ml: calibrate.Rows, mp: calibrate.Rows) -> None:
    assert calibrate.ML_ENERGY_CSV.is_relative_to(BENCH.parent)
    assert len(ml) == 409  # conversation and reasoning rows
    # distinct greedy runs: llama2-70b (9), mixtral (2), llama3.1-405b (2), llama3.1-8b (2)
    assert len(mp) == 15
    assert set(mp.engine) == {"tensorrt-llm"} and set(ml.engine) == {"vllm", "vllm-0.4"}
    assert not any("gpt-j" in m for m in mp.model)


@pytest.mark.parametrize("source", ["ml.energy", "mlperf"])
def test_quality_bar_through_public_estimate(source: str, ml: calibrate.Rows,
                                             mp: calibrate.Rows) -> None:
    """The shipped coefficients, priced through estimate(), meet each source's bar."""
    rows = ml if source == "ml.energy" else mp
    errs = fidelity.score_source(rows)["calibrated (default)"]
    s = calibrate.score(errs)
    median, within = fidelity.BARS[source]
    assert s["median_abs_log2"] <= median, s
    assert s["within_2x"] >= within, s
    assert abs(s["median_log2_bias"]) < 0.25, s  # not merely inside the bar: centred


def test_estimate_equals_the_fitted_model(ml: calibrate.Rows, mp: calibrate.Rows) -> None:
    """The runtime (floats) and the fit (numpy arrays) share the physics: same numbers."""
    doc = calibrate.json.loads(calibrate.CALIBRATION_FILE.read_text(encoding="utf-8"))
    coef, engines = doc["coefficients"], doc["engines"]
    for rows in (ml, mp):
        fitted = calibrate.predict(coef, engines, rows)
        for i, row in enumerate(fidelity._row_dicts(rows)[:40]):
            assert fidelity.tracker_j_per_token(row) == pytest.approx(fitted[i], rel=0.03)


def test_seed_and_ecologits_are_worse_than_the_model(ml: calibrate.Rows,
                                                     mp: calibrate.Rows) -> None:
    for rows in (ml, mp):
        scores = {k: calibrate.score(v)["median_abs_log2"]
                  for k, v in fidelity.score_source(rows).items()}
        assert scores["calibrated (default)"] < scores["EcoLogits regression"]
        assert scores["flops (seed formula)"] > 1.0  # the theoretical floor is far too low


def test_cross_source(ml: calibrate.Rows, mp: calibrate.Rows) -> None:
    """Fitted on one source alone and scored on the other: median <= 0.6 both ways."""
    scores = fidelity.generalisation(ml, mp, cv=False)
    assert scores["fit ML.ENERGY, score MLPerf"]["median_abs_log2"] <= fidelity.CROSS_BAR
    assert scores["fit MLPerf, score ML.ENERGY"]["median_abs_log2"] <= fidelity.CROSS_BAR


@pytest.mark.parametrize("source", ["ml.energy", "mlperf"])
def test_leave_one_model_out(source: str, ml: calibrate.Rows, mp: calibrate.Rows) -> None:
    rows, other = (ml, mp) if source == "ml.energy" else (mp, ml)
    errs = calibrate.lomo(rows, [other])
    assert len({calibrate._model_key(m) for m in rows.model}) >= 4
    assert float(sorted(abs(e) for e in errs)[len(errs) // 2]) <= fidelity.LOMO_BAR


def test_stored_scores_match_a_refit(ml: calibrate.Rows, mp: calibrate.Rows) -> None:
    """calibration.json holds what benchmarks.accuracy.calibrate computes from the repo's data."""
    doc = calibrate.json.loads(calibrate.CALIBRATION_FILE.read_text(encoding="utf-8"))
    coef, engines = calibrate.fit([ml, mp])
    for name, value in doc["coefficients"].items():
        assert coef[name] == pytest.approx(value, rel=0.02, abs=1e-6), name
    for eng, values in doc["engines"].items():
        for name, value in values.items():
            assert engines[eng][name] == pytest.approx(value, rel=0.02), (eng, name)
    for rows in (ml, mp):
        stored = doc["scores"][rows.source]["joint_fit"]["median_abs_log2"]
        assert calibrate.score(calibrate.errors(coef, engines, rows))["median_abs_log2"] == (
            pytest.approx(stored, abs=0.005))


def test_architecture_priors_are_the_registry_fit() -> None:
    from tracker.model import _physics as phys

    refit = calibrate.kv_prior_fit()
    assert refit["n"] >= 10
    assert phys.KV_PRIOR[0] == pytest.approx(refit["kv_bytes_per_token"][0], rel=0.01)
    assert phys.KV_PRIOR[1] == pytest.approx(refit["kv_bytes_per_token"][1], abs=0.005)
    assert phys.ATTN_PRIOR[0] == pytest.approx(refit["layers_x_hidden"][0], rel=0.01)
    assert phys.ATTN_PRIOR[1] == pytest.approx(refit["layers_x_hidden"][1], abs=0.005)
    assert math.isfinite(phys.kv_prior_bytes(70.0))

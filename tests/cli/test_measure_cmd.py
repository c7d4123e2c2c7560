"""`llm-energy measure`: its failure paths on a machine without a GPU (exit 2, never a traceback).

The measured run itself needs torch, transformers, NVML and an NVIDIA GPU:
benchmarks/measured/gpu_check.py runs it there.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest

from tracker.cli._app import main
from tracker.measure import _check


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["measure", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_without_torch_transformers_or_nvml_exits_2_and_says_what_to_install(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    absent = {"torch", "transformers", "pynvml"}  # as on a machine without the extra
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in absent else real(name, *a))
    code, _, err = _run(capsys, "--model", "llama-1b", "--batch", "1,16,64")
    assert code == 2
    assert "needs torch, transformers, nvidia-ml-py" in err
    assert "llm-energy-tracker[measure-check]" in err


def test_no_cuda_gpu_exits_2(capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    fake_torch = types.SimpleNamespace(cuda=types.SimpleNamespace(is_available=lambda: False))
    monkeypatch.setitem(sys.modules, "torch", fake_torch)
    monkeypatch.setattr(_check, "missing_dependencies", list)
    code, _, err = _run(capsys, "--model", "llama-8b", "--batch", "1")
    assert code == 2
    assert err.strip() == "llm-energy measure: error: no CUDA GPU visible to torch"


def test_a_failed_run_exits_1_with_one_line(capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise MemoryError("CUDA out of memory")

    monkeypatch.setattr(_check, "missing_dependencies", list)
    monkeypatch.setattr(_check, "run_check", boom)
    code, _, err = _run(capsys, "--model", "llama-8b", "--batch", "64")
    assert code == 1
    assert err.strip() == "llm-energy measure: failed: MemoryError: CUDA out of memory"


@pytest.mark.parametrize("argv", [
    ["--batch", "1"], ["--model", "llama-1b"], ["--model", "llama-1b", "--batch", "0"],
    ["--model", "llama-1b", "--batch", "a,b"], ["--model", "llama-1b", "--batch", "1",
                                               "--output-tokens", "-5"],
])
def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = _run(capsys, *argv)
    assert code == 2 and "usage: llm-energy measure" in err


def test_shapes_configs_and_hardware(tmp_path: Path) -> None:
    assert _check.load_shape("llama-8b")["num_hidden_layers"] == 32
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "llama", "hidden_size": 512}))
    assert _check.load_shape(str(config))["hidden_size"] == 512
    for bad in ("no-such-shape", str(tmp_path)):
        with pytest.raises(ValueError, match="--model"):
            _check.load_shape(bad)
    config.write_text("[1, 2]")
    with pytest.raises(ValueError, match="hidden_size"):
        _check.load_shape(str(config))
    spec = _check.model_spec("llama-8b", _check.SHAPES["llama-8b"], 8_030_261_248)
    assert (spec.total_params_b, spec.kv_heads, spec.head_dim) == (8.030261248, 8, 128)
    assert _check.detect_hardware("NVIDIA H100 80GB HBM3") == "h100"
    assert _check.detect_hardware("NVIDIA H200") == "h200"
    assert _check.detect_hardware("NVIDIA H100 PCIe") == "h100-pcie"
    assert _check.detect_hardware("Tesla T4") is None

"""The check mode's runner with stand-ins for torch, transformers and NVML (no GPU here).

Each ``generate()`` of the fake model advances the fake GPU's energy counter by a known amount per
output token, so the runner's arithmetic (J per output token, the per-request split, the counter
difference) is checked against figures known in advance. The real run: benchmarks/measured.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from tracker.measure import _check

from .fake_nvml import FakeNVML

J_PER_TOKEN = 0.25  # what the fake GPU spends per output token


class _Ids:
    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = shape

    def __getitem__(self, key: Any) -> _Ids:
        return _Ids((self.shape[0], min(self.shape[1], key[1].stop)))


class _Net:
    def __init__(self, gpu: FakeNVML) -> None:
        self.gpu = gpu

    def eval(self) -> _Net:
        return self

    def parameters(self) -> Iterator[Any]:
        yield types.SimpleNamespace(numel=lambda: 1_000_000_000)
        yield types.SimpleNamespace(numel=lambda: 235_000_000)

    def generate(self, ids: _Ids, *, max_new_tokens: int, min_new_tokens: int, **_: Any) -> None:
        assert min_new_tokens == max_new_tokens
        self.gpu.counter_mj += ids.shape[0] * max_new_tokens * J_PER_TOKEN * 1000


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> FakeNVML:
    gpu = FakeNVML({0: [0]})
    gpu.counter_mj = 5_000_000.0  # type: ignore[attr-defined]
    gpu.nvmlDeviceGetTotalEnergyConsumption = (  # type: ignore[method-assign]
        lambda handle: int(gpu.counter_mj))  # type: ignore[attr-defined]
    cuda = types.SimpleNamespace(is_available=lambda: True, set_device=lambda i: None,
                                 get_device_name=lambda i: "NVIDIA H100 80GB HBM3",
                                 synchronize=lambda: None)
    torch = types.SimpleNamespace(
        cuda=cuda, bfloat16="bf16", manual_seed=lambda s: None,
        device=lambda name: contextlib.nullcontext(),
        inference_mode=contextlib.nullcontext,
        randint=lambda low, high, shape, device: _Ids(shape))
    auto_model = types.SimpleNamespace(from_config=lambda config, torch_dtype: _Net(gpu))
    transformers = types.SimpleNamespace(
        AutoConfig=types.SimpleNamespace(for_model=lambda **fields: fields),
        AutoModelForCausalLM=auto_model)
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "transformers", transformers)
    return gpu


def test_run_check_measures_joules_per_output_token_and_splits_exactly(fakes: FakeNVML) -> None:
    header, rows = _check.run_check("llama-1b", [1, 16], input_tokens=64, output_tokens=32,
                                    gpu=0, hardware=None, nvml=fakes)
    assert "1.24B parameters" in header and "(h100)" in header and "GPU 0 counter" in header
    assert [r.batch for r in rows] == [1, 16]
    for row in rows:
        assert row.status == "measured"
        assert row.measured_j_per_token == pytest.approx(J_PER_TOKEN)
        assert row.sampler_j == pytest.approx(row.batch * 32 * J_PER_TOKEN)
        assert row.counter_j == pytest.approx(row.sampler_j)
        assert row.split_j == pytest.approx(row.sampler_j)
        assert row.estimated_j_per_token > 0
    assert rows[1].estimated_j_per_token < rows[0].estimated_j_per_token  # batching amortises
    assert fakes.shut_down


def test_cli_prints_the_table(fakes: FakeNVML, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    from tracker.cli._app import main

    monkeypatch.setitem(sys.modules, "pynvml", fakes)
    monkeypatch.setattr(_check, "missing_dependencies", list)
    assert main(["measure", "--model", "llama-8b", "--batch", "1,4", "--batch", "8",
                 "--output-tokens", "16"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[1].split()[:3] == ["batch", "measured", "J/tok"]
    assert [line.split()[0] for line in lines[2:5]] == ["1", "4", "8"]
    assert all(line.split()[1] == "0.25" and line.split()[-1] == "measured"
               for line in lines[2:5])


def test_unknown_gpu_needs_hardware(fakes: FakeNVML, monkeypatch: pytest.MonkeyPatch) -> None:
    sys.modules["torch"].cuda.get_device_name = lambda i: "Tesla T4"
    with pytest.raises(RuntimeError, match="--hardware"):
        _check.run_check("llama-1b", [1], input_tokens=8, output_tokens=8, gpu=0,
                         hardware=None, nvml=fakes)
    _, rows = _check.run_check("llama-1b", [1], input_tokens=8, output_tokens=8, gpu=0,
                               hardware="l4", nvml=fakes)
    assert rows[0].status == "measured"

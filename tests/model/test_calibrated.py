"""Behaviour of the calibrated energy model: physics, engines, boundaries, fitted data."""

from __future__ import annotations

import itertools
import json

import pytest

from tracker.model import _calibrated as calibrated
from tracker.model import _physics as phys
from tracker.model._calibrated import (
    BATCH_SIZE_RANGE,
    DEFAULT_BATCH_SIZE,
    ENGINE_PROFILES,
    default_gpus,
    gpu_joules_per_token,
    native_peak,
)
from tracker.model._engines import ENGINES, MIX_MEMBERS
from tracker.model._estimate import estimate
from tracker.model._registry import get_registry
from tracker.model._specs import HardwareSpec, ModelSpec


def hw(name: str) -> HardwareSpec:
    return get_registry().hardware(name)


def j_out(active: float, total: float, batch: float, *, precision: str = "bf16",
          hardware: str = "h100", gpus: int = 1, engine: str = "vllm",
          context: float = 0.0) -> float:
    return gpu_joules_per_token(active_params_b=active, total_params_b=total,
                                precision=precision, hardware=hw(hardware), gpus=gpus,
                                batch_size=batch, engine=engine, context=context)[1]


@pytest.mark.parametrize(("active", "total", "gpus", "hardware"), [
    (8.0, 8.0, 1, "h100"), (70.6, 70.6, 4, "h100"), (3.3, 30.5, 1, "b200"),
    (37.0, 671.0, 8, "h100"), (88.0, 440.0, 16, "h100"), (12.9, 46.7, 4, "a100-40gb"),
])
@pytest.mark.parametrize("engine", sorted(ENGINE_PROFILES))
def test_non_increasing_in_batch(active: float, total: float, gpus: int, hardware: str,
                                 engine: str) -> None:
    values = [j_out(active, total, b, gpus=gpus, hardware=hardware, engine=engine)
              for b in (1, 2, 8, 16, 64, 128, 256, 1024, 4096)]
    assert all(b <= a * (1 + 1e-12) for a, b in itertools.pairwise(values))
    assert values[0] > 3 * values[-1]  # batching really pays


@pytest.mark.parametrize("batch", [1, 16, 256])
def test_non_decreasing_in_active_params(batch: float) -> None:
    dense = [j_out(a, 400.0, batch, gpus=8) for a in (1, 10, 50, 200, 400)]
    assert all(b >= a for a, b in itertools.pairwise(dense))
    assert dense[-1] > dense[0]


def test_kv_cache_grows_with_context() -> None:
    """A long prompt costs more per output token: the KV cache read per step grows with it."""
    short = estimate("llama-3.1-70b", output_tokens=500, input_tokens=100, batch_size=64)
    long = estimate("llama-3.1-70b", output_tokens=500, input_tokens=30_000, batch_size=64)
    prompt_only = estimate("llama-3.1-70b", output_tokens=0, input_tokens=30_000, batch_size=64)
    assert long.accelerator_kwh - prompt_only.accelerator_kwh > 1.5 * short.accelerator_kwh
    # per output token at the same batch: 32k of context is several times 100
    assert j_out(70.6, 70.6, 64, gpus=4, context=32_000) > 2 * j_out(70.6, 70.6, 64, gpus=4)


def test_architecture_sets_the_kv_cache() -> None:
    """Grouped-query and latent attention cache far less than multi-head attention."""
    reg = get_registry()
    llama70 = reg.model("llama-3.1-70b").kv_bytes_per_token()
    assert llama70 == 2 * 80 * 8 * 128 * 2  # 320 KiB: GQA with 8 KV heads
    ds = reg.model("deepseek-v3").kv_bytes_per_token()
    assert ds == 61 * 576 * 2  # MLA latent
    mha = ModelSpec(name="mha", total_params_b=70.6, layers=80, hidden_size=8192,
                    attention="mha", kv_heads=64, head_dim=128)
    gqa = ModelSpec(name="gqa", total_params_b=70.6, layers=80, hidden_size=8192,
                    attention="gqa", kv_heads=8, head_dim=128)
    def decode_kwh(spec: ModelSpec) -> float:
        kw = dict(input_tokens=8000, batch_size=64, gpus=4, engine="vllm")
        return (estimate(spec, output_tokens=1000, **kw).accelerator_kwh  # type: ignore[arg-type]
                - estimate(spec, output_tokens=0, **kw).accelerator_kwh)  # type: ignore[arg-type]

    # 8x the KV heads: at 8k context the cache read dwarfs the weights' (about 10x the bytes)
    assert decode_kwh(mha) > 3 * decode_kwh(gqa)
    # without architecture: the grouped-query prior, close to the published one
    prior = calibrated.kv_bytes_per_token(None, 70.6)
    assert 0.7 < prior / llama70 < 1.4


def test_prefill_cheaper_than_decode_at_small_batch() -> None:
    for active, total, gpus in ((8.0, 8.0, 1), (70.6, 70.6, 4), (37.0, 671.0, 8)):
        j_in, j_dec = gpu_joules_per_token(active_params_b=active, total_params_b=total,
                                           precision="bf16", hardware=hw("h100"), gpus=gpus,
                                           batch_size=8)
        assert 0 < j_in < j_dec / 5


def test_prefill_attention_grows_with_prompt() -> None:
    h100 = hw("h100")
    short, _ = gpu_joules_per_token(active_params_b=8, total_params_b=8, precision="bf16",
                                    hardware=h100, gpus=1, batch_size=8, prompt_len=100)
    long, _ = gpu_joules_per_token(active_params_b=8, total_params_b=8, precision="bf16",
                                   hardware=h100, gpus=1, batch_size=8, prompt_len=100_000)
    assert long > 1.5 * short


def test_moe_pays_for_resident_experts() -> None:
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
    assert default_gpus(70.6, "fp8", h100) == 2
    for total in (1, 5, 30, 100, 250, 400):
        n = default_gpus(total, "bf16", h100)
        assert n & (n - 1) == 0
    big = default_gpus(1000, "bf16", h100)
    assert big > 8 and big % 8 == 0


def test_precision_per_accelerator() -> None:
    """Narrow formats compute natively only where the accelerator has the tensor cores."""
    h100, b200, a100 = hw("h100"), hw("b200"), hw("a100-40gb")
    assert native_peak(h100, "fp8") == pytest.approx(2 * native_peak(h100, "bf16"), rel=0.01)
    assert native_peak(h100, "mxfp4") == native_peak(h100, "bf16")  # no FP4 on Hopper
    assert native_peak(b200, "fp4") == pytest.approx(4 * native_peak(b200, "bf16"), rel=0.01)
    assert native_peak(a100, "fp8") == native_peak(a100, "bf16")  # no FP8 on Ampere
    # compute-bound (large batch): FP8 on Hopper and FP4 on Blackwell save energy...
    assert j_out(70.6, 70.6, 2048, precision="fp8", gpus=2) < j_out(70.6, 70.6, 2048, gpus=2)
    fp4 = j_out(70.6, 70.6, 2048, precision="fp4", hardware="b200")
    fp8 = j_out(70.6, 70.6, 2048, precision="fp8", hardware="b200")
    assert fp4 < fp8
    # ...and never by more than the bytes and the peak allow
    assert j_out(70.6, 70.6, 2048, precision="fp8", gpus=2) > 0.4 * j_out(70.6, 70.6, 2048,
                                                                          gpus=2)


def test_power_limit() -> None:
    """A GPU cap below the draw saves accelerator energy but stretches the host's time."""
    free = estimate("llama-3.1-70b", output_tokens=500, input_tokens=200, batch_size=512,
                    engine="tensorrt-llm", precision="fp8", gpus=2)
    capped = estimate("llama-3.1-70b", output_tokens=500, input_tokens=200, batch_size=512,
                      engine="tensorrt-llm", precision="fp8", gpus=2, power_limit_w=300)
    above = estimate("llama-3.1-70b", output_tokens=500, input_tokens=200, batch_size=512,
                     engine="tensorrt-llm", precision="fp8", gpus=2, power_limit_w=5000)
    assert capped.accelerator_kwh < free.accelerator_kwh
    assert (capped.server_kwh - capped.accelerator_kwh) > (free.server_kwh - free.accelerator_kwh)
    assert above.energy_kwh == pytest.approx(free.energy_kwh)
    assert capped.power_limit_w == 300


def test_engines_differ_and_mix_is_between() -> None:
    kw = dict(output_tokens=400, input_tokens=200, batch_size=64, gpus=4)
    by_engine = {e: estimate("llama-3.1-70b", engine=e, **kw) for e in ENGINES}  # type: ignore[arg-type]
    assert by_engine["tensorrt-llm"].energy_kwh < by_engine["vllm"].energy_kwh
    assert by_engine["vllm"].energy_kwh < by_engine["transformers"].energy_kwh
    members = [by_engine[m].energy_kwh for m in MIX_MEMBERS]
    mix = by_engine["mix"]
    assert min(members) <= mix.energy_kwh <= max(members)
    # the mix's range carries the spread of its members
    assert mix.energy_kwh_min <= min(members) and mix.energy_kwh_max >= max(members)
    assert mix.engine == "mix" and by_engine["vllm"].engine == "vllm"
    assert estimate("llama-3.1-70b", engine="TRT-LLM", **kw).engine == "tensorrt-llm"  # type: ignore[arg-type]


def test_cached_tokens_are_a_memory_read() -> None:
    full = estimate("llama-3.1-70b", output_tokens=100, input_tokens=10_000)
    cached = estimate("llama-3.1-70b", output_tokens=100, input_tokens=10_000,
                      cached_input_tokens=9_000)
    none = estimate("llama-3.1-70b", output_tokens=100, input_tokens=1_000)
    assert cached.energy_kwh < full.energy_kwh
    assert cached.cached_input_tokens == 9_000
    # cached tokens still cost something (their KV is read), and the long context still
    # makes each output token dearer than a short prompt's
    assert cached.energy_kwh > none.energy_kwh


def test_embeddings_are_an_encoder_pass() -> None:
    emb = estimate("text-embedding-3-small", input_tokens=1000)
    chat = estimate("gpt-4o-mini", output_tokens=1000)
    assert 0 < emb.energy_kwh < chat.energy_kwh
    assert emb.energy_kwh_max < chat.energy_kwh
    assert emb.energy_kwh_min <= emb.energy_kwh <= emb.energy_kwh_max
    # more text, more energy; an open encoder with official size is not estimated
    assert estimate("text-embedding-3-small", input_tokens=2000).energy_kwh > emb.energy_kwh
    assert estimate("bge-m3", input_tokens=1000).params_estimated is False


def _decode(gpus: float, *, t_seq: float, overlap: float, active: float = 1e-3,
            batch: float = 100.0) -> float:
    """Accelerator joules per output token of a replica, straight from the physics."""
    h = hw("h100")
    eng = {"t_fixed_s": 1e-9, "t_seq_s": t_seq, "t_comm_s": 0.0, "overlap": overlap}
    acc, _ = phys.decode_joules(
        calibrated.COEFFICIENTS, eng, active=active, total=active, bytes_per_param=2.0,
        lowp_overhead=0.0, kv_bytes=0.0, tdp_w=h.tdp_w, bandwidth=h.bandwidth_tb_s * 1e12,
        peak16=h.peak_flops("bf16"), peak_native=h.peak_flops("bf16"), gpus=gpus, batch=batch,
        context=0.0, limit_w=h.tdp_w, sync_hops=0.0)
    return float(acc)


def test_per_sequence_time_is_host_time() -> None:
    """An engine's per-sequence work is one host process's: more GPUs do not shorten it, so
    under a synchronous scheduler every GPU of the replica waits for all of it..."""
    one, four = _decode(1, t_seq=1e-4, overlap=0.0), _decode(4, t_seq=1e-4, overlap=0.0)
    assert four == pytest.approx(4 * one, rel=0.01)
    # ...and it costs the waiting draw for its whole length
    waiting = calibrated.COEFFICIENTS["p_idle"] * hw("h100").tdp_w * 1e-4
    assert one == pytest.approx(waiting, rel=0.01)
    # with async scheduling it hides behind a longer device step (a 70B model's weights)
    slow = _decode(1, t_seq=1e-4, overlap=1.0, active=70.0)
    assert slow == pytest.approx(_decode(1, t_seq=1e-7, overlap=1.0, active=70.0), rel=0.01)
    assert _decode(1, t_seq=1e-4, overlap=0.0, active=70.0) > 1.03 * slow


def test_compute_draws_the_tdp() -> None:
    """A compute-bound prefill runs the accelerator at its TDP: no free compute-power share."""
    coef = calibrated.COEFFICIENTS
    h = hw("h100")
    peak = h.peak_flops("bf16")
    acc, _ = phys.prefill_joules(coef, active=70.0, layers_hidden=0.0, prompt_len=0.0,
                                 tdp_w=h.tdp_w, peak16=peak, peak_native=peak,
                                 limit_w=h.tdp_w)
    seconds = 2 * 70e9 / (peak * coef["mfu_prefill"])
    assert acc == pytest.approx(h.tdp_w * seconds)
    assert "p_comp" not in coef and phys.compute_power(coef) == 1 - coef["p_idle"]


def test_default_batch_and_range() -> None:
    low, high = BATCH_SIZE_RANGE
    assert 1 <= low < DEFAULT_BATCH_SIZE < high


def test_calibration_file_has_provenance() -> None:
    doc = json.loads(calibrated.CALIBRATION_FILE.read_text(encoding="utf-8"))
    prov = doc["provenance"]
    for key in ("script", "date", "input_files", "rows_used", "objective", "numpy", "scipy"):
        assert prov[key]
    assert all(not f.startswith("/") for f in prov["input_files"])
    assert set(doc["engines"]) == {"vllm", "vllm-async", "vllm-0.4", "tensorrt-llm"}
    assert set(calibrated.COEFFICIENTS) <= set(doc["coefficients"])
    assert all(v > 0 for v in calibrated.COEFFICIENTS.values())
    for source in ("ml.energy", "mlperf", "inferencex"):
        assert doc["scores"][source]["leave_one_model_out"]["median_abs_log2"] <= 0.45
    assert 0 < calibrated.RANGE_LOG2_SPREAD < 1.2
    # the engines really differ: TensorRT-LLM's per-sequence overhead is far below vLLM's
    assert ENGINE_PROFILES["tensorrt-llm"].t_seq_s < ENGINE_PROFILES["vllm"].t_seq_s / 3


def test_estimate_uses_this_model_gpu_only() -> None:
    spec = ModelSpec(name="probe", total_params_b=30.5, active_params_b=3.3)
    est = estimate(spec, output_tokens=1_000_000, input_tokens=0, hardware="h100", gpus=2,
                   batch_size=64, precision="bf16", method="calibrated", engine="vllm",
                   pue=1, carbon_intensity=0, price_usd_per_kwh=0)
    expected = j_out(3.3, 30.5, 64, gpus=2, context=500_000) * 1_000_000 / 3.6e6
    assert est.accelerator_kwh == pytest.approx(expected, rel=1e-6)

"""vllm integration: offline ``LLM.generate`` and ``LLM.chat``.

vLLM's published wheels run only on a GPU (its CPU backend is built from source), so the tests
run against a stand-in package (tests/integrations/vllm_standin) whose classes mirror vLLM's
public ``LLM``, ``RequestOutput`` and ``CompletionOutput``; `test_real_vllm_on_a_gpu` runs the
real package and is marked ``gpu`` (skipped without vllm and a CUDA GPU).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import tracker
from tests.integrations._checks import one_span
from tracker import _attributes as A
from tracker.model._estimate import pricer

INTEGRATION = "vllm"
STANDIN = Path(__file__).parent / "vllm_standin"
REAL_VLLM = importlib.util.find_spec("vllm") is not None
#: A Llama-shaped configuration the registry does not know by name.
SHAPE = SimpleNamespace(model_type="llama", hidden_size=512, num_hidden_layers=4,
                        num_attention_heads=8, num_key_value_heads=2, intermediate_size=1024,
                        vocab_size=1000, tie_word_embeddings=False)


def _forget_vllm() -> None:
    for name in [m for m in sys.modules if m == "vllm" or m.startswith("vllm.")]:
        del sys.modules[name]
    sys.modules.pop("integrations.vllm", None)


@pytest.fixture
def vllm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if REAL_VLLM:
        pytest.skip("the real vllm is installed: test_real_vllm_on_a_gpu covers it")
    monkeypatch.syspath_prepend(str(STANDIN))
    _forget_vllm()
    import vllm

    yield vllm
    tracker.uninstrument(INTEGRATION)
    _forget_vllm()


@pytest.fixture
def vllm_otel(configure_tracker: Callable[..., Any], vllm: Any) -> Any:
    otel = configure_tracker()
    tracker.instrument(INTEGRATION)
    return otel


def test_generate_counts_prompt_and_completion_tokens(vllm_otel: Any, vllm: Any) -> None:
    llm = vllm.LLM("/models/team/llama-local", hf_config=SHAPE, tensor_parallel_size=2)
    params = vllm.SamplingParams(n=2, max_tokens=5)
    prompts = ["how many joules", "per token on this gpu today"]
    outputs = llm.generate(prompts, params)
    assert [len(o.outputs) for o in outputs] == [2, 2]
    span = one_span(vllm_otel)
    attrs = dict(span.attributes or {})
    assert span.name == "text_completion llama-local"  # a local path: its last component
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "vllm"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 3 + 6  # each prompt once, shared by its n
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 4 * 5
    assert attrs[A.ENERGY_ENGINE] == "vllm" and attrs[A.ENERGY_MODEL_KNOWN] is True
    from integrations._local_models import config_params, model_spec

    total, active = config_params(SHAPE) or (0, 0)
    spec = model_spec("llama-local", SHAPE, total=total, active=active, dtype_name="bfloat16")
    expected = pricer(spec, engine="vllm", batch_size=4, gpus=2).price(9, 20)
    assert attrs[A.ENERGY_KWH] == pytest.approx(expected.energy_kwh)


def test_a_model_the_registry_knows_is_priced_as_the_registry_has_it(
        vllm_otel: Any, vllm: Any) -> None:
    llm = vllm.LLM("meta-llama/Llama-3.1-8B-Instruct", hf_config=SHAPE)
    llm.generate("one prompt", vllm.SamplingParams(max_tokens=3, stop_after=2))
    attrs = dict(one_span(vllm_otel).attributes or {})
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "meta-llama/Llama-3.1-8B-Instruct"
    assert attrs[A.ENERGY_MODEL] == "llama-3.1-8b"
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)


def test_chat_calling_generate_is_one_call_and_results_unchanged(vllm_otel: Any, vllm: Any) -> None:
    llm = vllm.LLM("served", hf_config=SHAPE)
    plain = vllm.LLM.chat.__wrapped__(llm, [{"role": "user", "content": "a b c"}])
    vllm_otel.span_exporter.clear()  # (the original chat() called the patched generate())
    traced = llm.chat([{"role": "user", "content": "a b c"}])
    assert [o.outputs[0].token_ids for o in traced] == [o.outputs[0].token_ids for o in plain]
    span = one_span(vllm_otel)
    assert span.name == "chat served"
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 3


def test_errors_propagate_and_uninstrument_restores(vllm_otel: Any, vllm: Any) -> None:
    original = vllm.LLM.__dict__["generate"].__wrapped__
    llm = vllm.LLM("served", hf_config=SHAPE)
    with pytest.raises(ValueError, match="max_tokens"):
        llm.generate("x", vllm.SamplingParams(max_tokens=0))
    assert not one_span(vllm_otel).status.is_ok
    tracker.uninstrument(INTEGRATION)
    assert vllm.LLM.__dict__["generate"] is original
    llm.generate("x")
    assert len(vllm_otel.call_spans()) == 1


@pytest.mark.gpu
def test_real_vllm_on_a_gpu(configure_tracker: Callable[..., Any]) -> None:
    if not REAL_VLLM:
        pytest.skip("vllm is not installed (its wheels run only on a GPU)")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    import vllm

    otel = configure_tracker()
    tracker.instrument(INTEGRATION)
    try:
        llm = vllm.LLM(model="facebook/opt-125m", enforce_eager=True, gpu_memory_utilization=0.3)
        outputs = llm.generate(["The energy of one token is"],
                               vllm.SamplingParams(max_tokens=8, temperature=0))
    finally:
        tracker.uninstrument(INTEGRATION)
    attrs = dict(one_span(otel).attributes or {})
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == len(outputs[0].prompt_token_ids)
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == len(outputs[0].outputs[0].token_ids)
    assert attrs[A.ENERGY_ENGINE] == "vllm"

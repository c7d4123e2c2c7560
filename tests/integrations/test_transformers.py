"""transformers integration: a tiny random-weight model built from a configuration, a tokenizer
built in code (nothing downloaded), real ``generate()`` and ``pipeline`` on the CPU.

Runs in its own CI step (tests/run_local_inference.sh: torch is large); skipped without torch.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from functools import partialmethod
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing here may reach the hub
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

import tracker  # noqa: E402
from tests.integrations._checks import one_span  # noqa: E402
from tests.measure.fake_nvml import FakeNVML  # noqa: E402
from tracker import _attributes as A  # noqa: E402
from tracker.measure import EnergySampler  # noqa: E402
from tracker.model._estimate import pricer  # noqa: E402

INTEGRATION = "transformers"
WORDS = ("the", "a", "joule", "of", "energy", "per", "token", "is", "spent", "when", "model",
         "runs", "on", "gpu", "here")
PROMPTS = ["the joule of energy", "a token", "energy per token is spent when the model runs"]
NEW_TOKENS = 6


def _tokenizer() -> Any:
    vocab = {"[PAD]": 0, "[UNK]": 1, "[EOS]": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    model = tokenizers.models.WordLevel(vocab=vocab, unk_token="[UNK]")
    tok = tokenizers.Tokenizer(model)
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="[PAD]", eos_token="[EOS]", unk_token="[UNK]",
        padding_side="left", model_input_names=["input_ids", "attention_mask"])


def _llama(**overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "vocab_size": len(WORDS) + 3, "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 128, "pad_token_id": 0, "eos_token_id": 2,
        "bos_token_id": None}
    config = transformers.LlamaConfig(**{**fields, **overrides})
    torch.manual_seed(0)
    return transformers.LlamaForCausalLM(config).eval()


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return _tokenizer()


@pytest.fixture(scope="module")
def model() -> Any:
    return _llama()


@pytest.fixture
def batch(tokenizer: Any) -> Any:
    return tokenizer(PROMPTS, return_tensors="pt", padding=True)


def _greedy(model: Any, batch: Any, **options: Any) -> Any:
    return model.generate(**batch, max_new_tokens=NEW_TOKENS, do_sample=False, **options)


def _spans(otel: Any) -> list[dict[str, Any]]:
    return [dict(s.attributes or {}) for s in otel.call_spans()]


def test_generate_batch_priced_once_on_its_tokens_and_the_loaded_model(
        provider_otel: Any, model: Any, batch: Any, tokenizer: Any) -> None:
    out = _greedy(model, batch, eos_token_id=None)  # no stop: every row runs the full length
    span = one_span(provider_otel)
    attrs = dict(span.attributes or {})
    assert span.name == "text_completion llama"  # built from a configuration: its model type
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "transformers"
    prompt_tokens = sum(len(p.split()) for p in PROMPTS)  # one word, one token; padding not
    assert int(batch["attention_mask"].sum()) == prompt_tokens
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == prompt_tokens
    assert out.shape == (len(PROMPTS), batch["input_ids"].shape[1] + NEW_TOKENS)
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == len(PROMPTS) * NEW_TOKENS
    assert attrs["energy.tokens_estimated"] is False
    assert attrs[A.ENERGY_ENGINE] == "transformers"
    assert attrs[A.ENERGY_MODEL_KNOWN] is True
    # priced on the loaded model, at the call's batch, on the configured (CPU: no GPU) hardware
    params = model.num_parameters()
    assert _spec_of(model).total_params_b == pytest.approx(params / 1e9)
    expected = pricer(_spec_of(model), engine="transformers", batch_size=len(PROMPTS), gpus=1)
    est = expected.price(prompt_tokens, len(PROMPTS) * NEW_TOKENS)
    assert attrs[A.ENERGY_KWH] == pytest.approx(est.energy_kwh)
    alone = pricer(_spec_of(model), engine="transformers", batch_size=1, gpus=1)
    assert alone.price(prompt_tokens, len(PROMPTS) * NEW_TOKENS).energy_kwh > est.energy_kwh


def _spec_of(model: Any) -> Any:
    from integrations._local_models import model_spec

    return model_spec("llama", model.config, total=model.num_parameters(), active=None,
                      dtype_name=str(model.dtype))


def test_rows_stop_at_their_end_token_and_padding_after_it_is_not_counted(
        provider_otel: Any, model: Any, batch: Any) -> None:
    free = _greedy(model, batch, eos_token_id=None)
    start = batch["input_ids"].shape[1]
    generated = free[:, start:].tolist()
    eos = generated[0][2]  # a token row 0 emits third: as the end token, row 0 stops there
    expected = 0
    for row in generated:
        expected += row.index(eos) + 1 if eos in row else NEW_TOKENS
    provider_otel.span_exporter.clear()
    stopped = _greedy(model, batch, eos_token_id=eos, pad_token_id=0)
    assert stopped.shape[1] <= free.shape[1]
    attrs = dict(one_span(provider_otel).attributes or {})
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == expected < len(PROMPTS) * NEW_TOKENS
    assert "stop" in attrs["gen_ai.response.finish_reasons"]


def test_results_unchanged_and_uninstrument_restores_generate(
        configure_tracker: Callable[..., Any], model: Any, batch: Any) -> None:
    from transformers.generation.utils import GenerationMixin

    original = GenerationMixin.__dict__["generate"]
    otel = configure_tracker()
    plain = _greedy(model, batch)
    tracker.instrument(INTEGRATION)
    try:
        assert GenerationMixin.__dict__["generate"] is not original
        traced = _greedy(model, batch)
        assert torch.equal(plain, traced)
        dict_out = _greedy(model, batch, return_dict_in_generate=True, output_scores=True)
        assert torch.equal(dict_out.sequences, plain)  # a GenerateOutput: read from .sequences
        assert len(otel.call_spans()) == 2
    finally:
        tracker.uninstrument(INTEGRATION)
    assert GenerationMixin.__dict__["generate"] is original
    _greedy(model, batch)
    assert len(otel.call_spans()) == 2  # nothing recorded once uninstrumented


def test_pipeline_prices_each_prompt_once(provider_otel: Any, model: Any,
                                          tokenizer: Any) -> None:
    generator = transformers.pipeline("text-generation", model=model, tokenizer=tokenizer,
                                      device="cpu")
    results = generator(PROMPTS, max_new_tokens=NEW_TOKENS, do_sample=False)
    assert len(results) == len(PROMPTS)
    spans = _spans(provider_otel)
    assert len(spans) == len(PROMPTS)  # one generate() per prompt, each priced once
    assert sorted(s[A.GEN_AI_USAGE_INPUT_TOKENS] for s in spans) == sorted(
        len(p.split()) for p in PROMPTS)


def test_num_return_sequences_counts_each_returned_row(provider_otel: Any, model: Any,
                                                       tokenizer: Any) -> None:
    one = tokenizer(["the joule of energy"], return_tensors="pt")
    out = model.generate(**one, max_new_tokens=NEW_TOKENS, do_sample=True, top_k=5,
                         num_return_sequences=3, eos_token_id=None)
    assert out.shape[0] == 3
    attrs = dict(one_span(provider_otel).attributes or {})
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 3 * 4  # the prompt, prefilled per returned row
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 3 * NEW_TOKENS


def test_assisted_generation_is_one_call(provider_otel: Any, model: Any,
                                         tokenizer: Any) -> None:
    draft = _llama(num_hidden_layers=1)
    one = tokenizer(["the joule of energy"], return_tensors="pt")
    model.generate(**one, assistant_model=draft, max_new_tokens=NEW_TOKENS, do_sample=False,
                   eos_token_id=None)
    attrs = dict(one_span(provider_otel).attributes or {})  # the draft's generate() is inside
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == NEW_TOKENS


def test_text_iterator_streamer_is_priced_when_generate_ends(provider_otel: Any, model: Any,
                                                             tokenizer: Any, batch: Any) -> None:
    one = tokenizer(["the joule of energy"], return_tensors="pt")
    streamer = transformers.TextIteratorStreamer(tokenizer, skip_prompt=True)
    thread = threading.Thread(target=model.generate, kwargs={
        **one, "streamer": streamer, "max_new_tokens": NEW_TOKENS, "do_sample": False,
        "eos_token_id": None})
    thread.start()
    pieces = list(streamer)
    thread.join()
    assert pieces
    attrs = dict(one_span(provider_otel).attributes or {})
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == NEW_TOKENS


def test_a_failed_generate_raises_unchanged_and_records_an_error(provider_otel: Any,
                                                                  model: Any) -> None:
    with pytest.raises(ValueError):
        model.generate(input_ids=torch.tensor([[3, 4]]), max_new_tokens=-5)
    spans = provider_otel.call_spans()
    assert len(spans) == 1 and not spans[0].status.is_ok
    assert A.ENERGY_KWH not in (spans[0].attributes or {})


def test_mixture_of_experts_is_priced_on_its_active_parameters(provider_otel: Any,
                                                               tokenizer: Any) -> None:
    config = transformers.MixtralConfig(
        vocab_size=len(WORDS) + 3, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, num_local_experts=4,
        num_experts_per_tok=1, pad_token_id=0, eos_token_id=2, bos_token_id=None)
    torch.manual_seed(0)
    moe = transformers.MixtralForCausalLM(config).eval()
    from integrations import transformers as integration

    _, spec, hardware, gpus = integration._described(moe)
    total = moe.num_parameters()
    experts = sum(p.numel() for n, p in moe.named_parameters() if ".experts." in n)
    assert experts > 0 and (hardware, gpus) == (None, 1)
    assert spec.total_params_b == pytest.approx(total / 1e9)
    assert spec.active_params_b == pytest.approx((total - experts * 3 / 4) / 1e9)
    moe.generate(**tokenizer(["a token"], return_tensors="pt"), max_new_tokens=2,
                 do_sample=False, eos_token_id=None)
    assert one_span(provider_otel).attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 2


def test_a_local_directory_is_named_by_its_last_component(provider_otel: Any, model: Any,
                                                          batch: Any) -> None:
    from integrations import transformers as integration

    saved = model.config._name_or_path
    try:
        model.config._name_or_path = "/home/alice/checkpoints/energy-llama-7"
        integration._models.clear()
        _greedy(model, batch)
        span = one_span(provider_otel)
        assert span.name == "text_completion energy-llama-7"
        assert "alice" not in str(dict(span.attributes or {}))
    finally:
        model.config._name_or_path = saved
        integration._models.clear()


def test_measured_energy_lands_on_the_generate_span(configure_tracker: Callable[..., Any],
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    model: Any, batch: Any) -> None:
    # 2 J between the first read and any later one: the one generate() takes it all
    monkeypatch.setitem(sys.modules, "pynvml", FakeNVML({0: [10_000] + [12_000] * 1000}))
    monkeypatch.setattr(EnergySampler, "start",
                        partialmethod(EnergySampler.start, thread=False))
    otel = configure_tracker(measure_gpus=[0])
    tracker.instrument(INTEGRATION)
    try:
        _greedy(model, batch)
    finally:
        tracker.uninstrument(INTEGRATION)
    attrs = dict(one_span(otel).attributes or {})
    assert attrs[A.ENERGY_MEASURED_STATUS] == "measured"
    assert attrs[A.ENERGY_MEASURED_KWH] == pytest.approx(2.0 / 3.6e6)


def test_the_gpu_is_named_by_nvml_and_unknown_ones_leave_the_configured_hardware() -> None:
    from tracker.measure import _device

    class Named(FakeNVML):
        def nvmlDeviceGetName(self, handle: Any) -> bytes:
            return {0: b"NVIDIA H100 80GB HBM3", 1: b"NVIDIA L40"}[handle]

    _device.forget()
    try:
        nvml = Named({0: [0], 1: [0]})
        assert _device.local_hardware(0, nvml=nvml) == "h100"
        assert _device.local_hardware(1, nvml=nvml) is None  # not an L4: not in the registry
        assert _device.local_hardware(0, name="NVIDIA H200") == "h200"
        assert _device.gpu_name(0, nvml=FakeNVML(init_error=9)) is None
    finally:
        _device.forget()


@pytest.fixture(autouse=True)
def _no_leftover_models() -> Iterator[None]:
    yield
    from integrations import transformers as integration

    integration._models.clear()


def test_an_encoder_decoder_counts_the_decoder_tokens_after_its_start_token(
        provider_otel: Any, tokenizer: Any, batch: Any) -> None:
    config = transformers.T5Config(
        vocab_size=len(WORDS) + 3, d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=2,
        pad_token_id=0, eos_token_id=2, decoder_start_token_id=0)
    torch.manual_seed(0)
    t5 = transformers.T5ForConditionalGeneration(config).eval()
    out = t5.generate(**batch, max_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=None)
    assert out.shape == (len(PROMPTS), 1 + NEW_TOKENS)  # the start token, then the new ones
    attrs = dict(one_span(provider_otel).attributes or {})
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == sum(len(p.split()) for p in PROMPTS)
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == len(PROMPTS) * NEW_TOKENS
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "t5"


def test_the_gpu_a_model_is_on_names_its_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from integrations import transformers as integration
    from tracker.measure import _device

    names = {0: "NVIDIA H100 80GB HBM3", 1: "NVIDIA H100 80GB HBM3", 2: "NVIDIA A10G"}
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: names[index])
    _device.forget()
    try:
        assert integration._hardware(SimpleNamespace(type="cuda", index=0), None) == ("h100", 1)
        assert integration._hardware(SimpleNamespace(type="cpu", index=None),
                                     {"model.layers.0": 0, "model.layers.1": "cuda:1",
                                      "lm_head": "cpu"}) == ("h100", 2)
        assert integration._hardware(SimpleNamespace(type="cuda", index=2), None) == (None, 1)
        assert integration._hardware(SimpleNamespace(type="cpu", index=None), None) == (None, 1)
    finally:
        _device.forget()


def test_a_named_gpu_wins_over_the_configured_hardware_and_a_cpu_keeps_it(
        configure_tracker: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, model: Any,
        batch: Any) -> None:
    from integrations import transformers as integration

    otel = configure_tracker(hardware="l4")
    tracker.instrument(INTEGRATION)
    try:
        _greedy(model, batch)  # on the CPU: the configured hardware
        integration._models.clear()
        monkeypatch.setattr(integration, "_hardware", lambda device, device_map: ("h200", 1))
        _greedy(model, batch)  # "on an H200"
    finally:
        tracker.uninstrument(INTEGRATION)
    assert [s[A.ENERGY_HARDWARE] for s in _spans(otel)] == ["l4", "h200"]

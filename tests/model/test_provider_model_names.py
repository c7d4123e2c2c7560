"""The model names Ollama and Bedrock users pass resolve to the right registry entry.

Each row is a name as a user passes it, the entry it must resolve to, and that model's active
parameters in billions as its model card (or, for a closed model, the registry's documented
estimate) gives them: a name resolving to the wrong size of the right family fails.
"""

from __future__ import annotations

import pytest

from tracker.exceptions import UnknownModelError
from tracker.model._estimate import pricer
from tracker.model._registry import Registry
from tracker.model._specs import ModelSpec

# --- Ollama library tags: bare names resolve to the library's default (`latest`) tag ----------
OLLAMA = [
    ("llama3.1", "llama-3.1-8b", 8.03),
    ("llama3.1:8b", "llama-3.1-8b", 8.03),
    ("llama3.1:70b", "llama-3.1-70b", 70.6),
    ("llama3.1:405b", "llama-3.1-405b", 405.9),
    ("llama3.2", "llama-3.2-3b", 3.21),
    ("llama3.2:1b", "llama-3.2-1b", 1.24),
    ("llama3.2:3b", "llama-3.2-3b", 3.21),
    ("llama3.2-vision", "llama-3.2-11b-vision", 10.6),
    ("llama3.2-vision:90b", "llama-3.2-90b-vision", 88.8),
    ("llama3.3", "llama-3.3-70b", 70.6),
    ("llama3.3:70b", "llama-3.3-70b", 70.6),
    ("llama3", "llama-3-8b", 8.03),
    ("llama3:70b", "llama-3-70b", 70.6),
    ("llama4", "llama-4-scout", 17),
    ("llama4:scout", "llama-4-scout", 17),
    ("llama4:16x17b", "llama-4-scout", 17),
    ("llama4:maverick", "llama-4-maverick", 17),
    ("llama4:128x17b", "llama-4-maverick", 17),
    ("qwen3", "qwen3-8b", 8.2),
    ("qwen3:0.6b", "qwen3-0.6b", 0.6),
    ("qwen3:1.7b", "qwen3-1.7b", 1.7),
    ("qwen3:4b", "qwen3-4b", 4.0),
    ("qwen3:8b", "qwen3-8b", 8.2),
    ("qwen3:14b", "qwen3-14b", 14.8),
    ("qwen3:32b", "qwen3-32b", 32.8),
    ("qwen3:30b", "qwen3-30b-a3b", 3.3),
    ("qwen3:30b-a3b", "qwen3-30b-a3b", 3.3),
    ("qwen3:235b", "qwen3-235b-a22b", 22),
    ("qwen3:235b-a22b", "qwen3-235b-a22b", 22),
    ("qwen2.5", "qwen2.5-7b", 7.61),
    ("qwen2.5:0.5b", "qwen2.5-0.5b", 0.49),
    ("qwen2.5:1.5b", "qwen2.5-1.5b", 1.54),
    ("qwen2.5:3b", "qwen2.5-3b", 3.09),
    ("qwen2.5:7b", "qwen2.5-7b", 7.61),
    ("qwen2.5:14b", "qwen2.5-14b", 14.7),
    ("qwen2.5:32b", "qwen2.5-32b", 32.5),
    ("qwen2.5:72b", "qwen2.5-72b", 72.7),
    ("qwen2.5-coder", "qwen2.5-coder-7b", 7.61),
    ("qwen2.5-coder:0.5b", "qwen2.5-coder-0.5b", 0.49),
    ("qwen2.5-coder:1.5b", "qwen2.5-coder-1.5b", 1.54),
    ("qwen2.5-coder:3b", "qwen2.5-coder-3b", 3.09),
    ("qwen2.5-coder:7b", "qwen2.5-coder-7b", 7.61),
    ("qwen2.5-coder:14b", "qwen2.5-coder-14b", 14.7),
    ("qwen2.5-coder:32b", "qwen2.5-coder-32b", 32.5),
    ("qwen3-coder:30b", "qwen3-coder-30b-a3b", 3.3),
    ("qwen3-coder:480b", "qwen3-coder-480b-a35b", 35),
    ("gemma3", "gemma-3-4b", 4.3),
    ("gemma3:270m", "gemma-3-270m", 0.27),
    ("gemma3:1b", "gemma-3-1b", 1.0),
    ("gemma3:4b", "gemma-3-4b", 4.3),
    ("gemma3:12b", "gemma-3-12b", 12.2),
    ("gemma3:27b", "gemma-3-27b", 27.4),
    ("gemma2", "gemma-2-9b", 9.2),
    ("gemma2:2b", "gemma-2-2b", 2.6),
    ("gemma2:9b", "gemma-2-9b", 9.2),
    ("gemma2:27b", "gemma-2-27b", 27.2),
    ("phi4", "phi-4", 14.7),
    ("phi4:14b", "phi-4", 14.7),
    ("phi4-mini", "phi-4-mini", 3.84),
    ("phi4-mini:3.8b", "phi-4-mini", 3.84),
    ("phi3", "phi-3-mini", 3.8),
    ("phi3:mini", "phi-3-mini", 3.8),
    ("phi3:3.8b", "phi-3-mini", 3.8),
    ("phi3:medium", "phi-3-medium", 14),
    ("phi3:14b", "phi-3-medium", 14),
    ("phi3.5", "phi-3.5-mini", 3.82),
    ("phi3.5:3.8b", "phi-3.5-mini", 3.82),
    ("mistral", "mistral-7b", 7.25),
    ("mistral:7b", "mistral-7b", 7.25),
    ("mistral-nemo", "mistral-nemo", 12.2),
    ("mistral-nemo:12b", "mistral-nemo", 12.2),
    ("mistral-small", "mistral-small-3", 23.6),
    ("mistral-small:24b", "mistral-small-3", 23.6),
    ("mistral-small:22b", "mistral-small-2409", 22.2),
    ("mistral-small3.1", "mistral-small-3", 23.6),
    ("mistral-small3.2", "mistral-small-3", 23.6),
    ("mixtral", "mixtral-8x7b", 12.9),
    ("mixtral:8x7b", "mixtral-8x7b", 12.9),
    ("mixtral:8x22b", "mixtral-8x22b", 39.1),
    ("deepseek-r1:1.5b", "deepseek-r1-distill-qwen-1.5b", 1.78),
    ("deepseek-r1:7b", "deepseek-r1-distill-qwen-7b", 7.62),
    ("deepseek-r1:8b", "deepseek-r1-0528-qwen3-8b", 8.19),
    ("deepseek-r1:14b", "deepseek-r1-distill-qwen-14b", 14.8),
    ("deepseek-r1:32b", "deepseek-r1-distill-qwen-32b", 32.8),
    ("deepseek-r1:70b", "deepseek-r1-distill-llama-70b", 70.6),
    ("deepseek-r1:671b", "deepseek-r1", 37),
    ("gpt-oss", "gpt-oss-20b", 3.6),
    ("gpt-oss:20b", "gpt-oss-20b", 3.6),
    ("gpt-oss:120b", "gpt-oss-120b", 5.1),
    ("codellama", "codellama-7b", 7),
    ("codellama:7b", "codellama-7b", 7),
    ("codellama:13b", "codellama-13b", 13),
    ("codellama:34b", "codellama-34b", 34),
    ("codellama:70b", "codellama-70b", 70),
    ("llava", "llava-7b", 7.57),
    ("llava:7b", "llava-7b", 7.57),
    ("llava:13b", "llava-13b", 13.4),
    ("llava:34b", "llava-34b", 34.8),
    ("nomic-embed-text", "nomic-embed-text-v1.5", 0.137),
    ("mxbai-embed-large", "mxbai-embed-large", 0.335),
    ("all-minilm", "all-minilm-l6-v2", 0.0227),
    ("all-minilm:22m", "all-minilm-l6-v2", 0.0227),
    ("all-minilm:33m", "all-minilm-l12-v2", 0.0334),
]

#: Bare Ollama names that mean another model on every other API: right only when scoped.
OLLAMA_SCOPED = [
    ("deepseek-r1", "deepseek-r1-0528-qwen3-8b", 8.19, "deepseek-r1", 37),
    ("qwen3-coder", "qwen3-coder-30b-a3b", 3.3, "qwen3-coder-480b-a35b", 35),
]

# --- Bedrock model ids, as passed to converse/invoke_model (region prefixes tested below) ------
BEDROCK = [
    ("meta.llama3-8b-instruct-v1:0", "llama-3-8b", 8.03),
    ("meta.llama3-70b-instruct-v1:0", "llama-3-70b", 70.6),
    ("meta.llama3-1-8b-instruct-v1:0", "llama-3.1-8b", 8.03),
    ("meta.llama3-1-70b-instruct-v1:0", "llama-3.1-70b", 70.6),
    ("meta.llama3-1-405b-instruct-v1:0", "llama-3.1-405b", 405.9),
    ("meta.llama3-2-1b-instruct-v1:0", "llama-3.2-1b", 1.24),
    ("meta.llama3-2-3b-instruct-v1:0", "llama-3.2-3b", 3.21),
    ("meta.llama3-2-11b-instruct-v1:0", "llama-3.2-11b-vision", 10.6),
    ("meta.llama3-2-90b-instruct-v1:0", "llama-3.2-90b-vision", 88.8),
    ("meta.llama3-3-70b-instruct-v1:0", "llama-3.3-70b", 70.6),
    ("meta.llama4-scout-17b-instruct-v1:0", "llama-4-scout", 17),
    ("meta.llama4-maverick-17b-instruct-v1:0", "llama-4-maverick", 17),
    ("amazon.nova-micro-v1:0", "nova-micro", 11.3),
    ("amazon.nova-lite-v1:0", "nova-lite", 11.3),
    ("amazon.nova-pro-v1:0", "nova-pro", 13.9),
    ("amazon.nova-premier-v1:0", "nova-premier", 66.5),
    ("amazon.nova-pro-v1:0:300k", "nova-pro", 13.9),
    ("amazon.titan-text-express-v1", "titan-text-express", 11.3),
    ("amazon.titan-text-lite-v1", "titan-text-lite", 11.3),
    ("amazon.titan-embed-text-v2:0", "titan-embed-text", 0.45),
    ("amazon.titan-embed-text-v1", "titan-embed-text", 0.45),
    ("anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku", 13.9),
    ("anthropic.claude-3-haiku-20240307-v1:0:200k", "claude-3-haiku", 13.9),
    ("anthropic.claude-3-sonnet-20240229-v1:0", "claude-3-sonnet", 66.5),
    ("anthropic.claude-3-opus-20240229-v1:0", "claude-3-opus", 285.4),
    ("anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet", 66.5),
    ("anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet", 66.5),
    ("anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku", 13.9),
    ("anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-3-7-sonnet", 66.5),
    ("anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4", 66.5),
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5", 66.5),
    ("anthropic.claude-opus-4-20250514-v1:0", "claude-opus-4", 285.4),
    ("anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1", 285.4),
    ("anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5", 13.9),
    ("anthropic.claude-instant-v1", "claude-instant", 13.9),
    ("mistral.mistral-7b-instruct-v0:2", "mistral-7b", 7.25),
    ("mistral.mixtral-8x7b-instruct-v0:1", "mixtral-8x7b", 12.9),
    ("mistral.mistral-large-2402-v1:0", "mistral-large-2402", 66.5),
    ("mistral.mistral-large-2407-v1:0", "mistral-large-2", 123),
    ("mistral.pixtral-large-2502-v1:0", "pixtral-large", 124),
    ("cohere.command-r-v1:0", "command-r", 35),
    ("cohere.command-r-plus-v1:0", "command-r-plus", 104),
    ("cohere.command-text-v14", "command", 52),
    ("cohere.command-light-text-v14", "command-light", 6),
    ("cohere.embed-english-v3", "embed-english-v3.0", 0.39),
    ("cohere.embed-multilingual-v3", "embed-multilingual-v3.0", 0.39),
    ("deepseek.r1-v1:0", "deepseek-r1", 37),
    ("openai.gpt-oss-20b-1:0", "gpt-oss-20b", 3.6),
    ("openai.gpt-oss-120b-1:0", "gpt-oss-120b", 5.1),
]

REGION_PREFIXES = ["us.", "eu.", "apac.", "global."]


@pytest.fixture(scope="module")
def reg() -> Registry:
    return Registry()


def _check(reg: Registry, name: str, canonical: str, active_b: float,
           provider: str | None = None) -> None:
    spec = reg.model(name, provider)
    assert spec.name == canonical, f"{name!r} resolved to {spec.name!r}"
    assert spec.active == pytest.approx(active_b, rel=0.02), name
    assert spec.source and spec.source != "user" and spec.year, canonical


@pytest.mark.parametrize(("name", "canonical", "active_b"), OLLAMA)
def test_ollama_tag_resolves(reg: Registry, name: str, canonical: str, active_b: float) -> None:
    _check(reg, name, canonical, active_b)
    _check(reg, name, canonical, active_b, provider="ollama")
    _check(reg, f"ollama/{name}", canonical, active_b)         # LiteLLM's spelling


@pytest.mark.parametrize(("name", "canonical", "active_b"), OLLAMA)
def test_ollama_decorations_keep_the_entry(reg: Registry, name: str, canonical: str,
                                           active_b: float) -> None:
    tagged = name if ":" in name else f"{name}:latest"
    _check(reg, tagged, canonical, active_b, provider="ollama")
    if ":" in name and name.split(":", 1)[1][0].isdigit():      # a size tag takes a quantisation
        for suffix in ("-q4_K_M", "-instruct-q8_0", "-fp16"):
            _check(reg, name + suffix, canonical, active_b, provider="ollama")


@pytest.mark.parametrize(("name", "ollama_entry", "ollama_active", "api_entry", "api_active"),
                         OLLAMA_SCOPED)
def test_bare_ollama_names_that_mean_another_model_elsewhere(
        reg: Registry, name: str, ollama_entry: str, ollama_active: float, api_entry: str,
        api_active: float) -> None:
    for spelling in (name, f"{name}:latest", f"library/{name}"):
        _check(reg, spelling, ollama_entry, ollama_active, provider="ollama")
    for spelling in (f"ollama/{name}", f"ollama_chat/{name}", f"ollama/{name}:latest"):
        _check(reg, spelling, ollama_entry, ollama_active)
    # Everywhere else (OpenRouter, Fireworks, Bedrock's `openai/`-style prefixes) the bare name
    # is the large model, as before.
    _check(reg, name, api_entry, api_active)
    _check(reg, name, api_entry, api_active, provider="openai")
    _check(reg, f"openrouter/deepseek/{name}", api_entry, api_active)


@pytest.mark.parametrize(("model_id", "canonical", "active_b"), BEDROCK)
def test_bedrock_model_id_resolves(reg: Registry, model_id: str, canonical: str,
                                   active_b: float) -> None:
    _check(reg, model_id, canonical, active_b)
    _check(reg, model_id, canonical, active_b, provider="aws.bedrock")
    for prefix in REGION_PREFIXES:
        _check(reg, prefix + model_id, canonical, active_b)


def test_mixture_of_experts_tags_price_their_active_parameters(reg: Registry) -> None:
    spec = reg.model("qwen3:30b-a3b")
    assert spec.active == pytest.approx(3.3) and spec.total_params_b == pytest.approx(30.5)
    assert reg.model("qwen3:235b-a22b").active == pytest.approx(22)
    assert reg.model("us.meta.llama4-scout-17b-instruct-v1:0").active == pytest.approx(17)
    assert reg.model("gpt-oss:20b").active < reg.model("gpt-oss:20b").total_params_b


def test_flavour_and_quantisation_suffixes_keep_the_size(reg: Registry) -> None:
    for name in ("llama3.2:3b-text-q4", "llama3.2:3b-instruct-q4_K_M", "llama3.2:3b-instruct-fp16",
                 "llama3.2:latest"):
        assert reg.model(name).name == "llama-3.2-3b", name
    assert reg.model("llama3.2:1b-instruct-q8_0").name == "llama-3.2-1b"
    assert reg.model("qwen3:30b-a3b-instruct-2507-q4_K_M").name == "qwen3-30b-a3b"
    assert reg.model("deepseek-r1:8b-llama-distill-q4_K_M").name == "deepseek-r1-distill-llama-8b"
    assert reg.model("deepseek-r1:1.5b-qwen-distill-q8_0").name == "deepseek-r1-distill-qwen-1.5b"
    assert reg.model("gemma3:4b-it-qat").name == "gemma-3-4b"


@pytest.mark.parametrize("name", [
    "qwen3:999b", "llama3.2:7b", "gemma3:2b", "deepseek-r1:3b", "phi4:7b", "mistral:8x7b",
    "llama9", "meta.llama3-2-5b-instruct-v1:0", "amazon.nova-ultra-v1:0", "cohere.embed-klingon-v3",
])
def test_unknown_tags_and_ids_stay_unknown(reg: Registry, name: str) -> None:
    assert reg.find_model(name) is None
    assert reg.find_model(name, provider="ollama") is None
    with pytest.raises(UnknownModelError):
        reg.model(name)
    fallback = pricer(name, unknown_model="fallback", registry=reg)
    assert fallback.model_known is False


def test_dated_mistral_ids_are_not_folded_into_a_different_generation(reg: Registry) -> None:
    # `-2402` and `-2409` are other models than Large 2 (123B) and Small 3 (24B).
    assert reg.model("mistral-large-2402").name == "mistral-large-2402"
    assert reg.model("mistral-large-2402").estimated
    assert reg.model("mistral-large-2407").name == "mistral-large-2"
    assert reg.model("mistral-small-2409").name == "mistral-small-2409"
    assert reg.model("mistral-small-2501").name == "mistral-small-3"


def test_a_provider_without_scoped_aliases_changes_nothing(reg: Registry) -> None:
    for name, _, _ in OLLAMA + BEDROCK:
        assert reg.find_model(name, provider="aws.bedrock") is reg.find_model(name)
        assert reg.find_model(name, provider="not a provider!") is reg.find_model(name)


def test_new_closed_entries_are_flagged_estimates_with_a_range(reg: Registry) -> None:
    for name in ("mistral-large-2402", "claude-3-sonnet", "claude-instant", "embed-english-v3.0"):
        spec = reg.model(name)
        assert spec.estimated
        assert spec.active_params_b_min is not None and spec.active_params_b_max is not None
        assert spec.active_params_b_min < spec.active < spec.active_params_b_max
    assert reg.model("cohere.embed-english-v3").kind == "embedding"
    assert reg.model("all-minilm:33m").kind == "embedding"


def test_a_registered_scoped_alias_takes_effect_after_earlier_lookups() -> None:
    reg = Registry()
    assert reg.model("qwen3", provider="ollama").name == "qwen3-8b"     # cached before the add
    reg.add(ModelSpec(name="our-qwen3-build", total_params_b=4.0, aliases=("ollama/qwen3",),
                      source="test", year=2025))
    assert reg.model("qwen3", provider="ollama").name == "our-qwen3-build"
    assert reg.model("qwen3:latest", provider="ollama").name == "our-qwen3-build"
    assert reg.model("qwen3").name == "qwen3-8b"                       # unscoped: unchanged


@pytest.mark.parametrize(("provider", "model", "entry"), [
    ("ollama", "deepseek-r1", "deepseek-r1-0528-qwen3-8b"),
    (None, "deepseek-r1", "deepseek-r1"),
    ("openai", "gpt-4o", "gpt-4o"),
])
def test_a_recorded_call_is_priced_with_its_providers_meaning_of_the_name(
        provider: str | None, model: str, entry: str) -> None:
    """An Ollama call of `deepseek-r1` is priced as Ollama's 8B distill, not the 671B model."""
    import tracker
    from tracker.testing import capture

    with capture() as captured:
        tracker.record_usage(model, 100, 100, provider=provider)
    (span,) = captured.calls
    assert span.attributes is not None
    assert span.attributes["energy.model"] == entry
    assert span.attributes["gen_ai.request.model"] == model

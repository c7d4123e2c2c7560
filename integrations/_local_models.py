"""The in-process integrations' shared part: a local model's name and its `ModelSpec`.

What `transformers` and `vllm` share: naming a local model and building its spec from the loaded
configuration.
A model loaded from a directory carries that directory as its name (``_name_or_path``); only
its last component is kept, so no machine path (a user name, a mount) reaches a span. A model
built from a configuration has no name: its ``model_type`` stands in. The spec takes the
parameter count the caller counted (`transformers`: the loaded weights) or one computed from the
configuration (`vllm`, whose weights live in another process), the active parameters of a
mixture of experts (``num_experts_per_tok`` of ``num_local_experts``/``num_experts``/
``n_routed_experts``), the serving precision, and the attention shape for the KV cache.
"""

from __future__ import annotations

import re
from typing import Any

from tracker.integration import ModelSpec
from tracker.model._specs import Precision

__all__ = ["config_params", "model_name", "model_spec", "moe_shape", "precision_of", "text_config"]

#: Longest model name kept.
MAX_NAME = 128
_SEPARATORS = re.compile(r"[\\/]+")
#: A torch dtype's name -> the serving precision.
_DTYPES: dict[str, Precision] = {"bfloat16": "bf16", "float16": "fp16", "half": "fp16",
                                 "float32": "fp32", "float": "fp32", "float8_e4m3fn": "fp8"}


def model_name(config: Any, fallback: str = "local-model") -> str:
    """The model's name: its hub id (``org/name``), a path's last component, or its type."""
    raw = getattr(config, "_name_or_path", None) or getattr(config, "name_or_path", None)
    if isinstance(raw, str) and raw.strip():
        raw = raw.strip()
        parts = [p for p in _SEPARATORS.split(raw) if p and p not in (".", "..")]
        is_hub_id = len(parts) <= 2 and not raw.startswith(("/", "~", ".", "\\")) and ":" not in raw
        name = "/".join(parts) if is_hub_id else (parts[-1] if parts else "")
        if name:
            return name[:MAX_NAME]
    kind = getattr(config, "model_type", None)
    return kind[:MAX_NAME] if isinstance(kind, str) and kind else fallback


def _int(config: Any, *names: str) -> int | None:
    for name in names:
        value = getattr(config, name, None)
        if type(value) is int and value > 0:
            return value
    return None


def text_config(config: Any) -> Any:
    """The text model's configuration of a multimodal one (itself otherwise)."""
    getter = getattr(config, "get_text_config", None)
    if callable(getter):
        try:
            return getter()
        except Exception:  # an older or custom configuration: use it as it is
            return config
    return config


def moe_shape(config: Any) -> tuple[int, int] | None:
    """(experts per token, experts) of a mixture of experts, or None for a dense model."""
    k = _int(config, "num_experts_per_tok", "moe_topk", "top_k")
    n = _int(config, "num_local_experts", "num_experts", "n_routed_experts")
    return (k, n) if k is not None and n is not None and k < n else None


def config_params(config: Any) -> tuple[int, int] | None:
    """(total, active) parameters of a decoder from its configuration (None: shape unknown).

    Embeddings (untied output head counted apart), per layer attention (Q and O of the hidden
    size, K and V of the KV heads) and a gated MLP (three matrices; per expert for a mixture of
    experts, plus any shared experts). Norms and biases are left out (well under 1 %).
    """
    h = _int(config, "hidden_size", "n_embd", "d_model")
    layers = _int(config, "num_hidden_layers", "n_layer", "num_layers")
    vocab = _int(config, "vocab_size")
    if h is None or layers is None or vocab is None:
        return None
    heads = _int(config, "num_attention_heads", "n_head") or 1
    head_dim = _int(config, "head_dim") or h // heads
    kv = _int(config, "num_key_value_heads") or heads
    attention = 2 * h * heads * head_dim + 2 * h * kv * head_dim
    inter = _int(config, "intermediate_size", "n_inner") or 4 * h
    moe = moe_shape(config)
    if moe is None:
        mlp_total = mlp_active = 3 * h * inter
    else:
        expert = 3 * h * (_int(config, "moe_intermediate_size") or inter)
        shared = 3 * h * (_int(config, "shared_expert_intermediate_size") or 0)
        shared += expert * (_int(config, "n_shared_experts") or 0)
        mlp_total, mlp_active = moe[1] * expert + shared, moe[0] * expert + shared
    embed = vocab * h * (1 if getattr(config, "tie_word_embeddings", False) else 2)
    return embed + layers * (attention + mlp_total), embed + layers * (attention + mlp_active)


def precision_of(config: Any, dtype_name: str | None) -> Precision:
    """The serving precision: a quantisation the configuration declares, else the dtype's."""
    quant = getattr(config, "quantization_config", None)
    if quant is not None:
        def get(key: str) -> Any:
            return quant.get(key) if isinstance(quant, dict) else getattr(quant, key, None)

        if get("load_in_4bit"):
            return "int4"
        if get("load_in_8bit"):
            return "int8"
        method = str(get("quant_method") or "").lower()
        if "fp8" in method:
            return "fp8"
        if "mxfp4" in method:
            return "mxfp4"
        bits = get("bits")
        if bits == 4:
            return "int4"
        if bits == 8:
            return "int8"
    name = (dtype_name or "").lower().removeprefix("torch.")
    return _DTYPES.get(name, "bf16")


def model_spec(name: str, config: Any, *, total: int | None, active: int | None,
               dtype_name: str | None) -> ModelSpec | None:
    """The spec of a loaded model (None when no parameter count is known)."""
    if total is None or total <= 0:
        return None
    active = total if active is None or not 0 < active <= total else active
    text = text_config(config)
    fields: dict[str, Any] = {}
    h = _int(text, "hidden_size", "n_embd", "d_model")
    layers = _int(text, "num_hidden_layers", "n_layer", "num_layers")
    heads = _int(text, "num_attention_heads", "n_head")
    if h is not None and layers is not None and heads is not None:
        kv = _int(text, "num_key_value_heads") or heads
        fields = {"layers": layers, "hidden_size": h, "kv_heads": kv,
                  "attention": "gqa" if kv < heads else "mha",
                  "head_dim": _int(text, "head_dim") or max(1, h // heads),
                  "architecture_source": "the model's configuration"}
    return ModelSpec(name=name, total_params_b=total / 1e9, active_params_b=active / 1e9,
                     precision=precision_of(config, dtype_name),
                     source="the loaded model's configuration", **fields)

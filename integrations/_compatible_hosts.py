"""OpenAI-compatible services: which `gen_ai.provider.name` a base URL stands for.

Many servers speak the OpenAI wire protocol (vLLM, Ollama, OpenRouter, Groq, ...); the openai
client reaches them through ``base_url``. `provider_from_url()` names the service from the host
(the semantic conventions' well-known values first), or from the default port of a local server.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["provider_from_url"]

# Hosts of OpenAI-compatible services -> gen_ai.provider.name (semconv well-known values first).
_HOSTS: tuple[tuple[str, str], ...] = (
    ("api.openai.com", "openai"),
    (".openai.azure.com", "azure.ai.openai"),
    (".services.ai.azure.com", "azure.ai.inference"),
    ("openrouter.ai", "openrouter"),
    ("api.groq.com", "groq"),
    ("api.deepseek.com", "deepseek"),
    ("api.mistral.ai", "mistral_ai"),
    ("api.x.ai", "x_ai"),
    ("api.perplexity.ai", "perplexity"),
    ("api.together.xyz", "together"),
    ("api.fireworks.ai", "fireworks"),
    ("generativelanguage.googleapis.com", "gcp.gemini"),
    ("aiplatform.googleapis.com", "gcp.vertex_ai"),
    ("bedrock-runtime.", "aws.bedrock"),
    ("api.moonshot.ai", "moonshot_ai"),
    ("api.moonshot.cn", "moonshot_ai"),
    # Hugging Face's Inference Providers router and its serverless API (the router forwards to
    # a partner such as groq or together; the name is the service the application called).
    ("router.huggingface.co", "huggingface"),
    ("api-inference.huggingface.co", "huggingface"),
    (".endpoints.huggingface.cloud", "huggingface"),
)
# Local servers recognisable by their default port (host is localhost or 127.0.0.1).
_LOCAL_PORTS = {11434: "ollama", 1234: "lm_studio", 8000: "vllm"}


def provider_from_url(url: str, default: str = "openai") -> str:
    """The provider a base URL points at; `default` for unrecognised hosts."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return default
    for suffix, name in _HOSTS:
        if host == suffix.lstrip(".") or host.endswith(suffix) or (
            suffix.endswith(".") and host.startswith(suffix)
        ):
            return name
    if host in ("localhost", "127.0.0.1", "::1") and port in _LOCAL_PORTS:
        return _LOCAL_PORTS[port]
    return default

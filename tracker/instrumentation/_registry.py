"""Turning provider integrations on and off: `instrument()`, `uninstrument()`, and the tables.

`instrument(*names)` imports ``integrations.<name>`` and patches the client library's public
resource methods with `wrapt`; `uninstrument(*names)` puts the original functions back. Both are
idempotent and thread-safe. A provider named explicitly is patched at once (its library is
imported now); one not installed (or too old) raises `IntegrationNotAvailable`.

With no names (what `configure()` does), nothing is imported, `wrapt` included: each
integration's client library is patched when the application imports it (a post-import hook,
`_import_hooks`: wrapt's mechanism, as OpenTelemetry's and Sentry's instrumentations use it), or
at once when it is already imported; a library never imported costs nothing, and one that is
missing or too old is skipped silently. `uninstrument()` also cancels the hooks still waiting,
so a library imported after it stays unpatched.

`DISABLES` is the table of which integration turns which off, so that nothing is counted twice:
a framework integration that records the calls itself lists the provider integrations it makes
redundant, and instrumenting it uninstruments them (and keeps them off). `DEFERS` is the table of
which framework integration defers to which: its call is recorded only when none inside it was.
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
from collections.abc import Iterable
from typing import Any, Protocol

from tracker._internal_errors import report
from tracker.exceptions import IntegrationNotAvailable
from tracker.instrumentation._import_hooks import register_post_import_hook
from tracker.recording import _framework

__all__ = [
    "DEFERS",
    "DISABLES",
    "INTEGRATIONS",
    "instrument",
    "instrumented",
    "register_integration",
    "uninstrument",
]

#: Integration name -> module implementing it (``instrument()``/``uninstrument()`` functions).
INTEGRATIONS: dict[str, str] = {
    "openai": "integrations.openai",
    "anthropic": "integrations.anthropic",
    "google_genai": "integrations.google_genai",
    "bedrock": "integrations.bedrock",
    "mistral": "integrations.mistral",
    "cohere": "integrations.cohere",
    "ollama": "integrations.ollama",
    "huggingface_hub": "integrations.huggingface_hub",
    "litellm": "integrations.litellm",
    "langchain": "integrations.langchain",
    "openai_agents": "integrations.openai_agents",
    "pydantic_ai": "integrations.pydantic_ai",
    "llama_index": "integrations.llama_index",
    "crewai": "integrations.crewai",
    "google_adk": "integrations.google_adk",
    "transformers": "integrations.transformers",
    "vllm": "integrations.vllm",
}

#: Integration -> the modules whose import (the first of them) patches it when instrumented
#: without being named (importing the client libraries costs seconds: anthropic alone 0.8 s).
#: A namespace package never reports its import: mistralai 2.x is one, hence its ``.client``.
#: An integration not listed (registered by a third party) is imported at once, as when named.
LIBRARIES: dict[str, tuple[str, ...]] = {
    "openai": ("openai",), "anthropic": ("anthropic",), "google_genai": ("google.genai",),
    "bedrock": ("botocore",), "mistral": ("mistralai.client", "mistralai"),
    "cohere": ("cohere",), "ollama": ("ollama",), "litellm": ("litellm",),
    "langchain": ("langchain_core",), "openai_agents": ("agents",),
    "pydantic_ai": ("pydantic_ai",), "huggingface_hub": ("huggingface_hub",),
    "llama_index": ("llama_index.core",), "crewai": ("crewai",), "google_adk": ("google.adk",),
    # In-process inference: patched once a model class can exist (``import transformers`` alone,
    # for its tokenizers, imports neither torch nor the generation code).
    "transformers": ("transformers.generation.utils",), "vllm": ("vllm.entrypoints.llm",),
}

#: Integration name -> integrations it makes redundant (they would count the same calls).
#: Empty: no integration turns another off. The framework integrations defer instead (`DEFERS`).
DISABLES: dict[str, frozenset[str]] = {}

#: Framework integration -> the integrations whose record wins over its own ("never twice").
#: A framework call (a LiteLLM ``completion``, a LangChain model run) records itself only when no
#: call made inside it was recorded: the provider client's call, or a framework nested in it.
#: The rule holds at run time whatever the order integrations were patched in
#: (`tracker.recording._framework`), for any integration, so this table documents the known
#: pairs: LiteLLM calls the openai client on its ``openai/`` (and OpenAI-compatible) routes and
#: its own HTTP code elsewhere; LangChain's chat models call the provider clients, or LiteLLM.
DEFERS: dict[str, frozenset[str]] = {
    "litellm": frozenset({"openai", "anthropic", "bedrock", "mistral", "cohere", "ollama",
                          "google_genai"}),
    "langchain": frozenset({"openai", "anthropic", "bedrock", "mistral", "cohere", "ollama",
                            "google_genai", "litellm"}),
    # The Agents SDK's models call the openai client (OpenAI-compatible hosts included), or
    # LiteLLM (``LitellmModel``).
    "openai_agents": frozenset({"openai", "litellm"}),
    # Pydantic AI's models call the provider clients (openai, anthropic, google-genai, mistral,
    # cohere, boto3 for Bedrock).
    "pydantic_ai": frozenset({"openai", "anthropic", "google_genai", "mistral", "cohere",
                              "bedrock"}),
    # LlamaIndex's LLM classes call the provider clients (llama-index-llms-openai, -anthropic,
    # -google-genai, -mistralai, -cohere, -ollama, -bedrock-converse, -litellm).
    "llama_index": frozenset({"openai", "anthropic", "google_genai", "mistral", "cohere",
                              "ollama", "bedrock", "litellm"}),
    # Google ADK's models call google-genai (Gemini), anthropic (Claude), LiteLLM (``LiteLlm``,
    # which calls the openai client on its ``openai/`` route).
    "google_adk": frozenset({"google_genai", "anthropic", "litellm", "openai"}),
}

_lock = threading.RLock()
_active: dict[str, Any] = {}
#: Integrations waiting for their library's import (`instrument()` without names).
_pending: set[str] = set()
#: Integrations whose post-import hook is registered (once: a hook is never unregistered).
_hooked: set[str] = set()


class _IntegrationModule(Protocol):
    def instrument(self) -> None: ...
    def uninstrument(self) -> None: ...


def _load(name: str) -> _IntegrationModule:
    module_name = INTEGRATIONS.get(name)
    if module_name is None:
        raise IntegrationNotAvailable(
            f"no integration named {name!r}; known: {', '.join(sorted(INTEGRATIONS))}"
        )
    try:
        module: Any = importlib.import_module(module_name)
    except IntegrationNotAvailable:
        raise
    except ImportError as exc:
        raise IntegrationNotAvailable(f"integration {name!r} is not available: {exc}") from exc
    return module  # type: ignore[no-any-return]


def register_integration(name: str, module: str, *, disables: Iterable[str] = ()) -> None:
    """Make ``tracker.instrument(name)`` import `module` (which has instrument/uninstrument).

    `disables` names the integrations this one makes redundant (they would count its calls
    again); instrumenting it turns them off.
    """
    with _lock:
        INTEGRATIONS[name] = module
        if disables:
            DISABLES[name] = frozenset(disables)


def _disabled_by_active(name: str) -> bool:
    return any(name in DISABLES.get(other, frozenset()) for other in _active)


def instrument(*names: str) -> list[str]:
    """Patch the named provider client libraries (all installed ones when none is named).

    Returns the names instrumented after the call. Idempotent and thread-safe. Raises
    `IntegrationNotAvailable` for a name given explicitly whose library is missing or too old.
    """
    with _lock:
        if not names:
            for name in tuple(INTEGRATIONS):
                _when_imported(name)
            return sorted(_active)
        for name in names:
            _pending.discard(name)
            _instrument_one(name, explicit=True)
        return sorted(_active)


def _instrument_one(name: str, *, explicit: bool) -> None:
    if name in _active or _disabled_by_active(name):
        return
    try:
        module = _load(name)
    except IntegrationNotAvailable:
        if explicit:
            raise
        return
    module.instrument()
    _active[name] = module
    for redundant in DISABLES.get(name, frozenset()):
        _uninstrument_one(redundant)


def _when_imported(name: str) -> None:
    """Instrument `name` once its library is imported (at once if it already is)."""
    libraries = LIBRARIES.get(name)
    if name in _active:
        return
    if libraries is None or any(library in sys.modules for library in libraries):
        _instrument_one(name, explicit=False)
        return
    _pending.add(name)
    if name not in _hooked:
        _hooked.add(name)
        for library in libraries:
            register_post_import_hook(functools.partial(_imported, name), library)


def _imported(name: str, _module: Any) -> None:
    """Post-import hook: the application imported `name`'s library (never raises into it)."""
    with _lock:
        if name not in _pending:
            return  # uninstrumented since, or instrumented by name
        _pending.discard(name)
        try:
            _instrument_one(name, explicit=False)
        except Exception as exc:
            report("instrumentation.on_import", exc)


def _uninstrument_one(name: str) -> None:
    module = _active.pop(name, None)
    if module is not None:
        module.uninstrument()
        if name in DEFERS and not any(other in DEFERS for other in _active):
            _framework.deactivate()


def uninstrument(*names: str) -> list[str]:
    """Restore the original methods of the named integrations (every active one by default).

    Returns the names still instrumented. Idempotent: unknown or inactive names are ignored.
    """
    with _lock:
        if names:
            _pending.difference_update(names)
        else:
            _pending.clear()
        for name in names or tuple(_active):
            _uninstrument_one(name)
        return sorted(_active)


def instrumented() -> list[str]:
    """Names of the integrations currently instrumented."""
    with _lock:
        return sorted(_active)

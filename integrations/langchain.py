"""LangChain integration: every chat model and LLM run, through a callback handler.

`EnergyCallbackHandler` (a `langchain_core` callback handler) records one call per model run:
``on_chat_model_start`` / ``on_llm_start`` open it, ``on_llm_end`` or ``on_llm_error`` finish
it. Pass it yourself (``model.invoke(..., config={"callbacks": [EnergyCallbackHandler()]})``), or
let `instrument()` add one to every callback manager LangChain configures (it patches
``CallbackManager.configure`` and ``AsyncCallbackManager.configure``).

Never twice: many chat models call a provider client the SDK also instruments (``ChatOpenAI``
the openai client, ``ChatAnthropic`` the anthropic one, ``ChatLiteLLM`` LiteLLM). A model run
is a framework call: when a call inside it was recorded, that record is the one record and the
handler records nothing; otherwise (a client the SDK does not instrument) the handler records the
run itself (see `tracker.recording._framework`). The handler runs inline (``run_inline``), in
the model's own context, so that it sees which calls the model made.

Usage: the message's ``usage_metadata`` (``input_tokens`` with cached tokens included,
``output_tokens`` with reasoning tokens), else ``llm_output["token_usage"]`` or
``llm_output["usage"]``, else counted from the text (flagged estimated).
``gen_ai.provider.name`` is LangChain's ``ls_provider`` in the semantic conventions' spelling
and ``gen_ai.request.model`` its ``ls_model_name`` (else the model named in the invocation).

Attribution: the one record of a model run (whichever integration makes it) carries
``energy.framework`` ``langchain`` and ``energy.framework.run_name``, the run's name as LangChain
names it: the ``run_name`` of its config (``model.with_config(run_name="summarise")``), else the
model's class name (``ChatOpenAI``). Nothing else of the run (metadata, tags, messages) is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from tracker.exceptions import IntegrationNotAvailable

try:
    import langchain_core
    from langchain_core.callbacks import BaseCallbackHandler
except ImportError as _exc:  # pragma: no cover - exercised only without langchain-core
    raise IntegrationNotAvailable(
        "the langchain integration needs `pip install langchain-core>=0.3`"
    ) from _exc

from tracker.integration import (
    LLMCall,
    Patcher,
    Usage,
    count,
    estimate_tokens,
    guard,
    start_call,
    tokens_from_chars,
)
from tracker.recording import _framework
from tracker.setup import _configure as _config

__all__ = ["MIN_VERSION", "NAME", "EnergyCallbackHandler", "instrument", "provider_name",
           "uninstrument"]

NAME = "langchain"
MIN_VERSION = (0, 3)  # the callback API it uses; the `langchain` extra asks for >=0.3.66

if tuple(int(p) for p in langchain_core.__version__.split(".")[:2] if p.isdigit()) < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the langchain integration needs langchain-core>={'.'.join(map(str, MIN_VERSION))}, "
        f"found {langchain_core.__version__}"
    )

# LangChain's ``ls_provider`` -> gen_ai.provider.name (the conventions' well-known values).
_PROVIDERS: dict[str, str] = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
    "amazon_bedrock": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "google_genai": "gcp.gemini",
    "google_vertexai": "gcp.vertex_ai",
    "google_anthropic_vertex": "gcp.vertex_ai",
    "mistral": "mistral_ai",
    "mistralai": "mistral_ai",
    "cohere": "cohere",
    "ollama": "ollama",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "perplexity": "perplexity",
    "watsonx": "ibm.watsonx.ai",
    "together": "together",
    "fireworks": "fireworks",
}
_MAX_NAME = 64
#: Runs started and not (yet) ended that one handler keeps; beyond, the oldest are dropped.
_MAX_RUNS = 4096


def provider_name(ls_provider: object) -> str | None:
    """`gen_ai.provider.name` for LangChain's ``ls_provider`` value (None when not given)."""
    if not isinstance(ls_provider, str) or not ls_provider or len(ls_provider) > _MAX_NAME:
        return None
    return _PROVIDERS.get(ls_provider.lower(), ls_provider.lower())


def _model(metadata: Mapping[str, Any], kwargs: Mapping[str, Any]) -> str | None:
    model = metadata.get("ls_model_name")
    if isinstance(model, str) and model:
        return model
    params = kwargs.get("invocation_params")
    if isinstance(params, Mapping):
        for key in ("model", "model_name", "model_id"):
            value = params.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def _run_name(serialized: Any, kwargs: Mapping[str, Any]) -> str | None:
    """The run's name as LangChain's tracers give it: ``name``, else the serialized class name."""
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    if isinstance(serialized, Mapping):
        name = serialized.get("name")
        if isinstance(name, str) and name:
            return name
        ident = serialized.get("id")
        if isinstance(ident, list) and ident and isinstance(ident[-1], str):
            return ident[-1]
    return None


class _Run:
    __slots__ = ("call", "frame", "request")

    def __init__(self, call: LLMCall, frame: _framework.Frame, request: object) -> None:
        self.call = call
        self.frame = frame
        self.request = request  # the prompts, for an estimate when no usage comes back


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _from_metadata(meta: Any, model: str | None) -> Usage | None:
    n_in, n_out = count(_get(meta, "input_tokens")), count(_get(meta, "output_tokens"))
    if n_in is None and n_out is None:
        return None
    return Usage(n_in, n_out, model,
                 cache_read_input_tokens=count(_get(_get(meta, "input_token_details"),
                                                    "cache_read")),
                 cache_creation_input_tokens=count(_get(_get(meta, "input_token_details"),
                                                        "cache_creation")),
                 reasoning_output_tokens=count(_get(_get(meta, "output_token_details"),
                                                    "reasoning")))


def _generations(response: Any) -> list[Any]:
    return [g for batch in (getattr(response, "generations", None) or ()) for g in batch or ()]


def _usage(response: Any, request: object) -> Usage:
    """The run's usage: reported by the model, else counted from the text."""
    llm_output = getattr(response, "llm_output", None)
    llm_output = llm_output if isinstance(llm_output, Mapping) else {}
    generations = _generations(response)
    model = llm_output.get("model_name") or llm_output.get("model")
    for generation in generations:
        message = getattr(generation, "message", None)
        if model is None and message is not None:
            meta = getattr(message, "response_metadata", None) or {}
            model = meta.get("model_name") or meta.get("model")
    model = model if isinstance(model, str) else None
    for generation in generations:  # n > 1 repeats the same totals: the first one counts
        usage = _from_metadata(getattr(getattr(generation, "message", None), "usage_metadata",
                                       None), model)
        if usage is not None:
            return usage
    token_usage = llm_output.get("token_usage")
    if isinstance(token_usage, Mapping):
        n_in, n_out = count(token_usage.get("prompt_tokens")), count(
            token_usage.get("completion_tokens"))
        if n_in is not None or n_out is not None:
            return Usage(n_in, n_out, model)
    usage = _from_metadata(llm_output.get("usage"), model)
    if usage is not None:  # Anthropic's block: input without the cached parts
        extra = sum(count(_get(llm_output["usage"], k)) or 0
                    for k in ("cache_read_input_tokens", "cache_creation_input_tokens"))
        inputs = usage.input_tokens
        return Usage(None if inputs is None else inputs + extra, usage.output_tokens, model)
    chars = sum(len(t) for t in (getattr(g, "text", None) for g in generations)
                if isinstance(t, str))
    return Usage(estimate_tokens(request), tokens_from_chars(chars), model,
                 tokens_estimated=True)


def _texts(messages: Sequence[Any]) -> list[Any]:
    """The content of LangChain messages (lengths are all an estimate reads)."""
    return [[getattr(m, "content", None) for m in batch or ()] for batch in messages or ()]


class EnergyCallbackHandler(BaseCallbackHandler):
    """A LangChain callback handler recording each chat model or LLM run as one LLM call.

    Runs inline (``run_inline = True``) so that it shares the model's context; chain, agent,
    retriever and tool events are ignored. Never raises into LangChain.
    """

    run_inline = True
    raise_error = False
    ignore_chain = True
    ignore_agent = True
    ignore_retriever = True
    ignore_retry = True
    ignore_custom_event = True

    def __init__(self) -> None:
        """A handler with no run in flight."""
        super().__init__()
        self._runs: dict[UUID, _Run] = {}
        self._lock = threading.Lock()
        self._gate: Patcher | None = None  # the global handler stops when uninstrumented

    def _begin(self, run_id: UUID, operation: str, serialized: Any,
               metadata: Mapping[str, Any] | None, kwargs: Mapping[str, Any],
               request: object) -> None:
        if self._gate is not None and not self._gate.active:
            return
        if not _config.get_config().enabled:
            return
        with guard("langchain.start"):
            metadata = metadata or {}
            names = _framework.attribution_of(NAME, _run_name(serialized, kwargs))
            token = _framework.announce(names)
            try:
                call = start_call(provider=provider_name(metadata.get("ls_provider")),
                                  operation=operation, request_model=_model(metadata, kwargs))
            finally:
                _framework.withdraw(token)
            run = _Run(call, _framework.open_frame(names), request)
            with self._lock:
                if len(self._runs) >= _MAX_RUNS:
                    self._runs.pop(next(iter(self._runs)))
                self._runs[run_id] = run

    def _take(self, run_id: UUID) -> _Run | None:
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is not None:
            _framework.close_frame(run.frame)
            if run.frame.claimed:  # a call inside the run was recorded: that is the record
                return None
        return run

    def on_chat_model_start(self, serialized: dict[str, Any], messages: list[list[Any]], *,
                            run_id: UUID, parent_run_id: UUID | None = None,
                            tags: list[str] | None = None,
                            metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """A chat model run starts."""
        self._begin(run_id, "chat", serialized, metadata, kwargs, _texts(messages))

    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID,
                     parent_run_id: UUID | None = None, tags: list[str] | None = None,
                     metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """A (completion) LLM run starts."""
        self._begin(run_id, "text_completion", serialized, metadata, kwargs, prompts)

    def on_llm_end(self, response: Any, *, run_id: UUID, parent_run_id: UUID | None = None,
                   **kwargs: Any) -> None:
        """The run ended: record it, unless a call inside it was recorded."""
        with guard("langchain.end"):
            run = self._take(run_id)
            if run is not None:
                run.call.finish_usage(_usage(response, run.request))

    def on_llm_error(self, error: BaseException, *, run_id: UUID,
                     parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        """The run failed: record the failure, unless a call inside it was recorded."""
        with guard("langchain.error"):
            run = self._take(run_id)
            if run is not None:
                run.call.finish_usage(Usage(None, None), error=error)


_patcher = Patcher()
_handler = EnergyCallbackHandler()
_handler._gate = _patcher


def _add_handler(wrapped: Any, instance: Any, args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> Any:
    manager = wrapped(*args, **kwargs)
    with guard("langchain.configure"):
        handlers = getattr(manager, "handlers", None)
        if isinstance(handlers, list) and not any(
                isinstance(h, EnergyCallbackHandler) for h in handlers):
            manager.add_handler(_handler, inherit=True)
    return manager


def instrument() -> None:
    """Add the handler to every LangChain callback manager (called by `tracker.instrument`)."""
    for cls in ("CallbackManager", "AsyncCallbackManager"):
        _patcher.patch("langchain_core.callbacks.manager", f"{cls}.configure", _add_handler)


def uninstrument() -> None:
    """Restore the original methods; the global handler records nothing more."""
    _patcher.unpatch_all()

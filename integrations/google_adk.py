"""Google ADK integration: agent runs, tool calls and model calls, through an ADK plugin.

`EnergyPlugin` is a ``google.adk.plugins.BasePlugin``: ADK runs its callbacks around every agent
run, model call and tool call of the runner (``App(plugins=[EnergyPlugin()])``). `instrument()`
registers one shared plugin on every ``Runner`` built while it is on (``Runner.__init__`` is
wrapped to call the runner's public ``plugin_manager.register_plugin``); `uninstrument()` puts
``Runner.__init__`` back and turns the plugin off (a runner built meanwhile keeps an inert
plugin). Of what ADK tells the callbacks, only names, identifiers and token counts are read:

- an agent run (``before_agent_callback`` to ``after_agent_callback``) is an ``invoke_agent
  {agent}`` INTERNAL scope and a tool call (``before_tool_callback`` to ``after_tool_callback``)
  an ``execute_tool {tool}`` scope (`tracker.recording._agents`); an agent run inside a tool
  (``AgentTool``) nests under that tool's scope. They end with the ``energy.*`` sums of the calls
  made inside (no ``gen_ai.usage.*``).
- a model call (``before_model_callback`` to the last ``after_model_callback``, the one that is
  not a partial streamed response) is a framework call (`tracker.recording._framework`): when a
  client integration records the request (google_genai for Gemini, litellm or openai for
  ``LiteLlm``, anthropic for Claude), that is the one record; otherwise the response's
  ``usage_metadata`` is recorded.

Every call recorded inside an agent run carries ``gen_ai.agent.name``, ``gen_ai.conversation.id``
(the ADK session id) and ``energy.framework`` ``google_adk``.
"""

from __future__ import annotations

import threading
from typing import Any

from tracker.exceptions import IntegrationNotAvailable

try:
    import wrapt
    from google.adk import __version__ as _adk_version
    from google.adk.plugins.base_plugin import BasePlugin
    from google.adk.runners import Runner
except ImportError as _exc:  # pragma: no cover - exercised only without google-adk
    raise IntegrationNotAvailable(
        "the google_adk integration needs `pip install google-adk>=2.15`") from _exc

from integrations._framework_call import FrameworkCall
from tracker.integration import Usage, count, guard, start_call
from tracker.recording import _agents, _framework
from tracker.setup import _configure as _config

__all__ = ["MIN_VERSION", "NAME", "EnergyPlugin", "instrument", "uninstrument"]

NAME = "google_adk"
MIN_VERSION = (2, 15)  # the oldest release tested

if tuple(int(p) for p in _adk_version.split(".")[:2] if p.isdigit()) < MIN_VERSION:
    raise IntegrationNotAvailable(
        f"the google_adk integration needs google-adk>={'.'.join(map(str, MIN_VERSION))}, "
        f"found {_adk_version}")

#: Runs, tools and model calls in flight that one plugin keeps; beyond, the oldest are dropped.
_MAX_OPEN = 4096
_MAX_NAME = 256
PLUGIN_NAME = "llm_energy_tracker"


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_NAME else None


def _keep(table: dict[Any, Any], key: Any, value: Any) -> Any:
    """Keep `value`; returns the oldest entry dropped to make room, if any."""
    dropped = None
    if len(table) >= _MAX_OPEN:
        dropped = table.pop(next(iter(table)))
    table[key] = value
    return dropped


class _Failed(Exception):
    """ADK reported the agent, model or tool call as failed (its error is not kept)."""


def _usage(response: Any) -> Usage:
    meta = getattr(response, "usage_metadata", None)
    return Usage(count(getattr(meta, "prompt_token_count", None)),
                 count(getattr(meta, "candidates_token_count", None)),
                 _str(getattr(response, "model_version", None)),
                 cache_read_input_tokens=count(getattr(meta, "cached_content_token_count", None)),
                 reasoning_output_tokens=count(getattr(meta, "thoughts_token_count", None)))


def _agent_key(context: Any, name: object) -> tuple[str, str]:
    return (str(getattr(context, "invocation_id", "")), str(name))


class EnergyPlugin(BasePlugin):  # type: ignore[misc,unused-ignore]
    """Prices an ADK runner's agent runs, tool calls and model calls (see the module).

    Every callback is guarded and returns None: nothing raises into ADK and nothing it does
    changes. Add it yourself (``App(plugins=[EnergyPlugin()])``, then leave this integration
    off), or let `instrument()` add the shared one to every runner.
    """

    def __init__(self, name: str = PLUGIN_NAME) -> None:
        """A plugin with nothing in flight."""
        super().__init__(name=name)
        self.active = True
        self._lock = threading.Lock()
        self._agents: dict[tuple[str, str], _agents.AgentScope] = {}
        self._tools: dict[tuple[str, str], _agents.AgentScope] = {}
        self._models: dict[tuple[str, str], FrameworkCall] = {}

    def _on(self) -> bool:
        return self.active and _config.get_config().enabled

    async def before_agent_callback(self, *, agent: Any, callback_context: Any) -> None:
        """An agent run starts: its scope becomes current for the run."""
        if not self._on():
            return None
        with guard("google_adk.before_agent"):
            session = getattr(callback_context, "session", None)
            scope = _agents.open_scope("invoke_agent", getattr(agent, "name", None),
                                       framework=NAME,
                                       conversation_id=getattr(session, "id", None))
            if scope is not None:
                with self._lock:
                    dropped = _keep(self._agents, _agent_key(callback_context, agent.name), scope)
                _agents.close_scope(dropped)
        return None

    def _end_agent(self, agent: Any, context: Any, error: BaseException | None) -> None:
        with self._lock:
            scope = self._agents.pop(_agent_key(context, getattr(agent, "name", None)), None)
        _agents.close_scope(scope, error)

    async def after_agent_callback(self, *, agent: Any, callback_context: Any) -> None:
        """The agent run ended."""
        with guard("google_adk.after_agent"):
            self._end_agent(agent, callback_context, None)
        return None

    async def on_agent_error_callback(self, *, agent: Any, callback_context: Any,
                                      error: Exception) -> None:
        """The agent run failed."""
        with guard("google_adk.agent_error"):
            self._end_agent(agent, callback_context, _Failed())
        return None

    async def before_model_callback(self, *, callback_context: Any, llm_request: Any) -> None:
        """A model call starts: a tentative call and a frame around the request."""
        if not self._on():
            return None
        with guard("google_adk.before_model"):
            names = _framework.attribution_of(NAME, None)
            token = _framework.announce(names)
            try:
                call = start_call(provider=None, operation="chat",
                                  request_model=_str(getattr(llm_request, "model", None)))
            finally:
                _framework.withdraw(token)
            entry = FrameworkCall(call, _framework.open_frame(names))
            key = _agent_key(callback_context, getattr(callback_context, "agent_name", None))
            with self._lock:
                dropped = _keep(self._models, key, entry)
            if dropped is not None:
                _framework.close_frame(dropped.frame)
        return None

    def _end_model(self, context: Any, response: Any, error: BaseException | None) -> None:
        with self._lock:
            entry = self._models.pop(
                _agent_key(context, getattr(context, "agent_name", None)), None)
        if entry is None:
            return
        _framework.close_frame(entry.frame)
        if not entry.claimed():  # no client integration recorded the request
            usage = _usage(response) if response is not None else Usage(None, None, None)
            entry.call.finish_usage(usage, error=error)

    async def after_model_callback(self, *, callback_context: Any, llm_response: Any) -> None:
        """A model response: the last one (not a partial streamed one) ends the call."""
        with guard("google_adk.after_model"):
            if not getattr(llm_response, "partial", False):
                self._end_model(callback_context, llm_response, None)
        return None

    async def on_model_error_callback(self, *, callback_context: Any, llm_request: Any,
                                      error: Exception) -> None:
        """The model call failed."""
        with guard("google_adk.model_error"):
            self._end_model(callback_context, None, _Failed())
        return None

    async def before_tool_callback(self, *, tool: Any, tool_args: Any, tool_context: Any
                                   ) -> None:
        """A tool call starts: its scope, under its agent's."""
        if not self._on():
            return None
        with guard("google_adk.before_tool"):
            call_id = getattr(tool_context, "function_call_id", None)
            scope = _agents.open_scope("execute_tool", getattr(tool, "name", None),
                                       framework=NAME, tool_call_id=call_id,
                                       tool_type="function")
            if scope is not None:
                with self._lock:
                    dropped = _keep(self._tools, _agent_key(tool_context, call_id), scope)
                _agents.close_scope(dropped)
        return None

    def _end_tool(self, context: Any, error: BaseException | None) -> None:
        key = _agent_key(context, getattr(context, "function_call_id", None))
        with self._lock:
            scope = self._tools.pop(key, None)
        _agents.close_scope(scope, error)

    async def after_tool_callback(self, *, tool: Any, tool_args: Any, tool_context: Any,
                                  result: Any) -> None:
        """The tool call ended."""
        with guard("google_adk.after_tool"):
            self._end_tool(tool_context, None)
        return None

    async def on_tool_error_callback(self, *, tool: Any, tool_args: Any, tool_context: Any,
                                     error: Exception) -> None:
        """The tool call failed."""
        with guard("google_adk.tool_error"):
            self._end_tool(tool_context, _Failed())
        return None

    def end_all(self) -> None:
        """End every scope and frame still open (the plugin is being turned off)."""
        with self._lock:
            scopes = list(self._tools.values()) + list(self._agents.values())
            models = list(self._models.values())
            self._tools.clear()
            self._agents.clear()
            self._models.clear()
        for scope in scopes:
            _agents.close_scope(scope)
        for entry in models:
            _framework.close_frame(entry.frame)


_plugin = EnergyPlugin()
_plugin.active = False
_lock = threading.Lock()
_original: Any = None


def _register(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    result = wrapped(*args, **kwargs)
    with guard("google_adk.register"):
        manager = getattr(instance, "plugin_manager", None)
        if _plugin.active and manager is not None and manager.get_plugin(PLUGIN_NAME) is None:
            manager.register_plugin(_plugin)
    return result


def instrument() -> None:
    """Wrap ``Runner.__init__`` (once) so every new runner gets the shared plugin; turn it on."""
    global _original
    with _lock:
        if _original is None:
            _original = vars(Runner)["__init__"]
            wrapt.wrap_function_wrapper(Runner, "__init__", _register)
        _plugin.active = True


def uninstrument() -> None:
    """Put ``Runner.__init__`` back and turn the shared plugin off; open scopes end now."""
    global _original
    with _lock:
        _plugin.active = False
        if _original is not None:
            setattr(Runner, "__init__", _original)  # noqa: B010  # the very function found
            _original = None
    _plugin.end_all()

"""The demo's agent run: a small agent loop on the openai client, with one tool call.

`run_agent(base_url)` runs the ``weather_agent``: it asks the model with a ``get_weather`` tool
offered, the demo server answers with a call of that tool, the agent runs the tool and asks
again, and the server answers in text. The run is an ``invoke_agent weather_agent`` scope and
the tool call an ``execute_tool get_weather`` scope inside it (`tracker.recording._agents`, as
the agent framework integrations open them): both model calls carry ``gen_ai.agent.name``, and
the agent's span ends with the ``energy.*`` roll-up of its calls, which the demo prints under
them. Offline: the calls go to the local server, with a dummy key.
"""

from __future__ import annotations

import json
from typing import Any

from tracker import _attributes as A
from tracker.recording._agents import close_scope, open_scope

__all__ = ["AGENT", "TOOL", "run_agent"]

AGENT = "weather_agent"
TOOL = "get_weather"
_FRAMEWORK = "llm-energy demo"
_TOOLS: Any = [{"type": "function", "function": {
    "name": TOOL, "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}]
#: Model requests one run makes at most (the server calls the tool once, then answers).
_MAX_TURNS = 4


def _get_weather(arguments: str) -> str:
    try:
        city = json.loads(arguments).get("city")
    except (ValueError, AttributeError):
        city = None
    return f"Sunny and cold in {city if isinstance(city, str) else 'town'}."


def run_agent(base_url: str | None, api_key: str, model: str) -> dict[str, Any] | None:
    """Run the agent once; returns its span's roll-up (``energy.*``), None without openai."""
    try:
        import openai
    except ImportError:
        return None
    client = openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=0)
    messages: list[Any] = [{"role": "user", "content": "Should I cycle to work in Oslo today?"}]
    scope = open_scope("invoke_agent", AGENT, framework=_FRAMEWORK)
    error: BaseException | None = None
    try:
        for _turn in range(_MAX_TURNS):
            reply = client.chat.completions.create(model=model, messages=messages, tools=_TOOLS)
            message = reply.choices[0].message
            if not message.tool_calls:
                break
            messages.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls:
                function = getattr(call, "function", None)
                if function is None:
                    continue
                tool = open_scope("execute_tool", function.name, framework=_FRAMEWORK,
                                  tool_call_id=call.id, tool_type="function")
                try:
                    result = _get_weather(function.arguments)
                finally:
                    close_scope(tool)
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    except BaseException as exc:
        error = exc
        raise
    finally:
        close_scope(scope, error)
        client.close()
    return scope.sums() if scope is not None else None


def rollup_line(sums: dict[str, Any], energy: str, carbon: str) -> str:
    """The agent span's roll-up as the demo prints it (under 80 columns)."""
    calls = int(sums.get(A.ENERGY_CALLS) or 0)
    return f"  invoke_agent {AGENT}: {calls} calls, 1 tool call, {energy}, {carbon}"

"""A warning a client library raises inside an instrumented call names the caller's line.

The library's own ``stacklevel`` must land where it lands without the SDK (the caller's line for
anthropic's deprecated-model warning from ``messages.create()``), sync and async, plain and
streamed, and under Python's default filters a script run as ``__main__`` still sees it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from typing import Any

import anthropic
import pytest

import tracker
from tracker.demo._server import DemoServer

try:
    from anthropic._data import DEPRECATED_MODELS
except ImportError:  # pragma: no cover - older anthropic: the list lived elsewhere
    DEPRECATED_MODELS = {}

DEPRECATED = next(iter(DEPRECATED_MODELS), None)
pytestmark = pytest.mark.skipif(DEPRECATED is None, reason="this anthropic warns about no model")
MESSAGES = [{"role": "user", "content": "hello"}]


def _opts(server: DemoServer) -> dict[str, Any]:
    return {"api_key": "k", "base_url": server.anthropic_base_url, "max_retries": 0}


def _create(c: anthropic.Anthropic) -> Any:
    return c.messages.create(model=DEPRECATED, max_tokens=8, messages=MESSAGES)


def _create_stream(c: anthropic.Anthropic) -> Any:
    return list(c.messages.create(model=DEPRECATED, max_tokens=8, messages=MESSAGES, stream=True))


def _parse(c: anthropic.Anthropic) -> Any:
    return c.messages.parse(model=DEPRECATED, max_tokens=8, messages=MESSAGES)


def _stream(c: anthropic.Anthropic) -> Any:
    with c.messages.stream(model=DEPRECATED, max_tokens=8, messages=MESSAGES) as s:
        return s.get_final_message()


async def _acreate(c: anthropic.AsyncAnthropic) -> Any:
    return await c.messages.create(model=DEPRECATED, max_tokens=8, messages=MESSAGES)


async def _acreate_stream(c: anthropic.AsyncAnthropic) -> Any:
    stream = await c.messages.create(model=DEPRECATED, max_tokens=8, messages=MESSAGES,
                                     stream=True)
    return [e async for e in stream]


async def _astream(c: anthropic.AsyncAnthropic) -> Any:
    async with c.messages.stream(model=DEPRECATED, max_tokens=8, messages=MESSAGES) as s:
        return await s.get_final_message()


SYNC = {"create": _create, "create_stream": _create_stream, "parse": _parse, "stream": _stream}
ASYNC = {"create": _acreate, "create_stream": _acreate_stream, "stream": _astream}


def _where(server: DemoServer, shape: str, is_async: bool) -> list[tuple[str, int]]:
    """(file, line) of each DeprecationWarning the call raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if is_async:
            async def go() -> None:
                async with anthropic.AsyncAnthropic(**_opts(server)) as c:
                    await ASYNC[shape](c)
            asyncio.run(go())
        else:
            with anthropic.Anthropic(**_opts(server)) as c:
                SYNC[shape](c)
    return [(w.filename, w.lineno) for w in caught if issubclass(w.category, DeprecationWarning)]


@pytest.mark.parametrize(("shape", "is_async"),
                         [(s, False) for s in SYNC] + [(s, True) for s in ASYNC])
def test_deprecated_model_warning_lands_where_it_does_without_the_sdk(
        demo_server: DemoServer, configure_tracker: Callable[..., Any], shape: str,
        is_async: bool) -> None:
    bare = _where(demo_server, shape, is_async)
    assert bare  # the library warned
    otel = configure_tracker()
    tracker.instrument("anthropic")
    try:
        assert _where(demo_server, shape, is_async) == bare
    finally:
        tracker.uninstrument("anthropic")
    assert len(otel.call_spans()) == 1  # the call was recorded, through the SDK's wrapper


@pytest.mark.parametrize("function", [_create, _create_stream])
def test_the_warning_names_this_files_line(demo_server: DemoServer, configured: Any,
                                           function: Callable[..., Any]) -> None:
    tracker.instrument("anthropic")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with anthropic.Anthropic(**_opts(demo_server)) as c:
                function(c)
    finally:
        tracker.uninstrument("anthropic")
    (warning,) = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert (warning.filename, warning.lineno) == (__file__, function.__code__.co_firstlineno + 1)
    assert len(configured.call_spans()) == 1


def test_a_script_sees_the_warning_under_the_default_filters(demo_server: DemoServer,
                                                             tmp_path: Any) -> None:
    """Python shows a DeprecationWarning by default only when attributed to ``__main__``."""
    script = tmp_path / "app.py"
    ledger = tmp_path / "ledger.jsonl"
    script.write_text(textwrap.dedent(f"""\
        import anthropic, tracker
        tracker.configure(ledger={str(ledger)!r}, strict=True)
        c = anthropic.Anthropic(api_key="k", base_url={demo_server.anthropic_base_url!r},
                                max_retries=0)
        c.messages.create(model={DEPRECATED!r}, max_tokens=8, messages=[])
        """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env={**_env(), "PYTHONWARNINGS": ""})
    assert proc.returncode == 0, proc.stderr
    assert f"{script}:5: DeprecationWarning" in proc.stderr
    assert len(ledger.read_text().splitlines()) == 1  # recorded, through the SDK's wrapper


def _env() -> dict[str, str]:
    import os

    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "OTEL_"))}
    keep["PYTHONPATH"] = ":".join(p for p in sys.path if p)
    return keep

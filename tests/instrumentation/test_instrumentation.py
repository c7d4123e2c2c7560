"""instrument()/uninstrument(): registry, idempotence, thread safety, restoring the originals."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import threading
import types
from collections.abc import Iterator

import anthropic.resources.messages as amsg
import openai.resources.chat.completions as chat
import openai.resources.embeddings as emb
import pytest
import wrapt

import tracker
from tracker.instrumentation import _registry as instrumentation

TARGETS = [(chat.Completions, "create"), (chat.AsyncCompletions, "parse"),
           (emb.Embeddings, "create"), (amsg.Messages, "stream"), (amsg.AsyncMessages, "create")]


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    tracker.uninstrument()
    yield
    tracker.uninstrument()


def _installed() -> list[str]:
    """The integrations whose client library this environment has, less those turned off.

    Imports each (an unnamed `instrument()` patches only the libraries already imported).
    """
    found = []
    for name, module in instrumentation.INTEGRATIONS.items():
        try:
            importlib.import_module(module)
            importlib.import_module(instrumentation.LIBRARIES[name][0])
        except ImportError:  # IntegrationNotAvailable is an ImportError
            continue
        found.append(name)
    off = {n for name in found for n in instrumentation.DISABLES.get(name, ())}
    return sorted(set(found) - off)


def test_instrument_all_installed_then_restore_originals() -> None:
    """No names: every installed provider; uninstrument() puts the very same functions back."""
    originals = {(cls, name): vars(cls)[name] for cls, name in TARGETS}
    installed = _installed()
    assert tracker.instrument() == installed
    for cls, name in TARGETS:
        assert isinstance(vars(cls)[name], wrapt.FunctionWrapper)
    assert tracker.uninstrument() == []
    for cls, name in TARGETS:
        assert vars(cls)[name] is originals[(cls, name)]
        assert not isinstance(vars(cls)[name], wrapt.FunctionWrapper)


def test_idempotent_and_thread_safe() -> None:
    """Concurrent instrument() calls patch each method once."""
    installed = _installed()
    threads = [threading.Thread(target=tracker.instrument) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tracker.instrument("openai")
    wrapper = vars(chat.Completions)["create"]
    assert isinstance(wrapper, wrapt.FunctionWrapper)
    assert not isinstance(wrapper.__wrapped__, wrapt.FunctionWrapper)
    tracker.uninstrument("openai")
    tracker.uninstrument("openai")
    assert instrumentation.instrumented() == [n for n in installed if n != "openai"]


def test_named_provider_not_installed_raises_but_auto_skips(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicitly named missing integration raises IntegrationNotAvailable; auto skips it."""
    monkeypatch.setitem(instrumentation.INTEGRATIONS, "nosuch", "integrations.nosuch_module")
    with pytest.raises(tracker.IntegrationNotAvailable):
        tracker.instrument("nosuch")
    with pytest.raises(tracker.IntegrationNotAvailable):
        tracker.instrument("not-a-provider")
    assert "nosuch" not in tracker.instrument()


def test_disable_table_prevents_double_counting(monkeypatch: pytest.MonkeyPatch) -> None:
    """An integration listed as disabling openai turns it off and keeps it off."""
    calls: list[str] = []
    fake = types.ModuleType("fake_framework_integration")
    fake.instrument = lambda: calls.append("on")  # type: ignore[attr-defined]
    fake.uninstrument = lambda: calls.append("off")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_framework_integration", fake)
    monkeypatch.setitem(instrumentation.INTEGRATIONS, "framework", "fake_framework_integration")
    monkeypatch.setitem(instrumentation.DISABLES, "framework", frozenset({"openai"}))
    tracker.instrument("openai")
    assert tracker.instrument("framework") == ["framework"]
    assert not isinstance(vars(chat.Completions)["create"], wrapt.FunctionWrapper)
    assert tracker.instrument("openai") == ["framework"]
    tracker.uninstrument("framework")
    assert calls == ["on", "off"]


def test_heavy_frameworks_are_not_imported_by_an_unnamed_instrument() -> None:
    """configure() instruments LiteLLM and LangChain only if the application imported them."""
    code = ("import sys, tracker; tracker.configure(ledger=None); "
            "print(sorted(m for m in ('litellm', 'langchain_core') if m in sys.modules))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr

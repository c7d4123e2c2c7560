"""Text that must not leave the process.

- ``track_energy(functools.partial(ask, prompt))`` and callable objects: the span name, the
  ledger's ``function`` and the ``energy.function`` metric attribute come from the function's
  ``__qualname__`` or the object's type, never from a repr that shows the prompt.
- ``record_usage(api_key=..., access_token=..., auth=..., ...)`` drops credential-like keys, and
  keeps token counts such as ``cached_tokens``.
- A returned object whose ``usage`` property raises: the SDK's warning names the exception type
  and where it happened, never its message or traceback.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.trace import SpanKind

import tracker
from tracker import _attributes as A

PROMPT = "my-secret-prompt-7f3a: summarise the merger memo"
SECRET = "sk-canary-0123456789abcdef"


def _everything(otel: Any, ledger: Path | None = None) -> str:
    """Every span, log record, metric point and ledger line, as text."""
    parts = [json.dumps({"name": s.name, "attrs": dict(s.attributes or {})}, default=str)
             for s in otel.spans()]
    parts += [json.dumps(dict(r.attributes or {}), default=str) for r in otel.logs()]
    data = otel.metric_reader.get_metrics_data()
    if data is not None:
        parts.append(data.to_json())
    if ledger is not None and ledger.exists():
        parts.append(ledger.read_text())
    return "\n".join(parts)


def ask(prompt: str, *, model: str = "gpt-4o") -> str:
    tracker.record_usage(model, 100, 20, provider="openai")
    return "answer"


class Asker:
    """A callable object whose repr shows its state (here: a prompt)."""

    def __init__(self, prompt: str) -> None:
        self.prompt = prompt

    def __repr__(self) -> str:
        return f"Asker(prompt={self.prompt!r})"

    def __call__(self) -> str:
        tracker.record_usage("gpt-4o", 100, 20, provider="openai")
        return "answer"


class AsyncAsker(Asker):
    async def __call__(self) -> str:  # type: ignore[override]
        await asyncio.sleep(0)
        tracker.record_usage("gpt-4o", 100, 20, provider="openai")
        return "answer"


def _function_names(otel: Any, ledger: Path) -> tuple[list[str], list[Any], list[Any]]:
    scopes = [s.name for s in otel.spans() if s.kind == SpanKind.INTERNAL]
    rows = [json.loads(line)["function"] for line in ledger.read_text().splitlines()]
    metric = [p.attributes.get(A.ENERGY_FUNCTION) for p in otel.metric_points(A.METRIC_CONSUMPTION)]
    return scopes, rows, metric


@pytest.mark.parametrize("make", [
    pytest.param(lambda: functools.partial(ask, PROMPT), id="partial"),
    pytest.param(lambda: functools.partial(functools.partial(ask, PROMPT), model="gpt-4o"),
                 id="nested_partial"),
])
def test_partial_is_named_after_its_function(configure_tracker: Any, tmp_path: Path,
                                             make: Any) -> None:
    ledger = tmp_path / "ledger.jsonl"
    otel = configure_tracker(ledger=ledger)
    tracked = tracker.track_energy(make())
    assert tracked() == "answer"
    scopes, rows, metric = _function_names(otel, ledger)
    assert scopes == ["ask"] and rows == ["ask"] and metric == ["ask"]
    assert PROMPT not in _everything(otel, ledger)


def test_callable_object_is_named_after_its_type(configure_tracker: Any, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    otel = configure_tracker(ledger=ledger)
    tracked = tracker.track_energy(Asker(PROMPT))
    assert tracked() == "answer"
    scopes, rows, metric = _function_names(otel, ledger)
    assert scopes == ["Asker"] and rows == ["Asker"] and metric == ["Asker"]
    assert PROMPT not in _everything(otel, ledger)


def test_async_callable_object_gets_an_async_wrapper(configure_tracker: Any,
                                                     tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    otel = configure_tracker(ledger=ledger)
    tracked = tracker.track_energy(AsyncAsker(PROMPT))
    assert asyncio.run(tracked()) == "answer"
    (scope,) = [s for s in otel.spans() if s.kind == SpanKind.INTERNAL]
    assert scope.name == "AsyncAsker"
    assert scope.attributes[A.ENERGY_CALLS] == 1  # the call happened inside the scope
    assert PROMPT not in _everything(otel, ledger)


@pytest.mark.parametrize("key", ["api_key", "access_token", "auth", "token", "id_token",
                                 "bearer", "session", "session_id", "cookie", "x_api_key",
                                 "Authorization", "refresh_token", "client_secret", "password",
                                 "private_key", "signature"])
def test_credential_like_keys_are_dropped(configure_tracker: Any, tmp_path: Path,
                                          key: str) -> None:
    ledger = tmp_path / "ledger.jsonl"
    otel = configure_tracker(ledger=ledger)
    est = tracker.record_usage("gpt-4o", 10, 5, team="search", **{key: SECRET})
    assert est is not None
    text = _everything(otel, ledger)
    assert SECRET not in text
    (row,) = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert row["labels"] == {"team": "search"} and key not in row


def test_token_counts_are_kept(configure_tracker: Any, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    configure_tracker(ledger=ledger)
    tracker.record_usage("gpt-4o", 10, 5, cached_tokens=4, max_tokens=256)
    (row,) = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert row["labels"] == {"cached_tokens": 4, "max_tokens": 256}


class _Exploding:
    """A response-like object whose usage property raises with prompt text in its message."""

    model = "gpt-4o"

    @property
    def usage(self) -> Any:
        raise RuntimeError(f"cannot compute usage for prompt {PROMPT!r}")


def test_failing_usage_property_logs_only_the_type(configure_tracker: Any,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    configure_tracker(strict=False)

    @tracker.track_energy
    def handler() -> Any:
        return _Exploding()

    with caplog.at_level(logging.DEBUG, logger="tracker"):
        result = handler()
        handler()  # the second time is logged at DEBUG: also without the message
    assert isinstance(result, _Exploding)
    internal = [r for r in caplog.records if r.name == "tracker.internal"]
    assert internal, "the failure is reported"
    assert any(r.levelno == logging.WARNING for r in internal)
    for record in internal:
        assert record.exc_info is None and record.exc_text is None
        assert PROMPT not in record.getMessage()
        assert "RuntimeError" in record.getMessage()
    assert PROMPT not in caplog.text


def test_strict_mode_keeps_the_detail_for_the_sdks_own_tests(
        configure_tracker: Any, caplog: pytest.LogCaptureFixture) -> None:
    from tracker import _internal_errors

    configure_tracker(strict=True)
    with caplog.at_level(logging.WARNING, logger="tracker.internal"), \
            pytest.raises(RuntimeError, match="boom"):
        _internal_errors.report("test.site", RuntimeError("boom"))
    (record,) = [r for r in caplog.records if r.name == "tracker.internal"]
    assert record.exc_info is not None


def test_long_attribute_keys_are_dropped(configure_tracker: Any, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    otel = configure_tracker(ledger=ledger)
    tracker.record_usage("gpt-4o", 10, 5, **{PROMPT * 4: 1, "team": "search"})
    assert PROMPT not in _everything(otel, ledger)
    (row,) = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert row["labels"] == {"team": "search"}

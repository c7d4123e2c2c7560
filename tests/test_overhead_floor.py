"""The overhead benchmark's floor emits exactly what this SDK emits (so it can never drift).

`benchmarks.speed.overhead`'s "OTel SDK alone, our signals" worker replays, through the bare
OpenTelemetry SDK, the signals captured from one real instrumented call; this compares, for every
case (plain and streamed, sync and async), the span (name, kind, attribute names and types), the
log record (attribute names and types, body, event name, severity) and every metric point
(instrument, unit, bucket boundaries, attributes) of both workers, each run in its own process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("openai")
pytest.importorskip("httpx")

ROOT = Path(__file__).resolve().parents[1]


def _shapes(worker: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRACKER_LEDGER": "",
           "OTEL_SDK_DISABLED": "false"}
    done = subprocess.run([sys.executable, "-m", "benchmarks.speed.overhead", "--shapes", worker],
                          capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_the_floor_emits_what_the_sdk_emits() -> None:
    ours, floor = _shapes("ours"), _shapes("floor")
    assert set(ours) == {"plain sync", "plain async", "stream50 sync", "stream50 async"}
    for case, signals in ours.items():
        # Not vacuous: one span and one log record with this release's attributes, the
        # histogram points (the first chunk's on streams) and the energy counters.
        (span,) = signals["spans"]
        (log,) = signals["logs"]
        attributes = span[2]
        assert {"server.address", "server.port", "energy.kwh", "gen_ai.usage.input_tokens",
                "gen_ai.response.model"} <= set(attributes)
        assert log[0] == attributes
        metrics = {m[0] for m in signals["metrics"]}
        assert {"gen_ai.client.token.usage", "gen_ai.client.operation.duration",
                "energy.consumption"} <= metrics
        if case.startswith("stream"):
            assert attributes["gen_ai.request.stream"] == "bool"
            assert "gen_ai.response.time_to_first_chunk" in attributes
            assert "gen_ai.client.operation.time_to_first_chunk" in metrics
        assert floor[case] == signals, case

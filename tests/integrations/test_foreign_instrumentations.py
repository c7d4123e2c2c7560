"""Every maintained instrumentation's spans are priced exactly once, alone and beside the SDK.

The real packages drive the real ``openai`` / ``anthropic`` clients against the demo server, one
package per process (`tests.integrations._foreign_probe`): several of them patch the same client
methods or register the same ``opentelemetry_instrumentor`` entry point. Each run makes one plain
and one streamed call; the ledger must then hold exactly one line per call with the tokens the
server sent, priced from that package's spans when it is alone, and from the SDK's own
integration when both instrument the client. A package that is not installed is skipped (the
``interop`` extra installs them; tests/run_interop.sh adds OpenLIT without its dependencies,
whose declared bounds exclude the openai and anthropic releases the tests use).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: package -> (module that must be importable, the clients it instruments)
PACKAGES = {
    "otel-genai": ({"openai": "opentelemetry.instrumentation.genai.openai",
                    "anthropic": "opentelemetry.instrumentation.genai.anthropic"}),
    "openinference": {"openai": "openinference.instrumentation.openai"},
    "openllmetry": {"openai": "opentelemetry.instrumentation.openai"},
    "openlit": {"openai": "openlit"},
    "logfire": {"openai": "logfire", "anthropic": "logfire"},
}
CASES = [(package, client) for package, clients in PACKAGES.items() for client in clients]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.parametrize("with_sdk", [False, True], ids=["alone", "beside-sdk"])
@pytest.mark.parametrize("package,client", CASES, ids=[f"{p}-{c}" for p, c in CASES])
def test_priced_exactly_once(package: str, client: str, with_sdk: bool, tmp_path: Path) -> None:
    module = PACKAGES[package][client]
    if not _installed(module):
        pytest.skip(f"{module} is not installed (the `interop` extra)")
    ledger = tmp_path / "ledger.jsonl"
    run = subprocess.run(
        [sys.executable, "-W", "ignore", "-m", "tests.integrations._foreign_probe", package,
         client, "1" if with_sdk else "0", str(ledger)],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    served = result["served"]
    lines = [line for line in result["lines"] if line.get("event") == "energy.request"]
    assert len(served) == 2
    assert sorted((line["gen_ai.usage.input_tokens"], line["gen_ai.usage.output_tokens"])
                  for line in lines) == sorted(tuple(s) for s in served)
    sources = {line.get("energy.priced_from") for line in lines}
    if with_sdk:
        assert sources == {None}, "the SDK's own record wins; the package's spans are not priced"
        assert result["priced"] == 0
    else:
        assert None not in sources and len(sources) == 1
        assert result["priced"] == 2
    scopes = {span["scope"] for span in result["spans"]}
    assert sources <= scopes | {None}

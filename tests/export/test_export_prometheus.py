"""Prometheus: `configure(prometheus_port=...)` serves the metrics; a real Prometheus scrapes them.

The backend test starts Prometheus (Debian: ``apt-get install -y --no-install-recommends
prometheus``) on free ports, scraping an application subprocess every second, and reads the series
back through ``GET /api/v1/query``.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import _backends as backends
from tests._backends import free_port, get_json, stop, wait_listening
from tracker.exceptions import ConfigError
from tracker.export import _providers as exporters

ROOT = Path(__file__).resolve().parents[2]

# Three calls in two tracked functions; prints the estimates, then serves until stdin closes.
APP = textwrap.dedent("""
    import json, sys
    import tracker
    from tracker import record_usage, track_energy

    tracker.configure(instrument=False, ledger=None, prometheus_port=int(sys.argv[1]),
                      service_name="prom-test")
    calls = []

    @track_energy
    def summarize():
        calls.append(("summarize", record_usage("gpt-4o-mini", 1200, 300, provider="openai")))
        calls.append(("summarize", record_usage("gpt-4o-mini", 800, 100, provider="openai")))

    @track_energy
    def classify():
        calls.append(("classify", record_usage("gpt-4o-mini", 50, 5, provider="openai")))

    summarize()
    classify()
    print(json.dumps([[f, e.energy_kwh, e.gco2e, e.usd] for f, e in calls]), flush=True)
    sys.stdin.read()
    tracker.shutdown()
""")


@pytest.fixture
def app() -> Iterator[tuple[int, list[list[Any]]]]:
    """The application subprocess, serving metrics on a free port: (port, printed calls)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACKER_"))}
    proc = subprocess.Popen([sys.executable, "-c", APP, str(port)], env=env, cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        calls = json.loads(proc.stdout.readline())
        wait_listening(port, proc)
        yield port, calls
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(10)
        finally:
            stop(proc)
            if proc.stdout is not None:
                proc.stdout.close()


@pytest.fixture
def prometheus(app: tuple[int, list[list[Any]]], tmp_path: Path) -> Iterator[str]:
    """A real Prometheus scraping the app every second; yields its base URL."""
    with backends.prometheus(tmp_path, f"""
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        scrape_configs:
          - job_name: llm-app
            static_configs:
              - targets: ["127.0.0.1:{app[0]}"]
    """) as base:
        yield base


def query(base: str, promql: str) -> list[dict[str, Any]]:
    doc = get_json(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
    assert doc["status"] == "success", doc
    return doc["data"]["result"]  # type: ignore[no-any-return]


def wait_query(base: str, promql: str, want: int, timeout: float = 45) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        result = query(base, promql)
        if len(result) >= want or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def fill(expr: str) -> str:
    """A dashboard expression with Grafana's variables replaced."""
    for var, value in (("$__rate_interval", "10s"), ("$__range", "1h"), ("$job", ".*"),
                       ("$model", ".*"), ("$provider", ".*")):
        expr = expr.replace(var, value)
    return expr


@pytest.mark.backend
def test_prometheus_scrapes_the_energy_series(app: tuple[int, list[list[Any]]],
                                              prometheus: str) -> None:
    """Series names and values, read back from a real Prometheus."""
    _, calls = app
    result = wait_query(prometheus, "energy_consumption_kWh_total", want=2)
    assert len(result) == 2, result
    by_function = {r["metric"]["energy_function"]: r for r in result}
    assert set(by_function) == {"summarize", "classify"}
    for series in result:
        labels = series["metric"]
        assert labels["job"] == "llm-app"
        assert labels["gen_ai_provider_name"] == "openai"
        assert labels["gen_ai_request_model"] == "gpt-4o-mini"
        assert "energy_region" in labels
    for column, metric in ((1, "energy_consumption_kWh_total"),
                           (2, "energy_emissions_gCO2e_total"), (3, "energy_cost_USD_total")):
        rows = {r["metric"]["energy_function"]: float(r["value"][1])
                for r in wait_query(prometheus, metric, want=2)}
        for function in ("summarize", "classify"):
            want = math.fsum(c[column] for c in calls if c[0] == function)
            assert rows[function] == pytest.approx(want, rel=1e-9), (metric, function)

    tokens = query(prometheus, 'sum by (gen_ai_token_type) (gen_ai_client_token_usage_sum)')
    assert {r["metric"]["gen_ai_token_type"]: float(r["value"][1]) for r in tokens} == {
        "input": 2050.0, "output": 405.0}
    info = query(prometheus, "target_info")
    assert info and info[0]["metric"]["service_name"] == "prom-test"

    # Every query of the shipped Grafana dashboard runs and finds the series.
    dashboard = json.loads((ROOT / "examples" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    for expr in exprs:
        assert "$" not in fill(expr), expr
        assert wait_query(prometheus, fill(expr), want=1, timeout=20), expr
    energy_by_function = next(e for e in exprs if "by (energy_function) (increase" in e)
    ranked = query(prometheus, fill(energy_by_function))
    assert {r["metric"]["energy_function"] for r in ranked} == {"summarize", "classify"}
    jobs = get_json(f"{prometheus}/api/v1/label/job/values?match[]=energy_consumption_kWh_total")
    assert jobs["data"] == ["llm-app"]


# ----------------------------------------------------------------------------- unit tests
def test_prometheus_port_zero_serves_metrics_on_loopback() -> None:
    owned = exporters.build_providers(prometheus_port=0, env={})
    assert owned is not None and owned.meter_provider is not None
    assert owned.tracer_provider is None and owned.logger_provider is None
    try:
        host, port = owned.prometheus_address or ("", 0)
        assert host == "127.0.0.1" and port > 0
        counter = owned.meter_provider.get_meter("t").create_counter("energy.consumption",
                                                                     unit="kWh")
        counter.add(0.25, {"gen_ai.request.model": "m"})
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        line = next(x for x in text.splitlines() if x.startswith("energy_consumption_kWh_total{"))
        assert 'gen_ai_request_model="m"' in line and line.endswith(" 0.25")
    finally:
        owned.shutdown(timeout_s=2)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()


def test_port_in_use_raises_naming_the_field() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match="prometheus_port") as err:
            exporters.build_providers(prometheus_port=port, env={})
    assert err.value.field == "prometheus_port"


@pytest.mark.parametrize("bad", [-1, 70000, "9464", True, 9464.0])
def test_bad_port_raises_naming_the_field(bad: Any) -> None:
    with pytest.raises(ConfigError) as err:
        exporters.build_providers(prometheus_port=bad, env={})
    assert err.value.field == "prometheus_port"


def test_missing_extra_says_which(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.prometheus", None)
    with pytest.raises(ConfigError, match=r"llm-energy-tracker\[prometheus\]") as err:
        exporters.build_providers(prometheus_port=0, env={})
    assert err.value.field == "prometheus_port"

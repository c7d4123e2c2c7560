"""OTLP export: providers built from the environment or code, checked against a real collector.

The backend tests start rotel (a real OpenTelemetry collector, ``pip install rotel==0.0.1a15``)
with its debug exporter and parse what it prints. Each scenario runs a small application in a
subprocess configured only through ``OTEL_*`` environment variables, so the variables are read
exactly as in production. The collector-down tests point the application at a closed port and at
a port that accepts connections but never answers.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._backends import free_port
from tests._rotel import Received, Rotel, app_env
from tracker.exceptions import ConfigError
from tracker.export import _providers as exporters
from tracker.export._otlp_env import OTLP_ENDPOINT_ENV, otlp_endpoint_in_env

ROOT = Path(__file__).resolve().parents[2]
#: Exit-time promise of the README (collector down).
EXIT_BOUND_S = 8.0

# The application: two calls inside a tracked function, estimates printed as JSON.
APP = textwrap.dedent("""
    import json, sys, time
    import tracker
    from tracker import record_usage, track_energy

    tracker.configure(instrument=False, ledger=None, labels={"team": "search"})
    estimates = []

    @track_energy
    def answer():
        estimates.append(record_usage("gpt-4o-mini", 1200, 300, provider="openai"))
        estimates.append(record_usage("gpt-4o-mini", 800, 100, provider="openai"))

    answer()
    print(json.dumps([e.energy_kwh for e in estimates]))
    if "--no-shutdown" not in sys.argv:
        tracker.shutdown()
""")


def run_app(env: dict[str, str], *args: str, script: str = APP,
            timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script, *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)
    return proc, time.monotonic() - started


def complete(got: Received) -> bool:
    return (len(got.spans) >= 3 and len(got.logs) >= 2
            and "energy.consumption" in got.metrics and "energy.cost" in got.metrics)


# ----------------------------------------------------------------------------- backend tests
@pytest.mark.backend
@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_env_only_config_sends_spans_logs_and_metrics(rotel: Rotel, protocol: str) -> None:
    """Only OTEL_* variables: the collector gets call spans, the scope span, logs and metrics."""
    service = f"svc-{uuid.uuid4().hex[:8]}"
    port = rotel.grpc_port if protocol == "grpc" else rotel.http_port
    proc, _ = run_app(app_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}",
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol, OTEL_SERVICE_NAME=service,
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment=ci,service.version=9.9"))
    assert proc.returncode == 0, proc.stderr
    kwh = json.loads(proc.stdout)
    got = rotel.wait_for(service, complete)

    assert got.resource["deployment.environment"] == "ci"
    assert got.resource["service.version"] == "9.9"
    calls = [s for s in got.spans if s.fields["Kind"] == "SPAN_KIND_CLIENT"]
    assert [s.fields["Name"] for s in calls] == ["chat gpt-4o-mini"] * 2
    assert [s.attributes["energy.kwh"] for s in calls] == pytest.approx(kwh, rel=1e-12)
    for span in calls:
        for key in ("energy.gco2e", "energy.usd", "energy.water_l", "energy.kwh_min",
                    "energy.kwh_max"):
            assert span.attributes[key] > 0
        assert span.attributes["gen_ai.provider.name"] == "openai"
        assert span.attributes["team"] == "search"
    assert [s.attributes["gen_ai.usage.input_tokens"] for s in calls] == [1200, 800]
    scope = next(s for s in got.spans if s.fields["Name"] == "answer")
    assert scope.attributes["energy.calls"] == 2
    assert scope.attributes["energy.kwh"] == pytest.approx(sum(kwh), rel=1e-12)
    assert all(s.fields["Parent ID"] == scope.fields["ID"] for s in calls)

    assert {r.fields["EventName"] for r in got.logs} == {"energy.request"}
    assert sorted(r.attributes["energy.kwh"] for r in got.logs) == pytest.approx(sorted(kwh))
    assert {r.fields["Span ID"] for r in got.logs} == {s.fields["ID"] for s in calls}

    energy = got.metrics["energy.consumption"]
    assert energy.fields["Unit"] == "kWh"
    (point,) = energy.points
    assert point["value"] == pytest.approx(sum(kwh), rel=1e-12)
    assert point["attributes"] == {"gen_ai.provider.name": "openai",
                                   "gen_ai.request.model": "gpt-4o-mini",
                                   "energy.region": calls[0].attributes["energy.region"],
                                   "energy.function": "answer"}
    assert got.metrics["energy.emissions"].points[0]["value"] == pytest.approx(
        sum(s.attributes["energy.gco2e"] for s in calls), rel=1e-12)
    assert "gen_ai.client.token.usage" in got.metrics


@pytest.mark.backend
def test_per_signal_endpoint_exports_only_that_signal(rotel: Rotel) -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    proc, _ = run_app(app_env(
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"http://127.0.0.1:{rotel.http_port}/v1/traces",
        OTEL_SERVICE_NAME=service))
    assert proc.returncode == 0, proc.stderr
    got = rotel.wait_for(service, lambda g: len(g.spans) >= 3)
    assert len(got.spans) == 3
    time.sleep(0.5)  # rotel batches about 200 ms: anything else sent would be here by now
    got = rotel.received(service)
    assert got.logs == [] and got.metrics == {}


@pytest.mark.backend
def test_interpreter_exit_flushes_without_shutdown(rotel: Rotel) -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    proc, _ = run_app(app_env(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{rotel.http_port}",
                              OTEL_SERVICE_NAME=service), "--no-shutdown")
    assert proc.returncode == 0, proc.stderr
    assert complete(rotel.wait_for(service, complete))


@pytest.mark.backend
def test_endpoint_in_code(rotel: Rotel) -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    script = APP.replace(
        "tracker.configure(instrument=False,",
        f"tracker.configure(otlp_endpoint='127.0.0.1:{rotel.grpc_port}', protocol='grpc', "
        f"service_name={service!r}, instrument=False,")
    proc, _ = run_app(app_env(OTEL_SERVICE_NAME="not-this-one"), script=script)
    assert proc.returncode == 0, proc.stderr
    got = rotel.wait_for(service, complete)
    assert complete(got)
    assert got.resource["service.name"] == service


@pytest.mark.backend
def test_application_providers_are_used_and_nothing_is_added(rotel: Rotel) -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    script = textwrap.dedent("""
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
    """) + APP + "\nprint(len(exporter.get_finished_spans()))\n"
    proc, _ = run_app(app_env(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{rotel.http_port}",
                              OTEL_SERVICE_NAME=service), script=script)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) == 3  # the application's provider got the spans
    time.sleep(1.0)
    got = rotel.received(service)
    assert got.spans == [] and got.logs == [] and got.metrics == {}


# ----------------------------------------------------------------------------- collector down
class SilentServer:
    """Accepts TCP connections and never answers (a hung collector)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.conns: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:  # timeout: check the stop flag
                continue
            self.conns.append(conn)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    server = SilentServer()
    yield server.port
    server.close()


def closed_port() -> int:
    return free_port()  # bound then released: nothing listens there


DOWN_APP = textwrap.dedent("""
    import json, resource, time
    import tracker
    from tracker import record_usage
    tracker.configure(instrument=False, ledger=None)
    record_usage("gpt-4o-mini", 10, 10, provider="openai")  # warm caches
    times = []
    for i in range(3000):
        t0 = time.perf_counter()
        record_usage("gpt-4o-mini", 100 + i, 50, provider="openai")
        times.append(time.perf_counter() - t0)
    times.sort()
    def rss_mb():  # current resident memory (ru_maxrss can carry the forking parent's peak)
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"median_ms": times[len(times) // 2] * 1e3,
                      "mean_ms": sum(times) / len(times) * 1e3, "rss_mb": rss_mb()}))
""")


@pytest.mark.backend
@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
@pytest.mark.parametrize("down", ["closed", "silent"])
def test_collector_down_costs_nothing_and_exit_is_bounded(silent_port: int, protocol: str,
                                                          down: str) -> None:
    port = silent_port if down == "silent" else closed_port()
    env = app_env(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}",
                  OTEL_EXPORTER_OTLP_PROTOCOL=protocol, OTEL_BSP_SCHEDULE_DELAY="100",
                  OTEL_BLRP_SCHEDULE_DELAY="100")
    proc, elapsed = run_app(env, script=DOWN_APP, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    stats = json.loads(proc.stdout)
    # A call that waited on the export would take the exporter's timeout (seconds); a bound far
    # below that and far above a busy machine's scheduling noise tells the two apart.
    assert stats["median_ms"] < 25.0, stats
    assert stats["rss_mb"] < 300, stats
    # The whole process (start-up, 3,000 calls, exit with three unsendable signals) is bounded.
    assert elapsed < EXIT_BOUND_S, (elapsed, proc.stderr[-2000:])


# ----------------------------------------------------------------------------- unit tests
def test_nothing_is_built_without_an_endpoint() -> None:
    assert exporters.build_providers(env={}) is None


def test_the_cheap_environment_check_agrees_with_the_providers() -> None:
    """`configure()` loads the export code only when `otlp_endpoint_in_env` says so: every
    variable that makes `build_providers` export a signal is one it reads."""
    others = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_HEADERS": "a=b",
              "OTEL_SERVICE_NAME": "svc", "OTEL_TRACES_EXPORTER": "otlp",
              "OTEL_EXPORTER_OTLP_ENDPOINT": "  "}
    assert not otlp_endpoint_in_env(others)
    assert exporters._signals_from_env(others) == []
    for name in OTLP_ENDPOINT_ENV:
        env = {name: "http://127.0.0.1:1"}
        assert otlp_endpoint_in_env(env)
        assert exporters._signals_from_env(env), name
    general = [n for n in OTLP_ENDPOINT_ENV if n.count("_") == 3]
    per_signal = {n.split("_")[3].lower() for n in OTLP_ENDPOINT_ENV if n.count("_") == 4}
    assert general == ["OTEL_EXPORTER_OTLP_ENDPOINT"] and per_signal == set(exporters.SIGNALS)


def test_configure_without_anything_to_export_loads_no_export_code(tmp_path: Path) -> None:
    code = ("import sys, tracker; tracker.configure(instrument=False); "
            "print('tracker.export._providers' in sys.modules)")
    env = app_env(PYTHONPATH=str(ROOT))
    for extra, loaded in (({}, "False"), ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":
                                           "http://127.0.0.1:1/v1/traces"}, "True")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env={**env, **extra}, cwd=tmp_path)
        assert out.stdout.strip() == loaded, extra


def test_per_signal_variables_and_none_select_signals() -> None:
    env = {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://127.0.0.1:1/v1/logs"}
    owned = exporters.build_providers(env=env)
    assert owned is not None
    try:
        assert owned.logger_provider is not None
        assert owned.tracer_provider is None and owned.meter_provider is None
    finally:
        owned.shutdown(timeout_s=1)
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_METRICS_EXPORTER": "none"}
    owned = exporters.build_providers(env=env)
    assert owned is not None
    try:
        assert owned.meter_provider is None
        assert owned.tracer_provider is not None and owned.logger_provider is not None
        assert owned.description == "otlp http/protobuf: traces, logs"
    finally:
        owned.shutdown(timeout_s=1)


def test_service_name_argument_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=platform")
    owned = exporters.build_providers(otlp_endpoint="http://127.0.0.1:1", service_name="mine")
    assert owned is not None and owned.tracer_provider is not None
    try:
        attrs = owned.tracer_provider.resource.attributes
        assert attrs["service.name"] == "mine"
        assert attrs["team"] == "platform"
    finally:
        owned.shutdown(timeout_s=1)


def test_bad_code_arguments_raise_naming_the_field() -> None:
    with pytest.raises(ConfigError, match="protocol") as err:
        exporters.build_providers(otlp_endpoint="http://localhost:4318", protocol="http/json")
    assert err.value.field == "protocol"
    with pytest.raises(ConfigError) as err:
        exporters.build_providers(otlp_endpoint="  ")
    assert err.value.field == "otlp_endpoint"


def test_bad_environment_warns_and_exports_nothing(caplog: pytest.LogCaptureFixture) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
           "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"}
    with caplog.at_level(logging.WARNING, logger="tracker.export._providers"):
        assert exporters.build_providers(env=env) is None
    assert "OTEL_EXPORTER_OTLP_PROTOCOL" in caplog.text and "carrier-pigeon" in caplog.text


def test_missing_grpc_extra(monkeypatch: pytest.MonkeyPatch,
                            caplog: pytest.LogCaptureFixture) -> None:
    for signal in ("trace_exporter", "metric_exporter", "_log_exporter"):
        monkeypatch.setitem(sys.modules, f"opentelemetry.exporter.otlp.proto.grpc.{signal}", None)
    with pytest.raises(ConfigError, match=r"\[grpc\]") as err:
        exporters.build_providers(otlp_endpoint="127.0.0.1:4317", protocol="grpc")
    assert err.value.field == "protocol"
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
           "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    with caplog.at_level(logging.WARNING, logger="tracker.export._providers"):
        assert exporters.build_providers(env=env) is None
    assert "llm-energy-tracker[grpc]" in caplog.text


def test_shutdown_is_bounded_and_idempotent(silent_port: int) -> None:
    owned = exporters.build_providers(otlp_endpoint=f"http://127.0.0.1:{silent_port}",
                                      env={"OTEL_EXPORTER_OTLP_TIMEOUT": "30"})
    assert owned is not None and owned.tracer_provider is not None
    tracer = owned.tracer_provider.get_tracer("t")
    for _ in range(100):
        tracer.start_span("s").end()
    started = time.monotonic()
    owned.shutdown(timeout_s=1.0)
    assert time.monotonic() - started < 2.0
    started = time.monotonic()
    assert owned.shutdown() is True
    assert time.monotonic() - started < 0.1


def test_app_has_providers_detects_a_global_provider() -> None:
    script = textwrap.dedent("""
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from tracker.export._providers import app_has_providers
        before = app_has_providers()
        trace.set_tracer_provider(TracerProvider())
        print(before, app_has_providers())
    """)
    proc, _ = run_app(app_env(), script=script)
    assert proc.stdout.split() == ["False", "True"], proc.stderr

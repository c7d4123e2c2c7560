"""Budgets: exceeded exactly once per period under concurrency, with the span event, WARNING log
records, utilisation gauge and callback; opt-in raising; the Prometheus alerting rule firing in a
real Prometheus on the exported counters."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import tracker
from tests import _backends as backends
from tests._backends import free_port, get_json, stop
from tracker import _attributes as A
from tracker import record_usage, track_energy
from tracker.exceptions import BudgetExceeded, ConfigError
from tracker.export import _telemetry
from tracker.reduce._budgets import (
    Budget,
    BudgetEvent,
    budgets_option,
    check_before_call,
    parse_budgets,
    set_budgets,
)

MODEL = "gpt-4o-mini"
EVENT = "energy.budget.exceeded"


@pytest.fixture(autouse=True)
def _no_budgets() -> Iterator[None]:
    set_budgets(None)
    yield
    set_budgets(None)


@pytest.fixture
def otel(configure_tracker: Callable[..., Any]) -> Any:
    return configure_tracker()


def per_call_gco2e() -> float:
    """What one tracked call of the tests' shape emits (priced as the configuration says)."""
    est = record_usage(MODEL, 800, 200)
    assert est is not None
    return est.gco2e


def budget_logs(otel: Any) -> list[Any]:
    return [r for r in otel.logs() if getattr(r, "event_name", None) == EVENT]


def utilization(otel: Any, key: str) -> float:
    points = [p for p in otel.metric_points("energy.budget.utilization")
              if p.attributes.get(A.ENERGY_BUDGET_KEY) == key]
    assert len(points) == 1, points
    return float(points[0].value)


# ----------------------------------------------------------------------------- block budgets


def test_block_budget_emits_event_log_gauge_and_callback_once(
        otel: Any, caplog: pytest.LogCaptureFixture) -> None:
    g = per_call_gco2e()
    seen: list[BudgetEvent] = []

    @track_energy(budget_gco2e=g * 2.5, on_exceed=seen.append)
    def job() -> None:
        for _ in range(5):
            record_usage(MODEL, 800, 200)

    with caplog.at_level(logging.WARNING, "tracker.budgets"):
        job()
    assert len(seen) == 1
    event = seen[0]
    key = job.__qualname__
    assert (event.key, event.period, event.unit) == (key, "scope", "gCO2e")
    assert event.limit == pytest.approx(g * 2.5) and event.spent == pytest.approx(g * 3)
    span = otel.span(key)
    events = [e for e in span.events if e.name == EVENT]
    assert len(events) == 1
    attrs = dict(events[0].attributes)
    assert attrs == {A.ENERGY_BUDGET_KEY: key, A.ENERGY_BUDGET_PERIOD: "scope",
                     A.ENERGY_BUDGET_UNIT: "gCO2e",
                     A.ENERGY_BUDGET_LIMIT: pytest.approx(g * 2.5),
                     A.ENERGY_BUDGET_SPENT: pytest.approx(g * 3)}
    logs = budget_logs(otel)
    assert len(logs) == 1
    assert logs[0].severity_text == "WARN" and dict(logs[0].attributes) == attrs
    assert logs[0].span_id == span.context.span_id
    warnings = [r for r in caplog.records if r.name == "tracker.budgets"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert utilization(otel, key) == pytest.approx(5 / 2.5)


def test_each_unit_and_each_run_has_its_own_budget(otel: Any) -> None:
    e = record_usage(MODEL, 800, 200)
    assert e is not None
    seen: list[BudgetEvent] = []
    block = track_energy("batch", budget_kwh=e.energy_kwh * 1.5, budget_usd=e.usd * 10,
                         on_exceed=seen.append)
    for _ in range(2):
        with block:
            record_usage(MODEL, 800, 200)
            record_usage(MODEL, 800, 200)
    assert [(s.key, s.unit) for s in seen] == [("batch", "kWh"), ("batch", "kWh")]


def test_threads_spending_one_block_exceed_it_once(otel: Any) -> None:
    g = per_call_gco2e()
    seen: list[BudgetEvent] = []
    threads, calls = 8, 25
    with track_energy("shared", budget_gco2e=g * 100.5, on_exceed=seen.append) as scope:
        barrier = threading.Barrier(threads)

        def work() -> None:
            barrier.wait()
            for _ in range(calls):
                record_usage(MODEL, 800, 200)

        workers = [threading.Thread(target=contextvars.copy_context().run, args=(work,))
                   for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    assert scope.calls == threads * calls
    assert len(seen) == 1 and seen[0].spent > seen[0].limit
    assert len([e for e in otel.span("shared").events if e.name == EVENT]) == 1
    assert len(budget_logs(otel)) == 1


# ----------------------------------------------------------------------------- configuration


def test_threads_spending_one_label_budget_exceed_it_exactly_once(otel: Any) -> None:
    g = per_call_gco2e()
    seen: list[BudgetEvent] = []
    set_budgets([Budget(g * 100.5, "gCO2e", "day", label="team", value="search",
                        on_exceed=seen.append)])
    threads, calls = 8, 40
    barrier = threading.Barrier(threads)

    def work() -> None:
        barrier.wait()
        for _ in range(calls):
            record_usage(MODEL, 800, 200, team="search")
            record_usage(MODEL, 800, 200, team="ads")  # another team: not this budget

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(seen) == 1
    assert seen[0].key == "team=search" and seen[0].period == "day"
    assert len(budget_logs(otel)) == 1
    assert utilization(otel, "team=search") == pytest.approx(threads * calls / 100.5)


def test_tasks_spending_one_label_budget_exceed_it_exactly_once(otel: Any) -> None:
    g = per_call_gco2e()
    seen: list[BudgetEvent] = []
    set_budgets([Budget(g * 30.5, "gCO2e", "hour", label="tenant", on_exceed=seen.append)])

    async def task(i: int) -> None:
        async with track_energy("request", labels={"tenant": "acme"}):
            for _ in range(3):
                await asyncio.sleep(0)
                record_usage(MODEL, 800, 200)

    async def run() -> None:
        await asyncio.gather(*(task(i) for i in range(40)))

    asyncio.run(run())
    assert [(s.key, s.period) for s in seen] == [("tenant=acme", "hour")]
    events = [e for s in otel.spans() for e in s.events if e.name == EVENT]
    assert len(events) == 1  # on the span current when the crossing call began
    assert len(budget_logs(otel)) == 1


def test_a_new_period_starts_a_new_budget(otel: Any) -> None:
    g = per_call_gco2e()
    now = [datetime(2026, 5, 31, 23, 10, tzinfo=timezone.utc)]
    seen: list[BudgetEvent] = []
    set_budgets([Budget(g * 2.5, "gCO2e", "day", on_exceed=seen.append)], clock=lambda: now[0])
    for _ in range(6):
        record_usage(MODEL, 800, 200)
    assert len(seen) == 1 and seen[0].key == "all"
    now[0] += timedelta(minutes=55)  # past midnight: June 1st
    record_usage(MODEL, 800, 200)
    record_usage(MODEL, 800, 200)
    assert len(seen) == 1
    record_usage(MODEL, 800, 200)
    assert len(seen) == 2 and seen[1].spent == pytest.approx(g * 3)


def test_each_label_value_has_its_own_budget(otel: Any) -> None:
    g = per_call_gco2e()
    seen: list[BudgetEvent] = []
    set_budgets([Budget(g * 1.5, "gCO2e", "month", label="team", on_exceed=seen.append)])
    for team in ("a", "b", "a", "b", "c", "a"):
        record_usage(MODEL, 800, 200, team=team)
    assert sorted(s.key for s in seen) == ["team=a", "team=b"]


def test_a_failing_callback_never_reaches_the_application(otel: Any) -> None:
    def broken(event: BudgetEvent) -> None:
        raise RuntimeError("callback bug")

    tracker.configure(strict=False, instrument=False, ledger=None, **otel.providers())
    set_budgets([Budget(1e-12, "kWh", "day", on_exceed=broken)])
    assert record_usage(MODEL, 800, 200) is not None


# ----------------------------------------------------------------------------- raising


def test_raise_is_opt_in_and_comes_before_the_next_call(otel: Any) -> None:
    g = per_call_gco2e()
    set_budgets([Budget(g * 1.5, "gCO2e", "day", label="team", value="search",
                        on_exceed="raise"),
                 Budget(g * 0.5, "gCO2e", "day", label="team", value="ads")])
    check_before_call({"team": "search"})
    record_usage(MODEL, 800, 200, team="search")
    check_before_call({"team": "search"})  # spent 1 of 1.5: the next call may go
    record_usage(MODEL, 800, 200, team="search")
    with pytest.raises(BudgetExceeded) as info:
        check_before_call({"team": "search"})
    err = info.value
    assert isinstance(err, tracker.exceptions.TrackerError)
    assert (err.key, err.period, err.unit) == ("team=search", "day", "gCO2e")
    assert err.spent == pytest.approx(2 * g) and err.limit == pytest.approx(1.5 * g)
    for _ in range(3):  # the default never raises, however far over
        record_usage(MODEL, 800, 200, team="ads")
    check_before_call({"team": "ads"})
    check_before_call({"team": "other"})


def test_block_raise_applies_inside_the_block_only(otel: Any) -> None:
    g = per_call_gco2e()
    with track_energy("capped", budget_gco2e=g * 0.5, on_exceed="raise"):
        check_before_call()
        record_usage(MODEL, 800, 200)
        with pytest.raises(BudgetExceeded, match="capped"):
            check_before_call()
        with track_energy("inner"), pytest.raises(BudgetExceeded):
            check_before_call()
    check_before_call()


def test_the_next_tracked_call_raises(otel: Any) -> None:
    g = per_call_gco2e()
    with track_energy("capped", budget_gco2e=g * 0.5, on_exceed="raise"):
        record_usage(MODEL, 800, 200)
        with pytest.raises(BudgetExceeded):
            record_usage(MODEL, 800, 200)


# ----------------------------------------------------------------------------- specs


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"budget_gco2e": -1}, "budget_gco2e"), ({"budget_kwh": "lots"}, "budget_kwh"),
    ({"budget_usd": float("inf")}, "budget_usd"), ({"budget_gco2e": 1, "on_exceed": "stop"},
                                                   "on_exceed"),
    ({"on_exceed": "raise"}, "on_exceed"),
])
def test_bad_block_budgets_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        track_energy("x", **kwargs)
    assert info.value.field == field


@pytest.mark.parametrize("kwargs", [
    {"limit": 0}, {"limit": 1, "unit": "kg"}, {"limit": 1, "period": "week"},
    {"limit": 1, "value": "search"}, {"limit": 1, "on_exceed": 3},
])
def test_bad_configuration_budgets_name_the_field(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as info:
        set_budgets([kwargs])
    assert info.value.field == "budgets"


def test_budgets_read_from_text() -> None:
    assert parse_budgets("team=search:500gCO2e/day, tenant=*:2kwh/month,10USD/hour!raise") == [
        Budget(500, "gCO2e", "day", label="team", value="search"),
        Budget(2, "kWh", "month", label="tenant"),
        Budget(10, "USD", "hour", on_exceed="raise"),
    ]
    with pytest.raises(ConfigError, match="TRACKER_BUDGETS"):
        parse_budgets("500 per day", field="TRACKER_BUDGETS")


def test_the_configuration_option_reads_specs_mappings_and_text() -> None:
    spec = Budget(1, "gCO2e", "day", label="team", value="a")
    assert budgets_option("budgets", None) == () == budgets_option("budgets", "")
    assert budgets_option("budgets", "team=a:1gCO2e/day") == (spec,)
    assert budgets_option("budgets", [{"limit": 1, "label": "team", "value": "a"}]) == (spec,)
    assert budgets_option("budgets", spec) == (spec,)
    assert set_budgets("team=a:1gCO2e/day") == [spec]
    for bad in (42, [object()], [{"limit": 1, "colour": "red"}], [{"limit": -1}]):
        with pytest.raises(ConfigError) as info:
            budgets_option("budgets", bad)
        assert info.value.field == "budgets"


def test_raise_hook_is_installed_only_once_a_raise_budget_is_crossed(otel: Any) -> None:
    from tracker.recording import _calls

    g = per_call_gco2e()
    assert _calls.before_call is None
    set_budgets([Budget(g * 0.5, "gCO2e", "day")])  # the default: never raises
    record_usage(MODEL, 800, 200)
    assert _calls.before_call is None
    set_budgets([Budget(g * 0.5, "gCO2e", "day", on_exceed="raise")])
    assert _calls.before_call is None
    record_usage(MODEL, 800, 200)
    assert _calls.before_call is check_before_call
    set_budgets(None)
    assert _calls.before_call is None


def test_no_budget_costs_one_check(otel: Any) -> None:
    assert _telemetry.spend_hook is None
    set_budgets([Budget(1.0)])
    assert _telemetry.spend_hook is not None
    set_budgets([])
    assert _telemetry.spend_hook is None
    with track_energy("plain") as scope:
        record_usage(MODEL, 800, 200)
    assert scope._budget is None
    assert otel.metric_points("energy.budget.utilization") == []


# ----------------------------------------------------------------------------- Prometheus


ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "examples" / "prometheus-budget-alerts.yml"
CARBON_RULE = re.compile(r"(increase\(energy_emissions_gCO2e_total\[1d\]\)\)) > [0-9.]+")

# Serves its metrics; one call at start (prints its gCO2e), then BURST calls per "burst" line.
APP = textwrap.dedent("""
    import json, sys
    import tracker
    from tracker import record_usage

    tracker.configure(instrument=False, ledger=None, prometheus_port=int(sys.argv[1]),
                      service_name="budget-app")
    burst = int(sys.argv[2])
    first = record_usage("gpt-4o-mini", 800, 200, provider="openai")
    print(json.dumps(first.gco2e), flush=True)
    for line in sys.stdin:
        if line.strip() == "burst":
            for _ in range(burst):
                record_usage("gpt-4o-mini", 800, 200, provider="openai")
            print("done", flush=True)
    tracker.shutdown()
""")


def _wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = predicate()
        except OSError:
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


class _App:
    def __init__(self, burst: int) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACKER_"))}
        self.proc = subprocess.Popen([sys.executable, "-c", APP, str(self.port), str(burst)],
                                     env=env, cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.gco2e = float(json.loads(self.proc.stdout.readline()))

    def burst(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("burst\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "done"

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(10)
        finally:
            stop(self.proc)
            if self.proc.stdout is not None:
                self.proc.stdout.close()


def _firing(base: str) -> dict[str, str]:
    """team -> state of the carbon alert."""
    alerts = get_json(f"{base}/api/v1/alerts")["data"]["alerts"]
    return {a["labels"].get("team", ""): a["state"] for a in alerts
            if a["labels"]["alertname"] == "LLMCarbonBudgetExceeded"}


@pytest.mark.backend
def test_alerting_rule_fires_across_processes_in_a_real_prometheus(tmp_path: Path) -> None:
    """Two processes of team=search each spend under the limit, together over: the rule fires
    for search only (team=ads spends little), and not before the second process spends."""
    burst = 20
    apps = [_App(burst) for _ in range(3)]  # search, search, ads
    try:
        spent = burst * apps[0].gco2e
        limit = 1.5 * spent  # one process's burst is under it, two are over
        rules = tmp_path / "rules.yml"
        text, n = CARBON_RULE.subn(rf"\1 > {limit!r}", RULES.read_text())
        assert n == 1
        rules.write_text(text)
        with backends.prometheus(tmp_path, f"""
            global: {{scrape_interval: 1s, evaluation_interval: 1s}}
            rule_files: ["{rules}"]
            scrape_configs:
              - job_name: llm-app
                static_configs:
                  - targets: ["127.0.0.1:{apps[0].port}", "127.0.0.1:{apps[1].port}"]
                    labels: {{team: search}}
                  - targets: ["127.0.0.1:{apps[2].port}"]
                    labels: {{team: ads}}
        """) as base:
            query = f"{base}/api/v1/query?" + urllib.parse.urlencode(
                {"query": "count(energy_emissions_gCO2e_total) >= 3"})
            _wait_until(lambda: get_json(query)["data"]["result"], 60, "three scraped series")
            time.sleep(2)  # a few samples before the spending starts
            apps[0].burst()
            apps[2].burst()
            time.sleep(4)  # several evaluations: one process of search is under the limit
            assert _firing(base).get("search") != "firing"
            apps[1].burst()
            states = _wait_until(lambda: _firing(base).get("search") == "firing" and _firing(base),
                                 30, "the carbon alert for team=search")
            assert states.get("ads") != "firing"
            alert = next(a for a in get_json(f"{base}/api/v1/alerts")["data"]["alerts"]
                         if a["labels"].get("team") == "search")
            assert alert["labels"]["energy_budget_unit"] == "gCO2e"
            assert float(alert["value"]) > limit
    finally:
        for app in apps:
            app.close()

"""The attribution arithmetic on recorded interval sequences: exact sums, no negative share."""

from __future__ import annotations

import math
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.measure import MEASURED, Attribution, RequestSpan, split


def test_one_request_alone_takes_every_interval_it_spans_and_idle_is_apart() -> None:
    a = Attribution()
    a.add_interval(0.0, 1.0, 50.0)  # nobody in flight: idle
    a.begin("r", 1.5)
    a.add_interval(1.0, 2.0, 100.0)
    a.add_interval(2.0, 3.0, 300.0)
    got = a.end("r", 3.0, 10, 20)
    assert got.status == MEASURED
    assert got.joules == pytest.approx(400.0)
    assert got.kwh == pytest.approx(400.0 / 3.6e6)
    assert a.idle_j == 50.0
    assert a.snapshot()["pending"] == 0.0


def test_concurrent_requests_split_by_token_work() -> None:
    """Two requests over the same interval: output tokens weigh 1, prompt tokens 0.1."""
    shares, idle = split([(0.0, 1.0, 120.0)], [RequestSpan("a", 0.0, 1.0, 0, 100),
                                               RequestSpan("b", 0.0, 1.0, 1000, 100)])
    assert idle == 0.0
    assert shares["a"] == pytest.approx(120.0 * 100 / 300)
    assert shares["b"] == pytest.approx(120.0 * 200 / 300)


def test_a_requests_work_is_spread_over_its_duration() -> None:
    # "a" spans two intervals (half its work in each); "b" only the second.
    shares, _ = split([(0.0, 1.0, 60.0), (1.0, 2.0, 60.0)],
                      [RequestSpan("a", 0.0, 2.0, 0, 100), RequestSpan("b", 1.0, 2.0, 0, 50)])
    assert shares["a"] == pytest.approx(60.0 + 30.0)
    assert shares["b"] == pytest.approx(30.0)


def test_online_matches_offline_when_requests_do_not_overlap_unknowns() -> None:
    a = Attribution()
    a.begin("x", 0.0)
    a.begin("y", 0.0)
    a.add_interval(0.0, 1.0, 90.0)
    # y ends first: x is still in flight at the mean rate so far (none yet: y's own rate)
    y = a.end("y", 1.0, 0, 20)
    x = a.end("x", 1.0, 0, 40)
    assert y.joules is not None and x.joules is not None
    assert y.joules + x.joules == pytest.approx(90.0)
    assert y.joules == pytest.approx(45.0)  # equal rates assumed for the one still running
    # next round: the moving average has learnt a rate, so a heavier request gets more
    a.begin("p", 1.0)
    a.begin("q", 1.0)
    a.add_interval(1.0, 2.0, 90.0)
    p = a.end("p", 2.0, 0, 300)
    q = a.end("q", 2.0, 0, 1)
    assert p.joules is not None and q.joules is not None
    assert p.joules > q.joules
    assert p.joules + q.joules == pytest.approx(90.0)


def test_unknown_and_invalid_cases_say_not_measured() -> None:
    a = Attribution()
    assert a.end("never-begun", 1.0, 1, 1).status == "not measured: request not begun"
    a.begin("r", 0.0)
    a.add_interval(0.0, 1.0, None, "GPU 0: GPU lost")
    got = a.end("r", 1.0, 1, 1)
    assert got.joules is None and got.kwh is None
    assert got.status == "not measured: GPU 0: GPU lost"


def test_a_request_never_ended_stops_counting_after_max_age() -> None:
    a = Attribution(max_age_s=10.0)
    a.begin("leaked", 0.0)
    a.add_interval(0.0, 5.0, 10.0)
    a.add_interval(5.0, 20.0, 30.0)  # the leaked request is now too old: dropped first
    assert a.open_requests() == 0
    assert a.idle_j == 30.0
    assert a.unattributed_j == 10.0
    assert a.end("leaked", 21.0, 1, 1).status.startswith("not measured: request outlived")


def test_full_window_drops_the_oldest_interval_and_says_so() -> None:
    a = Attribution(max_intervals=2)
    a.begin("r", 0.0)
    for i in range(3):
        a.add_interval(float(i), float(i + 1), 10.0)
    assert a.unattributed_j == 10.0
    assert a.end("r", 3.0, 1, 1).status == "not measured: sample window exceeded"
    assert a.total_j == a.idle_j + a.attributed_j + a.unattributed_j


def test_thread_safe_under_concurrent_begin_end_and_intervals() -> None:
    a = Attribution()
    stop = threading.Event()

    def sampler() -> None:
        t = 0.0
        while not stop.is_set():
            a.add_interval(t, t + 1e-3, 1.0)
            t += 1e-3

    thread = threading.Thread(target=sampler)
    thread.start()
    try:
        for i in range(2000):
            a.begin(i, float(i))
            a.end(i, float(i) + 0.5, 10, 10)
    finally:
        stop.set()
        thread.join()
    totals = a.snapshot()
    assert math.isclose(totals["total"], totals["idle"] + totals["attributed"]
                        + totals["unattributed"] + totals["pending"], rel_tol=1e-9)


# ----------------------------------------------------------------------------- properties

_requests = st.lists(
    st.tuples(st.floats(0, 10), st.floats(0, 5), st.integers(0, 5000), st.integers(0, 2000)),
    min_size=0, max_size=12)
_intervals = st.lists(st.floats(0, 500), min_size=1, max_size=30)


def _timeline(raw: list[tuple[float, float, int, int]], energies: list[float]) -> tuple[
        list[tuple[float, float, float]], list[RequestSpan]]:
    step = 12.0 / len(energies)
    intervals = [(i * step, (i + 1) * step, e) for i, e in enumerate(energies)]
    requests = [RequestSpan(i, s, min(s + d, 12.0), n_in, n_out)
                for i, (s, d, n_in, n_out) in enumerate(raw)]
    return intervals, requests


@settings(max_examples=200, deadline=None)
@given(_requests, _intervals)
def test_split_sums_to_total_minus_idle_and_no_share_is_negative(
        raw: list[tuple[float, float, int, int]], energies: list[float]) -> None:
    intervals, requests = _timeline(raw, energies)
    shares, idle = split(intervals, requests)
    total = sum(energies)
    assert all(v >= 0 for v in shares.values())
    assert 0 <= idle <= total + 1e-9
    assert math.isclose(sum(shares.values()), total - idle, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=200, deadline=None)
@given(_requests, _intervals)
def test_online_split_sums_to_total_minus_idle_and_no_share_is_negative(
        raw: list[tuple[float, float, int, int]], energies: list[float]) -> None:
    """Replayed in time order: begins, intervals and ends interleaved as they would happen."""
    intervals, requests = _timeline(raw, energies)
    events: list[tuple[float, int, object]] = []
    for r in requests:
        events.append((r.start, 0, r))
        events.append((r.end, 2, r))
    for iv in intervals:
        events.append((iv[1], 1, iv))
    a = Attribution()
    got = {}
    for _, kind, item in sorted(events, key=lambda e: (e[0], e[1])):
        if kind == 0:
            assert isinstance(item, RequestSpan)
            a.begin(item.request_id, item.start)
        elif kind == 1:
            t0, t1, e = item  # type: ignore[misc]
            a.add_interval(t0, t1, e)
        else:
            assert isinstance(item, RequestSpan)
            got[item.request_id] = a.end(item.request_id, item.end, item.input_tokens,
                                         item.output_tokens)
    assert all(m.status == MEASURED and m.joules is not None and m.joules >= 0
               for m in got.values())
    total = sum(energies)
    per_request = sum(m.joules or 0.0 for m in got.values())
    assert a.unattributed_j == 0.0 and a.open_requests() == 0
    assert math.isclose(per_request, total - a.idle_j, rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(a.total_j, total, rel_tol=1e-12, abs_tol=1e-12)

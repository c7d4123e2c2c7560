"""Per-request attribution of measured GPU energy: pure arithmetic, no NVML, no threads started.

The sampler (`tracker.measure._sampler`) cuts the GPUs' energy into intervals between samples.
The energy of each interval is divided between the requests in flight during it, in proportion to
their token work in it; intervals with no request in flight are idle energy, reported apart.

The weighting (the attribution's rule, an assumption rather than a measurement): a request's work
is ``input_weight * input_tokens + output_tokens`` (`INPUT_WEIGHT`: a prompt token, processed in
parallel in the prefill, counts a tenth of a generated token, which needs a decode step of its
own), spread evenly over the request's duration. Its work in an interval is its work times the
share of its duration that falls in the interval.

Two forms:

- `split()`: the whole run at once (every request's tokens known): exact, used by checks.
- `Attribution`: online and thread-safe, for the recording layer: `begin(id, t)` when a call
  starts, `end(id, t, input_tokens, output_tokens)` when it ends, `add_interval()` from the
  sampler. When a request ends, the requests still in flight have no token counts yet: each is
  counted at the mean work rate of the requests that ended before (a moving average), and the
  last request to leave an interval takes what remains of it. So no share is negative and the
  shares of an interval always add up to its energy: over a run, the per-request energy sums
  exactly to the measured total minus the idle energy (and minus what `unattributed_j` reports:
  intervals dropped from a full window).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["INPUT_WEIGHT", "MEASURED", "Attribution", "MeasuredEnergy", "RequestSpan", "split"]

#: Work of one prompt (prefill) token relative to one generated token.
INPUT_WEIGHT = 0.1
#: The status of a request whose energy was measured.
MEASURED = "measured"
_J_PER_KWH = 3.6e6
#: Weight of the latest request's work rate in the moving average of rates.
_RATE_ALPHA = 0.2


@dataclass(frozen=True, slots=True)
class MeasuredEnergy:
    """One request's measured accelerator energy, or why there is none."""

    #: Joules attributed to the request (None when not measured).
    joules: float | None
    #: `MEASURED`, or ``"not measured: <reason>"``.
    status: str

    @property
    def kwh(self) -> float | None:
        """The energy in kWh (accelerator boundary), or None when not measured."""
        return None if self.joules is None else self.joules / _J_PER_KWH

    @classmethod
    def not_measured(cls, reason: str) -> MeasuredEnergy:
        """A result that says why there is no figure."""
        return cls(None, f"not measured: {reason}")


@dataclass(frozen=True, slots=True)
class RequestSpan:
    """A finished request, for `split()`: its start and end (seconds) and its token counts."""

    request_id: Hashable
    start: float
    end: float
    input_tokens: int
    output_tokens: int


def _work(input_tokens: int, output_tokens: int, input_weight: float) -> float:
    return max(0, input_tokens) * input_weight + max(0, output_tokens)


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def split(intervals: Iterable[tuple[float, float, float]], requests: Iterable[RequestSpan], *,
          input_weight: float = INPUT_WEIGHT) -> tuple[dict[Hashable, float], float]:
    """Divide each interval's joules between the requests overlapping it, by token work.

    `intervals`: (start, end, joules). Returns (joules per request id, idle joules). A request
    with no work, or requests of zero duration, are weighted by their time in the interval
    instead (then equally), so every interval with a request in it is divided in full.
    """
    reqs = list(requests)
    shares: dict[Hashable, float] = {r.request_id: 0.0 for r in reqs}
    idle = 0.0
    for t0, t1, joules in intervals:
        joules = max(0.0, joules)
        present: list[tuple[Hashable, float, float]] = []  # (id, work in interval, time in it)
        for r in reqs:
            if r.start > t1 or r.end < t0:
                continue
            duration = r.end - r.start
            ov = _overlap(t0, t1, r.start, r.end)
            if duration <= 0:
                ov = 0.0
            work = _work(r.input_tokens, r.output_tokens, input_weight)
            present.append((r.request_id, work * ov / duration if duration > 0 else 0.0, ov))
        if not present:
            idle += joules
            continue
        weights = [w for _, w, _ in present]
        if sum(weights) <= 0:
            weights = [ov for _, _, ov in present]
        if sum(weights) <= 0:
            weights = [1.0] * len(present)
        total = sum(weights)
        for (rid, _, _), w in zip(present, weights, strict=True):
            shares[rid] += joules * w / total
    return shares, idle


@dataclass(slots=True)
class _Interval:
    joules: float | None  # what remains to divide; None: not measured (see `reason`)
    reason: str | None
    #: open request id -> its time in the interval (seconds)
    members: dict[Hashable, float] = field(default_factory=dict)
    overlap_sum: float = 0.0


class Attribution:
    """Online attribution (thread-safe): intervals in from the sampler, shares out at `end()`."""

    def __init__(self, *, input_weight: float = INPUT_WEIGHT, max_intervals: int = 65536,
                 max_open: int = 65536, max_age_s: float = 3600.0) -> None:
        self.input_weight = input_weight
        #: A request open longer than this (a call never finished) stops being counted in flight.
        self.max_age_s = max_age_s
        self._max_intervals = max_intervals
        self._max_open = max_open
        self._lock = threading.Lock()
        self._open: dict[Hashable, float] = {}
        self._failed: dict[Hashable, str] = {}
        self._pending: deque[_Interval] = deque()
        self._rate: float | None = None
        #: Joules of every valid interval, of those with no request, given to requests, and
        #: of intervals dropped from a full window (never given to anyone).
        self.total_j = 0.0
        self.idle_j = 0.0
        self.attributed_j = 0.0
        self.unattributed_j = 0.0

    def begin(self, request_id: Hashable, t: float) -> None:
        """A request starts at `t` (the clock the sampler's intervals use)."""
        with self._lock:
            if len(self._open) >= self._max_open:
                return  # its end says "not begun"
            self._open[request_id] = t

    def add_interval(self, t0: float, t1: float, joules: float | None,
                     reason: str | None = None) -> None:
        """The GPUs' energy from `t0` to `t1`; None with a `reason` when it could not be read."""
        if joules is not None:
            joules = max(0.0, joules)
        with self._lock:
            interval = _Interval(joules, reason)
            stale = [rid for rid, start in self._open.items() if t1 - start > self.max_age_s]
            if len(self._failed) > self._max_open:
                self._failed.clear()
            for rid in stale:  # never ended: its end (if any) says why it has no figure
                del self._open[rid]
                self._failed[rid] = "request outlived the measuring window"
                for pending in self._pending:
                    if rid in pending.members:
                        pending.overlap_sum -= pending.members.pop(rid)
            if stale:
                self._drain()
            for rid, start in self._open.items():
                if start < t1:
                    ov = t1 - max(t0, start)
                    interval.members[rid] = ov
                    interval.overlap_sum += ov
            if joules is not None:
                self.total_j += joules
            if not interval.members:
                if joules is not None:
                    self.idle_j += joules
                return
            self._pending.append(interval)
            while len(self._pending) > self._max_intervals:
                self._drop(self._pending.popleft())

    def _drain(self) -> None:
        """Forget intervals no request is in any more; energy left in one is unattributed."""
        kept: deque[_Interval] = deque()
        for interval in self._pending:
            if interval.members:
                kept.append(interval)
            elif interval.joules:
                self.unattributed_j += interval.joules
        self._pending = kept

    def _drop(self, interval: _Interval) -> None:
        for rid in interval.members:
            self._failed.setdefault(rid, "sample window exceeded")
        if interval.joules is not None:
            self.unattributed_j += interval.joules

    def end(self, request_id: Hashable, t: float, input_tokens: int,
            output_tokens: int) -> MeasuredEnergy:
        """The request ended at `t`: its share of every interval it was in flight during."""
        with self._lock:
            start = self._open.pop(request_id, None)
            reason = self._failed.pop(request_id, None)
            if start is None:
                return MeasuredEnergy.not_measured(reason or "request not begun")
            duration = t - start
            work = _work(input_tokens, output_tokens, self.input_weight)
            rate = work / duration if duration > 0 else 0.0
            others_rate = self._rate if self._rate is not None else rate
            taken = 0.0
            drained = False
            for interval in self._pending:
                ov = interval.members.pop(request_id, None)
                if ov is None:
                    continue
                interval.overlap_sum -= ov
                if interval.joules is None:
                    reason = reason or interval.reason or "energy not read"
                    drained |= not interval.members
                    continue
                share = interval.joules if not interval.members else _share(
                    interval, ov, rate, others_rate)
                interval.joules -= share
                taken += share
                drained |= not interval.members
            if drained:
                self._drain()
            self.attributed_j += taken
            if rate > 0:
                self._rate = rate if self._rate is None else (
                    _RATE_ALPHA * rate + (1 - _RATE_ALPHA) * self._rate)
        if reason is not None:
            return MeasuredEnergy.not_measured(reason)
        return MeasuredEnergy(taken, MEASURED)

    def open_requests(self) -> int:
        """Requests begun and not yet ended."""
        with self._lock:
            return len(self._open)

    def snapshot(self) -> Mapping[str, float]:
        """The run's totals in joules: total, idle, attributed, unattributed, pending."""
        with self._lock:
            pending = sum(i.joules or 0.0 for i in self._pending)
            return {"total": self.total_j, "idle": self.idle_j, "attributed": self.attributed_j,
                    "unattributed": self.unattributed_j, "pending": pending}


def _share(interval: _Interval, ov: float, rate: float, others_rate: float) -> float:
    """The leaving request's part of what remains of an interval others are still in."""
    remaining = interval.joules or 0.0
    others = max(0.0, interval.overlap_sum)
    mine, theirs = rate * ov, others_rate * others
    if mine + theirs <= 0:  # no work known: by time in the interval, then equally
        mine, theirs = ov, others
        if mine + theirs <= 0:
            mine, theirs = 1.0, float(len(interval.members))
    return min(remaining, remaining * mine / (mine + theirs))

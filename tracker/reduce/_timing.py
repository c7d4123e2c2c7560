"""Carbon-aware timing: the lowest-carbon window of a forecast, and a decorator that waits for it.

`best_window(zone, duration, within)` reads `tracker.grid.forecast(zone)` and returns the window
of length `duration`, starting between now and ``now + within - duration``, whose time-averaged
forecast intensity is lowest (ties: the earliest), with its saving against starting now.

``@carbon_aware(max_delay="6h", zone="GB")`` on a batch job (sync or async): each call looks the
window up, logs the decision and the expected saving on the ``tracker.carbon_aware`` logger,
waits until the window starts, then runs the job (an async job looks the window up in a worker
thread, so the event loop is never blocked by the request). It never waits longer than
`max_delay`, and when the forecast is unavailable (network failure, 429, malformed answer, no
zone) it runs at once and logs why. `clock`, `sleep` and `async_sleep` are injectable, so waiting
can be tested without sleeping.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar, cast

from tracker.config import _parsers as P
from tracker.exceptions import ConfigError
from tracker.grid._forecast import ForecastPoint, distinct_periods, forecast
from tracker.grid._providers import GridError

__all__ = ["Decision", "Window", "best_window", "carbon_aware", "parse_duration"]

logger = logging.getLogger("tracker.carbon_aware")
_F = TypeVar("_F", bound=Callable[..., Any])


def parse_duration(value: object, field: str) -> timedelta:
    """A duration: a `timedelta`, seconds (number) or text like ``2h``, ``90m``, ``1h30m``, ``1d``.

    The configuration's one bounded duration parser (`tracker.config._parsers.duration`): raises
    `ConfigError(field, ...)` for anything else, a negative, non-finite or over-a-year duration.
    """
    return timedelta(seconds=P.duration(field, value))


@dataclass(frozen=True, slots=True)
class Window:
    """The lowest-carbon window: `start`, `end`, its mean `gco2e_per_kwh`, and the comparison.

    `now_gco2e_per_kwh` is the mean of the same-length window starting now (or at the forecast's
    first period); `saving` is the share avoided by starting at `start` instead (0.25 = 25 %).
    """

    zone: str
    start: datetime
    end: datetime
    gco2e_per_kwh: float
    now_start: datetime
    now_gco2e_per_kwh: float
    saving: float
    forecast_end: datetime

    @property
    def delay(self) -> timedelta:
        """How long after the comparison start (now) the window begins."""
        return self.start - self.now_start

    def to_dict(self) -> dict[str, Any]:
        """The window as JSON-ready values (ISO 8601 times)."""
        return {"zone": self.zone, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "gco2e_per_kwh": self.gco2e_per_kwh, "now_start": self.now_start.isoformat(),
                "now_gco2e_per_kwh": self.now_gco2e_per_kwh, "saving": self.saving,
                "delay_s": self.delay.total_seconds(),
                "forecast_end": self.forecast_end.isoformat()}


def _mean(points: Sequence[ForecastPoint], start: datetime, end: datetime) -> float | None:
    """Time-weighted mean intensity over [start, end], or None where the forecast has a gap."""
    covered = timedelta(0)
    weighted = 0.0
    for point in points:
        lo, hi = max(point.start, start), min(point.end, end)
        if hi > lo:
            seconds = (hi - lo).total_seconds()
            covered += hi - lo
            weighted += point.gco2e_per_kwh * seconds
    total = (end - start).total_seconds()
    if total <= 0:
        return None
    if (end - start) - covered > timedelta(seconds=1):
        return None
    return weighted / total


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(timezone.utc)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def best_window(zone: str, duration: timedelta | str | float = "1h",
                within: timedelta | str | float = "24h", *, now: datetime | None = None,
                points: Sequence[ForecastPoint] | None = None, **forecast_options: Any) -> Window:
    """The lowest-carbon `duration` window starting within `within` of `now` in `zone`.

    `points` replaces the fetched forecast (``forecast(zone, **forecast_options)`` otherwise).
    Raises `ConfigError` naming `duration`/`within` for bad durations, `GridError` when the
    forecast is unavailable or covers no such window.
    """
    length = parse_duration(duration, "duration")
    horizon = parse_duration(within, "within")
    if length <= timedelta(0):
        raise ConfigError("duration", "must be longer than zero")
    if length > horizon:
        raise ConfigError("within", f"must be at least the duration ({length}), got {horizon}")
    moment = _utc(now)
    data = distinct_periods(points) if points is not None else forecast(zone, now=moment,
                                                              **forecast_options)
    if not data:
        raise GridError(f"forecast for {zone} is empty")
    first = max(moment, data[0].start)
    latest = moment + horizon - length
    # The mean is piecewise linear in the start, with breaks where the window's start or end
    # crosses a period boundary: the best start is one of those, or an end of the range.
    edges = {first, latest} | {p.start for p in data} | {p.end - length for p in data}
    starts = sorted(s for s in edges if first <= s <= latest)
    scored = [(m, s) for s in starts for m in [_mean(data, s, s + length)] if m is not None]
    if not scored:
        raise GridError(f"the forecast for {zone} (to {data[-1].end.isoformat()}) holds no "
                        f"{length} window starting within {horizon}")
    now_mean = scored[0][0] if scored[0][1] == first else _mean(data, first, first + length)
    best_mean, best_start = min(scored, key=lambda item: (item[0], item[1]))
    baseline = now_mean if now_mean is not None else best_mean
    saving = (baseline - best_mean) / baseline if baseline > 0 else 0.0
    return Window(zone, best_start, best_start + length, best_mean, first, baseline,
                  saving, data[-1].end)


# ----------------------------------------------------------------------------- the decorator


@dataclass(frozen=True, slots=True)
class Decision:
    """What `carbon_aware` decided for one run: wait `delay` (zero: run now), and why."""

    job: str
    delay: timedelta
    reason: str
    window: Window | None

    @property
    def waited(self) -> bool:
        """Whether the run was delayed."""
        return self.delay > timedelta(0)


def _fmt_delay(delay: timedelta) -> str:
    minutes = round(delay.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def _decide(job: str, zone: str | None, length: timedelta, max_delay: timedelta,
            now: datetime, fetch: Callable[[str], Sequence[ForecastPoint]] | None,
            options: dict[str, Any]) -> Decision:
    if zone is None:
        zone = _configured_zone()
    if zone is None:
        return Decision(job, timedelta(0), "no zone given or configured, running now", None)
    try:
        points = fetch(zone) if fetch is not None else None
        window = best_window(zone, length, max_delay + length, now=now, points=points,
                             **({} if points is not None else options))
    except (GridError, ConfigError) as exc:
        return Decision(job, timedelta(0), f"forecast for {zone} unavailable ({exc}), "
                        "running now", None)
    except Exception as exc:  # a forecast source that failed unexpectedly: never block the job
        return Decision(job, timedelta(0), f"forecast for {zone} unavailable "
                        f"({type(exc).__name__}), running now", None)
    delay = min(max(window.start - now, timedelta(0)), max_delay)
    when = window.start.strftime("%Y-%m-%d %H:%M UTC")
    if delay <= timedelta(0):
        return Decision(job, delay, f"now is the lowest-carbon window in {zone} "
                        f"({window.gco2e_per_kwh:.0f} gCO2e/kWh), running now", window)
    return Decision(job, delay, f"waiting {_fmt_delay(delay)} until {when}: {zone} forecast "
                    f"{window.gco2e_per_kwh:.0f} gCO2e/kWh vs {window.now_gco2e_per_kwh:.0f} "
                    f"now, expected saving {window.saving:.0%}", window)


def _configured_zone() -> str | None:
    """The grid zone of the configured region, if it has one."""
    try:
        from tracker.model._registry import get_registry
        from tracker.recording._runtime import get_runtime

        region = getattr(get_runtime().config, "region", None)
        if not isinstance(region, str):
            return None
        return get_registry().region(region).electricitymaps_zone
    except Exception:
        return None


def _log(decision: Decision) -> None:
    level = logging.WARNING if decision.window is None and "unavailable" in decision.reason \
        else logging.INFO
    logger.log(level, "carbon_aware %s: %s", decision.job, decision.reason,
               extra={"carbon_aware": {"job": decision.job,
                                       "delay_s": decision.delay.total_seconds(),
                                       "window": decision.window.to_dict()
                                       if decision.window else None}})


def carbon_aware(func: _F | None = None, *, max_delay: timedelta | str | float = "6h",
                 zone: str | None = None, duration: timedelta | str | float = "1h",
                 clock: Callable[[], datetime] | None = None,
                 sleep: Callable[[float], object] | None = None,
                 async_sleep: Callable[[float], Awaitable[object]] | None = None,
                 forecast_source: Callable[[str], Sequence[ForecastPoint]] | None = None,
                 provider: str | None = None, api_url: str | None = None,
                 api_token: str | None = None, timeout: float = 10.0) -> Any:
    """Run a batch job (sync or async function) in the lowest-carbon window within `max_delay`.

    `zone`: a forecast zone (``GB``, ``GB-13``, ``DE``) or registry region (default: the
    configured region's zone); `duration`: how long the job runs (the window's length). Each call
    logs its decision and waits at most `max_delay`; with no usable forecast it runs at once and
    logs why. The last decision is on ``wrapper.last_decision``. `provider`, `api_url`,
    `api_token` and `timeout` go to `tracker.grid.forecast`; `clock` (UTC now), `sleep`,
    `async_sleep` and `forecast_source` (zone -> points) are for tests. Bad durations raise
    `ConfigError` at decoration time.
    """
    limit = parse_duration(max_delay, "max_delay")
    length = parse_duration(duration, "duration")
    if length <= timedelta(0):
        raise ConfigError("duration", "must be longer than zero")
    now_of = clock or (lambda: datetime.now(timezone.utc))
    do_sleep = sleep or time.sleep
    do_async_sleep = async_sleep or asyncio.sleep
    options: dict[str, Any] = {"timeout": timeout}
    for key, value in (("provider", provider), ("api_url", api_url), ("api_token", api_token)):
        if value is not None:
            options[key] = value

    def decorate(job: _F) -> _F:
        name = getattr(job, "__qualname__", None) or type(job).__qualname__

        def decide() -> Decision:
            decision = _decide(name, zone, length, limit, _utc(now_of()), forecast_source,
                               options)
            _log(decision)
            holder.last_decision = decision
            return decision

        if inspect.iscoroutinefunction(job):
            @functools.wraps(job)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                # the forecast is fetched in a thread: the event loop never waits on the network
                decision = await asyncio.to_thread(decide)
                if decision.waited:
                    await do_async_sleep(decision.delay.total_seconds())
                return await job(*args, **kwargs)
            holder: Any = run_async
        else:
            @functools.wraps(job)
            def run(*args: Any, **kwargs: Any) -> Any:
                decision = decide()
                if decision.waited:
                    do_sleep(decision.delay.total_seconds())
                return job(*args, **kwargs)
            holder = run
        holder.last_decision = None
        return cast("_F", holder)

    return decorate(func) if func is not None else decorate

"""Grid carbon-intensity forecasts: the GB Carbon Intensity API (48 h) and Electricity Maps.

`forecast(zone)` returns the forecast as a list of `ForecastPoint` (start, end, gco2e_per_kwh),
sorted by start, cached per (provider, zone, API base) for `CACHE_TTL_S`. It is an explicit
request (used by `best_window`, `carbon_aware` and ``llm-energy when``), never called on the
tracking hot path; every request goes through `tracker.grid._network` (connect and read
timeouts, capped retries) and a failure raises `GridError` with a secret-free message.

Zones and providers:

- ``GB`` (Great Britain) and ``GB-1`` .. ``GB-17`` (its regions): the GB Carbon Intensity API,
  no key. ``GET {base}/intensity/{from}/fw48h`` and
  ``GET {base}/regional/intensity/{from}/fw48h/regionid/{id}`` (API definitions,
  https://carbon-intensity.github.io/api-definitions/), half-hour periods::

      {"data": [{"from": "2024-05-01T12:00Z", "to": "2024-05-01T12:30Z",
                 "intensity": {"forecast": 143, "actual": null, "index": "low"}}, ...]}

      {"data": {"regionid": 13, "dnoregion": "UKPN London", "shortname": "London",
                "data": [{"from": ..., "to": ..., "intensity": {"forecast": 189, ...},
                          "generationmix": [...]}, ...]}}

- any other Electricity Maps zone (``DE``, ``FR``, ``US-CAL-CISO``), or a registry region that
  names one (``gcp:europe-west3``): Electricity Maps v3, an API token required (argument, else
  ``ELECTRICITYMAPS_API_TOKEN``). ``GET {base}/v3/carbon-intensity/forecast?zone=Z`` with header
  ``auth-token`` (Electricity Maps API v3 reference, "Carbon intensity / forecast")::

      {"zone": "DE", "forecast": [{"carbonIntensity": 302, "datetime": "2024-05-01T13:00:00.000Z"},
                                   ...], "updatedAt": "2024-05-01T12:49:01.123Z"}

  Each point holds from its ``datetime`` to the next one's (the last for the same step).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from tracker._isotime import parse_iso
from tracker.exceptions import ConfigError
from tracker.grid._network import NetworkError, get_json, make_session, redact
from tracker.grid._providers import (
    ELECTRICITYMAPS_URL,
    MAX_G_PER_KWH,
    UK_CARBON_INTENSITY_URL,
    GridError,
    uk_region_id,
)

__all__ = [
    "CACHE_TTL_S",
    "FORECAST_PROVIDERS",
    "ForecastPoint",
    "clear_cache",
    "distinct_periods",
    "forecast",
    "forecast_provider",
]

#: Seconds a fetched forecast is reused (both APIs update about every 30-60 minutes).
CACHE_TTL_S = 1800.0
FORECAST_PROVIDERS = ("uk-carbon-intensity", "electricitymaps")
_MAX_CACHED = 64
_MAX_POINTS = 2000
#: Longest read timeout a forecast request takes (seconds).
_MAX_TIMEOUT_S = 600.0
_TOKEN_ENV = "ELECTRICITYMAPS_API_TOKEN"


class ForecastPoint(NamedTuple):
    """One forecast period: `gco2e_per_kwh` from `start` to `end` (aware UTC datetimes)."""

    start: datetime
    end: datetime
    gco2e_per_kwh: float


_cache: dict[tuple[str, str, str], tuple[float, list[ForecastPoint]]] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached forecast."""
    with _cache_lock:
        _cache.clear()


def _parse_time(value: object, source: str) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise GridError(f"{source}: forecast period without a time")
    moment = parse_iso(value)
    if moment is None:
        raise GridError(f"{source}: forecast time is not ISO 8601")
    return moment


def _figure(value: object, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GridError(f"{source}: forecast figure missing or not a number")
    figure = float(value)
    if not math.isfinite(figure) or figure < 0 or figure > MAX_G_PER_KWH:
        raise GridError(f"{source}: forecast figure {figure:g} g/kWh is outside "
                        f"[0, {MAX_G_PER_KWH:g}]")
    return figure


def distinct_periods(points: Iterable[ForecastPoint]) -> list[ForecastPoint]:
    """Sorted periods that never overlap (a mean over a window counts each moment once).

    A period listed twice is kept once; one that overlaps the period before it keeps only its
    part after that one's end (the earlier wins).
    """
    out: list[ForecastPoint] = []
    for point in sorted(p for p in points if p.end > p.start):
        if out and point.start < out[-1].end:
            if point.end <= out[-1].end:
                continue
            point = point._replace(start=out[-1].end)
        out.append(point)
    return out


def forecast_provider(zone: str, provider: str | None = None) -> tuple[str, str]:
    """(provider name, provider zone) serving `zone`: GB zones the UK API, else Electricity Maps.

    `zone` may also be a registry region (``gcp:europe-west2``), read as its Electricity Maps
    zone. Raises `ConfigError("zone", ...)` when nothing serves it.
    """
    if not isinstance(zone, str) or not zone.strip():
        raise ConfigError("zone", "a zone is required (GB, GB-13, DE, FR, ...)")
    if provider is not None and provider not in FORECAST_PROVIDERS:
        raise ConfigError("provider", f"unknown forecast provider {provider!r} "
                          f"(use {' or '.join(FORECAST_PROVIDERS)})")
    name = zone.strip()
    if ":" in name or name.lower() == "world":
        try:
            from tracker.model._registry import get_registry

            region = get_registry().region(name)
        except Exception:
            raise ConfigError("zone", f"unknown zone or region {name!r}") from None
        if not region.electricitymaps_zone:
            raise ConfigError("zone", f"region {region.name!r} has no grid zone")
        name = region.electricitymaps_zone
    if provider is None:
        provider = "uk-carbon-intensity" if uk_region_id(name) is not None else "electricitymaps"
    if provider == "uk-carbon-intensity":
        if uk_region_id(name) is None:
            raise ConfigError("zone", f"{name!r} is not served by uk-carbon-intensity "
                              "(use GB or GB-1..GB-17)")
        return provider, name.upper()
    return provider, name


def _uk_points(body: Any, region: int, source: str) -> list[Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if region == 0:
        if not isinstance(data, list):
            raise GridError(f"{source}: unexpected response shape (no data list)")
        return data
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise GridError(f"{source}: unexpected response shape (no data object)")
    if data.get("regionid") != region:
        raise GridError(f"{source}: answer is for region {str(data.get('regionid'))[:8]!r}, "
                        f"not {region}")
    periods = data.get("data")
    if not isinstance(periods, list):
        raise GridError(f"{source}: unexpected response shape (no data.data list)")
    return periods


def _fetch_uk(zone: str, base: str, now: datetime, session: Any) -> list[ForecastPoint]:
    source = "uk-carbon-intensity"
    region = uk_region_id(zone)
    assert region is not None
    start = now.astimezone(timezone.utc).replace(second=0, microsecond=0)
    start = start.replace(minute=0 if start.minute < 30 else 30)
    stamp = start.strftime("%Y-%m-%dT%H:%MZ")
    path = (f"/intensity/{stamp}/fw48h" if region == 0
            else f"/regional/intensity/{stamp}/fw48h/regionid/{region}")
    try:
        body = get_json(session, base.rstrip("/") + path)
    except NetworkError as exc:
        raise GridError(f"{source}: {exc}") from None
    points = []
    for period in _uk_points(body, region, source)[:_MAX_POINTS]:
        if not isinstance(period, dict) or not isinstance(period.get("intensity"), dict):
            raise GridError(f"{source}: unexpected response shape (period without intensity)")
        points.append(ForecastPoint(_parse_time(period.get("from"), source),
                                    _parse_time(period.get("to"), source),
                                    _figure(period["intensity"].get("forecast"), source)))
    return points


def _fetch_electricitymaps(zone: str, base: str, token: str | None,
                           session: Any) -> list[ForecastPoint]:
    source = "electricitymaps"
    if not token:
        raise GridError(f"{source}: an API token is needed (api_token= or {_TOKEN_ENV})")
    url = base.rstrip("/") + "/v3/carbon-intensity/forecast"
    try:
        body = get_json(session, url, params={"zone": zone}, headers={"auth-token": token},
                        secrets=[token])
    except NetworkError as exc:
        hint = " (check the API token)" if exc.status in (401, 403) else ""
        raise GridError(redact(f"{source}: {exc}{hint}", [token])) from None
    if not isinstance(body, dict) or not isinstance(body.get("forecast"), list):
        raise GridError(f"{source}: unexpected response shape (no forecast list)")
    answered = body.get("zone")
    if isinstance(answered, str) and answered.upper() != zone.upper():
        raise GridError(f"{source}: answer is for zone {answered[:20]!r}, not {zone!r}")
    starts: list[tuple[datetime, float]] = []
    for item in body["forecast"][:_MAX_POINTS]:
        if not isinstance(item, dict):
            raise GridError(f"{source}: unexpected response shape (forecast item)")
        starts.append((_parse_time(item.get("datetime"), source),
                       _figure(item.get("carbonIntensity"), source)))
    starts.sort()
    points = []
    for i, (start, figure) in enumerate(starts):
        if i + 1 < len(starts):
            end = starts[i + 1][0]
        else:
            end = start + ((start - starts[i - 1][0]) if i > 0 else timedelta(hours=1))
        if end > start:
            points.append(ForecastPoint(start, end, figure))
    return points


def forecast(zone: str, *, provider: str | None = None, api_url: str | None = None,
             api_token: str | None = None, timeout: float = 10.0, retries: int = 1,
             now: datetime | None = None, use_cache: bool = True) -> list[ForecastPoint]:
    """The grid carbon-intensity forecast of `zone`, sorted by start (see the module docstring).

    `provider`: ``uk-carbon-intensity`` or ``electricitymaps`` (default: by zone); `api_url`:
    the provider's base URL; `api_token`: Electricity Maps token (else the environment's);
    `timeout`: read timeout in seconds; `retries`: retries of a 429/5xx answer. Raises
    `ConfigError` naming the field for bad input, `GridError` (secret-free) when the forecast
    cannot be had.
    """
    name, provider_zone = forecast_provider(zone, provider)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not 0 < timeout <= _MAX_TIMEOUT_S:
        raise ConfigError("timeout", f"must be a number of seconds > 0 and at most "
                          f"{_MAX_TIMEOUT_S:g}, got {timeout!r}")
    base = api_url or (UK_CARBON_INTENSITY_URL if name == "uk-carbon-intensity"
                       else ELECTRICITYMAPS_URL)
    key = (name, provider_zone.upper(), base)
    if use_cache:
        with _cache_lock:
            hit = _cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < CACHE_TTL_S:
            return list(hit[1])
    moment = now or datetime.now(timezone.utc)
    with make_session(timeout=(3.05, float(timeout)), retries=max(0, int(retries)),
                      max_retry_after_s=5.0) as session:
        if name == "uk-carbon-intensity":
            points = _fetch_uk(provider_zone, base, moment, session)
        else:
            token = api_token or os.environ.get(_TOKEN_ENV) or _configured_token()
            points = _fetch_electricitymaps(provider_zone, base, token, session)
    points = distinct_periods(points)
    if not points:
        raise GridError(f"{name}: the forecast for {provider_zone} is empty")
    with _cache_lock:
        if len(_cache) >= _MAX_CACHED:
            _cache.clear()
        _cache[key] = (time.monotonic(), points)
    return list(points)


#: The Electricity Maps token given to `configure()` (set by the configuration, never shown).
_CONFIGURED_TOKEN: str | None = None


def set_configured_token(token: str | None) -> None:
    """Remember the token `configure(grid_api_token=...)` was given, for forecasts."""
    global _CONFIGURED_TOKEN
    _CONFIGURED_TOKEN = token if isinstance(token, str) and token else None


def _configured_token() -> str | None:
    return _CONFIGURED_TOKEN

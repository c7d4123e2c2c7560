"""Live grid carbon intensity, kept fresh off the hot path, with the registry figure as fallback.

`configure_grid()` picks a provider (`tracker.grid_providers`); the first `lookup()` starts one
daemon thread that refreshes each zone asked for every `ttl_s` seconds. `lookup()` itself never
touches the network, never waits and takes no lock once a zone is known: it returns the last good
`GridReading`, or None, in which case the caller uses the registry figure.

Fallback rules (documented behaviour):

- before the first successful fetch, `lookup()` returns None (registry figure);
- during an outage the last good reading is kept for `stale_after_s` (default 3 x ttl) after it
  was fetched, then dropped (None again) until a fetch succeeds;
- a failure is logged once per outage and zone (WARNING), its end once (INFO); never per call;
- the thread is a daemon and is never joined: the process exits at once even while a request
  hangs; `shutdown()` only signals it.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from tracker.exceptions import ConfigError
from tracker.grid._providers import (
    ELECTRICITYMAPS_URL,
    UK_CARBON_INTENSITY_URL,
    ElectricityMapsProvider,
    GridError,
    GridProvider,
    GridReading,
    UKCarbonIntensityProvider,
    uk_region_id,
)

__all__ = [
    "PROVIDERS",
    "GridError",
    "GridProvider",
    "GridReading",
    "GridRefresher",
    "configure_grid",
    "get_refresher",
    "lookup",
        "make_provider",
    "shutdown",
]

logger = logging.getLogger(__name__)

#: Provider names accepted by `configure_grid(provider=...)` and `llm-energy grid --provider`.
PROVIDERS: tuple[str, ...] = ("electricitymaps", "uk")
_ALIASES = {"electricitymaps": "electricitymaps", "electricity_maps": "electricitymaps",
            "electricity-maps": "electricitymaps", "uk": "uk", "uk-carbon-intensity": "uk"}
TOKEN_ENV = "ELECTRICITYMAPS_API_TOKEN"
#: Smallest ttl `configure_grid()` accepts (seconds): the APIs are rate limited.
MIN_TTL_S = 1.0


@dataclass(frozen=True, slots=True)
class _Entry:
    reading: GridReading
    fetched_at: float


class GridRefresher:
    """Keeps one live reading per zone fresh from a daemon thread; `lookup()` is O(1), non-blocking.

    `stale_after_s` (default 3 x `ttl_s`): age after which the last good reading is dropped.
    `retry_s` (default min(ttl_s, 60)): wait before retrying after a failed fetch.
    `max_zones`: zones beyond this many are not tracked (their lookups return None).
    """

    def __init__(self, provider: GridProvider, *, ttl_s: float = 900.0,
                 stale_after_s: float | None = None, retry_s: float | None = None,
                 max_zones: int = 32, clock: Callable[[], float] = time.monotonic) -> None:
        self.provider = provider
        self.ttl_s = ttl_s
        self.stale_after_s = 3.0 * ttl_s if stale_after_s is None else stale_after_s
        self.retry_s = min(ttl_s, 60.0) if retry_s is None else retry_s
        self._max_zones = max_zones
        self._clock = clock
        self._cache: dict[str, _Entry] = {}
        self._zones: dict[str, None] = {}          # insertion-ordered set of zones asked for
        self._failing: set[str] = set()            # zones in an outage (already logged)
        self._lock = threading.Lock()              # guards zone registration and thread start
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def lookup(self, zone: str) -> GridReading | None:
        """The last good reading for `zone` if younger than `stale_after_s`, else None.

        Never blocks on the network; the first call for a zone registers it (and starts the
        thread on the very first call), so that call returns None.
        """
        entry = self._cache.get(zone)
        if entry is not None and self._clock() - entry.fetched_at <= self.stale_after_s:
            return entry.reading
        if zone not in self._zones or self._thread is None:
            self._want(zone)
        return None

    def _want(self, zone: str) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            if zone not in self._zones:
                if len(self._zones) >= self._max_zones:
                    return
                self._zones[zone] = None
                self._wake.set()
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="llm-energy-grid", daemon=True)
                thread.start()
                self._thread = thread

    @property
    def running(self) -> bool:
        """True while the refresh thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def shutdown(self) -> None:
        """Ask the thread to stop after its current request; never waits for it."""
        self._stop.set()
        self._wake.set()

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._thread = None                        # the child has no refresh thread: restart lazily

    def refresh(self, zone: str) -> bool:
        """Fetch `zone` now in the calling thread (blocking); True on success. Logs per outage."""
        try:
            reading = self.provider.fetch(zone)
        except GridError as exc:
            self._failed(zone, str(exc))
            return False
        except Exception as exc:  # a provider bug must not kill the thread
            self._failed(zone, f"{self.provider.name}: unexpected {type(exc).__name__}")
            return False
        self._cache[zone] = _Entry(reading, self._clock())
        if zone in self._failing:
            self._failing.discard(zone)
            logger.info("grid: live carbon intensity for zone %s is back (%s)", zone,
                        self.provider.name)
        return True

    def _failed(self, zone: str, reason: str) -> None:
        if zone in self._failing or self._stop.is_set():  # a replaced refresher stays silent
            return
        self._failing.add(zone)
        entry = self._cache.get(zone)
        if entry is not None:
            then = (f"keeping the last good value ({entry.reading.timestamp}) until it is "
                    f"{self.stale_after_s:.0f} s old, then the registry figure")
        else:
            then = "using the registry figure"
        logger.warning("grid: live carbon intensity for zone %s unavailable: %s; %s "
                       "(logged once per outage)", zone, reason, then)

    def _run(self) -> None:
        due: dict[str, float] = {}
        while not self._stop.is_set():
            self._wake.clear()
            with self._lock:
                zones = list(self._zones)
            for zone in zones:
                if self._stop.is_set():
                    return
                if due.get(zone, -math.inf) <= self._clock():
                    ok = self.refresh(zone)
                    due[zone] = self._clock() + (self.ttl_s if ok else self.retry_s)
            wait = min(due.values(), default=self._clock() + self.ttl_s) - self._clock()
            self._wake.wait(timeout=max(wait, 0.001))


# ------------------------------------------------------------------------------ process state

_active: GridRefresher | None = None
_zone: str | None = None


def _reset_after_fork() -> None:
    if _active is not None:
        _active._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def lookup(zone: str | None = None) -> GridReading | None:
    """The live reading for `zone` (default: the configured zone), or None: use the registry.

    Constant time, never touches the network, never raises for a str zone.
    """
    refresher = _active
    if refresher is None:
        return None
    target = zone or _zone
    return refresher.lookup(target) if target else None


def get_refresher() -> GridRefresher | None:
    """The process-wide refresher configured by `configure_grid()`, if any."""
    return _active


def shutdown() -> None:
    """Signal the refresher to stop and forget it (live lookups return None afterwards)."""
    global _active, _zone
    refresher, _active, _zone = _active, None, None
    if refresher is not None:
        refresher.shutdown()


def _check_url(api_url: str | None, default: str) -> str:
    if api_url is None or api_url == "":
        return default
    if not isinstance(api_url, str) or not api_url.startswith(("http://", "https://")):
        raise ConfigError("grid_api_url", "must be an http:// or https:// URL")
    return api_url.rstrip("/")


def make_provider(provider: str, *, api_url: str | None = None, api_token: str | None = None,
                  session: requests.Session | None = None) -> GridProvider:
    """Build a provider by name ("electricitymaps" or "uk"); ConfigError names the bad field.

    The Electricity Maps token comes from `api_token`, else `ELECTRICITYMAPS_API_TOKEN`.
    """
    name = _ALIASES.get(provider.strip().lower()) if isinstance(provider, str) else None
    if name is None:
        raise ConfigError("grid", f"unknown provider {provider!r}; expected one of "
                                  f"{', '.join(repr(p) for p in PROVIDERS)} or None")
    if name == "uk":
        return UKCarbonIntensityProvider(base_url=_check_url(api_url, UK_CARBON_INTENSITY_URL),
                                         session=session)
    token = api_token or os.environ.get(TOKEN_ENV) or ""
    if not token.strip():
        raise ConfigError("grid_api_token", "Electricity Maps needs an API token: pass "
                          f"grid_api_token or set TRACKER_GRID_API_TOKEN or {TOKEN_ENV}")
    return ElectricityMapsProvider(token.strip(), session=session,
                                   base_url=_check_url(api_url, ELECTRICITYMAPS_URL))


def configure_grid(provider: str | None, api_url: str | None, api_token: str | None,
                   zone: str | None, ttl_s: float = 900.0) -> GridRefresher | None:
    """Set up (or, with provider None, turn off) live grid intensity for the process.

    `zone` defaults to "GB" for the "uk" provider; Electricity Maps needs one (the configuration
    passes the configured region's `electricitymaps_zone`). No thread starts and nothing is fetched
    until the first `lookup()`. Raises ConfigError naming `grid`, `grid_api_url`,
    `grid_api_token`, `grid_zone` or `grid_ttl_s`. Replaces (and signals) any previous refresher.
    """
    global _active, _zone
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, (int, float)) or not math.isfinite(ttl_s) \
            or ttl_s < MIN_TTL_S:
        raise ConfigError("grid_ttl_s",
                          f"must be a number of seconds >= {MIN_TTL_S:g}, got {ttl_s!r}")
    if provider is None or (isinstance(provider, str) and not provider.strip()):
        shutdown()
        return None
    built = make_provider(provider, api_url=api_url, api_token=api_token)
    target = zone.strip() if isinstance(zone, str) and zone.strip() else None
    if isinstance(built, UKCarbonIntensityProvider):
        target = (target or "GB").upper()
        if uk_region_id(target) is None:
            raise ConfigError("grid_zone", f"{target!r} is not served by the UK provider; "
                                           "use GB or GB-1..GB-17")
    elif target is None:
        raise ConfigError("grid_zone", "Electricity Maps needs a zone: set grid_zone or a region "
                                       "with an electricitymaps_zone")
    refresher = GridRefresher(built, ttl_s=float(ttl_s))
    shutdown()
    _active, _zone = refresher, target
    return refresher

"""Live grid carbon-intensity providers: Electricity Maps (v3) and the GB Carbon Intensity API.

A provider has a `name` (recorded as the figure's source) and `fetch(zone) -> GridReading`, which
either returns a validated reading or raises `GridError` with a secret-free message. Providers make
their requests through `tracker.network` and never log; the caller (the refresher or the CLI)
decides what to say about failures.

Validation applies to every answer: the body must be JSON of the documented shape, the figure a
finite number in [0, `MAX_G_PER_KWH`], the timestamp ISO 8601, and the zone (or GB region id)
the one that was asked for.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import requests

from tracker._isotime import parse_iso
from tracker.exceptions import TrackerError
from tracker.grid._network import NetworkError, get_json, make_session, redact

__all__ = [
    "ELECTRICITYMAPS_URL",
    "MAX_G_PER_KWH",
    "UK_CARBON_INTENSITY_URL",
    "UK_REGIONS",
    "ElectricityMapsProvider",
    "GridError",
    "GridProvider",
    "GridReading",
    "UKCarbonIntensityProvider",
    "uk_region_id",
]

#: Default Electricity Maps API base (v3 paths are appended).
ELECTRICITYMAPS_URL = "https://api.electricitymap.org"
#: Default GB Carbon Intensity API base (National Energy System Operator, no key).
UK_CARBON_INTENSITY_URL = "https://api.carbonintensity.org.uk"
#: Figures above this (gCO2e/kWh) are rejected as absurd: the dirtiest grids are about 1000-1100.
MAX_G_PER_KWH = 2000.0

#: GB Carbon Intensity API region ids (zone "GB-<id>"), as listed in its API definitions.
UK_REGIONS: dict[int, str] = {
    1: "North Scotland", 2: "South Scotland", 3: "North West England", 4: "North East England",
    5: "Yorkshire", 6: "North Wales & Merseyside", 7: "South Wales", 8: "West Midlands",
    9: "East Midlands", 10: "East England", 11: "South West England", 12: "South England",
    13: "London", 14: "South East England", 15: "England", 16: "Scotland", 17: "Wales",
}


@dataclass(frozen=True, slots=True)
class GridReading:
    """One live figure: `g_per_kwh` for `zone` at `timestamp` (ISO 8601, UTC) from `source`.

    `estimated` is True for a forecast or modelled figure, False for a measured one, None when the
    provider does not say; `basis` is the provider's emission-factor type where it states one
    (Electricity Maps: "lifecycle" or "direct").
    """

    zone: str
    g_per_kwh: float
    timestamp: str
    source: str
    estimated: bool | None = None
    basis: str | None = None


class GridError(TrackerError):
    """A provider could not give a valid figure (network failure or rejected answer).

    The message names the provider and the reason, never a URL, header or token.
    """


@runtime_checkable
class GridProvider(Protocol):
    """A source of live grid carbon intensity."""

    @property
    def name(self) -> str:
        """Source name recorded with each figure (e.g. "electricitymaps")."""
        ...

    def fetch(self, zone: str) -> GridReading:
        """The current figure for `zone`; raises `GridError` on any failure (may block)."""
        ...


def _figure(value: object, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GridError(f"{source}: carbon intensity missing or not a number")
    figure = float(value)
    if not math.isfinite(figure) or figure < 0 or figure > MAX_G_PER_KWH:
        raise GridError(f"{source}: carbon intensity {figure:g} g/kWh is outside "
                        f"[0, {MAX_G_PER_KWH:g}]")
    return figure


def _timestamp(value: object, source: str) -> str:
    if not isinstance(value, str) or not value:
        raise GridError(f"{source}: timestamp missing")
    moment = parse_iso(value)
    if moment is None:
        raise GridError(f"{source}: timestamp is not ISO 8601")
    return moment.isoformat()


def _get(obj: object, source: str, *path: str | int) -> Any:
    """`obj[path[0]][path[1]]...`, or GridError naming the documented path that is missing."""
    current: Any = obj
    for key in path:
        try:
            current = current[key]
        except (KeyError, IndexError, TypeError):
            where = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path)
            raise GridError(
                f"{source}: unexpected response shape (no {where.lstrip('.')})") from None
    return current


class ElectricityMapsProvider:
    """Electricity Maps API v3, latest carbon intensity of a zone (an API token is required).

    Request: ``GET {base}/v3/carbon-intensity/latest?zone=ZONE`` with header ``auth-token``.
    Response (Electricity Maps API v3 reference, "Carbon intensity / latest",
    https://static.electricitymaps.com/api/docs/index.html and https://portal.electricitymaps.com/docs)::

        {"zone": "DE", "carbonIntensity": 302, "datetime": "2024-05-01T12:00:00.000Z",
         "updatedAt": "2024-05-01T11:49:01.123Z", "emissionFactorType": "lifecycle",
         "isEstimated": true, "estimationMethod": "TIME_SLICER_AVERAGE"}

    Zones are Electricity Maps zone keys ("DE", "FR", "US-CAL-CISO", "GB"); the figure is taken
    from `carbonIntensity` (gCO2eq/kWh), its time from `datetime`.
    """

    name = "electricitymaps"

    def __init__(self, api_token: str, *, base_url: str = ELECTRICITYMAPS_URL,
                 session: requests.Session | None = None) -> None:
        self._token = api_token
        self._url = base_url.rstrip("/") + "/v3/carbon-intensity/latest"
        self._session = session if session is not None else make_session()

    def __repr__(self) -> str:
        return "ElectricityMapsProvider(api_token='***')"

    def fetch(self, zone: str) -> GridReading:
        """Latest figure for `zone`; `GridError` on failure, a wrong zone or an absurd value."""
        try:
            body = get_json(self._session, self._url, params={"zone": zone},
                            headers={"auth-token": self._token}, secrets=[self._token])
        except NetworkError as exc:
            hint = " (check the API token)" if exc.status in (401, 403) else ""
            raise GridError(redact(f"{self.name}: {exc}{hint}", [self._token])) from None
        if not isinstance(body, dict):
            raise GridError(f"{self.name}: unexpected response shape (not an object)")
        answered = body.get("zone")
        if not isinstance(answered, str) or answered.upper() != zone.upper():
            raise GridError(f"{self.name}: answer is for zone {str(answered)[:20]!r}, not {zone!r}")
        estimated = body.get("isEstimated")
        basis = body.get("emissionFactorType")
        return GridReading(
            zone=zone,
            g_per_kwh=_figure(body.get("carbonIntensity"), self.name),
            timestamp=_timestamp(body.get("datetime"), self.name),
            source=self.name,
            estimated=estimated if isinstance(estimated, bool) else None,
            basis=basis if isinstance(basis, str) else None,
        )


_UK_ZONE = re.compile(r"^GB(?:-(\d{1,2}))?$", re.IGNORECASE)


def uk_region_id(zone: str) -> int | None:
    """0 for Great Britain as a whole ("GB"), 1-17 for "GB-<id>", None for any other zone."""
    match = _UK_ZONE.match(zone.strip())
    if match is None:
        return None
    if match.group(1) is None:
        return 0
    region = int(match.group(1))
    return region if region in UK_REGIONS else None


class UKCarbonIntensityProvider:
    """GB Carbon Intensity API (National Energy System Operator; no key needed).

    Zones: "GB" for Great Britain (``GET {base}/intensity``, figure ``data[0].intensity.actual``,
    falling back to ``.forecast`` while the actual is null) and "GB-1".."GB-17" for its regions
    (``GET {base}/regional/regionid/{id}``, figure ``data[0].data[0].intensity.forecast``; the
    regional figures are forecasts only). Shapes from the API definitions,
    https://carbon-intensity.github.io/api-definitions/ ::

        {"data": [{"from": "2018-01-20T12:00Z", "to": "2018-01-20T12:30Z",
                   "intensity": {"forecast": 266, "actual": 263, "index": "moderate"}}]}

        {"data": [{"regionid": 13, "dnoregion": "UKPN London", "shortname": "London",
                   "data": [{"from": "2018-05-15T11:30Z", "to": "2018-05-15T12:00Z",
                             "intensity": {"forecast": 189, "index": "moderate"},
                             "generationmix": [{"fuel": "gas", "perc": 41.2}]}]}]}

    Electricity Maps zones outside GB's mainland grid ("GB-NIR", "GB-ORK") are not served.
    """

    name = "uk-carbon-intensity"

    def __init__(self, *, base_url: str = UK_CARBON_INTENSITY_URL,
                 session: requests.Session | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._session = session if session is not None else make_session()

    def fetch(self, zone: str) -> GridReading:
        """Current figure for "GB" or "GB-<1..17>"; `GridError` on failure or a wrong region."""
        region = uk_region_id(zone)
        if region is None:
            raise GridError(f"{self.name}: zone {zone!r} not served (use GB or GB-1..GB-17)")
        path = "/intensity" if region == 0 else f"/regional/regionid/{region}"
        url = self._base + path
        try:
            body = get_json(self._session, url)
        except NetworkError as exc:
            raise GridError(f"{self.name}: {exc}") from None
        if region == 0:
            period = _get(body, self.name, "data", 0)
            intensity = _get(period, self.name, "intensity")
            actual = intensity.get("actual") if isinstance(intensity, dict) else None
            value = actual if actual is not None else _get(intensity, self.name, "forecast")
            estimated = actual is None
        else:
            answered = _get(body, self.name, "data", 0, "regionid")
            if answered != region:
                raise GridError(f"{self.name}: answer is for region {str(answered)[:8]!r}, "
                                f"not {region}")
            period = _get(body, self.name, "data", 0, "data", 0)
            value = _get(period, self.name, "intensity", "forecast")
            estimated = True
        return GridReading(
            zone=zone.upper(),
            g_per_kwh=_figure(value, self.name),
            timestamp=_timestamp(_get(period, self.name, "from"), self.name),
            source=self.name,
            estimated=estimated,
        )

"""`llm-energy grid`: the current live grid intensity beside the registry figure.

This is an explicit request, so it may wait on the network (bounded by `--timeout`). Exit status:
0 with a live figure, 1 when the provider failed (the registry figure is still printed), 2 for bad
input (a message naming the field).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from tracker.exceptions import ConfigError, UnknownRegionError
from tracker.grid._network import make_session
from tracker.grid._providers import GridError, GridProvider, GridReading, uk_region_id
from tracker.grid._refresher import PROVIDERS, TOKEN_ENV, make_provider
from tracker.model._specs import RegionSpec
from tracker.render import _units as U
from tracker.render._tables import write_wrapped

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm-energy grid",
        description="Live grid carbon intensity from a provider, beside the registry figure.")
    p.add_argument("zone", nargs="?", help="a region (gcp:europe-west2), a country code (FR) or "
                   "a provider zone (DE, US-CAL-CISO, GB, GB-13); default TRACKER_GRID_ZONE")
    p.add_argument("--provider", choices=(*PROVIDERS, "uk-carbon-intensity"),
                   help="uk or electricitymaps (default TRACKER_GRID, else electricitymaps when "
                        "a token is set, else uk; uk-carbon-intensity is another name of uk)")
    p.add_argument("--api-url", help="provider base URL (default: the public API)")
    p.add_argument("--timeout", type=float, default=10.0, help="read timeout, seconds (default 10)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def _resolve(name: str) -> tuple[str, RegionSpec | None]:
    """(provider zone, registry region) for a region name, country code or provider zone.

    A registry region (or alias) maps to its `electricitymaps_zone`; anything else is taken as a
    zone, shown beside the registry region with that zone, else its country ("GB" for "GB-13").
    """
    from tracker.model._registry import get_registry

    registry = get_registry()
    try:
        spec = registry.region(name)
    except UnknownRegionError:
        spec = None
    if spec is not None:
        if not spec.electricitymaps_zone:
            raise ConfigError("zone", f"region {spec.name!r} has no Electricity Maps zone")
        return spec.electricitymaps_zone, spec
    for candidate in registry.regions():
        zone = candidate.electricitymaps_zone
        if zone and zone.upper() == name.upper():
            return name, candidate
    try:
        return name, registry.region(name.split("-")[0])
    except UnknownRegionError:
        return name, None


def _reading_dict(r: GridReading) -> dict[str, Any]:
    return {"zone": r.zone, "gco2e_per_kwh": r.g_per_kwh, "timestamp": r.timestamp,
            "source": r.source, "estimated": r.estimated, "basis": r.basis}


def main(argv: list[str]) -> int:
    """Parse `argv`, fetch once, print; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        name = args.zone or os.environ.get("TRACKER_GRID_ZONE") or ""
        has_token = bool(os.environ.get("TRACKER_GRID_API_TOKEN") or os.environ.get(TOKEN_ENV))
        provider_name = (args.provider or os.environ.get("TRACKER_GRID")
                         or ("electricitymaps" if has_token else "uk"))
        if provider_name == "uk-carbon-intensity":
            provider_name = "uk"
        if not name and provider_name == "uk":
            name = "GB"
        if not name:
            raise ConfigError("zone", "give a ZONE (or set TRACKER_GRID_ZONE)")
        zone, spec = _resolve(name)
        if args.timeout <= 0:
            raise ConfigError("timeout", "must be > 0 seconds")
        if provider_name == "uk" and uk_region_id(zone) is None:
            raise ConfigError("zone", f"{zone!r} is not served by the UK provider; use GB or "
                                      "GB-1..GB-17")
        session = make_session(timeout=(3.05, args.timeout), retries=1, max_retry_after_s=5.0)
        try:
            provider: GridProvider = make_provider(
                provider_name, api_url=args.api_url or os.environ.get("TRACKER_GRID_API_URL"),
                api_token=os.environ.get("TRACKER_GRID_API_TOKEN"), session=session)
        except ConfigError:
            session.close()
            raise
    except ConfigError as exc:
        print(f"llm-energy grid: error: {exc}", file=sys.stderr)
        return 2
    reading: GridReading | None = None
    error: str | None = None
    try:
        reading = provider.fetch(zone)
    except GridError as exc:
        error = str(exc)
    finally:
        session.close()
    registry = None if spec is None else {
        "region": spec.name, "gco2e_per_kwh": spec.gco2e_per_kwh, "basis": spec.basis,
        "year": spec.year, "source": spec.source}
    if args.json:
        print(json.dumps({"zone": zone, "live": None if reading is None else _reading_dict(reading),
                          "error": error, "registry": registry}))
    else:
        lines = [f"zone {zone}" + (f" (registry region {spec.name})" if spec is not None else "")]
        if reading is not None:
            kind = {True: ", estimated/forecast", False: ", measured", None: ""}[reading.estimated]
            lines.append(f"  live      {U.per_kwh(reading.g_per_kwh, 'gCO2e')}  "
                         f"{reading.source}, {reading.timestamp}{kind}")
        else:
            lines.append(f"  live      unavailable: {error}")
        if spec is not None:
            lines.append(f"  registry  {U.per_kwh(spec.gco2e_per_kwh, 'gCO2e')}  {spec.basis}, "
                         f"{spec.year}, {spec.source}")
        else:
            lines.append("  registry  no entry for this zone")
        write_wrapped("\n".join(lines), indent="            ")
    return 0 if reading is not None else 1

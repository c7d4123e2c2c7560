"""Parsing of `configure()` values and their `TRACKER_*` environment variables.

Every parser takes the option's name (for the error message) and a raw value, from an argument
or from the environment (then a string), and returns the typed value or raises `ConfigError`
naming the option.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from tracker.exceptions import ConfigError

__all__ = ["PARSERS", "LabelValue", "env_value", "parse_instrument", "parse_labels"]

LabelValue = str | int | float | bool
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}



def env_value(name: str) -> str | None:
    """The raw `TRACKER_<NAME>` environment variable, or None when unset."""
    return os.environ.get(f"TRACKER_{name.upper()}")


def _bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigError(name, f"must be true or false, got {value!r}")


def _float(name: str, value: object) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ConfigError(name, f"must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(name, f"must be a number, got {value!r}")
    return float(value)


def _int(name: str, value: object) -> int:
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise ConfigError(name, f"must be an integer, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be an integer, got {value!r}")
    return value


def _str(name: str, value: object) -> str:
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise ConfigError(name, f"must be a non-empty string, got {value!r}")
    return str(value).strip()


def parse_labels(value: object) -> dict[str, LabelValue]:
    """Labels from a dict, a JSON object string or ``k=v,k=v``."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise ConfigError("labels", f"invalid JSON: {exc}") from None
        else:
            pairs = [p for p in text.split(",") if p.strip()]
            if any("=" not in p for p in pairs):
                raise ConfigError("labels", f"expected JSON or k=v,k=v, got {value!r}")
            value = {k.strip(): v.strip() for k, v in (p.split("=", 1) for p in pairs)}
    if not isinstance(value, Mapping):
        raise ConfigError("labels", f"must be a dict of str to str/int/float/bool, got {value!r}")
    out: dict[str, LabelValue] = {}
    for key, val in value.items():
        if not isinstance(key, str) or not key:
            raise ConfigError("labels", f"keys must be non-empty strings, got {key!r}")
        if not isinstance(val, (str, int, float, bool)):
            raise ConfigError("labels", f"value of {key!r} must be str, int, float or bool")
        out[key] = val
    return out


def parse_instrument(value: object) -> bool | tuple[str, ...]:
    """`instrument`: a bool (or its word) or provider names (a list or ``a,b``)."""
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE | _FALSE:
            return low in _TRUE
        names = tuple(n.strip() for n in value.split(",") if n.strip())
        if not names:
            raise ConfigError("instrument", f"must be true, false or provider names, got {value!r}")
        return names
    if isinstance(value, bool):
        return value
    if isinstance(value, Sequence) and all(isinstance(n, str) and n for n in value):
        return tuple(value)
    raise ConfigError("instrument", f"must be a bool or a list of provider names, got {value!r}")


PARSERS: dict[str, Any] = {
    "model": _str, "hardware": _str, "region": _str, "method": _str, "precision": _str,
    "registry_file": _str, "grid": _str, "grid_api_url": _str, "grid_api_token": _str,
    "grid_zone": _str, "grid_ttl_s": _float, "otlp_endpoint": _str, "protocol": _str,
    "prometheus_port": _int, "service_name": _str, "pue": _float, "host_overhead": _float,
    "batch_size": _float,
    "carbon_intensity": _float, "price_usd_per_kwh": _float, "wue": _float, "gpus": _int,
    "enabled": _bool, "strict": _bool, "stream_usage": _bool,
}

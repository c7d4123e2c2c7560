"""Parsers of option values: from `configure()` arguments or from ``TRACKER_*`` strings.

Every parser takes the option's name (for the error message) and a raw value, from an argument or
from the environment (then a string), and returns the typed value or raises `ConfigError` naming
the option. Numbers must be finite; integers are bounded, so no value can later overflow or turn
an estimate into ``inf``.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from tracker.exceptions import ConfigError

__all__ = [
    "LabelValue",
    "boolean",
    "count",
    "duration",
    "factor",
    "gpu_indices",
    "instrument",
    "integer",
    "labels",
    "ledger",
    "limit",
    "logger_provider",
    "meter_provider",
    "money",
    "number",
    "port",
    "text",
    "tracer_provider",
    "ttl",
    "url",
]

LabelValue = str | int | float | bool
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_LEDGER_OFF = {"", "0", "false", "no", "off", "none"}
#: Largest integer option value taken (accelerators, ports are far below it).
_MAX_INT = 10**9
#: Longest string option value taken.
_MAX_TEXT = 4096
#: Longest duration taken (seconds): a year, longer than any forecast or wait makes sense for.
MAX_DURATION_S = 366 * 86400.0
#: Largest limit, count or amount of money taken: 1e15 (kWh, gCO2e, USD or tokens) is beyond
#: the world's yearly electricity use (about 3e13 kWh, IEA Electricity 2024); it keeps every sum
#: finite. The ledger reader bounds a line's values the same way.
MAX_AMOUNT = 1e15
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(min|d|h|m|s)", re.IGNORECASE)
_DURATION_UNIT = {"d": 86400.0, "h": 3600.0, "m": 60.0, "min": 60.0, "s": 1.0}
#: Most labels and longest label value.
_MAX_LABELS = 64
_MAX_LABEL_VALUE = 4096


def boolean(name: str, value: object) -> bool:
    """A bool, or one of its words (true/false, yes/no, on/off, 1/0)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigError(name, f"must be true or false, got {_show(value)}")


def number(name: str, value: object) -> float:
    """A finite number."""
    if isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise ConfigError(name, f"must be a number, got {_show(value)}") from None
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(name, f"must be a number, got {_show(value)}")
    else:
        try:
            result = float(value)
        except OverflowError:
            raise ConfigError(name, "is too large") from None
    if not math.isfinite(result):
        raise ConfigError(name, f"must be a finite number, got {_show(value)}")
    return result


def integer(name: str, value: object) -> int:
    """An integer within +-10^9."""
    if isinstance(value, str):
        text_value = value.strip()
        if len(text_value) > 12:
            raise ConfigError(name, f"must be an integer up to {_MAX_INT}")
        try:
            result = int(text_value)
        except ValueError:
            raise ConfigError(name, f"must be an integer, got {_show(value)}") from None
    elif isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be an integer, got {_show(value)}")
    else:
        result = value
    if abs(result) > _MAX_INT:
        raise ConfigError(name, f"must be an integer up to {_MAX_INT}")
    return result


def gpu_indices(name: str, value: object) -> tuple[int, ...] | None:
    """GPU indices (0 to 1023): a list of integers or ``0,1``; empty or None: off."""
    if value is None:
        return None
    items: list[object]
    if isinstance(value, str):
        items = [part for part in value.replace(" ", "").split(",") if part]
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    elif isinstance(value, (list, tuple)) and len(value) <= 1024:
        items = list(value)
    else:
        raise ConfigError(name, f"must be GPU indices such as [0, 1] or `0,1`, got {_show(value)}")
    if len(items) > 64:
        raise ConfigError(name, "names more than 64 GPUs")
    result = []
    for item in items:
        index = integer(name, item)
        if not 0 <= index < 1024:
            raise ConfigError(name, f"must be GPU indices from 0 to 1023, got {index}")
        if index not in result:
            result.append(index)
    return tuple(result) or None


def _bounded(name: str, result: float, minimum: float, maximum: float, unit: str = "") -> float:
    if not minimum <= result <= maximum:  # also false for NaN
        raise ConfigError(name, f"must be from {minimum:g} to {maximum:g}{unit}, got "
                          f"{_show(result)}")
    return result


def factor(name: str, value: object, minimum: float = 0.0, maximum: float = MAX_AMOUNT) -> float:
    """A finite number from `minimum` to `maximum` (a PUE, a ratio, an intensity...)."""
    return _bounded(name, number(name, value), minimum, maximum)


def limit(name: str, value: object) -> float:
    """A limit (a budget in kWh, gCO2e or USD): a finite number above 0, at most 1e15."""
    result = number(name, value)
    if not result > 0:
        raise ConfigError(name, f"must be a finite number > 0, got {_show(value)}")
    return _bounded(name, result, 0.0, MAX_AMOUNT)


def money(name: str, value: object) -> float:
    """An amount of money (USD, or USD per kWh): a finite number from 0 to 1e15."""
    return _bounded(name, number(name, value), 0.0, MAX_AMOUNT)


def count(name: str, value: object) -> int:
    """A count (tokens, calls, requests): an integer from 0 to 1e15."""
    if isinstance(value, str):
        text_value = value.strip().replace("_", "")
        if not (text_value.isascii() and text_value.isdigit()) or len(text_value) > 16:
            raise ConfigError(name, f"must be a whole number from 0 to {MAX_AMOUNT:.0e}, got "
                              f"{_show(value)}")
        result = int(text_value)
    elif isinstance(value, float) and value.is_integer():
        result = int(value)
    elif isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be a whole number, got {_show(value)}")
    else:
        result = value
    if not 0 <= result <= MAX_AMOUNT:
        raise ConfigError(name, f"must be a whole number from 0 to {MAX_AMOUNT:.0e}, got "
                          f"{_show(result)}")
    return result


def duration(name: str, value: object) -> float:
    """A duration in seconds, from 0 to a year: a `timedelta`, seconds, or ``2h``, ``1h30m``...

    Text is one or more number-unit parts (``d``, ``h``, ``m``/``min``, ``s``).
    """
    seconds_of = getattr(value, "total_seconds", None)
    if seconds_of is not None and callable(seconds_of):
        result = float(seconds_of())
    elif isinstance(value, str):
        spoken = value.strip().replace(" ", "")
        parts = list(_DURATION_PART.finditer(spoken)) if 0 < len(spoken) <= 64 else []
        if not parts or "".join(p.group(0) for p in parts).lower() != spoken.lower():
            raise ConfigError(name, f"cannot read duration {_show(value)} (use e.g. 30m, 2h, "
                              "1h30m, 1d)")
        result = sum(float(p.group(1)) * _DURATION_UNIT[p.group(2).lower()] for p in parts)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(name, f"must be a duration (timedelta, seconds or '2h'), got "
                          f"{_show(value)}")
    else:
        result = number(name, value)
    if not math.isfinite(result):
        raise ConfigError(name, f"must be a finite duration, got {_show(value)}")
    if result < 0:
        raise ConfigError(name, f"must not be negative, got {_show(value)}")
    return _bounded(name, result, 0.0, MAX_DURATION_S, " seconds")


def port(name: str, value: object) -> int:
    """A TCP port, 0 (any free port) to 65535."""
    result = integer(name, value)
    if not 0 <= result <= 65535:
        raise ConfigError(name, f"must be a port from 0 to 65535, got {result}")
    return result


def ttl(name: str, value: object) -> float:
    """Seconds between refreshes, at least 1."""
    result = number(name, value)
    if result < 1:
        raise ConfigError(name, f"must be at least 1 second, got {result}")
    return result


def text(name: str, value: object) -> str:
    """A non-empty string (a path is taken as its string)."""
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigError(name, f"must be a non-empty string, got {_show(value)}")
    result = str(os.fspath(value)).strip()
    if not result:
        raise ConfigError(name, "must be a non-empty string")
    if len(result) > _MAX_TEXT:
        raise ConfigError(name, f"must be at most {_MAX_TEXT} characters")
    return result


#: A host name (RFC 1123 labels), an IPv4 address, or an IPv6 address in brackets.
_HOST = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
                   r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?|\[[0-9A-Fa-f:.]+\]")


def url(name: str, value: object) -> str:
    """A URL (``http``/``https``) or ``host:port``, with a valid host and no whitespace."""
    result = text(name, value)
    if any(c.isspace() or not c.isprintable() for c in result):
        raise ConfigError(name, "is not a valid URL (it holds spaces or control characters)")
    try:
        parts = urlsplit(result if "://" in result else f"http://{result}")
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise ConfigError(name, "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(name, "must be an http(s) URL or host:port")
    host = parts.netloc.rpartition("@")[2]
    host = host if host.startswith("[") else host.partition(":")[0]
    if not _HOST.fullmatch(host.split("]")[0] + ("]" if host.startswith("[") else "")):
        raise ConfigError(name, "is not a valid URL (bad host name)")
    return result


def labels(name: str, value: object) -> Mapping[str, LabelValue]:
    """Labels from a dict, a JSON object string or ``k=v,k=v``; values str/int/float/bool."""
    if value is None:
        return {}
    if isinstance(value, str):
        raw = value.strip()
        if raw.startswith("{"):
            try:
                value = json.loads(raw)
            except (ValueError, RecursionError):
                raise ConfigError(name, "is not a valid JSON object") from None
        else:
            pairs = [p for p in raw.split(",") if p.strip()]
            if any("=" not in p for p in pairs):
                raise ConfigError(name, "expected a JSON object or k=v,k=v")
            value = {k.strip(): v.strip() for k, v in (p.split("=", 1) for p in pairs)}
    if not isinstance(value, Mapping):
        raise ConfigError(name, "must be a mapping of str to str, int, float or bool")
    if len(value) > _MAX_LABELS:
        raise ConfigError(name, f"at most {_MAX_LABELS} labels")
    out: dict[str, LabelValue] = {}
    for key, val in value.items():
        if not isinstance(key, str) or not key or len(key) > 256:
            raise ConfigError(name, "keys must be non-empty strings up to 256 characters")
        if isinstance(val, float) and not math.isfinite(val):
            raise ConfigError(name, f"value of {key!r} must be a finite number")
        if isinstance(val, int) and not isinstance(val, bool) and abs(val) > 2**63 - 1:
            raise ConfigError(name, f"value of {key!r} is too large")
        if not isinstance(val, (str, int, float, bool)):
            raise ConfigError(name, f"value of {key!r} must be str, int, float or bool")
        if isinstance(val, str) and len(val) > _MAX_LABEL_VALUE:
            raise ConfigError(name, f"value of {key!r} is longer than {_MAX_LABEL_VALUE}")
        out[key] = val
    return out


def instrument(name: str, value: object) -> bool | tuple[str, ...]:
    """A bool (or its word) or integration names (a list or ``a,b``)."""
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE | _FALSE:
            return low in _TRUE
        names = tuple(n.strip() for n in value.split(",") if n.strip())
        if not names:
            raise ConfigError(name, "must be true, false or integration names")
        return names
    if isinstance(value, bool):
        return value
    if isinstance(value, Sequence) and value and all(isinstance(n, str) and n for n in value):
        return tuple(value)
    raise ConfigError(name, "must be a bool or a list of integration names")


def ledger(name: str, value: object) -> str | None:
    """``auto``, a path, or None/False/"" (off); True means the default path."""
    if value is None or value is False:
        return None
    if value is True:
        return "llm-energy-ledger.jsonl"
    result = text(name, value) if not isinstance(value, str) else value.strip()
    if result.lower() in _LEDGER_OFF:
        return None
    if result.lower() == "auto":
        return "auto"
    return text(name, result)


def _provider(method: str) -> Any:
    def parse(name: str, value: object) -> object:
        if not callable(getattr(value, method, None)):
            raise ConfigError(name, f"must be an OpenTelemetry provider with {method}()")
        return value

    return parse


tracer_provider = _provider("get_tracer")
meter_provider = _provider("get_meter")
logger_provider = _provider("get_logger")


def _show(value: object) -> str:
    """A short, safe rendering of a bad value for an error message."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return "a very large integer"
    shown = repr(value) if isinstance(value, (str, int, float, bool)) else type(value).__name__
    return shown if len(shown) <= 40 else shown[:37] + "..."

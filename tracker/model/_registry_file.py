"""Reading registry data: the built-in JSON files, and a user's TOML or JSON registry file.

`read_file(path)` returns the specs of a file shaped as ``{"models": [...], "hardware": [...],
"regions": [...]}``, or raises `ConfigError("registry_file", ...)` naming the file, the entry
and the field. `builtin(filename)` returns the entries of a built-in data file
(``tracker/model/data``), validated once per process.
"""

from __future__ import annotations

import importlib
import json
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from tracker.exceptions import ConfigError
from tracker.model._specs import HardwareSpec, ModelSpec, RegionSpec

__all__ = ["Spec", "builtin", "read_file"]

Spec = ModelSpec | HardwareSpec | RegionSpec
#: Registry files nest at most this deep (deeper input is refused before validation).
_MAX_DEPTH = 32

_SECTIONS: dict[str, type[ModelSpec] | type[HardwareSpec] | type[RegionSpec]] = {
    "models": ModelSpec, "hardware": HardwareSpec, "regions": RegionSpec,
}


S = TypeVar("S", ModelSpec, HardwareSpec, RegionSpec)


class _DataFile(BaseModel, Generic[S]):
    """A versioned built-in data file: `{"version": ..., "entries": [...]}`."""

    model_config = ConfigDict(extra="forbid")
    version: str
    description: str = ""
    entries: list[S]


@cache
def builtin(filename: str) -> tuple[Spec, ...]:
    """Entries of one built-in data file, parsed and validated once per process."""
    text = resources.files("tracker.model").joinpath("data").joinpath(filename).read_text("utf-8")
    if filename == "models.json":
        return tuple(_DataFile[ModelSpec].model_validate_json(text).entries)
    if filename == "hardware.json":
        return tuple(_DataFile[HardwareSpec].model_validate_json(text).entries)
    return tuple(_DataFile[RegionSpec].model_validate_json(text).entries)


def _parse_toml(text: str, where: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads(text)
    try:
        toml: Any = importlib.import_module("tomli")
    except ImportError:
        raise ConfigError("registry_file", f"{where}: reading TOML on Python 3.10 needs the "
                          "'tomli' package; install it or use a JSON file") from None
    return toml.loads(text)


def read_file(path: Path) -> list[Spec]:
    """The validated entries of the registry file at `path`."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("registry_file", f"{where}: cannot read ({exc})") from None
    try:
        data = _parse_toml(text, where) if path.suffix.lower() == ".toml" else json.loads(text)
    except ConfigError:
        raise
    except ValueError as exc:  # json.JSONDecodeError and tomllib.TOMLDecodeError
        raise ConfigError("registry_file", f"{where}: not valid {path.suffix or 'JSON'}: "
                          f"{exc}") from None
    except RecursionError:
        raise ConfigError("registry_file", f"{where}: nested too deeply") from None
    if _too_deep(data, _MAX_DEPTH):
        raise ConfigError("registry_file", f"{where}: nested more than {_MAX_DEPTH} levels deep")
    if not isinstance(data, dict):
        raise ConfigError("registry_file", f"{where}: expected a table/object with keys "
                          f"{sorted(_SECTIONS)}")
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise ConfigError("registry_file", f"{where}: unknown section(s) {unknown}; expected "
                          f"{sorted(_SECTIONS)}")
    specs: list[Spec] = []
    for section, spec_type in _SECTIONS.items():
        entries = data.get(section, [])
        if not isinstance(entries, list):
            raise ConfigError("registry_file", f"{where}: '{section}' must be a list of entries")
        for i, entry in enumerate(entries):
            label = f"{section}[{i}]"
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                label += f" ({entry['name']!r})"
            try:
                specs.append(spec_type.model_validate(entry))
            except ValidationError as exc:
                raise ConfigError("registry_file", f"{where}: {label}: {_describe(exc)}") from None
            except (RecursionError, OverflowError) as exc:
                raise ConfigError("registry_file", f"{where}: {label}: invalid entry "
                                  f"({type(exc).__name__})") from None
    return specs


def _too_deep(data: Any, limit: int) -> bool:
    """Whether `data` nests lists/objects deeper than `limit` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "entry"
        parts.append(f"field '{loc}': {err['msg']}")
    return "; ".join(parts)

"""Resolving options: the keyword argument, then ``TRACKER_<NAME>``, then the default.

`resolve()` turns `configure()`'s keyword arguments into a validated `Config`, reading the
environment for every option not given. Strict mode (what `configure()` uses) raises the first
`ConfigError`; lenient mode (the lazy default built when `configure()` was never called) sets each
bad variable aside, reports it once, and keeps every other one, so a typo in one variable never
silently flips another (``TRACKER_ENABLED=false`` stays false beside ``TRACKER_PUE=abc``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from tracker.config._options import Config, env_name, option_specs
from tracker.exceptions import ConfigError

__all__ = ["option_names", "resolve"]

_NAMES = frozenset(f.name for f, _ in option_specs())


def option_names() -> frozenset[str]:
    """Every option name."""
    return _NAMES


def resolve(options: Mapping[str, Any], *, use_env: bool = True,
            env: Mapping[str, str] | None = None,
            errors: list[ConfigError] | None = None) -> Config:
    """A validated `Config` from keyword arguments, the environment and the defaults.

    With `errors` given (lenient mode), a bad environment value is appended there and the
    option keeps its default; bad keyword arguments always raise.
    """
    unknown = sorted(set(options) - _NAMES)
    if unknown:
        raise ConfigError(unknown[0], "is not a configuration option")
    environ = os.environ if env is None else env
    values: dict[str, Any] = {}
    for f, spec in option_specs():
        name = f.name
        raw = options.get(name)
        given = raw is not None or (name == "ledger" and name in options)
        if given:
            values[name] = spec.parse(name, raw)
            continue
        text = environ.get(env_name(name)) if use_env and spec.env else None
        if text is None:
            continue
        try:
            values[name] = spec.parse(name, text)
        except ConfigError as exc:
            if errors is None:
                raise
            errors.append(exc)
    if "labels" in values:
        values["labels"] = MappingProxyType(dict(values["labels"]))
    return Config(**values)

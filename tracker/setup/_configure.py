"""`configure()`: the SDK's one configuration, validated eagerly, replaced atomically.

Precedence for every option: the keyword argument, then the environment variable
``TRACKER_<OPTION>`` (e.g. ``TRACKER_PUE=1.1``), then the default; the options, their types,
defaults and meaning are the fields of `tracker.Config` (one table: `tracker.config._options`).
Deployment values (hardware, region, PUE, water) have one more layer below the configured value:
the assumed deployment of the call's provider (`tracker.model._deployments`), then the energy
model's defaults.

A bad value raises `tracker.ConfigError` (a `ValueError`) naming the field, at configure time,
never later inside a tracked call, and leaves the previous configuration in place. Without any
`configure()` call the SDK builds a default configuration from the environment on first use
(that lazy path logs a bad environment variable and ignores it, keeping the others).
"""

from __future__ import annotations

import inspect
from typing import Any

from tracker import _internal_errors
from tracker.config._options import Config, option_specs
from tracker.config._resolve import resolve
from tracker.exceptions import ConfigError
from tracker.recording import _runtime, _usage_warnings
from tracker.recording._runtime import get_runtime, shutdown
from tracker.reduce._budgets import set_budgets

__all__ = ["Config", "configure", "configure_leniently", "get_config", "get_runtime", "reset",
           "shutdown"]


def _check_instrument(instrument: bool | tuple[str, ...]) -> None:
    if isinstance(instrument, tuple):
        from tracker.instrumentation._registry import INTEGRATIONS

        for name in instrument:
            if name not in INTEGRATIONS:
                known = ", ".join(sorted(INTEGRATIONS))
                raise ConfigError("instrument", f"no integration named {name!r}; known: {known}")


def _instrument(instrument: bool | tuple[str, ...]) -> None:
    if instrument is False:
        return
    from tracker.instrumentation import _registry

    if instrument is True:
        with _internal_errors.guard("configure.instrument"):
            _registry.instrument()
    else:
        _registry.instrument(*instrument)


def configure(**options: Any) -> Config:
    """Configure the SDK and return the frozen `Config`; replaces any previous configuration.

    Every option (a field of `Config`) falls back to ``TRACKER_<OPTION>`` in the environment,
    then to its default. Raises `ConfigError` naming the field, leaving the previous
    configuration in place. With `instrument` true (the default) the installed client-library
    integrations are enabled; naming one that is not installed raises `IntegrationNotAvailable`.
    """
    config = resolve(options)
    _check_instrument(config.instrument)
    runtime = _runtime.build(config)
    _runtime.install(runtime)
    set_budgets(config.budgets)
    if config.price_spans:
        from tracker.recording._span_pricing import install_on_global_provider

        with _internal_errors.guard("configure.price_spans"):
            install_on_global_provider()
    _instrument(runtime.config.instrument)
    return runtime.config


def configure_leniently(**options: Any) -> Config:
    """`configure()` from the environment that never raises for it (``opentelemetry-instrument``).

    `options` (the providers a launcher passes) are taken as given; each ``TRACKER_*`` variable
    that fails to parse or to validate is logged and set aside, and every other one applies,
    as on the lazy path without `configure()`.
    """
    errors: list[Exception] = []
    parse_errors: list[ConfigError] = []
    config = resolve(options, errors=parse_errors)
    errors.extend(parse_errors)
    try:
        _check_instrument(config.instrument)
    except ConfigError as exc:
        errors.append(exc)
        config = config.replace(instrument=True)
    runtime = _runtime.build_lenient(config, errors)
    _runtime.report_set_aside(errors)
    _runtime.install(runtime)
    _internal_errors.set_strict(runtime.config.strict)
    with _internal_errors.guard("configure.budgets"):
        set_budgets(runtime.config.budgets)
    if runtime.config.price_spans:
        from tracker.recording._span_pricing import install_on_global_provider

        with _internal_errors.guard("configure.price_spans"):
            install_on_global_provider()
    with _internal_errors.guard("configure.instrument"):
        _instrument(runtime.config.instrument)
    return runtime.config


configure.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                       annotation=f.type) for f, _ in option_specs()],
    return_annotation="Config")


def reset() -> None:
    """Forget the configuration and close what it held (for tests); the next use rebuilds it.

    The once-only warnings of `record_usage()` are forgotten too.
    """
    _runtime.reset()
    set_budgets(None)
    _usage_warnings.reset()


def get_config() -> Config:
    """The current configuration (the lazily built default when `configure()` was not called)."""
    return get_runtime().config

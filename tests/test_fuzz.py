"""Property-based fuzz: any input either works or raises `ConfigError` naming a field.

- `record_usage()` never raises, and returns finite, non-negative figures (strict mode on, so an
  internal error would surface here instead of being logged);
- `estimate()` returns finite, non-negative figures or raises `ConfigError`;
- the registry file loader accepts the file or raises ``ConfigError("registry_file", ...)``;
- the environment: ``configure()`` under random ``TRACKER_*`` values works or raises
  `ConfigError` naming the option (or its variable), and the lazily built default never raises.

(The ``llm-energy report`` line fuzz lives with the CLI tests.)
"""

from __future__ import annotations

import dataclasses
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracker
from tracker.model._registry import Registry

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

KNOWN_MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "llama-3.1-70b", "unknown-x"]
_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                       blacklist_characters="\x00"), max_size=40)
_NUMBERS = st.one_of(
    st.integers(min_value=-10**6, max_value=10**6),
    st.integers(min_value=-10**500, max_value=10**500),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 10**12, 10**12 + 1, 1e308, -0.0, True, False]),
)
_ANY = st.one_of(st.none(), _NUMBERS, _TEXT, st.lists(st.integers(), max_size=3),
                 st.dictionaries(_TEXT, st.integers(), max_size=2))


def _finite_estimate(est: Any) -> None:
    for name in ("energy_kwh", "energy_kwh_min", "energy_kwh_max", "gco2e", "usd", "water_l"):
        value = getattr(est, name)
        assert math.isfinite(value) and value >= 0, (name, value)
    assert est.energy_kwh_min <= est.energy_kwh <= est.energy_kwh_max


# ----------------------------------------------------------------------------- record_usage


@FUZZ
@given(model=st.one_of(st.none(), st.sampled_from(KNOWN_MODELS), _TEXT, _NUMBERS),
       input_tokens=_ANY, output_tokens=_ANY,
       provider=st.one_of(st.none(), st.sampled_from(["openai", "anthropic"]), _TEXT, _NUMBERS),
       operation=st.one_of(st.sampled_from(["chat", "embeddings"]), _TEXT, _NUMBERS),
       attributes=st.dictionaries(st.sampled_from(["team", "api_key", "n", "prompt", "x"]), _ANY,
                                  max_size=3))
def test_record_usage_never_raises(configured: Any, model: Any, input_tokens: Any,
                                   output_tokens: Any, provider: Any, operation: Any,
                                   attributes: dict[str, Any]) -> None:
    est = tracker.record_usage(model, input_tokens, output_tokens, provider, operation,
                               **attributes)
    if est is not None:
        _finite_estimate(est)
        assert 0 <= est.input_tokens <= 10**12 and 0 <= est.output_tokens <= 10**12


# ----------------------------------------------------------------------------- estimate

_ESTIMATE_FIELDS = ("output_tokens", "input_tokens", "gpus", "batch_size", "pue",
                    "host_overhead", "carbon_intensity", "price_usd_per_kwh", "wue")


@FUZZ
@given(model=st.one_of(st.sampled_from(KNOWN_MODELS), _TEXT, _ANY),
       numbers=st.dictionaries(st.sampled_from(_ESTIMATE_FIELDS), _ANY, max_size=4),
       names=st.dictionaries(st.sampled_from(["hardware", "region", "precision", "method"]),
                             st.one_of(st.sampled_from(["h100", "a100", "fr", "us", "world",
                                                        "fp8", "bf16", "flops", "calibrated"]),
                                       _TEXT, _ANY), max_size=2))
def test_estimate_works_or_raises_config_error(model: Any, numbers: dict[str, Any],
                                               names: dict[str, Any]) -> None:
    try:
        est = tracker.estimate(model, **numbers, **names)
    except tracker.ConfigError as exc:
        assert isinstance(exc.field, str) and exc.field
        assert str(exc).startswith(exc.field)
        return
    _finite_estimate(est)


# ----------------------------------------------------------------------------- registry loader

_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), _NUMBERS.filter(lambda v: not isinstance(v, bool)),
              _TEXT),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(_TEXT, children, max_size=4)),
    max_leaves=20)
_ENTRY = st.fixed_dictionaries(
    {"name": st.one_of(_TEXT, _NUMBERS)},
    optional={"total_params_b": _JSON, "active_params_b": _JSON, "precision": _JSON,
              "gco2e_per_kwh": _JSON, "tdp_w": _JSON, "memory_gb": _JSON,
              "bandwidth_tb_s": _JSON, "peak_tflops": _JSON, "aliases": _JSON, "year": _JSON})
_FILE = st.one_of(
    st.dictionaries(st.sampled_from(["models", "hardware", "regions", "other"]),
                    st.one_of(st.lists(_ENTRY, max_size=3), _JSON), max_size=3),
    _JSON,
)


def _dump(data: Any) -> str:
    try:
        return json.dumps(data)  # NaN/Infinity literals included: Python's json writes them
    except (ValueError, OverflowError):
        return "{}"


@FUZZ
@given(data=_FILE, raw=st.one_of(st.none(), _TEXT), suffix=st.sampled_from([".json", ".toml"]))
def test_registry_loader_works_or_raises_config_error(data: Any, raw: str | None,
                                                      suffix: str) -> None:
    text = raw if raw is not None else _dump(data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"extra{suffix}"
        path.write_text(text, encoding="utf-8")
        registry = Registry(builtin=False)
        try:
            registry.load_file(path)
        except tracker.ConfigError as exc:
            assert exc.field == "registry_file"
            return
    for spec in registry.models():
        assert math.isfinite(spec.total_params_b) and spec.total_params_b > 0


# ----------------------------------------------------------------------------- environment

#: Options whose variables start threads, servers, network access or file writes: left out.
_SKIP = {"ledger", "registry_file", "grid", "grid_api_url", "grid_api_token", "grid_zone",
         "otlp_endpoint", "prometheus_port", "instrument", "tracer_provider", "meter_provider",
         "logger_provider"}
_OPTIONS = sorted(f.name for f in dataclasses.fields(tracker.Config) if f.name not in _SKIP)
_ENV_VALUE = st.one_of(
    _TEXT,
    st.sampled_from(["", " ", "nan", "inf", "-inf", "-1", "0", "1", "1e308", "true", "false",
                     "yes", "off", "gpt-4o", "h100", "fr", "fp8", "flops", "calibrated",
                     '{"team": "a"}', '{"x": NaN}', "team=a,env=b", "=", ",", "1" * 500]),
    st.integers(min_value=-10**400, max_value=10**400).map(str),
    st.floats().map(str),
)


def _names_the_option(exc: tracker.ConfigError, env: dict[str, str]) -> bool:
    candidates = set()
    for var in env:
        name = var[len("TRACKER_"):].lower()
        candidates |= {name, var}
    return any(exc.field == c or exc.field.startswith(f"{c}.") or exc.field.startswith(f"{c}[")
               for c in candidates)


@FUZZ
@given(env=st.dictionaries(st.sampled_from(_OPTIONS).map(lambda n: f"TRACKER_{n.upper()}"),
                           _ENV_VALUE, min_size=1, max_size=4))
def test_environment_configures_or_raises_config_error_naming_the_field(
        env: dict[str, str]) -> None:
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        try:
            try:
                config = tracker.configure(ledger=None, instrument=False)
            except tracker.ConfigError as exc:
                assert _names_the_option(exc, env), (exc.field, str(exc), env)
            else:
                assert isinstance(config, tracker.Config)
            tracker.reset()
            mp.setenv("TRACKER_STRICT", "false")
            # The lazy default (no configure() call) never raises, whatever the environment.
            est = tracker.record_usage("gpt-4o", 10, 5)
            if est is not None:
                _finite_estimate(est)
        finally:
            tracker.reset()

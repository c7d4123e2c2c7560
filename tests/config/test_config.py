"""configure(): validation at configure time, env precedence, atomic replacement, defaults."""

from __future__ import annotations

import dataclasses
import inspect
import logging
from pathlib import Path
from typing import Any

import pytest

import tracker
from tracker.exceptions import ConfigError
from tracker.setup._configure import Config


@pytest.mark.parametrize(("options", "field"), [
    ({"pue": 0.5}, "pue"),
    ({"hardware": "h9000"}, "hardware"),
    ({"region": "atlantis-1"}, "region"),
    ({"price_usd_per_kwh": -0.1}, "price_usd_per_kwh"),
    ({"carbon_intensity": -1}, "carbon_intensity"),
    ({"method": "guess"}, "method"),
    ({"precision": "fp3"}, "precision"),
    ({"gpus": 0}, "gpus"),
    ({"batch_size": 0}, "batch_size"),
    ({"wue": -1.0}, "wue"),
    ({"host_overhead": "lots"}, "host_overhead"),
    ({"labels": {"k": [1, 2]}}, "labels"),
    ({"labels": "no-equals-sign"}, "labels"),
    ({"enabled": "maybe"}, "enabled"),
    ({"instrument": 3}, "instrument"),
    ({"ledger": "/nonexistent-dir-xyz/ledger.jsonl"}, "ledger"),
    ({"registry_file": "/nonexistent-dir-xyz/reg.toml"}, "registry_file"),
])
def test_bad_values_raise_config_error_naming_the_field(
        options: dict[str, Any], field: str) -> None:
    with pytest.raises(tracker.ConfigError) as info:
        tracker.configure(**{"instrument": False, **options})
    assert info.value.field == field
    assert field in str(info.value)
    assert isinstance(info.value, ValueError)


def test_failed_configure_keeps_previous_configuration() -> None:
    first = tracker.configure(pue=1.1, instrument=False)
    with pytest.raises(tracker.ConfigError):
        tracker.configure(pue=0.2, instrument=False)
    assert tracker.get_config() is first


def test_config_is_frozen_and_replaced_atomically() -> None:
    first = tracker.configure(model="gpt-4o", labels={"a": 1}, instrument=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.model = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        first.labels["b"] = 2  # type: ignore[index]
    second = tracker.configure(region="FR", instrument=False)
    assert tracker.get_config() is second
    assert second.model is None and second.region == "FR" and dict(second.labels) == {}


def test_keyword_only() -> None:
    with pytest.raises(TypeError):
        tracker.configure("gpt-4o")  # type: ignore[misc]


ENV_CASES: list[tuple[str, str, str, Any]] = [
    ("TRACKER_MODEL", "gpt-4o", "model", "gpt-4o"),
    ("TRACKER_HARDWARE", "b200", "hardware", "b200"),
    ("TRACKER_REGION", "FR", "region", "FR"),
    ("TRACKER_PUE", "1.1", "pue", 1.1),
    ("TRACKER_HOST_OVERHEAD", "0.3", "host_overhead", 0.3),
    ("TRACKER_METHOD", "flops", "method", "flops"),
    ("TRACKER_BATCH_SIZE", "32", "batch_size", 32.0),
    ("TRACKER_PRECISION", "fp8", "precision", "fp8"),
    ("TRACKER_GPUS", "4", "gpus", 4),
    ("TRACKER_CARBON_INTENSITY", "100", "carbon_intensity", 100.0),
    ("TRACKER_PRICE_USD_PER_KWH", "0.2", "price_usd_per_kwh", 0.2),
    ("TRACKER_WUE", "0.5", "wue", 0.5),
    ("TRACKER_LABELS", '{"team": "a", "n": 2}', "labels", {"team": "a", "n": 2}),
    ("TRACKER_LABELS", "team=a, env=prod", "labels", {"team": "a", "env": "prod"}),
    ("TRACKER_ENABLED", "false", "enabled", False),
    ("TRACKER_STRICT", "1", "strict", True),
    ("TRACKER_INSTRUMENT", "off", "instrument", False),
    ("TRACKER_INSTRUMENT", "openai,anthropic", "instrument", ("openai", "anthropic")),
    ("TRACKER_STREAM_USAGE", "yes", "stream_usage", True),
    ("TRACKER_GRID_TTL_S", "60", "grid_ttl_s", 60.0),
    ("TRACKER_GRID_ZONE", "DE", "grid_zone", "DE"),
]


@pytest.mark.parametrize(("env", "raw", "field", "expected"), ENV_CASES)
def test_each_environment_variable(monkeypatch: pytest.MonkeyPatch, env: str, raw: str,
                                   field: str, expected: Any) -> None:
    monkeypatch.setenv(env, raw)
    if field == "instrument":  # keep the real integrations untouched
        monkeypatch.setattr("tracker.instrumentation._registry.instrument", lambda *names: [])
    config = tracker.configure()
    value = getattr(config, field)
    assert (dict(value) if field == "labels" else value) == expected


def test_argument_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_PUE", "1.4")
    monkeypatch.setenv("TRACKER_MODEL", "gpt-4o")
    config = tracker.configure(pue=1.05, instrument=False)
    assert config.pue == 1.05 and config.model == "gpt-4o"


def test_bad_environment_value_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_PUE", "high")
    with pytest.raises(tracker.ConfigError) as info:
        tracker.configure(instrument=False)
    assert info.value.field == "pue"


def test_ledger_environment_and_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    monkeypatch.setenv("TRACKER_LEDGER", str(path))
    assert tracker.configure(instrument=False).ledger == str(path)
    for off in (None, False, ""):
        assert tracker.configure(instrument=False, ledger=off).ledger is None
    monkeypatch.delenv("TRACKER_LEDGER")
    monkeypatch.chdir(tmp_path)
    auto = tracker.configure(instrument=False)  # no real TracerProvider anywhere
    assert auto.ledger == str(tmp_path / "llm-energy-ledger.jsonl")
    from opentelemetry.sdk.trace import TracerProvider

    with_otel = tracker.configure(instrument=False, tracer_provider=TracerProvider())
    assert with_otel.ledger is None


def test_lazy_default_configuration_reads_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_REGION", "FR")
    assert tracker.get_config().region == "FR"
    est = tracker.record_usage("llama-3.1-8b", 10, 10)
    assert est is not None and est.region == "FR"


def test_lazy_default_survives_bad_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_PUE", "0.1")
    config = tracker.get_config()
    assert config.pue is None  # the bad value was logged and ignored
    assert tracker.record_usage("llama-3.1-8b", 1, 1) is not None


def test_instrument_option_calls_instrumentation(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr("tracker.instrumentation._registry.instrument",
                        lambda *names: calls.append(names))
    tracker.configure()
    tracker.configure(instrument=["openai"])
    tracker.configure(instrument=False)
    assert calls == [(), ("openai",)]


def test_registry_file_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "models.json"
    path.write_text('{"models": [{"name": "in-house-13b", "total_params_b": 13, '
                    '"source": "internal model card", "year": 2025}]}')
    tracker.configure(registry_file=str(path), instrument=False)
    est = tracker.record_usage("in-house-13b", 10, 10)
    assert est is not None and est.model_known is True


def test_every_option_has_help_and_a_parameter_of_configure() -> None:
    """One table: each Config field has help text and is a keyword of configure()."""
    params = inspect.signature(tracker.configure).parameters
    names = [f.name for f in dataclasses.fields(Config)]
    assert list(params) == names
    for f in dataclasses.fields(Config):
        assert len(f.metadata["option"].help) > 10, f.name


def test_docs_configuration_table_is_the_option_table() -> None:
    """docs/configuration.md holds exactly the table generated from Config."""
    from tracker.config._options import options_markdown

    doc = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    assert options_markdown() in doc


def test_grid_token_is_never_shown() -> None:
    config = Config(grid_api_token="secret-token")
    assert "secret-token" not in repr(config)


# ----------------------------------------------------------------------------- bad input


def test_one_bad_environment_variable_keeps_every_other(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """TRACKER_PUE=abc is ignored (and logged); TRACKER_ENABLED=false and the ledger still hold."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRACKER_PUE", "abc")
    monkeypatch.setenv("TRACKER_ENABLED", "false")
    monkeypatch.setenv("TRACKER_LEDGER", "")
    monkeypatch.setenv("TRACKER_REGION", "FR")
    with caplog.at_level(logging.WARNING, logger="tracker.internal"):
        config = tracker.get_config()
    assert config.enabled is False and config.ledger is None and config.region == "FR"
    assert config.pue is None
    assert tracker.record_usage("gpt-4o-mini", 10, 10) is None  # off: nothing recorded
    assert not (tmp_path / "llm-energy-ledger.jsonl").exists()
    assert any("pue" in r.getMessage() for r in caplog.records)


def test_configure_raises_on_a_bad_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_PUE", "abc")
    with pytest.raises(ConfigError, match="pue"):
        tracker.configure(instrument=False)


@pytest.mark.parametrize(("options", "field"), [
    ({"tracer_provider": object()}, "tracer_provider"),
    ({"meter_provider": "nope"}, "meter_provider"),
    ({"gpus": 10**400}, "gpus"),
    ({"batch_size": float("inf")}, "batch_size"),
    ({"pue": float("nan")}, "pue"),
    ({"pue": 10**400}, "pue"),
    ({"labels": {"x": float("nan")}}, "labels"),
    ({"prometheus_port": 70000}, "prometheus_port"),
    ({"not_an_option": 1}, "not_an_option"),
    ({"otlp_endpoint": "ftp://collector"}, "otlp_endpoint"),
])
def test_bad_values_raise_config_error_naming_that_field(options: dict[str, Any],
                                                        field: str) -> None:
    with pytest.raises(ConfigError) as info:
        tracker.configure(instrument=False, **options)
    assert info.value.field == field


def test_unknown_integration_leaves_the_previous_configuration(tmp_path: Path) -> None:
    before = tracker.configure(instrument=False, region="FR")
    with pytest.raises(ConfigError, match="instrument"):
        tracker.configure(instrument=["nonexistent"], region="DE")
    assert tracker.get_config() is before


def test_repr_hides_tokens_and_url_credentials() -> None:
    config = tracker.configure(instrument=False, grid_api_token="tok-123",
                               otlp_endpoint="https://user:s3cret@otel.example:4318")
    text = repr(config)
    assert "s3cret" not in text and "tok-123" not in text and "otel.example" in text

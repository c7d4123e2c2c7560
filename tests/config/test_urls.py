"""URL options (``grid_api_url``, ``otlp_endpoint``) take only well-formed http(s) URLs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tracker
from tracker.config import _parsers as P
from tracker.exceptions import ConfigError


@pytest.mark.parametrize("value", ["not a url", "http://collector host:4318",
                                   "http://a\tb", "https://x\x1b[31m.example", "ftp://x.example",
                                   "http://-bad-.example/", "http://:4318", "http://x:99999"])
@pytest.mark.parametrize("option", ["grid_api_url", "otlp_endpoint"])
def test_bad_urls_are_refused_by_name(option: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        tracker.configure(**{option: value}, instrument=False, ledger=None)
    assert info.value.field == option


@pytest.mark.parametrize("value", ["http://localhost:4318", "localhost:4318",
                                   "https://api.electricitymap.org/v3", "http://[::1]:4318/v1",
                                   "http://collector_1:4318", "https://user@host.example/x"])
def test_good_urls_are_kept(value: str) -> None:
    assert P.url("otlp_endpoint", value) == value


@given(value=st.text(max_size=60))
def test_any_text_is_a_url_or_a_config_error(value: str) -> None:
    try:
        result = P.url("grid_api_url", value)
    except ConfigError as exc:
        assert exc.field == "grid_api_url"
        return
    assert not any(c.isspace() or not c.isprintable() for c in result)

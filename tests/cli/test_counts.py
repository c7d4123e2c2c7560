"""One token-count parser for every command; no token flags is an error, not 0 kWh."""

from __future__ import annotations

import argparse
import json

import pytest

from tracker.cli._app import main
from tracker.cli._args import token_count


@pytest.mark.parametrize(("written", "count"), [
    ("300000", 300_000), ("300_000", 300_000), ("300,000", 300_000), ("1e6", 1_000_000),
    ("300B", 300_000_000_000), ("15T", 15_000_000_000_000), ("1.5k", 1_500), ("2M", 2_000_000),
    ("0", 0),
])
def test_counts_as_people_write_them(written: str, count: int) -> None:
    assert token_count(written) == count


@pytest.mark.parametrize("written", ["", "abc", "1.5", "-5", "1e400", "nan", "inf", "3x",
                                     "9" * 60, "1e30"])
def test_what_is_not_a_count_is_refused(written: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        token_count(written)


@pytest.mark.parametrize("command", [
    ["estimate", "--model", "gpt-4o-mini", "--json", "--output-tokens"],
    ["compare", "--model", "gpt-4o-mini", "--regions", "FR", "--json", "--output-tokens"],
])
def test_every_command_takes_the_same_counts(command: list[str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    results = []
    for written in ("1000000", "1e6", "1M", "1_000_000"):
        assert main([*command, written]) == 0
        results.append(capsys.readouterr().out)
    assert len(set(results)) == 1
    assert json.loads(results[0])


@pytest.mark.parametrize("command", [
    ["estimate", "--model", "gpt-4o"],
    ["compare", "--model", "gpt-4o", "--regions", "FR"],
])
def test_no_token_flag_is_an_error_naming_it(command: list[str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(command) == 2
    captured = capsys.readouterr()
    assert "--output-tokens" in captured.err and captured.out == ""

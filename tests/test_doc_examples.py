"""Every shell example in the README and docs/ prints what it shows (see tests/doc_examples.py)."""

from __future__ import annotations

import importlib.util
import re
from typing import Any

import pytest

from tests.doc_examples import (
    FILES,
    Example,
    PythonExample,
    examples,
    matches,
    python_examples,
    run,
    run_python,
)

#: Documented outputs show the API price (the `prices` extra: genai-prices, Python 3.11+).
PRICE_TABLE = importlib.util.find_spec("genai_prices") is not None

EXAMPLES = [e for path in FILES for e in examples(path)]
PYTHON = [e for path in FILES for e in python_examples(path)[0]]
SKIPPED = [(path.name, line, reason) for path in FILES for line, reason in python_examples(path)[1]]


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{e.path.name}:{e.line}" for e in EXAMPLES])
def test_example_prints_what_it_shows(example: Example) -> None:
    outputs = run(example)
    for step, out in zip(example.steps, outputs, strict=True):
        if (not PRICE_TABLE and re.search(r"\bAPI\b", "\n".join(step.expected))
                and not matches(step.expected, out)):
            pytest.skip("the documented output has the API price: the `prices` extra "
                        "(genai-prices, Python 3.11 and later) is not installed")
        assert matches(step.expected, out), (
            f"{example.path.name}:{example.line}: `{step.command}` printed:\n" + "\n".join(out))


def test_the_readme_has_runnable_examples() -> None:
    assert any(e.path.name == "README.md" for e in EXAMPLES)


@pytest.mark.parametrize("example", PYTHON, ids=[f"{e.path.name}:{e.line}" for e in PYTHON])
def test_python_example_runs_and_prints_what_it_shows(example: PythonExample,
                                                      demo_server: Any) -> None:
    env = {"OPENAI_BASE_URL": demo_server.openai_base_url,
           "ANTHROPIC_BASE_URL": demo_server.anthropic_base_url}
    out = run_python(example, env)
    if example.expected is not None:
        assert matches(example.expected, out), (
            f"{example.path.name}:{example.line} printed:\n" + "\n".join(out))


def test_every_python_block_not_run_says_why() -> None:
    assert PYTHON and any(e.path.name == "README.md" for e in PYTHON)
    for name, line, reason in SKIPPED:
        assert len(reason) >= 10, f"{name}:{line}: 'not run' needs a reason"

"""Every shell example in the README and docs/ prints what it shows (see tests/doc_examples.py)."""

from __future__ import annotations

import pytest

from tests.doc_examples import FILES, Example, examples, matches, run

EXAMPLES = [e for path in FILES for e in examples(path)]


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{e.path.name}:{e.line}" for e in EXAMPLES])
def test_example_prints_what_it_shows(example: Example) -> None:
    outputs = run(example)
    for step, out in zip(example.steps, outputs, strict=True):
        assert matches(step.expected, out), (
            f"{example.path.name}:{example.line}: `{step.command}` printed:\n" + "\n".join(out))


def test_the_readme_has_runnable_examples() -> None:
    assert any(e.path.name == "README.md" for e in EXAMPLES)

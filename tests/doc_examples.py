"""The shell examples of the README and of docs/: found, run, compared, and refreshed.

An example is a fenced block whose language is ``console``: lines starting with ``$ `` are
commands, the lines after each, up to the next command, its expected output (stdout and stderr
together). All commands of a block run in order in one fresh directory, offline, with the SDK's
environment variables cleared. In the expected output, ``...`` stands for any text within a line,
and a line that is only ``...`` for any number of lines (durations, timestamps, trace ids). A
block preceded by ``<!-- not run: REASON -->`` is not run (it needs a network or a service);
one preceded by ``<!-- run from the repository root -->`` runs there (a benchmark's data).

A fenced ``python`` block is run too, as a script of its own (``python -c``) in a fresh
directory with the same environment, after an implicit ``import tracker`` (a block may use
``tracker.`` names without importing them). ``OPENAI_BASE_URL`` and ``ANTHROPIC_BASE_URL`` point
at the bundled offline server (`tracker.demo._server.DemoServer`), with dummy keys, so an example
calling a client library runs for real. When a ``text`` block follows it (only blank lines
between), that is the expected output, with the same ``...`` wildcards. A python block preceded
by ``<!-- not run: REASON -->`` is not run; the reason says why (a network, a service, names the
application defines).

``python tests/doc_examples.py --update [FILE ...]`` runs every example and writes its real
output back into the file (keeping lines that are only ``...``), so the docs always show what the
commands print.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```console\s*$")
_PYTHON = re.compile(r"^```python\s*$")
_TEXT = re.compile(r"^```text\s*$")
_SKIP = re.compile(r"<!--\s*not run:")
_AT_ROOT = re.compile(r"<!--\s*run from the repository root")


@dataclass
class Step:
    command: str
    expected: list[str]
    #: The command as written (continued lines included).
    source: list[str]


@dataclass
class Example:
    path: Path
    line: int  # 1-based line of the opening fence
    steps: list[Step]
    end: int  # index of the closing fence line
    #: Run in the repository (a benchmark reading its data) rather than a fresh directory.
    at_root: bool = False


def examples(path: Path) -> list[Example]:
    """The runnable console blocks of one Markdown file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Example] = []
    i = 0
    while i < len(lines):
        if _FENCE.match(lines[i]):
            skipped = i > 0 and bool(_SKIP.search(lines[i - 1]))
            j = i + 1
            steps: list[Step] = []
            while j < len(lines) and not lines[j].startswith("```"):
                if lines[j].startswith("$ "):
                    command, source = lines[j][2:], [lines[j]]
                    while command.endswith("\\") and j + 1 < len(lines):  # continued
                        j += 1
                        command = command[:-1] + lines[j].strip()
                        source.append(lines[j])
                    steps.append(Step(command, [], source))
                elif steps:
                    steps[-1].expected.append(lines[j])
                j += 1
            at_root = i > 0 and bool(_AT_ROOT.search(lines[i - 1]))
            if not skipped and steps:
                found.append(Example(path, i + 1, steps, j, at_root))
            i = j
        i += 1
    return found


@dataclass
class PythonExample:
    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    #: The expected output's lines (None: not checked), and where they are in the file.
    expected: list[str] | None
    output_at: tuple[int, int] | None = None


def python_examples(path: Path) -> tuple[list[PythonExample], list[tuple[int, str]]]:
    """(the runnable python blocks of one file, (line, reason) of those marked not run)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[PythonExample] = []
    skipped: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        if not _PYTHON.match(lines[i]):
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        code = "\n".join(lines[i + 1:j])
        k = j + 1
        while k < len(lines) and not lines[k].strip():
            k += 1
        expected, output_at = None, None
        if k < len(lines) and _TEXT.match(lines[k]):
            end = k + 1
            while end < len(lines) and not lines[end].startswith("```"):
                end += 1
            expected, output_at = lines[k + 1:end], (k + 1, end)
        mark = _SKIP.search(lines[i - 1]) if i > 0 else None
        if mark:
            skipped.append((i + 1, lines[i - 1][mark.end():].split("-->")[0].strip()))
        else:
            found.append(PythonExample(path, i + 1, code, expected, output_at))
        i = j + 1
    return found, skipped


def run_python(example: PythonExample, env_extra: dict[str, str] | None = None) -> list[str]:
    """The block's output lines (stdout and stderr together); raises if it fails."""
    with tempfile.TemporaryDirectory() as workdir:
        env = {**_env(workdir), "OPENAI_API_KEY": "demo-key-not-a-secret",
               "ANTHROPIC_API_KEY": "demo-key-not-a-secret", "TRACKER_LEDGER": "",
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               **(env_extra or {})}
        done = subprocess.run([sys.executable, "-c", "import tracker\n" + example.code],
                              cwd=workdir, env=env, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=300, check=False)
    out = [line.rstrip() for line in done.stdout.rstrip("\n").splitlines()]
    if done.returncode != 0:
        raise AssertionError(f"{example.path.name}:{example.line} failed "
                             f"(exit {done.returncode}):\n" + "\n".join(out))
    return out


def _env(workdir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TRACKER_", "OTEL_", "OPENAI_", "ANTHROPIC_", "ELECTRICITYMAPS"))}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update({"NO_COLOR": "1", "COLUMNS": "100", "HOME": workdir, "PYTHONHASHSEED": "0",
                "TERM": "dumb"})
    return env


def run(example: Example) -> list[list[str]]:
    """Each step's real output lines."""
    outputs = []
    with tempfile.TemporaryDirectory() as workdir:
        env = _env(workdir)
        for step in example.steps:
            cwd = str(ROOT) if example.at_root else workdir
            done = subprocess.run(step.command, shell=True, cwd=cwd, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300,
                                  check=False)
            outputs.append([line.rstrip() for line in done.stdout.rstrip("\n").splitlines()])
    return outputs


def _line_matches(expected: str, actual: str) -> bool:
    if "..." not in expected:
        return expected.rstrip() == actual
    pattern = ".*".join(re.escape(part) for part in expected.rstrip().split("..."))
    return re.fullmatch(pattern, actual) is not None


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether `actual` output lines match `expected`, with ``...`` wildcards."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head.strip() == "...":
        return any(matches(rest, actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and _line_matches(head, actual[0]) and matches(rest, actual[1:])


def _update_python(path: Path) -> None:
    from tracker.demo._server import DemoServer

    lines = path.read_text(encoding="utf-8").splitlines()
    with DemoServer() as server:
        env = {"OPENAI_BASE_URL": server.openai_base_url,
               "ANTHROPIC_BASE_URL": server.anthropic_base_url}
        for example in reversed(python_examples(path)[0]):
            if example.expected is None or example.output_at is None:
                continue
            out = run_python(example, env)
            if not matches(example.expected, out):
                lines[example.output_at[0]:example.output_at[1]] = out
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _update(path: Path) -> None:
    _update_python(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    for example in reversed(examples(path)):
        outputs = run(example)
        body: list[str] = []
        for step, out in zip(example.steps, outputs, strict=True):
            body.extend(step.source)
            # Output that still matches (wildcards included) is kept as written.
            body.extend(step.expected if matches(step.expected, out) else out)
        lines[example.line:example.end] = body
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    targets = [Path(a) for a in sys.argv[1:] if a != "--update"] or FILES
    if "--update" not in sys.argv:
        sys.exit("usage: python tests/doc_examples.py --update [FILE ...]")
    for target in targets:
        _update(target)
        print(f"updated {target}")

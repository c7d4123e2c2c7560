"""``docs/cli.md``: each ``llm-energy`` command's usage, from its argparse parser, one example each.

The options come from the parsers (`tracker.cli._app.COMMANDS` names each command's module; its
``_parser()`` builds the parser), formatted at 100 columns. Each example is a ``console`` block:
the doc test (tests/doc_examples.py) runs it and checks its output; the output written here is
the command's real output, produced in-process at 100 columns, except where an example needs a
network or the demo's calls (then ``...`` stands for it, and the block is marked not run or
runs with its output unchecked).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
from collections.abc import Callable

__all__ = ["EXAMPLES", "cli_page"]

#: command -> (example command line, its output, or None to run it here, a "not run" reason)
EXAMPLES: dict[str, tuple[str, str | None, str | None]] = {
    "estimate": ("llm-energy estimate --model gpt-4o --input-tokens 200 --output-tokens 400",
                 None, None),
    "report": ("llm-energy demo --quiet --ledger demo.jsonl > /dev/null && "
               "llm-energy report demo.jsonl --by provider", "provider ...\n...\ntotal ...\n...",
               None),
    "demo": ("llm-energy demo --quiet", "...\ntotal ...\n...", None),
    "models": ("llm-energy models --search kimi", None, None),
    "hardware": ("llm-energy hardware --search h200", None, None),
    "regions": ("llm-energy regions --search europe-north1", None, None),
    "grid": ("llm-energy grid GB --provider uk", "zone GB (registry region GB)\n...",
             "reads the live GB Carbon Intensity API"),
    "estimate-training": ("llm-energy estimate-training --model llama-3.1-8b --tokens 100M "
                          "--gpus 8 --method lora", None, None),
    "compare": ("llm-energy compare --model kimi-k2 --output-tokens 1e6 --region gcp:us-central1 "
                "--regions gcp:europe-north1,FR --precisions bf16", None, None),
    "price": ("llm-energy demo --quiet --ledger demo.jsonl > /dev/null && "
              "llm-energy price demo.jsonl --by provider", "Footprint: ...\n...\ntotal ...\n...",
              None),
    "measure": ("llm-energy measure --model llama-1b --batch 1,16,64",
                "measured J per output token against the calibrated estimate ...\n...",
                "needs an NVIDIA GPU with torch, transformers and nvidia-ml-py"),
    "when": ("llm-energy when --zone GB --duration 2h --within 24h",
             "zone GB: best 2h window ...\n...", "reads the live GB Carbon Intensity forecast"),
}


def _parser(command: str) -> argparse.ArgumentParser:
    from tracker.cli._app import COMMANDS

    target, _ = COMMANDS[command]
    module_name, _, function = target.partition(":")
    module = importlib.import_module(module_name)
    if function:  # the registry listings share one parser builder
        what = {"models": "model", "hardware": "hardware", "regions": "region"}[command]
        build: Callable[[], argparse.ArgumentParser] = lambda: module._parser(command, what)  # noqa: E731
    else:
        main_module = importlib.import_module(module.main.__module__)
        build = main_module._parser
    parser = build()
    parser.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=100)
    return parser


def _run_here(line: str) -> str:
    from tracker.cli._app import main

    argv = line.split()[1:]
    out = io.StringIO()
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            main(argv)
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(line.rstrip() for line in out.getvalue().rstrip("\n").splitlines())


def cli_page(generated: str) -> str:
    """The page's Markdown."""
    from tracker.cli._app import COMMANDS

    out = [generated, "# Command line\n\n",
           "The `llm-energy` command: the demo, estimates, reports, what-if comparisons, "
           "registries, the live grid and its forecast. `python -m tracker ...` does the same. "
           "Bad input exits 2 with a message naming the field or flag; a command never prints a "
           "traceback.\n\n",
           "## Units\n\n",
           "Tables and cards show one unit per quantity, with an SI prefix: `4.75 mWh`, "
           "`0.155 gCO2e`, `51.5 µ$` (a millionth of a dollar; `m$` is a thousandth), `12 mL`. "
           "Three significant digits, never exponent notation; the prefix is the largest in "
           "which the value reads at least 0.1, and a column (or a value with its range) uses "
           "one unit for all its values, chosen from its largest, so rows compare at a glance. "
           "Durations read in h, min and s. `--json` and `--csv` keep the base units: kWh, "
           "gCO2e, USD, L.\n\n",
           "## Tables and terminal width\n\n",
           "Tables fit the terminal's width (`COLUMNS` when set). A number is never cut: long "
           "text wraps first, then the least needed columns are left out, in an order each "
           "command documents (a note under the table names them; `--json` has them all), and a "
           "table that would keep fewer than two columns is printed as one block per row. "
           "Piped or redirected output is never cut nor wrapped (unless `COLUMNS` is set).\n\n",
           "Token counts are written as you like: `300000`, `300_000`, `1e6`, `300k`, `15M`, "
           "`300B`, `15T`.\n\n"]
    for command, (_, summary) in COMMANDS.items():
        line, shown, not_run = EXAMPLES[command]
        output = shown if shown is not None else _run_here(line)
        help_text = _parser(command).format_help().rstrip()
        out += [f"## {command}\n\n{summary[0].upper()}{summary[1:]}.\n\n",
                f"```text\n{help_text}\n```\n\n", "Example:\n\n"]
        if not_run:
            out.append(f"<!-- not run: {not_run} -->\n")
        out.append(f"```console\n$ {line}\n{output}\n```\n\n")
    return "".join(out).rstrip("\n") + "\n"

"""The `llm-energy` command line: one table of subcommands, one way to fail.

Each subcommand is a module exposing ``main(argv: list[str]) -> int`` (or the function named
after a colon), listed once in `COMMANDS`. This module parses only the command name; the module
parses the rest with argparse, so every command has the same ``--help``. Exit status: what the
command returns; 2 for bad input with the field named (`ConfigError`, argparse errors); 141 when
the reader of stdout went away (``llm-energy models | head -1``), without a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from tracker.exceptions import ConfigError

__all__ = ["COMMANDS", "main"]

#: Subcommand -> ("module[:function]", one-line help). To add a command, add a line here.
COMMANDS: dict[str, tuple[str, str]] = {
    "estimate": ("tracker.cli._estimate_cmd", "estimate one request's energy, carbon, cost, water"),
    "report": ("tracker.cli._report", "totals from a ledger, grouped; --html for a page to share"),
    "price": ("tracker.cli._price", "footprint of usage exports, gateway logs, traces, ledgers"),
    "demo": ("tracker.cli._demo", "offline demo: real clients against a local compatible server"),
    "models": ("tracker.cli._listings:models_main", "list the model registry"),
    "hardware": ("tracker.cli._listings:hardware_main", "list the hardware registry"),
    "regions": ("tracker.cli._listings:regions_main", "list the region registry"),
    "grid": ("tracker.cli._grid", "current grid carbon intensity from the live provider"),
    "estimate-training": ("tracker.cli._training", "estimate a training or fine-tuning run"),
    "compare": ("tracker.cli._compare", "what-if: a workload re-priced in other regions, ..."),
    "when": ("tracker.cli._when", "lowest-carbon window to run a job, from the grid forecast"),
    "measure": ("tracker.cli._measure", "measured J per output token on the local GPU vs estimate"),
}

#: Exit status when stdout's reader closed the pipe (128 + SIGPIPE, as a shell reports it).
EXIT_BROKEN_PIPE = 141


def _usage() -> str:
    width = max(len(name) for name in COMMANDS) + 2
    lines = ["usage: llm-energy COMMAND [options]   (llm-energy COMMAND --help for a command's)",
             "", "Energy (kWh), carbon (gCO2e), cost (USD) and water of LLM calls.", "",
             "commands:"]
    lines += [f"  {name:<{width}}{help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines) + "\n"


def _run(name: str, argv: list[str]) -> int:
    target, _ = COMMANDS[name]
    module_name, _, function = target.partition(":")
    module = importlib.import_module(module_name)
    code: int = getattr(module, function or "main")(argv)
    return code


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the exit flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 with a message naming the field for bad input)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        (sys.stdout if args else sys.stderr).write(_usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        sys.stderr.write(_usage())
        print(f"llm-energy: error: command: unknown {name!r} (choose from "
              f"{', '.join(COMMANDS)})", file=sys.stderr)
        return 2
    try:
        code = _run(name, rest)
        sys.stdout.flush()
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2, message printed)
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except ConfigError as exc:
        print(f"llm-energy {name}: error: {exc}", file=sys.stderr)
        code = 2
    except BrokenPipeError:
        _quiet_stdout()
        code = EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print(f"llm-energy {name}: interrupted", file=sys.stderr)
        code = 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Streaming with Anthropic: the call is recorded once the stream ends (or is closed).

Uses the real API when ANTHROPIC_API_KEY is set, otherwise the local demo server (offline).
Run: python examples/anthropic_streaming.py
"""

from __future__ import annotations

import os
from contextlib import ExitStack

import anthropic

import tracker
from tracker.demo._server import DemoServer


def main() -> None:
    with ExitStack() as stack:
        if os.environ.get("ANTHROPIC_API_KEY"):
            client = anthropic.Anthropic()
        else:
            server = stack.enter_context(DemoServer())
            client = anthropic.Anthropic(api_key="demo", base_url=server.anthropic_base_url)
        stack.enter_context(client)
        tracker.configure(ledger=None, instrument=["anthropic"])

        with tracker.track_energy("haiku") as totals:
            with client.messages.stream(
                model="claude-haiku-4-5", max_tokens=200,
                messages=[{"role": "user", "content": "A haiku about efficient GPUs."}],
            ) as stream:
                for text in stream.text_stream:
                    print(text, end="", flush=True)
            print()
        print(f"{totals.input_tokens} in / {totals.output_tokens} out tokens: "
              f"{totals.energy_kwh:.3g} kWh, {totals.gco2e:.3g} gCO2e")


if __name__ == "__main__":
    main()

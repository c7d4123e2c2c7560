"""Quickstart: track the energy of OpenAI calls.

Uses the real API when OPENAI_API_KEY is set, otherwise the local demo server (offline).
Run: python examples/openai_quickstart.py
"""

from __future__ import annotations

import os
from contextlib import ExitStack

import openai

import tracker
from tracker.demo._server import DemoServer


def main() -> None:
    with ExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            client = openai.OpenAI()
        else:
            server = stack.enter_context(DemoServer())
            client = openai.OpenAI(api_key="demo", base_url=server.openai_base_url)
        stack.enter_context(client)
        tracker.configure(ledger="llm-energy-ledger.jsonl")  # instruments openai and anthropic

        @tracker.track_energy(labels={"feature": "quickstart"})
        def ask(question: str) -> str:
            reply = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
            return reply.choices[0].message.content or ""

        with tracker.track_energy("quickstart") as totals:
            print(ask("What is a kilowatt-hour?"))
        print(f"{totals.calls} call(s): {totals.energy_kwh:.3g} kWh, {totals.gco2e:.3g} gCO2e")
        tracker.shutdown()


if __name__ == "__main__":
    main()

"""Provider integrations: one module per LLM client library, each patching it with `wrapt`."""

"""setup: the composition root: `configure()` and the `opentelemetry-instrument` entry point."""

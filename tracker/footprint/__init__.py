"""Footprint at scale: price the LLM usage an organisation already has.

Usage exports (OpenAI, Anthropic), gateway logs (LiteLLM), invocation logs (Amazon Bedrock),
trace files (OTLP JSON) and the SDK's own ledgers are read into one schema
(`tracker.footprint._schema`), priced by the same model and deployment as live calls, and summed
per group on DuckDB, Python or Spark: `price_usage()`, and ``llm-energy price`` on the command
line.
"""

from tracker.footprint._price import PricedUsage, price_usage

__all__ = ["PricedUsage", "price_usage"]

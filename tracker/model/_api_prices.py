"""The API price of a call: what the provider bills at list price, from the genai-prices table.

`api_price_for(model, provider)` looks the model up once (per model and provider, cached by the
caller) in pydantic's genai-prices table, whose data ships in its wheel (no network), and returns
an `ApiPrice`; None when the optional package is missing or the table has no price for the model.
`ApiPrice.amount()` then prices one call's tokens as billed: uncached input at the input rate,
cache reads and cache writes at theirs, output (reasoning included, as it is billed) at the output
rate. Flat rates are kept as floats, so a call costs a few multiplications; a model whose table
entry is tiered by prompt size is priced by the table itself per call.

The amount is in US dollars (the table's currency). It is the API price, not the electricity:
``energy.usd`` stays the electricity cost of serving the call.

Batch processing (the OpenAI Batch API, Anthropic's Message Batches) is priced with the table's
own batch prices (``api_price_for(..., batch=True)``: its ``processing: batch`` price variant,
half the standard rates for the models the providers list, cache reads and writes included); a
model the table gives no batch price keeps its standard price, as the table has it.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["CURRENCY", "ApiPrice", "api_price_for", "table_version"]

CURRENCY: Final = "USD"
#: Our provider names -> genai-prices provider ids (others are passed as they are).
_PROVIDERS: Final = {"azure.ai.openai": "azure", "azure_openai": "azure", "aws.bedrock": "aws",
                     "gcp.gemini": "google", "gcp.vertex_ai": "google", "gcp.gen_ai": "google",
                     "gemini": "google", "vertex_ai": "google", "mistral_ai": "mistral",
                     "x_ai": "x-ai"}
#: Providers that serve models locally: nothing is billed.
_LOCAL: Final = frozenset({"ollama", "vllm", "llama.cpp", "lmstudio"})
_RATES: Final = ("input_mtok", "cache_read_mtok", "cache_write_mtok", "output_mtok")
#: genai-prices' price context of batch processing.
_BATCH: Final = {"processing": "batch"}
_version: str | None = None


def table_version() -> str | None:
    """``genai-prices <version>`` of the installed table, or None without the package."""
    global _version
    if _version is None:
        try:
            from importlib.metadata import version

            _version = f"genai-prices {version('genai-prices')}"
        except Exception:
            return None
    return _version


class ApiPrice:
    """One model's list prices: `amount()` of a call's tokens, in US dollars."""

    __slots__ = ("_flat", "_model_price", "model_id", "provider_id")

    def __init__(self, model_price: Any, model_id: str, provider_id: str) -> None:
        self.model_id = model_id
        self.provider_id = provider_id
        self._model_price = model_price
        values = [getattr(model_price, name, None) for name in _RATES]
        flat = all(v is None or type(v).__name__ == "Decimal" for v in values)
        if flat and values[0] is not None and values[3] is not None:
            base = float(values[0])
            rates = [float(v) if v is not None else base for v in values]
            self._flat: tuple[float, ...] | None = tuple(r / 1e6 for r in rates)
        else:
            self._flat = None

    @property
    def flat(self) -> tuple[float, float, float, float] | None:
        """US dollars per (uncached input, cache read, cache write, output) token, or None.

        None when the table's prices are tiered by prompt size (only `amount()` prices a call).
        """
        flat = self._flat
        return (flat[0], flat[1], flat[2], flat[3]) if flat is not None else None

    def amount(self, input_tokens: int, output_tokens: int, cache_read: int = 0,
               cache_write: int = 0) -> float:
        """US dollars for a call (`input_tokens` includes the cached and cache-write ones)."""
        flat = self._flat
        if flat is not None and not cache_read and not cache_write:  # (the usual call: the
            return input_tokens * flat[0] + output_tokens * flat[3]  # sum below, the same)
        cache_read = min(cache_read, input_tokens)
        cache_write = min(cache_write, input_tokens - cache_read)
        flat = self._flat
        if flat is not None:
            return ((input_tokens - cache_read - cache_write) * flat[0] + cache_read * flat[1]
                    + cache_write * flat[2] + output_tokens * flat[3])
        from genai_prices import Usage  # type: ignore[import-not-found,unused-ignore]

        price = self._model_price.calc_price(Usage(
            input_tokens=input_tokens, output_tokens=output_tokens,
            cache_read_tokens=cache_read, cache_write_tokens=cache_write))
        return float(price["total_price"])


def api_price_for(model: str | None, provider: str | None, *,
                  batch: bool = False) -> ApiPrice | None:
    """The list prices of `model` at `provider`, or None (no table, or no price for it).

    `batch`: the prices of batch processing (the table's batch variant where it has one).
    """
    if not model or (provider or "").lower() in _LOCAL:
        return None
    try:
        from genai_prices import Usage, calc_price  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    provider_id = _PROVIDERS.get(provider or "", provider) if provider else None
    context = _BATCH if batch else None
    try:
        found = calc_price(Usage(input_tokens=1, output_tokens=1), model,
                           provider_id=provider_id, price_context=context)
    except Exception:  # the table does not know the model (or the provider)
        if provider_id is None:
            return None
        try:  # a proxy or gateway in front: the model's maker's price
            found = calc_price(Usage(input_tokens=1, output_tokens=1), model,
                               price_context=context)
        except Exception:
            return None
    return ApiPrice(found.model_price, found.model.id, found.provider.id)

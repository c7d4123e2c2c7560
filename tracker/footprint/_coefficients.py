"""The per-request energy model as coefficients: one row per (provider, model), one basis.

`CallPricer.price()` (`tracker.model._estimate`) is linear in five basis features of one request
of ``i`` input tokens (``c`` of them read from a prompt cache) and ``o`` output tokens:

    o,  o x (i + 0.5 o),  u,  u x i,  c        where u = i - c (uncached input)

with one coefficient vector per boundary and bound (accelerators, server: central, min, max),
then factors: the facility factor, the grid's carbon intensity, the price of electricity, water
per facility kWh and embodied carbon per accelerator kWh. `BASIS` and `basis_sql()` are the one
place that says so: every engine prices a usage row of N requests as N x (coefficients . basis
of the row's mean request), the SQL engines with the expression `basis_sql()` writes, the
Python engine by calling `CallPricer.price` itself (the reference); a test holds them equal.

The API price is linear in token counts too: `api_rates()` gives a (provider, model) its list
prices per token from the price table (`tracker.model._api_prices`), standard and batch, as
more columns of the same coefficient table (`TABLE_COLUMNS`, `table_row()`); every engine
multiplies a group's summed uncached input, cached input and output tokens by them. A model the
table lacks (or prices in tiers by prompt size, which only a per-call price can follow), or the
`prices` extra not installed, has ``api_known`` 0: no API price, never a zero one.

`coefficient_row()` resolves a (provider, model) exactly as a live call does
(`tracker.recording._calls`): a provider-scoped model name, the provider's assumed deployment
under the user's explicit options, the fallback model for an unknown name.
"""

from __future__ import annotations

import functools

from tracker.model._api_prices import api_price_for
from tracker.model._call_pricer import call_pricer
from tracker.model._deployment import Deployment
from tracker.model._estimate import CallPricer

__all__ = ["API_COLUMNS", "BASIS", "COEFFICIENT_COLUMNS", "TABLE_COLUMNS", "api_amount",
           "api_rates", "basis", "basis_sql", "coefficient_row", "resolve_pricer", "table_row"]

#: The five basis features, in the order of `CallPricer`'s coefficient vectors.
BASIS = ("out", "out_ctx", "uncached", "uncached_in", "cached")
_VECTORS = ("acc", "acc_min", "acc_max", "srv", "srv_min", "srv_max")
#: Scalar factors of a coefficient row.
_FACTORS = ("facility", "ci", "price", "water_per_kwh", "emb", "emb_min", "emb_max", "known")
#: Columns of the coefficient table, after its keys (provider, model).
COEFFICIENT_COLUMNS = (*(f"{v}_{k}" for v in _VECTORS for k in range(len(BASIS))), *_FACTORS)
#: API price columns: US dollars per uncached input, cache read, cache write and output token,
#: standard then batch, and whether the price table prices the model (1.0) or not (0.0).
API_COLUMNS = ("api_in", "api_cached", "api_write", "api_out", "bapi_in", "bapi_cached",
               "bapi_write", "bapi_out", "api_known")
#: Every column of the coefficient table the engines join, after its keys.
TABLE_COLUMNS = (*COEFFICIENT_COLUMNS, *API_COLUMNS)
_NO_API = (0.0,) * len(API_COLUMNS)


def basis(i: float, o: float, c: float) -> tuple[float, float, float, float, float]:
    """The basis features of one request (as `CallPricer.price` computes them)."""
    cached = min(max(c, 0.0), i)
    unc = i - cached
    return (o, o * (i + 0.5 * o), unc, unc * i, cached)


def basis_sql(i: str, o: str, c: str) -> tuple[str, str, str, str, str]:
    """`basis()` as SQL expressions over the column expressions `i`, `o`, `c` (DuckDB, Spark)."""
    cached = f"LEAST(GREATEST({c}, 0.0), {i})"
    unc = f"({i} - {cached})"
    return (f"{o}", f"{o} * ({i} + 0.5 * {o})", unc, f"{unc} * {i}", cached)


def resolve_pricer(deployment: Deployment, provider: str | None, model: str | None) -> CallPricer:
    """The `CallPricer` a live call of `model` through `provider` gets under `deployment`."""
    return call_pricer(deployment, model, provider)[0]


def coefficient_row(p: CallPricer) -> tuple[float, ...]:
    """The pricer's coefficients and factors, in `COEFFICIENT_COLUMNS` order."""
    vectors = (p.acc, p.acc_min, p.acc_max, p.srv, p.srv_min, p.srv_max)
    flat = [float(x) for v in vectors for x in v]
    e = p.emb_per_acc_kwh
    return (*flat, p.facility_factor, p.carbon_intensity, p.price_usd_per_kwh, p.wue / p.pue,
            e[0], e[1], e[2], 1.0 if p.model_known else 0.0)


@functools.lru_cache(maxsize=4096)
def api_rates(provider: str | None, model: str | None) -> tuple[float, ...]:
    """The API price columns (`API_COLUMNS`) of a (provider, model), looked up once."""
    try:
        standard = api_price_for(model, provider)
        flat = standard.flat if standard is not None else None
        if flat is None:
            return _NO_API
        batch = api_price_for(model, provider, batch=True)
        bflat = (batch.flat if batch is not None else None) or flat
    except Exception:  # a price table that fails to load prices nothing
        return _NO_API
    return (*flat, *bflat, 1.0)


def api_amount(rates: tuple[float, ...], input_tokens: int, output_tokens: int,
               cached_input_tokens: int, cache_write_tokens: int, batch: bool) -> float | None:
    """US dollars of a usage row by its `api_rates()` (the Python engine), or None."""
    if not rates[8]:
        return None
    cached = min(max(cached_input_tokens, 0), input_tokens)
    written = min(max(cache_write_tokens, 0), input_tokens - cached)
    r = rates[4:8] if batch else rates[0:4]
    return ((input_tokens - cached - written) * r[0] + cached * r[1] + written * r[2]
            + output_tokens * r[3])


def table_row(p: CallPricer, provider: str | None, model: str | None) -> tuple[float, ...]:
    """A coefficient table row (`TABLE_COLUMNS` order): the pricer's, then the API price's."""
    return (*coefficient_row(p), *api_rates(provider, model))

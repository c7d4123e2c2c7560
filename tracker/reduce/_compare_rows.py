"""The rows of a what-if comparison: `Row` (one alternative's figures), `Comparison`, sums."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Comparison", "Row", "Sums"]


@dataclass(frozen=True)
class Row:
    """One priced alternative (or the baseline) with its figures, ranges and saving."""

    kind: str
    alternative: str
    like_for_like: bool
    note: str
    energy_kwh: float
    energy_kwh_min: float
    energy_kwh_max: float
    gco2e: float
    gco2e_min: float
    gco2e_max: float
    usd: float
    usd_min: float
    usd_max: float
    water_l: float
    water_l_min: float
    water_l_max: float
    #: Against the baseline: positive = less than the baseline.
    saving_gco2e: float = 0.0
    saving_pct: float = 0.0
    saving_kwh: float = 0.0
    saving_usd: float = 0.0
    #: The API price of the workload (list price, from the price table), None when the table
    #: prices none of its calls; it changes only with the model.
    api_usd: float | None = None
    #: The price table the API price came from (``genai-prices 0.2.5``), or None.
    price_table: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as a plain dict."""
        return asdict(self)


@dataclass
class Comparison:
    """The baseline and every alternative, `rows` sorted by carbon (lowest first)."""

    baseline: Row
    rows: list[Row] = field(default_factory=list)
    workload: str = ""

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def to_dict(self) -> dict[str, Any]:
        """Baseline and rows as JSON-ready values."""
        return {"workload": self.workload, "baseline": self.baseline.to_dict(),
                "rows": [r.to_dict() for r in self.rows]}


class Sums:
    """Figures summed over calls, with ranges."""

    def __init__(self) -> None:
        self.v = [0.0] * 12  # kwh, min, max, g, min, max, usd, min, max, water, min, max
        self.api: float | None = None  # the API price, None until a call has one
        self.price_table: str | None = None

    def add_api(self, amount: float | None, table: str | None) -> None:
        """Add a call's (or a group's) API price; None (no price) leaves the sum as it is."""
        if amount is not None:
            self.api = (self.api or 0.0) + amount
            self.price_table = self.price_table or table

    def add(self, kwh: tuple[float, float, float], ci: tuple[float, float, float],
            usd: tuple[float, float, float], water: tuple[float, float, float]) -> None:
        for i, triple in enumerate((kwh, ci, usd, water)):
            for j in range(3):
                self.v[3 * i + j] += triple[j]

    def row(self, kind: str, alternative: str, like: bool, note: str) -> Row:
        v = self.v
        return Row(kind, alternative, like, note, v[0], v[1], v[2], v[3], v[4], v[5], v[6],
                   v[7], v[8], v[9], v[10], v[11], api_usd=self.api,
                   price_table=self.price_table if self.api is not None else None)



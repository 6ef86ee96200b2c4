"""Reading windows of the L2 book as numpy arrays, and price/size formatting.

Views never walk the book level by level in Python: they ask for the levels inside a
price window in one call (`levels_between` on the compiled book) and work on arrays.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from app.domain import Instrument

BID = 1
ASK = -1


def levels_in(book, side: int, lo: int, hi: int, max_levels: int = 100_000) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """Levels of `side` with lo <= price <= hi, best first, as int64 (prices, qtys)."""
    between = getattr(book, "levels_between", None)
    if between is not None:
        return between(side, lo, hi)
    # Books without a range query: the best `max_levels` levels, then filtered.
    prices, qtys = book.top_levels(side, max_levels)
    keep = (prices >= lo) & (prices <= hi)
    return prices[keep], qtys[keep]


def mid_decimal(instrument: Instrument, best_bid: int, best_ask: int) -> Decimal | None:
    """Exact mid price (half ticks stay exact in Decimal), None when a side is empty."""
    if not best_bid or not best_ask:
        return None
    return (instrument.tick_size * (best_bid + best_ask) / 2).normalize()


def fmt_price(instrument: Instrument, ticks: int) -> str:
    """Exact price string with the tick's number of decimals (e.g. 100.10, not 100.1)."""
    exp = instrument.tick_size.normalize().as_tuple().exponent
    places = -exp if isinstance(exp, int) and exp < 0 else 0
    return f"{instrument.ticks_to_price(ticks):.{places}f}"


def fmt_amount(instrument: Instrument, lots: int) -> str:
    """Exact amount string without trailing zeros."""
    value = instrument.lots_to_amount(lots)
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text

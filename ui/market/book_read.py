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


def mid_text(instrument: Instrument, best_bid: int, best_ask: int) -> str | None:
    """Exact mid price as text (a half tick gets one more decimal), None if a side is empty."""
    if not best_bid or not best_ask:
        return None
    total = best_bid + best_ask
    if total % 2 == 0:
        return fmt_price(instrument, total // 2)
    return f"{instrument.tick_size * total / Decimal(2):f}"


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

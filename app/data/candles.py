"""Candles as market data: the one array shape every venue's candle history comes in.

A candle view opened on a running market would otherwise start empty; venues that know
the past (an exchange's klines, a recording's trades) hand it over as a CANDLE_DTYPE
array, in the instrument's integer ticks and lots like every other market array, oldest
first, one row per interval that had trades. Aggregation is vectorised (one sort-free
pass of `reduceat` over time-ordered rows), so thousands of trades or candles cost a few
numpy calls, never a Python loop per row.
"""
from __future__ import annotations

import numpy as np

CANDLE_DTYPE = np.dtype([
    ("ts_ns", "<i8"), ("open", "<i8"), ("high", "<i8"), ("low", "<i8"), ("close", "<i8"),
    ("volume", "<i8"), ("buy_volume", "<i8"),
])
"""ts_ns: the candle's start; prices in ticks; volumes in lots. buy_volume: the part whose
taker bought, or UNKNOWN when the venue does not say (ccxt's OHLCV has no such column)."""
UNKNOWN = -1

_UNITS_S = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}


class NoCandleHistory(Exception):
    """A venue cannot give candle history (it keeps none, the request failed, no such
    interval); the message is one line for the user: why the chart starts empty."""


def timeframe_seconds(name: str) -> int | None:
    """Seconds of a ccxt/Binance timeframe name ('1s', '5m', '1h', '1d', '1w'); None for
    calendar ones ('1M', '1y') and anything unreadable."""
    number, unit = name[:-1], name[-1:]
    if not number.isdigit() or unit not in _UNITS_S or int(number) <= 0:
        return None
    return int(number) * _UNITS_S[unit]


def empty() -> np.ndarray:
    return np.zeros(0, CANDLE_DTYPE)


def from_trades(trades: np.ndarray, interval_ns: int) -> np.ndarray:
    """Candles of TRADE_DTYPE trades (a recording, a venue's trade tape), oldest first."""
    if interval_ns <= 0:
        raise ValueError("interval must be positive")
    n = len(trades)
    if n == 0:
        return empty()
    bucket = trades["ts_ns"] // interval_ns * interval_ns
    if np.any(bucket[1:] < bucket[:-1]):  # stragglers: stable, so a bucket keeps its trades' order
        order = np.argsort(bucket, kind="stable")
        trades, bucket = trades[order], bucket[order]
    first = _run_starts(bucket)
    price = trades["price_ticks"]
    qty = trades["qty_lots"]
    out = np.empty(len(first), CANDLE_DTYPE)
    out["ts_ns"] = bucket[first]
    out["open"] = price[first]
    out["high"] = np.maximum.reduceat(price, first)
    out["low"] = np.minimum.reduceat(price, first)
    out["close"] = price[_run_ends(first, n)]
    out["volume"] = np.add.reduceat(qty, first)
    out["buy_volume"] = np.add.reduceat(np.where(trades["taker_side"] > 0, qty, 0), first)
    return out


def resample(candles: np.ndarray, interval_ns: int) -> np.ndarray:
    """Coarser candles from finer ones in time order (5 s from an exchange's 1 s klines);
    a coarse candle's buy volume is UNKNOWN if any of its parts' is."""
    if interval_ns <= 0:
        raise ValueError("interval must be positive")
    n = len(candles)
    if n == 0:
        return empty()
    bucket = candles["ts_ns"] // interval_ns * interval_ns
    first = _run_starts(bucket)
    out = np.empty(len(first), CANDLE_DTYPE)
    out["ts_ns"] = bucket[first]
    out["open"] = candles["open"][first]
    out["high"] = np.maximum.reduceat(candles["high"], first)
    out["low"] = np.minimum.reduceat(candles["low"], first)
    out["close"] = candles["close"][_run_ends(first, n)]
    out["volume"] = np.add.reduceat(candles["volume"], first)
    unknown = np.maximum.reduceat((candles["buy_volume"] < 0).astype(np.int8), first) > 0
    out["buy_volume"] = np.where(unknown, UNKNOWN, np.add.reduceat(np.maximum(candles["buy_volume"], 0), first))
    return out


def window(candles: np.ndarray, since_ns: int | None, until_ns: int | None, limit: int) -> np.ndarray:
    """The candles starting in [since_ns, until_ns): the first `limit` of them from
    `since_ns` when it is given (how exchanges page forward), else the newest `limit`."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    starts = candles["ts_ns"]
    lo = 0 if since_ns is None else int(np.searchsorted(starts, since_ns, "left"))
    hi = len(candles) if until_ns is None else int(np.searchsorted(starts, until_ns, "left"))
    if since_ns is not None:
        return candles[lo:min(hi, lo + limit)]
    return candles[max(lo, hi - limit):hi]


def _run_starts(bucket: np.ndarray) -> np.ndarray:
    """Indexes where a new bucket starts in a non-decreasing array."""
    change = np.flatnonzero(bucket[1:] != bucket[:-1]) + 1
    return np.concatenate((np.zeros(1, np.intp), change))


def _run_ends(first: np.ndarray, n: int) -> np.ndarray:
    last = np.empty_like(first)
    last[:-1] = first[1:] - 1
    last[-1] = n - 1
    return last


def of_trades(trades: np.ndarray, interval_s: int, since_ns: int | None, limit: int) -> np.ndarray:
    """A venue's answer for its candles from the trades it holds (oldest first): the first
    `limit` from `since_ns`, else the newest `limit`, built only from the trades they need."""
    if interval_s <= 0:
        raise NoCandleHistory(f"no candles of {interval_s} s")
    interval_ns = interval_s * 1_000_000_000
    if since_ns is None and len(trades):
        first = (int(trades["ts_ns"][-1]) // interval_ns - limit + 1) * interval_ns
        trades = trades[int(np.searchsorted(trades["ts_ns"], first)):]
    return window(from_trades(trades, interval_ns), since_ns, None, limit)

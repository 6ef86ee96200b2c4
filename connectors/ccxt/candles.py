"""Candle history of a live market through ccxt's `fetch_ohlcv`, as CANDLE_DTYPE arrays.

The view's interval (1 s, 5 s, 1 m, 5 m) is served from the exchange's largest timeframe
that divides it (`exchange.timeframes`: Binance has '1s', most exchanges start at '1m'),
aggregated up when it is finer (5 s from 1 s klines). One request per call, through the
exchange object the connector trades with, so ccxt's rate limiter paces it with the
orders; a 429 starts the connector's cool-down like an order's would. Candle history is
not an order: it does not spend the order budget (connectors/ccxt/rate_budget.py).
Every failure becomes NoCandleHistory with one line saying why.
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import ccxt
import numpy as np

from app.data import candles
from app.data.candles import CANDLE_DTYPE, NoCandleHistory
from connectors.ccxt.errors import request_failure

if TYPE_CHECKING:
    from app.domain import Instrument
    from connectors.ccxt.connector import CcxtConnector

MAX_ROWS = 1000
"""Rows asked for in one request (Binance's klines cap; most exchanges allow 500-1000)."""
SPARE_S = 5.0
"""Beyond ccxt's own request timeout, before we stop waiting (its rate limiter may queue)."""
_NS = 1_000_000_000
_MS = 1_000_000


def pick_timeframe(exchange_id: str, timeframes: dict | None, interval_s: int) -> tuple[str, int]:
    """The exchange's largest timeframe that divides `interval_s`: (name, seconds)."""
    found = sorted(((s, name) for name in (timeframes or {}) if (s := candles.timeframe_seconds(name))),
                   reverse=True)
    for seconds, name in found:
        if seconds <= interval_s and interval_s % seconds == 0:
            return name, seconds
    smallest = found[-1][1] if found else None
    raise NoCandleHistory(f"{exchange_id} has no candles for {interval_s} s"
                          + (f" (its shortest is {smallest})" if smallest else " (it lists no timeframes)"))


def from_ohlcv(inst: "Instrument", rows: list) -> np.ndarray:
    """ccxt's [[ms, open, high, low, close, volume], ...] in the instrument's ticks and lots."""
    out = np.zeros(len(rows), CANDLE_DTYPE)
    if not rows:
        return out
    data = np.array([row[:6] for row in rows], dtype=np.float64)
    data = data[np.isfinite(data).all(axis=1)]  # an exchange may send null for a quiet interval
    out = out[:len(data)]
    out["ts_ns"] = data[:, 0].astype(np.int64) * _MS
    tick, lot = float(inst.tick_size), float(inst.lot_size)
    for k, name in enumerate(("open", "high", "low", "close"), start=1):
        out[name] = np.rint(data[:, k] / tick)
    out["volume"] = np.rint(data[:, 5] / lot)
    out["buy_volume"] = candles.UNKNOWN  # ccxt's OHLCV does not split volume by taker side
    return out[np.argsort(out["ts_ns"], kind="stable")]


async def fetch_candles(conn: "CcxtConnector", symbol: str, interval_s: int, since_ns: int | None = None,
                        limit: int = 1000) -> np.ndarray:
    """Up to `limit` candles of `interval_s` (the newest, or from `since_ns`), oldest first."""
    ex = conn.exchange
    if not ex.has.get("fetchOHLCV"):
        raise NoCandleHistory(f"{ex.id} gives no candle history (no fetchOHLCV in ccxt)")
    name, seconds = pick_timeframe(ex.id, getattr(ex, "timeframes", None), int(interval_s))
    ratio = int(interval_s) // seconds
    rows_wanted = max(1, min(limit * ratio, MAX_ROWS))
    since_ms = None if since_ns is None else since_ns // _MS
    timeout_s = float(getattr(ex, "timeout", 10_000)) / 1000 + SPARE_S
    try:
        rows = await asyncio.wait_for(ex.fetch_ohlcv(symbol, name, since_ms, rows_wanted), timeout_s)
    except asyncio.CancelledError:
        raise
    except asyncio.TimeoutError:
        raise NoCandleHistory(f"{ex.id}: no answer within {timeout_s:g} s") from None
    except Exception as exc:  # noqa: BLE001 - every failure is one line for the view
        if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
            conn.note_rate_limit(exc)
        raise NoCandleHistory(f"{ex.id}: {request_failure(exc)}") from None
    if not isinstance(rows, list):
        raise NoCandleHistory(f"{ex.id}: unexpected answer to fetch_ohlcv ({type(rows).__name__})")
    found = from_ohlcv(conn.instruments[symbol], rows)
    if ratio > 1 and len(found):
        interval_ns = int(interval_s) * _NS
        partial_first = found["ts_ns"][0] % interval_ns != 0  # its start is older than what came
        found = candles.resample(found, interval_ns)[1 if partial_first else 0:]
    return candles.window(found, since_ns, None, limit)

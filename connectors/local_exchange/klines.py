"""Klines (Binance's candles) built from the public trades the local exchange has made.

The venue keeps a bounded tape of its trades as numpy (appended per published batch, no
Python object per trade); `GET /api/v3/klines` (and `/fapi/v1/klines`, the same shape on
USD-M) aggregates the requested window of it with app/data/candles.py, so a ccxt client's
`fetch_ohlcv` gets what Binance would answer: arrays of [open time, "open", "high", "low",
"close", "volume", close time, "quote volume", trades, "taker buy volume", "taker buy
quote volume", "0"], oldest first, only intervals that had trades.
"""
from __future__ import annotations

import numpy as np

from app.data import candles
from app.data.trade_tape import TradeTape
from connectors.local_exchange import errors
from connectors.local_exchange.payloads import Numbers

INTERVALS = ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w")
"""Binance's kline intervals (all but the calendar month)."""
DEFAULT_LIMIT, MAX_LIMIT = 500, 1000
_MS = 1_000_000


def klines(tape: TradeTape, numbers: Numbers, params: dict) -> list[list]:
    """The answer to a klines request (params as sent: interval, startTime, endTime, limit)."""
    interval = params.get("interval") or ""
    if not interval:
        raise errors.mandatory("interval")
    if interval not in INTERVALS:
        raise errors.bad_interval()
    interval_ns = candles.timeframe_seconds(interval) * 1_000_000_000
    start = _ms_param(params, "startTime")
    end = _ms_param(params, "endTime")
    text = params.get("limit", "")
    if text and not text.isdigit():
        raise errors.illegal_chars("limit")
    limit = min(max(int(text), 1), MAX_LIMIT) if text else DEFAULT_LIMIT
    trades = tape.trades()
    since = None if start is None else start * _MS // interval_ns * interval_ns  # the candle holding startTime
    if since is not None:
        trades = trades[int(np.searchsorted(trades["ts_ns"], since)):]
    if end is not None:
        trades = trades[:int(np.searchsorted(trades["ts_ns"], end * _MS, "right"))]
    bars = candles.window(candles.from_trades(trades, interval_ns), since, None, limit)
    return _rows(bars, trades, interval_ns, numbers)


def _rows(bars: np.ndarray, trades: np.ndarray, interval_ns: int, n: Numbers) -> list[list]:
    if not len(bars):
        return []
    # Per-candle trade counts and quote volumes, from the trades of the chosen candles.
    bucket = trades["ts_ns"] // interval_ns * interval_ns
    chosen = (bucket >= bars["ts_ns"][0]) & (bucket <= bars["ts_ns"][-1])
    trades, bucket = trades[chosen], bucket[chosen]
    where = np.searchsorted(bars["ts_ns"], bucket)
    count = np.bincount(where, minlength=len(bars))
    inst = n.instrument
    price = trades["price_ticks"].astype(np.float64) * float(inst.tick_size)
    amount = trades["qty_lots"].astype(np.float64) * float(inst.lot_size)
    quote = np.bincount(where, price * amount, minlength=len(bars))
    buy_quote = np.bincount(where, np.where(trades["taker_side"] > 0, price * amount, 0.0), minlength=len(bars))
    out = []
    step_ms = interval_ns // _MS
    for row, trades_in, q, bq in zip(bars.tolist(), count.tolist(), quote.tolist(), buy_quote.tolist()):
        ts, o, h, lo, c, v, bv = row
        open_ms = ts // _MS
        out.append([open_ms, n.price(o), n.price(h), n.price(lo), n.price(c), n.qty(v), open_ms + step_ms - 1,
                    f"{q:.8f}", trades_in, n.qty(bv), f"{bq:.8f}", "0"])
    return out


def _ms_param(params: dict, name: str) -> int | None:
    text = params.get(name, "")
    if not text:
        return None
    if not text.isdigit():
        raise errors.illegal_chars(name)
    return int(text)

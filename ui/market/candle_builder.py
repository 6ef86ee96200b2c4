"""OHLCV candles from public trades, Qt-free and vectorised.

Trades arrive in numpy batches; a batch is bucketed by interval with app/data/candles.py's
`from_trades` (a few `reduceat` calls, no Python loop per trade; the same code gives the
venues' candle history). The last candle stays open and is
merged with the next batch. Storage is bounded: the oldest candles are dropped.
"""
from __future__ import annotations

import numpy as np

from app.data import candles

INTERVALS_NS: dict[str, int] = {
    "1s": 1_000_000_000,
    "5s": 5_000_000_000,
    "1m": 60_000_000_000,
    "5m": 300_000_000_000,
}


class CandleBuilder:
    """Aggregates trades into candles of `interval_ns`; prices in ticks, volume in lots.

    Trades older than the open candle (out-of-order stragglers) are ignored: a closed
    candle is never rewritten, so a chart never jumps backwards.
    """

    def __init__(self, interval_ns: int = INTERVALS_NS["1s"], capacity: int = 2_000) -> None:
        if interval_ns <= 0 or capacity <= 0:
            raise ValueError("interval and capacity must be positive")
        self.interval_ns = int(interval_ns)
        self.capacity = int(capacity)
        size = 2 * self.capacity  # spare room so trimming is an occasional block move
        self._start = np.zeros(size, np.int64)
        self._ohlc = np.zeros((size, 4), np.int64)
        self._vol = np.zeros(size, np.int64)
        self._buy_vol = np.zeros(size, np.int64)
        self._n = 0
        self.version = 0
        """Bumped whenever candles change, so a view can skip redraws."""

    def __len__(self) -> int:
        return self._n

    def clear(self) -> None:
        self._n = 0
        self.version += 1

    # -- read access (views into internal storage: copy before keeping them) ----------
    @property
    def start_ns(self) -> np.ndarray:
        return self._start[: self._n]

    @property
    def open(self) -> np.ndarray:
        return self._ohlc[: self._n, 0]

    @property
    def high(self) -> np.ndarray:
        return self._ohlc[: self._n, 1]

    @property
    def low(self) -> np.ndarray:
        return self._ohlc[: self._n, 2]

    @property
    def close(self) -> np.ndarray:
        return self._ohlc[: self._n, 3]

    @property
    def volume(self) -> np.ndarray:
        return self._vol[: self._n]

    @property
    def buy_volume(self) -> np.ndarray:
        """Volume whose taker was a buyer (aggressive buys)."""
        return self._buy_vol[: self._n]

    # -- building ---------------------------------------------------------------------
    def add(self, trades: np.ndarray) -> int:
        """Folds a TRADE_DTYPE batch in; returns how many trades were used."""
        if len(trades) == 0:
            return 0
        iv = self.interval_ns
        if self._n:
            keep = trades["ts_ns"] // iv * iv >= self._start[self._n - 1]
            if not keep.all():
                trades = trades[keep]
                if len(trades) == 0:
                    return 0
        bars = candles.from_trades(trades, iv)  # the same aggregation as a venue's candle history
        starts, o, h, lo, c = bars["ts_ns"], bars["open"], bars["high"], bars["low"], bars["close"]
        v, bv = bars["volume"], bars["buy_volume"]
        k = 0
        if self._n and starts[0] == self._start[self._n - 1]:
            row = self._ohlc[self._n - 1]
            row[1] = max(row[1], h[0])
            row[2] = min(row[2], lo[0])
            row[3] = c[0]
            self._vol[self._n - 1] += v[0]
            self._buy_vol[self._n - 1] += bv[0]
            k = 1
        new = len(starts) - k
        if new:
            self._make_room(new)
            s, e = self._n, self._n + new
            self._start[s:e] = starts[k:]
            self._ohlc[s:e, 0] = o[k:]
            self._ohlc[s:e, 1] = h[k:]
            self._ohlc[s:e, 2] = lo[k:]
            self._ohlc[s:e, 3] = c[k:]
            self._vol[s:e] = v[k:]
            self._buy_vol[s:e] = bv[k:]
            self._n = e
            if self._n > self.capacity:
                self._drop(self._n - self.capacity)
        self.version += 1
        return len(trades)

    def _make_room(self, new: int) -> None:
        if self._n + new > len(self._start):
            # Keep only what could survive the trim after this append.
            keep = max(0, min(self._n, self.capacity - new))
            self._drop(self._n - keep)
            if new > len(self._start):
                size = 2 * max(self.capacity, new)
                self._start = np.resize(self._start, size)
                self._ohlc = np.resize(self._ohlc, (size, 4))
                self._vol = np.resize(self._vol, size)
                self._buy_vol = np.resize(self._buy_vol, size)

    def _drop(self, count: int) -> None:
        if count <= 0:
            return
        n = self._n - count
        self._start[:n] = self._start[count:self._n]
        self._ohlc[:n] = self._ohlc[count:self._n]
        self._vol[:n] = self._vol[count:self._n]
        self._buy_vol[:n] = self._buy_vol[count:self._n]
        self._n = n

    def rebuild(self, interval_ns: int, trades: np.ndarray) -> None:
        """Switches interval and re-aggregates the given history (oldest first)."""
        if interval_ns <= 0:
            raise ValueError("interval must be positive")
        self.interval_ns = int(interval_ns)
        self._n = 0
        self.add(trades)
        self.version += 1

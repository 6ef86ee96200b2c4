"""A bounded ring of public trades in numpy, filled from feed listeners.

Appending must be cheap because it runs in the feed's callback: one or two slice copies
per batch, no per-trade Python objects. Readers ask for what arrived since a sequence
number they remember, so several consumers (tape, candles, ladder volume) stay in sync
without the listener knowing about them.
"""
from __future__ import annotations

import numpy as np

from app.domain import TRADE_DTYPE


class TradeRing:
    def __init__(self, capacity: int = 50_000) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self._buf = np.zeros(capacity, dtype=TRADE_DTYPE)
        self._cap = capacity
        self._total = 0  # trades ever appended; the sequence number of the next one

    @property
    def capacity(self) -> int:
        return self._cap

    @property
    def total(self) -> int:
        return self._total

    def __len__(self) -> int:
        return min(self._total, self._cap)

    def clear(self) -> None:
        self._total = 0

    def append(self, trades: np.ndarray) -> None:
        n = len(trades)
        if n == 0:
            return
        cap = self._cap
        if n >= cap:
            self._buf[:] = trades[n - cap:]
            # Keep the invariant "slot = seq % cap" so reads stay simple.
            self._buf = np.roll(self._buf, (self._total + n) % cap)
            self._total += n
            return
        start = self._total % cap
        first = min(n, cap - start)
        self._buf[start:start + first] = trades[:first]
        if first < n:
            self._buf[: n - first] = trades[first:]
        self._total += n

    def since(self, seq: int) -> np.ndarray:
        """Trades with sequence >= seq still held, oldest first (a copy)."""
        seq = max(seq, self._total - self._cap, 0)
        n = self._total - seq
        if n <= 0:
            return self._buf[:0].copy()
        start = seq % self._cap
        end = start + n
        if end <= self._cap:
            return self._buf[start:end].copy()
        return np.concatenate((self._buf[start:], self._buf[: end - self._cap]))

    def latest(self, n: int) -> np.ndarray:
        """The newest n trades held, oldest first."""
        return self.since(self._total - n)

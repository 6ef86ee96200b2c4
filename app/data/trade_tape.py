"""A bounded tape of public trades as numpy, appended per published batch.

What a venue keeps to answer for its past (candles, klines): no Python object per trade,
one array copy per batch, compacted into one array now and then rather than per batch.
"""
from __future__ import annotations

import numpy as np

from app.domain import TRADE_DTYPE

TAPE_KEPT = 500_000
"""Trades kept by default (12 MB): about five hours of the demo market's trades."""


class TradeTape:
    """The newest `capacity` public trades, oldest first, in blocks appended as they come."""

    def __init__(self, capacity: int = TAPE_KEPT) -> None:
        self.capacity = capacity
        self._blocks: list[np.ndarray] = []
        self._held = 0

    def __len__(self) -> int:
        return self._held

    def append(self, trades: np.ndarray) -> None:
        if not len(trades):
            return
        self._blocks.append(np.array(trades, dtype=TRADE_DTYPE))  # a copy: feeds may reuse their arrays
        self._held += len(trades)
        if self._held > 2 * self.capacity:  # compacted now and then, not per batch
            self._blocks = [self.trades()]
            self._held = len(self._blocks[0])

    def trades(self) -> np.ndarray:
        """The newest `capacity` trades as one array."""
        if not self._blocks:
            return np.zeros(0, TRADE_DTYPE)
        whole = self._blocks[0] if len(self._blocks) == 1 else np.concatenate(self._blocks)
        self._blocks = [whole]
        return whole[-self.capacity:]

"""Taker executions of paper orders against the displayed book.

A paper taker order (market, IOC, crossing limit) fills at each displayed level's own
price, best first, consuming that level's displayed volume. The book itself belongs to the
feed and is never modified, so the volume taken is remembered here until the feed publishes
the next book state: two paper orders arriving between two book updates cannot both take
the same displayed lots. After an update the feed's book is the truth again (a real
exchange would have shown our consumption in it; the recording cannot).
"""
from __future__ import annotations

from typing import Any

BID = 1
ASK = -1

_FIRST_DEPTH = 32


class LiquidityTaker:
    """Walks one book side, net of the volume already taken in the current book state."""

    def __init__(self) -> None:
        self._taken: dict[tuple[int, int], int] = {}

    def clear(self) -> None:
        """A new book state was published: displayed volume is fresh again."""
        self._taken.clear()

    def taken_at(self, side: int, price_ticks: int) -> int:
        return self._taken.get((side, price_ticks), 0)

    def plan(self, book: Any, side: int, lots: int, limit_ticks: int = 0) -> list[tuple[int, int]]:
        """Levels (price ticks, lots) a taker would take from `side`, best first.

        `side` is the side consumed (ASK for a buy). `limit_ticks` (0 = none) is the worst
        price accepted: asks above it or bids below it are not taken. Nothing is consumed
        until `commit`; the plan may hold fewer lots than asked when the book is thin.
        """
        plan: list[tuple[int, int]] = []
        need = int(lots)
        depth = _FIRST_DEPTH
        seen = 0
        while need > 0:
            prices, qtys = book.top_levels(side, depth)
            count = len(prices)
            for i in range(seen, count):
                price = int(prices[i])
                if limit_ticks and (price - limit_ticks) * -side > 0:
                    return plan  # beyond the limit: asks above it, bids below it
                available = int(qtys[i]) - self._taken.get((side, price), 0)
                if available <= 0:
                    continue
                take = min(available, need)
                plan.append((price, take))
                need -= take
                if need == 0:
                    return plan
            if count < depth:
                return plan  # the whole side was walked
            seen = count
            depth *= 4
        return plan

    def commit(self, side: int, plan: list[tuple[int, int]]) -> None:
        """Marks the planned lots as taken until the next book state."""
        for price, lots in plan:
            key = (side, price)
            self._taken[key] = self._taken.get(key, 0) + lots

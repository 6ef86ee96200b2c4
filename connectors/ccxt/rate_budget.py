"""Our own order-rate budget per account, on top of ccxt's request rate limiter.

ccxt spaces requests so the exchange does not refuse them; this budget keeps a bot gone
wild (a requote loop, a bug) from sending more orders than the user allowed, whatever the
exchange would accept: a token bucket of `per_second` orders with bursts of `burst`. An
order beyond it is rejected at once with the reason; the health dock shows how much of
the budget the last minute used.
"""
from __future__ import annotations

from collections import deque


class RateBudget:
    def __init__(self, per_second: float = 10.0, burst: int = 20) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("an order budget needs a positive rate and a burst of at least 1")
        self.per_second = float(per_second)
        self.burst = int(burst)
        self._tokens = float(burst)
        self._last_ns = 0
        self._spent: deque[int] = deque()  # times of orders sent in the last minute
        self.refused = 0

    def try_spend(self, now_ns: int) -> bool:
        if self._last_ns:
            self._tokens = min(self.burst, self._tokens + (now_ns - self._last_ns) / 1e9 * self.per_second)
        self._last_ns = now_ns
        if self._tokens < 1:
            self.refused += 1
            return False
        self._tokens -= 1
        self._spent.append(now_ns)
        return True

    def used_fraction(self, now_ns: int) -> float:
        """Orders in the last 60 s over what the budget allows in 60 s (0..1)."""
        horizon = now_ns - 60_000_000_000
        while self._spent and self._spent[0] < horizon:
            self._spent.popleft()
        return min(1.0, len(self._spent) / (self.per_second * 60))

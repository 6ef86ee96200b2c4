"""Request weight per minute, as Binance counts it per IP: 429 past the limit, 418 (a ban)
for a client that keeps going after its 429s."""
from __future__ import annotations

import time

from connectors.local_exchange import errors

WEIGHTS = {
    "/api/v3/exchangeInfo": 20, "/api/v3/account": 20, "/api/v3/myTrades": 20, "/api/v3/openOrders": 6,
    "/api/v3/order:GET": 4, "/api/v3/trades": 25, "/api/v3/aggTrades": 4,
}
STRIKES_BEFORE_BAN = 10
BAN_S = 120


def weight(path: str, method: str, params: dict) -> int:
    if path == "/api/v3/depth":
        limit = int(params.get("limit", 100) or 100) if str(params.get("limit", "100")).isdigit() else 100
        return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
    if path.endswith("/klines"):  # Binance: 2 (USD-M counts by limit, 1 to 10; 2 is its default's)
        return 2
    return WEIGHTS.get(f"{path}:{method}", WEIGHTS.get(path, 1))


class WeightLimiter:
    def __init__(self, limit_per_minute: int = 6000) -> None:
        self.limit = int(limit_per_minute)
        self._minute = 0
        self.used = 0
        self._strikes = 0
        self._banned_until = 0.0

    def charge(self, ip: str, cost: int) -> None:
        """Counts a request; raises 429 past the limit, 418 while banned."""
        now = time.time()
        if now < self._banned_until:
            raise errors.banned(int(self._banned_until * 1000), int(self._banned_until - now) + 1)
        minute = int(now // 60)
        if minute != self._minute:
            self._minute, self.used, self._strikes = minute, 0, 0
        self.used += cost
        if self.used > self.limit:
            self._strikes += 1
            if self._strikes > STRIKES_BEFORE_BAN:
                self._banned_until = now + BAN_S
                raise errors.banned(int(self._banned_until * 1000), BAN_S)
            raise errors.too_many_requests(self.limit, int(60 - now % 60) + 1)

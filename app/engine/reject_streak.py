"""Orders refused one after another: a bot that places nothing must say so.

A bot whose every order is rejected (too small for the market's lot or minimum notional,
not enough balance, a risk limit) would otherwise show "running" while it places nothing.
The streak counts rejections since the last order the venue accepted; the bot logs one
warning when it reaches WARN_AFTER (each rejection is logged on its own as well) and the
bots table says it on the bot's row while the bot has no open order.
"""
from __future__ import annotations

WARN_AFTER = 3  # rejections in a row before the bot's one summary warning


class RejectStreak:
    """Rejections since the last accepted order, and the last reason given."""

    def __init__(self) -> None:
        self.count = 0
        self.reason: str | None = None

    def rejected(self, reason: str | None) -> bool:
        """Counts one rejection; True exactly when the streak reaches WARN_AFTER."""
        self.count += 1
        self.reason = reason or "no reason given"
        return self.count == WARN_AFTER

    def accepted(self) -> None:
        """An order rests or filled: the bot trades again."""
        self.count = 0
        self.reason = None

    def describe(self) -> str:
        """One line for the log and the bots table ("" when there is no streak)."""
        if not self.count:
            return ""
        orders = "order" if self.count == 1 else f"{self.count} orders in a row"
        return f"{orders} rejected: {self.reason}"

"""Profit and loss from fills, exact.

PnL is measured against holding the starting inventory: every fill changes cash (quote)
and inventory (base); PnL = cash change + inventory change x mark price. Fees are already
in the cash change, so they are counted exactly once (reported separately only for
information). Realized/unrealized use the average cost of the inventory built by the bot.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.domain import Fill, Side


@dataclass(slots=True)
class PnlTracker:
    quote_asset: str
    fills: int = 0
    maker_fills: int = 0
    buys: int = 0
    sells: int = 0
    volume_base: Decimal = Decimal(0)
    volume_quote: Decimal = Decimal(0)
    fees_quote: Decimal = Decimal(0)
    cash_delta: Decimal = Decimal(0)  # quote asset, fees included
    base_delta: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)
    _avg_cost: Decimal = Decimal(0)  # quote per base of the open position (fees excluded)

    def on_fill(self, fill: Fill) -> None:
        notional = fill.price * fill.amount
        fee = fill.fee if fill.fee_asset == self.quote_asset else fill.fee * fill.price
        self.fills += 1
        self.maker_fills += fill.is_maker
        self.volume_base += fill.amount
        self.volume_quote += notional
        self.fees_quote += fee
        signed = fill.amount if fill.side is Side.BUY else -fill.amount
        self.cash_delta -= notional * (1 if fill.side is Side.BUY else -1) + fee
        if fill.side is Side.BUY:
            self.buys += 1
        else:
            self.sells += 1
        self.realized -= fee
        self._update_position(signed, fill.price)

    def _update_position(self, signed: Decimal, price: Decimal) -> None:
        pos = self.base_delta
        if pos == 0 or (pos > 0) == (signed > 0):
            total = pos + signed
            self._avg_cost = (self._avg_cost * abs(pos) + price * abs(signed)) / abs(total)
        else:
            closed = min(abs(signed), abs(pos))
            direction = 1 if pos > 0 else -1
            self.realized += (price - self._avg_cost) * closed * direction
            if abs(signed) > abs(pos):
                self._avg_cost = price
            elif abs(signed) == abs(pos):
                self._avg_cost = Decimal(0)
        self.base_delta = pos + signed

    def pnl(self, mark: Decimal) -> Decimal:
        return self.cash_delta + self.base_delta * mark

    def unrealized(self, mark: Decimal) -> Decimal:
        return (mark - self._avg_cost) * self.base_delta if self.base_delta else Decimal(0)

"""Inventory rules of pure market making: size skew towards a target and the average cost
of the base held.

Both change only when the inventory does (a fill), so they are computed in Decimal off the
hot path and handed to the quote computation as integers.
"""
from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from app.domain import Side
from strategies.quoting import UNITS


def skew_scales(base: Decimal, quote: Decimal, price: Decimal, target_pct: Decimal,
                one_side_total: Decimal, range_multiplier: Decimal) -> tuple[int, int]:
    """(bid, ask) size factors in UNITS (UNITS = unchanged), Hummingbot's rule.

    The base held is compared with the target amount (target % of the portfolio's value at
    `price`) within a range of `range_multiplier` x the total size of one side's orders
    (at most half the portfolio): at the target both sides are as configured, towards the
    range's low edge bids grow to twice their size and asks shrink to nothing, and the
    reverse towards the high edge; beyond the range one side stops."""
    if price <= 0:
        return UNITS, UNITS
    total = base * price + quote
    if total <= 0:
        return UNITS, UNITS
    target = total * target_pct / 100 / price
    spread = min(one_side_total * range_multiplier, total / 2 / price)
    if spread <= 0:
        return UNITS, UNITS
    low, high = target - spread, target + spread
    if base <= low:
        return 2 * UNITS, 0
    if base >= high:
        return 0, 2 * UNITS
    ratio = (base - low) / (high - low)  # 0 at the low edge, 1 at the high edge
    ask = int((2 * ratio * UNITS).to_integral_value(rounding=ROUND_FLOOR))
    return 2 * UNITS - ask, ask


class InventoryCost:
    """The average price paid for the base held, from the bot's own fills.

    Buys add their cost (fees paid in the quote asset included); sells take base out at
    the average, which leaves it unchanged. Once everything is sold the cost is unknown
    again until the next buy. The base held before the start counts at `start_price`."""

    def __init__(self) -> None:
        self.amount = Decimal(0)
        self.cost = Decimal(0)  # total quote paid for `amount`

    def start(self, base_held: Decimal, start_price: Decimal | None) -> None:
        self.amount = max(base_held, Decimal(0)) if start_price is not None else Decimal(0)
        self.cost = self.amount * start_price if start_price is not None else Decimal(0)

    @property
    def price(self) -> Decimal | None:
        return self.cost / self.amount if self.amount > 0 else None

    def on_fill(self, side: Side, price: Decimal, amount: Decimal, quote_fee: Decimal) -> None:
        if side is Side.BUY:
            self.amount += amount
            self.cost += price * amount + quote_fee
            return
        if self.amount <= 0:
            return
        sold = min(amount, self.amount)
        self.cost -= self.cost * sold / self.amount
        self.amount -= sold
        if self.amount <= 0:
            self.amount, self.cost = Decimal(0), Decimal(0)

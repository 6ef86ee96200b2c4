"""The price levels of a grid and what each of them wants resting.

Kept apart from the strategy's event handling so the level maths (spacing, sizes, the
one free level between the buys and the sells) can be read and tested on its own.

A grid of n levels L0 < L1 < ... < Ln-1 holds at most one order per level: buys below
the price, sells above it, and one free level between them (the level nearest the price
at the start). When a buy at Li fills, Li becomes free and a sell of the bought amount is
armed at Li+1 (which was the free level); when a sell at Li fills, a buy is armed at
Li-1. Every completed pair earns one grid step, Li+1 - Li, on the amount. Should a
counter order's level still be busy (fills arriving out of price order, a partial fill
ended early), it waits in that level's queue until the level is free.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from app.domain import Fill, Instrument, Side
from strategies.ticks import lots_for_value


@dataclass(slots=True)
class Armed:
    """A counter order: what it closes (the fill price and fee of its opening side)."""

    side: Side
    lots: int
    opened_ticks: Decimal = Decimal(0)  # average price of the opening fills; 0: an order of
    opened_fee: Decimal = Decimal(0)     # the start layout, which closes nothing


@dataclass(slots=True)
class Level:
    index: int
    ticks: int
    lots: int  # the level's own order size (the configured amount at its price)
    want: Armed | None = None  # the order this level should have resting
    order_id: str | None = None
    filled_lots: int = 0  # of the current order
    filled_fees: Decimal = Decimal(0)
    filled_cost: int = 0  # sum of price ticks x lots of the current order's fills
    queue: deque[Armed] = field(default_factory=deque)


def level_prices(lower: Decimal, upper: Decimal, count: int, spacing: str, instrument: Instrument) -> list[int]:
    """The n level prices in ticks (nearest tick), lower and upper included.

    arithmetic: equal price steps (upper - lower) / (n - 1); geometric: equal ratios
    (upper / lower) ** (1 / (n - 1)), i.e. the same percentage step everywhere."""
    tick = instrument.tick_size
    prices: list[Decimal] = []
    for i in range(count):
        if spacing == "geometric":
            price = lower * (upper / lower) ** (Decimal(i) / Decimal(count - 1))
        else:
            price = lower + (upper - lower) * i / (count - 1)
        prices.append(price)
    prices[0], prices[-1] = lower, upper  # exact ends, whatever the power's last digit
    return [int((p / tick).to_integral_value(rounding=ROUND_HALF_EVEN)) for p in prices]


def level_lots(ticks: int, amount: Decimal, unit: str, instrument: Instrument) -> int:
    """A level's order size in lots: `amount` base, or worth `amount` quote at its price."""
    if unit == "quote":
        return lots_for_value(instrument, ticks, amount)
    return instrument.round_amount_to_lots(amount)


def start_layout(levels: list[Level], mid2: int) -> int:
    """Arms buys below and sells above the price (`mid2`: twice the mid, in ticks), the
    level nearest the price left free; returns that free level's index."""
    free = min(range(len(levels)), key=lambda i: (abs(2 * levels[i].ticks - mid2), i))
    for level in levels:
        level.queue.clear()
        level.order_id = None
        level.filled_lots = 0
        level.filled_fees = Decimal(0)
        level.filled_cost = 0
        if level.index == free:
            level.want = None
        else:
            level.want = Armed(Side.BUY if level.index < free else Side.SELL, level.lots)
    return free


@dataclass(frozen=True, slots=True)
class StepResult:
    """A completed grid step: the pair of fills (average prices, in ticks) and what it
    earned, in the settlement asset."""

    bought_ticks: Decimal
    sold_ticks: Decimal
    lots: int
    gross: Decimal
    fees: Decimal

    @property
    def net(self) -> Decimal:
        return self.gross - self.fees


def step_gross(instrument: Instrument, buy_ticks: Decimal, sell_ticks: Decimal, lots: int) -> Decimal:
    """What buying `lots` at one average price and selling them at another earns before
    fees, in the settlement asset (an inverse contract's value falls as the price rises)."""
    size = instrument.lot_size * instrument.contract_size * lots
    if instrument.is_inverse:
        return size / instrument.tick_size * (1 / buy_ticks - 1 / sell_ticks)
    return (sell_ticks - buy_ticks) * instrument.tick_size * size


def record_fill(level: Level, fill: Fill, lots: int, ticks: int) -> None:
    level.filled_lots += lots
    level.filled_cost += ticks * lots
    level.filled_fees += fill.fee


def close_order(levels: list[Level], level: Level, instrument: Instrument) -> StepResult | None:
    """The level's order ended with `level.filled_lots` filled: the filled part is armed
    one level away, an unfilled rest stays wanted here, the level takes its next queued
    counter order once free, and when the order closed a pair that step's result is
    returned."""
    want = level.want
    filled = level.filled_lots
    result = None
    if want is not None and filled > 0:
        avg_ticks = Decimal(level.filled_cost) / filled
        opened_fee = want.opened_fee * filled / want.lots
        if want.opened_ticks:
            buy, sell = (want.opened_ticks, avg_ticks) if want.side is Side.SELL else (avg_ticks, want.opened_ticks)
            result = StepResult(buy, sell, filled, step_gross(instrument, buy, sell, filled),
                                level.filled_fees + opened_fee)
        target = level.index + (1 if want.side is Side.BUY else -1)
        if 0 <= target < len(levels):
            arm(levels[target], Armed(want.side.opposite, filled, avg_ticks, level.filled_fees))
        remaining = want.lots - filled
        level.want = (Armed(want.side, remaining, want.opened_ticks, want.opened_fee - opened_fee)
                      if remaining > 0 else None)
    level.order_id = None
    level.filled_lots = 0
    level.filled_cost = 0
    level.filled_fees = Decimal(0)
    if level.want is None and level.queue:
        level.want = level.queue.popleft()
    return result


def arm(level: Level, order: Armed) -> None:
    """Gives a level a counter order, or queues it while the level is busy."""
    if level.want is None:
        level.want = order
    else:
        level.queue.append(order)

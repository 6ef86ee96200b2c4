"""Exact price, depth and balance maths for strategies that trade two markets.

Two markets rarely share a tick, a lot or even a quote asset (USDT against USDC, WETH
against ETH), so every price crossing from one market to the other goes through a
`Bridge` built from the two instruments and the user's constant conversion rates. The
maths is done in `Fraction`s of ticks and lots, so a profitability threshold is met or
not met exactly, and a price is rounded once, in the safe direction, when it becomes an
order (down for a bid, up for an ask).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from app.book.orderbook import ASK, BID
from app.domain import Instrument, Side
from app.interfaces.strategy import MarketContext

ONE = Fraction(1)


def percent(value: Decimal) -> Fraction:
    """A parameter in percent (0.3 = 0.3 %) as an exact fraction (3/1000)."""
    return Fraction(value) / 100


def book_side_taken_by(side: Side) -> int:
    """A buy takes the asks, a sell takes the bids."""
    return ASK if side is Side.BUY else BID


@dataclass(frozen=True, slots=True)
class Take:
    """What taking up to `wanted` lots from one side of a book would do, at the book as it is."""

    wanted: int
    lots: int  # lots the visible book gives (at most `wanted`)
    cost: int  # sum of price_ticks x lots over the levels taken: exact
    worst_ticks: int  # price of the last level reached; 0 when the side is empty
    depth_to_worst: int  # every lot resting at prices up to and including worst_ticks
    levels: int = 0  # price levels read to get there (the part of the book the walk depends on)

    @property
    def complete(self) -> bool:
        return self.wanted > 0 and self.lots == self.wanted

    @property
    def vwap_ticks(self) -> Fraction | None:
        """The average price of the lots taken, exact; None when nothing can be taken."""
        return Fraction(self.cost, self.lots) if self.lots else None


def take(book, side: int, wanted: int) -> Take:
    """Walks one side of `book` (BID or ASK: the side being taken) for `wanted` lots.

    Levels are read in growing batches, so a small order costs one short read and a large
    one still sees the whole book."""
    n = 16
    while True:
        prices, qtys = book.top_levels(side, n)
        got = cost = worst = depth = levels = 0
        for price, qty in zip(prices.tolist(), qtys.tolist()):
            if got >= wanted:
                break
            part = min(qty, wanted - got)
            got += part
            cost += price * part
            worst = price
            depth += qty
            levels += 1
        if got >= wanted or len(prices) < n:
            return Take(wanted, got, cost, worst, depth, levels)
        n *= 4


class Ratio:
    """An exact non-negative rational as two ints, for paths that run at every book update:
    `x * n // d` costs a fraction of what a Fraction operation does."""

    __slots__ = ("n", "d")

    def __init__(self, value: Fraction | int) -> None:
        value = Fraction(value)
        self.n, self.d = value.numerator, value.denominator

    def floor(self, x: int) -> int:
        return x * self.n // self.d

    def ceil(self, x: int) -> int:
        return -(-x * self.n // self.d)

    def __repr__(self) -> str:
        return f"Ratio({self.n}/{self.d})"


class Bridge:
    """Prices and amounts of a `source` market expressed in a `target` market's ticks and lots.

    `base_rate`: one source base asset is worth this many target base assets; `quote_rate`:
    one source quote asset is worth this many target quote assets (1 and 1 for the same
    pair on two venues). A source price P (source quote per source base) is then worth
    P x quote_rate / base_rate in the target's units. The factors are computed once."""

    __slots__ = ("source", "target", "base_rate", "quote_rate", "ticks_factor", "lots_factor")

    def __init__(self, source: Instrument, target: Instrument, base_rate: Fraction = ONE,
                 quote_rate: Fraction = ONE) -> None:
        self.source = source
        self.target = target
        self.base_rate = Fraction(base_rate)
        self.quote_rate = Fraction(quote_rate)
        self.ticks_factor = (Fraction(source.tick_size) * self.quote_rate
                             / (self.base_rate * Fraction(target.tick_size)))
        """Target ticks per source tick."""
        self.lots_factor = Fraction(source.lot_size) * self.base_rate / Fraction(target.lot_size)
        """Target lots per source lot."""

    def price(self, source_ticks: Fraction | int) -> Fraction:
        return Fraction(source_ticks) * self.ticks_factor

    def lots(self, source_lots: Fraction | int) -> Fraction:
        return Fraction(source_lots) * self.lots_factor

    def lots_back(self, target_lots: Fraction | int) -> Fraction:
        return Fraction(target_lots) / self.lots_factor


def limit_through(price_ticks: Fraction | int, side: Side, buffer: Fraction) -> int:
    """A taker's limit price at most `buffer` (a fraction) beyond `price_ticks` in the
    direction it trades, rounded inside that bound (a buy never above price x (1 + buffer),
    a sell never below price x (1 - buffer)), but never short of `price_ticks` itself."""
    price = Fraction(price_ticks)
    if side is Side.BUY:
        return max(math.ceil(price), math.floor(price * (1 + buffer)))
    return max(1, min(math.floor(price), math.ceil(price * (1 - buffer))))


def available(market: MarketContext, asset: str) -> Decimal:
    """The free balance of one asset on a market's account (0 when it holds none)."""
    balance = market.connector.balances().get(asset)
    return balance.available if balance is not None else Decimal(0)


def affordable_lots(market: MarketContext, side: Side, limit_ticks: int) -> int:
    """The most lots an order at `limit_ticks` can lock on this account right now: quote
    for a buy (with the larger fee rate, as venues reserve it), base for a sell. A
    derivative's margin is the venue's to check: no limit here."""
    inst = market.instrument
    if inst.is_derivative:
        return 1 << 62
    if side is Side.SELL:
        return int(available(market, inst.base) / inst.lot_size)
    if limit_ticks <= 0:
        return 0
    fee = max(inst.maker_fee, inst.taker_fee)
    per_lot = inst.notional(limit_ticks, 1) * (1 + fee)
    return int(available(market, inst.quote) / per_lot)


def fmt_price(inst: Instrument, ticks: Fraction | int) -> str:
    """A tick price for a log line, exact when whole, to 1e-8 of a tick otherwise."""
    value = Fraction(ticks)
    if value.denominator == 1:
        return format(inst.ticks_to_price(int(value)), "f")
    exact = Decimal(value.numerator) / Decimal(value.denominator) * inst.tick_size
    return format(exact.quantize(inst.tick_size / 10**8).normalize(), "f")


def fmt_amount(inst: Instrument, lots: int) -> str:
    return format(inst.lots_to_amount(lots), "f")


def fmt_pct(value: Fraction) -> str:
    """A fraction as a percentage with 4 decimals (0.0123 -> '1.2300%')."""
    return f"{float(value) * 100:.4f}%"

"""Where the cross-exchange market maker quotes, and how much.

A maker bid is bought on the maker market and hedged by selling the same amount at once on
the taker market, so its price comes from the taker's bids: the average price of selling
the whole amount there (the book walked level by level, not its top), converted into the
maker's units, less both fees and the wanted profit. A maker ask mirrors it on the taker's
asks. Everything is exact (`Fraction`s of ticks), so "profitable enough" is a comparison,
not a float that lands either side of the line.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from app.book.orderbook import ASK, BID
from app.domain import Order, Side
from app.interfaces.strategy import MarketContext
from strategies.market_math import Bridge, Take, book_side_taken_by, limit_through, percent, take


@dataclass(frozen=True, slots=True)
class Funds:
    """Both accounts' balances at one moment: `free` is available, `total` includes locks."""

    maker_free: dict[str, Decimal]
    taker_free: dict[str, Decimal]
    maker_total: dict[str, Decimal]
    taker_total: dict[str, Decimal]

    @classmethod
    def read(cls, maker: MarketContext, taker: MarketContext) -> "Funds":
        mb, tb = maker.connector.balances(), taker.connector.balances()
        return cls({a: b.available for a, b in mb.items()}, {a: b.available for a, b in tb.items()},
                   {a: b.total for a, b in mb.items()}, {a: b.total for a, b in tb.items()})


@dataclass(frozen=True, slots=True)
class SideQuote:
    """One maker quote: exact maker ticks and lots, with the prices it was derived from."""

    side: Side  # the maker order's side
    price_ticks: int
    lots: int
    limit: Fraction  # maker ticks at which the hedged fill earns exactly min_profitability
    hedge_vwap: Fraction  # the taker's average price for the hedge, in maker ticks


class XemmPricer:
    """Prices and sizes maker quotes against the taker book (read fresh at every call)."""

    def __init__(self, maker: MarketContext, taker: MarketContext, params: dict[str, Any]) -> None:
        self.maker = maker
        self.taker = taker
        self.bridge = Bridge(taker.instrument, maker.instrument,
                             Fraction(params["taker_to_maker_base_conversion_rate"]),
                             Fraction(params["taker_to_maker_quote_conversion_rate"]))
        self.maker_fee = Fraction(maker.instrument.maker_fee)
        self.taker_fee = Fraction(taker.instrument.taker_fee)
        self.min_profit = percent(params["min_profitability"])
        self.slippage = percent(params["slippage_buffer"])
        self.volume_factor = percent(params["order_size_taker_volume_factor"])
        self.balance_factor = percent(params["order_size_taker_balance_factor"])
        self.portfolio_ratio = percent(params["order_size_portfolio_ratio_limit"])
        self.adjust = bool(params["adjust_order_enabled"])
        inst = maker.instrument
        self.order_lots = inst.round_amount_to_lots(params["order_amount"])
        self.tolerance_lots = math.ceil(Fraction(params["top_depth_tolerance"]) / Fraction(inst.lot_size))

    # -- the hedge ------------------------------------------------------------------------------
    def taker_lots_for(self, maker_lots: int) -> int:
        """Taker lots that hedge `maker_lots` (rounded up: priced for at least the full amount)."""
        return math.ceil(self.bridge.lots_back(maker_lots))

    def hedge_take(self, maker_side: Side, maker_lots: int) -> Take:
        """Taking the hedge of a maker order of `maker_lots` from the taker book."""
        hedge_side = maker_side.opposite
        return take(self.taker.book, book_side_taken_by(hedge_side), self.taker_lots_for(maker_lots))

    def limit_for(self, maker_side: Side, hedge_vwap: Fraction, profit: Fraction) -> Fraction:
        """The maker price (ticks) at which a fill hedged at `hedge_vwap` (maker ticks) earns
        exactly `profit` after the maker fee and the taker fee."""
        if maker_side is Side.BUY:  # buy at p (paying the maker fee), sell the hedge at v
            return hedge_vwap * (1 - self.taker_fee) / ((1 + self.maker_fee) * (1 + profit))
        return hedge_vwap * (1 + self.taker_fee) * (1 + profit) / (1 - self.maker_fee)

    def profitability(self, order_side: Side, price_ticks: int, lots: int) -> Fraction | None:
        """What a fill of this maker order, hedged now on the taker book, would earn (a fraction
        of its cost); None when the taker book cannot take the whole hedge."""
        walk = self.hedge_take(order_side, lots)
        if not walk.complete or price_ticks <= 0:
            return None
        v = self.bridge.price(walk.vwap_ticks)  # type: ignore[arg-type]
        if order_side is Side.BUY:
            return v * (1 - self.taker_fee) / (price_ticks * (1 + self.maker_fee)) - 1
        return price_ticks * (1 - self.maker_fee) / (v * (1 + self.taker_fee)) - 1

    # -- sizes ------------------------------------------------------------------------------------
    def size(self, side: Side, funds: Funds, own_same_side_lots: int) -> int:
        """Maker lots for a quote on `side`: order_amount, cut by both balances, the portfolio
        share and the taker volume factor. `own_same_side_lots` are the lots of the bot's own
        resting quote on that side, whose lock the new quote would take over."""
        lots = min(self.order_lots, self._maker_balance_cap(side, funds) + own_same_side_lots,
                   self._taker_balance_cap(side, funds), self._portfolio_cap(funds))
        if lots <= 0:
            return 0
        return min(lots, self._volume_cap(side, lots))

    def _maker_balance_cap(self, side: Side, funds: Funds) -> int:
        inst = self.maker.instrument
        if inst.is_derivative:
            return self.order_lots
        if side is Side.SELL:
            return int(funds.maker_free.get(inst.base, Decimal(0)) / inst.lot_size)
        top = self.taker.book.best_bid_ticks
        if top <= 0:
            return 0
        price = self.bridge.price(top)  # a maker bid sits at or below the converted taker bid
        per_lot = price * Fraction(inst.tick_size) * Fraction(inst.lot_size) * (1 + self.maker_fee)
        return math.floor(Fraction(funds.maker_free.get(inst.quote, Decimal(0))) / per_lot)

    def _taker_balance_cap(self, side: Side, funds: Funds) -> int:
        """The hedge's need on the taker account: base to sell (maker bid) or quote to buy
        (maker ask) at the slippage-buffered limit the hedge will lock."""
        inst = self.taker.instrument
        if inst.is_derivative:
            return self.order_lots
        if side is Side.BUY:
            taker_lots = Fraction(funds.taker_free.get(inst.base, Decimal(0))) / Fraction(inst.lot_size)
        else:
            top = self.taker.book.best_ask_ticks
            if top <= 0:
                return 0
            limit = limit_through(top, Side.BUY, self.slippage)
            per_lot = Fraction(inst.notional(limit, 1)) * (1 + Fraction(max(inst.maker_fee, inst.taker_fee)))
            taker_lots = Fraction(funds.taker_free.get(inst.quote, Decimal(0))) / per_lot
        return math.floor(self.bridge.lots(taker_lots * self.balance_factor))

    def _portfolio_cap(self, funds: Funds) -> int:
        """portfolio ratio x (base on both markets + quote on both at the mid), in maker lots."""
        mid = self._maker_mid()
        if mid is None:
            return 0
        m, t = self.maker.instrument, self.taker.instrument
        price = mid * Fraction(m.tick_size)  # maker quote per maker base
        total = (Fraction(funds.maker_total.get(m.base, Decimal(0)))
                 + Fraction(funds.taker_total.get(t.base, Decimal(0))) * self.bridge.base_rate
                 + (Fraction(funds.maker_total.get(m.quote, Decimal(0)))
                    + Fraction(funds.taker_total.get(t.quote, Decimal(0))) * self.bridge.quote_rate) / price)
        return math.floor(total * self.portfolio_ratio / Fraction(m.lot_size))

    def _maker_mid(self) -> Fraction | None:
        book = self.maker.book
        if book.best_bid_ticks > 0 and book.best_ask_ticks > 0:
            return Fraction(book.best_bid_ticks + book.best_ask_ticks, 2)
        tb = self.taker.book
        if tb.best_bid_ticks > 0 and tb.best_ask_ticks > 0:
            return self.bridge.price(Fraction(tb.best_bid_ticks + tb.best_ask_ticks, 2))
        return None

    def _volume_cap(self, side: Side, lots: int) -> int:
        """At most volume_factor of the taker volume at prices as good as the hedge's worst
        (the whole visible side when the book is thinner than the hedge)."""
        walk = self.hedge_take(side, lots)
        return math.floor(self.bridge.lots(walk.depth_to_worst * self.volume_factor))

    # -- quotes -------------------------------------------------------------------------------------
    def quote(self, side: Side, funds: Funds, own: list[Order]) -> SideQuote | None:
        """The quote wanted on one side now, or None (no hedge liquidity, too small, no funds)."""
        own_side = [o for o in own if o.side is side]
        lots = self.size(side, funds, sum(o.remaining_lots for o in own_side))
        if lots <= 0:
            return None
        walk = self.hedge_take(side, lots)
        if not walk.complete:
            return None
        vwap = self.bridge.price(walk.vwap_ticks)  # type: ignore[arg-type]
        limit = self.limit_for(side, vwap, self.min_profit)
        price = math.floor(limit) if side is Side.BUY else math.ceil(limit)
        book = self.maker.book
        if self.adjust:
            top = self._top_excluding(side, own_side)
            if top:
                price = min(price, top + 1) if side is Side.BUY else max(price, top - 1)
        if side is Side.BUY and book.best_ask_ticks > 0:
            price = min(price, book.best_ask_ticks - 1)  # a maker quote, never a taker
        elif side is Side.SELL and book.best_bid_ticks > 0:
            price = max(price, book.best_bid_ticks + 1)
        inst = self.maker.instrument
        if price <= 0 or inst.notional(price, lots) < inst.min_notional:
            return None
        hedge_inst = self.taker.instrument
        hedge_lots = math.floor(self.bridge.lots_back(lots))
        if hedge_lots <= 0 or hedge_inst.notional(walk.worst_ticks, hedge_lots) < hedge_inst.min_notional:
            return None  # a fill could never be hedged: the taker would refuse the order
        return SideQuote(side, price, lots, limit, vwap)

    def _top_excluding(self, side: Side, own_side: list[Order]) -> int:
        """The best maker price on `side` with at least top_depth_tolerance lots that are
        not the bot's own (0 when none): where "just inside the top" is measured from."""
        own_at: dict[int, int] = {}
        for o in own_side:
            own_at[o.price_ticks] = own_at.get(o.price_ticks, 0) + o.remaining_lots
        prices, qtys = self.maker.book.top_levels(BID if side is Side.BUY else ASK, 64)
        for price, qty in zip(prices.tolist(), qtys.tolist()):
            others = qty - own_at.get(price, 0)
            if others > 0 and others >= self.tolerance_lots:
                return price
        return 0

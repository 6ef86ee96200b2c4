"""Where the cross-exchange market maker quotes, and how much.

A maker bid is bought on the maker market and hedged by selling the same amount at once on
the taker market, so its price comes from the taker's bids: the average price of selling
the whole amount there (the book walked level by level, not its top), converted into the
maker's units, less both fees and the wanted profit. A maker ask mirrors it on the taker's
asks.

This runs at every book update of either market, so the exact rationals (fees, profit,
conversion rates, size factors) are folded into integer pairs (`Ratio`) once per parameter
change or balance read, and each update is integer arithmetic only: "profitable enough"
is an exact comparison of two integers, never a float landing either side of the line.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from app.book.orderbook import ASK, BID
from app.domain import Order, Side
from app.interfaces.strategy import MarketContext
from strategies.market_math import Bridge, Ratio, Take, book_side_taken_by, percent, take


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


_UNLIMITED = 1 << 62


class _Caps:
    """Balance-dependent size limits folded into integer pairs, rebuilt per balance read."""

    def __init__(self, pricer: "XemmPricer", funds: Funds) -> None:
        m, t = pricer.maker.instrument, pricer.taker.instrument
        tick_m, lot_m = Fraction(m.tick_size), Fraction(m.lot_size)
        tick_t, lot_t = Fraction(t.tick_size), Fraction(t.lot_size)
        lf, tf = pricer.bridge.lots_factor, pricer.bridge.ticks_factor
        f = {k: Fraction(v) for k, v in funds.maker_free.items()}
        g = {k: Fraction(v) for k, v in funds.taker_free.items()}
        zero = Fraction(0)
        # maker bid: free quote / (taker top bid x tf x tick x lot x (1 + maker fee)) lots
        self.maker_quote = Ratio(f.get(m.quote, zero) / (tf * tick_m * lot_m * (1 + pricer.maker_fee)))
        self.maker_base_lots = int(f.get(m.base, zero) / lot_m)
        # maker bid's hedge sells taker base; a maker ask's hedge buys with taker quote at its limit
        self.taker_base_lots = int(g.get(t.base, zero) / lot_t * pricer.balance_factor * lf)
        fee_t = 1 + Fraction(max(t.maker_fee, t.taker_fee))
        self.taker_quote = Ratio(g.get(t.quote, zero) * pricer.balance_factor * lf / (tick_t * lot_t * fee_t))
        self.derivative_maker = m.is_derivative
        self.derivative_taker = t.is_derivative
        # portfolio: ratio x (base on both + quote on both / price) in maker lots, the price
        # being the maker mid; with mid2 = bid + ask (ticks): ratio/lot x base + 2 x ratio x quote / (tick x lot x mid2)
        base = Fraction(funds.maker_total.get(m.base, Decimal(0))) + Fraction(
            funds.taker_total.get(t.base, Decimal(0))) * pricer.bridge.base_rate
        quote = Fraction(funds.maker_total.get(m.quote, Decimal(0))) + Fraction(
            funds.taker_total.get(t.quote, Decimal(0))) * pricer.bridge.quote_rate
        self.portfolio_base = pricer.portfolio_ratio * base / lot_m
        self.portfolio_quote = pricer.portfolio_ratio * quote * 2 / (tick_m * lot_m)


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
        self.cancel_threshold = percent(params["cancel_order_threshold"])
        self.slippage = percent(params["slippage_buffer"])
        self.volume_factor = percent(params["order_size_taker_volume_factor"])
        self.balance_factor = percent(params["order_size_taker_balance_factor"])
        self.portfolio_ratio = percent(params["order_size_portfolio_ratio_limit"])
        self.adjust = bool(params["adjust_order_enabled"])
        inst = maker.instrument
        self.order_lots = inst.round_amount_to_lots(params["order_amount"])
        self.tolerance_lots = Ratio(Fraction(params["top_depth_tolerance"]) / Fraction(inst.lot_size)).ceil(1)
        lf = self.bridge.lots_factor
        self._maker_lots = Ratio(lf)  # taker lots -> maker lots
        self._taker_lots = Ratio(1 / lf)  # maker lots -> taker lots
        self._volume = Ratio(lf * self.volume_factor)  # taker depth -> maker lots allowed
        self._hedge_limit_up = Ratio(1 + self.slippage)
        self._tf = Ratio(self.bridge.ticks_factor)
        self.limits = {
            "min": {s: Ratio(self._limit_factor(s, self.min_profit)) for s in Side},
            "cancel": {s: Ratio(self._limit_factor(s, self.cancel_threshold)) for s in Side},
        }
        self._caps: _Caps | None = None
        self._caps_of: Funds | None = None
        self._walks: dict[tuple[Side, int], Take] = {}
        self.levels_read: dict[tuple[str, int], int] = {}
        self.fresh()

    def _limit_factor(self, maker_side: Side, profit: Fraction) -> Fraction:
        """Maker ticks per taker tick of hedge average at which a hedged fill earns `profit`
        after the maker fee and the taker fee."""
        tf = self.bridge.ticks_factor
        if maker_side is Side.BUY:  # buy at p (paying the maker fee), sell the hedge at v
            return tf * (1 - self.taker_fee) / ((1 + self.maker_fee) * (1 + profit))
        return tf * (1 + self.taker_fee) * (1 + profit) / (1 - self.maker_fee)

    # -- the hedge ------------------------------------------------------------------------------
    def fresh(self) -> None:
        """Forgets the book walks of the last decision (the books changed since)."""
        self._walks.clear()
        self.levels_read = {("taker", BID): 1, ("taker", ASK): 1, ("maker", BID): 1, ("maker", ASK): 1}

    def inputs(self) -> tuple:
        """Everything of the two books the last decision read: the taker levels its walks
        reached and the maker levels its top-of-book search scanned (one more each, so a new
        level just beyond shows too). Equal inputs, equal decision."""
        out = []
        for (market, side), n in self.levels_read.items():
            book = self.taker.book if market == "taker" else self.maker.book
            prices, qtys = book.top_levels(side, n + 1)
            out.append(prices.tobytes() + qtys.tobytes())
        return tuple(out)

    def taker_lots_for(self, maker_lots: int) -> int:
        """Taker lots that hedge `maker_lots` (rounded up: priced for at least the full amount)."""
        return self._taker_lots.ceil(maker_lots)

    def hedge_lots_for(self, maker_lots: int) -> int:
        """Whole taker lots a fill of `maker_lots` is hedged with (the rest waits for more fills)."""
        return self._taker_lots.floor(maker_lots)

    def hedge_take(self, maker_side: Side, maker_lots: int) -> Take:
        """Taking the hedge of a maker order of `maker_lots` from the taker book (one walk per
        side and amount per decision)."""
        taker_lots = self.taker_lots_for(maker_lots)
        key = (maker_side, taker_lots)
        walk = self._walks.get(key)
        if walk is None:
            taken = book_side_taken_by(maker_side.opposite)
            walk = take(self.taker.book, taken, taker_lots)
            self._walks[key] = walk
            self.levels_read["taker", taken] = max(self.levels_read["taker", taken], walk.levels)
        return walk

    def meets(self, side: Side, price_ticks: int, lots: int, threshold: str) -> bool | None:
        """Whether a maker order at `price_ticks` for `lots`, hedged now, earns at least the
        threshold ("min": min_profitability, "cancel": cancel_order_threshold) after fees;
        None when the taker book cannot take the whole hedge."""
        walk = self.hedge_take(side, lots)
        if not walk.complete:
            return None
        k = self.limits[threshold][side]
        if side is Side.BUY:  # p <= cost / lots x k
            return price_ticks * walk.lots * k.d <= walk.cost * k.n
        return price_ticks * walk.lots * k.d >= walk.cost * k.n

    def profitability(self, order_side: Side, price_ticks: int, lots: int) -> Fraction | None:
        """What a fill of this maker order, hedged now, would earn (a fraction of its cost);
        for messages, so a Fraction is fine here."""
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
        caps = self._caps_for(funds)
        tb, ta = self.taker.book.best_bid_ticks, self.taker.book.best_ask_ticks
        if side is Side.BUY:
            if caps.derivative_maker:
                maker = _UNLIMITED
            else:  # a maker bid sits at or below the converted taker bid: priced there
                maker = caps.maker_quote.n // (caps.maker_quote.d * tb) if tb > 0 else 0
            taker = _UNLIMITED if caps.derivative_taker else caps.taker_base_lots
        else:
            maker = _UNLIMITED if caps.derivative_maker else caps.maker_base_lots
            if caps.derivative_taker:
                taker = _UNLIMITED
            else:
                limit = self._hedge_limit_up.ceil(ta) if ta > 0 else 0
                taker = caps.taker_quote.n // (caps.taker_quote.d * limit) if limit > 0 else 0
        lots = min(self.order_lots, maker + own_same_side_lots, taker, self._portfolio_cap(caps))
        if lots <= 0:
            return 0
        walk = self.hedge_take(side, lots)
        return min(lots, self._volume.floor(walk.depth_to_worst))

    def _caps_for(self, funds: Funds) -> _Caps:
        if self._caps is None or self._caps_of is not funds:
            self._caps = _Caps(self, funds)
            self._caps_of = funds
        return self._caps

    def _portfolio_cap(self, caps: _Caps) -> int:
        mid2 = self._maker_mid2()
        if mid2 is None:
            return 0
        b, q = caps.portfolio_base, caps.portfolio_quote
        if isinstance(mid2, int):  # floor(b + q / mid2) in integers
            return (b.numerator * q.denominator * mid2 + q.numerator * b.denominator) // (
                b.denominator * q.denominator * mid2)
        return int(b + q / mid2)

    def _maker_mid2(self) -> Fraction | int | None:
        """Twice the maker mid in maker ticks (the taker's, converted, when the maker book is
        one-sided)."""
        book = self.maker.book
        if book.best_bid_ticks > 0 and book.best_ask_ticks > 0:
            return book.best_bid_ticks + book.best_ask_ticks
        tb = self.taker.book
        if tb.best_bid_ticks > 0 and tb.best_ask_ticks > 0:
            return self.bridge.price(tb.best_bid_ticks + tb.best_ask_ticks)
        return None

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
        k = self.limits["min"][side]
        if side is Side.BUY:
            price = walk.cost * k.n // (walk.lots * k.d)
        else:
            price = -(-walk.cost * k.n // (walk.lots * k.d))
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
        hedge_lots = self.hedge_lots_for(lots)
        if hedge_lots <= 0 or hedge_inst.notional(walk.worst_ticks, hedge_lots) < hedge_inst.min_notional:
            return None  # a fill could never be hedged: the taker would refuse the order
        return SideQuote(side, price, lots, Fraction(walk.cost * k.n, walk.lots * k.d),
                         Fraction(walk.cost * self._tf.n, walk.lots * self._tf.d))

    def _top_excluding(self, side: Side, own_side: list[Order]) -> int:
        """The best maker price on `side` with at least top_depth_tolerance lots that are
        not the bot's own (0 when none): where "just inside the top" is measured from."""
        own_at: dict[int, int] = {}
        for o in own_side:
            own_at[o.price_ticks] = own_at.get(o.price_ticks, 0) + o.remaining_lots
        book_side = BID if side is Side.BUY else ASK
        prices, qtys = self.maker.book.top_levels(book_side, 64)
        for i, (price, qty) in enumerate(zip(prices.tolist(), qtys.tolist())):
            others = qty - own_at.get(price, 0)
            if others > 0 and others >= self.tolerance_lots:
                self.levels_read["maker", book_side] = max(self.levels_read["maker", book_side], i + 1)
                return price
        self.levels_read["maker", book_side] = 64
        return 0

"""One market's own orders and fills as a run's analytics count them.

A bot trading several markets (a maker and a hedge, two legs of an arbitrage) is judged
market by market: how much it placed and filled where, how the mid moved after each fill
on that market's own book (markouts), and how long it quoted there. `MarketFlow` keeps
that for one role; `RunAnalytics` (app/engine/analytics.py) has one per role, hears every
account the bot trades on, and hands each order event to the role whose order it is.
Work per order event: a few dict operations; per fill one record and one timer per
markout horizon.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from app.domain import OrderFilled, OrderStatus, Side
from app.domain.order import Order
from app.engine.run_metrics import FillPoint, QuotedTime, markouts

if TYPE_CHECKING:
    from app.engine.bot_market import BotMarket
    from app.interfaces.clock import Clock

_NS = 1_000_000_000
_ACCEPTED = frozenset({OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED,
                       OrderStatus.PENDING_CANCEL})


class MarketFlow:
    """Own orders placed, fills with their markouts, and time quoted on one role's market."""

    def __init__(self, market: "BotMarket", clock: "Clock", horizons_s: tuple[int, ...]) -> None:
        self.market = market
        self.clock = clock
        self.horizons_s = horizons_s
        self.fills: list[FillPoint] = []
        self.orders_placed = 0
        self.placed_lots = 0
        self.quoted: QuotedTime | None = None
        self._seen_trades: set[str] = set()
        self._accepted: set[str] = set()
        self._live: dict[str, Side] = {}
        self._sides = {Side.BUY: 0, Side.SELL: 0}

    def start(self, start_ns: int) -> None:
        self.quoted = QuotedTime(start_ns)

    def mid(self) -> Decimal | None:
        book = self.market.feed.book
        bid, ask = book.best_bid_ticks, book.best_ask_ticks
        if bid <= 0 or ask <= 0 or book.is_stale:
            return None
        return Decimal(bid + ask) * self.market.instrument.tick_size / 2

    def ours(self, order: Order) -> bool:
        """Whether `order` is this role's: its symbol, and placed by the bot on this account."""
        cid = order.client_order_id
        return order.symbol == self.market.symbol and (self.market.orders.owns(cid) or cid in self._accepted)

    def on_fill(self, event: OrderFilled) -> bool:
        """Records a fill of this role's (once, if the venue reports it again); True if new."""
        fill = event.fill
        new = fill.trade_id not in self._seen_trades
        if new:
            self._seen_trades.add(fill.trade_id)
            now = self.clock.now_ns()
            point = FillPoint(now, fill.side.sign, fill.price, fill.amount, self.mid(), [None] * len(self.horizons_s))
            self.fills.append(point)
            for i, horizon in enumerate(self.horizons_s):
                self.clock.call_at(now + horizon * _NS, lambda p=point, i=i: self._markout(p, i))
        self.track(event.order)
        return new

    def _markout(self, point: FillPoint, index: int) -> None:
        point.later[index] = self.mid()

    def track(self, order: Order) -> None:
        """Orders placed (accepted by the venue) and which sides have own orders resting."""
        cid = order.client_order_id
        if cid not in self._accepted and (order.status in _ACCEPTED or order.filled_lots > 0):
            self._accepted.add(cid)
            self.orders_placed += 1
            self.placed_lots += order.amount_lots
        resting = order.status.is_live
        side = self._live.get(cid)
        if resting and side is None:
            self._live[cid] = order.side
            self._sides[order.side] += 1
        elif not resting and side is not None:
            del self._live[cid]
            self._sides[side] -= 1
        else:
            return
        if self.quoted is not None:
            self.quoted.update(self.clock.now_ns(), self._sides[Side.BUY], self._sides[Side.SELL])

    def figures(self, end_ns: int) -> dict[str, Any]:
        """Quoting, placing and filling on this market, and its fills' markouts."""
        shares = self.quoted.shares_pct(end_ns) if self.quoted is not None else None
        filled = sum((f.amount for f in self.fills), Decimal(0))
        placed = self.market.instrument.lots_to_amount(self.placed_lots)
        return {
            "quoted_both_sides_pct": shares["both"] if shares else None,
            "quoting_pct": shares,
            "orders_placed": self.orders_placed,
            "placed_amount": money(placed),
            "filled_amount": money(filled),
            "fill_rate": round(float(filled / placed), 6) if placed else None,
            "order_to_trade_ratio": round(self.orders_placed / len(self.fills), 4) if self.fills else None,
            "markouts_bps": markouts(self.fills, [f"{h}s" for h in self.horizons_s]),
        }


def money(value: Decimal | None) -> str | None:
    """Exact, without an exponent: 0.000001 rather than 1E-6, 100 rather than 1E+2."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return format(value.quantize(Decimal(1)), "f")
    return format(value.normalize(), "f")

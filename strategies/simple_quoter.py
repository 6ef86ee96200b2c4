"""A two-sided quoting strategy: one or more levels a chosen distance from the mid.

It reacts to every book update at once, but only touches orders when the wanted prices
left the refresh tolerance or an order outlived its refresh time, so a quiet market
costs no order traffic. Quoting stops (orders cancelled) while the book is stale.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.config.schema import Field, Schema
from app.domain import BookStale, BookUpdated, OrderFilled, OrderType, Side
from strategies.base import Quote, Strategy
from strategies.reconcile import plan_orders

_BP = Decimal("0.0001")
_NS = 1_000_000_000


class SimpleQuoter(Strategy):
    name = "simple_quoter"
    title = "Simple two-sided quoter"
    schema = Schema(
        (
            Field("order_amount", "decimal", Decimal("0.002"), minimum=0, exclusive_minimum=True, unit="base",
                  help="Size of each order, in the base asset (e.g. BTC)."),
            Field("bid_spread_bps", "decimal", Decimal("2"), minimum=0, maximum=5000, unit="bp",
                  help="Distance of the best bid below the mid price, in basis points (1 bp = 0.01%)."),
            Field("ask_spread_bps", "decimal", Decimal("2"), minimum=0, maximum=5000, unit="bp",
                  help="Distance of the best ask above the mid price, in basis points."),
            Field("order_levels", "int", 1, minimum=1, maximum=20, unit="levels",
                  help="Orders per side; each further level sits one level step further out."),
            Field("level_step_bps", "decimal", Decimal("2"), minimum=0, maximum=5000, unit="bp",
                  help="Extra distance from the mid for each further level."),
            Field("refresh_seconds", "float", 15.0, minimum=0.1, maximum=86400, unit="s",
                  help="Orders older than this are replaced even if their price is still right."),
            Field("refresh_tolerance_bps", "decimal", Decimal("1"), minimum=0, maximum=1000, unit="bp",
                  help="Orders are kept while the wanted price is within this distance of theirs."),
            Field("inventory_target_base_pct", "decimal", Decimal("50"), minimum=0, maximum=100, unit="%",
                  help="Wanted share of the portfolio value held in the base asset."),
            Field("inventory_skew_bps", "decimal", Decimal("0"), minimum=0, maximum=1000, unit="bp",
                  help="How far quotes shift away from the side that would push inventory further "
                       "from the target, at full deviation. 0 turns skew off."),
            Field("filled_order_delay_seconds", "float", 0.0, minimum=0, maximum=3600, unit="s",
                  help="Pause before quoting again after a fill."),
            Field("post_only", "bool", True,
                  help="Place limit-maker orders that the exchange rejects instead of letting them take."),
        )
    )

    def __init__(self, params: dict[str, Any] | None = None, source: str = "") -> None:
        super().__init__(params, source)
        self._paused_until_ns = 0
        self._timer = None

    # -- life cycle -----------------------------------------------------------------------
    def on_start(self) -> None:
        self._schedule_age_check()
        self._requote()  # quote the book as it is now, not only at its next change

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule_age_check(self) -> None:
        """Replaces aged orders even when the book is quiet."""
        assert self.ctx is not None
        period = max(int(self.params["refresh_seconds"] * _NS) // 4, 50_000_000)
        self._timer = self.ctx.clock.call_later(period, self._on_age_timer)

    def _on_age_timer(self) -> None:
        if not self.running:
            return
        self._requote()
        self._schedule_age_check()

    def on_params_changed(self, applied: dict[str, tuple[Any, Any]]) -> None:
        if self.running:
            self._requote()

    # -- events ----------------------------------------------------------------------------
    def on_book(self, event: BookUpdated) -> None:
        if self.running:
            self._requote()

    def on_fill(self, event: OrderFilled) -> None:
        assert self.ctx is not None
        delay = self.params["filled_order_delay_seconds"]
        if delay > 0:
            self._paused_until_ns = self.ctx.clock.now_ns() + int(delay * _NS)

    def on_stale(self, event: BookStale) -> None:
        assert self.ctx is not None
        self.ctx.log.warning("book stale (%s): cancelling quotes until it resyncs", event.reason)
        self.ctx.connector.cancel_all(self.ctx.symbol)

    # -- quoting ---------------------------------------------------------------------------
    def _requote(self) -> None:
        ctx = self.ctx
        assert ctx is not None
        book = ctx.book
        if book.is_stale:
            return
        now = ctx.clock.now_ns()
        wanted = self.wanted_quotes() if now >= self._paused_until_ns else []
        resting = ctx.connector.open_orders(ctx.symbol)
        mid = Decimal(book.best_bid_ticks + book.best_ask_ticks) / 2
        tolerance = int(mid * self.params["refresh_tolerance_bps"] * _BP)
        plan = plan_orders(
            wanted,
            resting,
            tolerance_ticks=tolerance,
            max_age_ns=int(self.params["refresh_seconds"] * _NS),
            now_ns=now,
        )
        for client_order_id in plan.cancel:
            ctx.connector.cancel_order(client_order_id)
        if not plan.create:
            return
        order_type = OrderType.LIMIT_MAKER if self.params["post_only"] else OrderType.LIMIT
        budget = self._budget()
        for quote in plan.create:
            if not self._affordable(quote, budget):
                continue
            ctx.connector.place_order(ctx.symbol, quote.side, order_type, quote.amount_lots, quote.price_ticks)

    def _budget(self) -> dict[str, Decimal]:
        assert self.ctx is not None
        return {asset: bal.available for asset, bal in self.ctx.connector.balances().items()}

    def _affordable(self, quote: Quote, budget: dict[str, Decimal]) -> bool:
        """Budget check before sending, so a short account does not spam rejected orders."""
        inst = self.ctx.instrument  # type: ignore[union-attr]
        if quote.side is Side.BUY:
            need = inst.notional(quote.price_ticks, quote.amount_lots) * (1 + max(inst.maker_fee, inst.taker_fee))
            asset = inst.quote
        else:
            need = inst.lots_to_amount(quote.amount_lots)
            asset = inst.base
        if budget.get(asset, Decimal(0)) < need:
            return False
        budget[asset] -= need
        return True

    def wanted_quotes(self) -> list[Quote]:
        """The ladder for the current book (empty when a side of the book is missing)."""
        ctx = self.ctx
        assert ctx is not None
        book = ctx.book
        best_bid, best_ask = book.best_bid_ticks, book.best_ask_ticks
        if best_bid <= 0 or best_ask <= 0:
            return []
        inst = ctx.instrument
        p = self.params
        lots = inst.round_amount_to_lots(p["order_amount"])
        if lots <= 0:
            return []
        mid = Decimal(best_bid + best_ask) / 2
        skew = self._skew_bps(mid)
        quotes: list[Quote] = []
        for level in range(p["order_levels"]):
            step = p["level_step_bps"] * level
            bid_bps = p["bid_spread_bps"] + step + max(skew, Decimal(0))
            ask_bps = p["ask_spread_bps"] + step + max(-skew, Decimal(0))
            bid = int((mid * (1 - bid_bps * _BP)).to_integral_value(rounding="ROUND_FLOOR"))
            ask = int((mid * (1 + ask_bps * _BP)).to_integral_value(rounding="ROUND_CEILING"))
            if p["post_only"]:
                bid = min(bid, best_ask - 1)
                ask = max(ask, best_bid + 1)
            if bid > 0 and inst.notional(bid, lots) >= inst.min_notional:
                quotes.append(Quote(Side.BUY, bid, lots))
            if inst.notional(ask, lots) >= inst.min_notional:
                quotes.append(Quote(Side.SELL, ask, lots))
        return quotes

    def _skew_bps(self, mid_ticks: Decimal) -> Decimal:
        """Positive: too much base, so bids move away; negative: too little, asks move away."""
        strength = self.params["inventory_skew_bps"]
        if strength == 0:
            return Decimal(0)
        inst = self.ctx.instrument  # type: ignore[union-attr]
        balances = self.ctx.connector.balances()  # type: ignore[union-attr]
        base = balances[inst.base].total if inst.base in balances else Decimal(0)
        quote = balances[inst.quote].total if inst.quote in balances else Decimal(0)
        price = mid_ticks * inst.tick_size
        value = base * price + quote
        if value <= 0:
            return Decimal(0)
        share = base * price / value * 100
        target = self.params["inventory_target_base_pct"]
        room = max(target, 100 - target) or Decimal(1)
        deviation = max(Decimal(-1), min(Decimal(1), (share - target) / room))
        return strength * deviation

    def preview(self) -> list[Quote]:
        return self.wanted_quotes() if self.ctx is not None else []

    def reference_prices(self) -> dict[str, Decimal]:
        if self.ctx is None:
            return {}
        book = self.ctx.book
        if book.best_bid_ticks <= 0 or book.best_ask_ticks <= 0:
            return {}
        mid = Decimal(book.best_bid_ticks + book.best_ask_ticks) / 2
        return {"mid": mid * self.ctx.instrument.tick_size}

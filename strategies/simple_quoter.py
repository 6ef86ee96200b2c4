"""A two-sided quoting strategy: one or more levels a chosen distance from the mid.

It reacts to every book update at once, but only touches orders when the wanted prices
left the refresh tolerance or an order outlived its refresh time, so a quiet market
costs no order traffic. Quoting stops (orders cancelled) while the book is stale.

The ladder maths and the "anything to do?" test run compiled (strategies/quote_gate.pyx):
in a bot the gate sees every book update at C level and calls `_requote` only when the
plan would change something; previews and the Python path use the same maths.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.config.schema import Schema
from app.domain import BookStale, BookUpdated, Instrument, OrderFilled, OrderStatus, Side
from app.interfaces.strategy import Quote, Strategy
from strategies import common_fields as cf
from strategies.quote_gate import QuoteGate
from strategies.quoting import NS as _NS
from strategies.quoting import bps_to_units as _units
from strategies.quoting import age_check_period_ns, held, mid_price, min_notional_ticks_lots, spread_fee_warnings
from strategies.reconcile import cancel_while_stale, refresh_quotes

# Enum members as module constants: compiled (setup.py COMPILED_PY), reading an Enum class
# attribute goes through the Enum metaclass's __getattr__ hook every time (Python 3.11).
_BUY = Side.BUY
_PENDING_CANCEL = OrderStatus.PENDING_CANCEL
_SELL = Side.SELL


class SimpleQuoter(Strategy):
    name = "simple_quoter"
    title = "Simple two-sided quoter"
    schema = Schema(
        (
            cf.order_amount("Size of each order, in the base asset (e.g. BTC)."),
            cf.bps("bid_spread_bps", 2, "Distance of the best bid below the mid price, in basis points "
                                        "(1 bp = 0.01%)."),
            cf.bps("ask_spread_bps", 2, "Distance of the best ask above the mid price, in basis points."),
            cf.order_levels("Orders per side; each further level sits one level step further out."),
            cf.level_step_bps(),
            cf.refresh_time("refresh_seconds", 15.0),
            cf.refresh_tolerance_bps("refresh_tolerance_bps",
                                     help="Orders are kept while the wanted price is within this distance of theirs."),
            cf.inventory_target_base_pct(),
            cf.bps("inventory_skew_bps", 0, "How far quotes shift away from the side that would push inventory "
                                            "further from the target, at full deviation. 0 turns skew off.",
                   maximum=1000),
            cf.filled_order_delay("filled_order_delay_seconds", 0.0),
            cf.post_only("Place limit-maker orders that the exchange rejects instead of letting them take."),
        )
    )

    def __init__(self, params: dict[str, Any] | None = None, source: str = "") -> None:
        super().__init__(params, source)
        self._paused_until_ns = 0
        self._timer = None
        self._next_age_check_ns = 0
        self._skew_cache: int | None = None
        self._skew_valid_until = 0
        self._gate = QuoteGate()
        self._gate.callback = self._requote
        self._derive()

    def market_hook(self) -> QuoteGate | None:
        """The compiled gate, unless a subclass reacts to book updates itself."""
        return self._gate if type(self).on_book is SimpleQuoter.on_book else None

    # -- life cycle -----------------------------------------------------------------------
    def on_start(self) -> None:
        self._configure_gate()  # the gate reacts from the first book update on
        self._schedule_age_check()
        self._requote()  # quote the book as it is now, not only at its next change

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule_age_check(self) -> None:
        """Replaces aged orders even when the book is quiet."""
        assert self.ctx is not None
        self._timer = self.ctx.clock.call_later(age_check_period_ns(self.params["refresh_seconds"]),
                                                self._on_age_timer)

    def _on_age_timer(self) -> None:
        if not self.running:
            return
        self._requote()
        self._schedule_age_check()

    def on_params_changed(self, applied: dict[str, tuple[Any, Any]]) -> None:
        self._derive()
        self._skew_cache = None
        if self.running:
            self._requote()

    # -- events ----------------------------------------------------------------------------
    def on_book(self, event: BookUpdated) -> None:
        if self.running:
            self._requote()

    def on_fill(self, event: OrderFilled) -> None:
        assert self.ctx is not None
        self._orders_dirty = True
        self._gate.dirty = True
        self._skew_cache = None
        delay = self.params["filled_order_delay_seconds"]
        if delay > 0:
            self._paused_until_ns = self.ctx.clock.now_ns() + int(delay * _NS)
            self._gate.paused_until_ns = self._paused_until_ns

    def on_stale(self, event: BookStale) -> None:
        assert self.ctx is not None
        cancel_while_stale(self.ctx, event.reason)

    # -- quoting ---------------------------------------------------------------------------
    def _requote(self) -> None:
        """Runs on every book update, so the common case (nothing to change) stays cheap:
        integer tick maths only, and no order or balance reads unless something moved."""
        ctx = self.ctx
        assert ctx is not None
        book = ctx.book
        if book.is_stale:
            return
        now = ctx.clock.now_ns()
        wanted = self.wanted_quotes() if now >= self._paused_until_ns else []
        key = tuple(wanted)
        if key == self._last_wanted and not self._orders_dirty and now < self._next_age_check_ns:
            return
        self._last_wanted = key
        self._orders_dirty = False
        self._gate.dirty = False  # an order event while acting marks it dirty again
        self._next_age_check_ns = refresh_quotes(
            ctx, wanted, ctx.connector.open_orders(ctx.symbol), tolerance_units=self._tolerance_units,
            max_age_ns=int(self.params["refresh_seconds"] * _NS), now_ns=now, post_only=self.params["post_only"])
        self._tell_gate(wanted)

    def _tell_gate(self, wanted: list[Quote]) -> None:
        """What rests now and the ladder acted on: the gate's mirror for its C-level test."""
        ctx = self.ctx
        assert ctx is not None
        pending_cancel = _PENDING_CANCEL
        resting = [(o.side.sign, o.price_ticks, o.amount_lots, o.created_ns)
                   for o in ctx.connector.open_orders(ctx.symbol) if o.status is not pending_cancel]
        self._gate.age_deadline_ns = self._next_age_check_ns
        self._gate.acted(resting, [(q.side.sign, q.price_ticks, q.amount_lots) for q in wanted])

    def on_order(self, event) -> None:
        self._orders_dirty = True
        order = event.order
        if order.status.is_done:
            # What rests changed, unless it is an order this strategy cancelled (the gate's
            # mirror left those out already); the gate decides whether to requote.
            self._gate.forget(order.side.sign, order.price_ticks, order.amount_lots, order.created_ns)

    def _derive(self) -> None:
        """Turns the Decimal parameters into exact integers once per parameter change."""
        p = self.params
        self._tolerance_units = _units(p["refresh_tolerance_bps"])
        self._levels = [
            (_units(p["bid_spread_bps"] + p["level_step_bps"] * i), _units(p["ask_spread_bps"] + p["level_step_bps"] * i))
            for i in range(p["order_levels"])
        ]
        self._gate_ready = False  # needs the instrument and book: configured at the start or first use
        self._last_wanted = None
        self._orders_dirty = True
        self._gate.dirty = True
        if self.ctx is not None:
            self._configure_gate()

    def _configure_gate(self) -> None:
        ctx = self.ctx
        assert ctx is not None
        inst = ctx.instrument
        p = self.params
        lots = inst.round_amount_to_lots(p["order_amount"])
        self._gate.configure(ctx.book, self._levels, lots, self._tolerance_units, int(p["refresh_seconds"] * _NS),
                             p["post_only"], min_notional_ticks_lots(inst), p["inventory_skew_bps"] != 0)
        self._gate_ready = True

    def wanted_quotes(self) -> list[Quote]:
        """The ladder for the current book (empty when a side of the book is missing);
        computed by the gate (strategies/quote_gate.pyx: every bid strictly below every
        ask, the minimum notional kept)."""
        ctx = self.ctx
        assert ctx is not None
        book = ctx.book
        best_bid, best_ask = book.best_bid_ticks, book.best_ask_ticks
        if best_bid <= 0 or best_ask <= 0:
            return []
        if not self._gate_ready:
            self._configure_gate()
        self._gate.skew_units = self._skew_units()
        return [Quote(_BUY if side > 0 else _SELL, price, lots)
                for side, price, lots in self._gate.wanted(best_bid, best_ask)]

    def _skew_units(self) -> int:
        """Positive: too much base, so bids move away; negative: too little, asks move away.

        Recomputed after fills and at most once a second otherwise (reading balances on
        every book update would cost more than the rest of the quoting)."""
        strength = self.params["inventory_skew_bps"]
        if strength == 0:
            return 0
        now = self.ctx.clock.now_ns()  # type: ignore[union-attr]
        if self._skew_cache is not None and now < self._skew_valid_until:
            return self._skew_cache
        inst = self.ctx.instrument  # type: ignore[union-attr]
        book = self.ctx.book  # type: ignore[union-attr]
        balances = self.ctx.connector.balances()  # type: ignore[union-attr]
        base, quote = held(balances, inst.base), held(balances, inst.quote)
        price = Decimal(book.best_bid_ticks + book.best_ask_ticks) / 2 * inst.tick_size
        value = base * price + quote
        skew = 0
        if value > 0:
            share = base * price / value * 100
            target = self.params["inventory_target_base_pct"]
            room = max(target, 100 - target) or Decimal(1)
            deviation = max(Decimal(-1), min(Decimal(1), (share - target) / room))
            skew = _units(strength * deviation)
        self._skew_cache = skew
        self._skew_valid_until = now + _NS
        self._gate.skew_until_ns = self._skew_valid_until
        return skew

    def fee_warnings(self, instrument: Instrument) -> list[str]:
        """A round trip (a bid and an ask filled) earns the two spreads and pays two fees:
        makers with post-only orders, takers' rate otherwise (a crossing quote takes)."""
        return spread_fee_warnings(self.params["bid_spread_bps"] + self.params["ask_spread_bps"], instrument,
                                   self.params["post_only"])

    def order_amounts_base(self) -> list[Decimal]:
        return [self.params["order_amount"]]

    def preview(self) -> list[Quote]:
        return self.wanted_quotes() if self.ctx is not None else []

    def reference_prices(self) -> dict[str, Decimal]:
        if self.ctx is None:
            return {}
        mid = mid_price(self.ctx.book, self.ctx.instrument)
        return {"mid": mid} if mid is not None else {}

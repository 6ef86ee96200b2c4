"""Pure market making: Hummingbot's PMM strategy with its full set of parameters.

Levels of bids and asks around a reference price (mid, last trade, best bid/ask, our last
fill, the inventory's cost; of this market or of an external one), refreshed every
`order_refresh_time` within a tolerance, with inventory skew, hanging orders, a price
band, ping-pong, order optimisation and fee-aware prices (strategies/pmm/ holds the
parameters, the quote computation and the inventory rules).

Speed: this is the strategy replay benchmarks run. Every book update goes through
`_update`, which compares a handful of integers (reference, top of book, timers) with
the last ones and returns when nothing that decides the quotes moved, without reading
orders or balances. Between refreshes only a price band ("quiet band") is checked, inside
which no order can fall below the minimum spread and no hanging order beyond its cancel
%. The quotes themselves come from `compute_quotes`, a pure function of integers.

In a bot that decision runs compiled (strategies/pmm_gate.pyx: `market_hook`): the gate
sees every book update (and trade) at C level and calls `_update` only when it would act;
strategies/pmm/gating.py lists the features that run there and those that make the gate
call Python on every update (order optimisation, the moving price band, the last own
trade and inventory cost price types, an external price source).
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from app.book.orderbook import ASK, BID
from app.config.schema import ConfigError
from app.domain import BookResynced, BookStale, BookUpdated, Instrument, OrderFilled, OrderStatus, OrderType, Side
from app.domain import OrderUpdated, TradesEvent
from app.domain.order import DONE_STATUSES as _DONE
from app.interfaces.strategy import PRIMARY_ROLE, MarketContext, MarketRole, Quote, Strategy
from strategies.pmm.gating import fallback, gate_field, mirror
from strategies.pmm.inventory import InventoryCost, skew_scales
from strategies.pmm.params import SCHEMA, QuoteParams, band_units, derive, fee_warnings, level_amounts
from strategies.pmm.quotes import band_around, beyond_cancel_pct, compute_quotes, cost_limits, hanging_limits
from strategies.pmm.quotes import others_top_of, own_lots, quiet_band, violates_min_spread
from strategies.pmm_gate import PmmGate
from strategies.quoting import UNITS, available_budget, held, min_notional_ticks_lots, pct_to_units, spend_if_affordable
from strategies.reconcile import cancel_while_stale, plan_orders

# Enum members as module constants: compiled (setup.py COMPILED_PY), reading an Enum class
# attribute goes through the Enum metaclass's __getattr__ hook every time (Python 3.11).
_BUY = Side.BUY
_FILLED = OrderStatus.FILLED
_LIMIT = OrderType.LIMIT
_LIMIT_MAKER = OrderType.LIMIT_MAKER
_PENDING_CANCEL = OrderStatus.PENDING_CANCEL
_SELL = Side.SELL

_NS = 1_000_000_000
_NEVER = 1 << 62
_ON_BOOK = (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_CANCEL)
PRICE_SOURCE_ROLE = MarketRole("price_source", "External price source",
                               "A market whose price the quotes follow (price_source: external_market).",
                               optional=True)


class PureMarketMaking(Strategy):
    name = "pure_market_making"
    title = "Pure market making (Hummingbot PMM)"
    schema = SCHEMA
    roles = (PRIMARY_ROLE, PRICE_SOURCE_ROLE)

    # The decision's state lives in the gate on both paths (strategies/pmm/gating.py).
    _last_ref2 = gate_field("last_ref2")
    _last_bb = gate_field("last_bb")
    _last_ba = gate_field("last_ba")
    _orders_changed = gate_field("orders_changed")
    _next_refresh_ns = gate_field("next_refresh_ns")
    _timer_due_ns = gate_field("timer_due_ns")
    _quiet_lo2 = gate_field("quiet_lo2")
    _quiet_hi2 = gate_field("quiet_hi2")
    _last_trade_ticks = gate_field("last_trade_ticks")

    def __init__(self, params: dict[str, Any] | None = None, source: str = "") -> None:
        super().__init__(params, source)
        self._gate = PmmGate()
        self._gate.callback = self._update
        self._timer = None
        self._timer_at = 0
        self._source: MarketContext | None = None
        self._hanging: set[str] = set()
        self._cancelling: set[str] = set()  # cancels we sent: their confirmation changes nothing
        self._pingpong = 0
        self._cost = InventoryCost()
        self._cost_started = False
        self._last_own_ticks = 0
        self._band: tuple[int, int] | None = None  # moving band (ceiling, floor) ticks
        self._band_next_ns = 0
        self._reset()

    def market_hook(self) -> PmmGate | None:
        """The compiled gate, unless a subclass reacts to book updates itself or the
        reference comes from another market (its book updates reach on_book)."""
        if type(self).on_book is not PureMarketMaking.on_book or self.params["price_source"] != "current_market":
            return None
        return self._gate

    # -- parameters -------------------------------------------------------------------------
    def apply_params(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Rules between fields are checked on the parameters as they would be after the edit."""
        merged = {**self.params, **self.schema.validate_changes(changes)}
        if self.schema.check is not None:
            self.schema.check(merged, "live edit", "")
        return super().apply_params(changes)

    def on_params_changed(self, applied: dict[str, tuple[Any, Any]]) -> None:
        if "price_source" in applied and self.running:
            self._resolve_source()
        if {"moving_price_band_enabled", "moving_price_band_ceiling_pct", "moving_price_band_floor_pct"} & set(applied):
            self._band = None
        self._reset()
        if self.running:
            self._update()

    def _reset(self) -> None:
        """Forgets everything derived from the parameters: the next update replans."""
        self._qp: QuoteParams | None = None
        self._last_ref2 = self._last_bb = self._last_ba = -1
        self._last_tops: tuple[int, int] | None = None
        self._gate.forget_acted()  # no ladder acted on yet
        self._gate.dirty = True  # the gate's mirror is refreshed by the next refresh
        self._gate.ladder_ready = False
        self._next_refresh_ns = 0
        self._no_create_until = 0
        self._timer_due_ns = 0
        self._quiet_lo2, self._quiet_hi2 = 0, -1  # empty: the first update checks
        self._orders_changed = True
        self._own_dirty = True
        self._own: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self._inventory_stale = True
        self._scales = (UNITS, UNITS)

    def _derive(self) -> QuoteParams:
        assert self.ctx is not None
        p, inst = self.params, self.ctx.instrument
        self._qp = derive(p, inst)
        self._refresh_ns = int(p["order_refresh_time"] * _NS)
        self._max_age_ns = int(p["max_order_age"] * _NS)
        self._delay_ns = int(p["filled_order_delay"] * _NS)
        self._tolerance_units = pct_to_units(p["order_refresh_tolerance_pct"])
        self._cancel_units = pct_to_units(p["hanging_orders_cancel_pct"])
        self._band_ceiling_units, self._band_floor_units = band_units(p)
        self._band_refresh_ns = int(p["moving_price_band_refresh_time"] * _NS)
        self._depths = (inst.round_amount_to_lots(p["bid_order_optimization_depth"]),
                        inst.round_amount_to_lots(p["ask_order_optimization_depth"]))
        bids, asks = level_amounts(p)
        self._one_side_total = max(sum(a for _, a in bids), sum(a for _, a in asks))
        self._mid_here = p["price_type"] == "mid_price" and p["price_source"] == "current_market"
        self._configure_gate(p, inst, self._qp)
        return self._qp

    def _configure_gate(self, p: dict[str, Any], inst: Instrument, qp: QuoteParams) -> None:
        self._gate.configure_pmm(self.ctx.book, list(qp.bid_levels), list(qp.ask_levels),  # type: ignore[union-attr]
                                 qp.min_spread_units, qp.fee_units, qp.take_if_crossed, min_notional_ticks_lots(inst),
                                 self._tolerance_units, self._max_age_ns, self._refresh_ns, p["price_type"])
        self._gate.every_update = bool(fallback(p, self._source is not None and self._external))

    # -- life cycle -------------------------------------------------------------------------
    def on_start(self) -> None:
        self._resolve_source()
        start_price = self.params.get("inventory_cost_start_price")
        if self.params["inventory_cost_price"] != "off" and start_price is not None:
            self._start_cost(start_price)
        self._update()  # quote the book as it is now, not only at its next change

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _resolve_source(self) -> None:
        ctx = self.ctx
        assert ctx is not None
        if self.params["price_source"] == "external_market":
            source = ctx.markets.get(PRICE_SOURCE_ROLE.name)
            if source is None:
                raise ConfigError("", "strategy.params.price_source", "external_market needs a price_source market "
                                  "bound in the config (markets: price_source: ...)")
        else:
            source = ctx.markets.get(PRIMARY_ROLE.name) or MarketContext(PRIMARY_ROLE.name, ctx.connector, ctx.feed,
                                                                         ctx.instrument)
        self._source = source
        self._external = source.feed is not ctx.feed
        self._gate.record_trades = not self._external  # trades the gate sees are this market's
        self._gate.every_update = bool(fallback(self.params, self._external))
        self._tick_ratio = (source.instrument.tick_size / ctx.instrument.tick_size).as_integer_ratio()

    # -- events -----------------------------------------------------------------------------
    def on_book(self, event: BookUpdated) -> None:
        if self.running:
            self._update()

    def on_trades(self, event: TradesEvent) -> None:
        source = self._source
        if source is not None and len(event.trades) and source.owns(event.source, event.symbol):
            self._last_trade_ticks = int(event.trades["price_ticks"][-1])
            if self.running and self.params["price_type"] == "last_price":
                self._update()  # the reference moved with the trade, not with a book update

    def on_order(self, event: OrderUpdated) -> None:
        order = event.order
        ctx = self.ctx
        if ctx is None or order.symbol != ctx.symbol:
            return
        self._own_dirty = True
        if order.status in _DONE:
            client_order_id = order.client_order_id
            if client_order_id in self._cancelling:
                self._cancelling.discard(client_order_id)  # as planned: nothing to redo
            else:
                self._orders_changed = True  # refused, cancelled by the venue, filled
            if client_order_id in self._hanging:
                self._hanging.discard(client_order_id)
                self._gate.ladder_ready = False  # its price limited the ladder

    def on_fill(self, event: OrderFilled) -> None:
        ctx = self.ctx
        assert ctx is not None
        fill, order = event.fill, event.order
        if fill.symbol != ctx.symbol:
            return
        inst = ctx.instrument
        now = ctx.clock.now_ns()
        self._own_dirty = self._orders_changed = self._inventory_stale = True
        self._gate.ladder_ready = False  # sizes, limits and ping-pong may change
        self._last_own_ticks = inst.round_price_to_ticks(fill.price, up=False)
        if self._cost_started:
            self._cost.on_fill(fill.side, fill.price, fill.amount, fill.fee if fill.fee_asset == inst.quote else 0)
        if order.status is _FILLED:
            if self.params["ping_pong_enabled"]:
                self._pingpong += 1 if fill.side is _BUY else -1
            was_hanging = order.client_order_id in self._hanging
            self._hanging.discard(order.client_order_id)
            if self.params["hanging_orders_enabled"] and not was_hanging:
                # The other side of what just filled stays: it may complete the round trip.
                for other in ctx.connector.open_orders(ctx.symbol):
                    if other.side is not fill.side and other.status in _ON_BOOK[:2]:
                        self._hanging.add(other.client_order_id)
        resume = now + int(self.params["filled_order_delay"] * _NS)
        self._no_create_until = resume
        self._next_refresh_ns = min(self._next_refresh_ns, resume)  # the rest is refreshed then
        self._timer_due_ns = min(self._timer_due_ns, resume)
        self._schedule(resume)

    def on_stale(self, event: BookStale) -> None:
        ctx = self.ctx
        assert ctx is not None
        cancel_while_stale(ctx, event.reason)
        self._hanging.clear()
        self._cancelling.clear()
        self._gate.dirty = True  # the mirror is out of date until the next refresh
        self._gate.ladder_ready = False

    def on_resynced(self, event: BookResynced) -> None:
        self._last_ref2 = -1
        self._next_refresh_ns = 0

    def _on_timer(self) -> None:
        self._timer = None
        if not self.running:
            return
        self._update()
        if self._timer is None and self.ctx.clock.now_ns() < self._timer_due_ns < _NEVER:  # type: ignore[union-attr]
            self._schedule(self._timer_due_ns)  # an early timer fired before what is due now

    def _schedule(self, when: int) -> None:
        """One timer: kept when it fires before `when` (it then schedules the rest)."""
        if self._timer is not None:
            if self._timer_at <= when:
                return
            self._timer.cancel()
            self._timer = None
        if when >= _NEVER:
            return
        self._timer_at = when
        self._timer = self.ctx.clock.call_at(when, self._on_timer)  # type: ignore[union-attr]

    # -- the per-update path ----------------------------------------------------------------
    def _update(self) -> None:
        """Every book update: integer compares, and a return unless something moved."""
        ctx = self.ctx
        assert ctx is not None
        book = ctx.book
        if book.is_stale:
            return
        qp = self._qp if self._qp is not None else self._derive()
        bb, ba = book.best_bid_ticks, book.best_ask_ticks
        ref2 = (bb + ba if bb > 0 and ba > 0 else 0) if self._mid_here else self._reference2(bb, ba)
        tops = self._others_tops(book) if qp.optimise else None
        now = ctx.clock.now_ns()
        gate = self._gate  # the gate_field state read and written on the gate itself (no property call)
        if (ref2 == gate.last_ref2 and bb == gate.last_bb and ba == gate.last_ba and tops == self._last_tops
                and now < gate.timer_due_ns and (not gate.orders_changed or now < gate.next_refresh_ns)):
            return
        gate.last_ref2, gate.last_bb, gate.last_ba, self._last_tops = ref2, bb, ba, tops
        if ref2 <= 0:
            return
        quiet = gate.quiet_lo2 <= ref2 <= gate.quiet_hi2
        if now < gate.next_refresh_ns and now < gate.timer_due_ns:
            if not quiet:
                self._refresh(now, ref2, None)  # between refreshes: guards only
            return
        wanted = self._wanted(now, ref2, bb, ba, tops)
        if quiet and gate.acted_is(wanted) and not gate.orders_changed and now < gate.timer_due_ns:
            return
        self._refresh(now, ref2, wanted)

    def _reference2(self, bb: int, ba: int) -> int:
        """Twice the reference price in this market's ticks; 0 when there is none."""
        price_type = self.params["price_type"]
        if price_type == "last_own_trade_price" and self._last_own_ticks:
            return 2 * self._last_own_ticks
        if price_type == "inventory_cost" and self._cost_started and self._cost.price is not None:
            ticks2 = 2 * self._cost.price / self.ctx.instrument.tick_size  # type: ignore[union-attr]
            return int(ticks2.to_integral_value(ROUND_HALF_EVEN))
        if self._external:
            book = self._source.book  # type: ignore[union-attr]
            if book.is_stale:
                return 0
            bb, ba = book.best_bid_ticks, book.best_ask_ticks
        if price_type == "best_bid":
            raw = 2 * bb if bb > 0 else 0
        elif price_type == "best_ask":
            raw = 2 * ba if ba > 0 else 0
        elif price_type == "last_price" and self._last_trade_ticks:
            raw = 2 * self._last_trade_ticks
        else:  # the mid, and the fallback of prices not known yet
            raw = bb + ba if bb > 0 and ba > 0 else 0
        if self._external:
            num, den = self._tick_ratio
            raw = raw * num // den
        return raw

    def _others_tops(self, book) -> tuple[int, int]:
        """Best bid and ask of others (own orders and dust left out), for order optimisation;
        our own resting lots are re-read only after an order event."""
        if self._own_dirty:
            self._own = own_lots(o for o in self.ctx.connector.open_orders(self.ctx.symbol)  # type: ignore[union-attr]
                                 if o.status in _ON_BOOK)
            self._own_dirty = False
        return (others_top_of(book, BID, self._own[0], self._depths[0]),
                others_top_of(book, ASK, self._own[1], self._depths[1]))

    def _wanted(self, now: int, ref2: int, bb: int, ba: int, tops: tuple[int, int] | None) -> list[Quote]:
        """The inputs of the quote computation from the strategy's state, then the quotes."""
        qp = self._qp if self._qp is not None else self._derive()
        if self._inventory_stale:
            self._take_inventory(ref2)
        ceiling, floor = qp.ceiling_ticks, qp.floor_ticks
        if self.params["moving_price_band_enabled"]:
            if self._band is None or now >= self._band_next_ns:
                self._band = band_around(ref2, self._band_ceiling_units, self._band_floor_units)
                self._band_next_ns = now + self._band_refresh_ns
            ceiling, floor = self._band
        get = self.ctx.connector.get_order  # type: ignore[union-attr]
        bid_cap, ask_min = hanging_limits(get(client_order_id) for client_order_id in self._hanging)
        cost = self._cost.price if qp.cost_limit and self._cost_started else None
        if cost is not None:
            tick = self.ctx.instrument.tick_size  # type: ignore[union-attr]
            bid_cap, ask_min = cost_limits(cost / tick, bid_cap, ask_min)
        top_bid, top_ask = tops if tops is not None else (0, 0)
        self._gate.set_inputs(self._scales[0], self._scales[1], bid_cap, ask_min, ceiling, floor, self._pingpong)
        return compute_quotes(qp, ref2, bb, ba, top_bid, top_ask, self._scales[0], self._scales[1], bid_cap, ask_min,
                              ceiling, floor, self._pingpong)

    def _take_inventory(self, ref2: int) -> None:
        """After a fill (and at the start): size skew and the inventory's cost."""
        ctx = self.ctx
        assert ctx is not None
        inst = ctx.instrument
        self._inventory_stale = False
        price = Decimal(ref2) / 2 * inst.tick_size
        skew = self.params["inventory_skew_enabled"] and not inst.is_derivative
        tracking = self.params["inventory_cost_price"] != "off"
        if not (skew or (tracking and not self._cost_started)):
            return
        if tracking and not self._cost_started:
            self._start_cost(price)
        if skew:
            balances = ctx.connector.balances()
            self._scales = skew_scales(held(balances, inst.base), held(balances, inst.quote), price,
                                       self.params["inventory_target_base_pct"],
                                       self._one_side_total, self.params["inventory_range_multiplier"])

    def _start_cost(self, price: Decimal) -> None:
        """The base held at the start counts at `price` (the configured start price, or
        the first reference price)."""
        ctx = self.ctx
        assert ctx is not None
        self._cost.start(held(ctx.connector.balances(), ctx.instrument.base), price)
        self._cost_started = True

    # -- orders -----------------------------------------------------------------------------
    def _refresh(self, now: int, ref2: int, wanted: list[Quote] | None) -> None:
        """Cancels hanging orders beyond their cancel % and orders below the minimum
        spread; with `wanted` (a refresh is due), also replaces what is off the wanted
        quotes by more than the tolerance or too old. Then the quiet band and the timer."""
        ctx = self.ctx
        qp = self._qp
        assert ctx is not None and qp is not None
        gate = self._gate
        listed = ctx.connector.open_orders(ctx.symbol)
        self._cancelling &= {o.client_order_id for o in listed}  # a refused cancel is not waited for
        resting = [o for o in listed if o.status is not _PENDING_CANCEL]
        hanging_before = len(self._hanging)
        self._hanging &= {o.client_order_id for o in resting}
        hanging, active = [], []
        for order in resting:
            if order.client_order_id in self._hanging:
                if beyond_cancel_pct(order.price_ticks, ref2, self._cancel_units):
                    self._cancel(order.client_order_id)
                    self._hanging.discard(order.client_order_id)
                else:
                    hanging.append(order)
            elif violates_min_spread(order.side, order.price_ticks, ref2, qp.min_spread_units):
                # Replaced at the next refresh, as Hummingbot does: the rest of the ladder stays.
                self._cancel(order.client_order_id)
                self._orders_changed = True
            else:
                active.append(order)
        created: list[Quote] = []
        if wanted is not None:
            tolerance = ref2 * self._tolerance_units // (2 * UNITS)
            plan = plan_orders(wanted, active, tolerance_ticks=tolerance, max_age_ns=self._max_age_ns, now_ns=now)
            for client_order_id in plan.cancel:
                self._cancel(client_order_id)
            gone = set(plan.cancel)
            active = [o for o in active if o.client_order_id not in gone]
            if plan.create and now >= self._no_create_until:
                created = self._place(plan.create)
            gate.set_acted(wanted)
            gate.orders_changed = False
            gate.next_refresh_ns = now + self._refresh_ns
        guarded = [(o.side, o.price_ticks) for o in active] + [(q.side, q.price_ticks) for q in created]
        gate.quiet_lo2, gate.quiet_hi2 = quiet_band(guarded, [o.price_ticks for o in hanging],
                                                    qp.min_spread_units, self._cancel_units)
        due = _NEVER
        if self._refresh_ns > 0:
            due = gate.next_refresh_ns
        if active:
            due = min(due, min(o.created_ns for o in active) + self._max_age_ns)
        elif created:
            due = min(due, now + self._max_age_ns)
        if self._no_create_until > now:
            due = min(due, self._no_create_until)
        gate.timer_due_ns = due
        self._schedule(due)
        if len(self._hanging) != hanging_before:
            gate.ladder_ready = False  # the hanging orders limit the ladder
        gate.rest(mirror(ctx.connector.open_orders(ctx.symbol), self._hanging))
        gate.dirty = False

    def _cancel(self, client_order_id: str) -> None:
        self._cancelling.add(client_order_id)
        self.ctx.connector.cancel_order(client_order_id)  # type: ignore[union-attr]

    def _place(self, quotes: list[Quote]) -> list[Quote]:
        ctx = self.ctx
        assert ctx is not None
        inst, book = ctx.instrument, ctx.book
        budget = available_budget(ctx.connector.balances())
        placed = []
        for quote in quotes:
            if not spend_if_affordable(inst, quote.side, quote.price_ticks, quote.amount_lots, budget):
                continue
            crosses = (quote.side is _BUY and 0 < book.best_ask_ticks <= quote.price_ticks) or (
                quote.side is _SELL and quote.price_ticks <= book.best_bid_ticks)
            order_type = _LIMIT if crosses else _LIMIT_MAKER
            ctx.connector.place_order(ctx.symbol, quote.side, order_type, quote.amount_lots, quote.price_ticks)
            placed.append(quote)
        return placed

    # -- for views and checks ---------------------------------------------------------------
    def preview(self) -> list[Quote]:
        if self.ctx is None:
            return []
        if self._source is None:
            try:
                self._resolve_source()
            except ConfigError:
                return []
        book = self.ctx.book
        if book.is_stale:
            return []
        if self._qp is None:
            self._derive()
        bb, ba = book.best_bid_ticks, book.best_ask_ticks
        ref2 = self._reference2(bb, ba)
        tops = self._others_tops(book) if self._qp.optimise else None  # type: ignore[union-attr]
        return self._wanted(self.ctx.clock.now_ns(), ref2, bb, ba, tops)

    def reference_prices(self) -> dict[str, Decimal]:
        if self.ctx is None or self._source is None:
            return {}
        tick = self.ctx.instrument.tick_size
        out: dict[str, Decimal] = {}
        ref2 = self._reference2(self.ctx.book.best_bid_ticks, self.ctx.book.best_ask_ticks)
        if ref2 > 0:
            out["reference"] = Decimal(ref2) / 2 * tick
        if self._cost_started and self._cost.price is not None:
            out["inventory cost"] = self._cost.price
        if self._band is not None and self.params["moving_price_band_enabled"]:
            out["band ceiling"], out["band floor"] = self._band[0] * tick, self._band[1] * tick
        return out

    def fee_warnings(self, instrument: Instrument) -> list[str]:
        return fee_warnings(self.params, instrument)

    def order_amounts_base(self) -> list[Decimal]:
        bids, asks = level_amounts(self.params)
        return sorted({amount for _, amount in bids + asks})

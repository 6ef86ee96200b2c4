"""TWAP execution: buy or sell a target amount over a duration in regular slices.

The target is cut into `slices` equal parts (whole lots; the last slice takes what is
left), due one `duration / slices` apart. At each slice the bot rests one passive limit
order at the best price on its side, moved `offset_bps` away from the market, for
everything due so far and not yet filled (an unfilled remainder is carried into the next
slice), and re-prices it after `slice_timeout_seconds`. A limit price is never crossed:
no buy above it, no sell below it. With catch-up on, the part of the earlier slices still
unfilled is taken with an IOC order (at most `catch_up_slippage_bps` through the touch)
once it exceeds `catch_up_pct` of the target.

There is never more than one order at a time, and a replacement is sent only once the
order it replaces is confirmed finished, so the filled amount can never pass the target.
`progress()` and `reference_prices()` show how far it got.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.config.schema import Field, Schema
from app.domain import BookStale, BookUpdated, Order, OrderFilled, OrderStatus, OrderType, OrderUpdated, Side
from app.interfaces.clock import TimerHandle
from app.interfaces.strategy import Quote
from strategies import common_fields as cf
from strategies.budget import affordable_lots
from strategies.param_rules import CrossCheckedStrategy, Fail, cross_check
from strategies.quoting import available_budget, bps_to_units, fmt
from strategies.ticks import offset_ticks

_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class TwapProgress:
    """How far the execution got (read-only, for views). Amounts in the base asset."""

    side: Side
    target: Decimal
    filled: Decimal
    due: Decimal  # what the schedule asks to be filled by now
    slice: int  # the current slice, 1-based (0 before the start)
    slices: int
    average_price: Decimal | None
    taker_share: Decimal  # of the filled amount, 0..1
    done: bool
    note: str  # why it ended (target filled, or what stopped it); "" while working

    @property
    def behind(self) -> Decimal:
        return max(Decimal(0), self.due - self.filled)


def _rules(params: dict[str, Any], fail: Fail) -> None:
    every = params["duration_seconds"] / params["slices"]
    if every < 0.1:
        raise fail("slices", f"{params['slices']} slices in {params['duration_seconds']:g} s are {every:.3g} s "
                             "apart; at least 0.1 s")


class Twap(CrossCheckedStrategy):
    name = "twap"
    title = "TWAP: a target amount in regular slices"
    schema = Schema(
        (
            Field("side", "choice", "buy", choices=("buy", "sell"), help="Buy or sell the target amount."),
            Field("target_amount", "decimal", None, minimum=0, exclusive_minimum=True, unit="base", required=True,
                  help="How much to buy or sell in total, in the base asset."),
            Field("duration_seconds", "float", 3600.0, minimum=1, maximum=30 * 86400, unit="s",
                  help="The time over which the slices are spread."),
            Field("slices", "int", 12, minimum=1, maximum=100_000, unit="slices",
                  help="How many equal parts; one is due every duration / slices."),
            cf.bps("offset_bps", 0, "How far behind the best price on its side each order rests (a buy below the "
                                    "best bid, a sell above the best ask); 0 joins the best price."),
            Field("slice_timeout_seconds", "float", 30.0, minimum=0.1, maximum=86400, unit="s",
                  help="An order not filled after this long is moved to the current best price."),
            Field("limit_price", "decimal", Decimal(0), minimum=0, unit="quote",
                  help="Never buy above / sell below this price, also when catching up. 0: no limit."),
            Field("catch_up_pct", "decimal", Decimal(0), minimum=0, maximum=100, unit="%",
                  help="When the earlier slices' unfilled part exceeds this share of the target, take it with an "
                       "IOC order. 0 turns catch-up off."),
            cf.bps("catch_up_slippage_bps", 10, "How far beyond the best opposite price a catch-up order may fill."),
            cf.post_only("Rest the slices as limit-maker orders (never taking)."),
        ),
        check=cross_check(_rules),
    )

    def __init__(self, params: dict[str, Any] | None = None, source: str = "") -> None:
        super().__init__(params, source)
        self._start_ns = 0
        self._slice = 0  # slices due so far (1 at the start)
        self._order: Order | None = None
        self._replace = False  # cancel the resting order and place a fresh one
        self._catch_up = False  # the next order takes the earlier slices' shortfall
        self._filled = 0
        self._cost = 0  # sum of price ticks x lots filled
        self._taker_lots = 0
        self._note = ""
        self._slice_timer: TimerHandle | None = None
        self._reprice_timer: TimerHandle | None = None
        self._short_logged = False
        self._idle = False  # nothing could be sent: wait for the next timer, not every book update
        self._target = 0  # in lots, once the instrument is known
        self._slices = self.params["slices"]

    # -- parameters --------------------------------------------------------------------------------
    def on_params_changed(self, applied: dict[str, tuple[Any, Any]]) -> None:
        """A new target, duration or slice count reshapes the schedule from the original
        start (what is filled stays filled); every change re-prices the order."""
        if not self.running or self._note:
            return
        self._derive()
        if self._filled >= self._target:
            self._finish(f"target {fmt(self.params['target_amount'])} reached")
            return
        if self._slice_timer is not None:
            self._slice_timer.cancel()
        elapsed = self.ctx.clock.now_ns() - self._start_ns  # type: ignore[union-attr]
        self._slice = min(self._slices, elapsed // self._every_ns + 1)
        self._schedule_slice()
        self._replace = True
        self._work()

    def _derive(self) -> None:
        inst = self.ctx.instrument  # type: ignore[union-attr]
        p = self.params
        self._side = Side(p["side"])
        self._target = inst.round_amount_to_lots(p["target_amount"])
        self._slices = p["slices"]
        self._every_ns = max(1, int(p["duration_seconds"] * _NS) // self._slices)
        self._offset = bps_to_units(p["offset_bps"])
        self._slippage = bps_to_units(p["catch_up_slippage_bps"])
        self._limit = inst.round_price_to_ticks(p["limit_price"], up=self._side is Side.SELL) \
            if p["limit_price"] else 0

    # -- life cycle ----------------------------------------------------------------------------------
    def on_start(self) -> None:
        ctx = self.ctx
        assert ctx is not None
        self._derive()
        self._start_ns = ctx.clock.now_ns()
        self._slice = 1
        ctx.log.info("twap: %s %s %s in %d slices of %s s", self._side.value, fmt(self.params["target_amount"]),
                     ctx.instrument.base, self._slices, fmt(Decimal(self._every_ns) / _NS))
        self._schedule_slice()
        self._work()

    def on_stop(self) -> None:
        self._cancel_timers()

    def _cancel_timers(self) -> None:
        for timer in (self._slice_timer, self._reprice_timer):
            if timer is not None:
                timer.cancel()
        self._slice_timer = self._reprice_timer = None

    def _schedule_slice(self) -> None:
        """The next slice, or the end of the duration after the last one (the moment the
        whole target is due, for the catch-up check)."""
        if self._slice > self._slices:
            return
        when = self._start_ns + self._slice * self._every_ns
        self._slice_timer = self.ctx.clock.call_at(when, self._on_slice)  # type: ignore[union-attr]

    def _on_slice(self) -> None:
        if not self.running or self._note:
            return
        self._idle = False
        self._slice += 1
        self._schedule_slice()
        self._check_catch_up()
        self._replace = True  # the new slice's amount joins the order, at today's price
        self._work()

    def _on_reprice(self) -> None:
        self._reprice_timer = None
        if not self.running or self._note:
            return
        self._idle = False
        self._check_catch_up()
        self._replace = True
        self._work()

    # -- schedule ------------------------------------------------------------------------------------
    def _due(self, slices: int) -> int:
        """Lots due after `slices` slices: equal whole-lot parts, the last takes the rest."""
        slices = max(0, min(slices, self._slices))
        return self._target * slices // self._slices

    def _check_catch_up(self) -> None:
        """Behind means the slices already over (not the one just begun) are not filled."""
        pct = self.params["catch_up_pct"]
        if not pct or self._target <= 0:
            return
        behind = self._due(self._slice - 1) - self._filled
        if behind > 0 and behind * 100 > pct * self._target:
            self._catch_up = True

    # -- events ----------------------------------------------------------------------------------------
    def on_book(self, event: BookUpdated) -> None:
        """Only an idle execution (nothing resting, something due) looks at the book."""
        if self.running and self._order is None and not self._note and not self._idle:
            self._work()

    def on_stale(self, event: BookStale) -> None:
        """The order was priced from a book that can no longer be trusted: cancelled, and
        a new one placed after the resync."""
        assert self.ctx is not None
        self.ctx.log.warning("book stale (%s): the twap order is cancelled until it resyncs", event.reason)
        self._replace = True
        self._work()

    def on_fill(self, event: OrderFilled) -> None:
        if self._order is None or event.fill.client_order_id != self._order.client_order_id:
            return
        inst = self.ctx.instrument  # type: ignore[union-attr]
        lots = inst.amount_to_lots(event.fill.amount)
        self._filled += lots
        self._cost += inst.price_to_ticks(event.fill.price) * lots
        if not event.fill.is_maker:
            self._taker_lots += lots
        self._order_state(event.order)

    def on_order(self, event: OrderUpdated) -> None:
        if self._order is not None and event.order.client_order_id == self._order.client_order_id:
            self._order_state(event.order)

    def _order_state(self, order: Order) -> None:
        if not order.status.is_done:
            return
        if self._note:  # finished already: a fill that raced the last cancel is counted, nothing more
            self._order = None
            return
        if order.filled_lots == 0 and order.reason and order.reason != "cancelled":
            self.ctx.log.info("twap order ended %s: %s", order.status.value, order.reason)  # type: ignore[union-attr]
        self._order = None
        if self._reprice_timer is not None:
            self._reprice_timer.cancel()
            self._reprice_timer = None
        if self._filled >= self._target:
            self._finish(f"target {fmt(self.params['target_amount'])} reached")
            return
        if self.running:
            self._work()

    # -- deciding ------------------------------------------------------------------------------------------
    def _work(self) -> None:
        """The one place that sends or cancels: at most one order, its replacement only
        once it is confirmed finished."""
        ctx = self.ctx
        assert ctx is not None
        if self._note:
            return
        book = ctx.book
        if self._order is not None:
            if (self._replace or book.is_stale) and self._order.status is not OrderStatus.PENDING_CANCEL:
                ctx.connector.cancel_order(self._order.client_order_id)
            return
        self._replace = False
        bid, ask = book.best_bid_ticks, book.best_ask_ticks
        if book.is_stale or bid <= 0 or ask <= 0:
            return
        if self._catch_up:
            self._catch_up = False
            behind = self._due(self._slice - 1) - self._filled
            if behind > 0 and self._send(OrderType.IOC, self._taker_price(bid, ask), behind, catch_up=True):
                return
        owed = self._due(self._slice) - self._filled
        if owed > 0:
            self._send(OrderType.LIMIT_MAKER if self.params["post_only"] else OrderType.LIMIT,
                       self._passive_price(bid, ask), owed, catch_up=False)

    def _passive_price(self, bid: int, ask: int) -> int:
        if self._side is Side.BUY:
            price = min(offset_ticks(bid, self._offset, up=False), ask - 1)
            return min(price, self._limit) if self._limit else price
        price = max(offset_ticks(ask, self._offset, up=True), bid + 1)
        return max(price, self._limit) if self._limit else price

    def _taker_price(self, bid: int, ask: int) -> int:
        if self._side is Side.BUY:
            price = offset_ticks(ask, self._slippage, up=True)
            return min(price, self._limit) if self._limit else price
        price = offset_ticks(bid, self._slippage, up=False)
        return max(price, self._limit) if self._limit else price

    def _send(self, order_type: OrderType, price: int, lots: int, *, catch_up: bool) -> bool:
        """Places one order of at most `lots` (as much as the budget pays for); False when
        nothing could be sent (below the market's minimum, unaffordable, refused)."""
        ctx = self.ctx
        assert ctx is not None
        inst = ctx.instrument
        if price <= 0:
            return False
        if inst.notional(price, lots) < inst.min_notional:
            if self._due(self._slice) >= self._target and self._target - self._filled == lots:
                self._finish(f"the rest, {fmt(inst.lots_to_amount(lots))} {inst.base}, is below the minimum "
                             f"notional {fmt(inst.min_notional)} {inst.settle_asset}")
            self._idle = True  # carried into the next slice until it is large enough
            return False
        lots = affordable_lots(inst, self._side, price, lots, available_budget(ctx.connector.balances()))
        if lots <= 0 or inst.notional(price, lots) < inst.min_notional:
            if not self._short_logged:
                ctx.log.warning("twap: not enough funds for the next %s order: waiting", self._side.value)
                self._short_logged = True
            self._idle = True
            self._arm_reprice()  # try again after the timeout
            return False
        self._short_logged = False
        order = ctx.connector.place_order(ctx.symbol, self._side, order_type, lots, price)
        if order.status.is_done:  # refused at once (the reason is logged by the bot)
            self._idle = True
            self._arm_reprice()
            return False
        self._order = order
        if catch_up:
            ctx.log.info("twap catch-up: %s %s %s at up to %s", self._side.value, fmt(inst.lots_to_amount(lots)),
                         inst.base, fmt(inst.ticks_to_price(price)))
        else:
            self._arm_reprice()
        return True

    def _arm_reprice(self) -> None:
        if self._reprice_timer is None:
            delay = int(self.params["slice_timeout_seconds"] * _NS)
            self._reprice_timer = self.ctx.clock.call_later(delay, self._on_reprice)  # type: ignore[union-attr]

    def _finish(self, note: str) -> None:
        ctx = self.ctx
        assert ctx is not None
        self._note = note
        self._cancel_timers()
        if self._order is not None:
            ctx.connector.cancel_order(self._order.client_order_id)
        inst = ctx.instrument
        average = self._average()
        seconds = Decimal(ctx.clock.now_ns() - self._start_ns) / _NS
        ctx.log.info("twap done (%s): %s %s %s of %s at an average %s in %s s (%s%% taker)", note,
                     "bought" if self._side is Side.BUY else "sold", fmt(inst.lots_to_amount(self._filled)), inst.base,
                     fmt(self.params["target_amount"]), "-" if average is None else fmt(round(average, 8)),
                     fmt(round(seconds, 3)), fmt(round(self._taker_share() * 100, 2)))

    # -- for views and checks --------------------------------------------------------------------------------
    def _average(self) -> Decimal | None:
        if not self._filled:
            return None
        return Decimal(self._cost) / self._filled * self.ctx.instrument.tick_size  # type: ignore[union-attr]

    def _taker_share(self) -> Decimal:
        return Decimal(self._taker_lots) / self._filled if self._filled else Decimal(0)

    def progress(self) -> TwapProgress:
        """Before the start (no market yet) everything is zero."""
        if self.ctx is None:
            filled = due = Decimal(0)
        else:
            filled = self.ctx.instrument.lots_to_amount(self._filled)
            due = self.ctx.instrument.lots_to_amount(self._due(self._slice))
        return TwapProgress(
            side=Side(self.params["side"]),
            target=self.params["target_amount"],
            filled=filled,
            due=due,
            slice=min(self._slice, self._slices),
            slices=self._slices,
            average_price=self._average() if self.ctx is not None else None,
            taker_share=self._taker_share(),
            done=bool(self._note),
            note=self._note,
        )

    def reference_prices(self) -> dict[str, Decimal]:
        prices: dict[str, Decimal] = {}
        if self.params["limit_price"]:
            prices["twap limit"] = self.params["limit_price"]
        if self.ctx is not None:
            average = self._average()
            if average is not None:
                prices["twap average"] = average
            if self._order is not None:
                prices["twap order"] = self.ctx.instrument.ticks_to_price(self._order.price_ticks)
        return prices

    def preview(self) -> list[Quote]:
        """The next passive slice on the current book."""
        ctx = self.ctx
        if ctx is None or ctx.book.best_bid_ticks <= 0 or ctx.book.best_ask_ticks <= 0:
            return []
        if self._order is not None:
            return [Quote(self._order.side, self._order.price_ticks, self._order.remaining_lots)]
        self._derive()
        lots = self._due(max(self._slice, 1)) - self._filled
        if lots <= 0:
            return []
        return [Quote(self._side, self._passive_price(ctx.book.best_bid_ticks, ctx.book.best_ask_ticks), lots)]

    def order_amounts_base(self) -> list[Decimal]:
        """One slice: what each order is at least (an earlier remainder makes it larger)."""
        return [self.params["target_amount"] / self.params["slices"]]

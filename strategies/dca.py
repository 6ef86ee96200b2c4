"""DCA (dollar-cost averaging) entries with a take-profit over the average entry.

A cycle opens with a taker order of `first_amount` (a buy for a long, a sell for a
short). The next entry then rests as a limit order `step_pct` beyond the last entry's
average fill price, against the position (below it for a long), up to `max_entries`
entries, each `amount_multiplier` times the one before. A take-profit limit order for
the whole position rests `take_profit_pct` beyond the average entry price and is moved
after every entry fill. When it has filled, the cycle is over and, with `restart`, the
next one opens after `restart_delay_seconds`. A stop-loss `stop_loss_pct` against the
average entry cancels both orders, closes the position with a taker order and stops.

The position, its average entry (an exact fraction of ticks) and each cycle's profit are
the bot's own fills only; `dca_status()` and `reference_prices()` show them. Resting
orders stay through a stale book (their prices come from fills, not from the book);
nothing new is sent and no stop is checked until it resyncs.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from app.config.schema import Field, Schema
from app.domain import (
    BookStale,
    BookUpdated,
    Instrument,
    Order,
    OrderFilled,
    OrderStatus,
    OrderType,
    OrderUpdated,
    Side,
)
from app.interfaces.strategy import Quote
from strategies.budget import affordable_lots
from strategies.param_rules import CrossCheckedStrategy, Fail, cross_check
from strategies.quoting import available_budget, fmt, pct_to_units, spend_if_affordable
from strategies.ticks import offset_ticks, scale_ratio

_NS = 1_000_000_000
_MARKET_MARGIN = pct_to_units(Decimal(1))
"""A market order's cost is checked at the touch plus 1% (what a venue locks for it)."""
_CLOSE_ATTEMPTS = 3
_RETRY_NS = 5 * _NS
"""A first entry refused at once is sent again after this long (not on every book update)."""


@dataclass(frozen=True, slots=True)
class DcaStatus:
    """The current cycle and the totals (read-only, for views). Prices in the quote asset,
    amounts in the base asset, profit and fees in the settlement asset."""

    cycle: int
    entries: int
    position: Decimal
    average_entry: Decimal | None
    take_profit: Decimal | None
    stop_loss: Decimal | None
    next_entry: Decimal | None
    realized: Decimal  # before fees, every cycle
    fees: Decimal
    cycles_won: int
    stopped: str  # why it stopped for good; "" while it runs


def _rules(params: dict[str, Any], fail: Fail) -> None:
    stop, step = params["stop_loss_pct"], params["step_pct"]
    if stop and params["max_entries"] > 1 and stop <= step:
        raise fail("stop_loss_pct", f"must be above step_pct {fmt(step)} (or 0: off) with {params['max_entries']} "
                                    f"max_entries, else it fires before the second entry; got {fmt(stop)}")


class Dca(CrossCheckedStrategy):
    name = "dca"
    title = "DCA: entries in steps, take-profit over the average"
    schema = Schema(
        (
            Field("direction", "choice", "long", choices=("long", "short"),
                  help="long: buy, add lower, sell above the average; short: sell, add higher, buy back below."),
            Field("first_amount", "decimal", Decimal("0.001"), minimum=0, exclusive_minimum=True, unit="base",
                  help="Size of the first entry (a taker order), in the base asset."),
            Field("step_pct", "decimal", Decimal("1"), minimum=0, maximum=50, exclusive_minimum=True, unit="%",
                  help="Each further entry rests this far beyond the last entry's price, against the position."),
            Field("max_entries", "int", 5, minimum=1, maximum=100, unit="entries",
                  help="Entries per cycle, the first included."),
            Field("amount_multiplier", "decimal", Decimal("1"), minimum=Decimal("0.1"), maximum=10, unit="x",
                  help="Each entry is this many times the one before (1: all the same size)."),
            Field("take_profit_pct", "decimal", Decimal("1"), minimum=0, maximum=99, exclusive_minimum=True,
                  unit="%", help="The take-profit rests this far beyond the average entry price, for the whole "
                                 "position; moved after each entry."),
            Field("stop_loss_pct", "decimal", Decimal(0), minimum=0, maximum=99, unit="%",
                  help="Close the position with a taker order and stop once the price is this far against the "
                       "average entry. 0 turns it off."),
            Field("restart", "bool", True, help="Open a new cycle after a take-profit."),
            Field("restart_delay_seconds", "float", 0.0, minimum=0, maximum=30 * 86400, unit="s",
                  help="Pause between a take-profit and the next cycle's first entry."),
        ),
        check=cross_check(_rules),
    )

    def __init__(self, params: dict[str, Any] | None = None, source: str = "") -> None:
        super().__init__(params, source)
        self._open = False  # a cycle is under way (entries sent)
        self._closing = False  # the stop-loss fired: closing the position
        self._stopped = ""
        self._resume_ns = 0
        self._timer = None
        self._entry: Order | None = None
        self._exit: Order | None = None
        self._order_fill: dict[str, tuple[int, int]] = {}  # id -> (lots, sum of ticks x lots)
        self._lots = 0  # position, in lots of the entry side
        self._cost = Fraction(0)  # sum of ticks x lots of the position (average cost method)
        self._entries = 0
        self._last_entry = Fraction(0)  # ticks
        self._cycle = 0
        self._won = 0
        self._realized = Decimal(0)
        self._fees = Decimal(0)
        self._close_attempts = 0
        self._short_logged = ""
        self._stop_at: int | None = None  # the stop-loss as a touch price, in ticks
        self._exit_for_lots = 0  # the position the resting take-profit was sized for

    # -- parameters --------------------------------------------------------------------------------
    def on_params_changed(self, applied: dict[str, tuple[Any, Any]]) -> None:
        """New percentages move the resting orders at once; sizes apply to the next entry."""
        if self.running:
            self._work()

    @property
    def _entry_side(self) -> Side:
        return Side.BUY if self.params["direction"] == "long" else Side.SELL

    def _entry_lots(self, index: int) -> int:
        """Entry `index` (0: the first) in lots, rounded down."""
        amount = self.params["first_amount"] * self.params["amount_multiplier"] ** index
        return self.ctx.instrument.round_amount_to_lots(amount)  # type: ignore[union-attr]

    # -- prices, exact ----------------------------------------------------------------------------
    def _average(self) -> Fraction | None:
        return self._cost / self._lots if self._lots else None

    def _against(self, price: Fraction, pct: Decimal) -> int:
        """`pct` against the position from `price` (lower for a long), rounded outwards."""
        long = self._entry_side is Side.BUY
        units = pct_to_units(pct)
        return scale_ratio(price.numerator, price.denominator, -units if long else units, up=not long)

    def _take_profit_ticks(self) -> int | None:
        average = self._average()
        if average is None:
            return None
        long = self._entry_side is Side.BUY
        units = pct_to_units(self.params["take_profit_pct"])
        return scale_ratio(average.numerator, average.denominator, units if long else -units, up=long)

    def _stop_ticks(self) -> int | None:
        average = self._average()
        if average is None or not self.params["stop_loss_pct"]:
            return None
        return self._against(average, self.params["stop_loss_pct"])

    def _next_entry_ticks(self) -> int | None:
        if not self._entries or self._entries >= self.params["max_entries"]:
            return None
        return self._against(self._last_entry, self.params["step_pct"])

    # -- life cycle --------------------------------------------------------------------------------
    def on_start(self) -> None:
        self._work()

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- events --------------------------------------------------------------------------------------
    def on_book(self, event: BookUpdated) -> None:
        """Cheap unless something is to be done: the stop-loss is one comparison."""
        if not self.running or self._stopped:
            return
        book = self.ctx.book  # type: ignore[union-attr]
        if book.is_stale:
            return
        if self._closing:  # a close refused at once is sent again (a bounded number of times)
            self._work()
            return
        bid, ask = book.best_bid_ticks, book.best_ask_ticks
        if self._open and self._stop_at and bid > 0 and ask > 0:
            if (bid <= self._stop_at) if self._entry_side is Side.BUY else (ask >= self._stop_at):
                self._stop_loss()
                return
        if not self._open and self._entry is None:
            self._work()

    def on_stale(self, event: BookStale) -> None:
        assert self.ctx is not None
        self.ctx.log.warning("book stale (%s): dca orders stay, nothing new until it resyncs", event.reason)

    def on_fill(self, event: OrderFilled) -> None:
        fill = event.fill
        ours = [o for o in (self._entry, self._exit) if o is not None and o.client_order_id == fill.client_order_id]
        if not ours:
            return
        inst = self.ctx.instrument  # type: ignore[union-attr]
        lots, ticks = inst.amount_to_lots(fill.amount), inst.price_to_ticks(fill.price)
        done_lots, done_cost = self._order_fill.get(fill.client_order_id, (0, 0))
        self._order_fill[fill.client_order_id] = (done_lots + lots, done_cost + ticks * lots)
        self._fees += fill.fee
        if fill.side is self._entry_side:
            self._lots += lots
            self._cost += ticks * lots
        else:
            average = self._average() or Fraction(ticks)
            sign = 1 if self._entry_side is Side.BUY else -1
            self._realized += _money(inst, (ticks - average) * sign * lots)
            self._cost -= average * min(lots, self._lots)
            self._lots = max(0, self._lots - lots)
            self._exit_for_lots -= lots
        self._stop_at = self._stop_ticks()
        self._order_state(event.order)
        if not event.order.status.is_done and self.running:
            self._work()  # a partial fill moves the take-profit

    def on_order(self, event: OrderUpdated) -> None:
        if any(o is not None and o.client_order_id == event.order.client_order_id for o in (self._entry, self._exit)):
            self._order_state(event.order)

    def _order_state(self, order: Order) -> None:
        if not order.status.is_done:
            return
        lots, cost = self._order_fill.pop(order.client_order_id, (0, 0))
        if self._entry is not None and order.client_order_id == self._entry.client_order_id:
            self._entry = None
            if lots:
                self._entries += 1
                self._last_entry = Fraction(cost, lots)
                self._open = True
                self._log_entry(lots)
            elif order.type is OrderType.MARKET and not self._stopped:
                assert self.ctx is not None
                self.ctx.log.warning("dca first entry ended %s without a fill: %s", order.status.value, order.reason)
        else:
            self._exit = None
            if self._closing:
                if order.type is OrderType.MARKET:
                    self._close_attempts += 1
            elif self._lots == 0 and lots:
                self._take_profit_done()
        if self.running:
            self._work()

    def _log_entry(self, lots: int) -> None:
        inst = self.ctx.instrument  # type: ignore[union-attr]
        tick = inst.tick_size
        self.ctx.log.info(  # type: ignore[union-attr]
            "dca cycle %d entry %d: %s %s at %s; position %s at an average %s, take profit %s", self._cycle,
            self._entries, self._entry_side.value, fmt(inst.lots_to_amount(lots)),
            fmt(round(Decimal(self._last_entry.numerator) / self._last_entry.denominator * tick, 8)),
            fmt(inst.lots_to_amount(self._lots)), fmt(round(_decimal(self._average()) * tick, 8)),
            fmt(inst.ticks_to_price(self._take_profit_ticks() or 0)))

    # -- cycle ends ----------------------------------------------------------------------------------
    def _take_profit_done(self) -> None:
        ctx = self.ctx
        assert ctx is not None
        self._won += 1
        ctx.log.info("dca take profit: cycle %d closed after %d entries; realized %s %s before fees, fees %s so far",
                     self._cycle, self._entries, fmt(round(self._realized, 8)), ctx.instrument.settle_asset,
                     fmt(round(self._fees, 8)))
        self._end_cycle()
        if not self.params["restart"]:
            self._stop_for_good("take profit reached (restart is off)")
            return
        delay = int(self.params["restart_delay_seconds"] * _NS)
        self._resume_ns = ctx.clock.now_ns() + delay
        if delay:
            self._timer = ctx.clock.call_later(delay, self._work)

    def _end_cycle(self) -> None:
        if self._entry is not None:
            self.ctx.connector.cancel_order(self._entry.client_order_id)  # type: ignore[union-attr]
        self._open = False
        self._entries = 0
        self._cost = Fraction(0)
        self._lots = 0
        self._stop_at = None
        self._exit_for_lots = 0

    def _stop_loss(self) -> None:
        ctx = self.ctx
        assert ctx is not None
        self._closing = True
        ctx.log.warning("dca stop loss: the price is %s%% against the average entry %s: closing %s %s",
                        fmt(self.params["stop_loss_pct"]),
                        fmt(round(_decimal(self._average()) * ctx.instrument.tick_size, 8)),
                        fmt(ctx.instrument.lots_to_amount(self._lots)), ctx.instrument.base)
        self._work()

    def _stop_for_good(self, reason: str) -> None:
        self._stopped = reason
        self.ctx.log.warning("dca stopped: %s", reason)  # type: ignore[union-attr]

    # -- deciding ------------------------------------------------------------------------------------
    def _work(self) -> None:
        """The one place that sends and cancels; a replacement waits until the order it
        replaces has finished, so the position is never sold twice."""
        ctx = self.ctx
        assert ctx is not None
        if not self.running or self._stopped:
            return
        book = ctx.book
        bid, ask = book.best_bid_ticks, book.best_ask_ticks
        if book.is_stale or bid <= 0 or ask <= 0:
            return
        if self._closing:
            self._close()
        elif not self._open:
            if self._entry is None and ctx.clock.now_ns() >= self._resume_ns:
                self._open_cycle(bid, ask)
        else:
            self._keep_exit()
            self._keep_next_entry()

    def _open_cycle(self, bid: int, ask: int) -> None:
        ctx = self.ctx
        assert ctx is not None
        side, lots = self._entry_side, self._entry_lots(0)
        touch = ask if side is Side.BUY else bid
        worst = offset_ticks(touch, _MARKET_MARGIN, up=side is Side.BUY)
        if not spend_if_affordable(ctx.instrument, side, worst, lots, available_budget(ctx.connector.balances())):
            self._stop_for_good(f"the first entry of {fmt(self.params['first_amount'])} {ctx.instrument.base} "
                                f"cannot be paid for")
            return
        self._cycle += 1
        order = ctx.connector.place_order(ctx.symbol, side, OrderType.MARKET, lots)
        if order.status.is_done:  # refused at once (the bot logs why): tried again a little later
            self._cycle -= 1
            self._resume_ns = ctx.clock.now_ns() + _RETRY_NS
            return
        self._entry = order

    def _keep_exit(self) -> None:
        """The take-profit for the whole position at its price; replaced when either moved."""
        ctx = self.ctx
        assert ctx is not None
        price = self._take_profit_ticks()
        if price is None or price <= 0:
            return
        exit_side = self._entry_side.opposite
        if self._exit is not None:
            if (self._exit.price_ticks != price or self._exit_for_lots != self._lots) \
                    and self._exit.status is not OrderStatus.PENDING_CANCEL:
                ctx.connector.cancel_order(self._exit.client_order_id)
            return
        lots = affordable_lots(ctx.instrument, exit_side, price, self._lots, available_budget(ctx.connector.balances()))
        if lots <= 0 or ctx.instrument.notional(price, lots) < ctx.instrument.min_notional:
            self._log_short("the take-profit")
            return
        order = ctx.connector.place_order(ctx.symbol, exit_side, OrderType.LIMIT, lots, price)
        if not order.status.is_done:
            self._exit = order
            self._exit_for_lots = self._lots

    def _keep_next_entry(self) -> None:
        ctx = self.ctx
        assert ctx is not None
        price = self._next_entry_ticks()
        lots = self._entry_lots(self._entries)
        entry = self._entry
        if entry is not None:  # moved when the step, the size or max_entries changed
            moved = price is None or entry.price_ticks != price or entry.amount_lots != lots
            if moved and entry.type is not OrderType.MARKET and entry.status is not OrderStatus.PENDING_CANCEL:
                ctx.connector.cancel_order(entry.client_order_id)
            return
        if price is None or price <= 0:
            return
        if lots <= 0 or ctx.instrument.notional(price, lots) < ctx.instrument.min_notional:
            self._log_short(f"entry {self._entries + 1} (below the lot or the minimum notional)")
            return
        if not spend_if_affordable(ctx.instrument, self._entry_side, price, lots,
                                   available_budget(ctx.connector.balances())):
            self._log_short(f"entry {self._entries + 1}")
            return
        order = ctx.connector.place_order(ctx.symbol, self._entry_side, OrderType.LIMIT, lots, price)
        if not order.status.is_done:
            self._entry = order

    def _close(self) -> None:
        """Stop-loss: both orders cancelled first, then the position taken out at market."""
        ctx = self.ctx
        assert ctx is not None
        waiting = False
        for order in (self._entry, self._exit):
            if order is not None:
                waiting = True  # a resting order is cancelled first; a closing order finishes
                if order.type is not OrderType.MARKET and order.status is not OrderStatus.PENDING_CANCEL:
                    ctx.connector.cancel_order(order.client_order_id)
        if waiting:
            return
        if self._lots <= 0 or self._close_attempts >= _CLOSE_ATTEMPTS:
            left = ctx.instrument.lots_to_amount(self._lots)
            self._end_cycle()
            self._stop_for_good("stop loss: position closed" if not left
                                else f"stop loss: {fmt(left)} {ctx.instrument.base} could not be closed")
            return
        side = self._entry_side.opposite
        touch = ctx.book.best_ask_ticks if side is Side.BUY else ctx.book.best_bid_ticks
        worst = offset_ticks(touch, _MARKET_MARGIN, up=side is Side.BUY)
        lots = affordable_lots(ctx.instrument, side, worst, self._lots, available_budget(ctx.connector.balances()))
        order = ctx.connector.place_order(ctx.symbol, side, OrderType.MARKET, max(lots, 1))
        if order.status.is_done:
            self._close_attempts += 1
        else:
            self._exit = order

    def _log_short(self, what: str) -> None:
        if self._short_logged != what:
            self.ctx.log.warning("dca: not enough funds for %s: waiting", what)  # type: ignore[union-attr]
            self._short_logged = what

    # -- for views and checks ------------------------------------------------------------------------
    def dca_status(self) -> DcaStatus:
        inst = self.ctx.instrument if self.ctx is not None else None

        def price(ticks: int | None) -> Decimal | None:
            return None if ticks is None or inst is None else inst.ticks_to_price(ticks)

        average = self._average()
        return DcaStatus(
            cycle=self._cycle,
            entries=self._entries,
            position=inst.lots_to_amount(self._lots) if inst is not None else Decimal(0),
            average_entry=None if average is None or inst is None else _decimal(average) * inst.tick_size,
            take_profit=price(self._take_profit_ticks()),
            stop_loss=price(self._stop_ticks()),
            next_entry=price(self._next_entry_ticks()),
            realized=self._realized,
            fees=self._fees,
            cycles_won=self._won,
            stopped=self._stopped,
        )

    def reference_prices(self) -> dict[str, Decimal]:
        status = self.dca_status()
        named = {"dca average entry": status.average_entry, "dca take profit": status.take_profit,
                 "dca stop loss": status.stop_loss, "dca next entry": status.next_entry}
        return {name: value for name, value in named.items() if value is not None}

    def preview(self) -> list[Quote]:
        """The resting orders of the cycle (none before its first entry, a taker order)."""
        return [Quote(o.side, o.price_ticks, o.remaining_lots) for o in (self._entry, self._exit)
                if o is not None and o.type is not OrderType.MARKET]

    def preview_note(self) -> str:
        """Nothing rests before the first entry."""
        return ("DCA waits for its first entry, a market order at the start of a cycle; then its take-profit "
                "and the next entry rest on the book.")

    def fee_warnings(self, instrument: Instrument) -> list[str]:
        """A cycle pays a taker fee on the first entry and a maker fee on the take-profit."""
        fees = (instrument.taker_fee + instrument.maker_fee) * 100
        take = self.params["take_profit_pct"]
        if take > fees:
            return []
        return [f"take_profit_pct {fmt(take)}% does not cover the fees of a cycle ({fmt(fees)}% on "
                f"{instrument.symbol}: taker entry, maker exit): a take-profit loses money"]

    def order_amounts_base(self) -> list[Decimal]:
        """The first and the last (largest or smallest) entry sizes."""
        p = self.params
        last = p["first_amount"] * p["amount_multiplier"] ** (p["max_entries"] - 1)
        return sorted({p["first_amount"], last})


def _decimal(value: Fraction | None) -> Decimal:
    return Decimal(0) if value is None else Decimal(value.numerator) / Decimal(value.denominator)


def _money(inst: Instrument, ticks_lots: Fraction) -> Decimal:
    """A price difference in ticks times lots as money (spot and linear markets)."""
    return _decimal(ticks_lots) * inst.tick_size * inst.lot_size * inst.contract_size

"""Grid trading: buy at fixed levels below the price, sell one level higher, and again.

The grid's levels are the user's prices, not the book's, so resting orders stay where
they are whatever the market does (also while the book is stale: nothing new is placed
then, and the range and stop checks wait for a valid book). The book is read only to
lay the grid out at the start, to keep post-only orders passive, and for the range,
take-profit and stop-loss checks, which cost two integer comparisons per update.

Each completed buy/sell pair is logged with what it earned before and after fees, and
`grid_status()` gives the running totals to views.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.config.schema import ConfigError, Field, Schema
from app.domain import (
    BookResynced,
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
from app.interfaces.clock import TimerHandle
from app.interfaces.strategy import Quote
from strategies import common_fields as cf
from strategies.grid_levels import (
    Level,
    StepResult,
    close_order,
    level_lots,
    level_prices,
    record_fill,
    start_layout,
)
from strategies.param_rules import CrossCheckedStrategy, Fail, cross_check
from strategies.quoting import available_budget, fmt, spend_if_affordable

_RETRY_NS = 1_000_000_000
"""An order the venue refused at once is tried again after this long (not at every update)."""
_SHAPE = ("lower_price", "upper_price", "levels", "spacing", "amount", "amount_unit")
"""Parameters that change the grid itself: a live edit of one lays the grid out anew."""


@dataclass(frozen=True, slots=True)
class GridStatus:
    """The grid's running totals, in the settlement asset (read-only, for views)."""

    steps: int  # completed buy/sell pairs
    gross: Decimal
    fees: Decimal
    last_step: StepResult | None
    open_orders: int
    stopped: str  # why the grid stopped; "" while it runs

    @property
    def net(self) -> Decimal:
        return self.gross - self.fees


def _rules(params: dict[str, Any], fail: Fail) -> None:
    lower, upper = params["lower_price"], params["upper_price"]
    if upper <= lower:
        raise fail("upper_price", f"must be above lower_price {fmt(lower)}, got {fmt(upper)}")
    take, stop = params["take_profit_price"], params["stop_loss_price"]
    if take and take <= upper:
        raise fail("take_profit_price", f"must be above upper_price {fmt(upper)} (or 0: off), got {fmt(take)}")
    if stop and stop >= lower:
        raise fail("stop_loss_price", f"must be below lower_price {fmt(lower)} (or 0: off), got {fmt(stop)}")


class Grid(CrossCheckedStrategy):
    name = "grid"
    title = "Grid: buy low, sell one level higher"
    schema = Schema(
        (
            Field("lower_price", "decimal", None, minimum=0, exclusive_minimum=True, unit="quote", required=True,
                  help="The lowest level of the grid (price in the quote asset)."),
            Field("upper_price", "decimal", None, minimum=0, exclusive_minimum=True, unit="quote", required=True,
                  help="The highest level of the grid; above lower_price."),
            Field("levels", "int", 10, minimum=2, maximum=500, unit="levels",
                  help="Price levels from lower_price to upper_price, both included: n levels make n - 1 "
                       "grid steps."),
            Field("spacing", "choice", "arithmetic", choices=("arithmetic", "geometric"),
                  help="arithmetic: the same price step between levels; geometric: the same percentage step."),
            Field("amount", "decimal", Decimal("0.001"), minimum=0, exclusive_minimum=True, unit="base or quote",
                  help="Size of each level's order, in amount_unit."),
            Field("amount_unit", "choice", "base", choices=("base", "quote"),
                  help="base: every order is `amount` of the base asset; quote: every order is worth `amount` "
                       "of the quote asset at its level's price."),
            Field("out_of_range", "choice", "keep", choices=("keep", "stop"),
                  help="When the mid leaves lower_price..upper_price: keep the orders and wait for the price to "
                       "come back, or stop the grid and cancel its orders."),
            Field("take_profit_price", "decimal", Decimal(0), minimum=0, unit="quote",
                  help="Stop the grid and cancel its orders once the mid reaches this price (above upper_price). "
                       "0 turns it off."),
            Field("stop_loss_price", "decimal", Decimal(0), minimum=0, unit="quote",
                  help="Stop the grid and cancel its orders once the mid falls to this price (below "
                       "lower_price). 0 turns it off."),
            cf.post_only("Place limit-maker orders: a level the price has crossed waits until its order would "
                         "rest. Off: plain limit orders, which take at once when the price is through them."),
        ),
        check=cross_check(_rules),
    )

    def __init__(self, params: dict[str, Any] | None = None, source: str = "") -> None:
        super().__init__(params, source)
        self._source = source  # the config file (or the form): named by errors found on the market
        self._levels: list[Level] = []
        self._by_order: dict[str, Level] = {}
        self._stopped = ""
        self._laid_out = False
        self._dirty = True
        # Post-only orders the book does not let rest yet: a sell can once the bid is below
        # _sell_rests_below, a buy once the ask is above _buy_rests_above (0: none waits).
        self._sell_rests_below = 0
        self._buy_rests_above = 0
        self._retry: TimerHandle | None = None  # after an order refused at once
        self._steps = 0
        self._gross = Decimal(0)
        self._fees = Decimal(0)
        self._last_step: StepResult | None = None
        self._short_logged: frozenset[int] = frozenset()

    # -- parameters ----------------------------------------------------------------------------
    def check_market(self, params: dict[str, Any], fail: Fail) -> None:
        self.build_levels(self.ctx.instrument, params, fail)  # type: ignore[union-attr]

    def on_params_changed(self, applied: dict[str, tuple[Any, Any]]) -> None:
        """A change of the grid's shape lays it out anew at the current price (its orders
        cancelled first); a grid that had stopped starts again, and stops again at once if
        the reason still holds."""
        if not self.running:
            return
        self._derive_limits()
        if self._stopped or any(name in _SHAPE for name in applied):
            self._stopped = ""
            self._reset()
        self._dirty = True
        self._react()

    # -- life cycle ------------------------------------------------------------------------------
    def on_start(self) -> None:
        self._derive_limits()
        self._reset()
        self._react()

    def on_stop(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None

    def _derive_limits(self) -> None:
        """The range and stop prices as doubled ticks, compared with bid + ask."""
        inst = self.ctx.instrument  # type: ignore[union-attr]
        p = self.params
        ticks = lambda price: 2 * inst.round_price_to_ticks(price, up=False)  # noqa: E731
        self._range2 = (ticks(p["lower_price"]), ticks(p["upper_price"]))
        self._take2 = ticks(p["take_profit_price"]) if p["take_profit_price"] else 0
        self._stop2 = ticks(p["stop_loss_price"]) if p["stop_loss_price"] else 0

    def _reset(self) -> None:
        """Forgets the current layout and cancels its orders; the next valid book lays the
        grid out again."""
        ctx = self.ctx
        assert ctx is not None
        if self._by_order:
            ctx.connector.cancel_all(ctx.symbol)
        self._by_order.clear()
        self._levels = self.build_levels(ctx.instrument, self.params, self._fail)
        self._laid_out = False

    @staticmethod
    def build_levels(instrument: Instrument, p: dict[str, Any], fail: Fail) -> list[Level]:
        """The levels with their prices and sizes; fail(field, reason) when two levels fall
        on one tick or a level's order is below the lot or the minimum notional: such a
        grid could never be what was asked for."""
        ticks = level_prices(p["lower_price"], p["upper_price"], p["levels"], p["spacing"], instrument)
        if len(set(ticks)) != len(ticks) or ticks[0] <= 0:
            raise fail("levels", f"{p['levels']} levels between {fmt(p['lower_price'])} and "
                                 f"{fmt(p['upper_price'])} are closer than the tick "
                                 f"{fmt(instrument.tick_size)} of {instrument.symbol}")
        levels = []
        for i, price in enumerate(ticks):
            lots = level_lots(price, p["amount"], p["amount_unit"], instrument)
            if lots <= 0 or instrument.notional(price, lots) < instrument.min_notional:
                raise fail("amount", f"an order of {fmt(p['amount'])} {p['amount_unit']} at "
                                     f"{fmt(instrument.ticks_to_price(price))} is below the lot "
                                     f"{fmt(instrument.lot_size)} or the minimum notional "
                                     f"{fmt(instrument.min_notional)} of {instrument.symbol}")
            levels.append(Level(i, price, lots))
        return levels

    def _lay_out(self, mid2: int) -> None:
        free = start_layout(self._levels, mid2)
        self._laid_out = True
        inst = self.ctx.instrument  # type: ignore[union-attr]
        steps = [b.ticks - a.ticks for a, b in zip(self._levels, self._levels[1:])]
        self.ctx.log.info(  # type: ignore[union-attr]
            "grid laid out: %d buys below and %d sells above %s (free level %s); steps %s..%s %s",
            free, len(self._levels) - free - 1, fmt(inst.tick_size * mid2 / 2),
            fmt(inst.ticks_to_price(self._levels[free].ticks)), fmt(inst.ticks_to_price(min(steps))),
            fmt(inst.ticks_to_price(max(steps))), inst.quote)
        self._dirty = True

    # -- events ----------------------------------------------------------------------------------
    def on_book(self, event: BookUpdated) -> None:
        if self.running:
            self._react()

    def on_resynced(self, event: BookResynced) -> None:
        self._dirty = True

    def on_stale(self, event: BookStale) -> None:
        assert self.ctx is not None
        self.ctx.log.warning("book stale (%s): the grid's orders stay, nothing new is placed until it "
                             "resyncs", event.reason)

    def on_fill(self, event: OrderFilled) -> None:
        level = self._by_order.get(event.fill.client_order_id)
        if level is None:
            return
        inst = self.ctx.instrument  # type: ignore[union-attr]
        record_fill(level, event.fill, inst.amount_to_lots(event.fill.amount), inst.price_to_ticks(event.fill.price))
        self._order_state(event.order)

    def on_order(self, event: OrderUpdated) -> None:
        if event.order.client_order_id in self._by_order:
            self._order_state(event.order)
        elif event.order.status.is_done:
            self._dirty = True  # an order of an earlier layout is gone: its funds are free again

    def _order_state(self, order: Order) -> None:
        if not order.status.is_done:
            return
        ctx = self.ctx
        assert ctx is not None
        level = self._by_order.pop(order.client_order_id)
        if order.filled_lots == 0 and order.reason:
            ctx.log.info("grid order at %s ended %s: %s", fmt(ctx.instrument.ticks_to_price(order.price_ticks)),
                         order.status.value, order.reason)
        result = close_order(self._levels, level, ctx.instrument)
        if result is not None:
            self._count_step(result)
        self._dirty = True
        if self.running:
            self._react()

    def _count_step(self, step: StepResult) -> None:
        inst = self.ctx.instrument  # type: ignore[union-attr]
        self._steps += 1
        self._gross += step.gross
        self._fees += step.fees
        self._last_step = step
        asset = inst.settle_asset
        self.ctx.log.info(  # type: ignore[union-attr]
            "grid step %d: bought %s at %s, sold at %s: %s %s gross, fees %s, net %s (total net %s)",
            self._steps, fmt(inst.lots_to_amount(step.lots)), fmt(round(step.bought_ticks * inst.tick_size, 8)),
            fmt(round(step.sold_ticks * inst.tick_size, 8)), fmt(round(step.gross, 8)), asset,
            fmt(round(step.fees, 8)), fmt(round(step.net, 8)), fmt(round(self._gross - self._fees, 8)))

    # -- deciding ----------------------------------------------------------------------------------
    def _react(self) -> None:
        """Runs on every book update: two comparisons unless a stop fires or something waits."""
        ctx = self.ctx
        assert ctx is not None
        if self._stopped:
            return
        book = ctx.book
        bid, ask = book.best_bid_ticks, book.best_ask_ticks
        if book.is_stale or bid <= 0 or ask <= 0:
            return
        mid2 = bid + ask
        reason = self._stop_reason(mid2)
        if reason:
            self._stop(reason)
            return
        if not self._laid_out:
            self._lay_out(mid2)
        if not self._dirty and not (bid < self._sell_rests_below
                                    or (self._buy_rests_above and ask > self._buy_rests_above)):
            return
        self._dirty = False
        self._place_missing(bid, ask)

    def _stop_reason(self, mid2: int) -> str:
        """Why the grid stops at this mid (twice the mid, in ticks), "" to go on."""
        low2, high2 = self._range2
        take = self._take2 and mid2 >= self._take2
        stop = self._stop2 and mid2 <= self._stop2
        leaves = self.params["out_of_range"] == "stop" and not low2 <= mid2 <= high2
        if not (take or stop or leaves):
            return ""
        p = self.params
        mid = fmt(self.ctx.instrument.tick_size * mid2 / 2)  # type: ignore[union-attr]
        if take:
            return f"take profit: the mid {mid} reached {fmt(p['take_profit_price'])}"
        if stop:
            return f"stop loss: the mid {mid} fell to {fmt(p['stop_loss_price'])}"
        return f"the mid {mid} left the range {fmt(p['lower_price'])}..{fmt(p['upper_price'])}"

    def _stop(self, reason: str) -> None:
        ctx = self.ctx
        assert ctx is not None
        self._stopped = reason
        cancelled = ctx.connector.cancel_all(ctx.symbol)
        self._by_order.clear()
        for level in self._levels:
            level.want = None
            level.order_id = None
            level.queue.clear()
        ctx.log.warning("grid stopped (%s): %d orders cancelled; %d steps, net %s %s", reason, len(cancelled),
                        self._steps, fmt(round(self._gross - self._fees, 8)), ctx.instrument.settle_asset)

    def _place_missing(self, bid: int, ask: int) -> None:
        """Sends every wanted order that does not rest yet, nearest the price first, as far
        as the budget goes; never at or through one of the grid's own opposite orders."""
        ctx = self.ctx
        assert ctx is not None
        waiting = [lv for lv in self._levels if lv.want is not None and lv.order_id is None and lv.want.lots > 0]
        self._sell_rests_below = self._buy_rests_above = 0
        if not waiting:
            return
        post_only = self.params["post_only"]
        own = ctx.connector.open_orders(ctx.symbol)
        live = [o for o in own if o.status is not OrderStatus.PENDING_CANCEL]
        lowest_ask = min((o.price_ticks for o in live if o.side is Side.SELL), default=None)
        highest_bid = max((o.price_ticks for o in live if o.side is Side.BUY), default=None)
        budget = available_budget(ctx.connector.balances())
        order_type = OrderType.LIMIT_MAKER if post_only else OrderType.LIMIT
        mid2 = bid + ask
        short: set[int] = set()
        for level in sorted(waiting, key=lambda lv: abs(2 * lv.ticks - mid2)):
            side, lots, price = level.want.side, level.want.lots, level.ticks  # type: ignore[union-attr]
            if side is Side.BUY:
                crosses_book = post_only and price >= ask
                crosses_own = lowest_ask is not None and price >= lowest_ask
            else:
                crosses_book = post_only and price <= bid
                crosses_own = highest_bid is not None and price <= highest_bid
            if crosses_book:
                if side is Side.BUY:
                    self._buy_rests_above = min(self._buy_rests_above or price, price)
                else:
                    self._sell_rests_below = max(self._sell_rests_below, price)
            if crosses_book or crosses_own:  # an own order in the way: tried again when it ends
                continue
            if not spend_if_affordable(ctx.instrument, side, price, lots, budget):
                short.add(level.index)
                continue
            order = ctx.connector.place_order(ctx.symbol, side, order_type, lots, price)
            if order.status.is_done:  # refused at once (the bot logs why): tried again in a second
                self._retry_later()
                continue
            level.order_id = order.client_order_id
            self._by_order[order.client_order_id] = level
            if side is Side.BUY:
                highest_bid = price if highest_bid is None else max(highest_bid, price)
            else:
                lowest_ask = price if lowest_ask is None else min(lowest_ask, price)
        self._log_short(frozenset(short))

    def _retry_later(self) -> None:
        if self._retry is None:
            self._retry = self.ctx.clock.call_later(_RETRY_NS, self._on_retry)  # type: ignore[union-attr]

    def _on_retry(self) -> None:
        self._retry = None
        self._dirty = True
        if self.running:
            self._react()

    def _log_short(self, short: frozenset[int]) -> None:
        """Says once which levels wait for funds (they are tried again after every fill)."""
        ctx = self.ctx
        assert ctx is not None
        if short and short != self._short_logged:
            prices = ", ".join(fmt(ctx.instrument.ticks_to_price(self._levels[i].ticks)) for i in sorted(short))
            ctx.log.warning("not enough funds for the grid orders at %s: they wait for fills to free funds", prices)
        self._short_logged = short

    # -- for views and checks ----------------------------------------------------------------------
    def grid_status(self) -> GridStatus:
        return GridStatus(self._steps, self._gross, self._fees, self._last_step, len(self._by_order), self._stopped)

    def preview(self) -> list[Quote]:
        """The orders the grid has (or would lay out) on the current book."""
        ctx = self.ctx
        if ctx is None or ctx.book.best_bid_ticks <= 0 or ctx.book.best_ask_ticks <= 0:
            return []
        try:
            levels = self._levels if self._laid_out else self.build_levels(ctx.instrument, self.params, self._fail)
        except ConfigError:
            return []
        if levels is not self._levels:
            start_layout(levels, ctx.book.best_bid_ticks + ctx.book.best_ask_ticks)
        return [Quote(lv.want.side, lv.ticks, lv.want.lots) for lv in levels if lv.want is not None]

    def reference_prices(self) -> dict[str, Decimal]:
        p = self.params
        prices = {"grid lower": p["lower_price"], "grid upper": p["upper_price"]}
        if p["take_profit_price"]:
            prices["take profit"] = p["take_profit_price"]
        if p["stop_loss_price"]:
            prices["stop loss"] = p["stop_loss_price"]
        return prices

    def _fail(self, name: str, reason: str) -> ConfigError:
        return ConfigError(self._source, f"strategy.params.{name}", reason)

    def fee_warnings(self, instrument: Instrument) -> list[str]:
        """A grid step pays two fees (maker with post-only orders): a step narrower than
        both loses on every pair. This is also the one check before the start that knows
        the market, so a grid that cannot exist on it (levels on one tick, orders below
        the lot or the minimum notional) is refused here, naming the field."""
        p = self.params
        ticks = [level.ticks for level in self.build_levels(instrument, p, self._fail)]
        rate = instrument.maker_fee if p["post_only"] else instrument.taker_fee
        narrowest = min(Decimal(b - a) / a for a, b in zip(ticks, ticks[1:]) if a > 0) * 10_000
        fees = 2 * rate * 10_000
        if narrowest >= fees:
            return []
        return [f"the narrowest grid step ({fmt(round(narrowest, 2))} bp) is below the round-trip "
                f"{'maker' if p['post_only'] else 'taker'} fee ({fmt(fees)} bp on {instrument.symbol}): "
                f"every completed buy/sell pair loses money"]

    def order_amounts_base(self) -> list[Decimal]:
        p = self.params
        if p["amount_unit"] == "base":
            return [p["amount"]]
        # Worth `amount` quote: the smallest order sits at the top level, the largest at the bottom.
        return sorted({p["amount"] / p["upper_price"], p["amount"] / p["lower_price"]})

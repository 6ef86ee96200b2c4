"""Two-sided market making on a perpetual (linear or inverse), with position risk controls.

Quotes a ladder around the mid like the simple quoter, then:

- Position limits: the bot's position plus every bid of the ladder may not exceed
  `max_long_position` (contracts), nor the position minus every ask `max_short_position`;
  a level that would is not quoted, so the side that would breach a limit goes quiet.
- Funding-aware skew: with a positive funding rate longs pay shorts, so the whole ladder
  moves down by `funding_skew_bps` per 0.01% of rate (asks nearer, bids further: the quotes
  lean short), and up when the rate is negative. The rate is the latest MarkPrice event of
  the feed (a recording's markPrice stream), else `assumed_funding_rate` (the demo
  exchange publishes none: set it to the venue's funding_rate).
- Take-profit and stop-loss, in % from the entry price, judged on the price a close would
  get (the best bid for a long, the best ask for a short): quotes are cancelled and the
  whole position is closed with one market order of exactly its size (reduce-only in
  spirit: it can never open the other way), with the reason in the log. Quoting resumes
  after `filled_order_delay` once the close is done; a close the venue refuses is retried
  at most once a second while the trigger still holds.
- Leverage: the venue's leverage is read at the start (Connector.leverage) and shown; a
  `leverage` parameter other than 0 is the one the trader expects, and a bot whose venue
  differs is refused (and the bot form says so before the start), so the margin the
  strategy budgets for is the margin the venue takes. A venue that does not report its
  leverage is trusted with the parameter, or only fees are budgeted.

The position is the one this bot built from its own fills (the same arithmetic as its
PnL, app/domain/margin.py): several bots may share an account, and a bot manages only what
it traded. One-way position mode only (one net position per market).
"""
from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from app.config.schema import ConfigError, Field, Schema
from app.domain import BookStale, BookUpdated, Event, Instrument, MarkPrice, OrderFilled, OrderType, Side
from app.domain.margin import Position, apply_fill
from app.interfaces.strategy import Quote, Strategy
from strategies import common_fields as cf
from strategies.quoting import NS as _NS
from strategies.quoting import UNITS, age_check_period_ns, bps_to_units, fmt, keep_maker, mid2, mid_price, placeable
from strategies.quoting import spread_fee_warnings
from strategies.reconcile import cancel_while_stale, refresh_quotes

_FUNDING_STEP = Decimal("0.0001")  # funding_skew_bps is per 0.01% of funding rate
_CLOSE_RETRY_NS = _NS


class PerpetualMarketMaking(Strategy):
    name = "perpetual_market_making"
    title = "Perpetual market making"
    schema = Schema(
        (
            cf.order_amount("Size of each order, in contracts (base units on USD-M markets, e.g. BTC).",
                            unit="contracts"),
            cf.bps("bid_spread_bps", 5, "Distance of the best bid below the mid price, in basis points."),
            cf.bps("ask_spread_bps", 5, "Distance of the best ask above the mid price, in basis points."),
            cf.order_levels(),
            cf.level_step_bps(),
            cf.refresh_time(),
            cf.refresh_tolerance_bps(),
            cf.filled_order_delay(),
            Field("leverage", "decimal", Decimal(0), minimum=0, maximum=125, unit="x",
                  help="The leverage expected on this market: the bot refuses to start if the venue's differs. "
                       "0: take the venue's."),
            Field("max_long_position", "decimal", Decimal("0.01"), minimum=0, unit="contracts",
                  help="Largest long position: bids that could take the position beyond it are not placed."),
            Field("max_short_position", "decimal", Decimal("0.01"), minimum=0, unit="contracts",
                  help="Largest short position (a positive number): asks beyond it are not placed."),
            cf.bps("funding_skew_bps", 0, "Shift of all quotes per 0.01% of funding rate: down when the rate is "
                                          "positive (longs pay), up when negative. 0 turns it off.",
                   maximum=1000, unit="bp per 0.01%"),
            Field("assumed_funding_rate", "decimal", Decimal("0"), minimum=Decimal("-0.05"), maximum=Decimal("0.05"),
                  help="Funding rate per 8 h used until the feed publishes one (0.0001 = 0.01%)."),
            Field("take_profit_pct", "decimal", Decimal("0"), minimum=0, maximum=1000, unit="%",
                  help="Close the whole position at market once it gains this much from the entry price. 0: off."),
            Field("stop_loss_pct", "decimal", Decimal("0"), minimum=0, maximum=100, unit="%",
                  help="Close the whole position at market once it loses this much from the entry price. 0: off."),
            Field("position_mode", "choice", "one-way", choices=("one-way",),
                  help="one-way: one net position per market (hedge mode is not supported)."),
            cf.post_only(),
        )
    )

    def __init__(self, params: dict[str, Any] | None = None, source: str = "") -> None:
        super().__init__(params, source)
        self._check(self.params, source)
        self.position = Position()
        self._funding_rate: Decimal | None = None  # the feed's, once it published one
        self._paused_until_ns = 0
        self._closing: str | None = None  # client id of the close in flight
        self._close_after_ns = 0
        self._timer = None
        self._derive()

    @staticmethod
    def _check(params: dict[str, Any], source: str) -> None:
        if 0 < params["leverage"] < 1:
            raise ConfigError(source, "leverage", f"must be 0 (the venue's) or from 1 to 125 x, got "
                                                  f"{fmt(params['leverage'])}")
        amount = params["order_amount"]
        if params["max_long_position"] < amount and params["max_short_position"] < amount:
            raise ConfigError(source, "max_long_position",
                              f"{fmt(params['max_long_position'])} and max_short_position "
                              f"{fmt(params['max_short_position'])} are both below order_amount "
                              f"{fmt(amount)}: no order could ever be placed")

    def apply_params(self, changes: dict[str, Any]) -> dict[str, Any]:
        merged = {**self.params, **self.schema.validate_changes(changes)}
        self._check(merged, "live edit")
        mismatch = self._leverage_mismatch(merged["leverage"])
        if mismatch:
            raise ConfigError("live edit", "leverage", mismatch)
        return super().apply_params(changes)

    # -- life cycle -----------------------------------------------------------------------
    def on_start(self) -> None:
        ctx = self.ctx
        assert ctx is not None
        inst = ctx.instrument
        if not inst.is_derivative:
            raise ConfigError("", "symbol", f"{self.name} trades perpetuals; {ctx.symbol} is a spot market")
        mismatch = self._leverage_mismatch(self.params["leverage"])
        if mismatch:
            raise ConfigError("", "leverage", mismatch)
        leverage = self.leverage()
        if leverage:
            shown = f"{fmt(leverage)}x" + ("" if ctx.connector.leverage(ctx.symbol) else
                                              " (the venue does not report its own: assumed)")
        else:
            shown = "unknown (the venue does not report it: only fees are budgeted, the venue checks the margin)"
        ctx.log.info("%s, leverage %s; position limits long %s / short %s contracts", inst.describe(), shown,
                     fmt(self.params["max_long_position"]), fmt(self.params["max_short_position"]))
        account = ctx.connector.position(ctx.symbol)
        if account is not None and getattr(account, "lots", 0):
            ctx.log.warning("the account already holds %s contracts of %s: this bot manages only the position "
                            "it builds itself", inst.lots_to_amount(account.lots), ctx.symbol)
        ctx.feed.add_listener(self._on_feed_event)
        self._schedule_age_check()
        self._requote()

    def leverage(self) -> Decimal | None:
        """The leverage margin is budgeted at: the parameter, else the venue's (None: unknown)."""
        if self.params["leverage"]:
            return self.params["leverage"]
        return self.ctx.connector.leverage(self.ctx.symbol) if self.ctx is not None else None

    def _leverage_mismatch(self, wanted: Decimal) -> str:
        """Why the expected leverage is not the venue's ("" when it is, or either is unknown)."""
        ctx = self.ctx
        venue = ctx.connector.leverage(ctx.symbol) if ctx is not None else None
        if not wanted or venue is None or Decimal(venue) == wanted:
            return ""
        return (f"{fmt(wanted)}x differs from the venue's {fmt(venue)}x on "
                f"{ctx.connector.name} "  # type: ignore[union-attr]
                f"{ctx.symbol} (set it to 0 to take the venue's; a config sets the venue's as venue.leverage)")

    def on_stop(self) -> None:
        if self.ctx is not None:
            self.ctx.feed.remove_listener(self._on_feed_event)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule_age_check(self) -> None:
        period = age_check_period_ns(self.params["order_refresh_time"])
        self._timer = self.ctx.clock.call_later(period, self._on_timer)  # type: ignore[union-attr]

    def _on_timer(self) -> None:
        if not self.running:
            return
        self._requote()
        self._schedule_age_check()

    def _on_feed_event(self, event: Event) -> None:
        """The funding rate in force, from the feed's mark price stream (not a bot hook: the
        bot does not route MarkPrice; storing one number cannot fail)."""
        if isinstance(event, MarkPrice) and self.ctx is not None and event.symbol == self.ctx.symbol:
            if event.funding_rate != self._funding_rate:
                self._funding_rate = event.funding_rate
                self._last_wanted = None

    def on_params_changed(self, applied: dict[str, tuple[Any, Any]]) -> None:
        self._derive()
        if self.running:
            self._requote()

    # -- events ----------------------------------------------------------------------------
    def on_book(self, event: BookUpdated) -> None:
        if self.running:
            self._requote()

    def on_fill(self, event: OrderFilled) -> None:
        ctx = self.ctx
        assert ctx is not None
        inst = ctx.instrument
        fill = event.fill
        lots = inst.amount_to_lots(fill.amount)
        realized = apply_fill(inst, self.position, lots if fill.side is Side.BUY else -lots, fill.price)
        self.position.realized += realized
        self.position.fees += fill.fee
        self._derive_triggers()
        self._orders_dirty = True
        if fill.client_order_id == self._closing:
            ctx.log.info("close filled: %s %s at %s, realised %s %s before fees; position now %s", fill.side.value,
                         fill.amount, fill.price, fmt(round(realized, 8)), inst.settle_asset,
                         inst.lots_to_amount(self.position.lots))
            if event.order.status.is_done:  # a venue reports a fill's final state with the fill only
                self._closing = None
        delay = self.params["filled_order_delay"]
        if delay > 0:
            self._paused_until_ns = ctx.clock.now_ns() + int(delay * _NS)

    def on_order(self, event) -> None:  # noqa: ANN001 - OrderUpdated
        self._orders_dirty = True
        order = event.order
        if order.client_order_id == self._closing and order.status.is_done:
            self._closing = None
            if order.status.value != "filled":
                self.ctx.log.warning("the close order ended %s (%s); retrying while the trigger holds",  # type: ignore[union-attr]
                                     order.status.value, order.reason or "no reason given")
            if self.running:
                self._requote()

    def on_stale(self, event: BookStale) -> None:
        ctx = self.ctx
        assert ctx is not None
        cancel_while_stale(ctx, event.reason)

    # -- take-profit / stop-loss -------------------------------------------------------------
    def _derive_triggers(self) -> None:
        """Trigger prices in ticks for the current position, so the per-book check is two
        integer comparisons. Long: close when the best bid reaches the take-profit or falls
        to the stop; short: the best ask, mirrored."""
        self._tp_ticks = self._sl_ticks = 0
        pos = self.position
        if pos.lots == 0 or self.ctx is None:
            return
        tick = self.ctx.instrument.tick_size
        tp, sl = self.params["take_profit_pct"] / 100, self.params["stop_loss_pct"] / 100
        long = pos.lots > 0
        if tp > 0:
            price = pos.entry * (1 + tp if long else 1 - tp)
            self._tp_ticks = int((price / tick).to_integral_value(rounding=ROUND_CEILING if long else ROUND_FLOOR))
        if sl > 0:
            price = pos.entry * (1 - sl if long else 1 + sl)
            self._sl_ticks = int((price / tick).to_integral_value(rounding=ROUND_FLOOR if long else ROUND_CEILING))

    def _exit_reason(self, best_bid: int, best_ask: int) -> str | None:
        lots = self.position.lots
        if lots > 0:
            if self._tp_ticks and best_bid >= self._tp_ticks:
                return "take-profit"
            if self._sl_ticks and 0 < best_bid <= self._sl_ticks:
                return "stop-loss"
        elif lots < 0:
            if self._tp_ticks and 0 < best_ask <= self._tp_ticks:
                return "take-profit"
            if self._sl_ticks and best_ask >= self._sl_ticks:
                return "stop-loss"
        return None

    def _close_position(self, reason: str, best_bid: int, best_ask: int, now: int) -> None:
        ctx = self.ctx
        assert ctx is not None
        inst = ctx.instrument
        pos = self.position
        long = pos.lots > 0
        exit_ticks = best_bid if long else best_ask
        exit_price = inst.ticks_to_price(exit_ticks)
        move = (exit_price - pos.entry) / pos.entry * 100 * (1 if long else -1)
        limit = self.params["take_profit_pct" if reason == "take-profit" else "stop_loss_pct"]
        ctx.log.warning("%s: %s %s contracts from entry %s, %s %s (%s%% vs %s%%): closing with a market %s",
                        reason, "long" if long else "short", inst.lots_to_amount(abs(pos.lots)),
                        fmt(round(pos.entry, 8)), "best bid" if long else "best ask", exit_price,
                        fmt(round(move, 4)), fmt(limit), "sell" if long else "buy")
        ctx.connector.cancel_all(ctx.symbol)
        order = ctx.connector.place_order(ctx.symbol, Side.SELL if long else Side.BUY, OrderType.MARKET, abs(pos.lots))
        self._close_after_ns = now + _CLOSE_RETRY_NS
        if order.status.is_done:
            ctx.log.warning("the close was refused: %s", order.reason or order.status.value)
        else:
            self._closing = order.client_order_id

    # -- quoting ---------------------------------------------------------------------------
    def _requote(self) -> None:
        ctx = self.ctx
        assert ctx is not None
        book = ctx.book
        if book.is_stale or self._closing is not None:
            return
        best_bid, best_ask = book.best_bid_ticks, book.best_ask_ticks
        now = ctx.clock.now_ns()
        if self.position.lots and (self._tp_ticks or self._sl_ticks) and now >= self._close_after_ns:
            reason = self._exit_reason(best_bid, best_ask)
            if reason is not None:
                self._close_position(reason, best_bid, best_ask, now)
                return
        wanted = self.wanted_quotes() if now >= self._paused_until_ns else []
        key = tuple(wanted)
        if key == self._last_wanted and not self._orders_dirty and now < self._next_age_check_ns:
            return
        self._last_wanted = key
        self._orders_dirty = False
        self._next_age_check_ns = refresh_quotes(
            ctx, wanted, ctx.connector.open_orders(ctx.symbol), tolerance_units=self._tolerance_units,
            max_age_ns=int(self.params["order_refresh_time"] * _NS), now_ns=now, post_only=self.params["post_only"],
            leverage=self.leverage())

    def funding_rate(self) -> Decimal:
        """The rate in force: the feed's latest, else the assumed one."""
        return self._funding_rate if self._funding_rate is not None else self.params["assumed_funding_rate"]

    def skew_units(self) -> int:
        """How far the ladder moves down (positive) or up (negative), in 1e-8 of the mid."""
        per_step = self.params["funding_skew_bps"]
        if per_step == 0:
            return 0
        return bps_to_units(per_step * self.funding_rate() / _FUNDING_STEP)

    def wanted_quotes(self) -> list[Quote]:
        """The ladder on the current book, skewed for funding and cut at the position limits."""
        ctx = self.ctx
        assert ctx is not None
        book = ctx.book
        best_bid, best_ask = book.best_bid_ticks, book.best_ask_ticks
        if best_bid <= 0 or best_ask <= 0:
            return []
        inst = ctx.instrument
        if self._lots < 0:
            self._lots = inst.round_amount_to_lots(self.params["order_amount"])
            self._max_long = inst.round_amount_to_lots(self.params["max_long_position"])
            self._max_short = inst.round_amount_to_lots(self.params["max_short_position"])
        lots = self._lots
        if lots <= 0:
            return []
        m2 = best_bid + best_ask
        skew = self.skew_units()
        post_only = self.params["post_only"]
        long_room = self._max_long - self.position.lots
        short_room = self._max_short + self.position.lots
        quotes: list[Quote] = []
        for bid_units, ask_units in self._levels:
            bid = m2 * (UNITS - bid_units - skew) // (2 * UNITS)
            ask = -(-m2 * (UNITS + ask_units - skew) // (2 * UNITS))
            if post_only:
                bid = keep_maker(Side.BUY, bid, best_bid, best_ask)
                ask = keep_maker(Side.SELL, ask, best_bid, best_ask)
            if bid >= ask:
                bid = ask - 1
            if long_room >= lots:
                long_room -= lots
                if placeable(inst, lots, bid):
                    quotes.append(Quote(Side.BUY, bid, lots))
            if short_room >= lots:
                short_room -= lots
                if placeable(inst, lots, ask):
                    quotes.append(Quote(Side.SELL, ask, lots))
        return quotes

    def _derive(self) -> None:
        p = self.params
        self._tolerance_units = bps_to_units(p["order_refresh_tolerance_bps"])
        self._levels = [(bps_to_units(p["bid_spread_bps"] + p["level_step_bps"] * i),
                         bps_to_units(p["ask_spread_bps"] + p["level_step_bps"] * i)) for i in range(p["order_levels"])]
        self._lots = -1  # with the limits, needs the instrument: computed on first use
        self._max_long = self._max_short = 0
        self._last_wanted = None
        self._orders_dirty = True
        self._next_age_check_ns = 0
        self._derive_triggers()

    # -- for views and checks ----------------------------------------------------------------
    def preview(self) -> list[Quote]:
        return self.wanted_quotes() if self.ctx is not None else []

    def reference_prices(self) -> dict[str, Decimal]:
        ctx = self.ctx
        if ctx is None:
            return {}
        mid = mid_price(ctx.book, ctx.instrument)
        if mid is None:
            return {}
        inst, m2 = ctx.instrument, mid2(ctx.book)
        out = {"mid": mid}
        skew = self.skew_units()
        if skew:
            out["funding-skewed mid"] = inst.ticks_to_price(round(Decimal(m2) * (UNITS - skew) / (2 * UNITS)))
        if self.position.lots:
            out["entry"] = self.position.entry
            if self._tp_ticks:
                out["take profit"] = inst.ticks_to_price(self._tp_ticks)
            if self._sl_ticks:
                out["stop loss"] = inst.ticks_to_price(self._sl_ticks)
        return out

    def fee_warnings(self, instrument: Instrument) -> list[str]:
        if not instrument.is_derivative:
            return [f"{self.name} trades perpetuals; {instrument.symbol} is a spot market"]
        notes = []
        p = self.params
        mismatch = self._leverage_mismatch(p["leverage"])  # known once bound to a venue (the bot form's preview)
        if mismatch:
            notes.append(f"leverage {mismatch}: the bot would refuse to start")
        notes += spread_fee_warnings(p["bid_spread_bps"] + p["ask_spread_bps"], instrument, p["post_only"])
        rate = instrument.maker_fee if p["post_only"] else instrument.taker_fee
        exit_fees = (rate + instrument.taker_fee) * 100
        if 0 < p["take_profit_pct"] <= exit_fees:
            notes.append(f"take_profit_pct {fmt(p['take_profit_pct'])}% does not cover opening as a maker and "
                         f"closing at market ({fmt(exit_fees)}% in fees on {instrument.symbol})")
        return notes

    def order_amounts_base(self) -> list[Decimal]:
        return [self.params["order_amount"]]

"""Cross-exchange market making: quote on one market, hedge every fill at once on another.

The maker market is usually the thinner one with the wider spread; the taker market the
deep one. Each side keeps at most one quote, priced so that a fill hedged at once on the
taker book earns at least `min_profitability` after both fees (strategies/xemm/pricing.py);
every fill is hedged by strategies/xemm/hedger.py. Decisions run on every book update of
either market, on the bot's own order events and on one timer set to the next moment an
order expires or may be repriced, so nothing polls.

A quote is only replaced after its cancel is confirmed, so a side never has two orders
that could both fill. Quoting stops (quotes cancelled) while either book is stale or a
hedge is failing: the strategy never adds exposure it may not be able to cover.
"""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

from app.config.schema import ConfigError
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
from app.interfaces.strategy import MarketContext, MarketRole, Quote, Strategy, StrategyContext
from strategies.market_math import affordable_lots, fmt_pct, fmt_price, percent
from strategies.xemm.hedger import Hedger
from strategies.xemm.params import SCHEMA, check_together
from strategies.xemm.pricing import Funds, SideQuote, XemmPricer

_NS = 1_000_000_000
MAKER = MarketRole("maker", "Maker market", "Where the quotes rest (usually the thinner market).")
TAKER = MarketRole("taker", "Taker market", "Where every maker fill is hedged at once (the deeper market).")


class CrossExchangeMarketMaking(Strategy):
    name = "cross_exchange_market_making"
    title = "Cross-exchange market making"
    schema = SCHEMA
    roles = (MAKER, TAKER)
    acts_while_stopping = True  # a maker fill during the stop's cancels is still hedged

    def __init__(self, params: dict[str, Any] | None = None, source: str = "") -> None:
        super().__init__(params, source)
        check_together(self.params, source)
        self.pricer: XemmPricer | None = None
        self.hedger: Hedger | None = None
        self._timer: TimerHandle | None = None
        self._timer_due = 0
        self._funds: Funds | None = None
        self._funds_until = 0
        self._deciding = False
        self._again = False
        self._changed = True  # an own order event, a timer or new parameters since the last decision
        self._inputs: tuple | None = None  # what the last decision read of the books
        self._inputs_funds: Funds | None = None

    # -- parameters --------------------------------------------------------------------------
    def apply_params(self, changes: dict[str, Any]) -> dict[str, Any]:
        check_together({**self.params, **self.schema.validate_changes(changes)}, "live edit")
        return super().apply_params(changes)

    def on_params_changed(self, applied: dict[str, tuple[Any, Any]]) -> None:
        if self.ctx is not None:
            self._build()
            self._changed = True
            if self.running:
                self._requote()

    # -- life cycle --------------------------------------------------------------------------
    def bind(self, ctx: StrategyContext) -> None:
        super().bind(ctx)
        self._build()

    def start(self, ctx: StrategyContext) -> None:
        if self.ctx is not ctx or self.pricer is None:
            self.bind(ctx)
        super().start(ctx)

    def _build(self) -> None:
        maker, taker = self._markets()
        ctx = self.ctx
        assert ctx is not None
        self.pricer = XemmPricer(maker, taker, self.params)
        old = self.hedger
        self.hedger = Hedger(maker, taker, self.pricer.bridge, percent(self.params["slippage_buffer"]),
                             self.params["hedge_retry_seconds"], ctx.clock, ctx.log, self._on_hedger_state)
        if old is not None:  # a live edit keeps what is unhedged and in flight
            old.cancel_retry()
            self.hedger.adopt_state(old)

    def _markets(self) -> tuple[MarketContext, MarketContext]:
        ctx = self.ctx
        assert ctx is not None
        missing = [r.name for r in self.roles if r.name not in ctx.markets]
        if missing:
            raise ConfigError("", "markets", f"{self.name} needs the markets {MAKER.name} and {TAKER.name}; "
                                             f"missing: {', '.join(missing)}")
        return ctx.markets[MAKER.name], ctx.markets[TAKER.name]

    def on_start(self) -> None:
        self._requote()

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.hedger is not None:
            self.hedger.stop()

    # -- events ------------------------------------------------------------------------------
    def on_book(self, event: BookUpdated) -> None:
        if self.running:
            self._requote()

    def on_order(self, event: OrderUpdated) -> None:
        role = self.ctx.role_of(event)  # type: ignore[union-attr]
        self._funds = None
        if role == TAKER.name:
            self.hedger.on_taker_order(event.order)  # type: ignore[union-attr]
        elif role == MAKER.name:
            self._changed = True
            if self.running:
                self._requote()

    def on_fill(self, event: OrderFilled) -> None:
        role = self.ctx.role_of(event)  # type: ignore[union-attr]
        self._funds = None
        if role == MAKER.name:
            self._changed = True
            self.hedger.on_maker_fill(event)  # type: ignore[union-attr]
            if self.running:
                self._requote()
        elif role == TAKER.name:
            self.hedger.on_taker_fill(event)  # type: ignore[union-attr]

    def on_stale(self, event: BookStale) -> None:
        role = self.ctx.role_of(event)  # type: ignore[union-attr]
        self.ctx.log.warning("%s book stale (%s): maker quotes cancelled until it resyncs",  # type: ignore[union-attr]
                             role, event.reason)
        self._cancel_quotes()

    def on_resynced(self, event: BookResynced) -> None:
        if self.running:
            self._requote()

    def _on_hedger_state(self) -> None:
        self._changed = True
        if self.running:
            self._requote()

    # -- quoting -----------------------------------------------------------------------------
    def _requote(self) -> None:
        """Decides both sides from the books as they are now.

        Placing or cancelling an order makes venues announce it at once, which calls this
        again from inside itself: that inner call only asks for one more pass after the
        current one, so a decision never works from an order list that moved under it."""
        if self._deciding:
            self._changed = True
            self._again = True
            return
        self._deciding = True
        try:
            for _ in range(4):  # each pass acts only on what the previous one changed
                self._again = False
                self._decide()
                if not self._again:
                    break
        finally:
            self._deciding = False

    def _decide(self) -> None:
        maker, taker = self._markets()
        hedger = self.hedger
        assert hedger is not None and self.pricer is not None
        if maker.book.is_stale or taker.book.is_stale or hedger.failing:
            self._inputs = None
            self._cancel_quotes()
            return
        now = self.ctx.clock.now_ns()  # type: ignore[union-attr]
        funds = self._read_funds(now)
        # The cheap path: same books (as far as the last decision read them), same balances,
        # no own order event and no timer due: the same decision, so nothing to do.
        if not self._changed and funds is self._inputs_funds and self._inputs == self.pricer.inputs():
            return
        self._changed = False
        own = maker.connector.open_orders(maker.symbol)
        self.pricer.fresh()
        bid, ask = self.pricer.quote(Side.BUY, funds, own), self.pricer.quote(Side.SELL, funds, own)
        if bid is not None and ask is not None and bid.price_ticks >= ask.price_ticks:
            # Only a negative min_profitability gets here; a lower bid only earns more.
            bid = replace(bid, price_ticks=ask.price_ticks - 1) if ask.price_ticks > 1 else None
        due = [self._manage_side(maker, side, wanted, [o for o in own if o.side is side], now)
               for side, wanted in ((Side.BUY, bid), (Side.SELL, ask))]
        self._schedule(min((d for d in due if d), default=0))
        self._inputs = self.pricer.inputs()
        self._inputs_funds = funds

    def _manage_side(self, maker: MarketContext, side: Side, wanted: SideQuote | None, mine: list[Order],
                     now: int) -> int:
        """Keeps, cancels or places this side's one quote; returns when it next needs a look
        (0: only at the next event)."""
        live = [o for o in mine if o.status is not OrderStatus.PENDING_CANCEL]
        for extra in live[1:]:  # one quote per side: anything more (an adopted order) goes
            maker.connector.cancel_order(extra.client_order_id)
        cancelling = len(live) < len(mine) or len(live) > 1
        order = live[0] if live else None
        if order is not None:
            why, due = self._verdict(side, order, wanted, now)
            if why is None:
                return due
            self.ctx.log.info("%s quote %s at %s cancelled: %s", side.value,  # type: ignore[union-attr]
                              order.client_order_id, fmt_price(maker.instrument, order.price_ticks), why)
            maker.connector.cancel_order(order.client_order_id)
            return 0  # the replacement goes out when the cancel is confirmed (on_order)
        if cancelling or wanted is None:
            return 0
        if affordable_lots(maker, side, wanted.price_ticks) < wanted.lots:
            return 0  # a lock is still held (a cancel in flight, another bot): next event
        maker.connector.place_order(maker.symbol, side, OrderType.LIMIT_MAKER, wanted.lots, wanted.price_ticks)
        return now + int(self.params["limit_order_min_expiration"] * _NS)

    def _verdict(self, side: Side, order: Order, wanted: SideQuote | None, now: int) -> tuple[str | None, int]:
        """Why a resting quote must go now (None: it stays), and when to look again."""
        p = self.params
        pricer = self.pricer
        assert pricer is not None
        active = p["active_order_canceling"]
        good = pricer.meets(side, order.price_ticks, order.remaining_lots, "min" if active else "cancel")
        if good is None:
            return "the taker book cannot take its hedge", 0
        if not good:
            what, floor = ("min_profitability", pricer.min_profit) if active else (
                "cancel_order_threshold", pricer.cancel_threshold)
            profit = pricer.profitability(side, order.price_ticks, order.remaining_lots)
            return f"hedged profitability {fmt_pct(profit)} is below {what} {fmt_pct(floor)}", 0  # type: ignore
        expires = order.created_ns + int(p["limit_order_min_expiration"] * _NS)
        if now >= expires:
            return "expired (limit_order_min_expiration)", 0
        if not active:
            return None, expires
        if wanted is None:
            return "no quote wanted on this side now (size limits or funds)", 0
        if wanted.price_ticks == order.price_ticks and wanted.lots == order.amount_lots:
            return None, expires
        free_at = order.created_ns + int(p["anti_hysteresis_duration"] * _NS)
        if now < free_at:
            return None, min(expires, free_at)
        shown = fmt_price(pricer.maker.instrument, wanted.price_ticks)
        return f"repriced to {shown} x {wanted.lots} lots", 0

    def _schedule(self, due: int) -> None:
        """One timer, at the next moment a quote expires or may be repriced."""
        if due == self._timer_due and self._timer is not None:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_due = due
        if due:
            self._timer = self.ctx.clock.call_at(due, self._on_timer)  # type: ignore[union-attr]

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_due = 0
        self._changed = True  # time moved on: an expiry or the end of an anti-hysteresis wait
        if self.running:
            self._requote()

    def _cancel_quotes(self) -> None:
        if self.ctx is None or MAKER.name not in self.ctx.markets:
            return
        maker = self.ctx.markets[MAKER.name]
        maker.connector.cancel_all(maker.symbol)

    def _read_funds(self, now: int) -> Funds:
        """Balances of both accounts, re-read after the bot's own order events and at most
        once a second otherwise (others sharing an account also move them)."""
        if self._funds is None or now >= self._funds_until:
            maker, taker = self._markets()
            self._funds = Funds.read(maker, taker)
            self._funds_until = now + _NS
        return self._funds

    # -- for views and checks ------------------------------------------------------------------
    def wanted_quotes(self) -> list[SideQuote]:
        """The quotes this strategy would place on the books as they are (no orders sent)."""
        if self.ctx is None or self.pricer is None:
            return []
        maker, taker = self._markets()
        if maker.book.is_stale or taker.book.is_stale:
            return []
        own = maker.connector.open_orders(maker.symbol)
        funds = Funds.read(maker, taker)
        self.pricer.fresh()
        quotes = [self.pricer.quote(side, funds, own) for side in (Side.BUY, Side.SELL)]
        return [q for q in quotes if q is not None]

    def preview(self) -> list[Quote]:
        return [Quote(q.side, q.price_ticks, q.lots) for q in self.wanted_quotes()]

    def reference_prices(self) -> dict[str, Decimal]:
        """The taker's best prices in maker units, and each side's least profitable price."""
        if self.ctx is None or self.pricer is None or not all(r.name in self.ctx.markets for r in self.roles):
            return {}
        maker, taker = self._markets()
        tick = maker.instrument.tick_size
        out: dict[str, Decimal] = {}
        for name, ticks in (("taker_bid", taker.book.best_bid_ticks), ("taker_ask", taker.book.best_ask_ticks)):
            if ticks > 0:
                out[name] = _decimal(self.pricer.bridge.price(ticks)) * tick
        for q in self.wanted_quotes():
            out["bid_limit" if q.side is Side.BUY else "ask_limit"] = _decimal(q.limit) * tick
        return out

    def fee_warnings(self, instrument: Instrument) -> list[str]:
        """Fees are priced into every quote; what can still lose is a negative threshold."""
        p = self.params
        out = []
        if p["min_profitability"] < 0:
            out.append(f"min_profitability is negative ({p['min_profitability']} %): every hedged fill "
                       f"loses up to {-p['min_profitability']} % after the maker and taker fees")
        if not p["active_order_canceling"] and p["cancel_order_threshold"] < 0:
            out.append(f"passive quotes rest until their hedged profitability falls below "
                       f"cancel_order_threshold ({p['cancel_order_threshold']} %): a fill may lose up to "
                       f"{-p['cancel_order_threshold']} % after fees")
        return out

    def order_amounts_base(self) -> list[Decimal]:
        return [self.params["order_amount"]]


def _decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)

"""A bot: one strategy on one market of one connector, with start, stop and kill.

The runner routes events to the strategy as they happen, keeps the PnL and statistics,
and owns the shutdown rule: stopping cancels every open order and is finished only when
the venue has confirmed that none is left, so a bot never leaves an orphaned order.

Faults are contained: every strategy hook (on_start, on_book, on_trades, on_order,
on_fill, on_stale, on_resynced, on_params_changed, on_stop) and every callback the
strategy scheduled on its context's clock runs inside the bot's guard. An exception
there never reaches the venue, the feed or the clock (which serve other bots too): the
bot records it (`error`, one line; the journal's "error" record and the log, with the
traceback) and stops the normal way, cancelling its orders.
"""
from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Callable

from app.domain import (
    BookResynced,
    BookStale,
    BookUpdated,
    Event,
    OrderFilled,
    OrderStatus,
    OrderUpdated,
    Side,
    TradesEvent,
    FundingPaid,
    CancelRejected,
)
from app.domain.order import bot_tag
from app.interfaces.clock import Callback, GuardedClock
from app.engine.journal.store import BotJournal, JournalStore
from app.engine.own_orders import OwnOrders
from app.engine.pnl import pnl_tracker_for
from app.engine.risk import RiskLimits
from app.engine.risk_guard import RiskGuard
from app.interfaces.venue import Connector
from app.interfaces.strategy import Strategy, StrategyContext

log = logging.getLogger(__name__)


_VENUE_EVENTS = (OrderUpdated, OrderFilled, FundingPaid, CancelRejected)
"""What a bot hears from its venue (not balances: it reads them when it needs them)."""


class BotState(str, Enum):
    READY = "ready"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class BotStatus:
    name: str
    state: BotState
    ts_ns: int
    mid: Decimal | None
    own_bid: Decimal | None
    own_ask: Decimal | None
    open_orders: int
    inventory_base: Decimal
    pnl_quote: Decimal
    fills: int
    stale: bool
    error: str | None = None  # why the bot failed: "ValueError in on_book: ..."
    stopped_by: str | None = None  # why it stopped itself: "risk: daily loss 123.4 USDT > max_daily_loss 100 USDT"


class Bot:
    def __init__(self, name: str, connector: Connector, symbol: str, strategy: Strategy,
                 journal: JournalStore | None = None, risk: RiskLimits | None = None) -> None:
        """`risk`: the bot's limits (app/engine/risk.py; None: all off); ConfigError if one
        does not suit the market."""
        self.name = name
        self.connector = connector
        # What the strategy trades through; the bot's tag goes into its client order ids.
        # Every order's intent is journaled before its request leaves (see _intent).
        self.orders = OwnOrders(connector, self._rejected, tag=bot_tag(name), on_cancel_rejected=self._cancel_rejected,
                                before_send=self._intent)
        self.symbol = symbol
        self.journal: BotJournal | None = None
        self._seen_trades: set[tuple[str, str]] = set()  # (symbol, trade id): a fill is counted once
        self.strategy = strategy
        self.instrument = connector.instruments[symbol]
        self.feed = connector.feed(symbol)
        self.clock = connector.clock
        self.state = BotState.READY
        self._state_listeners: list[Callable[["Bot"], None]] = []
        self.pnl = pnl_tracker_for(self.instrument)  # spot: vs holding; perpetuals: by position
        self.start_balances = connector.balances()
        self.start_ns = 0
        self.stop_ns = 0
        self.audit: list[dict[str, Any]] = []
        self.rejects = 0
        self.error: str | None = None  # the first failure, one line; the bot stopped because of it
        self.errors: list[str] = []  # every failure caught (a failing on_stop may follow the first)
        self._on_stopped: list[Callable[[], None]] = []
        self._hook = None  # the strategy's compiled market hook while it runs (see _attach_hook)
        self._log = logging.getLogger(f"colibri.bot.{name}")
        self.stopped_by: str | None = None  # why the bot stopped itself (a risk limit), one line
        self.risk = RiskGuard(self, risk)  # per-order limits before sending, PnL limits, flatten
        self.orders.pre_send_check = self.risk.check_order
        if journal is not None:
            self.attach_journal(journal)
        self._dispatch: dict[type, Callable[[Any], None]] = {
            BookUpdated: strategy.on_book,
            TradesEvent: strategy.on_trades,
            OrderUpdated: self._on_order,
            OrderFilled: self._on_fill,
            FundingPaid: self._on_funding,
            CancelRejected: self._on_cancel_rejected_event,
            BookStale: self._on_stale,
            BookResynced: self._on_resynced,
        }
        self._hook_names: dict[type, str] = {
            BookUpdated: "on_book",
            TradesEvent: "on_trades",
            OrderUpdated: "handling an order update",
            OrderFilled: "handling a fill",
            FundingPaid: "handling a funding payment",
            CancelRejected: "handling a cancel refusal",
            BookStale: "on_stale",
            BookResynced: "on_resynced",
        }

    def attach_journal(self, store: JournalStore) -> None:
        """Journals this bot into `store` (app/engine/journal): before it starts."""
        if self.state is not BotState.READY:
            raise RuntimeError(f"bot {self.name}: a journal is attached before the bot starts")
        self.journal = store.for_bot(self.name, self.connector, self.symbol)

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        if self.state is not BotState.READY:
            raise RuntimeError(f"bot {self.name} is {self.state.value}; it can start only once")
        self.start_balances = self.connector.balances()
        self.start_ns = self.clock.now_ns()
        self._set_state(BotState.RUNNING)
        self._hook = self._attach_hook()
        self.feed.add_listener(self._on_event, self._feed_kinds())
        self.connector.add_listener(self._on_event, _VENUE_EVENTS)
        ctx = StrategyContext(GuardedClock(self.clock, self._guard_timer), self.orders, self.feed,
                              self.instrument, self._log, self.name)
        self._log.info("started %s on %s %s", self.strategy.name, self.connector.name, self.symbol)
        self._journal("start", strategy=self.strategy.name, account=self.connector.name, symbol=self.symbol,
                      params={k: str(v) for k, v in self.strategy.params.items()},
                      balances={a: str(b.total) for a, b in self.start_balances.items()},
                      risk=self.risk.limits.given())
        self.risk.start()
        self._guarded("on_start", self.strategy.start, ctx)

    def _attach_hook(self):
        """The strategy's compiled hook on the feed, its Python work inside the guard."""
        hook = self.strategy.market_hook()
        if hook is None:
            return None
        work = hook.callback
        hook.callback = lambda: self._guarded("on_book", work)
        hook.active = True
        self.feed.add_hook(hook)
        return hook

    def _feed_kinds(self) -> tuple[type, ...] | None:
        """The feed events this bot's listener needs: book updates go to the hook when the
        strategy has one, trades only to a strategy that reacts to them."""
        if self._hook is None:
            return None
        kinds: tuple[type, ...] = (BookStale, BookResynced)
        if type(self.strategy).on_trades is not Strategy.on_trades:
            kinds += (TradesEvent,)
        return kinds

    def stop(self, on_stopped: Callable[[], None] | None = None) -> None:
        """Stops quoting and cancels every open order; `on_stopped` runs once none is left."""
        if self.state is BotState.STOPPED:  # already finished (it stopped itself, or failed)
            if on_stopped is not None:
                on_stopped()
            return
        if on_stopped is not None:
            self._on_stopped.append(on_stopped)
        if self.state in (BotState.STOPPING, BotState.STOPPED):
            self._maybe_finish()
            return
        if self.state is BotState.READY:
            self._set_state(BotState.STOPPED)
            self._finish()
            return
        self._set_state(BotState.STOPPING)
        if self._hook is not None:
            self._hook.active = False
        self._journal("stop", open_orders=len(self.open_orders()))
        self._guarded("on_stop", self.strategy.stop)
        self.orders.cancel_all(self.symbol)
        self._log.info("stopping: cancelling %d open orders", len(self.open_orders()))
        self._maybe_finish()

    def kill(self) -> None:
        """Emergency stop: same as stop, without waiting for anything else first."""
        self.audit.append({"ts_ns": self.clock.now_ns(), "action": "kill"})
        self._journal("kill")
        self.stop()

    def open_orders(self):
        return self.orders.open_orders(self.symbol)

    def _maybe_finish(self) -> None:
        if self.state is BotState.STOPPING and not self.open_orders():
            if self.risk.before_finish() or self.state is not BotState.STOPPING:
                return  # a flatten order is out (or its immediate answer finished the stop)
            self._set_state(BotState.STOPPED)
            self._finish()

    def _journal(self, kind: str, **fields: Any) -> bool:
        """One record, one transaction (app/engine/journal/store.py: BotJournal); False only
        for a fill the journal already had."""
        if self.journal is None:
            return True
        return self.journal.write(kind, self.clock.now_ns(), **fields)

    def _intent(self, order) -> None:
        """Called by OwnOrders just before the request leaves: the order is committed to the
        journal first, so a crash between the two leaves a known intent (recovered as
        unknown and resolved by asking the venue)."""
        if self.journal is None:
            return  # (the record's text is built only for a journal: this runs per order)
        self._journal("order", id=order.client_order_id, status=order.status.value, side=order.side.value,
                      type=order.type.value, price=str(self.instrument.ticks_to_price(order.price_ticks)),
                      amount=str(self.instrument.lots_to_amount(order.amount_lots)), filled="0", reason="",
                      symbol=order.symbol, intent=True)

    def _finish(self) -> None:
        self.stop_ns = self.clock.now_ns()
        self._journal("stopped", fills=self.pnl.fills, open_orders=len(self.open_orders()),
                      balances={a: str(b.total) for a, b in self.connector.balances().items()})
        if self.journal is not None:
            self.journal.close()
        self.feed.remove_listener(self._on_event)
        if self._hook is not None:
            self.feed.remove_hook(self._hook)
        self.connector.remove_listener(self._on_event)
        callbacks, self._on_stopped = self._on_stopped, []
        for callback in callbacks:
            callback()

    def update_params(self, changes: dict[str, Any], who: str = "user") -> dict[str, Any]:
        """Validates and applies a live edit (an invalid one raises ConfigError and changes
        nothing); the strategy's on_params_changed runs inside the guard."""
        applied = self.strategy.apply_params(changes)
        if applied:
            entry = {
                "ts_ns": self.clock.now_ns(),
                "action": "update_params",
                "by": who,
                "changes": {k: [str(old), str(new)] for k, (old, new) in applied.items()},
            }
            self.audit.append(entry)
            self._log.info("parameters changed by %s: %s", who, entry["changes"])
            self._journal("params", by=who, changes=entry["changes"])
            self._guarded("on_params_changed", self.strategy.on_params_changed, applied)
        return applied

    # -- risk actions (app/engine/risk_guard.py, app/engine/flatten.py) ----------------------------
    def update_risk(self, changes: dict[str, Any], who: str = "user") -> dict[str, Any]:
        """A live edit of the risk limits, validated by their schema (None turns one off)."""
        applied = self.risk.update(changes, who)
        if applied:
            shown = {k: [str(old), str(new)] for k, (old, new) in applied.items()}
            self.audit.append({"ts_ns": self.clock.now_ns(), "action": "update_risk", "by": who, "changes": shown})
            self._log.info("risk limits changed by %s: %s", who, shown)
            self._journal("risk_params", by=who, changes=shown)
        return applied

    def cancel_all(self, who: str = "user") -> list[str]:
        """Cancels every open order of the bot and keeps it running: its strategy quotes
        afresh on the next market event (Stop or Kill end the quoting)."""
        ids = self.orders.cancel_all(self.symbol)
        self.audit.append({"ts_ns": self.clock.now_ns(), "action": "cancel_all", "by": who, "orders": len(ids)})
        self._log.info("cancel all by %s: %d orders", who, len(ids))
        self._journal("cancel_all", by=who, orders=ids)
        return ids

    def flatten(self, who: str = "user") -> None:
        """Stops the bot and closes its own inventory (spot) or position (derivatives): every
        order cancelled, then one IOC within the risk section's flatten_slippage_bps."""
        if self.state not in (BotState.RUNNING, BotState.STOPPING):
            raise RuntimeError(f"bot {self.name} is {self.state.value}: only a running bot can flatten")
        self.risk.flattener.request(who)
        self.audit.append({"ts_ns": self.clock.now_ns(), "action": "flatten", "by": who})
        self.stop()

    # -- state announcements ------------------------------------------------------------------
    def add_state_listener(self, listener: Callable[["Bot"], None]) -> None:
        """`listener(bot)` runs after every state change (views, the workspace)."""
        self._state_listeners.append(listener)

    def _set_state(self, state: BotState) -> None:
        self.state = state
        for listener in tuple(self._state_listeners):
            try:
                listener(self)
            except Exception:  # a view's fault never stops the bot
                self._log.exception("a state listener failed")

    # -- fault containment ------------------------------------------------------------------
    @property
    def failed(self) -> bool:
        return self.error is not None

    def _guarded(self, where: str, function: Callable[..., Any], *args: Any) -> None:
        """Runs one strategy call; an exception stops the bot instead of propagating."""
        try:
            function(*args)
        except Exception as exc:
            self._fail(where, exc)

    def _guard_timer(self, callback: Callback) -> Callback:
        """What the strategy's clock schedules instead of `callback` (see GuardedClock)."""
        where = f"timer callback {getattr(callback, '__qualname__', None) or type(callback).__name__}"

        def guarded() -> None:
            if self.state is BotState.STOPPED or self.error is not None:
                return  # a failed or finished bot's strategy does nothing more
            try:
                callback()
            except Exception as exc:
                self._fail(where, exc)

        return guarded

    def _fail(self, where: str, exc: Exception) -> None:
        """Records a failure (error line, log and journal with the traceback) and stops the
        bot the normal way: every open order cancelled, finished once none is left."""
        line = " ".join(f"{type(exc).__name__} in {where}: {exc}".split())
        self.errors.append(line)
        first = self.error is None
        if first:
            self.error = line
        self._log.error("%s%s", line, "; stopping the bot" if first else "", exc_info=exc)
        try:
            self._journal("error", where=where, error=line,
                          traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        except Exception:
            self._log.exception("the error could not be written to the journal")
        if self.state is BotState.RUNNING:
            self.stop()

    # -- events ---------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        handler = self._dispatch.get(type(event))
        if handler is None:
            return
        if self.state is BotState.RUNNING or isinstance(event, (OrderUpdated, OrderFilled)):
            try:
                handler(event)
            except Exception as exc:
                self._fail(self._hook_names[type(event)], exc)

    def _on_order(self, event: OrderUpdated) -> None:
        order = event.order
        if not self.orders.owns(order.client_order_id):
            return
        if order.status is OrderStatus.REJECTED:
            self._rejected(order)
        if self.journal is not None:  # the record's text is built only for a journal
            self._journal("order", id=order.client_order_id, status=order.status.value, side=order.side.value,
                          type=order.type.value, price=str(self.instrument.ticks_to_price(order.price_ticks)),
                          amount=str(self.instrument.lots_to_amount(order.amount_lots)),
                          filled=str(self.instrument.lots_to_amount(order.filled_lots)), reason=order.reason,
                          symbol=order.symbol, exchange_order_id=order.exchange_order_id)
        if self.state is BotState.RUNNING:
            self._guarded("on_order", self.strategy.on_order, event)
        elif self.state is BotState.STOPPING and order.status.is_done:
            self._maybe_finish()
        elif self.state is BotState.STOPPING and order.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
            # Open again while stopping: a cancel that never took (its answer lost, the venue
            # says the order still rests) or an order that arrived after the first round.
            self.orders.cancel_order(order.client_order_id)
        if order.status.is_done:
            self.orders.forget(order.client_order_id)

    def _rejected(self, order) -> None:
        self.rejects += 1
        if not self.orders.owns(order.client_order_id):  # refused at once, never owned
            self._journal("order", id=order.client_order_id, status=order.status.value, reason=order.reason)
        self._log.warning("order %s rejected: %s", order.client_order_id, order.reason)

    def _on_stale(self, event: BookStale) -> None:
        """Journaled (a soak or an audit can check no order went out on a stale book), then
        the strategy's hook."""
        self._journal("book_stale", reason=event.reason)
        self.strategy.on_stale(event)

    def _on_resynced(self, event: BookResynced) -> None:
        self._journal("book_resynced")
        self.strategy.on_resynced(event)

    def _on_cancel_rejected_event(self, event: CancelRejected) -> None:
        if self.orders.owns(event.client_order_id):
            self._cancel_rejected(event.client_order_id, event.reason)

    def _cancel_rejected(self, client_order_id: str, reason: str) -> None:
        """A cancel the venue (or this bot's own view) refused: said in the log and journal."""
        self._log.warning("cancel of %s refused: %s", client_order_id, reason)
        self._journal("cancel_rejected", id=client_order_id, reason=reason)

    def _on_funding(self, event: FundingPaid) -> None:
        """Funding on this bot's own position (perpetuals): PnL and journal."""
        if event.symbol != self.symbol or not hasattr(self.pnl, "on_funding"):
            return
        before = self.pnl.funding
        self.pnl.on_funding(event)
        if self.pnl.funding != before:
            self._journal("funding", rate=str(event.rate), mark=str(event.mark),
                          amount=str(self.pnl.funding - before), asset=event.asset)

    def _on_fill(self, event: OrderFilled) -> None:
        if not self.orders.owns(event.fill.client_order_id):
            return
        fill = event.fill
        key = (fill.symbol, fill.trade_id)
        order = event.order  # its state after the fill goes into the journal with the fill
        state = (order.status.value, str(self.instrument.lots_to_amount(order.filled_lots)))
        if key in self._seen_trades or not self._journal("fill", fill=fill, order=state):
            # The same execution reported again (a reconnect, a replay after a restart):
            # never counted twice. The order's state still follows below.
            self._seen_trades.add(key)
            self._log.info("fill %s reported again; counted once", fill.trade_id)
            if self.state is BotState.STOPPING:
                self._maybe_finish()
        else:
            self._seen_trades.add(key)
            self._count_fill(event)
        if event.order.status.is_done:
            self.orders.forget(event.order.client_order_id)

    def _count_fill(self, event: OrderFilled) -> None:
        fill = event.fill
        self.pnl.on_fill(fill)
        self._log.info("fill: %s %s @ %s (%s, fee %s %s)", fill.side.value, fill.amount, fill.price,
                       "maker" if fill.is_maker else "taker", round(fill.fee, 8), fill.fee_asset)
        if self.state is BotState.RUNNING:
            self._guarded("on_fill", self.strategy.on_fill, event)
            self.risk.check_pnl()
        elif self.state is BotState.STOPPING:
            self._maybe_finish()

    # -- reporting ------------------------------------------------------------------------
    def mark_price(self) -> Decimal | None:
        book = self.feed.book
        if book.best_bid_ticks <= 0 or book.best_ask_ticks <= 0:
            return None
        return Decimal(book.best_bid_ticks + book.best_ask_ticks) / 2 * self.instrument.tick_size

    def status(self) -> BotStatus:
        mid = self.mark_price()
        bids = [o.price_ticks for o in self.open_orders() if o.side is Side.BUY]
        asks = [o.price_ticks for o in self.open_orders() if o.side is Side.SELL]
        inst = self.instrument
        return BotStatus(
            name=self.name,
            state=self.state,
            ts_ns=self.clock.now_ns(),
            mid=mid,
            own_bid=inst.ticks_to_price(max(bids)) if bids else None,
            own_ask=inst.ticks_to_price(min(asks)) if asks else None,
            open_orders=len(bids) + len(asks),
            inventory_base=self.pnl.base_delta,
            pnl_quote=self.pnl.pnl(mid) if mid is not None else Decimal(0),
            fills=self.pnl.fills,
            stale=self.feed.book.is_stale,
            error=self.error,
            stopped_by=self.stopped_by,
        )

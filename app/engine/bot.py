"""A bot: one strategy on its markets (one per market role, usually one), with start,
stop and kill.

The runner routes events to the strategy as they happen, keeps the PnL and statistics,
and owns the shutdown rule: stopping cancels every open order and is finished only when
the venue has confirmed that none is left, so a bot never leaves an orphaned order.

A strategy with several market roles (app/interfaces/strategy.py: a maker and a taker
market, say) gets one BotMarket per role (app/engine/bot_market.py): the venue's own-orders
view, feed, book, instrument, PnL and journal. Events of every role's feed and connector
reach the same hooks (the strategy tells them apart with `ctx.role_of(event)`); orders and
fills are counted, journaled (with their market) and cancelled on their own market; the
PnL is valued in one asset; a stop is finished when no role has an open order. A
single-market bot is the same with one role: `connector`, `orders`, `symbol`,
`instrument`, `feed` and `pnl` are the first role's.

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
from decimal import Decimal
from typing import Any, Callable, Mapping

from app.domain import (
    BookResynced,
    BookStale,
    BookUpdated,
    Event,
    OrderFilled,
    OrderStatus,
    OrderUpdated,
    TradesEvent,
    FundingPaid,
    CancelRejected,
)
from app.domain.order import DONE_STATUSES as _DONE, bot_tag
from app.interfaces.clock import Callback, GuardedClock
from app.engine.bot_status import BotState, BotStatus, bot_status  # noqa: F401 - BotStatus: for views
from app.engine.bot_market import BotMarket, Valuation, bind_roles, distinct_sources, journal_other_balances
from app.engine.journal.store import BotJournal, JournalStore
from app.engine.own_orders import OwnOrders
from app.engine.reject_streak import RejectStreak
from app.engine.risk import RiskLimits
from app.engine.risk_guard import RiskGuard
from app.interfaces.venue import Connector
from app.interfaces.strategy import MarketContext, Strategy, StrategyContext

# Enum members as module constants: compiled (setup.py COMPILED_PY), reading an Enum class
# attribute goes through the Enum metaclass's __getattr__ hook every time (Python 3.11).
_OPEN = OrderStatus.OPEN
_PARTIALLY_FILLED = OrderStatus.PARTIALLY_FILLED
_READY = BotState.READY
_REJECTED = OrderStatus.REJECTED
_RUNNING = BotState.RUNNING
_STOPPED = BotState.STOPPED
_STOPPING = BotState.STOPPING

log = logging.getLogger(__name__)


_VENUE_EVENTS = (OrderUpdated, OrderFilled, FundingPaid, CancelRejected)
"""What a bot hears from its venue (not balances: it reads them when it needs them)."""
_ACCEPTED = (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED)  # the venue took the order


class Bot:
    def __init__(self, name: str, connector: Connector | None, symbol: str | None, strategy: Strategy,
                 journal: JournalStore | None = None, risk: RiskLimits | None = None, *,
                 markets: Mapping[str, tuple[Connector, str]] | None = None,
                 conversion: Mapping[str, Decimal] | None = None) -> None:
        """One market: `connector` and `symbol` (the strategy's first role). Several:
        `markets` maps each bound role to (connector, symbol) and `connector`/`symbol` may be
        None; `conversion` gives rates into the valuation asset (app/engine/bot_market.py).
        `risk`: the bot's limits (app/engine/risk.py; None: all off), stated for the first
        role's market; ConfigError if one does not suit it."""
        self.name = name
        self.strategy = strategy
        self._views: dict[int, OwnOrders] = {}  # id(connector) -> the bot's view of it
        self.markets: dict[str, BotMarket] = {}
        for role, (venue, market_symbol) in bind_roles(strategy, connector, symbol, markets).items():
            self.markets[role] = BotMarket.build(role, venue, self._view(venue), market_symbol)
        primary = next(iter(self.markets.values()))
        self._single = primary if len(self.markets) == 1 else None
        self.connector = primary.venue
        # What the strategy trades through; the bot's tag goes into its client order ids.
        # Every order's intent is journaled before its request leaves (see _intent).
        self.orders = primary.orders
        self.symbol = primary.symbol
        self.journal: BotJournal | None = None
        self._seen_trades: set[tuple[str, str, str]] = set()  # (account, symbol, trade id): a fill counts once
        self.instrument = primary.instrument
        self.feed = primary.feed
        self.clock = primary.venue.clock
        self.state = _READY
        self._state_listeners: list[Callable[["Bot"], None]] = []
        self.pnl = primary.pnl  # spot: vs holding; perpetuals: by position (the first role's)
        self.valuation = Valuation(self.markets, conversion)
        self.start_balances = primary.start_balances
        self.start_ns = 0
        self.stop_ns = 0
        self.audit: list[dict[str, Any]] = []
        self.rejects = 0
        self.reject_streak = RejectStreak()  # rejections since the last accepted order
        self.error: str | None = None  # the first failure, one line; the bot stopped because of it
        self.errors: list[str] = []  # every failure caught (a failing on_stop may follow the first)
        self._on_stopped: list[Callable[[], None]] = []
        self._hook = None  # the strategy's compiled market hook while it runs (see _attach_hook)
        self._log = logging.getLogger(f"colibri.bot.{name}")
        self.stopped_by: str | None = None  # why the bot stopped itself (a risk limit), one line
        self.risk = RiskGuard(self, risk)  # per-order limits before sending, PnL limits, flatten
        self._wire_risk()
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

    def _wire_risk(self) -> None:
        """The first role's orders pass the risk guard's per-order check while one of its
        per-order limits is set (without, the check would wave every order through)."""
        self.orders.pre_send_check = self.risk.check_order if self.risk.checks_orders else None

    def _view(self, venue: Connector) -> OwnOrders:
        """The bot's own-orders view of a connector: one per connector, shared by its roles."""
        view = self._views.get(id(venue))
        if view is None:
            # The callbacks name their view (bound below, before any can run): a refusal or
            # an intent is journaled on the account it concerns.
            view = OwnOrders(venue, lambda order: self._rejected(order, view), tag=bot_tag(self.name),
                             on_cancel_rejected=lambda cid, reason: self._cancel_rejected(cid, reason, view))
            self._views[id(venue)] = view
        return view

    @property
    def multi_market(self) -> bool:
        return len(self.markets) > 1

    def attach_journal(self, store: JournalStore) -> None:
        """Journals this bot into `store` (app/engine/journal): before it starts. Each
        account's orders and fills go to that account's rows."""
        if self.state is not _READY:
            raise RuntimeError(f"bot {self.name}: a journal is attached before the bot starts")
        by_view: dict[int, BotJournal] = {}
        for market in self.markets.values():
            journal = by_view.get(id(market.orders))
            if journal is None:
                journal = by_view[id(market.orders)] = store.for_bot(self.name, market.venue, market.symbol)
                view = market.orders
                view.before_send = lambda order, view=view: self._intent(order, view)
            market.journal = journal
        self.journal = next(iter(self.markets.values())).journal

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        if self.state is not _READY:
            raise RuntimeError(f"bot {self.name} is {self.state.value}; it can start only once")
        for market in self.markets.values():
            market.start_balances = market.venue.balances()
        self.start_balances = self.markets[next(iter(self.markets))].start_balances
        self.start_ns = self.clock.now_ns()
        self._set_state(_RUNNING)
        self._hook = self._attach_hook()
        for source in self._sources():
            source.add_listener(self._on_event, self._kinds_of(source))
        ctx = StrategyContext(GuardedClock(self.clock, self._guard_timer), self.orders, self.feed,
                              self.instrument, self._log, self.name,
                              markets={role: MarketContext(role, m.orders, m.feed, m.instrument)
                                       for role, m in self.markets.items()})
        self._log.info("started %s on %s", self.strategy.name,
                       ", ".join(f"{m.account} {m.symbol}" + (f" ({m.role})" if self.multi_market else "")
                                 for m in self.markets.values()))
        extra = {"markets": {role: {"account": m.account, "symbol": m.symbol} for role, m in self.markets.items()}} \
            if self.multi_market else {}
        self._journal("start", strategy=self.strategy.name, account=self.connector.name, symbol=self.symbol,
                      params={k: str(v) for k, v in self.strategy.params.items()},
                      balances={a: str(b.total) for a, b in self.start_balances.items()},
                      risk=self.risk.limits.given(), **extra)
        self._snapshot_other_accounts("start")
        self.risk.start()
        self._guarded("on_start", self.strategy.start, ctx)

    def _sources(self) -> list:
        """Every feed and connector the bot listens to, each once."""
        return distinct_sources(self.markets.values())

    def _kinds_of(self, source) -> tuple[type, ...] | None:  # noqa: ANN001 - a feed or a connector
        """The events the bot's listener needs from a source: a venue's order events, the
        first feed's as `_feed_kinds` says (its compiled hook), any other feed's all."""
        if any(source is market.venue for market in self.markets.values()):
            return _VENUE_EVENTS
        return self._feed_kinds() if source is self.feed else None

    def _snapshot_other_accounts(self, reason: str) -> None:
        """The balances of the accounts beyond the first role's (several markets), journaled."""
        if self.journal is not None and self.multi_market:
            journal_other_balances(self, reason)

    def _attach_hook(self):
        """The strategy's compiled hook on the feed, its Python work inside the guard."""
        hook = self.strategy.market_hook()
        if hook is None:
            return None
        work = hook.callback
        hook.callback = lambda: self._guarded("on_book", work)
        hook.clock = self.clock  # its deadlines are on this clock, not the recording's timestamps
        hook.active = True
        self.feed.add_hook(hook)
        return hook

    def _feed_kinds(self) -> tuple[type, ...] | None:
        """The feed events this bot's listener needs: book updates go to the hook when the
        strategy has one, trades only to a strategy that reacts to them and whose hook does
        not take them itself (`takes_trades`, strategies/quote_gate.pyx)."""
        if self._hook is None:
            return None
        kinds: tuple[type, ...] = (BookStale, BookResynced)
        if type(self.strategy).on_trades is not Strategy.on_trades and not getattr(self._hook, "takes_trades", False):
            kinds += (TradesEvent,)
        return kinds

    def stop(self, on_stopped: Callable[[], None] | None = None) -> None:
        """Stops quoting and cancels every open order; `on_stopped` runs once none is left."""
        if self.state is _STOPPED:  # already finished (it stopped itself, or failed)
            if on_stopped is not None:
                on_stopped()
            return
        if on_stopped is not None:
            self._on_stopped.append(on_stopped)
        if self.state in (_STOPPING, _STOPPED):
            self._maybe_finish()
            return
        if self.state is _READY:
            self._set_state(_STOPPED)
            self._finish()
            return
        self._set_state(_STOPPING)
        if self._hook is not None:
            self._hook.active = False
        self._journal("stop", open_orders=len(self.open_orders()))
        self._guarded("on_stop", self.strategy.stop)
        for market in self.markets.values():
            market.orders.cancel_all(market.symbol)
        self._log.info("stopping: cancelling %d open orders", len(self.open_orders()))
        self._maybe_finish()

    def kill(self) -> None:
        """Emergency stop: same as stop, without waiting for anything else first."""
        self.audit.append({"ts_ns": self.clock.now_ns(), "action": "kill"})
        self._journal("kill")
        self.stop()

    def open_orders(self, role: str | None = None):
        """The bot's open orders on one role's market, or on all of them."""
        if role is not None:
            return self.markets[role].open_orders()
        if not self.multi_market:
            return self.orders.open_orders(self.symbol)
        return [order for market in self.markets.values() for order in market.open_orders()]

    def adopt(self, client_order_id: str) -> None:
        """Takes an order placed before a restart (already adopted by its connector, see
        app/engine/journal/recovery.py) as this bot's own, on the market whose connector
        has it (the first role's when none says so)."""
        for view in self._views.values():
            if view._connector.get_order(client_order_id) is not None:
                view.adopt(client_order_id)
                return
        self.orders.adopt(client_order_id)

    def _maybe_finish(self) -> None:
        if self.state is _STOPPING and not self.open_orders():
            if self.risk.before_finish() or self.state is not _STOPPING:
                return  # a flatten order is out (or its immediate answer finished the stop)
            self._set_state(_STOPPED)
            self._finish()

    def _journal(self, kind: str, **fields: Any) -> bool:
        """One record, one transaction (app/engine/journal/store.py: BotJournal); False only
        for a fill the journal already had."""
        if self.journal is None:
            return True
        return self.journal.write(kind, self.clock.now_ns(), **fields)

    def _journal_on(self, market: BotMarket, kind: str, **fields: Any) -> bool:
        """A record of one market's order or fill, into its account's journal rows; with
        several markets the record names its market (role and account)."""
        if market.journal is None:
            return True
        if self.multi_market:
            fields.update(market=market.role, account=market.account)
        return market.journal.write(kind, self.clock.now_ns(), **fields)

    def _market_of(self, order, view: OwnOrders | None = None) -> BotMarket | None:
        """The market an order of the bot belongs to (its view owns it, its symbol)."""
        if self._single is not None:  # one market (every order event asks: no loop for it)
            market = self._single
            ours = (market.orders is view) if view is not None else market.orders.owns(order.client_order_id)
            return market if ours else None
        fallback = None
        for market in self.markets.values():
            if view is not None and market.orders is not view:
                continue
            if view is None and not market.orders.owns(order.client_order_id):
                continue
            if market.symbol == order.symbol:
                return market
            fallback = fallback or market
        return fallback

    def _intent(self, order, view: OwnOrders | None = None) -> None:
        """Called by OwnOrders just before the request leaves: the order is committed to the
        journal first, so a crash between the two leaves a known intent (recovered as
        unknown and resolved by asking the venue)."""
        if self.journal is None:
            return  # (the record's text is built only for a journal: this runs per order)
        market = self._market_of(order, view or self.orders) or self.markets[next(iter(self.markets))]
        inst = market.venue.instruments.get(order.symbol, market.instrument)
        self._journal_on(market, "order", id=order.client_order_id, status=order.status.value, side=order.side.value,
                         type=order.type.value, price=str(inst.ticks_to_price(order.price_ticks)),
                         amount=str(inst.lots_to_amount(order.amount_lots)), filled="0", reason="",
                         symbol=order.symbol, intent=True)

    def _finish(self) -> None:
        self.stop_ns = self.clock.now_ns()
        for market in self.markets.values():
            market.freeze()
        pnl = self.pnl_value()  # the frozen figure the bots table shows; the history after a restart shows it again
        self._journal("stopped", fills=sum(m.pnl.fills for m in self.markets.values()),
                      open_orders=len(self.open_orders()), pnl=None if pnl is None else str(pnl),
                      balances={a: str(b.total) for a, b in self.markets[next(iter(self.markets))].balances().items()})
        self._snapshot_other_accounts("stopped")
        for market in self.markets.values():
            if market.journal is not None:
                market.journal.close()
        for source in self._sources():
            source.remove_listener(self._on_event)
        if self._hook is not None:
            self.feed.remove_hook(self._hook)
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
        self._wire_risk()
        if applied:
            shown = {k: [str(old), str(new)] for k, (old, new) in applied.items()}
            self.audit.append({"ts_ns": self.clock.now_ns(), "action": "update_risk", "by": who, "changes": shown})
            self._log.info("risk limits changed by %s: %s", who, shown)
            self._journal("risk_params", by=who, changes=shown)
        return applied

    def cancel_all(self, who: str = "user") -> list[str]:
        """Cancels every open order of the bot and keeps it running: its strategy quotes
        afresh on the next market event (Stop or Kill end the quoting)."""
        ids = [cid for market in self.markets.values() for cid in market.orders.cancel_all(market.symbol)]
        self.audit.append({"ts_ns": self.clock.now_ns(), "action": "cancel_all", "by": who, "orders": len(ids)})
        self._log.info("cancel all by %s: %d orders", who, len(ids))
        self._journal("cancel_all", by=who, orders=ids)
        return ids

    def flatten(self, who: str = "user") -> None:
        """Stops the bot and closes its own inventory (spot) or position (derivatives): every
        order cancelled, then one IOC within the risk section's flatten_slippage_bps."""
        if self.state not in (_RUNNING, _STOPPING):
            raise RuntimeError(f"bot {self.name} is {self.state.value}: only a running bot can flatten")
        if len(self.markets) > 1:  # its markets hedge each other: closing one would open exposure
            raise RuntimeError(f"bot {self.name} trades {len(self.markets)} markets: flatten closes one market's "
                               "position and would undo its hedge; stop it, then close positions per account")
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
            if self.state is _STOPPED or self.error is not None:
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
        if self.state is _RUNNING:
            self.stop()

    # -- events ---------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        handler = self._dispatch.get(type(event))
        if handler is None:
            return
        if self.state is _RUNNING or isinstance(event, (OrderUpdated, OrderFilled)):
            try:
                handler(event)
            except Exception as exc:
                self._fail(self._hook_names[type(event)], exc)

    def _on_order(self, event: OrderUpdated) -> None:
        order = event.order
        single = self._single
        if single is not None:  # one market (the usual case, once per order event: no loop, no call)
            market = single if single.orders.owns(order.client_order_id) else None
        else:
            market = self._market_of(order)
        if market is None:
            return
        status = order.status
        if status is _REJECTED:
            self._rejected(order, market.orders)
        elif status in _ACCEPTED and self.reject_streak.count:
            self.reject_streak.accepted()
        if market.journal is not None:  # the record's text is built only for a journal
            inst = market.instrument
            self._journal_on(market, "order", id=order.client_order_id, status=order.status.value,
                             side=order.side.value, type=order.type.value,
                             price=str(inst.ticks_to_price(order.price_ticks)),
                             amount=str(inst.lots_to_amount(order.amount_lots)),
                             filled=str(inst.lots_to_amount(order.filled_lots)), reason=order.reason,
                             symbol=order.symbol, exchange_order_id=order.exchange_order_id)
        state = self.state
        if state is _RUNNING:
            try:  # as _guarded does, without its call (this runs for every order event)
                self.strategy.on_order(event)
            except Exception as exc:
                self._fail("on_order", exc)
        elif state is _STOPPING and order.status in _DONE:
            if self.strategy.acts_while_stopping:
                self._guarded("on_order", self.strategy.on_order, event)
            self._maybe_finish()
        elif state is _STOPPING and order.status in (_OPEN, _PARTIALLY_FILLED):
            # Open again while stopping: a cancel that never took (its answer lost, the venue
            # says the order still rests) or an order that arrived after the first round.
            market.orders.cancel_order(order.client_order_id)
        if order.status in _DONE:
            market.orders.forget(order.client_order_id)

    def _rejected(self, order, view: OwnOrders | None = None) -> None:
        self.rejects += 1
        view = view or self.orders
        if not view.owns(order.client_order_id):  # refused at once, never owned
            market = self._market_of(order, view)
            if market is not None:
                self._journal_on(market, "order", id=order.client_order_id, status=order.status.value,
                                 reason=order.reason)
        self._log.warning("order %s rejected: %s", order.client_order_id, order.reason)
        if self.reject_streak.rejected(order.reason):
            self._log.warning("%s places nothing: its last %d orders were all rejected (last reason: %s); "
                              "check the order size against the market's lot and minimum notional, the "
                              "balance and the risk limits", self.name, self.reject_streak.count, order.reason)

    def _on_stale(self, event: BookStale) -> None:
        """Journaled (a soak or an audit can check no order went out on a stale book), then
        the strategy's hook."""
        self._journal("book_stale", reason=event.reason)
        self.strategy.on_stale(event)

    def _on_resynced(self, event: BookResynced) -> None:
        self._journal("book_resynced")
        self.strategy.on_resynced(event)

    def _on_cancel_rejected_event(self, event: CancelRejected) -> None:
        view = next((v for v in self._views.values() if v.owns(event.client_order_id)), None)
        if view is not None:
            self._cancel_rejected(event.client_order_id, event.reason, view)

    def _cancel_rejected(self, client_order_id: str, reason: str, view: OwnOrders | None = None) -> None:
        """A cancel the venue (or this bot's own view) refused: said in the log and journal."""
        self._log.warning("cancel of %s refused: %s", client_order_id, reason)
        view = view or self.orders
        market = next(m for m in self.markets.values() if m.orders is view)
        self._journal_on(market, "cancel_rejected", id=client_order_id, reason=reason)

    def _on_funding(self, event: FundingPaid) -> None:
        """Funding on this bot's own position (perpetuals): PnL and journal."""
        candidates = [m for m in self.markets.values() if m.symbol == event.symbol]
        if len(candidates) > 1:  # one symbol on two venues: the paying one
            candidates = [m for m in candidates if event.source in (m.account, m.feed.name)]
        for market in candidates:
            pnl = market.pnl
            if not hasattr(pnl, "on_funding"):
                continue
            before = pnl.funding
            pnl.on_funding(event)
            if pnl.funding != before:
                self._journal_on(market, "funding", rate=str(event.rate), mark=str(event.mark),
                                 amount=str(pnl.funding - before), asset=event.asset)

    def _on_fill(self, event: OrderFilled) -> None:
        market = self._market_of(event.order)
        if market is None or not market.orders.owns(event.fill.client_order_id):
            return
        fill = event.fill
        key = (market.account, fill.symbol, fill.trade_id)
        order = event.order  # its state after the fill goes into the journal with the fill
        if key in self._seen_trades or (market.journal is not None and not self._journal_on(
                market, "fill", fill=fill,
                order=(order.status.value, str(market.instrument.lots_to_amount(order.filled_lots))))):
            # The same execution reported again (a reconnect, a replay after a restart):
            # never counted twice. The order's state still follows below.
            self._seen_trades.add(key)
            self._log.info("fill %s reported again; counted once", fill.trade_id)
            if self.state is _STOPPING:
                self._maybe_finish()
        else:
            self._seen_trades.add(key)
            self._count_fill(event, market)
        if order.status in _DONE:
            market.orders.forget(order.client_order_id)

    def _count_fill(self, event: OrderFilled, market: BotMarket | None = None) -> None:
        fill = event.fill
        (market or self.markets[next(iter(self.markets))]).pnl.on_fill(fill)
        if self._log.isEnabledFor(logging.INFO):  # (its arguments cost more than a disabled line)
            self._log.info("fill: %s %s @ %s (%s, fee %s %s)", fill.side.value, fill.amount, fill.price,
                           "maker" if fill.is_maker else "taker", round(fill.fee, 8), fill.fee_asset)
        if self.state is _RUNNING:
            self._guarded("on_fill", self.strategy.on_fill, event)
            self.risk.check_pnl()
        elif self.state is _STOPPING:
            if self.strategy.acts_while_stopping:  # a late fill is hedged before the stop ends
                self._guarded("on_fill", self.strategy.on_fill, event)
            self._maybe_finish()

    # -- reporting ------------------------------------------------------------------------
    def mark_price(self) -> Decimal | None:
        """The first role's mid."""
        return self.markets[next(iter(self.markets))].mark_price()

    def pnl_value(self) -> Decimal | None:
        """The bot's PnL in its valuation asset (`valuation.asset`: the first role's PnL
        asset) over every market; None while a market (or a rate) has no price."""
        if not self.multi_market:
            mark = self.mark_price()
            return self.pnl.pnl(mark) if mark is not None else None
        return self.valuation.total_pnl()

    def net_inventory(self) -> Decimal:
        """The inventory change in the first role's base asset over the markets trading it
        (a hedged cross-market bot: close to zero)."""
        base = self.instrument.base
        return sum((m.pnl.base_delta for m in self.markets.values() if m.instrument.base == base), Decimal(0))

    def status(self) -> BotStatus:
        return bot_status(self)

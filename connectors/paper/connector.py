"""Paper trading: a virtual account that trades against any MarketFeed.

The feed may be the demo exchange, a recording replay or a live exchange: the connector
only reads its book and public trades, so the same strategy code can be tried on all of
them before real money is involved. Realism is the point (see queue_model.pyx):

* orders take `order_latency_ns` to reach the simulated matching and cancels take
  `cancel_latency_ns`; fills can happen while a cancel is in flight, as on a real venue;
* taker orders (market, IOC, crossing limit) walk the book at each level's price, pay the
  taker fee, and do not reuse volume another paper order already took from the same book
  state;
* resting orders join the queue behind the displayed volume and fill (maker fee) only when
  public trades reach them;
* nothing trades and nothing new is accepted while the feed's book is stale.

Events: OrderUpdated for every state change except fills; OrderFilled for each execution
(one per book level for a taker walk; the order inside already shows its new status);
BalancesUpdated after every change of totals or locks.

Limits, on purpose: own orders do not change the public book (the recording cannot react
to them), there is no self-trade prevention between own taker and own resting orders, and
a market order carries a protection price (the walk's worst price at submission plus
MARKET_LOCK_MARGIN): it never fills beyond it, which is also what its lock was sized for.
"""
from __future__ import annotations

import itertools
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from app.domain import (
    BookResynced,
    ConnectionState,
    Event,
    Order,
    OrderEvent,
    OrderStatus,
    OrderType,
    OrderUpdated,
    Side,
)
from app.domain.ledger import InsufficientBalance
from app.domain.order import DONE_STATUSES as _DONE
from app.domain.validation import check_order
from app.interfaces.clock import Clock, TimerHandle
from app.interfaces.venue import MarketFeed
from connectors.paper.liquidity import LiquidityTaker
from connectors.paper.queue_model import QueueModel
from connectors.simulated import SimulatedAccount

# Enum members as module constants: compiled (setup.py COMPILED_PY), reading an Enum class
# attribute goes through the Enum metaclass's __getattr__ hook every time (Python 3.11).
_BUY = Side.BUY
_CANCELLED = OrderStatus.CANCELLED
_FAILED = OrderStatus.FAILED
_IOC = OrderType.IOC
_LIMIT_MAKER = OrderType.LIMIT_MAKER
_MARKET = OrderType.MARKET
_OPEN = OrderStatus.OPEN
_PENDING_CANCEL = OrderStatus.PENDING_CANCEL
_PENDING_CREATE = OrderStatus.PENDING_CREATE
_REJECTED = OrderStatus.REJECTED

MS = 1_000_000


class PaperConnector(SimulatedAccount):
    """A simulated account on one MarketFeed's instrument.

    The account side (ledger, orders, fill settlement, events) is SimulatedAccount's, shared
    with the demo exchange; this class adds the latencies, the book walk and the queue model.
    """

    MARKET_LOCK_MARGIN = Decimal("0.01")
    """Market orders lock (and are protected) at the submission walk's worst price +-1%."""

    def __init__(
        self,
        feed: MarketFeed,
        balances: dict[str, Decimal | str],
        clock: Clock | None = None,
        order_latency_ns: int = 20 * MS,
        cancel_latency_ns: int = 20 * MS,
        name: str = "paper",
        leverage: Decimal | int = 10,
    ) -> None:
        if order_latency_ns < 0 or cancel_latency_ns < 0:
            raise ValueError("latencies cannot be negative")
        super().__init__(name, clock if clock is not None else feed.clock, feed.instrument, balances, leverage)
        self.order_latency_ns = int(order_latency_ns)
        self.cancel_latency_ns = int(cancel_latency_ns)
        self._feed = feed
        self._model = QueueModel()
        self._taker = LiquidityTaker()
        self._oid_of: dict[str, int] = {}
        self._order_of_oid: dict[int, Order] = {}
        self._oids = itertools.count(1)
        self._creates: dict[str, TimerHandle] = {}
        self._cancels: dict[str, TimerHandle] = {}

    # -- Connector: read side ---------------------------------------------------------------
    def queue_ahead_lots(self, client_order_id: str) -> int | None:
        oid = self._oid_of.get(client_order_id)
        return None if oid is None else self._model.queue_ahead(oid)

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Listens to the feed. The feed belongs to its owner and is not started here."""
        if not self._running:
            # Book updates and trades reach the queue model as a compiled hook (no Python
            # per market message on a replay); the connector itself hears the resyncs.
            self._model.attach(self._feed.book, self._taker, self._apply_model_fills)
            self._feed.add_hook(self._model)
            self._feed.add_listener(self._on_event, (BookResynced,))
            self._running = True
            self._set_connection(ConnectionState.LIVE)
            if not self._feed.is_stale:
                self._model.reset_levels(self._feed.book)

    def stop(self) -> None:
        """Stops listening and cancels pending timers; places and fills nothing.

        Orders still travelling to the market fail (they never arrived); cancels in flight
        complete at once. Resting orders stay resting and resume after `start()`.
        """
        if not self._running:
            return
        self._running = False
        self._set_connection(ConnectionState.DOWN, "stopped")
        self._feed.remove_listener(self._on_event)
        self._feed.remove_hook(self._model)
        now = self.clock.now_ns()
        for cid, handle in list(self._creates.items()):
            handle.cancel()
            order = self._orders[cid]
            if order.status not in _DONE:
                self._finish(order, _FAILED, now, "connector stopped before the order reached the market")
        self._creates.clear()
        for cid, handle in list(self._cancels.items()):
            handle.cancel()
            order = self._orders[cid]
            if order.status not in _DONE:
                self._finish(order, _CANCELLED, now, "cancelled (connector stopped)")
        self._cancels.clear()

    # -- orders -----------------------------------------------------------------------------
    def place_order(
        self, symbol: str, side: Side, order_type: OrderType, amount_lots: int, price_ticks: int = 0,
        *, client_order_id: str | None = None,
    ) -> Order:
        now = self.clock.now_ns()
        order = self._new_order(symbol, side, order_type, amount_lots, price_ticks, client_order_id, now)
        if order.client_order_id in self._open:  # a caller's id still in use: refused, the live one untouched
            order.apply(OrderEvent(order.client_order_id, _REJECTED, now,
                                   reason=f"client order id {order.client_order_id} is in use by a live order"))
            self._emit(OrderUpdated(self.name, order, now))
            return order
        self._track(order)
        reason, lock_ticks = self._validate(order)
        if reason is None:
            try:
                self._ledger.lock_for_order(order, self.instrument, lock_ticks)
            except InsufficientBalance as exc:
                reason = str(exc)
        if reason is not None:
            self._finish(order, _REJECTED, now, reason, balances_changed=False)
            return order
        self._emit(OrderUpdated(self.name, order, now))
        self._emit_balances(now)
        cid = order.client_order_id
        self._creates[cid] = self.clock.call_later(self.order_latency_ns, lambda: self._arrive(order, lock_ticks))
        return order

    def cancel_order(self, client_order_id: str) -> None:
        refusal = self._cancel_refusal(client_order_id)
        if refusal is not None:
            if refusal:  # "" means a cancel is already on its way: nothing to say
                self._reject_cancel(client_order_id, refusal)
            return
        order = self._orders[client_order_id]
        now = self.clock.now_ns()
        self._move(order, _PENDING_CANCEL, now)
        self._cancels[client_order_id] = self.clock.call_later(
            self.cancel_latency_ns, lambda: self._cancel_arrives(order)
        )

    # -- validation at submission -----------------------------------------------------------
    def _validate(self, order: Order) -> tuple[str | None, int]:
        """Why the order is refused now (or None), and the price its lock is sized for."""
        if not self._running:
            return f"{self.name} connector is not running (call start())", 0
        inst = self.instrument
        if order.symbol != inst.symbol:
            return f"unknown symbol {order.symbol!r} (paper trades {inst.symbol})", 0
        if self._feed.is_stale:
            return "market data is stale", 0
        reason = check_order(inst, order.type, order.amount_lots, order.price_ticks)
        if reason is not None:
            return reason, 0
        if order.type is not _MARKET:
            return None, order.price_ticks
        consumed = -order.side.sign
        plan = self._taker.plan(self._feed.book, consumed, order.amount_lots)
        got = sum(lots for _, lots in plan)
        if got < order.amount_lots:
            return (
                f"insufficient book depth: {inst.lots_to_amount(got)} {inst.base} available "
                f"for a market {order.side.value} of {inst.lots_to_amount(order.amount_lots)} {inst.base}"
            ), 0
        notional = sum(inst.notional(p, q) for p, q in plan)
        if notional < inst.min_notional:
            return (
                f"below min notional: {notional.normalize()} {inst.quote} at the current book "
                f"< {inst.min_notional} {inst.quote}"
            ), 0
        worst = Decimal(plan[-1][0])
        if order.side is _BUY:
            protect = int((worst * (1 + self.MARKET_LOCK_MARGIN)).to_integral_value(ROUND_CEILING))
        else:
            protect = max(1, int((worst * (1 - self.MARKET_LOCK_MARGIN)).to_integral_value(ROUND_FLOOR)))
        return None, protect

    # -- the simulated matching -------------------------------------------------------------
    def _arrive(self, order: Order, limit_ticks: int) -> None:
        """The order reaches the market `order_latency_ns` after submission."""
        self._creates.pop(order.client_order_id, None)
        if order.status in _DONE:
            return  # its cancel got there first
        now = self.clock.now_ns()
        if self._feed.is_stale:
            self._refuse_at_market(order, now, "market data is stale")
            return
        book = self._feed.book
        own_side = 1 if order.side is _BUY else -1
        consumed = -own_side
        if order.type is _LIMIT_MAKER:
            best = book.best_ask_ticks if order.side is _BUY else book.best_bid_ticks
            if best and (order.price_ticks - best) * own_side >= 0:
                self._refuse_at_market(order, now, "post-only order would cross")
                return
        else:
            plan = self._taker.plan(book, consumed, order.remaining_lots, limit_ticks)
            if plan:
                self._taker.commit(consumed, plan)
                self._model.taker_used = True
                for price, lots in plan:
                    self._settle_fill(order, price, lots, is_maker=False, now=now)
            if order.status in _DONE:
                self._emit_balances(now)
                return
            if order.type in (_MARKET, _IOC):
                why = (
                    "IOC remainder cancelled: no more liquidity at the limit price"
                    if order.type is _IOC
                    else "market order remainder cancelled: no more liquidity within the protection price"
                )
                self._finish(order, _CANCELLED, now, why)
                return
        self._rest(order, now)
        self._emit_balances(now)

    def _rest(self, order: Order, now: int) -> None:
        """The remainder of a limit order joins the queue behind the displayed volume."""
        oid = next(self._oids)
        self._oid_of[order.client_order_id] = oid
        self._order_of_oid[oid] = order
        side = 1 if order.side is _BUY else -1
        ahead = int(self._feed.book.volume_at(side, order.price_ticks))
        self._model.add(oid, side, order.price_ticks, order.remaining_lots, ahead)
        if order.status is _PENDING_CREATE:
            self._move(order, _OPEN, now)

    def _refuse_at_market(self, order: Order, now: int, reason: str) -> None:
        # A cancel may be in flight already; then the order simply ends cancelled.
        status = _REJECTED if order.status is _PENDING_CREATE else _CANCELLED
        self._finish(order, status, now, reason)

    def _cancel_arrives(self, order: Order) -> None:
        self._cancels.pop(order.client_order_id, None)
        if order.status in _DONE:
            return  # filled (or refused) while the cancel travelled: the cancel fails
        self._finish(order, _CANCELLED, self.clock.now_ns(), "cancelled")

    def _on_retire(self, order: Order) -> None:
        oid = self._oid_of.pop(order.client_order_id, None)
        if oid is not None:
            self._model.remove(oid)
            self._order_of_oid.pop(oid, None)

    # -- market events ----------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        """Resyncs only: book updates and trades go to the queue model's hook."""
        if isinstance(event, BookResynced):
            self._taker.clear()
            self._model.reset_levels(self._feed.book)

    def _apply_model_fills(self, fills) -> None:
        now = self.clock.now_ns()
        for oid, price, lots in zip(fills["oid"].tolist(), fills["price_ticks"].tolist(), fills["lots"].tolist()):
            order = self._order_of_oid.get(oid)
            if order is None or order.status in _DONE:
                continue
            self._settle_fill(order, price, lots, is_maker=True, now=now)
        self._emit_balances(now)

"""What every market-data feed and trading connector offers the engine, strategies and UI.

Connectors never block: `place_order` validates locally and returns the order in
pending-create (or rejected); the exchange's answer arrives later as an event. This is
the same for the demo exchange, paper trading and live ccxt exchanges, so a strategy
cannot tell them apart.
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from decimal import Decimal
from typing import TYPE_CHECKING, Callable, Iterable

from app.domain import (
    Balance,
    CancelRejected,
    ConnectionChanged,
    ConnectionState,
    Event,
    Fill,
    Instrument,
    Order,
    OrderType,
    Side,
)
from app.interfaces.clock import Clock
from app.interfaces.market_hook import HOOK_KINDS

if TYPE_CHECKING:  # the compiled book is imported lazily by implementations
    import numpy as np

    from app.book.orderbook import OrderBook
    from app.interfaces.market_hook import MarketHook

Listener = Callable[[Event], None]

log = logging.getLogger(__name__)


class EventSource:
    """Synchronous fan-out: listeners run in the publisher's callback, in order.

    A listener may name the event types it wants (`kinds`); a publisher can then ask
    `wants(kind)` and skip building events nobody listens to (the compiled replay loop
    does, for book and trade events when only MarketHooks want them).

    A listener that raises is logged with its traceback and skipped: the other listeners
    still get the event and the publisher (a venue, a feed, the clock behind them) goes
    on, so one faulty view or bot never stops a market. Bots contain their strategy's
    errors themselves (app/engine/bot.py) and stop; this is the last line of defence.
    """

    def __init__(self) -> None:
        self._listeners: list[tuple[Listener, frozenset[type] | None]] = []
        self._targets: dict[type, tuple[Listener, ...]] = {}

    def add_listener(self, listener: Listener, kinds: Iterable[type] | None = None) -> None:
        """`listener(event)` for every event, or only for events of the given types."""
        if all(known != listener for known, _ in self._listeners):
            self._listeners.append((listener, None if kinds is None else frozenset(kinds)))
            self._targets = {}

    def remove_listener(self, listener: Listener) -> None:
        self._listeners = [(known, k) for known, k in self._listeners if known != listener]
        self._targets = {}

    def wants(self, kind: type) -> bool:
        """Whether any listener takes events of this type."""
        return bool(self._listeners_of(kind))

    def _listeners_of(self, kind: type) -> tuple[Listener, ...]:
        targets = self._targets.get(kind)
        if targets is None:
            targets = self._targets[kind] = tuple(
                listener for listener, kinds in self._listeners if kinds is None or kind in kinds)
        return targets

    def _emit(self, event: Event) -> None:
        targets = self._targets.get(type(event))
        if targets is None:
            targets = self._listeners_of(type(event))
        for listener in targets:
            try:
                listener(event)
            except Exception:
                log.exception("%s: a listener (%s) failed on %s; the others go on",
                              getattr(self, "name", type(self).__name__),
                              getattr(listener, "__qualname__", repr(listener)), type(event).__name__)


class MarketFeed(EventSource, ABC):
    """Market data for one instrument: an L2 book kept current plus public trades.

    Publishes BookUpdated (once per applied message or batch, never per level),
    TradesEvent (numpy batches), BookStale and BookResynced.
    """

    name: str
    instrument: Instrument
    clock: Clock

    @property
    @abstractmethod
    def book(self) -> "OrderBook": ...

    @property
    def is_stale(self) -> bool:
        return self.book.is_stale

    def add_hook(self, hook: "MarketHook") -> None:
        """A compiled market-data listener (app/interfaces/market_hook.pyx). This default
        calls it through an ordinary listener; a feed with a compiled loop calls it
        directly, without building BookUpdated and TradesEvent objects for it."""
        self.add_listener(hook.listener, HOOK_KINDS)

    def remove_hook(self, hook: "MarketHook") -> None:
        self.remove_listener(hook.listener)

    async def fetch_candles(self, interval_s: int, since_ns: int | None = None,
                            limit: int = 1000) -> "np.ndarray":
        """The market's candles of `interval_s` before now, oldest first (app/data/candles.py:
        CANDLE_DTYPE), so a chart opened late still shows the past. A venue that knows it
        (an exchange's klines, a recording) overrides this; by default there is none, and
        NoCandleHistory says why in one line, as it does for every failure."""
        from app.data.candles import NoCandleHistory

        raise NoCandleHistory(f"{self.name} keeps no candle history")

    @abstractmethod
    def start(self) -> None:
        """Schedules the feed's work on its clock."""

    @abstractmethod
    def stop(self) -> None: ...


class RejectedOrder(Exception):
    """Raised by validation helpers; connectors turn it into a REJECTED order with the reason."""


class Connector(EventSource, ABC):
    """A trading account on one venue: the contract every venue meets (demo, paper, ccxt).

    - Life cycle: `await connect()` / `await disconnect()` (simulated venues simply start and
      stop); `start()`/`stop()` remain for venues that need no I/O. The connection state
      (CONNECTING, LIVE, RECONNECTING, DOWN) is announced as ConnectionChanged events and
      read as `connection_state`; `health()` says how the link is doing.
    - Instruments: `await load_instruments()` (a live venue fetches them), then `instruments`.
    - Orders: `place_order` returns at once (pending-create, or rejected with a reason);
      the venue's answers come as OrderUpdated (with the immutable OrderEvent that moved
      the order) and OrderFilled. An order whose answer was lost is UNKNOWN until a query
      resolves it. Client order ids are ours (app/domain/order.py: new_client_order_id
      encodes the bot and the session) and the venue keeps them.
    - Errors: a cancel that cannot be done is a CancelRejected event with the reason, on
      every venue; nothing raises for a venue's refusal.
    """

    name: str
    clock: Clock
    _connection: ConnectionState = ConnectionState.DOWN
    is_live = False  # talks to an exchange over the network (sockets to close, money at stake)

    @property
    @abstractmethod
    def instruments(self) -> dict[str, Instrument]: ...

    @abstractmethod
    def feed(self, symbol: str) -> MarketFeed: ...

    @abstractmethod
    def balances(self) -> dict[str, Balance]:
        """A copy of the balances (total, locked, available) per asset."""

    @abstractmethod
    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Orders that may still fill: pending-create, open, partially filled, pending-cancel, unknown."""

    @abstractmethod
    def get_order(self, client_order_id: str) -> Order | None: ...

    @abstractmethod
    def place_order(
        self, symbol: str, side: Side, order_type: OrderType, amount_lots: int, price_ticks: int = 0,
        *, client_order_id: str | None = None,
    ) -> Order:
        """Validates and submits; returns at once (pending-create, or rejected with a reason).
        `client_order_id`: the caller's id (a bot's, encoding it); a new one otherwise."""

    @abstractmethod
    def cancel_order(self, client_order_id: str) -> None:
        """Requests a cancel; the result arrives as an OrderUpdated or CancelRejected event."""

    def cancel_all(self, symbol: str | None = None) -> list[str]:
        ids = [o.client_order_id for o in self.open_orders(symbol) if o.status.value != "pending_cancel"]
        for client_order_id in ids:
            self.cancel_order(client_order_id)
        return ids

    def _reject_cancel(self, client_order_id: str, reason: str) -> None:
        """The one way a venue refuses a cancel (see the class docstring)."""
        self._emit(CancelRejected(self.name, client_order_id, reason, self.clock.now_ns()))

    def queue_ahead_lots(self, client_order_id: str) -> int | None:
        """Estimated volume ahead of a resting order at its price, when the venue can tell."""
        return None

    def position(self, symbol: str) -> object | None:
        """The account's position in a derivatives market (None for spot or unknown)."""
        return None

    def leverage(self, symbol: str) -> "Decimal | None":
        """The leverage the venue applies to a derivatives market's margin (None for spot or
        when the venue does not say), so a strategy can show it and check its own against it."""
        return None

    # -- connection -------------------------------------------------------------------------
    @property
    def connection_state(self) -> ConnectionState:
        return self._connection

    def _set_connection(self, state: ConnectionState, reason: str = "") -> None:
        if state is not self._connection:
            self._connection = state
            self._emit(ConnectionChanged(self.name, state, self.clock.now_ns(), reason))

    async def connect(self) -> None:
        """Connects (a live venue: markets, streams, reconciliation); simulated venues start."""
        self._set_connection(ConnectionState.CONNECTING)
        self.start()
        self._set_connection(ConnectionState.LIVE)

    async def disconnect(self) -> None:
        self.stop()
        self._set_connection(ConnectionState.DOWN, "disconnected")

    async def load_instruments(self) -> dict[str, Instrument]:
        return self.instruments

    async def query_order(self, client_order_id: str, symbol: str | None = None) -> Order | None:
        """What the venue itself says of an order now (a live venue asks it; None: it has no
        such order). Recovery and UNKNOWN orders are resolved with this."""
        return self.get_order(client_order_id)

    async def query_open_orders(self, symbol: str | None = None) -> list[Order]:
        """The venue's own list of open orders (a live venue asks it), for reconciliation."""
        return self.open_orders(symbol)

    async def query_fills(self, client_order_id: str, symbol: str, exchange_order_id: str | None = None) -> list[Fill]:
        """The venue's own trades of one order (recovery journals those made while Colibri was
        not running); venues that keep nothing across restarts have none to give."""
        return []

    def adopt_order(self, order: Order) -> None:
        """Takes over an order found open on the venue (placed before a restart) so its
        events flow again; venues that keep no state across restarts have nothing to adopt."""
        raise NotImplementedError(f"{self.name} keeps no orders across restarts")

    @property
    def keeps_orders_across_restarts(self) -> bool:
        """Whether this venue's orders (and trade ids) outlive this process: true for a venue
        that can adopt orders (a live exchange, the rehearsal exchange), false for the
        in-process ones (demo, paper), whose trade ids start again with every run. The
        journal keys fills by it (app/engine/journal/store.py: account_epoch)."""
        return type(self).adopt_order is not Connector.adopt_order

    def health(self) -> dict[str, object]:
        """For the health dock and logs: state, latency, reconnects, rate budget used."""
        return {
            "state": self._connection.value,
            "latency_ms": None,
            "reconnects": 0,
            "rate_budget_used": 0.0,
            "open_orders": len(self.open_orders()),
        }

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

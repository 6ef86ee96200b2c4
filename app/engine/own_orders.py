"""The connector as one bot sees it: only the orders that bot placed.

Several bots may trade the same account and symbol; without this view one bot's
reconciler would cancel another's quotes, a stop would cancel orders it does not own,
and PnL would count fills twice.

It also keeps a bot from trading with itself, on every venue: a buy at or above the bot's
own lowest open ask (or a sell at or below its own highest open bid) is refused before it
is sent, as a REJECTED order with the reason, through the same path as a venue's
immediate refusal. Only the bot's own open orders are looked at, and not those already
pending cancel: their cancel went out before the new order, and a venue handles one
account's requests in the order they arrive, so they are gone before it (counting them
would refuse every requote that follows a fast move until the cancels are confirmed).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Callable

from app.domain import Balance, Instrument, Order, OrderEvent, OrderStatus, OrderType, Side, new_client_order_id
from app.domain.order import DONE_STATUSES as _DONE, NO_BOT_TAG
from app.interfaces.venue import Connector, MarketFeed

# Enum members as module constants: compiled (setup.py COMPILED_PY), reading an Enum class
# attribute goes through the Enum metaclass's __getattr__ hook every time (Python 3.11).
_BUY = Side.BUY
_MARKET = OrderType.MARKET
_PENDING_CANCEL = OrderStatus.PENDING_CANCEL
_REJECTED = OrderStatus.REJECTED


class OwnOrders:
    """`tag` goes into every client order id (app/domain/order.py), so the bot's orders are
    recognisable on the venue and after a restart; `on_cancel_rejected(id, reason)` hears
    of a cancel of an order this bot does not own (the venues' one error contract)."""

    def __init__(self, connector: Connector, on_rejected: Callable[[Order], None] | None = None, *,
                 tag: str = NO_BOT_TAG, on_cancel_rejected: Callable[[str, str], None] | None = None,
                 before_send: Callable[[Order], None] | None = None) -> None:
        """`before_send(order)` sees each order (pending-create) just before its request
        leaves: the bot commits the intent to its journal there (set while it has one)."""
        self._connector = connector
        self.before_send = before_send
        self._on_rejected = on_rejected
        self._on_cancel_rejected = on_cancel_rejected
        self.tag = tag
        self.pre_send_check: Callable[[Order], str | None] | None = None
        """The bot's risk limits (app/engine/risk_guard.py): why an order may not leave, or
        None. A refusal ends the order REJECTED with the reason, like a self-cross. None
        while no per-order limit is set (the request is then not even built as an Order)."""
        self._ids: set[str] = set()
        self.name = connector.name
        self.clock = connector.clock

    # -- reads, delegated -------------------------------------------------------------------
    @property
    def instruments(self) -> dict[str, Instrument]:
        return self._connector.instruments

    def feed(self, symbol: str) -> MarketFeed:
        return self._connector.feed(symbol)

    def balances(self) -> dict[str, Balance]:
        return self._connector.balances()

    def queue_ahead_lots(self, client_order_id: str) -> int | None:
        return self._connector.queue_ahead_lots(client_order_id) if client_order_id in self._ids else None

    def position(self, symbol: str) -> object | None:
        """The account's position (derivatives), read-only: the venue's, not only this bot's."""
        return self._connector.position(symbol)

    def leverage(self, symbol: str) -> Decimal | None:
        return self._connector.leverage(symbol)

    # -- own orders only -------------------------------------------------------------------
    def owns(self, client_order_id: str) -> bool:
        return client_order_id in self._ids

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._connector.open_orders(symbol) if o.client_order_id in self._ids]

    def get_order(self, client_order_id: str) -> Order | None:
        return self._connector.get_order(client_order_id) if client_order_id in self._ids else None

    def place_order(self, symbol: str, side: Side, order_type: OrderType, amount_lots: int, price_ticks: int = 0,
                    *, client_order_id: str | None = None) -> Order:
        cid = client_order_id or new_client_order_id(self.tag)
        reason = self._would_cross_own(symbol, side, order_type, price_ticks)
        request = None  # the request as an order, built once for whoever reads it (nobody: not built)
        if reason is None and self.pre_send_check is not None:
            request = self._request(cid, symbol, side, order_type, amount_lots, price_ticks)
            reason = self.pre_send_check(request)
        if reason is not None:
            order = request or self._request(cid, symbol, side, order_type, amount_lots, price_ticks)
            order.apply(OrderEvent(cid, _REJECTED, order.created_ns, reason=reason))
            if self._on_rejected is not None:
                self._on_rejected(order)
            return order
        # Ours before it leaves: a venue's immediate answer (a refusal) is then routed to us.
        self._ids.add(cid)
        if self.before_send is not None:
            self.before_send(request or self._request(cid, symbol, side, order_type, amount_lots, price_ticks))
        order = self._connector.place_order(symbol, side, order_type, amount_lots, price_ticks, client_order_id=cid)
        if order.status in _DONE:
            self._ids.discard(cid)
        return order

    def _request(self, cid: str, symbol: str, side: Side, order_type: OrderType, amount_lots: int,
                 price_ticks: int) -> Order:
        """The request as a pending order at the clock's time: what the risk check and the
        journal's intent see (neither keeps or changes it before it is sent)."""
        now = self.clock.now_ns()
        return Order(cid, symbol, side, order_type, 0 if order_type is _MARKET else int(price_ticks),
                     int(amount_lots), now, updated_ns=now)

    def _would_cross_own(self, symbol: str, side: Side, order_type: OrderType, price_ticks: int) -> str | None:
        """Why a new order would trade against one of the bot's own open orders, or None.
        A market order has no limit: it would cross any own order on the other side."""
        if not self._ids:
            return None
        get = self._connector.get_order
        market = order_type is _MARKET
        price = int(price_ticks)
        worst = 0
        for client_order_id in self._ids:
            other = get(client_order_id)
            if other is None or other.side is side or other.symbol != symbol or other.status in _DONE:
                continue
            if other.status is _PENDING_CANCEL:
                continue
            if other.price_ticks <= 0:  # an own market order in flight does not rest
                continue
            if side is _BUY:
                if (market or other.price_ticks <= price) and (worst == 0 or other.price_ticks < worst):
                    worst = other.price_ticks
            elif (market or other.price_ticks >= price) and other.price_ticks > worst:
                worst = other.price_ticks
        if worst == 0:
            return None
        inst = self._connector.instruments.get(symbol)
        shown = inst.ticks_to_price(worst) if inst is not None else worst
        return f"would cross the bot's own {'ask' if side is _BUY else 'bid'} at {shown}"

    def cancel_order(self, client_order_id: str) -> None:
        if client_order_id not in self._ids:
            reason = f"order {client_order_id} does not belong to this bot (or is already final)"
            if self._on_cancel_rejected is not None:
                self._on_cancel_rejected(client_order_id, reason)
            return
        self._connector.cancel_order(client_order_id)

    def cancel_all(self, symbol: str | None = None) -> list[str]:
        ids = [o.client_order_id for o in self.open_orders(symbol) if o.status is not _PENDING_CANCEL]
        for client_order_id in ids:
            self._connector.cancel_order(client_order_id)
        return ids

    def adopt(self, client_order_id: str) -> None:
        """Takes an order placed before a restart (already adopted by the connector, see
        app/engine/journal/recovery.py) as this bot's own."""
        self._ids.add(client_order_id)

    def forget(self, client_order_id: str) -> None:
        """Drops a finished order so the set stays as small as the open orders."""
        self._ids.discard(client_order_id)

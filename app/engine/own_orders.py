"""The connector as one bot sees it: only the orders that bot placed.

Several bots may trade the same account and symbol; without this view one bot's
reconciler would cancel another's quotes, a stop would cancel orders it does not own,
and PnL would count fills twice.
"""
from __future__ import annotations

from typing import Callable

from app.domain import Balance, Instrument, Order, OrderType, Side
from connectors.base import Connector, MarketFeed


class OwnOrders:
    def __init__(self, connector: Connector, on_rejected: Callable[[Order], None] | None = None) -> None:
        self._connector = connector
        self._on_rejected = on_rejected
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

    # -- own orders only -------------------------------------------------------------------
    def owns(self, client_order_id: str) -> bool:
        return client_order_id in self._ids

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._connector.open_orders(symbol) if o.client_order_id in self._ids]

    def get_order(self, client_order_id: str) -> Order | None:
        return self._connector.get_order(client_order_id) if client_order_id in self._ids else None

    def place_order(self, symbol: str, side: Side, order_type: OrderType, amount_lots: int, price_ticks: int = 0) -> Order:
        order = self._connector.place_order(symbol, side, order_type, amount_lots, price_ticks)
        if order.status.is_done:
            # Refused at once: its event went out before the id was known to be ours.
            if self._on_rejected is not None:
                self._on_rejected(order)
        else:
            self._ids.add(order.client_order_id)
        return order

    def cancel_order(self, client_order_id: str) -> None:
        if client_order_id not in self._ids:
            raise KeyError(f"order {client_order_id} does not belong to this bot")
        self._connector.cancel_order(client_order_id)

    def cancel_all(self, symbol: str | None = None) -> list[str]:
        ids = [o.client_order_id for o in self.open_orders(symbol) if o.status.value != "pending_cancel"]
        for client_order_id in ids:
            self._connector.cancel_order(client_order_id)
        return ids

    def forget(self, client_order_id: str) -> None:
        """Drops a finished order so the set stays as small as the open orders."""
        self._ids.discard(client_order_id)

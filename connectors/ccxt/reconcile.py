"""Reconciliation by REST, at connect and after every reconnect: the exchange's word wins.

For each market: the open orders on the exchange (ours are re-synchronised; ones carrying
our client-id prefix that we do not know are listed in `connector.unclaimed` for the
recovery step to adopt or cancel), every order we think is live but the exchange no
longer lists (queried: filled, cancelled or never arrived), our own trades since the last
one seen (counted once), and the balances.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.domain import Order, OrderStatus, OrderType, Side
from app.domain.order import parse_client_order_id
from connectors.ccxt import convert

if TYPE_CHECKING:
    from connectors.ccxt.connector import CcxtConnector

log = logging.getLogger(__name__)


async def reconcile(conn: "CcxtConnector") -> None:
    from connectors.ccxt.requests import fetch_fills, query

    ex = conn.exchange
    conn.apply_balances(await ex.fetch_balance())
    conn.unclaimed = []
    for symbol in conn.instruments:
        listed = await ex.fetch_open_orders(symbol)
        seen = set()
        for data in listed:
            order = conn.order_for(data.get("id"), convert.client_id_of(data))
            if order is None:
                cid = convert.client_id_of(data) or ""
                if parse_client_order_id(cid) is not None:
                    conn.unclaimed.append(data)
                continue
            seen.add(order.client_order_id)
            conn.apply_exchange_order(data)
            if conn._reported_filled.get(order.client_order_id, 0) > order.filled_lots:
                await fetch_fills(conn, order)
        for order in conn.open_orders(symbol):
            if order.client_order_id in seen or order.status is OrderStatus.PENDING_CREATE:
                continue  # a create still in flight answers for itself
            found = await query(conn, order.client_order_id, symbol)
            if found is None and not order.status.is_done:
                conn._finish(order, _failed(conn, order))


def _failed(conn: "CcxtConnector", order: Order):
    from app.domain import OrderEvent

    return OrderEvent(order.client_order_id, OrderStatus.FAILED, conn.clock.now_ns(),
                      reason="the exchange has no such order")


async def fetch_open(conn: "CcxtConnector", symbol: str | None = None) -> list[Order]:
    """The exchange's open orders as Order objects (ours where we know them)."""
    out = []
    for sym in ([symbol] if symbol else list(conn.instruments)):
        inst = conn.instruments[sym]
        for data in await conn.exchange.fetch_open_orders(sym):
            known = conn.order_for(data.get("id"), convert.client_id_of(data))
            if known is not None:
                out.append(known)
                continue
            out.append(order_from_exchange(conn, sym, data))
    return out


def order_from_exchange(conn: "CcxtConnector", symbol: str, data: dict) -> Order:
    """An exchange's order we do not track, as an Order in the state the exchange gives
    (open, partly filled, filled, cancelled), for recovery to adopt or record."""
    inst = conn.instruments[symbol]
    amount = convert.lots(inst, data.get("amount"))
    filled = convert.lots(inst, data.get("filled"))
    status = convert.STATUS.get(str(data.get("status") or ""), OrderStatus.OPEN)
    if status is OrderStatus.OPEN and filled:
        status = OrderStatus.PARTIALLY_FILLED
    kind = OrderType.MARKET if data.get("type") == "market" else OrderType.LIMIT
    return Order(convert.client_id_of(data) or f"ex-{data.get('id')}", symbol, Side(data.get("side")), kind,
                 0 if kind is OrderType.MARKET else convert.ticks(inst, data.get("price")), amount,
                 int(data.get("timestamp") or 0) * 1_000_000, status=status, filled_lots=filled,
                 exchange_order_id=str(data.get("id")))

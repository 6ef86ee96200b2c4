"""The connector's requests to the exchange: create, cancel, query, and resolving orders
whose answer was lost.

Each runs as a task. Errors are classified (connectors/ccxt/errors.py): a refusal ends
the order (REJECTED, with the reason) or refuses the cancel (CancelRejected); a lost
answer leaves the order UNKNOWN and `resolve` asks the exchange by client order id, with
growing pauses, until it knows: open (adopted), filled or cancelled (fills fetched), or
not there (FAILED: it never arrived).
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import ccxt

from app.domain import Order, OrderEvent, OrderStatus, OrderType
from connectors.ccxt import convert
from connectors.ccxt.errors import classify

if TYPE_CHECKING:
    from connectors.ccxt.connector import CcxtConnector

log = logging.getLogger(__name__)

_TYPES = {OrderType.LIMIT: "limit", OrderType.LIMIT_MAKER: "limit", OrderType.IOC: "limit", OrderType.MARKET: "market"}


def _params(order: Order) -> dict:
    params: dict = {"clientOrderId": order.client_order_id}
    if order.type is OrderType.LIMIT_MAKER:
        params["postOnly"] = True
    elif order.type is OrderType.IOC:
        params["timeInForce"] = "IOC"
    return params


async def send_create(conn: "CcxtConnector", order: Order) -> None:
    inst = conn.instruments[order.symbol]
    ex = conn.exchange
    price = None if order.type is OrderType.MARKET else convert.price_text(inst, order.price_ticks)
    started = time.perf_counter()
    try:
        if conn.use_websocket_orders and ex.has.get("createOrderWs"):
            answer = await ex.create_order_ws(order.symbol, _TYPES[order.type], order.side.value,
                                              convert.amount_text(inst, order.amount_lots), price, _params(order))
        else:
            answer = await ex.create_order(order.symbol, _TYPES[order.type], order.side.value,
                                           convert.amount_text(inst, order.amount_lots), price, _params(order))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - every outcome is an order state
        if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
            conn.note_rate_limit(exc)
        error = classify(exc)
        if order.status is not OrderStatus.PENDING_CREATE:
            return  # the user stream already told how it went (open, filled, cancelled)
        if error.status is OrderStatus.UNKNOWN:
            log.warning("%s: create of %s: answer lost (%s); asking the exchange", conn.name, order.client_order_id,
                        error.reason)
            conn._move(order, OrderStatus.UNKNOWN, error.reason)
            await resolve(conn, order)
        else:
            conn._finish(order, OrderEvent(order.client_order_id, error.status, conn.clock.now_ns(), reason=error.reason))
        return
    conn.latency_ms = (time.perf_counter() - started) * 1000
    if answer.get("id"):
        conn._by_exchange_id[str(answer["id"])] = order.client_order_id
    if order.status is OrderStatus.PENDING_CREATE:
        conn._move(order, OrderStatus.OPEN, exchange_order_id=str(answer.get("id") or "") or None)
    conn.apply_exchange_order(answer)
    for trade in answer.get("trades") or ():
        trade.setdefault("symbol", order.symbol)
        trade.setdefault("order", answer.get("id"))
        conn.apply_trade(trade)
    if conn._reported_filled.get(order.client_order_id, 0) > order.filled_lots:
        await fetch_fills(conn, order)


async def send_cancel(conn: "CcxtConnector", order: Order) -> None:
    ex = conn.exchange
    params = {"origClientOrderId": order.client_order_id}
    try:
        if conn.use_websocket_orders and ex.has.get("cancelOrderWs"):
            answer = await ex.cancel_order_ws(order.exchange_order_id, order.symbol, params)
        else:
            answer = await ex.cancel_order(order.exchange_order_id, order.symbol, params)
    except asyncio.CancelledError:
        raise
    except ccxt.OrderNotFound as exc:
        # Gone already: filled or cancelled meanwhile. Say so, then learn how it ended.
        conn._reject_cancel(order.client_order_id, f"the exchange no longer has the order: {exc}")
        await resolve(conn, order)
        return
    except Exception as exc:  # noqa: BLE001
        if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
            conn.note_rate_limit(exc)
        error = classify(exc)
        if order.status is not OrderStatus.PENDING_CANCEL:
            return  # the user stream already told how it ended
        if error.status is OrderStatus.UNKNOWN:
            conn._move(order, OrderStatus.UNKNOWN, error.reason)
            await resolve(conn, order)
        else:
            conn._reject_cancel(order.client_order_id, error.reason)
            if order.status is OrderStatus.PENDING_CANCEL:
                conn._move(order, OrderStatus.OPEN, f"cancel refused: {error.reason}")
        return
    conn.apply_exchange_order(answer)
    if not order.status.is_done and conn._reported_filled.get(order.client_order_id, 0) > order.filled_lots:
        await fetch_fills(conn, order)


async def query(conn: "CcxtConnector", client_order_id: str, symbol: str) -> Order | None:
    """The exchange's view of one order: applied to ours when we track it, else returned as
    an Order of its own (recovery of a run that died); None when the exchange has none."""
    try:
        answer = await conn.exchange.fetch_order(None, symbol, {"origClientOrderId": client_order_id})
    except ccxt.OrderNotFound:
        return None
    order = conn.get_order(client_order_id)
    if order is None:
        from connectors.ccxt.reconcile import order_from_exchange

        return order_from_exchange(conn, symbol, answer)
    conn.apply_exchange_order(answer)
    if conn._reported_filled.get(client_order_id, 0) > order.filled_lots:
        await fetch_fills(conn, order)
    return order


async def fetch_fills(conn: "CcxtConnector", order: Order) -> None:
    """Own trades of one order, by REST (counted once, whichever way they arrived)."""
    params = {"orderId": order.exchange_order_id} if order.exchange_order_id else {}
    trades = await conn.exchange.fetch_my_trades(order.symbol, None, None, params)
    conn.apply_order_trades(order, [t for t in trades if t.get("order") == order.exchange_order_id
                                    or convert.client_id_of(t) == order.client_order_id])


TRADES_GRACE_S = 2.0
"""How long the trades an order update reports (its filled amount grew) may take to arrive
on the user stream, in their own message, before they are listed by REST: a trade message
lost or never sent (a dropped socket, an order not yet adopted when it came) is then
counted all the same, once."""


async def catch_up_trades(conn: "CcxtConnector", order: Order) -> None:
    cid = order.client_order_id
    try:
        await asyncio.sleep(TRADES_GRACE_S)
        if not order.status.is_done and conn._reported_filled.get(cid, 0) > order.filled_lots:
            log.info("%s: %s reported filled beyond its trades for %.0f s; listing them", conn.name, cid,
                     TRADES_GRACE_S)
            await fetch_fills(conn, order)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - the next update, reconnect or cancel asks again
        log.info("%s: listing the trades of %s failed (%s)", conn.name, cid, exc)
    finally:
        conn._catching_up.discard(cid)


async def resolve(conn: "CcxtConnector", order: Order) -> None:
    """Asks the exchange about an UNKNOWN (or pending) order until its state is known."""
    cid = order.client_order_id
    if cid in conn._resolving:
        return
    conn._resolving.add(cid)
    try:
        for delay in conn.resolve_delays_s:
            await asyncio.sleep(delay)
            if order.status.is_done:
                return
            try:
                found = await query(conn, cid, order.symbol)
            except Exception as exc:  # noqa: BLE001 - the network may still be down: ask again
                log.info("%s: query of %s failed (%s); retrying", conn.name, cid, exc)
                continue
            if found is None:
                conn._finish(order, OrderEvent(cid, OrderStatus.FAILED, conn.clock.now_ns(),
                                               reason="the exchange has no such order: the request never arrived"))
                return
            if order.status is OrderStatus.UNKNOWN:
                continue  # the exchange answered but the order is not settled: ask again
            if order.status is OrderStatus.PENDING_CANCEL or order.status.is_done:
                return
            return
        log.error("%s: order %s still unknown after %d queries", conn.name, cid, len(conn.resolve_delays_s))
    finally:
        conn._resolving.discard(cid)

"""Binance's websocket API (/ws-api/v3): requests `{"id", "method", "params"}`, answers
`{"id", "status", "result" | "error", "rateLimits"}`; signed methods carry apiKey,
timestamp and a signature of the key-sorted params. The user data stream lives here too
(`userDataStream.subscribe.signature`): executionReport and outboundAccountPosition
events arrive as `{"subscriptionId", "event"}` on the same connection, after the reply."""
from __future__ import annotations

import logging

import orjson
from aiohttp import WSMsgType, web

from connectors.local_exchange import auth, errors
from connectors.local_exchange.faults import FaultInjector
from connectors.local_exchange.limits import WeightLimiter
from connectors.local_exchange.outbox import Outbox
from connectors.local_exchange.rest import exchange_info
from connectors.local_exchange.venue import BinanceVenue, now_ms

log = logging.getLogger(__name__)


class _Session:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.subscriptions: dict[int, object] = {}
        self.next_id = 0


class WsApi:
    def __init__(self, venue: BinanceVenue, credentials: auth.Credentials, faults: FaultInjector,
                 limiter: WeightLimiter) -> None:
        self.venue = venue
        self.credentials = credentials
        self.faults = faults
        self.limiter = limiter
        self.sessions: set[_Session] = set()

    async def stop(self) -> None:
        for session in list(self.sessions):
            await session.outbox.close()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        session = _Session(Outbox(ws, self.faults))
        self.sessions.add(session)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_request(session, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self.sessions.discard(session)
            for listener in session.subscriptions.values():
                if listener in self.venue.user_listeners:
                    self.venue.user_listeners.remove(listener)
            await session.outbox.close()
        return ws

    async def _on_request(self, session: _Session, text: str) -> None:
        rid = None
        try:
            req = orjson.loads(text)
            rid, method = req.get("id"), req.get("method")
            params = {k: _text(v) for k, v in (req.get("params") or {}).items()}
        except (orjson.JSONDecodeError, AttributeError):
            session.outbox.send({"id": rid, "status": 400, "error": {"code": -1000, "msg": "Malformed request."}})
            return
        try:
            result = await self._dispatch(session, method, params, rid)
        except errors.BinanceError as exc:
            session.outbox.send({"id": rid, "status": exc.status, "error": exc.body(), "rateLimits": []})
            return
        if result is _LOST:
            session.outbox.drop()
            return
        if result is not _SENT:
            session.outbox.send({"id": rid, "status": 200, "result": result, "rateLimits": []})

    async def _dispatch(self, session: _Session, method: str, params: dict, rid: object) -> object:
        v = self.venue
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": now_ms()}
        if method == "exchangeInfo":
            return exchange_info(v, self.limiter.limit)
        if method == "userDataStream.unsubscribe":
            ids = [int(params["subscriptionId"])] if params.get("subscriptionId") else list(session.subscriptions)
            for sub_id in ids:
                listener = session.subscriptions.pop(sub_id, None)
                if listener in v.user_listeners:
                    v.user_listeners.remove(listener)
            return {}
        if method not in SIGNED:
            raise errors.BinanceError(-1000, f"Unknown method: {method}.")
        self._check(params)
        if method == "userDataStream.subscribe.signature":
            sub_id = session.next_id
            session.next_id += 1
            session.outbox.send({"id": rid, "status": 200, "result": {"subscriptionId": sub_id}, "rateLimits": []})
            outbox = session.outbox

            def push(event: dict, sub_id: int = sub_id) -> None:
                outbox.send({"subscriptionId": sub_id, "event": event})

            session.subscriptions[sub_id] = push
            v.user_listeners.append(push)
            return _SENT
        if method == "order.place":
            rec, resp_type = await v.place(params)
            if self.faults.roll("lose_order_response"):
                return _LOST
            return v.views.new_order(rec, resp_type)
        if method == "order.cancel":
            rec = await v.cancel(params)
            if self.faults.roll("lose_cancel_response"):
                return _LOST
            return v.views.cancelled(rec, params.get("newClientOrderId") or rec.client_order_id)
        if method == "order.status":
            return v.views.order(v.query(params))
        if method == "openOrders.status":
            return [v.views.order(r) for r in v.open_orders(params)]
        if method == "account.status":
            return v.account()
        if method == "myTrades":
            return v.my_trades(params)
        raise errors.BinanceError(-1000, f"Unknown method: {method}.")  # pragma: no cover - SIGNED lists them

    def _check(self, params: dict) -> None:
        auth.check_key(params.get("apiKey"), self.credentials)
        auth.check_signature(auth.ws_payload(params), params.get("signature"), self.credentials)
        auth.check_timestamp(params, now_ms())


SIGNED = frozenset({
    "userDataStream.subscribe.signature", "order.place", "order.cancel",
    "order.status", "openOrders.status", "account.status", "myTrades",
})
_LOST = object()
_SENT = object()


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

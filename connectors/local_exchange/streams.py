"""Binance's public websocket streams: diff depth (U/u chained), trades, aggTrades and
bookTicker, on raw (/ws, /ws/<stream>, ccxt's /stream/ws/<n>) and combined
(/stream?streams=a/b, messages wrapped as {"stream", "data"}) connections, with the
SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS methods.

Depth diffs are merged per update speed (100 ms, 1000 ms) and sent once per period: U is
the first update id of the period, u the last, so consecutive messages chain with
U == previous u + 1 and a REST snapshot's lastUpdateId falls inside one of them.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import orjson
from aiohttp import WSMsgType, web

from connectors.local_exchange.faults import FaultInjector
from connectors.local_exchange.outbox import Outbox
from connectors.local_exchange.venue import BinanceVenue, now_ms

log = logging.getLogger(__name__)
PERIODS_MS = {"100ms": 100, "1000ms": 1000}


@dataclass
class _Pending:
    first: int = 0
    last: int = 0
    ms: int = 0
    bids: dict = field(default_factory=dict)
    asks: dict = field(default_factory=dict)


@dataclass(eq=False)
class _Client:
    outbox: Outbox
    combined: bool
    streams: set = field(default_factory=set)


class StreamHub:
    def __init__(self, venue: BinanceVenue, faults: FaultInjector) -> None:
        self.venue = venue
        self.faults = faults
        sym = venue.symbol.lower()
        self.sym = sym
        self.depth_names = {f"{sym}@depth": "1000ms", f"{sym}@depth@1000ms": "1000ms", f"{sym}@depth@100ms": "100ms"}
        self.names = {*self.depth_names, f"{sym}@trade", f"{sym}@aggTrade", f"{sym}@bookTicker"}
        self.clients: set[_Client] = set()
        self._subs: dict[str, set[_Client]] = {name: set() for name in self.names}
        self._pending = {speed: _Pending() for speed in PERIODS_MS}
        self.messages_sent = 0
        self._task: asyncio.Task | None = None
        venue.depth_listeners.append(self._on_depth)
        venue.trade_listeners.append(self._on_trades)
        venue.ticker_listeners.append(self._on_ticker)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._flush_loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for client in list(self.clients):
            await client.outbox.close()

    # -- connections ----------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        combined = request.path.rstrip("/") == "/stream"
        client = _Client(Outbox(ws, self.faults), combined)
        self.clients.add(client)
        initial = request.query.get("streams", "").split("/") if combined else [request.match_info.get("tail", "")]
        for name in initial:
            if name in self.names:
                self._subscribe(client, name)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_request(client, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self.clients.discard(client)
            for subs in self._subs.values():
                subs.discard(client)
            await client.outbox.close()
        return ws

    def _on_request(self, client: _Client, text: str) -> None:
        try:
            req = orjson.loads(text)
            method, rid = req.get("method"), req.get("id")
            params = req.get("params") or []
        except (orjson.JSONDecodeError, AttributeError):
            client.outbox.send({"error": {"code": 3, "msg": "Invalid JSON: expected an object"}, "id": None})
            return
        if method == "SUBSCRIBE" or method == "UNSUBSCRIBE":
            unknown = [p for p in params if p not in self.names]
            if unknown or not isinstance(params, list):
                client.outbox.send({"error": {"code": 2, "msg": f"Invalid request: unknown stream {unknown[:1]}"},
                                    "id": rid})
                return
            client.outbox.send({"result": None, "id": rid})  # before any data of the new streams
            for name in params:
                (self._subscribe if method == "SUBSCRIBE" else self._unsubscribe)(client, name)
        elif method == "LIST_SUBSCRIPTIONS":
            client.outbox.send({"result": sorted(client.streams), "id": rid})
        else:
            client.outbox.send({"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"},
                                "id": rid})

    def _subscribe(self, client: _Client, name: str) -> None:
        client.streams.add(name)
        self._subs[name].add(client)

    def _unsubscribe(self, client: _Client, name: str) -> None:
        client.streams.discard(name)
        self._subs[name].discard(client)

    # -- data -----------------------------------------------------------------------------
    def _send(self, name: str, data: dict, raw: str | None = None) -> None:
        for client in self._subs[name]:
            if client.combined:
                client.outbox.send({"stream": name, "data": data})
            else:
                client.outbox.send(data)
            self.messages_sent += 1

    def _on_depth(self, first: int, last: int, ms: int, bp, bq, ap, aq) -> None:
        for pending in self._pending.values():
            if not pending.first:
                pending.first = first
            pending.last, pending.ms = last, ms
            pending.bids.update(zip(bp.tolist(), bq.tolist()))
            pending.asks.update(zip(ap.tolist(), aq.tolist()))

    async def _flush_loop(self) -> None:
        tick = 0
        while True:
            await asyncio.sleep(0.1)
            tick += 1
            self._flush("100ms")
            if tick % 10 == 0:
                self._flush("1000ms")

    def _flush(self, speed: str) -> None:
        pending = self._pending[speed]
        if not pending.first:
            return
        self._pending[speed] = _Pending()
        names = [name for name, s in self.depth_names.items() if s == speed and self._subs[name]]
        if not names:
            return
        n = self.venue.numbers
        data = {
            "e": "depthUpdate", "E": now_ms(), "s": self.venue.symbol, "U": pending.first, "u": pending.last,
            "b": [[n.price(p), n.qty(q)] for p, q in sorted(pending.bids.items(), reverse=True)],
            "a": [[n.price(p), n.qty(q)] for p, q in sorted(pending.asks.items())],
        }
        faults = self.faults
        for name in names:
            for client in self._subs[name]:
                if faults.active and faults.roll("skip_depth"):
                    continue
                client.outbox.send({"stream": name, "data": data} if client.combined else data)
                self.messages_sent += 1

    def _on_trades(self, batch: list) -> None:
        trade_name, agg_name = f"{self.sym}@trade", f"{self.sym}@aggTrade"
        if not self._subs[trade_name] and not self._subs[agg_name]:
            return
        n, sym, ms_now = self.venue.numbers, self.venue.symbol, now_ms()
        for tid, p, q, ms, maker in batch:
            price, qty = n.price(p), n.qty(q)
            if self._subs[trade_name]:
                self._send(trade_name, {"e": "trade", "E": ms_now, "s": sym, "t": tid, "p": price, "q": qty,
                                        "T": ms, "m": maker, "M": True})
            if self._subs[agg_name]:
                self._send(agg_name, {"e": "aggTrade", "E": ms_now, "s": sym, "a": tid, "p": price, "q": qty,
                                      "f": tid, "l": tid, "T": ms, "m": maker, "M": True})

    def _on_ticker(self, uid: int, bid: int, bid_qty: int, ask: int, ask_qty: int) -> None:
        name = f"{self.sym}@bookTicker"
        if self._subs[name]:
            n = self.venue.numbers
            self._send(name, {"u": uid, "s": self.venue.symbol, "b": n.price(bid), "B": n.qty(bid_qty),
                              "a": n.price(ask), "A": n.qty(ask_qty)})

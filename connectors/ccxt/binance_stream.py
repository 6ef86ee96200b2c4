"""Binance's raw diff-depth and trade streams, straight into our synchroniser and book.

ccxt's `watch_order_book` parses every level into Python floats and rebuilds its own book
(25-80 us of CPU per message, NOTES.md); here one combined-stream websocket carries
`<symbol>@depth@100ms` and `<symbol>@trade`, depth messages are parsed from their bytes into
integer arrays (depth_parser.pyx) and applied by app/book/sync.py's DepthSynchronizer, with
Binance's procedure: buffer diffs, fetch a REST snapshot, chain update ids, and on a gap
mark the book stale and fetch a new snapshot. A dropped socket marks the book stale and
reconnects with jittered exponential backoff.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import orjson

from app.book.sync import SyncStatus
from connectors.ccxt.depth_parser import Grid, grid_of, parse_depth, parse_snapshot
from connectors.ccxt.feed import CcxtFeed

log = logging.getLogger(__name__)

_NS = 1_000_000_000


@dataclass(frozen=True)
class BinanceEndpoints:
    """Where a Binance market family streams and serves depth snapshots."""

    stream_base: str  # e.g. wss://stream.binance.com:9443/stream?streams=
    depth_url: str  # e.g. https://api.binance.com/api/v3/depth
    futures: bool


def binance_endpoints(exchange, market: dict) -> BinanceEndpoints:
    """From ccxt's own URLs (so sandbox mode and a local server are followed)."""
    ws = exchange.urls["api"]["ws"]
    rest = exchange.urls["api"]
    if market.get("linear") and not market.get("spot"):
        ws_url, rest_url, path, futures = ws.get("future"), rest.get("fapiPublic"), "/depth", True
    elif market.get("inverse"):
        ws_url, rest_url, path, futures = ws.get("delivery"), rest.get("dapiPublic"), "/depth", True
    else:
        ws_url, rest_url, path, futures = ws.get("spot"), rest.get("public"), "/depth", False
    if not isinstance(ws_url, str) or not isinstance(rest_url, str):
        raise ValueError(f"{exchange.id}: no stream/REST URL for {market.get('symbol')}")
    parts = urlsplit(ws_url)
    return BinanceEndpoints(f"{parts.scheme}://{parts.netloc}/stream?streams=", rest_url.rstrip("/") + path, futures)


class BinanceStream:
    """The depth and trade stream of one market, run as a task until cancelled."""

    def __init__(self, feed: CcxtFeed, endpoints: BinanceEndpoints, exchange_symbol: str, *,
                 speed: str = "100ms", backoff_s: tuple[float, float] = (0.2, 30.0)) -> None:
        self.feed = feed
        self.endpoints = endpoints
        self.ident = exchange_symbol
        inst = feed.instrument
        self.price: Grid = grid_of(inst.tick_size)
        self.qty: Grid = grid_of(inst.lot_size, rounding=True)  # far levels may be finer (see Grid)
        lower = exchange_symbol.lower()
        self.depth_stream = f"{lower}@depth@{speed}" if not endpoints.futures else f"{lower}@depth@{speed}"
        self.trade_stream = f"{lower}@trade"
        self.backoff_s = backoff_s
        self.reconnects = 0
        self.connected = False
        self.errors = 0
        self.latency_ms: float | None = None  # the last depth message's age when it arrived
        self._snapshot_task: asyncio.Task | None = None
        self.on_state: list = []  # callbacks(connected: bool, reason: str)

    @property
    def url(self) -> str:
        return self.endpoints.stream_base + f"{self.depth_stream}/{self.trade_stream}"

    async def run(self) -> None:
        delay = self.backoff_s[0]
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.ws_connect(self.url, heartbeat=20, max_msg_size=0) as ws:
                        self._set_connected(True, "")
                        delay = self.backoff_s[0]
                        await self._read(session, ws)
                    reason = "stream closed by the exchange"
                except asyncio.CancelledError:
                    raise
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                    reason = f"stream error: {type(exc).__name__}: {exc}"
                self._set_connected(False, reason)
                self.feed.mark_stale(reason)
                self.reconnects += 1
                await asyncio.sleep(delay * (0.5 + random.random()))  # jitter: no reconnect storms
                delay = min(self.backoff_s[1], delay * 2)

    def _set_connected(self, up: bool, reason: str) -> None:
        self.connected = up
        for callback in tuple(self.on_state):
            callback(up, reason)

    async def _read(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        feed = self.feed
        async for msg in ws:
            if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                if msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                    break
                continue
            data = msg.data.encode() if isinstance(msg.data, str) else msg.data
            try:
                if b"@depth" in data[:80]:
                    first, last, prev, event_ms, sides, prices, qtys = parse_depth(data, self.price, self.qty)
                    if event_ms:  # exchange event time to our receipt (includes any clock offset)
                        self.latency_ms = time.time() * 1000 - event_ms
                    status = feed.on_diff(first, last, prev, sides, prices, qtys)
                    if status == SyncStatus.BUFFERED or status == SyncStatus.GAP:
                        self._want_snapshot(session)
                else:
                    self._on_other(data)
            except ValueError as exc:  # a malformed or off-grid message: the book cannot be trusted
                self.errors += 1
                log.warning("%s: bad stream message (%s): %.200s", self.ident, exc, data)
                feed.mark_stale(f"bad stream message: {exc}")
                self._want_snapshot(session)

    def _on_other(self, data: bytes) -> None:
        message = orjson.loads(data)
        payload = message.get("data") if isinstance(message, dict) else None
        if not isinstance(payload, dict) or payload.get("e") != "trade":
            return
        if payload.get("X", "MARKET") != "MARKET":
            return  # futures insurance-fund / ADL prints are not market trades
        inst = self.feed.instrument
        ts = int(payload.get("T", 0)) * 1_000_000 or self.feed.clock.now_ns()
        price = inst.price_to_ticks(payload["p"])
        qty = inst.amount_to_lots(payload["q"])
        side = -1 if payload.get("m") else 1
        self.feed.on_trades(CcxtFeed.trades_array([(ts, price, qty, side)]))

    def _want_snapshot(self, session: aiohttp.ClientSession) -> None:
        if self.feed.sync.needs_snapshot and (self._snapshot_task is None or self._snapshot_task.done()):
            self._snapshot_task = asyncio.get_running_loop().create_task(self._snapshot(session))

    async def _snapshot(self, session: aiohttp.ClientSession) -> None:
        """Binance: the first diff must be buffered before the snapshot is asked for."""
        await asyncio.sleep(0.05)
        url = f"{self.endpoints.depth_url}?symbol={self.ident}&limit=1000"
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
                body = await response.read()
                if response.status != 200:
                    raise ValueError(f"HTTP {response.status}: {body[:200]!r}")
            last, bp, bq, ap, aq = parse_snapshot(body, self.price, self.qty)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError) as exc:
            log.warning("%s: depth snapshot failed (%s); retrying", self.ident, exc)
            await asyncio.sleep(1.0)
            self._snapshot_task = None
            self._want_snapshot(session)
            return
        status = self.feed.on_snapshot(last, bp, bq, ap, aq)
        if status == SyncStatus.GAP:  # older than the buffered diffs: ask again
            self._snapshot_task = None
            self._want_snapshot(session)

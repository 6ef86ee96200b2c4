"""Market data for exchanges other than Binance: ccxt's own streams, or REST polling.

ccxt's `watch_order_book` keeps its own book and checks the exchange's sequence numbers or
checksums; each return is a whole book, which replaces ours (prices and amounts rounded to
the nearest tick and lot: ccxt hands floats). Its nonce and checksum errors mark our book
stale until the next good book. Trades come from `watch_trades`. Exchanges without
websockets in ccxt are polled over REST (`fetch_order_book`, `fetch_trades`) at a fixed
interval; a failed poll marks the book stale.
"""
from __future__ import annotations

import asyncio
import logging
import random

import ccxt
import numpy as np

from connectors.ccxt.errors import is_transient
from connectors.ccxt.feed import CcxtFeed

log = logging.getLogger(__name__)


def book_arrays(feed: CcxtFeed, book: dict, depth: int = 200):
    """ccxt's {'bids': [[price, amount], ...], 'asks': ...} -> tick/lot int64 arrays."""
    inst = feed.instrument
    tick, lot = float(inst.tick_size), float(inst.lot_size)

    def side(levels):
        levels = levels[:depth]
        if not levels:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        arr = np.asarray([(lvl[0], lvl[1]) for lvl in levels], dtype=np.float64)
        return np.rint(arr[:, 0] / tick).astype(np.int64), np.rint(arr[:, 1] / lot).astype(np.int64)

    bp, bq = side(book.get("bids") or [])
    ap, aq = side(book.get("asks") or [])
    return bp, bq, ap, aq


def trade_rows(feed: CcxtFeed, trades: list[dict], seen: set) -> list[tuple[int, int, int, int]]:
    inst = feed.instrument
    rows = []
    for trade in trades:
        key = trade.get("id") or (trade.get("timestamp"), trade.get("price"), trade.get("amount"))
        if key in seen:
            continue
        seen.add(key)
        ts = int(trade.get("timestamp") or 0) * 1_000_000 or feed.clock.now_ns()
        price = int(round(float(trade["price"]) / float(inst.tick_size)))
        qty = int(round(float(trade["amount"]) / float(inst.lot_size)))
        rows.append((ts, price, qty, 1 if trade.get("side") == "buy" else -1))
    if len(seen) > 10_000:
        seen.clear()
    return rows


class CcxtStream:
    """watch_order_book + watch_trades, or REST polling, for one market."""

    def __init__(self, feed: CcxtFeed, exchange, symbol: str, *, poll_s: float = 1.0,
                 backoff_s: tuple[float, float] = (0.5, 30.0), websocket: bool = True) -> None:
        self.feed = feed
        self.exchange = exchange
        self.symbol = symbol
        self.poll_s = poll_s
        self.backoff_s = backoff_s
        self.websocket = websocket and bool(exchange.has.get("watchOrderBook"))
        self.reconnects = 0
        self.connected = False
        self.latency_ms: float | None = None
        self.on_state: list = []
        self._seen_trades: set = set()

    async def run(self) -> None:
        tasks = [asyncio.ensure_future(self._books())]
        if self.exchange.has.get("watchTrades" if self.websocket else "fetchTrades"):
            tasks.append(asyncio.ensure_future(self._trades()))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    def _set_connected(self, up: bool, reason: str) -> None:
        if up != self.connected:
            self.connected = up
            for callback in tuple(self.on_state):
                callback(up, reason)

    async def _books(self) -> None:
        delay = self.backoff_s[0]
        while True:
            try:
                if self.websocket:
                    book = await self.exchange.watch_order_book(self.symbol)
                else:
                    book = await self.exchange.fetch_order_book(self.symbol)
                self.feed.on_full_book(*book_arrays(self.feed, book))
                self._set_connected(True, "")
                delay = self.backoff_s[0]
                if not self.websocket:
                    await asyncio.sleep(self.poll_s)
            except asyncio.CancelledError:
                raise
            except (ccxt.ChecksumError, ccxt.InvalidNonce) as exc:
                self.feed.mark_stale(f"book out of sequence: {exc}")  # the next watch re-subscribes
            except Exception as exc:  # noqa: BLE001 - a stream never dies of one bad answer
                reason = f"{type(exc).__name__}: {exc}"
                self.feed.mark_stale(reason)
                self._set_connected(False, reason)
                if not is_transient(exc):
                    log.warning("%s %s: book stream error: %s", self.exchange.id, self.symbol, reason)
                self.reconnects += 1
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(self.backoff_s[1], delay * 2)

    async def _trades(self) -> None:
        delay = self.backoff_s[0]
        while True:
            try:
                if self.websocket:
                    trades = await self.exchange.watch_trades(self.symbol)
                else:
                    trades = await self.exchange.fetch_trades(self.symbol, limit=100)
                    await asyncio.sleep(self.poll_s)
                rows = trade_rows(self.feed, trades, self._seen_trades)
                if rows:
                    self.feed.on_trades(CcxtFeed.trades_array(rows))
                delay = self.backoff_s[0]
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(self.backoff_s[1], delay * 2)

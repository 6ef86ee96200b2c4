"""The connector's long-running tasks: market data per symbol and the account's streams.

Market data: Binance-family exchanges use the raw diff-depth stream into our book
(binance_stream.py); others ccxt's watch_order_book, or REST polling (ccxt_stream.py).
Account: `watch_orders`, `watch_my_trades` and `watch_balance` where ccxt has them, REST
polling of open orders, own trades and balances otherwise. A stream that fails waits with
jittered exponential backoff and starts again; the connector is told when streams go down
and come back (it then reconciles by REST before it calls itself LIVE again).
"""
from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING

from connectors.ccxt.binance_stream import BinanceStream, binance_endpoints
from connectors.ccxt.ccxt_stream import CcxtStream
from connectors.ccxt.errors import is_transient

if TYPE_CHECKING:
    from connectors.ccxt.connector import CcxtConnector

log = logging.getLogger(__name__)

BINANCE_FAMILY = ("binance", "binanceusdm", "binancecoinm")


class StreamSet:
    def __init__(self, conn: "CcxtConnector", *, poll_s: float = 2.0, backoff_s: tuple[float, float] = (0.2, 30.0)) -> None:
        self.conn = conn
        self.poll_s = poll_s
        self.backoff_s = backoff_s
        self.market: list = []
        self._tasks: list[asyncio.Task] = []
        self._account_up = True
        self._account_reconnects = 0
        ex = conn.exchange
        for symbol in conn.instruments:
            feed = conn.feed(symbol)
            market = ex.markets[symbol]
            if conn.market_data == "raw" and ex.id in BINANCE_FAMILY:
                stream = BinanceStream(feed, binance_endpoints(ex, market), market["id"], backoff_s=backoff_s)
            else:
                stream = CcxtStream(feed, ex, symbol, poll_s=poll_s, backoff_s=backoff_s,
                                    websocket=conn.market_data != "poll")
            stream.on_state.append(conn.stream_state)
            self.market.append(stream)

    @property
    def reconnects(self) -> int:
        return sum(s.reconnects for s in self.market) + self._account_reconnects

    def all_up(self) -> bool:
        return self._account_up and all(s.connected for s in self.market)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        for stream in self.market:
            self._tasks.append(loop.create_task(stream.run()))
        ex = self.conn.exchange
        if ex.has.get("watchOrders") and ex.has.get("watchMyTrades"):
            self._tasks.append(loop.create_task(self._loop("orders", self._watch_orders)))
            self._tasks.append(loop.create_task(self._loop("trades", self._watch_trades)))
        else:
            self._tasks.append(loop.create_task(self._loop("account poll", self._poll_account)))
        if ex.has.get("watchBalance"):
            self._tasks.append(loop.create_task(self._loop("balance", self._watch_balance)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _loop(self, what: str, step) -> None:
        """Runs `step` forever; a failure marks the account stream down, waits and retries."""
        delay = self.backoff_s[0]
        while True:
            try:
                await step()
                if not self._account_up:
                    self._account_up = True
                    self.conn.stream_state(True, f"{what} stream back")
                delay = self.backoff_s[0]
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a stream never dies of one error
                reason = f"{what} stream: {type(exc).__name__}: {exc}"
                if not is_transient(exc):
                    log.warning("%s: %s", self.conn.name, reason)
                if self._account_up:
                    self._account_up = False
                    self._account_reconnects += 1
                    self.conn.stream_state(False, reason)
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(self.backoff_s[1], delay * 2)

    async def _watch_orders(self) -> None:
        for order in await self.conn.exchange.watch_orders():
            self.conn.apply_exchange_order(order)

    async def _watch_trades(self) -> None:
        for trade in await self.conn.exchange.watch_my_trades():
            self.conn.apply_trade(trade)

    async def _watch_balance(self) -> None:
        self.conn.apply_balances(await self.conn.exchange.watch_balance())

    async def _poll_account(self) -> None:
        from connectors.ccxt.reconcile import reconcile

        await reconcile(self.conn)
        await asyncio.sleep(self.poll_s)

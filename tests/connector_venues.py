"""The venues the connector contract suite runs against, each built as a user would get it:
the demo exchange, paper trading on its feed, and the ccxt connector trading an unmodified
ccxt.pro.binance against the local Binance-protocol server over real sockets."""
from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

from app.interfaces.clock import RealClock

BALANCES = {"USDT": Decimal(100000), "BTC": Decimal(1)}
SYMBOL = "BTC/USDT"


@contextlib.asynccontextmanager
async def demo_venue():
    from connectors.demo.exchange import DemoExchange

    yield DemoExchange(RealClock(asyncio.get_running_loop()), balances=dict(BALANCES), seed=3)


@contextlib.asynccontextmanager
async def paper_venue():
    from connectors.demo.exchange import DemoExchange
    from connectors.paper.connector import PaperConnector

    clock = RealClock(asyncio.get_running_loop())
    demo = DemoExchange(clock, balances=dict(BALANCES), seed=3)
    demo.start()
    try:
        yield PaperConnector(demo.feed(SYMBOL), dict(BALANCES), clock, order_latency_ns=2_000_000,
                             cancel_latency_ns=2_000_000)
    finally:
        demo.stop()


@contextlib.asynccontextmanager
async def ccxt_venue(**server_options):
    import ccxt.pro as ccxtpro

    from connectors.ccxt.connector import CcxtConnector
    from connectors.local_exchange import LocalExchangeServer
    from connectors.local_exchange.ccxt_client import point_ccxt_at

    server = LocalExchangeServer(**server_options)
    await server.start()
    try:
        exchange = point_ccxt_at(ccxtpro.binance({"apiKey": server.api_key, "secret": server.secret}), server.url)
        connector = CcxtConnector("binance-local", exchange, RealClock(asyncio.get_running_loop()), symbols=[SYMBOL],
                                  resolve_delays_s=(0.1, 0.2, 0.5, 1, 2))
        connector.server = server  # for the ccxt-only tests (faults)
        yield connector
        if connector.connection_state.value != "down":
            await connector.disconnect()
        else:
            await exchange.close()
    finally:
        await server.stop()


VENUES = {"demo": demo_venue, "paper": paper_venue, "ccxt": ccxt_venue}


async def until(predicate, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)

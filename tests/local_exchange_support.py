"""Shared by the local exchange tests: a server in a fresh event loop and ccxt pointed at it."""
from __future__ import annotations

import asyncio
import contextlib

import ccxt.pro as ccxtpro

from connectors.local_exchange import LocalExchangeServer
from connectors.local_exchange.ccxt_client import point_ccxt_at

SYMBOL = "BTC/USDT"


def run(coro_fn, timeout: float = 60.0, **server_kwargs):
    """Runs `coro_fn(server)` against a started server; the server is always stopped."""

    async def main():
        server = LocalExchangeServer(**server_kwargs)
        await server.start()
        try:
            return await asyncio.wait_for(coro_fn(server), timeout)
        finally:
            await server.stop()

    return asyncio.run(main())


@contextlib.asynccontextmanager
async def client(server, secret: str | None = None, **config):
    ex = ccxtpro.binance({"apiKey": server.api_key, "secret": secret or server.secret,
                          "enableRateLimit": False, **config})
    point_ccxt_at(ex, server.url)
    try:
        yield ex
    finally:
        await ex.close()

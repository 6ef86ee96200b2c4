"""A live exchange account as a venue kind ("ccxt"): the connector for the config's account.

The wiring resolves the saved account and its keys (from the OS keyring, never a config)
into the request; this builds an unmodified ccxt.pro exchange with ccxt's rate limiter on,
sandbox mode or a custom URL (the local rehearsal exchange) as the account says, and the
connector for the config's symbol. It must be connected (markets loaded) before bots are
built on it: the VenueBuild says so.
"""
from __future__ import annotations

import asyncio

from app.config.schema import ConfigError
from app.interfaces.clock import RealClock
from app.interfaces.venues import VenueBuild, VenueRequest


def make_exchange(exchange_id: str, credentials, *, sandbox: bool = False, url: str = "", timeout_s: float = 10.0):
    import ccxt.pro as ccxtpro

    cls = getattr(ccxtpro, exchange_id, None)
    if cls is None:
        raise ValueError(f"ccxt has no websocket (pro) client for {exchange_id!r}")
    exchange = cls({
        "apiKey": credentials.key,
        "secret": credentials.secret,
        "password": credentials.passphrase or None,
        "enableRateLimit": True,
        "timeout": int(timeout_s * 1000),
    })
    if sandbox:
        if not exchange.urls.get("test"):
            raise ValueError(f"{exchange_id} has no sandbox (testnet) in ccxt")
        exchange.set_sandbox_mode(True)
    if url:
        from connectors.local_exchange.ccxt_client import point_ccxt_at

        point_ccxt_at(exchange, url)
    return exchange


def connector_for_account(account, credentials, symbols: list[str], *, order_rate: float = 10.0,
                          read_only: bool = False, websocket_orders: bool = False):
    """The connector of a saved account (exchange id, sandbox, url) for these markets."""
    from connectors.ccxt.connector import CcxtConnector
    from connectors.ccxt.rate_budget import RateBudget

    exchange = make_exchange(account.exchange_id, credentials, sandbox=account.sandbox, url=account.url)
    return CcxtConnector(account.id, exchange, RealClock(asyncio.get_running_loop()), symbols=list(symbols),
                         budget=RateBudget(order_rate, max(1, int(order_rate * 2))), read_only=read_only,
                         use_websocket_orders=websocket_orders)


def build_ccxt(request: VenueRequest) -> VenueBuild:
    account, credentials = request.account, request.credentials
    if account is None or credentials is None:
        raise ConfigError(request.source, request.where("venue.exchange_account"),
                          "a ccxt venue needs a saved account (python main.py keys set ACCOUNT --exchange ID)")
    if not request.symbol:
        raise ConfigError(request.source, request.where("symbol"),
                          "a live venue needs the symbol to trade (e.g. BTC/USDT)")
    try:
        symbols = [request.symbol, *(s for s in request.extra_symbols if s != request.symbol)]
        connector = connector_for_account(account, credentials, symbols,
                                          order_rate=float(request.settings.get("order_rate") or 10.0),
                                          websocket_orders=bool(request.settings.get("websocket_orders")))
    except ValueError as exc:
        raise ConfigError(request.source, request.where("venue.exchange_account"), str(exc)) from None
    where = f" at {account.url}" if account.url else (" (sandbox)" if account.sandbox else "")
    return VenueBuild(connector, connector.clock, f"{account.exchange_id} account {account.id}{where}",
                      needs_connect=True)

"""An account's custom API URL: a ccxt exchange pointed at another server.

Used for the local rehearsal exchange (a Binance-protocol server on 127.0.0.1). When
connectors/local_exchange/ccxt_client.py provides `point_ccxt_at(exchange, base_url)`,
that is what points the exchange; otherwise `rewrite_urls` does the rewrite recorded in
the shared notes ("ccxt 4.5.90 against a local Binance-protocol server").
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def normalize_url(text: str) -> str:
    """`http(s)://host[:port]` without a trailing slash; ValueError saying what is wrong."""
    text = text.strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise ValueError(f"“{text}” is not a URL (expected http://HOST:PORT)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"“{text}” is not an http(s) URL (expected http://HOST:PORT)")
    if parts.username or parts.password:
        raise ValueError("the URL must not contain a user name or password")
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise ValueError(f"“{text}” has a path or query: give only http://HOST:PORT")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}{f':{port}' if port is not None else ''}"


def point_exchange_at(exchange: Any, base_url: str) -> None:
    """Points a ccxt exchange (REST and websocket URLs) at `base_url`: the local rehearsal
    exchange's own recipe (connectors/local_exchange/ccxt_client.py), one place for it."""
    from connectors.local_exchange.ccxt_client import point_ccxt_at

    point_ccxt_at(exchange, base_url)

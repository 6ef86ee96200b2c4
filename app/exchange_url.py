"""An account's custom API URL: a ccxt exchange pointed at another server.

Used for the local rehearsal exchange (a Binance-protocol server on 127.0.0.1). When
connectors/local_exchange/ccxt_client.py provides `point_ccxt_at(exchange, base_url)`,
that is what points the exchange; otherwise `rewrite_urls` does the rewrite recorded in
the shared notes ("ccxt 4.5.90 against a local Binance-protocol server").
"""
from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Callable
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


def _project_helper() -> Callable[[Any, str], None] | None:
    """point_ccxt_at from connectors/local_exchange/ccxt_client.py, when it exists."""
    name = "connectors.local_exchange.ccxt_client"
    try:
        if importlib.util.find_spec(name) is None:
            return None
    except ModuleNotFoundError:  # no connectors.local_exchange package
        return None
    helper = getattr(importlib.import_module(name), "point_ccxt_at", None)
    return helper if callable(helper) else None


def point_exchange_at(exchange: Any, base_url: str) -> None:
    """Points a ccxt exchange (REST and websocket URLs) at `base_url`."""
    helper = _project_helper()
    if helper is not None:
        helper(exchange, base_url)
    else:
        rewrite_urls(exchange, base_url)


def rewrite_urls(exchange: Any, base_url: str) -> None:
    """Every URL under urls['api'] to base_url + its original path (ws:// for websockets).

    Binance specifics from the notes: the spot stream URL needs `/stream` in its path
    (ccxt routes messages as spot only then), spot error codes are keyed by Binance's
    hostname (copied to the exact table), and markets are loaded from spot only with one
    call (no currencies or margin endpoints, which a local server does not serve).
    """
    parts = urlsplit(base_url)
    http_root = f"{parts.scheme}://{parts.netloc}"
    ws_root = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"

    def convert(value: Any, websocket: bool) -> Any:
        if isinstance(value, dict):
            return {k: convert(v, websocket or k in ("ws", "ws-api")) for k, v in value.items()}
        if isinstance(value, str) and "://" in value:
            original = urlsplit(value)
            ws = websocket or original.scheme in ("ws", "wss")
            return (ws_root if ws else http_root) + original.path + (f"?{original.query}" if original.query else "")
        return value

    exchange.urls["api"] = convert(exchange.urls.get("api"), False)
    api = exchange.urls["api"]
    ws = api.get("ws") if isinstance(api, dict) else None
    if isinstance(ws, dict) and isinstance(ws.get("spot"), str):
        path = urlsplit(ws["spot"]).path
        if "/stream" not in path:
            ws["spot"] = ws_root + "/stream" + path
    exceptions = getattr(exchange, "exceptions", None)
    if isinstance(exceptions, dict):
        spot = exceptions.get("spot")
        if isinstance(spot, dict) and isinstance(spot.get("exact"), dict) and isinstance(exceptions.get("exact"), dict):
            exceptions["exact"].update(spot["exact"])
    if getattr(exchange, "id", "") == "binance":
        exchange.options.update({"fetchCurrencies": False, "fetchMargins": False,
                                 "fetchMarkets": {"types": ["spot"]}})

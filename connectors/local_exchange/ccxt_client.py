"""Points an unmodified ccxt `binance` (sync, async or pro) at a local Binance-protocol
server such as `python main.py exchange serve`.

    ex = ccxt.pro.binance({"apiKey": key, "secret": secret})
    point_ccxt_at(ex, "http://127.0.0.1:PORT")

Every REST URL keeps its path on the new host; websocket URLs likewise, with spot's public
stream at /stream/ws (ccxt treats a connection as spot only when its URL contains
"/stream") and the websocket API at /ws-api/v3. Markets load with one call
(GET /api/v3/exchangeInfo: no currencies, margins or derivatives), and the spot error
codes ccxt keys by Binance's hostname are kept under the new one.
"""
from __future__ import annotations

from urllib.parse import urlsplit


def point_ccxt_at(exchange, base_url: str):
    """Rewrites `exchange`'s URLs and options in place and returns it."""
    http = base_url.rstrip("/")
    scheme, rest = http.split("://", 1)
    ws = ("wss" if scheme == "https" else "ws") + "://" + rest
    api = exchange.urls["api"]
    for key, value in list(api.items()):
        if isinstance(value, str):
            api[key] = http + urlsplit(value).path
    sockets = api.get("ws")
    if isinstance(sockets, dict):
        _rewrite_ws(sockets, ws)
        sockets["spot"] = sockets["margin"] = ws + "/stream/ws"
        if isinstance(sockets.get("ws-api"), dict):
            sockets["ws-api"]["spot"] = ws + "/ws-api/v3"
    options = exchange.options
    options["fetchCurrencies"] = False
    options["fetchMargins"] = False
    options["fetchMarkets"] = {"types": ["spot"]}
    options["defaultType"] = "spot"
    exceptions = exchange.exceptions
    spot_exact = exceptions.get("spot", {}).get("exact", {}) if isinstance(exceptions, dict) else {}
    if spot_exact:
        exceptions["exact"].update(spot_exact)
    return exchange


def _rewrite_ws(urls: dict, ws: str) -> None:
    for key, value in urls.items():
        if isinstance(value, str):
            urls[key] = ws + urlsplit(value).path
        elif isinstance(value, dict):
            _rewrite_ws(value, ws)

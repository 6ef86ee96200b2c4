"""Loading a live exchange's markets: from the exchange, cached on disk for offline use.

The cache (app/markets/ccxt_markets.py) is what backtests and the registry read for an
exchange's minimums and fees; after a successful load it is rewritten. Without a network
the cache alone lets the app start and show the rules (it cannot trade, of course).
"""
from __future__ import annotations

import logging
from typing import Any

from app.domain import Instrument
from app.markets.ccxt_markets import instrument_from_ccxt, load_markets_cache, markets_file, save_markets_cache

log = logging.getLogger(__name__)


class UnknownMarket(ValueError):
    """A configured symbol the exchange does not list; the message lists what it does."""


async def load_instruments(exchange: Any, symbols: list[str]) -> dict[str, Instrument]:
    try:
        await exchange.load_markets()
    except Exception as exc:  # noqa: BLE001 - fall back on the cache, say so
        cached = markets_file(exchange.id)
        if not cached.is_file():
            raise
        log.warning("%s: markets from the cache %s (%s)", exchange.id, cached, exc)
        import json

        data = json.loads(cached.read_text(encoding="utf-8"))
        exchange.set_markets(data["markets"] if isinstance(data, dict) else data)
    else:
        try:
            save_markets_cache(exchange.id, exchange.markets.values(), getattr(exchange, "precisionMode", 4))
        except OSError as exc:
            log.warning("%s: markets cache not written: %s", exchange.id, exc)
    out: dict[str, Instrument] = {}
    missing = [s for s in symbols if s not in exchange.markets]
    if missing:
        listed = sorted(exchange.markets)
        shown = ", ".join(listed[:30]) + (f" and {len(listed) - 30} more" if len(listed) > 30 else "")
        raise UnknownMarket(f"{exchange.id} does not trade {', '.join(missing)} (it trades: {shown})")
    source = f"{exchange.id} markets"
    for symbol in symbols:
        out[symbol] = instrument_from_ccxt(exchange.markets[symbol], precision_mode=getattr(exchange, "precisionMode", 4),
                                           source=source)
    return out


def cached_instruments(exchange_id: str) -> dict[str, Instrument]:
    return load_markets_cache(exchange_id)

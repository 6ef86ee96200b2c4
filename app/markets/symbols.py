"""Exchange symbol ids -> ccxt's unified symbols, for the Binance family.

A recording names its market by the venue's id (ETHUSDT, BTCUSD_PERP); everything else in
Colibri speaks ccxt's unified symbols (ETH/USDT, ETH/USDT:USDT, BTC/USD:BTC), so configs,
reports and live accounts agree on one name per market. Binance ids carry no separator:
the quote asset is found as the longest known suffix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from app.domain.instrument import INVERSE, LINEAR, SPOT

QUOTE_ASSETS = (
    "FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDP", "DAI", "UST", "USD", "EUR", "GBP", "TRY", "BRL",
    "AUD", "JPY", "RUB", "UAH", "ZAR", "PLN", "RON", "ARS", "MXN", "COP", "IDR", "BIDR", "NGN",
    "BTC", "ETH", "BNB", "XRP", "TRX", "DOGE", "DOT", "SOL",
)
"""Quote assets Binance lists, longest-match first where one is a suffix of another."""

MARKETS = ("spot", "usdm", "coinm")
"""Binance's three market families: spot, USD-M futures (linear), COIN-M futures (inverse)."""

_DELIVERY = re.compile(r"^(?P<pair>[A-Z0-9]+)_(?P<expiry>PERP|\d{6})$")


class UnknownSymbol(ValueError):
    """An id whose base and quote cannot be told apart."""


@dataclass(frozen=True)
class SymbolInfo:
    exchange_symbol: str
    market: str  # spot | usdm | coinm
    kind: str  # spot | linear | inverse
    base: str
    quote: str
    settle: str
    unified: str
    contract_size: Decimal


def split_pair(pair: str) -> tuple[str, str]:
    """BTCUSDT -> (BTC, USDT); the longest known quote suffix wins."""
    pair = pair.upper()
    for quote in sorted(QUOTE_ASSETS, key=len, reverse=True):
        if pair.endswith(quote) and len(pair) > len(quote):
            return pair[: -len(quote)], quote
    raise UnknownSymbol(f"cannot split {pair!r} into base and quote (known quotes: {', '.join(QUOTE_ASSETS)})")


def coinm_contract_size(base: str) -> Decimal:
    """Binance COIN-M contracts are worth 100 USD for BTC and 10 USD for every other coin."""
    return Decimal(100) if base == "BTC" else Decimal(10)


def binance_symbol(exchange_symbol: str, market: str) -> SymbolInfo:
    """What a Binance id means in one market family, with its unified ccxt symbol."""
    if market not in MARKETS:
        raise ValueError(f"unknown Binance market {market!r} (known: {', '.join(MARKETS)})")
    ident = exchange_symbol.upper()
    expiry = ""
    match = _DELIVERY.match(ident)
    pair = ident
    if match:
        pair = match["pair"]
        expiry = "" if match["expiry"] == "PERP" else match["expiry"]
    base, quote = split_pair(pair)
    if market == "spot":
        return SymbolInfo(ident, market, SPOT, base, quote, quote, f"{base}/{quote}", Decimal(1))
    if market == "usdm":
        unified = f"{base}/{quote}:{quote}" + (f"-{expiry}" if expiry else "")
        return SymbolInfo(ident, market, LINEAR, base, quote, quote, unified, Decimal(1))
    unified = f"{base}/{quote}:{base}" + (f"-{expiry}" if expiry else "")
    return SymbolInfo(ident, market, INVERSE, base, quote, base, unified, coinm_contract_size(base))

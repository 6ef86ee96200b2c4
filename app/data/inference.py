"""Instrument rules inferred from a Binance recording itself, for any symbol.

A recording carries no exchange metadata, but it shows everything the rules are made of:
the stream names and `s` fields name the symbol, the message shapes tell spot from USD-M
and COIN-M futures, and the decimals the prices and quantities actually use give the tick
and the lot (the finest step seen). Binance pads decimals with zeros (61845.99000000), so
trailing zeros do not count.

Quantities of book levels are sums of resting orders, some placed under older, finer
rules; trades and bookTicker quantities are single orders or the touch and follow today's
lot, so the lot is read from those when the file has any (book levels otherwise).

What comes out is printed with where it came from; `data verify` then proves it: a wrong
tick or lot would make values off-grid or the book inexact.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Iterable

import orjson

from app.markets.symbols import SymbolInfo, UnknownSymbol, binance_symbol


class InferenceError(ValueError):
    """The data does not say what market it is."""


def stream_kind(stream: str) -> str:
    """'depth', 'trade', 'aggTrade', 'bookTicker', 'markPrice' or '' from a stream name
    such as btcusdt@depth@100ms or btcusd_perp@markPrice@1s."""
    parts = stream.split("@")
    if len(parts) >= 2 and parts[1] in ("depth", "trade", "aggTrade", "bookTicker", "markPrice"):
        return parts[1]
    return ""


def detect_family(message: dict) -> str | None:
    """'spot', 'usdm' or 'coinm' from one message's shape, None when it does not tell.

    Futures depth diffs carry `pu`, futures trades `X`, futures bookTickers and snapshots an
    event time `E`; COIN-M symbols carry an expiry (BTCUSD_PERP) and messages a pair `ps`.
    """
    if "lastUpdateId" in message:
        if "E" not in message and "T" not in message:
            return "spot"
        return "coinm" if "pair" in message or "_" in str(message.get("symbol", "")) else "usdm"
    stream = message.get("stream")
    data = message.get("data")
    if not isinstance(stream, str) or not isinstance(data, dict):
        return None
    kind = stream_kind(stream)
    if kind == "depth":
        futures = "pu" in data
    elif kind == "trade":
        futures = "X" in data
    elif kind == "bookTicker":
        futures = "E" in data
    elif kind in ("aggTrade", "markPrice"):
        futures = True if kind == "markPrice" else "_" in str(data.get("s", "")) or "X" in data
    else:
        return None
    if not futures:
        return "spot"
    symbol = str(data.get("s", stream.split("@")[0])).upper()
    return "coinm" if "ps" in data or "_" in symbol else "usdm"


def _decimals(text: object) -> int:
    """Significant decimals of a Binance decimal string ('0.01000000' -> 2)."""
    if not isinstance(text, str):
        return 0
    frac = text.partition(".")[2].rstrip("0")
    return len(frac)


def _levels_decimals(*sides: object) -> tuple[int, int, int]:
    """(finest price decimals, finest quantity decimals, levels) of [[price, qty], ...] lists."""
    price_dec, qty_dec, count = 0, -1, 0
    for levels in sides:
        for level in levels or ():  # type: ignore[union-attr]
            if isinstance(level, list) and len(level) >= 2:
                price_dec = max(price_dec, _decimals(level[0]))
                qty_dec = max(qty_dec, _decimals(level[1]))
                count += 1
    return price_dec, qty_dec, count


@dataclass
class InferredRules:
    market: str  # spot | usdm | coinm
    symbol: SymbolInfo
    tick_size: Decimal
    lot_size: Decimal
    prices_seen: int = 0
    quantities_seen: int = 0
    lot_from: str = ""  # which quantities gave the lot
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """What was inferred and from where, in one line."""
        s = self.symbol
        extra = f", contract size {s.contract_size} {s.quote}" if s.kind == "inverse" else ""
        return (
            f"inferred from the data: Binance {self.market} {s.exchange_symbol} = {s.unified} ({s.kind}{extra}); "
            f"tick {self.tick_size} (finest of {self.prices_seen:,} prices), "
            f"lot {self.lot_size} (finest of {self.quantities_seen:,} {self.lot_from} quantities)"
        )


def infer_rules(
    lines: Iterable[tuple[Path, int, int, bytes]], *, market: str | None = None, symbol: str | None = None
) -> InferredRules:
    """Reads (path, line, receive ns, json) tuples once and infers market, symbol, tick, lot.

    `market`/`symbol` force what the caller knows. Lines that are not JSON objects are left
    to the parser, which reports them with file and line.
    """
    family = market
    ident = symbol.upper() if symbol else None
    price_dec = 0
    strict_qty_dec = -1  # trades and bookTickers
    level_qty_dec = -1  # book levels
    prices = strict_qtys = level_qtys = 0
    for _path, _line, _ts, payload in lines:
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(msg, dict):
            continue
        if family is None:
            family = detect_family(msg)
        if "lastUpdateId" in msg:
            if ident is None and isinstance(msg.get("symbol"), str):
                ident = msg["symbol"].upper()
            p_dec, q_dec, n = _levels_decimals(msg.get("bids"), msg.get("asks"))
            price_dec, level_qty_dec = max(price_dec, p_dec), max(level_qty_dec, q_dec)
            prices += n
            level_qtys += n
            continue
        stream, data = msg.get("stream"), msg.get("data")
        if not isinstance(stream, str) or not isinstance(data, dict):
            continue
        kind = stream_kind(stream)
        if not kind:
            continue
        if ident is None:
            ident = str(data.get("s") or stream.split("@")[0]).upper()
        if kind == "depth":
            p_dec, q_dec, n = _levels_decimals(data.get("b"), data.get("a"))
            price_dec, level_qty_dec = max(price_dec, p_dec), max(level_qty_dec, q_dec)
            prices += n
            level_qtys += n
        elif kind in ("trade", "aggTrade"):
            price_dec = max(price_dec, _decimals(data.get("p")))
            strict_qty_dec = max(strict_qty_dec, _decimals(data.get("q")))
            prices += 1
            strict_qtys += 1
        elif kind == "bookTicker":
            for p, q in (("b", "B"), ("a", "A")):
                price_dec = max(price_dec, _decimals(data.get(p)))
                strict_qty_dec = max(strict_qty_dec, _decimals(data.get(q)))
                prices += 1
                strict_qtys += 1
    if family is None:
        raise InferenceError("cannot tell the market: no depth, trade or bookTicker message")
    if ident is None:
        raise InferenceError("cannot tell the symbol: no message names one")
    try:
        info = binance_symbol(ident, family)
    except UnknownSymbol as exc:
        raise InferenceError(str(exc)) from None
    if prices == 0:
        raise InferenceError(f"{ident}: no prices in the data, the tick cannot be inferred")
    if strict_qtys:
        qty_dec, qtys, lot_from = strict_qty_dec, strict_qtys, "trade and bookTicker"
    else:
        qty_dec, qtys, lot_from = level_qty_dec, level_qtys, "book level"
    return InferredRules(
        market=family,
        symbol=info,
        tick_size=Decimal(1).scaleb(-price_dec),
        lot_size=Decimal(1).scaleb(-max(qty_dec, 0)),
        prices_seen=prices,
        quantities_seen=qtys,
        lot_from=lot_from,
    )

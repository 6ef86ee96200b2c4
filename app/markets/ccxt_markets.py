"""ccxt market dicts -> Instruments, and the per-exchange cache of them on disk.

ccxt describes every market the same way whatever the exchange (`precision`, `limits`,
`contractSize`, `linear`/`inverse`, `maker`/`taker`), so one conversion serves them all.
The cache is `<data dir>/markets/<exchange id>.json`: a JSON list (or {symbol: market}
dict, or ccxt's `{"markets": ...}`) of market dicts as `exchange.markets` holds them. The
live connector writes it after `load_markets()`; a user can drop a saved file there to
backtest with an exchange's real minimums and fees offline.

Precision: ccxt 4 uses TICK_SIZE precision mode for most exchanges (precision.price is
the step itself, e.g. 0.01); some report DECIMAL_PLACES (2 meaning 0.01). A whole number
>= 1 is read as a count of decimals only when the exchange says so (`precisionMode`);
otherwise as a step.
"""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Mapping

from app.domain.instrument import INVERSE, LINEAR, SPOT, Instrument
from app.markets.defaults import DEFAULT_FEES
from app.paths import data_dir

DECIMAL_PLACES = 2  # ccxt's precisionMode constants
TICK_SIZE = 4

BINANCE_FAMILY_EXCHANGES = {"spot": "binance", "usdm": "binanceusdm", "coinm": "binancecoinm"}
"""The ccxt exchange id whose markets describe each Binance recording family."""


class MarketsFileError(ValueError):
    """A markets cache file that cannot be used; the message names the file."""


def markets_file(exchange_id: str) -> Path:
    return data_dir() / "markets" / f"{exchange_id}.json"


def _number(value: Any) -> Decimal:
    """A ccxt number (float, int or string) as the decimal it printed: 5.0 -> 5, 0.01 -> 0.01."""
    number = Decimal(repr(value) if isinstance(value, float) else str(value)).normalize()
    return number.quantize(Decimal(1)) if number.as_tuple().exponent > 0 else number


def _step(value: Any, mode: int) -> Decimal | None:
    if value is None:
        return None
    step = _number(value)
    if mode == DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(step))
    return step


def instrument_from_ccxt(market: Mapping[str, Any], *, precision_mode: int = TICK_SIZE,
                         source: str = "") -> Instrument:
    """One ccxt market dict as an Instrument (ValueError naming the symbol when unusable)."""
    symbol = market.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise ValueError("a market without a symbol")
    precision = market.get("precision") or {}
    tick = _step(precision.get("price"), precision_mode)
    lot = _step(precision.get("amount"), precision_mode)
    if tick is None or lot is None or tick <= 0 or lot <= 0:
        raise ValueError(f"{symbol}: no usable price/amount precision")
    if market.get("spot") or market.get("type") == "spot":
        kind = SPOT
    elif market.get("inverse"):
        kind = INVERSE
    elif market.get("linear") or market.get("contract"):
        kind = LINEAR
    else:
        kind = SPOT
    maker_default, taker_default = DEFAULT_FEES[kind]
    limits = market.get("limits") or {}
    cost_min = (limits.get("cost") or {}).get("min")
    return Instrument(
        symbol=symbol,
        base=str(market.get("base") or ""),
        quote=str(market.get("quote") or ""),
        tick_size=tick,
        lot_size=lot,
        min_notional=_number(cost_min) if cost_min is not None else Decimal(0),
        maker_fee=_number(market["maker"]) if market.get("maker") is not None else maker_default,
        taker_fee=_number(market["taker"]) if market.get("taker") is not None else taker_default,
        kind=kind,
        settle=str(market.get("settle") or "") if kind != SPOT else "",
        contract_size=_number(market.get("contractSize") or 1),
        exchange_symbol=str(market.get("id") or ""),
        source=source,
    )


def _market_list(data: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("markets"), (list, dict)):
        data = data["markets"]
    if isinstance(data, dict):
        return [m for m in data.values() if isinstance(m, dict)]
    if isinstance(data, list):
        return [m for m in data if isinstance(m, dict)]
    raise ValueError("expected a list of ccxt market dicts")


def load_markets_cache(exchange_id: str, path: Path | None = None) -> dict[str, Instrument]:
    """The cached markets of an exchange by unified symbol; {} when there is no cache.
    Markets that cannot be read are skipped; a file that is not markets at all raises."""
    path = path or markets_file(exchange_id)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        mode = data.get("precisionMode", TICK_SIZE) if isinstance(data, dict) else TICK_SIZE
        markets = _market_list(data)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise MarketsFileError(f"{path}: not a usable markets file ({exc})") from None
    out: dict[str, Instrument] = {}
    for market in markets:
        try:
            inst = instrument_from_ccxt(market, precision_mode=mode, source=f"{exchange_id} markets cache ({path})")
        except (ValueError, ArithmeticError):
            continue
        out[inst.symbol] = inst
    return out


def save_markets_cache(exchange_id: str, markets: Iterable[Mapping[str, Any]], precision_mode: int = TICK_SIZE,
                       path: Path | None = None) -> Path:
    """Writes the cache atomically (a crash never leaves half a file)."""
    path = path or markets_file(exchange_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"precisionMode": precision_mode, "markets": list(markets)}, default=str),
                   encoding="utf-8")
    tmp.replace(path)
    return path

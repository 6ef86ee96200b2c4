"""One place that decides the rules of a market, from every source a user may have.

Layers, weakest first; each later layer replaces only the rules it states:
1. inferred from a recording (symbol, kind, tick, lot, contract size; fees: the market
   kind's defaults, app/markets/defaults.py), or built-in rules for the demo markets;
2. the exchange's own market metadata (ccxt market dicts cached per exchange, see
   app/markets/ccxt_markets.py): minimum notional, fees, and for live trading every rule.
   For a recording, tick and lot stay those the data proves (rules change over time);
3. a bot config's `instrument:` section;
4. command-line flags.
The result keeps a `source` in words ("tick from the data; fees from binance markets
cache; min notional from --min-notional"), printed by `data info`, backtests and runs.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping

from app.domain.instrument import BTC_USD_INVERSE, BTC_USDT, BTC_USDT_PERP, KINDS, Instrument
from app.markets.defaults import DEFAULT_FEES

if TYPE_CHECKING:
    from app.data.inference import InferredRules

BUILT_IN = {i.symbol: i for i in (BTC_USDT, BTC_USDT_PERP, BTC_USD_INVERSE)}
"""Binance's rules for the demo markets, so the demo and the shared recordings need no cache."""

OVERRIDE_FIELDS = {
    "tick": "tick_size",
    "lot": "lot_size",
    "min_notional": "min_notional",
    "contract_size": "contract_size",
    "maker_fee": "maker_fee",
    "taker_fee": "taker_fee",
    "kind": "kind",
    "base": "base",
    "quote": "quote",
    "settle": "settle",
}
"""Config/CLI names of the rules a user may state -> Instrument fields."""

_DATA_RULES = ("tick_size", "lot_size", "kind", "contract_size", "base", "quote", "settle")


def instrument_from_inferred(rules: "InferredRules", exchange: Instrument | None = None) -> Instrument:
    """The instrument of a recording: what the data shows, plus what only the exchange knows
    (minimum notional and fees; from its cached metadata or the built-in rules)."""
    info = rules.symbol
    maker, taker = DEFAULT_FEES[info.kind]
    inst = Instrument(
        symbol=info.unified, base=info.base, quote=info.quote, tick_size=rules.tick_size,
        lot_size=rules.lot_size, maker_fee=maker, taker_fee=taker, kind=info.kind,
        settle=_settle_if_unusual(info.kind, info.base, info.quote, info.settle), contract_size=info.contract_size,
        exchange_symbol=info.exchange_symbol, source=rules.describe() + f"; fees: {info.kind} defaults",
    )
    known = exchange or BUILT_IN.get(info.unified)
    if known is not None and known.kind == inst.kind:
        where = known.source or "built-in Binance rules"
        inst = inst.with_rules(min_notional=known.min_notional, maker_fee=known.maker_fee,
                               taker_fee=known.taker_fee, source=rules.describe()
                               + f"; min notional and fees from {where}")
    return inst


def apply_overrides(instrument: Instrument, overrides: Mapping[str, Any], where: str) -> Instrument:
    """Replaces the rules a user stated (`tick`, `lot`, ... as in OVERRIDE_FIELDS, or the
    Instrument field names); `where` names them in the source ("config x.yaml")."""
    if not overrides:
        return instrument
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        name = OVERRIDE_FIELDS.get(key, key)
        if name not in OVERRIDE_FIELDS.values():
            raise ValueError(f"{where}: unknown instrument rule {key!r} (known: {', '.join(OVERRIDE_FIELDS)})")
        if name == "kind" and value not in KINDS:
            raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}, got {value!r}")
        changes[name] = value if name in ("kind", "base", "quote", "settle") else Decimal(str(value))
    said = ", ".join(sorted(overrides))
    source = f"{instrument.source}; {said} from {where}" if instrument.source else f"{said} from {where}"
    try:
        return instrument.with_rules(**changes, source=source)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def resolve(
    base: Instrument,
    *,
    exchange: Instrument | None = None,
    config: Mapping[str, Any] | None = None,
    config_where: str = "the config's instrument section",
    cli: Mapping[str, Any] | None = None,
    from_data: bool = False,
) -> Instrument:
    """Layers exchange metadata, config and command line over `base` (see module docstring).

    `from_data`: `base` was inferred from a recording, so its tick, lot, kind and contract
    size stay unless the user overrides them."""
    inst = base
    if exchange is not None and exchange.symbol == base.symbol:
        if from_data:
            keep = {name: getattr(base, name) for name in _DATA_RULES}
            inst = exchange.with_rules(**keep, exchange_symbol=base.exchange_symbol or exchange.exchange_symbol,
                                       source=f"{base.source}; other rules from {exchange.source or 'the exchange'}")
        else:
            inst = exchange
    inst = apply_overrides(inst, config or {}, config_where)
    return apply_overrides(inst, cli or {}, "the command line")


def _settle_if_unusual(kind: str, base: str, quote: str, settle: str) -> str:
    """"" when the settlement asset is the kind's usual one (quote; base for inverse), so
    equal rules compare equal whichever source built them."""
    usual = base if kind == "inverse" else quote
    return "" if settle in ("", usual) else settle


INTEGER_LIMIT = 2**62
"""What the engine's int64 counts may reach: a sum or difference of two still fits."""


def integer_range_problem(instrument: Instrument, max_price_ticks: int, max_qty_lots: int) -> str | None:
    """Why a market's prices and sizes do not fit the 64-bit integers the book, the queue
    model and the strategies count in (ticks, lots, ticks x lots for a notional), or None.

    A recording with a stray over-precise price infers a tiny tick (say 1E-14): prices of
    tens of thousands are then ~1E18 ticks and a notional of them overflows. Said here, in
    words, rather than as an OverflowError from the middle of a strategy."""
    tick, lot = instrument.tick_size, instrument.lot_size
    if max_price_ticks >= INTEGER_LIMIT:
        return (f"prices up to {instrument.ticks_to_price(max_price_ticks)} at a tick of {tick} are "
                f"{max_price_ticks:.3g} ticks, beyond the 64-bit integers the engine counts in")
    if max_qty_lots >= INTEGER_LIMIT:
        return (f"quantities up to {max_qty_lots * lot} at a lot of {lot} are {max_qty_lots:.3g} lots, "
                f"beyond the 64-bit integers the engine counts in")
    notional = max_price_ticks * max_qty_lots
    if notional >= INTEGER_LIMIT:
        return (f"a notional of the largest price and quantity at a tick of {tick} and a lot of {lot} is "
                f"{notional:.3g} tick-lots, beyond the 64-bit integers the engine counts in")
    min_units = instrument.min_notional / (tick * lot) if instrument.min_notional > 0 else 0
    if min_units >= INTEGER_LIMIT:
        return (f"the minimum notional {instrument.min_notional} at a tick of {tick} and a lot of {lot} is "
                f"{float(min_units):.3g} tick-lots, beyond the 64-bit integers the engine counts in")
    return None

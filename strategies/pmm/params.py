"""The pure market making parameters: one schema for the YAML config, the bot form and live
edits, the rules between fields, and their translation into exact integers once per change.

Spreads are in basis points (1 bp = 0.01%), amounts in the base asset, times in seconds,
percentages in percent: what a trader reads on an exchange's screen. The quoting hot path
never sees a Decimal: `derive` turns every parameter into integer ticks, lots and units
of 1e-8 (strategies/quoting.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.config.schema import ConfigError, Entries, Field, Schema
from app.domain import Instrument, Side
from strategies import common_fields as cf
from strategies.quoting import bps_text, bps_to_units, pct_to_units, rate_to_units

OFF = Decimal(-1)
"""price_ceiling / price_floor value meaning "not used"."""

PRICE_TYPES = ("mid_price", "last_price", "best_bid", "best_ask", "last_own_trade_price", "inventory_cost")
COST_MODES = ("off", "track", "limit")


def _check(values: dict[str, Any], source: str, prefix: str) -> None:
    """Rules between fields; each error names the field to change."""

    def fail(name: str, reason: str) -> ConfigError:
        return ConfigError(source, f"{prefix}{name}", reason)

    for name in ("price_ceiling", "price_floor"):
        value = values.get(name, OFF)
        if value != OFF and value <= 0:
            raise fail(name, f"must be a positive price, or -1 to turn it off, got {value}")
    ceiling, floor = values.get("price_ceiling", OFF), values.get("price_floor", OFF)
    if ceiling != OFF and floor != OFF and floor >= ceiling:
        raise fail("price_floor", f"must be below price_ceiling ({ceiling}), got {floor}")
    levels = values.get("order_levels", 1)
    last = values.get("order_amount", Decimal(1)) + (levels - 1) * values.get("order_level_amount", Decimal(0))
    if last <= 0:
        raise fail("order_level_amount", f"makes level {levels} order {last} (base): every level needs a positive "
                                         f"amount; use fewer levels or a smaller step")
    if values.get("price_type") == "inventory_cost" and values.get("inventory_cost_price", "off") == "off":
        raise fail("price_type", "inventory_cost needs inventory_cost_price set to track or limit")


SCHEMA = Schema(
    (
        cf.order_amount("Size of the first order on each side, in the base asset (e.g. BTC)."),
        cf.bps("bid_spread", 2, "Distance of the first bid below the reference price (1 bp = 0.01%)."),
        cf.bps("ask_spread", 2, "Distance of the first ask above the reference price."),
        Field("minimum_spread", "decimal", Decimal("-1"), minimum=-1, maximum=5000, unit="bp",
              help="Cancel an order at once when its distance to the reference price falls below this; "
                   "negative turns it off."),
        cf.order_levels("Orders per side; each further level sits order_level_spread further out."),
        cf.bps("order_level_spread", 2, "Extra distance from the reference price for each further level."),
        Field("order_level_amount", "decimal", Decimal("0"), minimum=Decimal("-1e9"), maximum=Decimal("1e9"),
              unit="base", help="Added to the order size at each further level (negative: smaller further out)."),
        cf.refresh_time(minimum=0, help="How often orders are checked against the wanted prices and replaced; "
                                        "0 = on every price change."),
        Field("order_refresh_tolerance_pct", "decimal", Decimal("0"), minimum=0, maximum=10, unit="%",
              help="At a refresh, an order is kept while the wanted price is within this % of its price."),
        Field("max_order_age", "float", 1800.0, minimum=0.1, maximum=7 * 86400, unit="s",
              help="An order older than this is replaced at the next refresh, even within the tolerance."),
        cf.filled_order_delay(default=60.0, maximum=86400,
                              help="After a fill, wait this long before placing new orders (the others are "
                                   "refreshed then)."),
        Field("inventory_skew_enabled", "bool", False,
              help="Scale bid and ask sizes to steer the base asset's share of the portfolio to the target."),
        cf.inventory_target_base_pct(),
        Field("inventory_range_multiplier", "decimal", Decimal("1"), minimum=0, maximum=1000,
              exclusive_minimum=True, unit="x",
              help="Skew range around the target, in multiples of the total order size of one side: "
                   "at its edge one side is doubled and the other stops."),
        Field("inventory_cost_price", "choice", "off", choices=COST_MODES,
              help="track: follow the average cost of the base held; limit: also never sell below it "
                   "nor buy above it."),
        Field("inventory_cost_start_price", "decimal", minimum=0, exclusive_minimum=True, unit="quote",
              help="Cost of the base held at the start; empty: the reference price when the bot starts."),
        cf.hanging_orders_enabled("After a fill, the other side's orders stay (not refreshed) until filled or too "
                                  "far away."),
        cf.hanging_orders_cancel_pct("A hanging order is cancelled when its price is further than this % from the "
                                     "reference."),
        Field("price_ceiling", "decimal", OFF, minimum=-1, unit="quote",
              help="Above this reference price only asks are placed; -1 turns it off."),
        Field("price_floor", "decimal", OFF, minimum=-1, unit="quote",
              help="Below this reference price only bids are placed; -1 turns it off."),
        Field("moving_price_band_enabled", "bool", False,
              help="Use a ceiling and floor around the reference price, re-centred every band refresh time "
                   "(replaces price_ceiling and price_floor)."),
        Field("moving_price_band_ceiling_pct", "decimal", Decimal("1"), minimum=0, maximum=1000,
              exclusive_minimum=True, unit="%", help="Band ceiling: this % above the price the band was centred on."),
        Field("moving_price_band_floor_pct", "decimal", Decimal("1"), minimum=0, maximum=100,
              exclusive_minimum=True, unit="%", help="Band floor: this % below the price the band was centred on."),
        Field("moving_price_band_refresh_time", "float", 86400.0, minimum=1, maximum=30 * 86400, unit="s",
              help="How often the band is re-centred on the reference price."),
        Field("ping_pong_enabled", "bool", False,
              help="After a buy fills, only sell (and the reverse) until buys and sells are level again."),
        Field("order_optimization_enabled", "bool", False,
              help="Move the first bid/ask just inside the best price of others when ours would be further in."),
        Field("bid_order_optimization_depth", "decimal", Decimal("0"), minimum=0, unit="base",
              help="Bid volume of others to ignore (dust) when finding the best bid to jump ahead of."),
        Field("ask_order_optimization_depth", "decimal", Decimal("0"), minimum=0, unit="base",
              help="Ask volume of others to ignore (dust) when finding the best ask to jump ahead of."),
        Field("add_transaction_costs", "bool", False,
              help="Widen every price by the fee rate, so each fill pays its own fee."),
        Field("price_source", "choice", "current_market", choices=("current_market", "external_market"),
              help="Market the reference price comes from; external_market needs a price_source market "
                   "in the config."),
        Field("price_type", "choice", "mid_price", choices=PRICE_TYPES,
              help="Which price is the reference; last prices and the inventory cost use the mid until "
                   "there is one."),
        Field("take_if_crossed", "bool", False,
              help="A quote that would cross the book is sent as a taker limit order instead of skipped."),
        Field("order_override", "list", Entries(), maximum=40, unit="side spread(bp) amount(base)",
              items=(
                  Field("side", "choice", choices=("buy", "sell"), required=True, help="buy or sell."),
                  cf.bps("spread", None, "Distance from the reference price.", required=True),
                  Field("amount", "decimal", required=True, minimum=0, exclusive_minimum=True, unit="base",
                        help="Order size."),
              ),
              help="Explicit orders replacing the levels, e.g. 'buy 2 0.01; sell 3 0.01'; none: use the levels."),
    ),
    check=_check,
)


@dataclass(frozen=True, slots=True)
class QuoteParams:
    """The parameters the quote computation reads, as exact integers for one instrument."""

    bid_levels: tuple[tuple[int, int], ...]  # (spread units, lots), first level first
    ask_levels: tuple[tuple[int, int], ...]
    min_spread_units: int  # < 0: off
    fee_units: int  # fee added to each price (add_transaction_costs), 0 when off
    optimise: bool
    take_if_crossed: bool
    cost_limit: bool
    min_notional_ticks_lots: Decimal  # a quote's ticks x lots must reach this
    ceiling_ticks: int  # static price band, 0 when off
    floor_ticks: int


def level_amounts(params: dict[str, Any]) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    """(spread bp, amount base) per level for bids and asks: the override's entries when
    given, else the regular ladder."""
    override: Entries = params.get("order_override") or Entries()
    if override:
        bids = [(e["spread"], e["amount"]) for e in override if e["side"] == Side.BUY.value]
        asks = [(e["spread"], e["amount"]) for e in override if e["side"] == Side.SELL.value]
        return sorted(bids), sorted(asks)
    step, extra = params["order_level_spread"], params["order_level_amount"]
    ladder = range(params["order_levels"])
    bids = [(params["bid_spread"] + step * i, params["order_amount"] + extra * i) for i in ladder]
    asks = [(params["ask_spread"] + step * i, params["order_amount"] + extra * i) for i in ladder]
    return bids, asks


def derive(params: dict[str, Any], inst: Instrument) -> QuoteParams:
    """Integers for the hot path; called once per parameter change (and on the first book)."""
    bids, asks = level_amounts(params)

    def ladder(levels: list[tuple[Decimal, Decimal]]) -> tuple[tuple[int, int], ...]:
        return tuple((bps_to_units(spread), inst.round_amount_to_lots(amount)) for spread, amount in levels)

    fee = inst.maker_fee if not params["take_if_crossed"] else max(inst.maker_fee, inst.taker_fee)
    ceiling, floor = params["price_ceiling"], params["price_floor"]
    return QuoteParams(
        bid_levels=ladder(bids),
        ask_levels=ladder(asks),
        min_spread_units=bps_to_units(params["minimum_spread"]) if params["minimum_spread"] >= 0 else -1,
        fee_units=rate_to_units(fee) if params["add_transaction_costs"] else 0,
        optimise=params["order_optimization_enabled"],
        take_if_crossed=params["take_if_crossed"],
        cost_limit=params["inventory_cost_price"] == "limit",
        min_notional_ticks_lots=inst.min_notional / (inst.tick_size * inst.lot_size),
        ceiling_ticks=inst.round_price_to_ticks(ceiling, up=False) if ceiling != OFF else 0,
        floor_ticks=inst.round_price_to_ticks(floor, up=True) if floor != OFF else 0,
    )


def band_units(params: dict[str, Any]) -> tuple[int, int]:
    """The moving band's (ceiling, floor) distances in units of 1e-8."""
    return pct_to_units(params["moving_price_band_ceiling_pct"]), pct_to_units(params["moving_price_band_floor_pct"])


def fee_warnings(params: dict[str, Any], instrument: Instrument) -> list[str]:
    """A round trip earns a bid's and an ask's spread and pays two maker fees; with
    add_transaction_costs the fees are in the prices already."""
    if params["add_transaction_costs"]:
        return []
    bids, asks = level_amounts(params)
    if not bids or not asks:
        return []
    spread = bids[0][0] + asks[0][0]
    round_trip = 2 * instrument.maker_fee * 10_000
    if spread >= round_trip:
        return []
    where = "order_override" if params["order_override"] else "bid_spread + ask_spread"
    return [f"the quoted spread ({bps_text(spread)} bp, {where}) is below the round-trip maker fee "
            f"({bps_text(round_trip)} bp on {instrument.symbol}): a round trip loses "
            f"{bps_text(round_trip - spread)} bp unless the price moves your way (add_transaction_costs "
            f"widens prices by the fee)"]


__all__ = ["COST_MODES", "OFF", "PRICE_TYPES", "QuoteParams", "SCHEMA", "band_units", "derive",
           "fee_warnings", "level_amounts"]

"""The cross-exchange market maker's parameters: one schema for configs, CLI, form and edits.

Percentages are written as percent (0.3 = 0.3 %), as traders quote profitability and
slippage; amounts are in the maker market's base asset.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.config.schema import ConfigError, Field, Schema
from strategies import common_fields as cf

SCHEMA = Schema(
    (
        cf.order_amount("Size of each maker quote in the maker market's base asset (e.g. BTC), before the "
                        "volume, balance and portfolio limits below."),
        Field("min_profitability", "decimal", Decimal("0.3"), minimum=-10, maximum=50, unit="%",
              help="Quotes are priced so that a fill hedged at once on the taker market earns at least "
                   "this, after the maker fee and the taker fee (the hedge price is the taker book's "
                   "average price for the whole amount)."),
        Field("adjust_order_enabled", "bool", True,
              help="Improve on the maker market's best price by one tick (just inside the top of the "
                   "book) when that is still at least min_profitability; otherwise quote exactly at the "
                   "least profitable acceptable price."),
        Field("top_depth_tolerance", "decimal", Decimal("0"), minimum=0, unit="base",
              help="When adjusting to the top of the maker book, levels holding less than this (own "
                   "orders not counted) are ignored, so a dust order cannot pull the quote."),
        Field("active_order_canceling", "bool", True,
              help="On: quotes are cancelled as soon as they fall below min_profitability and repriced "
                   "when the wanted price moves (at most once per anti_hysteresis_duration). Off "
                   "(passive): quotes stay until their profitability falls below cancel_order_threshold "
                   "or they expire."),
        Field("cancel_order_threshold", "decimal", Decimal("0"), minimum=-10, maximum=50, unit="%",
              help="Passive mode only: a resting quote whose hedged profitability drops below this is "
                   "cancelled (negative values let quotes rest at a small loss rather than churn). "
                   "At most min_profitability."),
        Field("limit_order_min_expiration", "float", 130.0, minimum=1, maximum=86400, unit="s",
              help="Quotes older than this are cancelled and placed again at the current price "
                   "(order refresh), in both modes."),
        Field("anti_hysteresis_duration", "float", 60.0, minimum=0, maximum=86400, unit="s",
              help="Active mode: the shortest time between two repricings of the same side (cancels "
                   "for lost profitability are never delayed)."),
        Field("order_size_taker_volume_factor", "decimal", Decimal("25"), minimum=0, maximum=100,
              exclusive_minimum=True, unit="%",
              help="A quote is at most this share of the taker book's volume at prices as good as the "
                   "hedge price, so the hedge does not move the taker market."),
        Field("order_size_taker_balance_factor", "decimal", Decimal("99.5"), minimum=0, maximum=100,
              exclusive_minimum=True, unit="%",
              help="Share of the taker account's balance (base for a maker bid's hedge, quote for a "
                   "maker ask's) a quote may need for its hedge."),
        Field("order_size_portfolio_ratio_limit", "decimal", Decimal("16.67"), minimum=0, maximum=100,
              exclusive_minimum=True, unit="%",
              help="A quote is at most this share of the whole portfolio on both markets (base plus "
                   "quote at the maker mid, in base)."),
        Field("slippage_buffer", "decimal", Decimal("5"), minimum=0, maximum=50, unit="%",
              help="Hedges are immediate-or-cancel limit orders this far beyond the taker price needed "
                   "for their amount, so a book that moves while the hedge travels still fills it."),
        cf.conversion_rate("taker_to_maker_base_conversion_rate", "maker base per taker base",
                           "Value of one taker base asset in maker base assets (e.g. 1 for BTC on both, or a "
                           "constant rate between a wrapped and a native coin)."),
        cf.conversion_rate("taker_to_maker_quote_conversion_rate", "maker quote per taker quote",
                           "Value of one taker quote asset in maker quote assets (e.g. 1 USDC = 1 USDT)."),
        Field("hedge_retry_seconds", "float", 1.0, minimum=0.05, maximum=3600, unit="s",
              help="Wait before a hedge that failed or filled only in part is sent again for what is "
                   "left; maker quoting pauses until the position is hedged."),
    )
)


def check_together(params: dict[str, Any], source: str) -> None:
    """Rules between fields, which one field's range cannot express."""
    if params["cancel_order_threshold"] > params["min_profitability"]:
        raise ConfigError(source, "cancel_order_threshold",
                          f"must be at most min_profitability ({params['min_profitability']} %), got "
                          f"{params['cancel_order_threshold']}: every new quote would be cancelled at once")

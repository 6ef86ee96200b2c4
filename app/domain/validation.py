"""Exchange-rule checks shared by every simulated venue, with reasons a trader understands."""
from __future__ import annotations

from app.domain.instrument import Instrument
from app.domain.numbers import fmt_plain
from app.domain.order import OrderType


def check_order(instrument: Instrument, order_type: OrderType, amount_lots: int, price_ticks: int) -> str | None:
    """Returns why an order breaks the instrument's rules, or None when it is acceptable.

    Prices and amounts are already integer ticks/lots, so "off tick" is caught where a
    Decimal is converted (Instrument.price_to_ticks); here the integers are checked.
    """
    if amount_lots <= 0:
        return f"amount must be positive (got {amount_lots} lots)"
    if order_type is OrderType.MARKET:
        return None
    if price_ticks <= 0:
        return f"price must be positive (got {price_ticks} ticks)"
    notional = instrument.notional(price_ticks, amount_lots)
    if notional < instrument.min_notional:
        return (
            f"below min notional: {fmt_plain(notional)} {instrument.quote} "
            f"< {fmt_plain(instrument.min_notional)} {instrument.quote}"
        )
    return None

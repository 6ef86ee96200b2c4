"""ccxt's dicts (floats and strings) -> our exact integer ticks and lots, and back.

ccxt hands prices and amounts as floats; every value an exchange reports is a decimal it
printed, so `repr(float)` recovers that decimal exactly for the sizes markets use, and it
is then rounded to the nearest tick or lot (never truncated: 0.29999999 is 0.3). What we
send goes out as decimal strings, which ccxt passes through its precision rules unchanged.
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from app.domain import Instrument, OrderStatus


def to_decimal(value: Any) -> Decimal:
    """The decimal a ccxt number printed, without trailing zeros (1.0 -> 1)."""
    if value is None:
        return Decimal(0)
    number = Decimal(repr(value) if isinstance(value, float) else str(value)).normalize()
    return number.quantize(Decimal(1)) if number.as_tuple().exponent > 0 else number


def ticks(inst: Instrument, price: Any) -> int:
    return int((to_decimal(price) / inst.tick_size).to_integral_value(ROUND_HALF_EVEN))


def lots(inst: Instrument, amount: Any) -> int:
    return int((to_decimal(amount) / inst.lot_size).to_integral_value(ROUND_HALF_EVEN))


def price_text(inst: Instrument, price_ticks: int) -> str:
    return format(inst.ticks_to_price(price_ticks), "f")


def amount_text(inst: Instrument, amount_lots: int) -> str:
    return format(inst.lots_to_amount(amount_lots), "f")


STATUS = {
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
}
"""ccxt's unified order statuses; a filled amount below the order's makes `open` partial."""


def client_id_of(order_or_trade: dict) -> str | None:
    """Our client order id in a ccxt order or trade dict (unified field, else Binance's raw)."""
    cid = order_or_trade.get("clientOrderId")
    if cid:
        return str(cid)
    info = order_or_trade.get("info") or {}
    for key in ("c", "clientOrderId", "newClientOrderId", "origClientOrderId"):
        value = info.get(key) if isinstance(info, dict) else None
        if value:
            return str(value)
    return None

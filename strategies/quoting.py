"""Pure helpers every quoting strategy shares: basis points as exact integers, and the
budget check made before an order is sent.

Prices are integer ticks and fractions of a price are integers in units of 1e-8
(`UNITS`), so a spread applied to a price is one integer multiplication and division:
no binary float ever decides a price, and the hot path stays compilable as it is.
"""
from __future__ import annotations

from decimal import Decimal

from app.domain import Instrument, Side

UNITS = 10**8
"""A price fraction of 1 in units of 1e-8: 1 bp = 10,000 units, 1% = 1,000,000 units."""


def bps_text(value: Decimal) -> str:
    """Basis points as a person writes them: 2.5, not 2.500 or 2.5E+0."""
    return format(Decimal(value).normalize(), "f")


def bps_to_units(bps: Decimal) -> int:
    """Basis points as an exact fraction of 1e8, rounded to the nearest unit (1e-4 bp)."""
    return int((Decimal(bps) * 10_000).to_integral_value())


def pct_to_units(pct: Decimal) -> int:
    """A percentage as an exact fraction of 1e8 (1% = 1,000,000 units)."""
    return int((Decimal(pct) * 1_000_000).to_integral_value())


def rate_to_units(rate: Decimal) -> int:
    """A fraction (a fee rate: 0.001 = 0.1%) in units of 1e-8."""
    return int((Decimal(rate) * UNITS).to_integral_value())


def available_budget(balances: dict) -> dict[str, Decimal]:
    """What can still be spent per asset: `{asset: Balance}` -> `{asset: available}`."""
    return {asset: bal.available for asset, bal in balances.items()}


def spend_if_affordable(inst: Instrument, side: Side, price_ticks: int, amount_lots: int,
                        budget: dict[str, Decimal]) -> bool:
    """Whether the account can pay for this order; if so its cost is taken off `budget`,
    so a ladder of orders is checked as a whole and a short account does not spam
    rejected orders."""
    if inst.is_derivative:
        # Either side of a perpetual needs margin in the settlement asset; the leverage is
        # the venue's, so only the fee is reserved here and the venue checks the margin.
        need = inst.notional(price_ticks, amount_lots) * max(inst.maker_fee, inst.taker_fee)
        asset = inst.settle_asset
    elif side is Side.BUY:
        need = inst.notional(price_ticks, amount_lots) * (1 + max(inst.maker_fee, inst.taker_fee))
        asset = inst.quote
    else:
        need = inst.lots_to_amount(amount_lots)
        asset = inst.base
    if budget.get(asset, Decimal(0)) < need:
        return False
    budget[asset] -= need
    return True

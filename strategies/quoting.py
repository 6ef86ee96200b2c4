"""Pure helpers every quoting strategy shares: exact integer units, numbers for people,
prices shaped in ticks, and the budget check made before an order is sent.

Prices are integer ticks and fractions of a price are integers in units of 1e-8
(`UNITS`), so a spread applied to a price is one integer multiplication and division:
no binary float ever decides a price, and the hot path stays compilable as it is. A price
computed from a model leaves these helpers rounded away from the mid (a bid down, an ask
up), so a rounding never makes a quote tighter than asked for.

User strategy files import from here too (docs/user-strategies.md): `UNITS`,
`bps_to_units`, `bps_text`, `available_budget` and `spend_if_affordable` keep their names.
"""
from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal

from app.domain import Instrument, Side
from app.interfaces.strategy import Quote

# Enum members as module constants: compiled (setup.py COMPILED_PY), reading an Enum class
# attribute goes through the Enum metaclass's __getattr__ hook every time (Python 3.11).
_BUY = Side.BUY
_SELL = Side.SELL

NS = 1_000_000_000
"""Nanoseconds in a second: parameters in seconds become clock times with it."""

UNITS = 10**8
"""A price fraction of 1 in units of 1e-8: 1 bp = 10,000 units, 1% = 1,000,000 units."""


# -- numbers ----------------------------------------------------------------------------------
def fmt(value: Decimal | float | int) -> str:
    """A number as a person writes it, for logs and messages: 2.5, not 2.500 or 2.5E+0
    (a float through its shortest text, so 0.1 stays 0.1)."""
    return format(Decimal(str(value)).normalize(), "f")


bps_text = fmt
"""The name user strategy files know `fmt` by (basis points in a message)."""


def bps_to_units(bps: Decimal) -> int:
    """Basis points as an exact fraction of 1e8, rounded to the nearest unit (1e-4 bp)."""
    return int((Decimal(bps) * 10_000).to_integral_value())


def pct_to_units(pct: Decimal) -> int:
    """A percentage as an exact fraction of 1e8 (1% = 1,000,000 units)."""
    return int((Decimal(pct) * 1_000_000).to_integral_value())


def rate_to_units(rate: Decimal) -> int:
    """A fraction (a fee rate: 0.001 = 0.1%) in units of 1e-8."""
    return int((Decimal(rate) * UNITS).to_integral_value())


# -- prices in ticks ---------------------------------------------------------------------------
def mid2(book) -> int:  # noqa: ANN001 - app.book.orderbook.OrderBook
    """Twice the mid in ticks (an exact integer), 0 when a side of the book is missing."""
    bid, ask = book.best_bid_ticks, book.best_ask_ticks
    if bid <= 0 or ask <= 0:
        return 0
    return bid + ask


def mid_price(book, inst: Instrument) -> Decimal | None:  # noqa: ANN001 - OrderBook
    """The mid as a price in the quote asset, exact; None when a side of the book is missing."""
    m2 = mid2(book)
    return Decimal(m2) / 2 * inst.tick_size if m2 else None


def age_check_period_ns(max_age_seconds: float) -> int:
    """How often a quoter looks for orders past their maximum age while the book is quiet:
    four times per age (an order is replaced at most a quarter late), at most every 50 ms."""
    return max(int(max_age_seconds * NS) // 4, 50_000_000)


def bid_ticks(price_ticks: float) -> int:
    """A bid at a model price given in (fractional) ticks: the tick at or below it."""
    return math.floor(price_ticks + 1e-9)


def ask_ticks(price_ticks: float) -> int:
    """An ask at a model price given in (fractional) ticks: the tick at or above it."""
    return math.ceil(price_ticks - 1e-9)


def keep_maker(quote_side: Side, price: int, best_bid: int, best_ask: int) -> int:
    """A post-only price that does not cross the book: a bid at most one tick under the best
    ask, an ask at least one tick over the best bid (joining the touch instead of taking)."""
    if quote_side is _BUY:
        return min(price, best_ask - 1)
    return max(price, best_bid + 1)


def placeable(inst: Instrument, lots: int, price_ticks: int) -> bool:
    """At least one lot and the instrument's minimum notional at that price."""
    return lots >= 1 and price_ticks > 0 and inst.notional(price_ticks, lots) >= inst.min_notional


def min_notional_ticks_lots(inst: Instrument) -> int:
    """The smallest price ticks x lots an order must reach (the minimum notional, rounded
    up): what the compiled gates compare a quote's integers with."""
    return int((inst.min_notional / (inst.tick_size * inst.lot_size)).to_integral_value(ROUND_CEILING))


def no_self_cross(quotes: list[Quote], own_bids: list[int], own_asks: list[int]) -> list[Quote]:
    """Drops quotes that would trade with orders the strategy keeps resting outside the plan
    (hanging orders): a bid at or over an own ask, an ask at or under an own bid."""
    lowest_ask = min(own_asks, default=None)
    highest_bid = max(own_bids, default=None)
    out = []
    for quote in quotes:
        if quote.side is _BUY and lowest_ask is not None and quote.price_ticks >= lowest_ask:
            continue
        if quote.side is _SELL and highest_bid is not None and quote.price_ticks <= highest_bid:
            continue
        out.append(quote)
    return out


# -- budget ------------------------------------------------------------------------------------
def available_budget(balances: dict) -> dict[str, Decimal]:
    """What can still be spent per asset: `{asset: Balance}` -> `{asset: available}`."""
    return {asset: bal.available for asset, bal in balances.items()}


def spend_if_affordable(inst: Instrument, side: Side, price_ticks: int, amount_lots: int,
                        budget: dict[str, Decimal], leverage: Decimal | None = None) -> bool:
    """Whether the account can pay for this order; if so its cost is taken off `budget`,
    so a ladder of orders is checked as a whole and a short account does not spam
    rejected orders.

    Spot: a buy costs its notional plus the larger fee in the quote asset, a sell its
    amount in the base. Derivatives: either side needs margin in the settlement asset (the
    margin ledger charges reducing orders too): the fee, plus notional / leverage when the
    leverage is known (else the venue checks the margin)."""
    fee_rate = max(inst.maker_fee, inst.taker_fee, Decimal(0))
    if inst.is_derivative:
        notional = inst.notional(price_ticks, amount_lots)
        need = notional * fee_rate + (notional / leverage if leverage else Decimal(0))
        asset = inst.settle_asset
    elif side is _BUY:
        need = inst.notional(price_ticks, amount_lots) * (1 + fee_rate)
        asset = inst.quote
    else:
        need = inst.lots_to_amount(amount_lots) * inst.contract_size
        asset = inst.base
    if budget.get(asset, Decimal(0)) < need:
        return False
    budget[asset] -= need
    return True


def held(balances: dict, asset: str) -> Decimal:
    """The total of one asset in `{asset: Balance}` (0 when the account holds none)."""
    return balances[asset].total if asset in balances else Decimal(0)


# -- checks before the start -------------------------------------------------------------------
def round_trip_fee_bps(instrument: Instrument, post_only: bool) -> tuple[Decimal, str]:
    """What a round trip (a bid and an ask filled) pays in fees, in bp, and whose rate it
    is: makers' with post-only orders, takers' otherwise (a crossing quote takes)."""
    rate = instrument.maker_fee if post_only else instrument.taker_fee
    return 2 * rate * 10_000, "maker" if post_only else "taker"


def spread_fee_warnings(spread_bps: Decimal, instrument: Instrument, post_only: bool) -> list[str]:
    """A warning when the quoted spread (bid + ask, in bp) earns less than a round trip's fees."""
    round_trip, kind = round_trip_fee_bps(instrument, post_only)
    if spread_bps >= round_trip:
        return []
    return [f"the quoted spread ({fmt(spread_bps)} bp bid + ask) is below the round-trip {kind} fee "
            f"({fmt(round_trip)} bp on {instrument.symbol}): a round trip loses "
            f"{fmt(round_trip - spread_bps)} bp unless the price moves your way"]

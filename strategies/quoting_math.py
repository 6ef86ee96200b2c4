"""Small pure helpers shared by the quoting strategies (no state, no venue calls).

Prices leave these helpers as integer ticks rounded away from the mid (a bid down, an ask
up), so a rounding never makes a quote tighter than the model asked for; basis points are
exact integers in units of 1e-8 of the price, as in simple_quoter.
"""
from __future__ import annotations

import math
from decimal import Decimal

from app.domain import Instrument, Side
from app.interfaces.strategy import Quote

NS = 1_000_000_000
UNITS = 10**8  # price fractions as exact integers in units of 1e-8 (1 bp = 10,000 units)


def bps_units(bps: Decimal) -> int:
    """Basis points as an exact fraction of 1e8, rounded to the nearest unit (1e-4 bp)."""
    return int((Decimal(bps) * 10_000).to_integral_value())


def fmt(value: Decimal | float) -> str:
    """A number for people: no exponent, no trailing zeros."""
    return format(Decimal(str(value)).normalize(), "f")


def mid2(book) -> int:  # noqa: ANN001 - app.book.orderbook.OrderBook
    """Twice the mid in ticks (an exact integer), 0 when a side of the book is missing."""
    bid, ask = book.best_bid_ticks, book.best_ask_ticks
    if bid <= 0 or ask <= 0:
        return 0
    return bid + ask


def bid_ticks(price_ticks: float) -> int:
    """A bid at a model price given in (fractional) ticks: the tick at or below it."""
    return math.floor(price_ticks + 1e-9)


def ask_ticks(price_ticks: float) -> int:
    """An ask at a model price given in (fractional) ticks: the tick at or above it."""
    return math.ceil(price_ticks - 1e-9)


def keep_maker(quote_side: Side, price: int, best_bid: int, best_ask: int) -> int:
    """A post-only price that does not cross the book: a bid at most one tick under the best
    ask, an ask at least one tick over the best bid (joining the touch instead of taking)."""
    if quote_side is Side.BUY:
        return min(price, best_ask - 1)
    return max(price, best_bid + 1)


def below_min_notional(inst: Instrument, quote: Quote) -> bool:
    return quote.amount_lots <= 0 or quote.price_ticks <= 0 or \
        inst.notional(quote.price_ticks, quote.amount_lots) < inst.min_notional


def budget(connector) -> dict[str, Decimal]:  # noqa: ANN001 - a Connector or the bot's OwnOrders
    """What is available per asset now, to be spent down quote by quote before sending."""
    return {asset: bal.available for asset, bal in connector.balances().items()}


def affordable(inst: Instrument, quote: Quote, funds: dict[str, Decimal],
               leverage: Decimal | None = None) -> bool:
    """Whether `funds` can pay for `quote` (and if so, takes its cost from them), so that a
    short account does not spam orders the venue will refuse.

    Spot: a buy costs its notional plus the fee in the quote asset, a sell its amount in the
    base. Perpetuals: initial margin (notional / leverage, when known) plus the fee, in the
    settlement asset, whichever the side (the margin ledger charges reducing orders too)."""
    fee_rate = max(inst.maker_fee, inst.taker_fee, Decimal(0))
    if inst.is_derivative:
        notional = inst.notional(quote.price_ticks, quote.amount_lots)
        need = notional * fee_rate + (notional / leverage if leverage else Decimal(0))
        asset = inst.settle_asset
    elif quote.side is Side.BUY:
        need = inst.notional(quote.price_ticks, quote.amount_lots) * (1 + fee_rate)
        asset = inst.quote
    else:
        need = inst.lots_to_amount(quote.amount_lots) * inst.contract_size
        asset = inst.base
    if funds.get(asset, Decimal(0)) < need:
        return False
    funds[asset] -= need
    return True


def no_self_cross(quotes: list[Quote], own_bids: list[int], own_asks: list[int]) -> list[Quote]:
    """Drops quotes that would trade with orders the strategy keeps resting outside the plan
    (hanging orders): a bid at or over an own ask, an ask at or under an own bid."""
    lowest_ask = min(own_asks, default=None)
    highest_bid = max(own_bids, default=None)
    out = []
    for quote in quotes:
        if quote.side is Side.BUY and lowest_ask is not None and quote.price_ticks >= lowest_ask:
            continue
        if quote.side is Side.SELL and highest_bid is not None and quote.price_ticks <= highest_bid:
            continue
        out.append(quote)
    return out

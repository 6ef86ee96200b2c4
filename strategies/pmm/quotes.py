"""The quotes pure market making wants: a pure function of integers.

`compute_quotes` reads nothing but its arguments (reference price, top of book, inventory
state as size scales and price limits, the derived parameters), so it can be tested on
numbers worked out by hand and compiled with Cython later without change. Prices are
integer ticks; the reference comes doubled (`ref2`) so a mid between two ticks stays an
integer; fractions are integers in units of 1e-8 (`UNITS`).

Order of the price rules, as Hummingbot applies them: spreads from the reference, order
optimisation (the first level pulled back to just inside the best price of others, the
ladder shifted with it), transaction costs (prices widened by the fee), the inventory cost
limit and our own hanging orders (no bid above the cap, no ask below the minimum), then
orders that would cross the book are dropped unless `take_if_crossed`.
"""
from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Iterable

from app.domain import Order, Side
from app.interfaces.strategy import Quote
from strategies.pmm.params import QuoteParams
from strategies.quoting import UNITS

# Enum members as module constants: compiled (setup.py COMPILED_PY), reading an Enum class
# attribute goes through the Enum metaclass's __getattr__ hook every time (Python 3.11).
_BUY = Side.BUY
_SELL = Side.SELL

_U2 = 2 * UNITS


def compute_quotes(p: QuoteParams, ref2: int, best_bid: int, best_ask: int, top_bid: int, top_ask: int,
                   bid_scale: int, ask_scale: int, bid_cap: int, ask_min: int, ceiling: int, floor: int,
                   pingpong: int) -> list[Quote]:
    """The wanted quotes, bids first, each side from its first level outwards.

    ref2: twice the reference price in ticks (0: none, no quotes). best_bid/best_ask: the
    quoted market's top (0: side empty). top_bid/top_ask: best prices of others, own orders
    and dust ignored (0: unknown; used when optimising). bid_scale/ask_scale: size factors
    in UNITS (UNITS = as configured). bid_cap/ask_min: highest bid and lowest ask allowed
    (0: no limit). ceiling/floor: price band in ticks (0: off): no bids while the reference
    is above the ceiling, no asks while it is below the floor. pingpong: filled buys minus
    filled sells (> 0: only asks, < 0: only bids).
    """
    if ref2 <= 0:
        return []
    bids_on = pingpong <= 0 and not (ceiling > 0 and ref2 > 2 * ceiling)
    asks_on = pingpong >= 0 and not (floor > 0 and ref2 < 2 * floor)
    min_units = p.min_spread_units
    fee = p.fee_units
    floor_notional = p.min_notional_ticks_lots
    quotes: list[Quote] = []
    lowest_ask = 0
    if asks_on and p.ask_levels:
        prices = [-(-ref2 * (UNITS + spread) // _U2) for spread, _ in p.ask_levels]
        if p.optimise and top_ask > 0 and prices[0] < top_ask - 1:
            shift = top_ask - 1 - prices[0]
            prices = [price + shift for price in prices]
        for (spread, lots), price in zip(p.ask_levels, prices):
            if fee:
                price = -(-price * (UNITS + fee) // UNITS)
            if ask_min and price < ask_min:
                price = ask_min
            lots = lots * ask_scale // UNITS
            if lots <= 0 or price * lots < floor_notional:
                continue
            if best_bid > 0 and price <= best_bid and not p.take_if_crossed:
                continue
            if min_units >= 0 and (2 * price - ref2) * UNITS < min_units * ref2:
                continue
            quotes.append(Quote(_SELL, price, lots))
            if lowest_ask == 0 or price < lowest_ask:
                lowest_ask = price
    bids: list[Quote] = []
    if bids_on and p.bid_levels:
        prices = [ref2 * (UNITS - spread) // _U2 for spread, _ in p.bid_levels]
        if p.optimise and top_bid > 0 and prices[0] > top_bid + 1:
            shift = prices[0] - top_bid - 1
            prices = [price - shift for price in prices]
        for (spread, lots), price in zip(p.bid_levels, prices):
            if fee:
                price = price * (UNITS - fee) // UNITS
            if bid_cap and price > bid_cap:
                price = bid_cap
            if lowest_ask and price >= lowest_ask:  # never against our own ask (rebates, odd references)
                price = lowest_ask - 1
            lots = lots * bid_scale // UNITS
            if price <= 0 or lots <= 0 or price * lots < floor_notional:
                continue
            if best_ask > 0 and price >= best_ask and not p.take_if_crossed:
                continue
            if min_units >= 0 and (ref2 - 2 * price) * UNITS < min_units * ref2:
                continue
            bids.append(Quote(_BUY, price, lots))
    return bids + quotes


def violates_min_spread(side: Side, price: int, ref2: int, min_units: int) -> bool:
    """Whether an order at `price` is nearer the reference than the minimum spread."""
    if min_units < 0 or ref2 <= 0:
        return False
    distance2 = ref2 - 2 * price if side is _BUY else 2 * price - ref2
    return distance2 * UNITS < min_units * ref2


def beyond_cancel_pct(price: int, ref2: int, cancel_units: int) -> bool:
    """Whether a hanging order at `price` is further from the reference than the cancel %."""
    return ref2 > 0 and abs(2 * price - ref2) * UNITS > cancel_units * ref2


def others_top(prices: list[int], lots: list[int], own: dict[int, int], depth_lots: int) -> int:
    """The best price of others on one side: walking the book from its best level, our own
    resting lots are taken out and the first `depth_lots` of others' volume (dust) skipped.
    0 when the levels given run out first."""
    seen = 0
    for price, qty in zip(prices, lots):
        others = qty - own.get(price, 0)
        if others <= 0:
            continue
        seen += others
        if seen > depth_lots:
            return price
    return 0


def others_top_of(book, side: int, own: dict[int, int], depth_lots: int) -> int:  # noqa: ANN001 - OrderBook
    """`others_top` on one side (BID or ASK) of `book`, read in growing batches of levels
    until it is found or the side runs out."""
    n = len(own) + 8
    while True:
        prices, lots = book.top_levels(side, n)
        top = others_top(prices.tolist(), lots.tolist(), own, depth_lots)
        if top or len(prices) < n:
            return top
        n *= 4


def own_lots(orders: Iterable[Order]) -> tuple[dict[int, int], dict[int, int]]:
    """Our resting lots per price, (bids, asks), of the orders given (those on the book)."""
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    for order in orders:
        side = bids if order.side is _BUY else asks
        side[order.price_ticks] = side.get(order.price_ticks, 0) + order.remaining_lots
    return bids, asks


def hanging_limits(orders: Iterable[Order | None]) -> tuple[int, int]:
    """(highest bid, lowest ask) that do not cross our own hanging orders (None or ended
    ones are passed over); 0 = no limit."""
    bid_cap = ask_min = 0
    for order in orders:
        if order is None or order.status.is_done:
            continue
        if order.side is _SELL and (bid_cap == 0 or order.price_ticks - 1 < bid_cap):
            bid_cap = order.price_ticks - 1
        elif order.side is _BUY and order.price_ticks + 1 > ask_min:
            ask_min = order.price_ticks + 1
    return bid_cap, ask_min


def cost_limits(cost_ticks: Decimal, bid_cap: int, ask_min: int) -> tuple[int, int]:
    """The inventory cost limit added to (bid_cap, ask_min): no bid above the cost, no ask
    below it (the cost in fractional ticks; 0 caps mean no limit yet)."""
    cap = int(cost_ticks.to_integral_value(ROUND_FLOOR))
    low = int(cost_ticks.to_integral_value(ROUND_CEILING))
    return (min(bid_cap, cap) if bid_cap else cap), max(ask_min, low)


def band_around(ref2: int, ceiling_units: int, floor_units: int) -> tuple[int, int]:
    """The moving price band (ceiling, floor) in ticks around a doubled reference: the
    ceiling rounded down, the floor up (inside the percentages asked for)."""
    return ref2 * (UNITS + ceiling_units) // _U2, -(-ref2 * (UNITS - floor_units) // _U2)


def quiet_band(guarded: list[tuple[Side, int]], hanging: list[int], min_units: int,
               cancel_units: int) -> tuple[int, int]:
    """The references (doubled ticks, inclusive bounds) between which no order in
    `guarded` (side, price) falls below the minimum spread and no hanging order (price)
    lies beyond its cancel %: book updates inside it need no look at the orders."""
    low, high = 0, 1 << 62
    if min_units >= 0:
        for side, price in guarded:
            if side is _BUY:
                low = max(low, -(-2 * price * UNITS // (UNITS - min_units)))
            else:
                high = min(high, 2 * price * UNITS // (UNITS + min_units))
    for price in hanging:
        low = max(low, -(-2 * price * UNITS // (UNITS + cancel_units)))
        if cancel_units < UNITS:
            high = min(high, 2 * price * UNITS // (UNITS - cancel_units))
    return low, high

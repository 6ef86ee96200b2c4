"""Turns "the quotes I want" into cancels and creates against the orders that rest.

Kept apart from any one strategy so every quoting strategy shares the same refresh rules:
an order is kept while a wanted quote of the same side and amount lies within the
tolerance of its price and it is younger than the maximum age; everything else is
cancelled, and wanted quotes without a kept order are created (`refresh_quotes` does
both on a strategy's market, with the budget check).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.domain import Order, OrderStatus, OrderType, Side
from app.interfaces.strategy import Quote, StrategyContext
from strategies.quoting import UNITS, available_budget, mid2, no_self_cross, spend_if_affordable

# Enum members as module constants: compiled (setup.py COMPILED_PY), reading an Enum class
# attribute goes through the Enum metaclass's __getattr__ hook every time (Python 3.11).
_BUY = Side.BUY
_LIMIT = OrderType.LIMIT
_LIMIT_MAKER = OrderType.LIMIT_MAKER
_PENDING_CANCEL = OrderStatus.PENDING_CANCEL
_SELL = Side.SELL


@dataclass(frozen=True, slots=True)
class Plan:
    cancel: list[str]
    create: list[Quote]


def plan_orders(
    wanted: list[Quote],
    resting: list[Order],
    *,
    tolerance_ticks: int,
    max_age_ns: int,
    now_ns: int,
) -> Plan:
    unmatched = list(wanted)
    cancel: list[str] = []
    for order in resting:
        if order.status is _PENDING_CANCEL:
            continue
        match = None
        if now_ns - order.created_ns < max_age_ns:
            for quote in unmatched:
                if (
                    quote.side is order.side
                    and abs(quote.price_ticks - order.price_ticks) <= tolerance_ticks
                    and quote.amount_lots == order.amount_lots
                ):
                    match = quote
                    break
        if match is None:
            cancel.append(order.client_order_id)
        else:
            unmatched.remove(match)
    return Plan(cancel, unmatched)


def refresh_quotes(ctx: StrategyContext, wanted: list[Quote], planned: list[Order], *, tolerance_units: int,
                   max_age_ns: int, now_ns: int, post_only: bool, leverage: Decimal | None = None,
                   hanging: list[Order] | None = None) -> int:
    """Acts on `plan_orders` for the orders the plan manages (`planned`: the resting orders
    less any the strategy keeps outside the plan): sends the cancels, then the creates the
    budget pays for (checked as a whole, so a short account does not spam refusals),
    limit-maker orders when `post_only`. A create that would trade with one of the
    `hanging` orders is dropped. The tolerance is in units of 1e-8 of the mid.

    Returns when the oldest planned order reaches `max_age_ns` (now + max age when none
    rests): the strategy has nothing to check before then while its quotes stay put."""
    tolerance = mid2(ctx.book) * tolerance_units // (2 * UNITS)
    plan = plan_orders(wanted, planned, tolerance_ticks=tolerance, max_age_ns=max_age_ns, now_ns=now_ns)
    for client_order_id in plan.cancel:
        ctx.connector.cancel_order(client_order_id)
    creates = plan.create
    if creates and hanging:
        creates = no_self_cross(creates, [o.price_ticks for o in hanging if o.side is _BUY],
                                [o.price_ticks for o in hanging if o.side is _SELL])
    if creates:
        order_type = _LIMIT_MAKER if post_only else _LIMIT
        budget = available_budget(ctx.connector.balances())
        for quote in creates:
            if spend_if_affordable(ctx.instrument, quote.side, quote.price_ticks, quote.amount_lots, budget, leverage):
                ctx.connector.place_order(ctx.symbol, quote.side, order_type, quote.amount_lots, quote.price_ticks)
    oldest = min((o.created_ns for o in planned), default=now_ns)
    return oldest + max_age_ns


def cancel_while_stale(ctx: StrategyContext, reason: str) -> None:
    """A stale book cannot be quoted from: every order of the strategy's market goes, and
    the log says why (the next fresh book quotes again)."""
    ctx.log.warning("book stale (%s): cancelling quotes until it resyncs", reason)
    ctx.connector.cancel_all(ctx.symbol)

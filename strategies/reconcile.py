"""Turns "the quotes I want" into cancels and creates against the orders that rest.

Kept apart from any one strategy so every quoting strategy shares the same refresh rules:
an order is kept while a wanted quote of the same side and amount lies within the
tolerance of its price and it is younger than the maximum age; everything else is
cancelled, and wanted quotes without a kept order are created.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.domain import Order, OrderStatus
from app.interfaces.strategy import Quote


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
        if order.status is OrderStatus.PENDING_CANCEL:
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

"""Pure market making on the compiled gate (strategies/pmm_gate.pyx): what runs there.

The gate makes `_update`'s decision in C on every book update and calls Python only when
it would act. For that both paths keep the decision's state in one place, the gate's
fields (`gate_field`): the memo of the last reference and top of book, whether orders
changed, the refresh and timer deadlines, the quiet band and the ladder last acted on.

On the gate: every price type the gate computes (mid, best bid, best ask, last public
trade) of the quoted market; levels and order_override with per-level amounts; refresh
time and tolerance; max order age; filled order delay; minimum spread; inventory skew;
inventory cost tracking and its limit; hanging orders; static price ceiling and floor;
ping-pong; add_transaction_costs; take_if_crossed. Python on every update (`fallback`
names the reason): order optimisation (others' best price, own orders taken out, needs
the book's levels), the moving price band (re-centred on a clock), the last own trade
and inventory cost price types, and an external price source.
"""
from __future__ import annotations

from typing import Any

from app.domain import OrderStatus, Side
from strategies.pmm_gate import REFERENCES


def gate_field(name: str) -> property:
    """A strategy attribute stored in the gate (`self._gate`), read and written by both."""
    return property(lambda self: getattr(self._gate, name), lambda self, value: setattr(self._gate, name, value),
                    doc=f"the gate's {name}")


def fallback(params: dict[str, Any], external: bool) -> str:
    """Why this configuration needs Python on every book update; empty when it does not."""
    if external:
        return "an external price source"
    if params["price_type"] not in REFERENCES:
        return f"price_type {params['price_type']}"
    if params["order_optimization_enabled"]:
        return "order optimisation"
    if params["moving_price_band_enabled"]:
        return "the moving price band"
    return ""


def mirror(open_orders: list, hanging: set[str]) -> list[tuple[int, int, int, int]]:
    """The orders a refresh plans against, as the gate's mirror: resting, no cancel in
    flight, not hanging."""
    pending_cancel, buy = OrderStatus.PENDING_CANCEL, Side.BUY
    return [(1 if o.side is buy else -1, o.price_ticks, o.amount_lots, o.created_ns) for o in open_orders
            if o.status is not pending_cancel and o.client_order_id not in hanging]

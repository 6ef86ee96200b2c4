"""Flatten: close a stopping bot's own inventory (spot) or position (derivatives).

It runs once, when the stopping bot has no open order left (so nothing of its own is on
the other side of the book): one IOC order for the bot's own inventory change (spot: back
to the base balance it started with) or its whole position (derivatives), limited to
`flatten_slippage_bps` beyond the touch. An IOC takes what the book offers within that
bound and the venue cancels the rest, so a thin book never leaves a resting order behind
and never trades at a price the user did not accept; what is left is logged, journaled and
reported. Only the bot's own fills count (as its PnL), so flattening one bot never
touches what another bot on the same account holds.
"""
from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any, Callable

from app.domain import OrderType, Side, new_client_order_id

if TYPE_CHECKING:
    from app.engine.bot import Bot


def own_position_lots(bot: "Bot") -> int:
    """The bot's own signed inventory change (spot) or position (derivatives), in lots."""
    pnl, inst = bot.pnl, bot.instrument
    if inst.is_derivative:
        return pnl.position_lots  # type: ignore[union-attr]
    lots = inst.round_amount_to_lots(abs(pnl.base_delta))
    return lots if pnl.base_delta >= 0 else -lots


def worst_price_ticks(side: Side, touch_ticks: int, slippage_bps: Decimal) -> int:
    """The IOC's limit: `slippage_bps` beyond the touch, rounded inside the bound (a sell
    never below touch x (1 - s), a buy never above touch x (1 + s)), at least one tick."""
    factor = Decimal(slippage_bps) / 10000
    if side is Side.SELL:
        return max(1, int((touch_ticks * (1 - factor)).to_integral_value(ROUND_CEILING)))
    return int((touch_ticks * (1 + factor)).to_integral_value(ROUND_FLOOR))


class Flattener:
    def __init__(self, bot: "Bot") -> None:
        self.bot = bot
        self.requested_by: str | None = None  # who asked (the Flatten action); None: flatten_on_stop
        self.result: dict[str, Any] | None = None
        self._done = False

    @property
    def requested(self) -> bool:
        return self.requested_by is not None

    def request(self, who: str) -> None:
        self.requested_by = self.requested_by or who

    def run_once(self, slippage_bps: Decimal, exempt: Callable[[str], None]) -> bool:
        """Sends the flatten order (the first time only); True while it is out."""
        if self._done:
            return False
        self._done = True
        bot = self.bot
        inst = bot.instrument
        lots = own_position_lots(bot)
        by = self.requested_by or "flatten_on_stop"
        unit = "contracts" if inst.is_derivative else inst.base
        self.result = {"by": by, "before": f"{inst.lots_to_amount(lots):f}", "unit": unit}
        if lots == 0:
            return self._outcome("nothing to close")
        side = Side.SELL if lots > 0 else Side.BUY
        book = bot.feed.book
        touch = book.best_bid_ticks if side is Side.SELL else book.best_ask_ticks
        if book.is_stale or touch <= 0:
            return self._outcome("not possible: no valid book to trade against", warn=True)
        price = worst_price_ticks(side, touch, slippage_bps)
        client_order_id = new_client_order_id(bot.orders.tag)
        exempt(client_order_id)  # it only reduces exposure: no per-order limit applies
        self.result.update(side=side.value, amount=f"{inst.lots_to_amount(abs(lots)):f}",
                           worst_price=f"{inst.ticks_to_price(price):f}", slippage_bps=str(slippage_bps),
                           id=client_order_id)
        bot._log.info("flatten (%s): %s %s %s IOC, no worse than %s (touch %s, %s bp)", by, side.value,
                      inst.lots_to_amount(abs(lots)), unit, inst.ticks_to_price(price), inst.ticks_to_price(touch),
                      slippage_bps)
        bot._journal("flatten", **self.result)
        order = bot.orders.place_order(bot.symbol, side, OrderType.IOC, abs(lots), price,
                                       client_order_id=client_order_id)
        if order.status.is_done and order.filled_lots == 0:
            return self._outcome(f"refused: {order.reason}", warn=True)
        return not order.status.is_done

    def _outcome(self, status: str, *, warn: bool = False) -> bool:
        assert self.result is not None
        self.result["status"] = status
        (self.bot._log.warning if warn else self.bot._log.info)("flatten: %s", status)
        self.bot._journal("flatten", **self.result)
        return False

    def summary(self) -> dict[str, Any]:
        """The result with what is left now (the order's fills are counted by then)."""
        assert self.result is not None
        out = dict(self.result)
        left = own_position_lots(self.bot)
        out["left"] = f"{self.bot.instrument.lots_to_amount(left):f}"
        if "status" not in out:
            out["status"] = ("closed" if left == 0 else
                             f"partly closed: no more liquidity within {out.get('slippage_bps')} bp")
        return out

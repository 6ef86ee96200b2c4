"""What the bot form says about the values it holds before a bot starts.

The start checks (app/wiring/preflight.py: below the lot or the minimum notional,
unaffordable on both sides) run on the previewed strategy as the user types, so a value
that can never trade is refused next to its field instead of at Start; and an empty
preview list says why (no book, a field to fix, a refused value, or the strategy's own
reason: a model warming up, a cycle waiting for its entry).
"""
from __future__ import annotations

from dataclasses import dataclass

from app.config.schema import ConfigError
from app.wiring.preflight import check_market


@dataclass(frozen=True)
class TradeCheck:
    """The outcome for the form: the field to mark ("" for none) and why."""

    field: str = ""
    reason: str = ""

    @property
    def refused(self) -> bool:
        return bool(self.reason)


def check_trade(strategy, instrument, connector, feed, amount_fields: list[str]) -> TradeCheck:  # noqa: ANN001
    """The start checks for a bound strategy; a refusal about the balances is marked on the
    strategy's (first) order amount field, the value that would have to change."""
    try:
        check_market(strategy, instrument, connector, feed)
    except ConfigError as exc:
        name = exc.field_path.rsplit(".", 1)[-1]
        if name not in strategy.params:
            name = amount_fields[0] if amount_fields else ""
        return TradeCheck(name, exc.reason)
    return TradeCheck()


def amount_fields(strategy) -> list[str]:  # noqa: ANN001 - a bound Strategy
    """The parameters holding the order amounts the start checks look at."""
    amounts = strategy.order_amounts_base()
    return [key for key, value in strategy.params.items() if any(value == a for a in amounts)
            and not isinstance(value, bool)]


def empty_preview_reason(*, has_market: bool, has_book: bool, form_valid: bool, check: TradeCheck,
                         strategy_note: str) -> str:
    """Why the preview lists no quote, most basic cause first."""
    if not has_market:
        return "Choose an account and a market to see the quotes."
    if not form_valid:
        return "Fix the highlighted fields to see the quotes."
    if not has_book:
        return "The market has no book yet: nothing to quote from."
    if check.refused:
        return f"No quotes: {check.reason}."
    return strategy_note or "The strategy places no order on this book with these values."

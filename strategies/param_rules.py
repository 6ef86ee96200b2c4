"""Rules across parameters (a lower price below an upper one) for the execution strategies.

A rules function says what is wrong by calling `fail(field, reason)`; `cross_check` turns
it into the schema's `check` (app/config/schema.py), so the config loader, the bot form
and a strategy built from values all refuse the same things, naming the field as the
schema does (`strategy.params.<name>` in a config). A live edit is checked the same way on
the parameters as they would be after it, and, once the strategy knows its market, by
`check_market` too (rules that need the tick, lot or minimum notional).
"""
from __future__ import annotations

from typing import Any, Callable

from app.config.schema import ConfigError
from app.interfaces.strategy import Strategy

Fail = Callable[[str, str], ConfigError]
"""fail(field name, reason) -> the error to raise."""
Rules = Callable[[dict[str, Any], Fail], None]


def cross_check(rules: Rules) -> Callable[[dict[str, Any], str, str], None]:
    """A Schema.check running `rules` with errors that name the source and field."""

    def check(params: dict[str, Any], source: str, prefix: str) -> None:
        rules(params, lambda name, reason: ConfigError(source, f"{prefix}{name}", reason))

    return check


class CrossCheckedStrategy(Strategy):
    """A strategy whose schema has rules between fields: live edits are checked on the
    merged parameters before anything changes."""

    def apply_params(self, changes: dict[str, Any]) -> dict[str, Any]:
        merged = {**self.params, **self.schema.validate_changes(changes)}
        if self.schema.check is not None:
            self.schema.check(merged, "live edit", "")
        if self.ctx is not None:
            self.check_market(merged, lambda name, reason: ConfigError("live edit", name, reason))
        return super().apply_params(changes)

    def check_market(self, params: dict[str, Any], fail: Fail) -> None:
        """Rules that need the market (self.ctx.instrument); none by default."""

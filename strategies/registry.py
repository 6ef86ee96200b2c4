"""Strategies by name, for configs, the CLI and the bot form."""
from __future__ import annotations

from app.interfaces.strategy import Strategy
from strategies.simple_quoter import SimpleQuoter

STRATEGIES: dict[str, type[Strategy]] = {cls.name: cls for cls in (SimpleQuoter,)}


def strategy_class(name: str) -> type[Strategy]:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise KeyError(f"unknown strategy {name!r} (known: {', '.join(sorted(STRATEGIES))})") from None

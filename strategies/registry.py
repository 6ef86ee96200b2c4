"""Strategies by name, for configs, the CLI and the bot form.

One import and one line in `_BUILT_IN` per strategy, so strategies are added (or removed)
without touching each other's lines.
"""
from __future__ import annotations

from app.interfaces.strategy import Strategy
from strategies.arbitrage import Arbitrage
from strategies.avellaneda_stoikov import AvellanedaStoikov
from strategies.dca import Dca
from strategies.grid import Grid
from strategies.perpetual_market_making import PerpetualMarketMaking
from strategies.pure_market_making import PureMarketMaking
from strategies.simple_quoter import SimpleQuoter
from strategies.twap import Twap
from strategies.xemm import CrossExchangeMarketMaking

_BUILT_IN: tuple[type[Strategy], ...] = (
    SimpleQuoter,
    PureMarketMaking,
    Grid,
    Twap,
    Dca,
    AvellanedaStoikov,
    PerpetualMarketMaking,
    CrossExchangeMarketMaking,
    Arbitrage,
)

STRATEGIES: dict[str, type[Strategy]] = {cls.name: cls for cls in _BUILT_IN}


def strategy_class(name: str) -> type[Strategy]:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise KeyError(f"unknown strategy {name!r} (known: {', '.join(sorted(STRATEGIES))})") from None

"""Fee rates assumed when neither the exchange nor the user gives them.

Binance's base tier (no BNB discount): spot 0.1% maker and taker; USD-M and COIN-M
perpetuals 0.02% maker, 0.05% taker. A config's `instrument:` section or the command
line overrides them; reports and the bot form show the rates in force.
"""
from __future__ import annotations

from decimal import Decimal

from app.domain.instrument import INVERSE, LINEAR, SPOT

DEFAULT_FEES: dict[str, tuple[Decimal, Decimal]] = {
    SPOT: (Decimal("0.001"), Decimal("0.001")),
    LINEAR: (Decimal("0.0002"), Decimal("0.0005")),
    INVERSE: (Decimal("0.0002"), Decimal("0.0005")),
}
"""(maker, taker) fee rate per market kind."""

DEFAULT_LEVERAGE = Decimal(10)
"""Derivatives: initial margin = notional / leverage unless the config says otherwise."""

"""Fills (own trades) and balances."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.domain.order import Side


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of an own order. Price/amount are exact Decimals of the instrument."""

    trade_id: str
    client_order_id: str
    symbol: str
    side: Side
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_asset: str
    is_maker: bool
    ts_ns: int

    @property
    def quote_amount(self) -> Decimal:
        return self.price * self.amount


@dataclass(slots=True)
class Balance:
    """One asset of one account. `locked` is reserved by open orders."""

    asset: str
    total: Decimal = Decimal(0)
    locked: Decimal = Decimal(0)

    @property
    def available(self) -> Decimal:
        return self.total - self.locked

    def copy(self) -> "Balance":
        return Balance(self.asset, self.total, self.locked)

"""Balances of one account, with funds locked per order.

Every connector that simulates an account (demo exchange, paper trading) uses this one
ledger, so locking, fee and settlement rules cannot drift apart between them. All values
are Decimal: a balance is never rounded by binary floating point.

Fees are charged in the quote asset on both sides (what a trader sees on a quote-fee
account); the lock of a buy covers the notional at the limit price plus the larger fee.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.domain.fill import Balance
from app.domain.instrument import Instrument
from app.domain.numbers import fmt_plain
from app.domain.order import Order, Side

# Enum members as module constants: compiled (setup.py COMPILED_PY), reading an Enum class
# attribute goes through the Enum metaclass's __getattr__ hook every time (Python 3.11).
_BUY = Side.BUY


class InsufficientBalance(ValueError):
    pass


@dataclass(slots=True)
class _Lock:
    asset: str
    amount: Decimal  # still locked
    per_lot: Decimal  # released per filled lot


class Ledger:
    def __init__(self, start: dict[str, object] | None = None) -> None:
        self._balances: dict[str, Balance] = {}
        self._locks: dict[str, _Lock] = {}
        for asset, amount in (start or {}).items():
            value = Decimal(str(amount))
            if value < 0:
                raise ValueError(f"balance of {asset} is negative: {value}")
            self._balances[asset] = Balance(asset, value)

    def balance(self, asset: str) -> Balance:
        bal = self._balances.get(asset)
        if bal is None:
            bal = self._balances[asset] = Balance(asset)
        return bal

    def snapshot(self) -> dict[str, Balance]:
        return {asset: bal.copy() for asset, bal in self._balances.items()}

    def locked_for(self, client_order_id: str) -> Decimal:
        lock = self._locks.get(client_order_id)
        return lock.amount if lock else Decimal(0)

    # -- order life cycle -------------------------------------------------------------
    def lock_for_order(self, order: Order, instrument: Instrument, price_ticks: int) -> None:
        """Reserves what the order may spend; `price_ticks` is the worst price it can pay."""
        if order.side is _BUY:
            asset = instrument.quote
            fee_rate = max(instrument.maker_fee, instrument.taker_fee)
            per_lot = instrument.tick_size * instrument.lot_size * price_ticks * (1 + fee_rate)
        else:
            asset = instrument.base
            per_lot = instrument.lot_size
        need = per_lot * order.amount_lots
        bal = self.balance(asset)
        if need > bal.available:
            raise InsufficientBalance(
                f"insufficient balance: needs {fmt_plain(need)} {asset}, available {fmt_plain(bal.available)}"
            )
        bal.locked += need
        self._locks[order.client_order_id] = _Lock(asset, need, per_lot)

    def release(self, client_order_id: str) -> None:
        """Returns whatever is still locked for an order that can no longer fill."""
        lock = self._locks.pop(client_order_id, None)
        if lock is not None:
            self.balance(lock.asset).locked -= lock.amount

    def settle_fill(
        self, order: Order, instrument: Instrument, price_ticks: int, lots: int, *, is_maker: bool
    ) -> Decimal:
        """Moves the assets of one fill and returns its fee (quote asset)."""
        notional = instrument.notional(price_ticks, lots)
        fee = notional * (instrument.maker_fee if is_maker else instrument.taker_fee)
        base = self.balance(instrument.base)
        quote = self.balance(instrument.quote)
        lock = self._locks.get(order.client_order_id)
        if lock is not None:
            freed = min(lock.amount, lock.per_lot * lots)
            lock.amount -= freed
            self.balance(lock.asset).locked -= freed
        amount = instrument.lots_to_amount(lots)
        if order.side is _BUY:
            quote.total -= notional + fee
            base.total += amount
        else:
            base.total -= amount
            quote.total += notional - fee
        return fee

"""A derivatives account: wallet balance in the settlement asset, one position per market,
margin locked for orders and the position, realised PnL, fees and funding.

The spot `Ledger` moves base and quote; a perpetual moves neither: a fill changes a signed
position (in contracts) and its entry price, and only realised PnL, fees and funding move
the wallet balance of the settlement asset (USDT for linear, the coin for inverse). The
interface is the spot ledger's (lock_for_order, release, settle_fill, snapshot), so both
simulated venues settle through SimulatedAccount's one path whatever the market.

Formulas (ccxt/Binance conventions; `q` contracts, `cs` contract size, `P` price):
- linear:  value = q * cs * P (quote); PnL of closing q bought at E, sold at P: q*cs*(P-E);
- inverse: value = q * cs / P (base);   PnL of the same: q*cs*(1/E - 1/P), in the base;
- entry price: average of fills weighted by contracts (linear), by value (inverse: the
  harmonic mean), as exchanges compute it;
- initial margin = value / leverage, taken for every open order at its price plus the fee
  it may pay, and for the position at its entry price. A reducing order is charged too
  (conservative: an account whose orders all fit never gets a margin call for them).
- available = wallet balance - margin in use; unrealised losses are not subtracted (the
  ledger has no mark price); the venue checks them at order entry if it wants to.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.domain.fill import Balance
from app.domain.instrument import Instrument
from app.domain.ledger import InsufficientBalance, Ledger
from app.domain.order import Order, Side


@dataclass(slots=True)
class Position:
    """A signed position in lots (contracts / lot size) with its entry price."""

    lots: int = 0
    entry: Decimal = Decimal(0)  # price; 0 when flat
    realized: Decimal = Decimal(0)  # settlement asset, before fees and funding
    fees: Decimal = Decimal(0)
    funding: Decimal = Decimal(0)  # received (+) or paid (-)


class MarginLedger(Ledger):
    """Balances plus positions; money of `instrument` markets moves in their settle asset."""

    def __init__(self, start: dict[str, object] | None = None, leverage: Decimal | int = 10) -> None:
        super().__init__(start)
        self.leverage = Decimal(leverage)
        if not self.leverage.is_finite() or self.leverage < 1 or self.leverage > 125:
            raise ValueError(f"leverage must be between 1 and 125, got {leverage}")
        self._positions: dict[str, Position] = {}
        self._position_margin: dict[str, Decimal] = {}

    def position(self, symbol: str) -> Position:
        pos = self._positions.get(symbol)
        if pos is None:
            pos = self._positions[symbol] = Position()
        return pos

    # -- valuation ----------------------------------------------------------------------
    @staticmethod
    def value(instrument: Instrument, lots: int, price: Decimal) -> Decimal:
        """Value of `lots` contracts at a (Decimal) price, in the settlement asset."""
        contracts = instrument.lot_size * abs(lots) * instrument.contract_size
        if instrument.is_inverse:
            return contracts / price if price > 0 else Decimal(0)
        return contracts * price

    def unrealized(self, instrument: Instrument, mark: Decimal) -> Decimal:
        pos = self._positions.get(instrument.symbol)
        if pos is None or pos.lots == 0 or mark <= 0:
            return Decimal(0)
        return position_pnl(instrument, pos.lots, pos.entry, mark)

    # -- orders -------------------------------------------------------------------------
    def lock_for_order(self, order: Order, instrument: Instrument, price_ticks: int) -> None:
        if not instrument.is_derivative:
            super().lock_for_order(order, instrument, price_ticks)
            return
        asset = instrument.settle_asset
        price = instrument.tick_size * price_ticks
        fee_rate = max(instrument.maker_fee, instrument.taker_fee, Decimal(0))
        per_lot = self.value(instrument, 1, price) * (1 / self.leverage + fee_rate)
        need = per_lot * order.amount_lots
        bal = self.balance(asset)
        if need > bal.available:
            raise InsufficientBalance(
                f"insufficient margin: needs {_round(need)} {asset} "
                f"(initial margin at {self.leverage.normalize()}x plus fee), available {_round(bal.available)} {asset}"
            )
        bal.locked += need
        self._locks[order.client_order_id] = _lock(asset, need, per_lot)

    def settle_fill(
        self, order: Order, instrument: Instrument, price_ticks: int, lots: int, *, is_maker: bool
    ) -> Decimal:
        if not instrument.is_derivative:
            return super().settle_fill(order, instrument, price_ticks, lots, is_maker=is_maker)
        fee = instrument.fee(price_ticks, lots, maker=is_maker)
        wallet = self.balance(instrument.settle_asset)
        lock = self._locks.get(order.client_order_id)
        if lock is not None:
            freed = min(lock.amount, lock.per_lot * lots)
            lock.amount -= freed
            self.balance(lock.asset).locked -= freed
        price = instrument.tick_size * price_ticks
        pos = self.position(instrument.symbol)
        signed = lots if order.side is Side.BUY else -lots
        realized = apply_fill(instrument, pos, signed, price)
        pos.realized += realized
        pos.fees += fee
        wallet.total += realized - fee
        self._relock_position(instrument, pos)
        return fee

    def apply_funding(self, instrument: Instrument, mark: Decimal, rate: Decimal) -> Decimal:
        """Pays (or receives) one funding: longs pay shorts when the rate is positive.
        Returns the signed amount credited to the wallet, in the settlement asset."""
        pos = self._positions.get(instrument.symbol)
        if pos is None or pos.lots == 0 or mark <= 0:
            return Decimal(0)
        amount = -self.value(instrument, pos.lots, mark) * rate * (1 if pos.lots > 0 else -1)
        pos.funding += amount
        self.balance(instrument.settle_asset).total += amount
        return amount

    def _relock_position(self, instrument: Instrument, pos: Position) -> None:
        """Position margin = value at entry / leverage, kept as locked funds."""
        asset = instrument.settle_asset
        old = self._position_margin.get(instrument.symbol, Decimal(0))
        new = self.value(instrument, pos.lots, pos.entry) / self.leverage if pos.lots else Decimal(0)
        self._position_margin[instrument.symbol] = new
        self.balance(asset).locked += new - old


def position_pnl(instrument: Instrument, lots: int, entry: Decimal, price: Decimal) -> Decimal:
    """PnL of a signed position of `lots` opened at `entry`, valued at `price`."""
    contracts = instrument.lot_size * lots * instrument.contract_size
    if instrument.is_inverse:
        return contracts * (1 / entry - 1 / price)
    return contracts * (price - entry)


def apply_fill(instrument: Instrument, pos: Position, signed: int, price: Decimal) -> Decimal:
    """Adds a fill of `signed` lots at `price` to the position; returns the PnL realised."""
    if pos.lots == 0 or (pos.lots > 0) == (signed > 0):
        total = pos.lots + signed
        if instrument.is_inverse:  # harmonic mean: the average of values, not of prices
            pos.entry = abs(total) / (abs(pos.lots) / pos.entry + abs(signed) / price) if pos.lots else price
        else:
            pos.entry = (pos.entry * abs(pos.lots) + price * abs(signed)) / abs(total)
        pos.lots = total
        return Decimal(0)
    closed = min(abs(signed), abs(pos.lots))
    direction = 1 if pos.lots > 0 else -1
    realized = position_pnl(instrument, closed * direction, pos.entry, price)
    remaining = signed + closed * direction  # what is left of the fill after closing
    pos.lots += signed
    if pos.lots == 0:
        pos.entry = Decimal(0)
    elif remaining != 0:  # flipped: the rest opens a new position at the fill price
        pos.entry = price
    return realized


def _round(value: Decimal) -> str:
    return format(value.quantize(Decimal("1e-8")).normalize(), "f")


def _lock(asset: str, amount: Decimal, per_lot: Decimal):  # noqa: ANN202 - the spot ledger's lock type
    from app.domain.ledger import _Lock

    return _Lock(asset, amount, per_lot)


__all__ = ["Balance", "MarginLedger", "Position", "apply_fill", "position_pnl"]

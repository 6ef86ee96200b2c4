"""Profit and loss from fills, exact: spot against holding, derivatives by position.

PnL is measured against holding the starting inventory: every fill changes cash (quote)
and inventory (base); PnL = cash change + inventory change x mark price. Fees are already
in the cash change, so they are counted exactly once (reported separately only for
information). Realized/unrealized use the average cost of the inventory built by the bot.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from app.domain import Fill, FundingPaid, Instrument, Side
from app.domain.margin import MarginLedger, Position, apply_fill, position_pnl

# Enum members as module constants: compiled (setup.py COMPILED_PY), reading an Enum class
# attribute goes through the Enum metaclass's __getattr__ hook every time (Python 3.11).
_BUY = Side.BUY


@dataclass(slots=True)
class PnlTracker:
    quote_asset: str
    fills: int = 0
    maker_fills: int = 0
    buys: int = 0
    sells: int = 0
    volume_base: Decimal = Decimal(0)
    volume_quote: Decimal = Decimal(0)
    fees_quote: Decimal = Decimal(0)
    cash_delta: Decimal = Decimal(0)  # quote asset, fees included
    base_delta: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)
    _avg_cost: Decimal = Decimal(0)  # quote per base of the open position (fees excluded)

    def on_fill(self, fill: Fill) -> None:
        notional = fill.price * fill.amount
        fee = fill.fee if fill.fee_asset == self.quote_asset else fill.fee * fill.price
        self.fills += 1
        self.maker_fills += fill.is_maker
        self.volume_base += fill.amount
        self.volume_quote += notional
        self.fees_quote += fee
        signed = fill.amount if fill.side is _BUY else -fill.amount
        self.cash_delta -= notional * (1 if fill.side is _BUY else -1) + fee
        if fill.side is _BUY:
            self.buys += 1
        else:
            self.sells += 1
        self.realized -= fee
        self._update_position(signed, fill.price)

    def _update_position(self, signed: Decimal, price: Decimal) -> None:
        pos = self.base_delta
        if pos == 0 or (pos > 0) == (signed > 0):
            total = pos + signed
            self._avg_cost = (self._avg_cost * abs(pos) + price * abs(signed)) / abs(total)
        else:
            closed = min(abs(signed), abs(pos))
            direction = 1 if pos > 0 else -1
            self.realized += (price - self._avg_cost) * closed * direction
            if abs(signed) > abs(pos):
                self._avg_cost = price
            elif abs(signed) == abs(pos):
                self._avg_cost = Decimal(0)
        self.base_delta = pos + signed

    def pnl(self, mark: Decimal) -> Decimal:
        return self.cash_delta + self.base_delta * mark

    def unrealized(self, mark: Decimal) -> Decimal:
        return (mark - self._avg_cost) * self.base_delta if self.base_delta else Decimal(0)


@dataclass(slots=True)
class DerivativesPnl:
    """A bot's PnL on a perpetual, in the settlement asset, from its own fills and funding.

    Same reading interface as PnlTracker (fills, volumes, fees, `base_delta`, `realized`,
    `pnl(mark)`, `unrealized(mark)`), so bots, reports and views need no branch; the money
    is in `asset` (USDT for linear, the coin for inverse) instead of the quote asset.
    `base_delta` is the signed position in contracts as ccxt counts them (the amount unit),
    `position_lots`/`entry` the same in lots with the entry price. PnL = realised - fees +
    funding + unrealised at the mark (app/domain/margin.py has the formulas).
    """

    instrument: Instrument
    fills: int = 0
    maker_fills: int = 0
    buys: int = 0
    sells: int = 0
    volume_base: Decimal = Decimal(0)  # contracts traded
    volume_quote: Decimal = Decimal(0)  # value traded, settlement asset
    fees_quote: Decimal = Decimal(0)  # settlement asset
    funding: Decimal = Decimal(0)
    trading_realized: Decimal = Decimal(0)  # closed PnL before fees and funding
    _position: Position = field(default_factory=Position)

    @property
    def asset(self) -> str:
        return self.instrument.settle_asset

    @property
    def quote_asset(self) -> str:  # the name spot readers use for "the PnL asset"
        return self.asset

    @property
    def position_lots(self) -> int:
        return self._position.lots

    @property
    def entry(self) -> Decimal:
        return self._position.entry

    @property
    def base_delta(self) -> Decimal:
        return self.instrument.lots_to_amount(self._position.lots)

    @property
    def realized(self) -> Decimal:
        return self.trading_realized - self.fees_quote + self.funding

    def on_fill(self, fill: Fill) -> None:
        inst = self.instrument
        lots = inst.amount_to_lots(fill.amount)
        ticks = inst.price_to_ticks(fill.price)
        self.fills += 1
        self.maker_fills += fill.is_maker
        self.volume_base += fill.amount
        self.volume_quote += inst.notional(ticks, lots)
        self.fees_quote += fill.fee if fill.fee_asset == self.asset else Decimal(0)
        if fill.side is _BUY:
            self.buys += 1
        else:
            self.sells += 1
        signed = lots if fill.side is _BUY else -lots
        self.trading_realized += apply_fill(inst, self._position, signed, fill.price)

    def on_funding(self, event: FundingPaid) -> None:
        """This bot's share of a funding payment: its own position at the applied rate."""
        if self._position.lots == 0 or event.mark <= 0:
            return
        value = MarginLedger.value(self.instrument, self._position.lots, event.mark)
        self.funding -= value * event.rate * (1 if self._position.lots > 0 else -1)

    def unrealized(self, mark: Decimal) -> Decimal:
        if self._position.lots == 0 or mark <= 0:
            return Decimal(0)
        return position_pnl(self.instrument, self._position.lots, self._position.entry, mark)

    def pnl(self, mark: Decimal) -> Decimal:
        return self.realized + self.unrealized(mark)


def pnl_tracker_for(instrument: Instrument) -> PnlTracker | DerivativesPnl:
    """Spot: value change against holding, in the quote; derivatives: position PnL."""
    return DerivativesPnl(instrument) if instrument.is_derivative else PnlTracker(instrument.quote)

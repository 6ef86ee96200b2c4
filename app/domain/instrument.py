"""Instruments and the exact conversions between human prices and integer ticks/lots.

Hot paths (books, matching, fill simulation) work on int64 ticks and lots so that no
binary float ever decides a price; Decimal is used only where values enter or leave.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation


class OffGridError(ValueError):
    """A price or amount that is not a whole number of ticks or lots."""


def to_decimal(value: object, what: str = "value") -> Decimal:
    """Converts str/int/Decimal exactly; floats go through repr so 0.1 stays 0.1."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a number, got a boolean")
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{what}: {value!r} is not a number") from None
    if not result.is_finite():
        raise ValueError(f"{what}: {value!r} is not a finite number")
    return result


@dataclass(frozen=True, slots=True)
class Instrument:
    """A spot pair with its exchange rules. Fee rates are fractions (0.001 = 10 bp)."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_notional: Decimal = Decimal(0)
    maker_fee: Decimal = Decimal(0)
    taker_fee: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if self.tick_size <= 0 or self.lot_size <= 0:
            raise ValueError(f"{self.symbol}: tick and lot sizes must be positive")

    # -- prices -----------------------------------------------------------------
    def price_to_ticks(self, price: object) -> int:
        value = to_decimal(price, f"{self.symbol} price")
        ticks, rest = divmod(value, self.tick_size)
        if rest != 0:
            raise OffGridError(f"{self.symbol}: price {value} is not a multiple of tick {self.tick_size}")
        return int(ticks)

    def ticks_to_price(self, ticks: int) -> Decimal:
        return (self.tick_size * int(ticks)).normalize() if ticks else Decimal(0)

    def round_price_to_ticks(self, price: object, *, up: bool) -> int:
        """Nearest tick towards the given direction (up for asks, down for bids)."""
        value = to_decimal(price, f"{self.symbol} price")
        ticks = value / self.tick_size
        whole = int(ticks.to_integral_value(rounding="ROUND_CEILING" if up else "ROUND_FLOOR"))
        return whole

    # -- amounts ----------------------------------------------------------------
    def amount_to_lots(self, amount: object) -> int:
        value = to_decimal(amount, f"{self.symbol} amount")
        lots, rest = divmod(value, self.lot_size)
        if rest != 0:
            raise OffGridError(f"{self.symbol}: amount {value} is not a multiple of lot {self.lot_size}")
        return int(lots)

    def round_amount_to_lots(self, amount: object) -> int:
        value = to_decimal(amount, f"{self.symbol} amount")
        return int((value / self.lot_size).to_integral_value(rounding="ROUND_FLOOR"))

    def lots_to_amount(self, lots: int) -> Decimal:
        return (self.lot_size * int(lots)).normalize() if lots else Decimal(0)

    # -- money ------------------------------------------------------------------
    def notional(self, ticks: int, lots: int) -> Decimal:
        """Quote value of lots at a tick price, exact."""
        return self.tick_size * self.lot_size * int(ticks) * int(lots)

    def fee(self, ticks: int, lots: int, *, maker: bool) -> Decimal:
        """Fee in the quote asset (exact: Decimal keeps every digit)."""
        return self.notional(ticks, lots) * (self.maker_fee if maker else self.taker_fee)


BTC_USDT = Instrument(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    tick_size=Decimal("0.01"),
    lot_size=Decimal("0.00001"),
    min_notional=Decimal("5"),
    maker_fee=Decimal("0.001"),
    taker_fee=Decimal("0.001"),
)
"""Binance spot BTCUSDT rules, the instrument of the shared recordings and the demo market."""

BTC_USDT_PERP = Instrument(
    symbol="BTC/USDT:USDT",
    base="BTC",
    quote="USDT",
    tick_size=Decimal("0.1"),
    lot_size=Decimal("0.001"),
    min_notional=Decimal("100"),
    maker_fee=Decimal("0.0002"),
    taker_fee=Decimal("0.0005"),
)

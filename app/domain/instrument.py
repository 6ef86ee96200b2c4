"""Instruments and the exact conversions between human prices and integer ticks/lots.

Hot paths (books, matching, fill simulation) work on int64 ticks and lots so that no
binary float ever decides a price; Decimal is used only where values enter or leave.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
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


SPOT = "spot"
LINEAR = "linear"
INVERSE = "inverse"
KINDS = (SPOT, LINEAR, INVERSE)
"""spot: assets change hands; linear: a perpetual settled in the quote asset (USDT-margined);
inverse: a perpetual settled in the base asset, each contract worth `contract_size` quote
(coin-margined). ccxt calls the last two `linear` and `inverse` swaps."""


@dataclass(frozen=True, slots=True)
class Instrument:
    """A market with its exchange rules. Fee rates are fractions (0.001 = 10 bp).

    `symbol` is ccxt's unified symbol (BTC/USDT, ETH/USDT:USDT, BTC/USD:BTC); amounts are
    in contracts for derivatives, as ccxt counts them (Binance USD-M: base units, contract
    size 1; COIN-M: contracts of `contract_size` quote). `min_notional` and every money
    figure of this class are in the settlement asset (`settle_asset`).
    """

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_notional: Decimal = Decimal(0)
    maker_fee: Decimal = Decimal(0)
    taker_fee: Decimal = Decimal(0)
    kind: str = SPOT
    settle: str = ""  # settlement asset of a derivative; "" means the quote asset
    contract_size: Decimal = Decimal(1)
    exchange_symbol: str = ""  # the venue's own id (BTCUSDT, BTCUSD_PERP); "" when not known
    source: str = field(default="", compare=False)  # where the rules came from, for messages

    def __post_init__(self) -> None:
        if self.tick_size <= 0 or self.lot_size <= 0:
            raise ValueError(f"{self.symbol}: tick and lot sizes must be positive")
        if self.kind not in KINDS:
            raise ValueError(f"{self.symbol}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.contract_size <= 0:
            raise ValueError(f"{self.symbol}: contract size must be positive")
        if self.min_notional < 0:
            raise ValueError(f"{self.symbol}: minimum notional cannot be negative")
        for name in ("maker_fee", "taker_fee"):
            rate = getattr(self, name)
            if not rate.is_finite() or not Decimal("-0.01") <= rate <= Decimal("0.1"):
                raise ValueError(f"{self.symbol}: {name.replace('_', ' ')} {rate} is outside -1% .. 10%")

    # -- what kind of market ------------------------------------------------------
    @property
    def is_derivative(self) -> bool:
        return self.kind != SPOT

    @property
    def is_inverse(self) -> bool:
        return self.kind == INVERSE

    @property
    def settle_asset(self) -> str:
        """The asset PnL, fees and margin are counted in: quote for spot and linear,
        base for inverse (unless the venue says otherwise)."""
        if self.settle:
            return self.settle
        return self.base if self.kind == INVERSE else self.quote

    @property
    def fee_asset(self) -> str:
        return self.settle_asset

    def with_rules(self, **changes: object) -> "Instrument":
        """A copy with some rules replaced (config or command-line overrides)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def describe(self) -> str:
        """One line with every rule, for `data info`, reports and the bot form."""
        parts = [f"{self.symbol} ({self.kind}", f"tick {self.tick_size}", f"lot {self.lot_size}"]
        if self.is_derivative:
            parts.append(f"contract size {self.contract_size}")
            parts.append(f"settled in {self.settle_asset}")
        parts.append(f"min notional {self.min_notional} {self.settle_asset}")
        parts.append(f"fees maker {fmt_rate(self.maker_fee)} / taker {fmt_rate(self.taker_fee)})")
        return ", ".join(parts)

    # -- prices -----------------------------------------------------------------
    def price_to_ticks(self, price: object) -> int:
        value = to_decimal(price, f"{self.symbol} price")
        ticks, rest = divmod(value, self.tick_size)
        if rest != 0:
            raise OffGridError(f"{self.symbol}: price {value} is not a multiple of tick {self.tick_size}")
        return int(ticks)

    def ticks_to_price(self, ticks: int) -> Decimal:
        return _plain(self.tick_size * int(ticks)) if ticks else Decimal(0)

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
        return _plain(self.lot_size * int(lots)) if lots else Decimal(0)

    # -- money ------------------------------------------------------------------
    def notional(self, ticks: int, lots: int) -> Decimal:
        """Value of `lots` at a tick price in the settlement asset.

        Spot and linear: price x amount x contract size (quote), exact. Inverse: contracts x
        contract size / price (base), a division carried to Decimal's 28 digits."""
        if self.kind == INVERSE:
            if ticks <= 0:
                return Decimal(0)
            return self.lot_size * self.contract_size * int(lots) / (self.tick_size * int(ticks))
        value = self.tick_size * self.lot_size * int(ticks) * int(lots)
        return value if self.contract_size == 1 else value * self.contract_size

    def fee(self, ticks: int, lots: int, *, maker: bool) -> Decimal:
        """Fee in the settlement asset (exact for spot and linear)."""
        return self.notional(ticks, lots) * (self.maker_fee if maker else self.taker_fee)

    def min_lots_at(self, ticks: int) -> int:
        """The fewest lots whose notional at `ticks` reaches the minimum (at least 1)."""
        if self.min_notional <= 0 or ticks <= 0:
            return 1
        one = self.notional(ticks, 1)
        lots = int((self.min_notional / one).to_integral_value(rounding="ROUND_CEILING"))
        return max(1, lots)

    def base_amount(self, lots: int, ticks: int = 0) -> Decimal:
        """Exposure in the base asset: spot and linear amount x contract size; inverse
        contracts x contract size / price."""
        if self.kind == INVERSE:
            return self.notional(ticks, lots)
        return self.lots_to_amount(lots) * self.contract_size


_ONE = Decimal(1)


def _plain(value: Decimal) -> Decimal:
    """Without trailing zeros and without an exponent: 100, never 1E+2 (shown to people).
    (An integral value is quantized to units; `as_tuple` would build a named tuple in
    Python on every price and amount converted.)"""
    value = value.normalize()
    return value.quantize(_ONE) if value == value.to_integral_value() else value


def fmt_rate(rate: Decimal) -> str:
    """0.0002 -> '0.02%'."""
    return f"{format((rate * 100).normalize(), 'f')}%"


BTC_USDT = Instrument(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    tick_size=Decimal("0.01"),
    lot_size=Decimal("0.00001"),
    min_notional=Decimal("5"),
    maker_fee=Decimal("0.001"),
    taker_fee=Decimal("0.001"),
    exchange_symbol="BTCUSDT",
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
    kind=LINEAR,
    exchange_symbol="BTCUSDT",
)
"""Binance USD-M BTCUSDT perpetual rules (the shared futures recording)."""

BTC_USD_INVERSE = Instrument(
    symbol="BTC/USD:BTC",
    base="BTC",
    quote="USD",
    tick_size=Decimal("0.1"),
    lot_size=Decimal("1"),
    min_notional=Decimal("0"),
    maker_fee=Decimal("0.0002"),
    taker_fee=Decimal("0.0005"),
    kind=INVERSE,
    contract_size=Decimal("100"),
    exchange_symbol="BTCUSD_PERP",
)
"""Binance COIN-M BTCUSD perpetual rules: contracts of 100 USD, settled in BTC."""

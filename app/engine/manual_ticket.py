"""An order typed by hand: what it is, whether it can be sent, and what it costs.

The desktop's order ticket and the ladder's clicks build a `ManualOrder` and ask
`check_ticket` for a `TicketPreview` before anything leaves: the notional and the fee
(maker or taker, from the instrument's rates and the current touch) are shown next to
the Send button, and an order that could never be accepted (off the tick or lot grid,
below the minimum notional, a post-only order that would cross) is refused here with one
line that says why, instead of a venue's rejection a moment later. Qt-free, so the same
checks serve the window, scripts and tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from app.domain import Instrument, OrderType, Side
from app.domain.instrument import OffGridError
from app.engine.risk_guard import amount_text as _plain

LIMIT = "limit"
MARKET = "market"
KINDS = (LIMIT, MARKET)


class TicketError(ValueError):
    """Why a hand-typed order cannot be sent: one line for the trader."""


def parse_decimal(text: str, what: str) -> Decimal:
    """`text` as an exact positive Decimal; TicketError naming `what` otherwise."""
    raw = (text or "").strip().replace(",", "")
    if not raw:
        raise TicketError(f"{what}: enter a number")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise TicketError(f"{what}: {raw!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise TicketError(f"{what}: {raw} must be above zero")
    return value


@dataclass(frozen=True, slots=True)
class ManualOrder:
    """One order as the trader asked for it (exact Decimals, as typed)."""

    account: str
    symbol: str
    side: Side
    kind: str  # LIMIT or MARKET
    amount: Decimal
    price: Decimal | None = None  # limit orders only
    post_only: bool = False
    ioc: bool = False

    def order_type(self) -> OrderType:
        """The venue's order type; TicketError for a combination no venue takes."""
        if self.kind not in KINDS:
            raise TicketError(f"order type {self.kind!r}: choose limit or market")
        if self.post_only and self.ioc:
            raise TicketError("post-only and IOC exclude each other: a post-only order rests, an IOC never does")
        if self.kind == MARKET:
            if self.post_only or self.ioc:
                raise TicketError("post-only and IOC apply to limit orders; a market order takes the book at once")
            return OrderType.MARKET
        if self.post_only:
            return OrderType.LIMIT_MAKER
        return OrderType.IOC if self.ioc else OrderType.LIMIT

    def describe(self) -> str:
        """'buy 0.01 BTC/USDT at 60000 (post-only) on demo', for confirmations and the log."""
        where = "at market" if self.kind == MARKET else f"at {self.price}"
        flags = " (post-only)" if self.post_only else " (IOC)" if self.ioc else ""
        return f"{self.side.value} {self.amount} {self.symbol} {where}{flags} on {self.account}"


@dataclass(frozen=True, slots=True)
class TicketPreview:
    """What the order would be and cost: exact ticks and lots, money in the settlement asset."""

    order_type: OrderType
    price_ticks: int  # the limit price, or for a market order the touch it is estimated at
    amount_lots: int
    notional: Decimal
    fee: Decimal
    maker: bool
    asset: str
    estimated: bool  # a market order: priced at the touch, it may fill further away

    def describe(self, instrument: Instrument) -> str:
        """'notional 600 USDT, fee 0.6 USDT (taker 0.1%)' with '≈' for a market order."""
        approx = "≈ " if self.estimated else ""
        rate = instrument.maker_fee if self.maker else instrument.taker_fee
        return (f"notional {approx}{_plain(self.notional)} {self.asset}, fee {approx}{_plain(self.fee)} {self.asset} "
                f"({'maker' if self.maker else 'taker'} {_plain(rate * 100)}%)")


def check_ticket(order: ManualOrder, instrument: Instrument, best_bid_ticks: int, best_ask_ticks: int) -> TicketPreview:
    """The order's preview against the instrument's rules and the current touch (0: that
    side of the book is empty); TicketError with the reason when it cannot be sent."""
    order_type = order.order_type()
    try:
        lots = instrument.amount_to_lots(order.amount)
    except (OffGridError, ValueError) as exc:
        raise TicketError(str(exc)) from None
    if lots <= 0:
        raise TicketError(f"amount {order.amount} is below the lot {instrument.lot_size}")
    buy = order.side is Side.BUY
    touch = best_ask_ticks if buy else best_bid_ticks  # what the order would trade against
    if order_type is OrderType.MARKET:
        if touch <= 0:
            raise TicketError(f"no {'ask' if buy else 'bid'} in the book to price a market {order.side.value}")
        ticks, maker, estimated = touch, False, True
    else:
        if order.price is None:
            raise TicketError("price: a limit order needs a price")
        try:
            ticks = instrument.price_to_ticks(order.price)
        except (OffGridError, ValueError) as exc:
            raise TicketError(str(exc)) from None
        if ticks <= 0:
            raise TicketError(f"price {order.price} must be above zero")
        crosses = touch > 0 and (ticks >= touch if buy else ticks <= touch)
        if order_type is OrderType.LIMIT_MAKER and crosses:
            raise TicketError(f"a post-only {order.side.value} at {order.price} would cross the best "
                              f"{'ask' if buy else 'bid'} {instrument.ticks_to_price(touch)}: "
                              "the venue would refuse it")
        maker = order_type is OrderType.LIMIT_MAKER or (order_type is OrderType.LIMIT and not crosses)
        estimated = False
    notional = instrument.notional(ticks, lots)
    if instrument.min_notional > 0 and notional < instrument.min_notional:
        raise TicketError(f"notional {_plain(notional)} {instrument.settle_asset} is below the minimum "
                          f"{instrument.min_notional} {instrument.settle_asset}")
    fee = instrument.fee(ticks, lots, maker=maker)
    return TicketPreview(order_type, ticks, lots, notional, fee, maker, instrument.settle_asset, estimated)


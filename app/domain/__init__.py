"""The explicit domain model: instruments, orders, fills, balances and events."""
from app.domain.events import (
    TRADE_DTYPE,
    BalancesUpdated,
    BookResynced,
    BookStale,
    BookUpdated,
    CancelRejected,
    ConnectionChanged,
    ConnectionState,
    Event,
    FundingPaid,
    MarkPrice,
    OrderFilled,
    OrderUpdated,
    TradesEvent,
)
from app.domain.fill import Balance, Fill
from app.domain.instrument import (
    BTC_USD_INVERSE,
    BTC_USDT,
    BTC_USDT_PERP,
    INVERSE,
    LINEAR,
    SPOT,
    Instrument,
    OffGridError,
    to_decimal,
)
from app.domain.order import IllegalTransition, Order, OrderEvent, OrderStatus, OrderType, Side, new_client_order_id

__all__ = [
    "TRADE_DTYPE", "BalancesUpdated", "BookResynced", "BookStale", "BookUpdated", "Event",
    "OrderFilled", "OrderUpdated", "TradesEvent", "FundingPaid", "MarkPrice", "CancelRejected", "ConnectionChanged", "ConnectionState", "Balance", "Fill", "BTC_USDT", "BTC_USDT_PERP", "BTC_USD_INVERSE",
    "SPOT", "LINEAR", "INVERSE",
    "Instrument", "OffGridError", "to_decimal", "IllegalTransition", "Order", "OrderEvent", "OrderStatus",
    "OrderType", "Side", "new_client_order_id",
]

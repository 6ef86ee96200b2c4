"""Numbers and records as Binance writes them: fixed 8-decimal strings, order and trade JSON."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import ROUND_DOWN, Decimal

from app.domain import Instrument

EIGHT = Decimal("1e-8")


def dec(value: Decimal | int) -> str:
    """A Decimal with Binance's 8 decimals (rounded down, so a balance is never overstated)."""
    return format(Decimal(value).quantize(EIGHT, rounding=ROUND_DOWN), "f")


class Numbers:
    """Ticks and lots of one instrument as Binance strings, without going through Decimal."""

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self._price = _scale(instrument.tick_size)
        self._qty = _scale(instrument.lot_size)

    def price(self, ticks: int) -> str:
        return _fixed(int(ticks) * self._price[0], self._price[1])

    def qty(self, lots: int) -> str:
        return _fixed(int(lots) * self._qty[0], self._qty[1])


def _scale(step: Decimal) -> tuple[int, int]:
    exponent = step.normalize().as_tuple().exponent
    decimals = max(0, -int(exponent))
    return int(step.scaleb(decimals)), decimals


def _fixed(units: int, decimals: int) -> str:
    """`units` of 10**-decimals as a string with at least 8 decimals."""
    sign = "-" if units < 0 else ""
    digits = str(abs(units)).rjust(decimals + 1, "0")
    whole, frac = (digits[:-decimals], digits[-decimals:]) if decimals else (digits, "")
    return f"{sign}{whole}.{frac.ljust(8, '0')}"


OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")
FINAL_STATUSES = ("FILLED", "CANCELED", "EXPIRED", "REJECTED")


@dataclass
class OrderRecord:
    """One order as Binance reports it. `status` is PENDING_NEW until the engine has it."""

    order_id: int
    client_order_id: str
    side: str  # BUY / SELL
    type: str  # LIMIT / LIMIT_MAKER / MARKET
    time_in_force: str  # GTC / IOC
    price_ticks: int
    orig_lots: int
    orig_quote: str  # origQuoteOrderQty, "0" unless given
    time_ms: int
    update_ms: int
    executed_lots: int = 0
    cum_quote: str = "0"
    status: str = "PENDING_NEW"
    announced: bool = False  # the NEW execution report went out
    cancel_requested: bool = False
    fills: list = field(default_factory=list)  # fills of this process run, for FULL answers

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def to_store(self) -> dict:
        data = asdict(self)
        data.pop("fills")
        data.pop("cancel_requested")
        return data

    @classmethod
    def from_store(cls, data: dict) -> "OrderRecord":
        return cls(**data)


class OrderViews:
    """Binance's JSON of orders and trades for one symbol."""

    def __init__(self, symbol: str, numbers: Numbers) -> None:
        self.symbol = symbol
        self.n = numbers

    def _core(self, rec: OrderRecord) -> dict:
        n = self.n
        return {
            "symbol": self.symbol, "orderId": rec.order_id, "orderListId": -1,
            "clientOrderId": rec.client_order_id,
            "price": n.price(rec.price_ticks), "origQty": n.qty(rec.orig_lots),
            "executedQty": n.qty(rec.executed_lots), "cummulativeQuoteQty": dec(Decimal(rec.cum_quote)),
            "status": _public_status(rec.status), "timeInForce": rec.time_in_force, "type": rec.type,
            "side": rec.side,
        }

    def new_order(self, rec: OrderRecord, resp_type: str) -> dict:
        if resp_type == "ACK":
            return {"symbol": self.symbol, "orderId": rec.order_id, "orderListId": -1,
                    "clientOrderId": rec.client_order_id, "transactTime": rec.time_ms}
        out = self._core(rec)
        out.update(transactTime=rec.time_ms, workingTime=rec.time_ms if rec.is_open or rec.executed_lots else -1,
                   origQuoteOrderQty=dec(Decimal(rec.orig_quote)), selfTradePreventionMode="NONE")
        if resp_type == "FULL":
            out["fills"] = list(rec.fills)
        return out

    def cancelled(self, rec: OrderRecord, cancel_client_id: str) -> dict:
        out = self._core(rec)
        out.update(origClientOrderId=rec.client_order_id, clientOrderId=cancel_client_id,
                   transactTime=rec.update_ms, origQuoteOrderQty=dec(Decimal(rec.orig_quote)),
                   selfTradePreventionMode="NONE")
        return out

    def order(self, rec: OrderRecord) -> dict:
        out = self._core(rec)
        out.update(stopPrice="0.00000000", icebergQty="0.00000000", time=rec.time_ms, updateTime=rec.update_ms,
                   isWorking=True, workingTime=rec.time_ms, origQuoteOrderQty=dec(Decimal(rec.orig_quote)),
                   selfTradePreventionMode="NONE")
        return out


def _public_status(status: str) -> str:
    return "NEW" if status == "PENDING_NEW" else status

"""Domain model: exact conversions, the order state machine, the ledger."""
from decimal import Decimal

import pytest

from app.domain import BTC_USDT, IllegalTransition, OffGridError, Order, OrderStatus, OrderType, Side
from app.domain.ledger import InsufficientBalance, Ledger
from app.domain.validation import check_order


def make_order(side=Side.BUY, price=6_000_000, lots=100, oid="o1") -> Order:
    return Order(oid, "BTC/USDT", side, OrderType.LIMIT, price, lots, created_ns=0)


def test_price_and_amount_conversions_are_exact():
    assert BTC_USDT.price_to_ticks("60000.01") == 6_000_001
    assert BTC_USDT.price_to_ticks(0.1) == 10  # floats go through repr: 0.1 stays 0.1
    assert BTC_USDT.ticks_to_price(6_000_001) == Decimal("60000.01")
    assert BTC_USDT.amount_to_lots("0.00123") == 123
    assert BTC_USDT.lots_to_amount(123) == Decimal("0.00123")
    with pytest.raises(OffGridError, match="not a multiple of tick"):
        BTC_USDT.price_to_ticks("60000.005")
    with pytest.raises(OffGridError, match="not a multiple of lot"):
        BTC_USDT.amount_to_lots("0.000001")
    with pytest.raises(ValueError, match="not a number"):
        BTC_USDT.price_to_ticks("abc")


def test_notional_and_fee_exact():
    assert BTC_USDT.notional(6_000_000, 100) == Decimal("60")
    assert BTC_USDT.fee(6_000_000, 100, maker=True) == Decimal("0.06")


def test_state_machine_allows_life_cycle_and_refuses_illegal_moves():
    order = make_order()
    order.transition(OrderStatus.OPEN, 1)
    order.record_fill(40, 2)
    assert order.status is OrderStatus.PARTIALLY_FILLED
    order.transition(OrderStatus.PENDING_CANCEL, 3)
    order.record_fill(10, 4)  # a fill racing the cancel keeps the pending state
    assert order.status is OrderStatus.PENDING_CANCEL and order.filled_lots == 50
    order.transition(OrderStatus.CANCELLED, 5)
    assert order.status.is_done
    with pytest.raises(IllegalTransition):
        order.transition(OrderStatus.OPEN, 6)
    with pytest.raises(IllegalTransition, match="exceeds remaining"):
        make_order().record_fill(101, 1)


def test_fill_completing_a_pending_cancel_makes_it_filled():
    order = make_order()
    order.transition(OrderStatus.OPEN, 1)
    order.transition(OrderStatus.PENDING_CANCEL, 2)
    order.record_fill(100, 3)
    assert order.status is OrderStatus.FILLED


def test_ledger_locks_settles_and_releases_exactly():
    ledger = Ledger({"USDT": "1000", "BTC": "0.01"})
    buy = make_order(Side.BUY, 6_000_000, 1000, "b")  # 0.01 BTC at 60000 = 600 USDT
    ledger.lock_for_order(buy, BTC_USDT, buy.price_ticks)
    usdt = ledger.balance("USDT")
    assert usdt.locked == Decimal("600.6")  # notional + max fee
    fee = ledger.settle_fill(buy, BTC_USDT, 5_999_000, 400, is_maker=True)
    assert fee == Decimal("0.23996")
    assert usdt.total == Decimal("1000") - Decimal("239.96") - fee
    ledger.release("b")
    assert usdt.locked == 0 and ledger.balance("BTC").total == Decimal("0.014")
    sell = make_order(Side.SELL, 6_000_000, 2000, "s")
    with pytest.raises(InsufficientBalance, match="needs 0.02 BTC, available 0.014"):
        ledger.lock_for_order(sell, BTC_USDT, sell.price_ticks)


def test_check_order_reasons():
    assert "min notional" in check_order(BTC_USDT, OrderType.LIMIT, 1, 6_000_000)
    assert "positive" in check_order(BTC_USDT, OrderType.LIMIT, 0, 6_000_000)
    assert check_order(BTC_USDT, OrderType.LIMIT, 100, 6_000_000) is None

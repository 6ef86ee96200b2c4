"""PnL against holding (fees once) and the quote reconciler."""
from decimal import Decimal

from app.domain import Fill, Order, OrderStatus, OrderType, Side
from app.engine.pnl import PnlTracker
from app.interfaces.strategy import Quote
from strategies.reconcile import plan_orders


def fill(side, price, amount, fee):
    return Fill("t", "o", "BTC/USDT", side, Decimal(price), Decimal(amount), Decimal(fee), "USDT", True, 0)


def test_round_trip_pnl_counts_fees_once_and_splits_realized():
    pnl = PnlTracker("USDT")
    pnl.on_fill(fill(Side.BUY, "100", "2", "0.2"))
    pnl.on_fill(fill(Side.SELL, "110", "1", "0.11"))
    assert pnl.cash_delta == Decimal("-200.2") + Decimal("109.89")
    assert pnl.base_delta == Decimal("1")
    assert pnl.pnl(Decimal("105")) == Decimal("14.69")  # 10 gained on one, 5 on the other, minus 0.31 fees
    assert pnl.realized == Decimal("10") - Decimal("0.31")
    assert pnl.unrealized(Decimal("105")) == Decimal("5")
    assert pnl.fees_quote == Decimal("0.31") and pnl.fills == 2


def test_position_flip_resets_average_cost():
    pnl = PnlTracker("USDT")
    pnl.on_fill(fill(Side.BUY, "100", "1", "0"))
    pnl.on_fill(fill(Side.SELL, "90", "3", "0"))
    assert pnl.realized == Decimal("-10")
    assert pnl.unrealized(Decimal("80")) == Decimal("20")  # short 2 from 90


def order(oid, side, price, lots, created=0, status=OrderStatus.OPEN):
    o = Order(oid, "BTC/USDT", side, OrderType.LIMIT, price, lots, created)
    o.status = status
    return o


def test_plan_keeps_orders_within_tolerance_and_replaces_the_rest():
    wanted = [Quote(Side.BUY, 100, 5), Quote(Side.SELL, 110, 5)]
    resting = [order("a", Side.BUY, 101, 5), order("b", Side.SELL, 120, 5)]
    plan = plan_orders(wanted, resting, tolerance_ticks=1, max_age_ns=10, now_ns=5)
    assert plan.cancel == ["b"]
    assert plan.create == [Quote(Side.SELL, 110, 5)]


def test_plan_replaces_aged_orders_and_ignores_pending_cancels():
    wanted = [Quote(Side.BUY, 100, 5)]
    resting = [order("a", Side.BUY, 100, 5, created=0), order("c", Side.BUY, 100, 5, status=OrderStatus.PENDING_CANCEL)]
    plan = plan_orders(wanted, resting, tolerance_ticks=0, max_age_ns=10, now_ns=20)
    assert plan.cancel == ["a"] and plan.create == wanted

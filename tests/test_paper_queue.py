"""Queue-position rules of the paper fill model, with numbers worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest

from app.book.orderbook import ASK, BID, OrderBook
from connectors.paper.queue_model import FILL_DTYPE, QueueModel
from tests.paper_support import trades

BUY_TAKER = 1
SELL_TAKER = -1


def book_with(bids: dict[int, int], asks: dict[int, int]) -> OrderBook:
    book = OrderBook("TST/USD")
    for price, qty in bids.items():
        book.apply_delta(BID, price, qty)
    for price, qty in asks.items():
        book.apply_delta(ASK, price, qty)
    return book


def fills_of(fills: np.ndarray) -> list[tuple[int, int, int, int]]:
    assert fills.dtype == FILL_DTYPE
    return [(int(f["oid"]), int(f["price_ticks"]), int(f["lots"]), int(f["is_maker"])) for f in fills]


def test_joins_behind_displayed_volume() -> None:
    book = book_with({1000: 40, 999: 70}, {1001: 30})
    model = QueueModel()
    model.add(1, BID, 1000, 5, book.volume_at(BID, 1000))
    model.add(2, ASK, 1001, 5, book.volume_at(ASK, 1001))
    model.add(3, BID, 998, 5, book.volume_at(BID, 998))  # an empty level: first in line
    assert model.queue_ahead(1) == 40
    assert model.queue_ahead(2) == 30
    assert model.queue_ahead(3) == 0
    assert model.queue_ahead(99) is None
    assert len(model) == 3


def test_trades_at_price_reduce_queue_then_partial_then_full_fill() -> None:
    model = QueueModel()
    model.add(7, BID, 1000, 5, 10)
    assert len(model.on_trades(trades((1000, 4, SELL_TAKER)))) == 0
    assert model.queue_ahead(7) == 6
    # 8 lots sold at our bid: 6 take the rest of the queue, 2 fill us.
    assert fills_of(model.on_trades(trades((1000, 8, SELL_TAKER)))) == [(7, 1000, 2, 1)]
    assert model.queue_ahead(7) == 0
    assert model.remaining(7) == 3
    # More than we need: filled in full at our own price, then gone from the model.
    assert fills_of(model.on_trades(trades((1000, 9, SELL_TAKER)))) == [(7, 1000, 3, 1)]
    assert model.remaining(7) is None
    assert len(model) == 0


def test_only_takers_of_the_other_side_reach_a_resting_order() -> None:
    model = QueueModel()
    model.add(1, ASK, 1001, 5, 0)
    model.add(2, BID, 1000, 5, 0)
    # A sell taker at our ask price or a buy taker at our bid price cannot hit us.
    assert len(model.on_trades(trades((1001, 3, SELL_TAKER), (1000, 3, BUY_TAKER)))) == 0
    assert fills_of(model.on_trades(trades((1001, 3, BUY_TAKER)))) == [(1, 1001, 3, 1)]


def test_cancels_ahead_shrink_the_queue_proportionally() -> None:
    book = book_with({1000: 40}, {1001: 10})
    model = QueueModel()
    model.add(1, BID, 1000, 5, book.volume_at(BID, 1000))
    book.apply_delta(BID, 1000, 100)  # 60 lots join behind us
    model.on_book(book)
    assert model.queue_ahead(1) == 40
    book.apply_delta(BID, 1000, 50)  # 50 lots cancelled, no trade: 40% of them were ahead
    model.on_book(book)
    assert model.queue_ahead(1) == 40 - 50 * 40 // 100


def test_traded_volume_is_not_mistaken_for_cancels() -> None:
    book = book_with({1000: 100}, {1001: 10})
    model = QueueModel()
    model.add(1, BID, 1000, 5, 40)
    model.on_book(book)
    model.on_trades(trades((1000, 10, SELL_TAKER)))
    assert model.queue_ahead(1) == 30
    # The level shows the trade (-10) plus 20 cancels; 30 of the remaining 90 are ahead.
    book.apply_delta(BID, 1000, 70)
    model.on_book(book)
    assert model.queue_ahead(1) == 30 - (20 * 30) // 90
    # A level that only lost the traded lots had no cancels.
    model.on_trades(trades((1000, 4, SELL_TAKER)))
    book.apply_delta(BID, 1000, 66)
    model.on_book(book)
    assert model.queue_ahead(1) == 24 - 4


def test_queue_is_clamped_to_the_displayed_level() -> None:
    book = book_with({1000: 40}, {1001: 10})
    model = QueueModel()
    model.add(1, BID, 1000, 5, 40)
    book.apply_delta(BID, 1000, 3)
    model.on_book(book)
    assert model.queue_ahead(1) <= 3
    book.apply_delta(BID, 1000, 0)  # everyone ahead left: we are first
    model.on_book(book)
    assert model.queue_ahead(1) == 0


def test_trade_through_fills_bounded_by_the_print() -> None:
    model = QueueModel()
    model.add(1, BID, 1000, 5, 50)
    # A sell print below our bid: the market traded through our price.
    assert fills_of(model.on_trades(trades((999, 3, SELL_TAKER)))) == [(1, 1000, 3, 1)]
    assert model.queue_ahead(1) == 0
    assert model.remaining(1) == 2
    # Through an ask: a buy print above it.
    model.add(2, ASK, 1005, 4, 20)
    assert fills_of(model.on_trades(trades((1006, 10, BUY_TAKER)))) == [(2, 1005, 4, 1)]


def test_one_print_is_shared_in_price_then_time_priority() -> None:
    model = QueueModel()
    model.add(1, BID, 1000, 3, 0)
    model.add(2, BID, 1001, 3, 0)  # better price: first in line for a print through both
    model.add(3, BID, 999, 3, 0)   # at the print's price, gets what the print has left
    got = fills_of(model.on_trades(trades((999, 4, SELL_TAKER))))
    assert got == [(2, 1001, 3, 1), (1, 1000, 1, 1)]
    assert sum(lots for _, _, lots, _ in got) == 4


def test_own_orders_at_one_price_fill_in_arrival_order() -> None:
    model = QueueModel()
    model.add(1, BID, 1000, 4, 5)  # A: 5 public lots ahead
    model.add(2, BID, 1000, 4, 8)  # B: 3 more public lots joined between A and B
    # 12 sold: 5 public, A's 4, then 3 public before B: nothing left for B.
    assert fills_of(model.on_trades(trades((1000, 12, SELL_TAKER)))) == [(1, 1000, 4, 1)]
    assert model.queue_ahead(2) == 0
    assert fills_of(model.on_trades(trades((1000, 2, SELL_TAKER)))) == [(2, 1000, 2, 1)]


def test_no_fill_when_the_opposite_best_crosses_without_trades() -> None:
    book = book_with({1000: 10}, {1002: 10})
    model = QueueModel()
    model.add(1, BID, 1001, 5, 0)
    book.apply_delta(ASK, 999, 20)  # asks now at or below our bid, but nothing printed
    assert model.on_book(book) is None
    assert model.remaining(1) == 5
    # Prints above our bid (buy takers lifting asks) are not ours either.
    assert len(model.on_trades(trades((999, 5, BUY_TAKER)))) == 0
    assert model.remaining(1) == 5


def test_batch_applies_prints_in_order_and_remove_stops_fills() -> None:
    model = QueueModel()
    model.add(1, ASK, 1001, 10, 2)
    model.add(2, BID, 1000, 10, 0)
    got = fills_of(model.on_trades(trades((1001, 3, BUY_TAKER), (1000, 4, SELL_TAKER), (1001, 1, BUY_TAKER))))
    assert got == [(1, 1001, 1, 1), (2, 1000, 4, 1), (1, 1001, 1, 1)]
    assert model.remove(2) is True
    assert model.remove(2) is False
    assert len(model.on_trades(trades((1000, 4, SELL_TAKER)))) == 0


def test_reset_levels_clamps_without_inferring_cancels() -> None:
    book = book_with({1000: 100}, {1001: 10})
    model = QueueModel()
    model.add(1, BID, 1000, 5, 60)
    model.on_book(book)
    book.apply_delta(BID, 1000, 80)
    model.reset_levels(book)
    assert model.queue_ahead(1) == 60
    book.apply_delta(BID, 1000, 30)
    model.reset_levels(book)
    assert model.queue_ahead(1) == 30


def test_rejects_bad_orders() -> None:
    model = QueueModel()
    with pytest.raises(ValueError):
        model.add(1, 0, 1000, 5, 0)
    with pytest.raises(ValueError):
        model.add(1, BID, 1000, 0, 0)
    model.add(1, BID, 1000, 5, 0)
    with pytest.raises(ValueError):
        model.add(1, BID, 1000, 5, 0)

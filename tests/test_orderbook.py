"""The Cython L2 book: every method, edge cases, and a property test against a dict book."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.book import ASK, BID, OrderBook


def arr(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def make_book(bids: list[tuple[int, int]], asks: list[tuple[int, int]], update_id: int = 0) -> OrderBook:
    book = OrderBook("TEST", initial_capacity=64)
    book.apply_snapshot(
        arr([p for p, _ in bids]), arr([q for _, q in bids]),
        arr([p for p, _ in asks]), arr([q for _, q in asks]), update_id,
    )
    return book


class RefBook:
    """The obvious dict book with the same semantics (newest data wins on a cross)."""

    def __init__(self) -> None:
        self.sides: dict[int, dict[int, int]] = {BID: {}, ASK: {}}

    def snapshot(self, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
        self.sides = {BID: {}, ASK: {}}
        for p, q in bids:
            self.delta(BID, p, q)
        for p, q in asks:
            self.delta(ASK, p, q)

    def delta(self, side: int, price: int, qty: int) -> None:
        other = self.sides[-side]
        if qty:
            for p in [p for p in other if (p <= price if side == BID else p >= price)]:
                del other[p]
            self.sides[side][price] = qty
        else:
            self.sides[side].pop(price, None)

    def ordered(self, side: int) -> list[tuple[int, int]]:
        return sorted(self.sides[side].items(), reverse=(side == BID))

    def best(self, side: int) -> int:
        levels = self.ordered(side)
        return levels[0][0] if levels else 0

    def price_for_volume(self, side: int, lots: int) -> int:
        left = lots
        for p, q in self.ordered(side):
            left -= q
            if left <= 0:
                return p
        return 0


# -- unit tests -----------------------------------------------------------------------------

def test_constants_and_empty_book() -> None:
    assert (BID, ASK) == (1, -1)
    book = OrderBook()
    assert book.symbol == ""
    assert (book.best_bid_ticks, book.best_ask_ticks) == (0, 0)
    assert (book.best_bid_lots, book.best_ask_lots) == (0, 0)
    assert book.mid_ticks == 0.0 and book.spread_ticks == 0
    assert book.bid_depth == 0 and book.ask_depth == 0
    assert book.price_for_volume(ASK, 1) == 0
    assert book.vwap_for_volume(BID, 5) == (0.0, 0)
    prices, qtys = book.top_levels(BID, 5)
    assert prices.dtype == np.int64 and len(prices) == 0 and len(qtys) == 0
    assert not book.is_stale and book.stale_reason == ""


def test_snapshot_reads() -> None:
    book = make_book([(100, 1), (98, 3), (99, 2)], [(103, 6), (101, 5)], update_id=42)
    assert book.update_id == 42
    assert (book.best_bid_ticks, book.best_bid_lots) == (100, 1)
    assert (book.best_ask_ticks, book.best_ask_lots) == (101, 5)
    assert book.mid_ticks == 100.5
    assert book.spread_ticks == 1
    assert (book.bid_depth, book.ask_depth) == (3, 2)
    assert book.volume_at(BID, 99) == 2 and book.volume_at(ASK, 102) == 0
    assert book.volume_at(ASK, 10**9) == 0
    prices, qtys = book.top_levels(BID, 2)
    assert prices.tolist() == [100, 99] and qtys.tolist() == [1, 2]
    prices, qtys = book.top_levels(ASK, 10)
    assert prices.tolist() == [101, 103] and qtys.tolist() == [5, 6]


def test_snapshot_replaces_book_and_clears_stale() -> None:
    book = make_book([(100, 1)], [(101, 1)])
    book.mark_stale("gap")
    assert book.is_stale and book.stale_reason == "gap"
    book.apply_snapshot(arr([50]), arr([7]), arr([60]), arr([8]), 9)
    assert not book.is_stale and book.stale_reason == ""
    assert book.volume_at(BID, 100) == 0 and book.best_bid_ticks == 50 and book.best_ask_ticks == 60
    book.mark_stale("again")
    book.mark_fresh()
    assert not book.is_stale


def test_snapshot_rejects_mismatched_arrays() -> None:
    with pytest.raises(ValueError):
        OrderBook().apply_snapshot(arr([1, 2]), arr([1]), arr([]), arr([]))


def test_delta_is_absolute_and_zero_deletes() -> None:
    book = make_book([(100, 1), (99, 2)], [(101, 5)])
    book.apply_delta(BID, 100, 7)
    assert book.best_bid_lots == 7 and book.bid_depth == 2
    book.apply_delta(BID, 100, 0)
    assert book.best_bid_ticks == 99 and book.bid_depth == 1
    book.apply_delta(BID, 99, 0)
    assert book.best_bid_ticks == 0 and book.bid_depth == 0 and book.mid_ticks == 0.0
    book.apply_delta(BID, 12345, 0)  # deleting a missing level is a no-op
    assert book.bid_depth == 0


def test_best_rescans_over_holes() -> None:
    book = make_book([(100, 1), (90, 2)], [(110, 1), (130, 4)])
    book.apply_delta(BID, 100, 0)
    assert book.best_bid_ticks == 90
    book.apply_delta(ASK, 110, 0)
    assert book.best_ask_ticks == 130


def test_bid_crossing_removes_asks() -> None:
    book = make_book([(100, 1)], [(101, 1), (102, 2), (104, 3)])
    book.apply_delta(BID, 102, 9)
    assert book.best_bid_ticks == 102 and book.best_ask_ticks == 104
    assert book.volume_at(ASK, 101) == 0 and book.volume_at(ASK, 102) == 0
    assert book.ask_depth == 1


def test_ask_crossing_removes_bids() -> None:
    book = make_book([(100, 1), (99, 2), (97, 3)], [(101, 1)])
    book.apply_delta(ASK, 99, 5)
    assert book.best_ask_ticks == 99 and book.best_bid_ticks == 97
    assert book.bid_depth == 1
    book.apply_delta(ASK, 10, 1)  # crosses everything
    assert book.bid_depth == 0 and book.best_ask_ticks == 10


def test_zero_qty_at_crossing_price_removes_nothing() -> None:
    book = make_book([(100, 1)], [(101, 1)])
    book.apply_delta(BID, 105, 0)
    assert book.best_ask_ticks == 101 and book.best_bid_ticks == 100


def test_growth_and_rebase_far_away() -> None:
    book = OrderBook("X", initial_capacity=16)
    book.apply_delta(BID, 1_000_000, 3)
    book.apply_delta(BID, 10, 1)  # far below: array grows downwards
    book.apply_delta(BID, 5_000_000, 2)  # far above
    assert book.best_bid_ticks == 5_000_000 and book.bid_depth == 3
    assert book.volume_at(BID, 10) == 1 and book.volume_at(BID, 1_000_000) == 3
    book.apply_delta(BID, 5_000_000, 0)
    assert book.best_bid_ticks == 1_000_000
    prices, _ = book.top_levels(BID, 10)
    assert prices.tolist() == [1_000_000, 10]
    book.clear()
    book.apply_delta(ASK, 9_000_000_000, 4)  # empty side: re-based, no copy
    assert book.best_ask_ticks == 9_000_000_000 and book.ask_depth == 1


def test_far_levels_beyond_a_full_window() -> None:
    # Like Binance spot: asks at 200,000.00 with the market at 61,800.00 (14M ticks away).
    book = OrderBook("X", initial_capacity=16, max_capacity=1024)
    book.apply_snapshot(arr([6_180_000, 6_179_990]), arr([5, 6]), arr([6_180_001, 20_000_000]), arr([7, 2_542_619]))
    assert book.far_levels == (0, 1)
    assert book.best_ask_ticks == 6_180_001 and book.ask_depth == 2
    assert book.volume_at(ASK, 20_000_000) == 2_542_619
    assert book.price_for_volume(ASK, 8) == 20_000_000
    assert book.top_levels(ASK, 5)[0].tolist() == [6_180_001, 20_000_000]
    book.apply_delta(ASK, 6_180_001, 0)  # window empty: the far level is the best
    assert (book.best_ask_ticks, book.best_ask_lots) == (20_000_000, 2_542_619)
    book.apply_delta(ASK, 6_180_500, 3)
    assert book.best_ask_ticks == 6_180_500
    book.apply_delta(ASK, 19_000_000, 1)  # another far level, worse than the window
    assert book.top_levels(ASK, 5)[0].tolist() == [6_180_500, 19_000_000, 20_000_000]
    book.apply_delta(BID, 19_500_000, 1)  # crosses through the window and into the far map
    assert book.best_ask_ticks == 20_000_000 and book.ask_depth == 1
    assert book.best_bid_ticks == 19_500_000
    book.apply_delta(ASK, 20_000_000, 0)
    assert book.ask_depth == 0 and book.far_levels[1] == 0


def test_window_follows_a_rising_best_bid() -> None:
    book = OrderBook("X", initial_capacity=16, max_capacity=64)
    book.apply_delta(BID, 1_000, 1)
    book.apply_delta(BID, 900, 2)  # beyond 64 ticks: kept far
    for price in range(1_001, 1_400, 7):  # best keeps moving up: the window follows it
        book.apply_delta(BID, price, 1)
        assert book.best_bid_ticks == price
    prices, _ = book.top_levels(BID, 1000)
    assert prices[-2:].tolist() == [1_000, 900] and book.bid_depth == len(prices)
    assert book.far_levels[0] > 0


def test_levels_between() -> None:
    book = make_book([(100, 1), (98, 3), (95, 4)], [(101, 5), (103, 6), (110, 1)])
    prices, qtys = book.levels_between(BID, 96, 100)
    assert prices.tolist() == [100, 98] and qtys.tolist() == [1, 3]
    prices, qtys = book.levels_between(ASK, 200, 102)
    assert prices.tolist() == [103, 110] and qtys.tolist() == [6, 1]
    prices, _ = book.levels_between(ASK, 10**12, 10**13)
    assert len(prices) == 0


def test_price_and_vwap_for_volume() -> None:
    book = make_book([(100, 2), (99, 3)], [(101, 5), (103, 6)])
    assert book.price_for_volume(ASK, 5) == 101
    assert book.price_for_volume(ASK, 6) == 103
    assert book.price_for_volume(ASK, 12) == 0
    assert book.price_for_volume(BID, 4) == 99
    assert book.price_for_volume(BID, 0) == 0
    vwap, lots = book.vwap_for_volume(ASK, 7)
    assert lots == 7 and vwap == pytest.approx((101 * 5 + 103 * 2) / 7)
    vwap, lots = book.vwap_for_volume(BID, 100)
    assert lots == 5 and vwap == pytest.approx((100 * 2 + 99 * 3) / 5)


def test_apply_deltas_batch_and_best_tracking() -> None:
    book = make_book([(100, 1)], [(101, 1)])
    sides = np.array([BID, ASK, BID, ASK], dtype=np.int8)
    prices = arr([100, 101, 99, 105])
    qtys = arr([0, 0, 4, 2])
    assert book.apply_deltas(sides, prices, qtys) == 4
    assert (book.best_bid_ticks, book.best_ask_ticks) == (99, 105)
    other = make_book([(100, 1)], [(101, 1)])
    bb = np.zeros(4, dtype=np.int64)
    ba = np.zeros(4, dtype=np.int64)
    assert other.apply_deltas_best(sides, prices, qtys, bb, ba) == 4
    assert bb.tolist() == [0, 0, 99, 99] and ba.tolist() == [101, 0, 0, 105]
    with pytest.raises(ValueError):
        book.apply_deltas(sides, prices[:2], qtys)


def test_invalid_inputs_raise() -> None:
    book = OrderBook()
    with pytest.raises(ValueError):
        book.apply_delta(0, 100, 1)
    with pytest.raises(ValueError):
        book.apply_delta(BID, 100, -1)
    with pytest.raises(ValueError):
        book.apply_delta(ASK, 0, 1)
    with pytest.raises(ValueError):
        book.volume_at(2, 100)


def test_update_id_settable() -> None:
    book = OrderBook("S")
    book.update_id = 123
    assert book.update_id == 123 and book.symbol == "S"


# -- property test ------------------------------------------------------------------------

levels = st.lists(st.tuples(st.integers(1, 400), st.integers(1, 50)), max_size=30, unique_by=lambda x: x[0])
deltas = st.lists(
    st.tuples(st.sampled_from([BID, ASK]), st.integers(1, 400), st.integers(0, 50) | st.just(0)),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(
    bids=levels, asks=levels, seq=deltas, far=st.integers(0, 3), volume=st.integers(1, 500),
    cap=st.sampled_from([16, 64, 4096]), max_cap=st.sampled_from([16, 100, 1 << 18]),
)
def test_matches_reference_book(
    bids: list[tuple[int, int]], asks: list[tuple[int, int]], seq: list[tuple[int, int, int]],
    far: int, volume: int, cap: int, max_cap: int,
) -> None:
    # Keep the snapshot uncrossed (as an exchange sends it); shift some prices far away
    # so growth and re-basing are exercised.
    shift = [0, 10_000, 300_000, 3_000_000][far]
    bids = [(p, q) for p, q in bids if p < 200]
    asks = [(p + 200, q) for p, q in asks]
    seq = [(s, p + (shift if i % 7 == 3 else 0), q) for i, (s, p, q) in enumerate(seq)]
    ref = RefBook()
    ref.snapshot(bids, asks)
    book = OrderBook("P", initial_capacity=cap, max_capacity=max_cap)
    book.apply_snapshot(
        arr([p for p, _ in bids]), arr([q for _, q in bids]),
        arr([p for p, _ in asks]), arr([q for _, q in asks]),
    )
    touched = {p for _, p, _ in seq} | {p for p, _ in bids} | {p for p, _ in asks}
    for side, price, qty in seq:
        ref.delta(side, price, qty)
        book.apply_delta(side, price, qty)
        assert book.best_bid_ticks == ref.best(BID)
        assert book.best_ask_ticks == ref.best(ASK)
    for side in (BID, ASK):
        expected = ref.ordered(side)
        prices, qtys = book.top_levels(side, 1000)
        assert list(zip(prices.tolist(), qtys.tolist())) == expected
        assert book.top_levels(side, 3)[0].tolist() == [p for p, _ in expected[:3]]
        lo, hi = sorted((volume, volume * 3))
        prices, qtys = book.levels_between(side, hi, lo)
        assert list(zip(prices.tolist(), qtys.tolist())) == [(p, q) for p, q in expected if lo <= p <= hi]
        vwap, lots = book.vwap_for_volume(side, volume)
        assert lots == min(volume, sum(q for _, q in expected))
        for p in touched:
            assert book.volume_at(side, p) == ref.sides[side].get(p, 0)
        assert book.price_for_volume(side, volume) == ref.price_for_volume(side, volume)
    assert book.bid_depth == len(ref.sides[BID]) and book.ask_depth == len(ref.sides[ASK])

    # The batched path must reach the same state.
    batched = OrderBook("P", initial_capacity=cap, max_capacity=max_cap)
    batched.apply_snapshot(
        arr([p for p, _ in bids]), arr([q for _, q in bids]),
        arr([p for p, _ in asks]), arr([q for _, q in asks]),
    )
    if seq:
        batched.apply_deltas(
            np.array([s for s, _, _ in seq], dtype=np.int8), arr([p for _, p, _ in seq]), arr([q for _, _, q in seq])
        )
    for side in (BID, ASK):
        assert [tuple(x) for x in zip(*(a.tolist() for a in batched.top_levels(side, 1000)))] == ref.ordered(side)

"""CandleBuilder: exact OHLCV on known trades, merging across batches, bounds."""
import numpy as np
import pytest

from app.domain import TRADE_DTYPE
from ui.market.candle_builder import INTERVALS_NS, CandleBuilder
from ui.market.trade_ring import TradeRing

S = 1_000_000_000


def batch(rows):
    return np.array(rows, dtype=TRADE_DTYPE)


def test_ohlcv_exact_on_known_trades():
    cb = CandleBuilder(INTERVALS_NS["1s"])
    cb.add(batch([
        (10 * S + 1, 100, 5, 1),
        (10 * S + 2, 103, 1, -1),
        (10 * S + 3, 99, 2, 1),
        (10 * S + 999_999_999, 101, 4, -1),
        (12 * S, 90, 7, 1),
    ]))
    assert cb.start_ns.tolist() == [10 * S, 12 * S]
    assert cb.open.tolist() == [100, 90]
    assert cb.high.tolist() == [103, 90]
    assert cb.low.tolist() == [99, 90]
    assert cb.close.tolist() == [101, 90]
    assert cb.volume.tolist() == [12, 7]
    assert cb.buy_volume.tolist() == [7, 7]


def test_open_candle_merges_with_next_batch_and_stragglers_ignored():
    cb = CandleBuilder(5 * S)
    cb.add(batch([(0, 50, 1, 1), (1 * S, 52, 1, 1)]))
    v = cb.version
    cb.add(batch([(2 * S, 48, 3, -1), (6 * S, 60, 2, 1)]))
    assert cb.version > v
    assert cb.open.tolist() == [50, 60]
    assert cb.high.tolist() == [52, 60]
    assert cb.low.tolist() == [48, 60]
    assert cb.close.tolist() == [48, 60]
    assert cb.volume.tolist() == [5, 2]
    # A trade from the closed first candle must not rewrite it.
    used = cb.add(batch([(3 * S, 1, 100, 1)]))
    assert used == 0
    assert cb.low.tolist() == [48, 60]


def test_capacity_bounds_and_keeps_newest():
    cb = CandleBuilder(S, capacity=10)
    for chunk in range(5):
        rows = [((chunk * 7 + i) * S, 100 + chunk * 7 + i, 1, 1) for i in range(7)]
        cb.add(batch(rows))
    assert len(cb) == 10
    assert cb.start_ns.tolist() == [i * S for i in range(25, 35)]
    assert cb.close.tolist() == [100 + i for i in range(25, 35)]
    big = batch([((100 + i) * S, i, 1, 1) for i in range(50)])
    cb.add(big)
    assert len(cb) == 10 and cb.close.tolist() == list(range(40, 50))


def test_rebuild_changes_interval():
    cb = CandleBuilder(S)
    trades = batch([(i * S, 100 + i, 1, 1) for i in range(120)])
    cb.add(trades)
    assert len(cb) == 120
    cb.rebuild(INTERVALS_NS["1m"], trades)
    assert len(cb) == 2
    assert cb.open.tolist() == [100, 160] and cb.close.tolist() == [159, 219]
    assert cb.volume.tolist() == [60, 60]
    with pytest.raises(ValueError):
        cb.rebuild(0, trades)


def test_trade_ring_wraps_and_reads_since():
    ring = TradeRing(8)
    ring.append(batch([(i, i, 1, 1) for i in range(5)]))
    assert ring.since(0)["ts_ns"].tolist() == [0, 1, 2, 3, 4]
    ring.append(batch([(i, i, 1, 1) for i in range(5, 11)]))
    assert len(ring) == 8 and ring.total == 11
    assert ring.since(0)["ts_ns"].tolist() == list(range(3, 11))
    assert ring.since(9)["ts_ns"].tolist() == [9, 10]
    assert ring.latest(3)["ts_ns"].tolist() == [8, 9, 10]
    ring.append(batch([(i, i, 1, 1) for i in range(11, 31)]))  # larger than capacity
    assert ring.since(0)["ts_ns"].tolist() == list(range(23, 31))
    assert ring.since(29)["ts_ns"].tolist() == [29, 30]
    assert ring.since(31).size == 0

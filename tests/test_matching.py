"""The demo matching engine alone: priority, fills, order kinds, and the seeded crowd flow."""
import numpy as np
import pytest

matching = pytest.importorskip("connectors.demo.matching")
flow_mod = pytest.importorskip("connectors.demo.flow")

from connectors.demo.matching import (  # noqa: E402
    ASK, BID, CANCEL, EXPIRED, FILLED, IOC, LIMIT, MARKET, POST_ONLY, REJECTED, RESTING,
    MatchingEngine,
)


def _fills_by_order(fills):
    out = {}
    for oid, owner, price, qty, is_maker, remaining in fills:
        out.setdefault(oid, []).append((price, qty, is_maker, remaining))
    return out


def test_price_then_time_priority():
    e = MatchingEngine()
    a1, _, _ = e.submit(ASK, LIMIT, 101, 5, 1)   # worse price, first in time
    a2, _, _ = e.submit(ASK, LIMIT, 100, 3, 2)   # best price
    a3, _, _ = e.submit(ASK, LIMIT, 100, 4, 3)   # best price, later
    _, status, filled = e.submit(BID, LIMIT, 101, 9, 4)
    assert (status, filled) == (FILLED, 9)
    fills = _fills_by_order(e.drain_fills())
    assert fills[a2] == [(100, 3, True, 0)]
    assert fills[a3] == [(100, 4, True, 0)]
    assert fills[a1] == [(101, 2, True, 3)]
    trades = e.drain_trades()
    assert trades["price_ticks"].tolist() == [100, 100, 101]
    assert trades["qty_lots"].tolist() == [3, 4, 2]
    assert set(trades["taker_side"].tolist()) == {1}
    assert e.remaining(a1) == 3 and e.remaining(a2) == -1


def test_partial_fill_rests_the_remainder_at_its_limit():
    e = MatchingEngine()
    e.submit(ASK, LIMIT, 100, 4, 0)
    oid, status, filled = e.submit(BID, LIMIT, 100, 10, 7)
    assert (status, filled) == (RESTING, 4)
    assert e.best_bid() == 100 and e.best_ask() == 0
    assert e.volume_at(BID, 100) == 6 and e.remaining(oid) == 6
    taker = _fills_by_order(e.drain_fills())[oid]
    assert taker == [(100, 4, False, 6)]


def test_market_order_walks_the_book_and_drops_what_is_left():
    e = MatchingEngine()
    for price, qty in ((100, 2), (101, 3), (105, 4)):
        e.submit(BID, LIMIT, price, qty, 0)
    oid, status, filled = e.submit(ASK, MARKET, 0, 20, 9)
    assert (status, filled) == (EXPIRED, 9)
    assert e.level_count(BID) == 0 and e.remaining(oid) == -1
    trades = e.drain_trades()
    assert trades["price_ticks"].tolist() == [105, 101, 100]
    assert trades["taker_side"].tolist() == [-1, -1, -1]
    sides, prices, qtys = e.drain_levels()
    assert sorted(zip(sides.tolist(), prices.tolist(), qtys.tolist())) == [(1, 100, 0), (1, 101, 0), (1, 105, 0)]


def test_ioc_takes_what_it_can_within_its_limit():
    e = MatchingEngine()
    e.submit(ASK, LIMIT, 100, 2, 0)
    e.submit(ASK, LIMIT, 102, 5, 0)
    oid, status, filled = e.submit(BID, IOC, 101, 6, 3)
    assert (status, filled) == (EXPIRED, 2)
    assert e.best_bid() == 0 and e.best_ask() == 102 and e.remaining(oid) == -1


def test_post_only_is_rejected_when_it_would_cross_and_rests_otherwise():
    e = MatchingEngine()
    e.submit(ASK, LIMIT, 100, 2, 0)
    _, status, filled = e.submit(BID, POST_ONLY, 100, 1, 5)
    assert (status, filled) == (REJECTED, 0)
    assert e.best_bid() == 0 and e.volume_at(ASK, 100) == 2
    oid, status, _ = e.submit(BID, POST_ONLY, 99, 1, 5)
    assert status == RESTING and e.best_bid() == 99
    assert e.drain_trades().size == 0


def test_cancel_and_queue_position():
    e = MatchingEngine()
    first, _, _ = e.submit(BID, LIMIT, 100, 5, 0)
    mine, _, _ = e.submit(BID, LIMIT, 100, 2, 1)
    last, _, _ = e.submit(BID, LIMIT, 100, 7, 0)
    assert e.queue_ahead(mine) == 5 and e.queue_ahead(first) == 0 and e.queue_ahead(last) == 7
    assert e.cancel(first) == 5
    assert e.queue_ahead(mine) == 0 and e.volume_at(BID, 100) == 9
    assert e.cancel(first) == -1          # already gone
    assert e.cancel(123456) == -1         # never existed
    assert e.queue_ahead(123456) == -1
    e.cancel(mine)
    e.cancel(last)
    assert e.level_count(BID) == 0 and e.order_count == 0
    sides, prices, qtys = e.drain_levels()
    assert (sides.tolist(), prices.tolist(), qtys.tolist()) == ([1], [100], [0])


def test_bad_arguments_raise():
    e = MatchingEngine()
    with pytest.raises(ValueError):
        e.submit(0, LIMIT, 100, 1)
    with pytest.raises(ValueError):
        e.submit(BID, LIMIT, 100, 0)
    with pytest.raises(ValueError):
        e.submit(BID, LIMIT, 0, 1)
    with pytest.raises(ValueError):
        e.submit(BID, CANCEL, 100, 1)


def _run_flow(seed: int, seconds: int = 30):
    e = MatchingEngine()
    f = flow_mod.CrowdFlow(e, seed, 6_000_000, 0)
    trades = []
    for i in range(1, seconds * 50 + 1):
        f.step(i * 20_000_000)
        trades.append(e.drain_trades())
        e.drain_levels()
    return e, f, np.concatenate(trades)


def test_flow_is_deterministic_for_a_seed_and_differs_between_seeds():
    e1, f1, t1 = _run_flow(11)
    e2, f2, t2 = _run_flow(11)
    _, _, t3 = _run_flow(12)
    assert t1.size > 100
    assert np.array_equal(t1, t2)
    assert [a.tolist() for a in e1.snapshot()] == [a.tolist() for a in e2.snapshot()]
    assert f1.events == f2.events and f1.fair_ticks == f2.fair_ticks
    assert not (t1.size == t3.size and np.array_equal(t1, t3))


def test_replaying_a_recording_reproduces_the_book():
    e = MatchingEngine()
    e.recording = True
    f = flow_mod.CrowdFlow(e, 5, 6_000_000, 0)
    f.step(20_000_000_000)
    record = e.drain_record()
    assert record.shape[0] == e.events
    replayed = MatchingEngine()
    replayed.replay(record)
    assert [a.tolist() for a in replayed.snapshot()] == [a.tolist() for a in e.snapshot()]


def test_flow_keeps_a_two_sided_book_near_the_fair_price():
    e, f, trades = _run_flow(3, seconds=60)
    bid, ask = e.best_bid(), e.best_ask()
    assert 0 < bid < ask
    assert abs((bid + ask) / 2 - f.fair_ticks) < 2_000
    assert (trades["qty_lots"] > 0).all()
    assert set(np.unique(trades["taker_side"]).tolist()) == {-1, 1}

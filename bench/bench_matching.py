"""Matching speed: the demo exchange's Cython engine against a plain-Python engine, both
fed the same recorded demo flow. Run alone with `python -m bench.bench_matching [N]`.

An event is one order add, cancel or market order processed. The stream is recorded
once from the seeded crowd flow (connectors/demo/flow.pyx, default parameters), then
replayed into a fresh Cython engine and into `PyEngine` (a fair minimal pure-Python
price-time engine: one sortedcontainers.SortedDict of price -> level per side, each level a
deque of orders with lazy deletion of cancelled ones). Both books are compared at the end,
so the two engines provably did the same work. A third figure is the whole demo market:
generating the flow and matching it, as the demo exchange runs it.
"""
from __future__ import annotations

import sys
import time
from collections import deque

import numpy as np
from sortedcontainers import SortedDict

from connectors.demo.flow import CrowdFlow
from connectors.demo.matching import ASK, BID, CANCEL, MARKET, MatchingEngine

SEC = 1_000_000_000
START = 6_000_000


class _Level:
    __slots__ = ("qty", "orders")

    def __init__(self) -> None:
        self.qty = 0
        self.orders: deque[list[int]] = deque()  # [id, qty], qty 0 = cancelled (lazy)


class PyEngine:
    """Price-time priority in plain Python: limit and market orders, cancels by id."""

    def __init__(self) -> None:
        self.sides = {BID: SortedDict(), ASK: SortedDict()}  # keyed -price for bids, +price asks
        self.orders: dict[int, tuple[int, int, list[int]]] = {}  # id -> (side, key, order)
        self.next_id = 1
        self.trades: list[tuple[int, int, int]] = []
        self.changed: set[tuple[int, int]] = set()

    def submit(self, side: int, kind: int, price: int, qty: int) -> None:
        oid = self.next_id
        self.next_id += 1
        opp = self.sides[-side]
        limit_key = float("inf") if kind == MARKET else (price if side == BID else -price)
        while qty and opp:
            key, level = opp.peekitem(0)
            if key > limit_key:
                break
            level_price = key if side == BID else -key
            orders = level.orders
            while qty and orders:
                order = orders[0]
                if order[1] == 0:
                    orders.popleft()
                    continue
                q = qty if qty < order[1] else order[1]
                order[1] -= q
                level.qty -= q
                qty -= q
                self.trades.append((level_price, q, side))
                if order[1] == 0:
                    orders.popleft()
                    del self.orders[order[0]]
            self.changed.add((-side, level_price))
            if level.qty == 0:
                del opp[key]
        if qty and kind != MARKET:
            key = -price if side == BID else price
            book = self.sides[side]
            level = book.get(key)
            if level is None:
                level = book[key] = _Level()
            order = [oid, qty]
            level.orders.append(order)
            level.qty += qty
            self.orders[oid] = (side, key, order)
            self.changed.add((side, price))

    def cancel(self, oid: int) -> None:
        found = self.orders.pop(oid, None)
        if found is None:
            return
        side, key, order = found
        book = self.sides[side]
        level = book[key]
        level.qty -= order[1]
        order[1] = 0
        self.changed.add((side, key if side == ASK else -key))
        if level.qty == 0:
            del book[key]

    def snapshot(self) -> list[list[int]]:
        bids = self.sides[BID]
        asks = self.sides[ASK]
        return [[-k for k in bids], [lv.qty for lv in bids.values()], list(asks), [lv.qty for lv in asks.values()]]


def record_flow(min_events: int, seed: int = 7) -> np.ndarray:
    """The demo flow's input events (kind, side, price, qty, id), at least `min_events`."""
    engine = MatchingEngine()
    engine.recording = True
    flow = CrowdFlow(engine, seed, START, 0)
    parts, count, t = [], 0, 0
    while count < min_events:
        t += 10 * SEC
        flow.step(t)
        engine.drain_trades()
        engine.drain_levels()
        part = engine.drain_record()
        parts.append(part)
        count += len(part)
    return np.ascontiguousarray(np.concatenate(parts)[:min_events])


def run_python(events: np.ndarray) -> tuple[float, PyEngine]:
    engine = PyEngine()
    rows = events.tolist()
    submit, cancel = engine.submit, engine.cancel
    start = time.perf_counter()
    for kind, side, price, qty, oid in rows:
        if kind == CANCEL:
            cancel(oid)
        else:
            submit(side, kind, price, qty)
        if len(engine.trades) > 100_000:  # drained per step in real use
            engine.trades.clear()
            engine.changed.clear()
    return time.perf_counter() - start, engine


def run_cython(events: np.ndarray, repeat: int = 3) -> tuple[float, MatchingEngine]:
    best, engine = float("inf"), None
    for _ in range(repeat):
        engine = MatchingEngine()
        start = time.perf_counter()
        engine.replay(events)
        best = min(best, time.perf_counter() - start)
    return best, engine


def run_full_flow(seconds: int, step_s: float = 1.0, seed: int = 7) -> tuple[float, int]:
    """Generation plus matching, drained every `step_s` of simulated time."""
    engine = MatchingEngine()
    flow = CrowdFlow(engine, seed, START, 0)
    step = int(step_s * SEC)
    start = time.perf_counter()
    t = 0
    while t < seconds * SEC:
        t += step
        flow.step(t)
        engine.drain_trades()
        engine.drain_levels()
    return time.perf_counter() - start, flow.events


def main(n: int = 1_000_000) -> dict:
    events = record_flow(n)
    kinds = np.bincount(events[:, 0], minlength=5)
    print(f"demo flow: {len(events):,} events (adds {kinds[0]:,}, market {kinds[MARKET]:,}, "
          f"cancels {kinds[CANCEL]:,})")
    cy_s, cy = run_cython(events)
    py_s, py = run_python(events)
    same = [a.tolist() for a in cy.snapshot()] == py.snapshot()
    cy_rate, py_rate = len(events) / cy_s, len(events) / py_s
    print(f"{'engine':<34}{'events/s':>14}{'ns/event':>10}")
    print(f"{'Cython MatchingEngine (replay)':<34}{cy_rate:>14,.0f}{1e9 / cy_rate:>10.0f}")
    print(f"{'pure Python (SortedDict+deque)':<34}{py_rate:>14,.0f}{1e9 / py_rate:>10.0f}")
    print(f"ratio: {cy_rate / py_rate:.1f}x; final books identical: {same}; "
          f"resting orders at the end: {cy.order_count:,}")
    full_s, full_events = run_full_flow(3600)
    full_rate = full_events / full_s
    print(f"whole demo market (flow generation + matching, 1 simulated hour in 1 s steps): "
          f"{full_rate:,.0f} events/s, {3600 / full_s:,.0f}x real time")
    return {
        "events": len(events),
        "cython_events_per_s": round(cy_rate),
        "python_events_per_s": round(py_rate),
        "ratio": round(cy_rate / py_rate, 1),
        "books_identical": same,
        "flow_and_matching_events_per_s": round(full_rate),
        "simulated_hour_speedup_vs_real_time": round(3600 / full_s),
    }


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)

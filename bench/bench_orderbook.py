"""Order book speed: our Cython book against plain-Python peers, best bid/ask read after
every update. Run alone with `python -m bench.bench_orderbook [N]`.

Workloads: N random L2 deltas around a mid (near-top levels busiest, 30% deletions, never
crossing, so every book does the same work), and the real spot recording's diff levels
applied on top of its snapshot. Peers: a minimal sortedcontainers.SortedDict book (what a
careful pure-Python implementation looks like) and ccxt's websocket OrderBook, fed float
[price, size] deltas through its sides' `store`, as ccxt's exchange classes do.
"""
from __future__ import annotations

import sys
import time
from typing import Callable

import numpy as np
from sortedcontainers import SortedDict

from app.book import ASK, BID, OrderBook

MID = 6_000_000


class SortedDictBook:
    """A fair minimal pure-Python L2 book: one SortedDict per side, absolute quantities."""

    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()
        self.asks: SortedDict = SortedDict()

    def apply(self, side: int, price: int, qty: int) -> None:
        levels = self.bids if side == BID else self.asks
        if qty:
            levels[price] = qty
        else:
            levels.pop(price, None)

    def best_bid(self) -> int:
        return self.bids.peekitem(-1)[0] if self.bids else 0

    def best_ask(self) -> int:
        return self.asks.peekitem(0)[0] if self.asks else 0


def random_deltas(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sides = rng.choice(np.array([BID, ASK], dtype=np.int8), n)
    offsets = 1 + rng.geometric(1 / 40, n).astype(np.int64)
    prices = np.where(sides == BID, MID - offsets, MID + offsets).astype(np.int64)
    qtys = np.where(rng.random(n) < 0.3, 0, rng.integers(1, 100_000, n)).astype(np.int64)
    return sides, prices, qtys


def recording_deltas() -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...], float] | None:
    """(snapshot bids/asks, diff sides/prices/qtys, tick) of the real spot recording."""
    from app.data.events import DEPTH, SNAPSHOT
    from app.data.store import load_events, recordings_dir

    files = [recordings_dir() / f"spot_btcusdt_2024080{d}.gz" for d in (8, 9)]
    if not all(f.is_file() for f in files):
        return None
    events, meta = load_events(files)
    snap = events[events["kind"] == SNAPSHOT]
    bids = snap[snap["side"] > 0]
    asks = snap[snap["side"] < 0]
    depth = events[(events["kind"] == DEPTH) & (events["side"] != 0)]
    snapshot = (bids["price_ticks"].copy(), bids["qty_lots"].copy(), asks["price_ticks"].copy(), asks["qty_lots"].copy())
    diffs = (np.ascontiguousarray(depth["side"]), np.ascontiguousarray(depth["price_ticks"]),
             np.ascontiguousarray(depth["qty_lots"]))
    return snapshot, diffs, float(meta.tick_size)


def _best_of(repeats: int, run: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def measure(snapshot: tuple[np.ndarray, ...] | None, diffs: tuple[np.ndarray, ...], tick: float,
            repeats: int = 3) -> dict[str, float]:
    """Seconds per update for each implementation on one workload."""
    sides, prices, qtys = diffs
    n = len(sides)
    s_list, p_list, q_list = sides.tolist(), prices.tolist(), qtys.tolist()

    def fresh() -> OrderBook:
        book = OrderBook("bench")
        if snapshot is not None:
            book.apply_snapshot(*snapshot)
        return book

    def ours_per_call() -> None:
        book = fresh()
        apply = book.apply_delta
        for s, p, q in zip(s_list, p_list, q_list):
            apply(s, p, q)
            book.best_bid_ticks
            book.best_ask_ticks

    def ours_batched() -> None:
        fresh().apply_deltas(sides, prices, qtys)

    best_bids = np.empty(n, dtype=np.int64)
    best_asks = np.empty(n, dtype=np.int64)

    def ours_batched_best() -> None:
        fresh().apply_deltas_best(sides, prices, qtys, best_bids, best_asks)

    def sorted_dict() -> None:
        book = SortedDictBook()
        if snapshot is not None:
            for p, q in zip(snapshot[0].tolist(), snapshot[1].tolist()):
                book.apply(BID, p, q)
            for p, q in zip(snapshot[2].tolist(), snapshot[3].tolist()):
                book.apply(ASK, p, q)
        apply = book.apply
        for s, p, q in zip(s_list, p_list, q_list):
            apply(s, p, q)
            book.best_bid()
            book.best_ask()

    from ccxt.async_support.base.ws.order_book import OrderBook as CcxtOrderBook

    f_prices = (prices * tick).tolist()
    f_qtys = qtys.astype(np.float64).tolist()
    if snapshot is not None:
        ccxt_snapshot = {
            "bids": [[p * tick, float(q)] for p, q in zip(snapshot[0].tolist(), snapshot[1].tolist())],
            "asks": [[p * tick, float(q)] for p, q in zip(snapshot[2].tolist(), snapshot[3].tolist())],
        }
    else:
        ccxt_snapshot = {}

    def ccxt_book() -> None:
        book = CcxtOrderBook(ccxt_snapshot)
        bids, asks = book["bids"], book["asks"]
        for s, p, q in zip(s_list, f_prices, f_qtys):
            (bids if s == BID else asks).store(p, q)
            bids[0][0] if bids else 0.0
            asks[0][0] if asks else 0.0

    ours_batched_best()  # warm the output pages and the book's windows
    results = {
        "ours_per_call": _best_of(repeats, ours_per_call) / n,
        "ours_batched": _best_of(repeats * 3, ours_batched) / n,
        "ours_batched_best": _best_of(repeats * 3, ours_batched_best) / n,
        "sorteddict": _best_of(1, sorted_dict) / n,
        "ccxt": _best_of(1, ccxt_book) / n,
    }
    # The books must agree, or the comparison means nothing.
    check = fresh()
    check.apply_deltas(sides, prices, qtys)
    ref = SortedDictBook()
    if snapshot is None:
        for s, p, q in zip(s_list, p_list, q_list):
            ref.apply(s, p, q)
        assert (check.best_bid_ticks, check.best_ask_ticks) == (ref.best_bid(), ref.best_ask())
    assert best_bids[-1] == check.best_bid_ticks and best_asks[-1] == check.best_ask_ticks
    return results


def _print(title: str, n: int, res: dict[str, float]) -> None:
    print(f"{title} ({n:,} updates, best bid/ask read after each)")
    print(f"  {'implementation':<34}{'ns/update':>11}{'updates/s':>14}")
    names = {
        "ours_per_call": "Colibri, one Python call each",
        "ours_batched": "Colibri, apply_deltas (no reads)",
        "ours_batched_best": "Colibri, apply_deltas_best",
        "sorteddict": "SortedDict book (pure Python)",
        "ccxt": "ccxt ws OrderBook (pure Python)",
    }
    for key, label in names.items():
        sec = res[key]
        print(f"  {label:<34}{sec * 1e9:>11.1f}{1 / sec:>14,.0f}")
    print(f"  per call vs SortedDict: {res['sorteddict'] / res['ours_per_call']:.1f}x, "
          f"vs ccxt: {res['ccxt'] / res['ours_per_call']:.1f}x; "
          f"batched+best vs SortedDict: {res['sorteddict'] / res['ours_batched_best']:.0f}x, "
          f"vs ccxt: {res['ccxt'] / res['ours_batched_best']:.0f}x")


def main(n: int = 1_000_000) -> dict:
    figures: dict[str, dict[str, float]] = {}
    diffs = random_deltas(n)
    res = measure(None, diffs, 0.01)
    _print("random deltas", n, res)
    figures["random"] = {k: v * 1e9 for k, v in res.items()}
    real = recording_deltas()
    if real is None:
        print("real recording not found: skipped (set COLIBRI_DATA_DIR)")
    else:
        snapshot, real_diffs, tick = real
        res = measure(snapshot, real_diffs, tick)
        _print("\nreal spot BTCUSDT diffs (0808+0809, on the snapshot)", len(real_diffs[0]), res)
        figures["recording"] = {k: v * 1e9 for k, v in res.items()}
    return {"ns_per_update": figures}


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)

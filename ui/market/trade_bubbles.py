"""Public trades as the heatmap's bubbles: one per (time bucket, price, aggressor side).

Bookmap draws each burst of trades at a price as one circle whose area grows with the
volume. Here trades are summed per time bucket (half a second in the heatmap), price and
taker side, so a sweep of fifty prints at one price is one bubble, not fifty overlapping
ones, and a minute on screen stays a few hundred circles. Trades of the bucket still
running stay open (re-summed at each refresh); once the clock has moved past their
bucket they are closed into a bounded numpy ring, oldest dropped first. Nothing here
runs per trade in Python: the listener appends batches to a TradeRing and the folding
is vectorised.

`reference` is the volume drawn at the largest size: the largest bubble seen, raised
with headroom when exceeded and never lowered, so a bubble keeps its size as the view
scrolls and sizes compare across time.
"""
from __future__ import annotations

import numpy as np

from ui.market.trade_ring import TradeRing

BUBBLE_DTYPE = np.dtype([("bucket", "<i8"), ("price_ticks", "<i8"), ("qty_lots", "<i8"), ("taker_side", "i1")])


def _summed(buckets: np.ndarray, prices: np.ndarray, sides: np.ndarray, qtys: np.ndarray) -> np.ndarray:
    """Quantities summed per (bucket, price, side), in bucket order."""
    keys = np.stack((buckets, prices, sides.astype(np.int64)), axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    out = np.zeros(len(uniq), BUBBLE_DTYPE)
    out["bucket"], out["price_ticks"], out["taker_side"] = uniq[:, 0], uniq[:, 1], uniq[:, 2]
    out["qty_lots"] = np.bincount(inverse.ravel(), weights=qtys, minlength=len(uniq)).astype(np.int64)
    return out


def sum_by_bucket_price_side(trades: np.ndarray, bucket_ns: int) -> np.ndarray:
    """Trades (TRADE_DTYPE) summed per (time bucket, price, taker side), in bucket order."""
    if not len(trades):
        return np.zeros(0, BUBBLE_DTYPE)
    return _summed(trades["ts_ns"] // bucket_ns, trades["price_ticks"], trades["taker_side"], trades["qty_lots"])


def merge_bubbles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two bubble arrays summed per (bucket, price, side), in bucket order."""
    both = np.concatenate((a, b))
    return _summed(both["bucket"], both["price_ticks"], both["taker_side"], both["qty_lots"])


def largest_per_bucket(bubbles: np.ndarray, k: int) -> np.ndarray:
    """The `k` largest bubbles of each bucket (by quantity; any side or price), in bucket order."""
    n = len(bubbles)
    if n == 0 or k <= 0:
        return bubbles[:0]
    order = np.lexsort((-bubbles["qty_lots"], bubbles["bucket"]))  # by bucket, largest first within it
    ranked = bubbles[order]
    buckets = ranked["bucket"]
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    rank = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    return ranked[rank < k]


class TradeBubbles:
    """Bubbles of the trades seen, by time bucket; the newest `capacity` closed ones kept."""

    def __init__(self, bucket_ns: int, capacity: int = 20_000, ring_capacity: int = 50_000) -> None:
        self.bucket_ns = int(bucket_ns)
        self.trades = TradeRing(ring_capacity)  # filled by the view's listener
        self.reference = 0.0
        self._seq = 0  # first trade not yet summed
        self._closed = np.zeros(capacity, BUBBLE_DTYPE)
        self._cap = capacity
        self._count = 0  # bubbles ever closed
        self.open = np.zeros(0, BUBBLE_DTYPE)
        """Bubbles of the bucket(s) the clock has not left yet, re-summed as trades arrive."""

    @property
    def closed_count(self) -> int:
        """How many bubbles were ever closed: changes exactly when the closed ones do."""
        return self._count

    def clear(self) -> None:
        self.trades.clear()
        self.reference = 0.0
        self._seq = 0
        self._count = 0
        self.open = np.zeros(0, BUBBLE_DTYPE)

    def update(self, now_ns: int) -> None:
        """Sums the new trades; closes the bubbles of buckets before the one `now_ns` is in."""
        now_bucket = int(now_ns) // self.bucket_ns
        pending = self.trades.since(self._seq)
        self._seq = self.trades.total
        summed = sum_by_bucket_price_side(pending, self.bucket_ns)
        if len(self.open):  # trades of a still-open bucket seen at an earlier refresh
            summed = merge_bubbles(self.open, summed)
        done = summed["bucket"] < now_bucket
        self._append_closed(summed[done])
        self.open = summed[~done]
        if len(summed):
            top = float(summed["qty_lots"].max())
            if top > self.reference:
                self.reference = 1.5 * top

    def _append_closed(self, bubbles: np.ndarray) -> None:
        n = len(bubbles)
        if not n:
            return
        if n >= self._cap:
            bubbles = bubbles[n - self._cap:]
            n = self._cap
        start = self._count % self._cap
        first = min(n, self._cap - start)
        self._closed[start:start + first] = bubbles[:first]
        self._closed[: n - first] = bubbles[first:]
        self._count += n

    def closed(self) -> np.ndarray:
        """Every closed bubble held, in bucket order (a copy)."""
        held = min(self._count, self._cap)
        if self._count <= self._cap:
            return self._closed[:held].copy()
        start = self._count % self._cap
        return np.concatenate((self._closed[start:], self._closed[:start]))

    def newest_closed(self, n: int) -> np.ndarray:
        """The `n` most recently closed bubbles, in bucket order (at most those held)."""
        n = min(n, self._count, self._cap)
        end = self._count % self._cap or (self._cap if self._count else 0)
        if n <= end:
            return self._closed[end - n:end].copy()
        return np.concatenate((self._closed[self._cap - (n - end):], self._closed[:end]))

    def closed_between(self, b0: int, b1: int) -> np.ndarray:
        """Closed bubbles of buckets b0 <= bucket < b1."""
        held = self.closed()
        lo, hi = np.searchsorted(held["bucket"], (b0, b1))
        return held[lo:hi]

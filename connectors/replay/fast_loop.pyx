# cython: language_level=3
"""The replay's compiled loop: chained depth diffs and trades, with no Python object per message.

ReplayFeed hands a burst of messages to `FastLoop.run` when nobody but MarketHooks wants
its book and trade events (a backtest: the paper venue's queue model and a compiled
strategy gate are hooks). The loop does, in C, exactly what `ReplayFeed._step` does for
the common messages: a depth diff that continues the update-id chain is applied to the
book and each hook's `on_depth` runs; a run of trades goes to each hook's `on_trade_rows`;
time moves to the next message's due time when the SimClock's `advance_window` allows
it (no other callback due first). Anything else (a snapshot, a mark price, a diff that
breaks the chain, a due time beyond the window, the feed stopped by a hook's Python work)
ends the burst, and the feed's Python path takes that message as before. So the order of
every event and callback is the same as without the loop; only the cost differs.
"""
from libc.stdint cimport int64_t, int8_t

from app.book.orderbook cimport OrderBook
from app.interfaces.market_hook cimport MarketHook

import numpy as np

cdef class FastLoop:
    cdef const int64_t[::1] kind
    cdef const int64_t[::1] a
    cdef const int64_t[::1] b
    cdef const int64_t[::1] first
    cdef const int64_t[::1] last
    cdef const int64_t[::1] prev
    cdef const int64_t[::1] ts
    cdef const int64_t[::1] count
    cdef const int8_t[::1] side
    cdef const int64_t[::1] price
    cdef const int64_t[::1] qty
    cdef const int64_t[::1] t_price
    cdef const int64_t[::1] t_qty
    cdef const int8_t[::1] t_taker
    cdef OrderBook book
    cdef list hooks
    cdef int64_t depth_kind, trade_kind
    cdef public int64_t diffs, levels, messages, steps

    def __init__(self, int64_t depth_kind, int64_t trade_kind, kind, a, b, first, last, prev, ts, count,
                 side, price, qty, trades, OrderBook book):
        self.depth_kind = depth_kind
        self.trade_kind = trade_kind
        self.kind, self.a, self.b = kind, a, b
        self.first, self.last, self.prev, self.ts, self.count = first, last, prev, ts, count
        self.side, self.price, self.qty = side, price, qty
        self.t_price = np.ascontiguousarray(trades["price_ticks"])
        self.t_qty = np.ascontiguousarray(trades["qty_lots"])
        self.t_taker = np.ascontiguousarray(trades["taker_side"])
        self.book = book
        self.hooks = []

    def set_hooks(self, list hooks) -> None:
        for hook in hooks:
            if not isinstance(hook, MarketHook):
                raise TypeError(f"not a MarketHook: {hook!r}")
        self.hooks = list(hooks)

    def run(self, feed, sync, clock, Py_ssize_t pos, int64_t now, int64_t clock_start,
            const int64_t[::1] offsets, bint futures, int64_t last_u, int64_t window):
        """Runs messages from `pos` while it can; returns (next pos, now, last u). Counts
        of what it did are left in `diffs`, `levels`, `messages` and `steps` (advances)."""
        cdef Py_ssize_t n = self.kind.shape[0]
        cdef Py_ssize_t i, lo, hi, h, nh = len(self.hooks)
        cdef int64_t k, due
        cdef int ran_python
        cdef MarketHook hook
        cdef list hooks = self.hooks
        cdef OrderBook book = self.book
        self.diffs = 0
        self.levels = 0
        self.messages = 0
        self.steps = 0
        while pos < n:
            k = self.kind[pos]
            ran_python = 0
            if k == self.depth_kind:
                if not (self.last[pos] > last_u and
                        (self.prev[pos] == last_u if futures else self.first[pos] == last_u + 1)):
                    break  # a gap, a stale diff: the synchroniser decides (Python path)
                lo = self.a[pos]
                hi = self.b[pos]
                if hi > lo:
                    book.c_apply_deltas(&self.side[lo], &self.price[lo], &self.qty[lo], hi - lo)
                    self.levels += hi - lo
                last_u = self.last[pos]
                self.diffs += 1
                for h in range(nh):
                    hook = <MarketHook>hooks[h]
                    if hook.active:
                        ran_python |= hook.on_depth(now)
            elif k == self.trade_kind:
                lo = self.a[pos]
                hi = self.b[pos]
                for h in range(nh):
                    hook = <MarketHook>hooks[h]
                    if hook.active and hi > lo:
                        ran_python |= hook.on_trade_rows(&self.t_price[lo], &self.t_qty[lo], &self.t_taker[lo],
                                                         hi - lo, now)
            else:
                break  # snapshot, mark price: the Python path
            self.messages += self.count[pos]
            pos += 1
            if ran_python:
                # Python ran (orders, fills): timers may be due earlier now, or the feed or
                # the clock was stopped. Settle the book's chain state first: the Python
                # code may read it.
                sync.chain_advanced(last_u, self.diffs, self.levels)
                self.diffs = 0
                self.levels = 0
                if feed._handle is None:
                    break
                window = clock.advance_window()
            if pos >= n:
                break
            due = clock_start + offsets[pos]
            if due > now:
                if due > window:
                    break
                now = due
                clock._now = now
                self.steps += 1
        return pos, now, last_u

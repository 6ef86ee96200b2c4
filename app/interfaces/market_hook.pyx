# cython: language_level=3
"""A market-data listener that feeds call at C level: the compiled hot path.

Why: in a backtest a market message costs a few hundred nanoseconds in compiled code, but
a Python event object and a Python listener call cost microseconds. A component whose
reaction to most market messages is "nothing to do" (a queue-position model with no
resting order, a quoting strategy whose quotes are still within tolerance) implements
this class, and a feed that has a compiled loop (connectors/replay) calls it directly,
with no Python object per message; the hook calls into Python only when there is work
(a fill to settle, orders to change). Every other feed gets the same hook as an ordinary
Python listener (`listener`), so a hooked component behaves the same on every venue.

Both methods get the time on the clock the owner schedules on (`now_ns`: in a backtest
the simulated time, which a replay at another speed or start does not share with the
recording's own timestamps), and return 1 when they ran Python code (which may have scheduled timers or
stopped things: the caller re-reads its clock), else 0. `active` False makes them no-ops
(a stopped bot). `callback` is the Python work a subclass runs when it has some; its
owner may wrap it (a bot wraps it in its fault guard).
"""
from libc.stdint cimport int64_t, int8_t

import numpy as np

from app.domain import BookUpdated, TradesEvent


cdef class MarketHook:
    def __cinit__(self):
        self.active = True
        self.callback = None
        self.clock = None  # set by the owner: the listener path reads the time from it

    cdef int on_depth(self, int64_t now_ns) except -1:
        """After a depth message was applied to the book (the book is valid)."""
        return 0

    cdef int on_trade_rows(self, const int64_t* price, const int64_t* qty, const int8_t* taker,
                           Py_ssize_t n, int64_t now_ns) except -1:
        """Public trades, in order: price ticks, qty lots, taker side (+1 buy, -1 sell)."""
        return 0

    # -- the same reactions for feeds without a compiled loop ----------------------------
    def listener(self, event) -> None:
        """An EventSource listener (kinds: BookUpdated, TradesEvent) calling the hooks."""
        cdef const int64_t[:] price
        cdef const int64_t[:] qty
        cdef const int8_t[:] taker
        if not self.active:
            return  # a stopped owner (the compiled loop checks the same flag)
        if type(event) is BookUpdated:
            self.on_depth(self.clock.now_ns() if self.clock is not None else event.ts_ns)
        elif type(event) is TradesEvent:
            trades = event.trades
            if len(trades):
                price = np.ascontiguousarray(trades["price_ticks"])
                qty = np.ascontiguousarray(trades["qty_lots"])
                taker = np.ascontiguousarray(trades["taker_side"])
                now = self.clock.now_ns() if self.clock is not None else int(trades["ts_ns"][len(trades) - 1])
                self.on_trade_rows(&price[0], &qty[0], &taker[0], len(trades), now)

    def depth(self, int64_t now_ns) -> int:
        """on_depth from Python (tests)."""
        return self.on_depth(now_ns)


HOOK_KINDS = (BookUpdated, TradesEvent)
"""The events a hook replaces: a feed need not build them when only hooks want them."""

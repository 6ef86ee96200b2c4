# cython: language_level=3
"""Avellaneda-Stoikov's compiled gate: the model's ladder and the trade-print record in C.

Between the strategy's Python refreshes (a volatility sample and fit each second, a fill,
a parameter edit) the model's inputs are fixed, so with a constant horizon (the infinite
execution timeframe) the reservation price is the mid minus a constant shift
(q gamma sigma^2 (T - t)) and the optimal spread a constant, floored at a fraction of the
mid. The gate computes that ladder on every book update with the very float operations
of strategies/avellaneda_model.py `evaluate` and avellaneda_stoikov.py `wanted_quotes`
(the strategy's Python path asks the gate for its ladder too: one implementation), then
makes the simple quoter's decision (strategies/quote_gate.pyx: same ladder as acted, or a
plan against the mirror with nothing to do) and calls Python only when that plan would act.

The strategy's estimators need every public trade's distance to the mid as it was before
the trade, and the mids it saw: the gate keeps the last mids and records each print's
distance (in half ticks) at C level, on both paths; the strategy drains that record into
its intensity estimator before it reads it. `ladder_ready` is False whenever the model's
inputs are not in the gate (after a fill, at each sample, before the model can be
evaluated): Python decides then. The gate also calls Python whenever its ladder is empty,
so the strategy says why it is not quoting as it does on the Python path, except while the
strategy has declared itself idle (`idle_until_ns`, `idle_prints`): warming up with no
order out, its answer cannot change before the next volatility sample unless a book side
empties or enough prints arrive to fill the intensity buffer, so until then the gate
skips the call (the same orders and the same log lines, without the Python calls).
"""
from libc.math cimport ceil, floor
from libc.stdint cimport int64_t, int8_t
from libcpp.vector cimport vector

from strategies.quote_gate cimport QuoteGate

import numpy as np


cdef struct MidAt:
    int64_t ts
    int64_t m2


cdef class AsGate(QuoteGate):
    cdef double _shift, _model_spread, _min_spread_frac, _level_frac, _tick, _half_tick
    cdef Py_ssize_t _levels
    cdef int64_t _bid_lots, _ask_lots
    cdef vector[MidAt] _mids
    cdef vector[int64_t] _print_ts
    cdef vector[int64_t] _print_d2
    cdef Py_ssize_t _keep
    cdef public int64_t idle_until_ns
    cdef public int64_t idle_prints

    def __cinit__(self):
        self.ladder_ready = False
        self.takes_trades = True
        self._keep = 1
        self.idle_until_ns = 0
        self.idle_prints = 0

    def configure_as(self, book, int levels, double level_frac, double min_spread_frac, double tick,
                     bint post_only, int64_t min_notional_ticks_lots, int64_t tolerance_units, int64_t max_age_ns,
                     Py_ssize_t keep_prints) -> None:
        """The parameters' part of the ladder; keep_prints: the intensity buffer's size
        (older prints cannot matter to it)."""
        from app.book.orderbook import OrderBook
        self._book = book if isinstance(book, OrderBook) else None
        self._levels = levels
        self._level_frac = level_frac
        self._min_spread_frac = min_spread_frac
        self._tick = tick
        self._half_tick = tick / 2
        self._post_only = post_only
        self._min_notional_tl = min_notional_ticks_lots
        self._tolerance_units = tolerance_units
        self._max_age_ns = max_age_ns
        self._keep = max(keep_prints, 1)
        self._configured = True
        self.dirty = True
        self.ladder_ready = False

    def set_model(self, double shift, double model_spread, int64_t bid_lots, int64_t ask_lots) -> None:
        """The model's constants until the next refresh: reservation = mid - shift, spread
        max(model_spread, mid x min_spread)."""
        self._shift = shift
        self._model_spread = model_spread
        self._bid_lots = bid_lots
        self._ask_lots = ask_lots
        self.ladder_ready = True

    # -- the ladder -----------------------------------------------------------------------
    cdef Py_ssize_t _compute(self, int64_t best_bid, int64_t best_ask) noexcept:
        cdef double mid, r, spread, min_spread, bid0, ask0, step
        cdef int64_t bid, ask
        cdef Py_ssize_t level
        self._w_side.clear()
        self._w_price.clear()
        self._w_lots.clear()
        if best_bid <= 0 or best_ask <= 0:
            return 0
        mid = <double>(best_bid + best_ask) * self._half_tick
        r = mid - self._shift
        min_spread = mid * self._min_spread_frac
        spread = self._model_spread
        if min_spread > spread:  # Python's max(model, min_spread)
            spread = min_spread
        bid0 = (r - spread / 2) / self._tick
        ask0 = (r + spread / 2) / self._tick
        step = spread * self._level_frac / self._tick
        for level in range(self._levels):
            bid = <int64_t>floor(bid0 - <double>level * step + 1e-9)
            ask = <int64_t>ceil(ask0 + <double>level * step - 1e-9)
            if self._post_only:
                if bid > best_ask - 1:
                    bid = best_ask - 1
                if ask < best_bid + 1:
                    ask = best_bid + 1
            if bid >= ask:
                bid = ask - 1
            if self._bid_lots > 0 and bid > 0 and bid * self._bid_lots >= self._min_notional_tl:
                self._want(1, bid, self._bid_lots)
            if self._ask_lots > 0 and ask > 0 and ask * self._ask_lots >= self._min_notional_tl:
                self._want(-1, ask, self._ask_lots)
        return self._w_side.size()

    # -- mids and prints ------------------------------------------------------------------
    cdef void _note_mid(self, int64_t ts) noexcept:
        cdef int64_t bb = self._book.c_best_bid(), ba = self._book.c_best_ask()
        cdef MidAt at
        if bb <= 0 or ba <= 0:
            return
        if self._mids.size() and self._mids.back().m2 == bb + ba:
            return
        at.ts = ts
        at.m2 = bb + ba
        if self._mids.size() >= 4:
            self._mids.erase(self._mids.begin())
        self._mids.push_back(at)

    def note_mid(self, int64_t ts) -> None:
        """A book update at `ts` (the Python path's on_book)."""
        if self._book is not None:
            self._note_mid(ts)

    cdef int _trades(self, const int64_t* price, const int64_t* ts, int64_t last_ts, Py_ssize_t n) except -1:
        """Each print's distance to the last mid set before the batch's first print."""
        cdef int64_t first_ts = ts[0] if ts != NULL else last_ts
        cdef int64_t reference = 0, d2
        cdef Py_ssize_t k, i, drop
        if self._book is None:
            return 0
        if self._mids.size():
            reference = self._mids.back().m2
        elif self._book.c_best_bid() > 0 and self._book.c_best_ask() > 0:
            reference = self._book.c_best_bid() + self._book.c_best_ask()
        if reference == 0:
            return 0
        for k in range(<Py_ssize_t>self._mids.size() - 1, -1, -1):
            if self._mids[k].ts < first_ts:
                reference = self._mids[k].m2
                break
        for i in range(n):
            d2 = 2 * price[i] - reference
            self._print_ts.push_back(ts[i] if ts != NULL else last_ts)
            self._print_d2.push_back(d2 if d2 >= 0 else -d2)
        if <Py_ssize_t>self._print_ts.size() > 2 * self._keep:  # only the last `keep` can matter
            drop = self._print_ts.size() - self._keep
            self._print_ts.erase(self._print_ts.begin(), self._print_ts.begin() + drop)
            self._print_d2.erase(self._print_d2.begin(), self._print_d2.begin() + drop)
        return 0

    def note_trades(self, trades) -> None:
        """A TradesEvent's rows, each at its own time (the Python path's on_trades)."""
        cdef const int64_t[::1] price
        cdef const int64_t[::1] ts
        if len(trades):
            price = np.ascontiguousarray(trades["price_ticks"], dtype=np.int64)
            ts = np.ascontiguousarray(trades["ts_ns"], dtype=np.int64)
            self._trades(&price[0], &ts[0], ts[len(trades) - 1], len(trades))

    @property
    def prints_pending(self) -> int:
        return self._print_ts.size()

    def drain(self) -> tuple:
        """The prints recorded since the last drain: (times ns, distances in half ticks)."""
        out = (list(self._print_ts), list(self._print_d2))
        self._print_ts.clear()
        self._print_d2.clear()
        return out

    # -- the hook -------------------------------------------------------------------------
    cdef int on_depth(self, int64_t ts_ns) except -1:
        cdef int64_t best_bid, best_ask
        if self._book is not None:
            self._note_mid(ts_ns)
        if not self._configured or self.callback is None or self._book is None:
            return 0
        if self._book._stale:
            return 0
        if self.dirty or self.every_update:
            return self._call()
        best_bid = self._book.c_best_bid()
        best_ask = self._book.c_best_ask()
        if (ts_ns < self.idle_until_ns and best_bid > 0 and best_ask > 0
                and <int64_t>self._print_ts.size() < self.idle_prints):
            return 0  # warming up: nothing the strategy would do or say changes before then
        if ts_ns >= self.paused_until_ns:
            if not self.ladder_ready or self._compute(best_bid, best_ask) == 0:
                return self._call()
        else:
            self._clear_wanted()
        return self._act_if_needed(ts_ns, best_bid, best_ask)

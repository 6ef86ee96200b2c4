# cython: language_level=3
"""The quoting strategies' compiled hot path: the ladder maths and "is there anything to do?".

A quoting strategy reacts to every book update, but on most updates its wanted quotes are
still within the refresh tolerance of the orders that rest, and nothing happens. This gate
answers that question in C, from integer ticks and lots, with no Python object per market
message: it computes the wanted ladder (mid -+ each level's spread in units of 1e-8, an
inventory skew, post-only clamping, the minimum notional) and matches it against a mirror
of the resting orders exactly as strategies/reconcile.py's `plan_orders` would (greedy, in
order, same side and amount, price within tolerance, younger than the maximum age). Only
when that plan would not be empty, or when the strategy marked itself dirty (an order
ended, a fill) or its skew needs re-reading, does it call the strategy's Python requote,
which plans and acts through the ordinary connector API and then refreshes the mirror.

The same `wanted` maths serves the strategy's Python path (previews, live venues), so
there is one implementation of the ladder.
"""
from libc.stdint cimport int64_t, int8_t
from libcpp.vector cimport vector

from app.book.orderbook cimport OrderBook
from app.interfaces.market_hook cimport MarketHook

cdef extern from *:
    ctypedef long long int128 "__int128"

cdef int64_t _UNITS = 100_000_000  # price fractions in units of 1e-8 (1 bp = 10,000 units)


cdef struct Resting:
    int8_t side
    int64_t price
    int64_t lots
    int64_t created_ns


cdef inline int64_t _floor_div(int128 a, int128 b) noexcept:
    """Python's // for b > 0 (C truncates towards zero)."""
    cdef int128 q = a / b
    if (a % b != 0) and (a < 0):
        q -= 1
    return <int64_t>q


cdef class QuoteGate(MarketHook):
    cdef OrderBook _book
    cdef vector[int64_t] _bid_units
    cdef vector[int64_t] _ask_units
    cdef int64_t _lots
    cdef int64_t _tolerance_units
    cdef int64_t _max_age_ns
    cdef int64_t _min_notional_tl
    cdef bint _post_only
    cdef bint _skew_on
    cdef bint _configured
    cdef vector[Resting] _resting
    cdef vector[int8_t] _w_side
    cdef vector[int64_t] _w_price
    cdef vector[int8_t] _w_used
    cdef vector[int8_t] _acted_side
    cdef vector[int64_t] _acted_price
    cdef public bint dirty
    cdef public int64_t paused_until_ns
    cdef public int64_t skew_units
    cdef public int64_t skew_until_ns
    cdef public int64_t age_deadline_ns
    cdef public int64_t python_calls

    def __cinit__(self):
        self.dirty = True

    def configure(self, book, list levels, int64_t lots, int64_t tolerance_units, int64_t max_age_ns,
                  bint post_only, int64_t min_notional_ticks_lots, bint skew_on) -> None:
        """levels: (bid units, ask units) per level; min_notional_ticks_lots: the smallest
        price_ticks * lots an order may have (the minimum notional, rounded up). A book
        that is not the compiled OrderBook (a test's stand-in) serves `wanted` only."""
        self._book = book if isinstance(book, OrderBook) else None
        self._bid_units.clear()
        self._ask_units.clear()
        for bid_units, ask_units in levels:
            self._bid_units.push_back(bid_units)
            self._ask_units.push_back(ask_units)
        self._lots = lots
        self._tolerance_units = tolerance_units
        self._max_age_ns = max_age_ns
        self._post_only = post_only
        self._min_notional_tl = min_notional_ticks_lots
        self._skew_on = skew_on
        self._configured = True
        self.dirty = True

    # -- the ladder -----------------------------------------------------------------------
    cdef Py_ssize_t _compute(self, int64_t best_bid, int64_t best_ask) noexcept:
        """Fills _w_side/_w_price with the wanted quotes (all of `_lots`); returns how many.

        Every bid is strictly below every ask: level by level the bid is at most the ask
        minus one tick, and further levels only move outwards."""
        cdef Py_ssize_t i, n = self._bid_units.size()
        cdef int64_t bid, ask, bu, au, skew = self.skew_units
        cdef int128 mid2 = <int128>best_bid + best_ask
        self._w_side.clear()
        self._w_price.clear()
        if best_bid <= 0 or best_ask <= 0 or self._lots <= 0:
            return 0
        for i in range(n):
            bu = self._bid_units[i] + (skew if skew > 0 else 0)
            au = self._ask_units[i] + (-skew if skew < 0 else 0)
            bid = _floor_div(mid2 * (_UNITS - bu), 2 * <int128>_UNITS)
            ask = -_floor_div(-mid2 * (_UNITS + au), 2 * <int128>_UNITS)
            if self._post_only:
                if bid > best_ask - 1:
                    bid = best_ask - 1
                if ask < best_bid + 1:
                    ask = best_bid + 1
            if bid >= ask:  # zero spreads on a mid that is a whole tick: never cross own quotes
                bid = ask - 1
            if bid > 0 and <int128>bid * self._lots >= self._min_notional_tl:
                self._w_side.push_back(1)
                self._w_price.push_back(bid)
            if <int128>ask * self._lots >= self._min_notional_tl:
                self._w_side.push_back(-1)
                self._w_price.push_back(ask)
        return self._w_side.size()

    def wanted(self, int64_t best_bid, int64_t best_ask) -> list:
        """The wanted ladder as (side +1/-1, price ticks, lots) for the Python path; also
        remembered as what the strategy acts on (see `acted`)."""
        cdef Py_ssize_t i, n = self._compute(best_bid, best_ask)
        return [(self._w_side[i], self._w_price[i], self._lots) for i in range(n)]

    # -- what rests -----------------------------------------------------------------------
    def acted(self, list resting, list wanted) -> None:
        """After the strategy's requote: the orders that now rest (side, price ticks,
        lots, created ns; cancels in flight left out) and the ladder it acted on."""
        cdef Resting r
        self._resting.clear()
        for side, price, lots, created in resting:
            r.side = side
            r.price = price
            r.lots = lots
            r.created_ns = created
            self._resting.push_back(r)
        self._acted_side.clear()
        self._acted_price.clear()
        for side, price, _ in wanted:
            self._acted_side.push_back(side)
            self._acted_price.push_back(price)
        self.dirty = False

    cdef bint _same_as_acted(self) noexcept:
        cdef Py_ssize_t i, n = self._w_side.size()
        if <Py_ssize_t>self._acted_side.size() != n:
            return False
        for i in range(n):
            if self._w_side[i] != self._acted_side[i] or self._w_price[i] != self._acted_price[i]:
                return False
        return True

    cdef bint _plan_is_empty(self, int64_t now, int64_t tolerance) noexcept:
        """plan_orders(wanted, resting) has nothing to cancel and nothing to create."""
        cdef Py_ssize_t i, j, n = self._w_side.size(), m = self._resting.size()
        cdef Resting* r
        cdef bint found
        cdef int64_t gap
        if n != m:
            return False
        self._w_used.assign(n, 0)
        for j in range(m):
            r = &self._resting[j]
            if now - r.created_ns >= self._max_age_ns:
                return False
            found = False
            for i in range(n):
                if self._w_used[i] or self._w_side[i] != r.side or self._lots != r.lots:
                    continue
                gap = self._w_price[i] - r.price
                if -tolerance <= gap <= tolerance:
                    self._w_used[i] = 1
                    found = True
                    break
            if not found:
                return False
        return True

    # -- the hook -------------------------------------------------------------------------
    cdef int on_depth(self, int64_t ts_ns) except -1:
        cdef int64_t best_bid, best_ask, tolerance
        if not self._configured or self.callback is None or self._book is None:
            return 0
        if self._book._stale:
            return 0
        if self.dirty or (self._skew_on and ts_ns >= self.skew_until_ns):
            return self._call()
        best_bid = self._book.c_best_bid()
        best_ask = self._book.c_best_ask()
        if ts_ns >= self.paused_until_ns:
            self._compute(best_bid, best_ask)
        else:
            self._w_side.clear()
            self._w_price.clear()
        if ts_ns < self.age_deadline_ns and self._same_as_acted():
            return 0
        tolerance = <int64_t>((<int128>(best_bid + best_ask) * self._tolerance_units) / (2 * <int128>_UNITS))
        if self._plan_is_empty(ts_ns, tolerance):
            return 0
        return self._call()

    cdef int _call(self) except -1:
        self.python_calls += 1
        self.callback()
        return 1

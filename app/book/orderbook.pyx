# cython: language_level=3
"""L2 order book on dense tick arrays.

Why dense arrays: the levels that matter to a market maker sit within a few hundred ticks
of the best price, and an array indexed by `tick - base` makes every update O(1) with no
allocation and no tree rebalancing. The best price is tracked incrementally; only removing
the best level scans, and only as far as the next non-empty level. An array grows (and is
re-based) when a level arrives outside it; deletions outside the array are no-ops, so far
away zero-quantity updates never cost memory. Memory is therefore proportional to the
price span of the levels actually resting (8 bytes per tick).

Prices are int64 ticks and quantities int64 lots: no binary float decides a price.
"""
from libc.stdint cimport int8_t, int64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset

import numpy as np

cimport numpy as cnp

cnp.import_array()

cdef enum:
    _BID = 1
    _ASK = -1

BID = _BID
ASK = _ASK


# ---------------------------------------------------------------------------------------
# Side primitives (plain C functions on a BookSide struct)
# ---------------------------------------------------------------------------------------

cdef inline bint _contains(const BookSide* s, int64_t price) noexcept nogil:
    return s.base <= price < s.base + s.cap


cdef int _init_side(BookSide* s, int64_t cap) except -1:
    s.q = <int64_t*>calloc(cap, sizeof(int64_t))
    if s.q == NULL:
        raise MemoryError()
    s.cap = cap
    s.base = 0
    s.best = -1
    s.count = 0
    return 0


cdef int _clear_side(BookSide* s, int64_t min_cap) except -1:
    """Empties a side; an array grown far beyond the initial size is given back."""
    cdef int64_t* fresh
    if s.cap > 4 * min_cap:
        fresh = <int64_t*>calloc(min_cap, sizeof(int64_t))
        if fresh == NULL:
            raise MemoryError()
        free(s.q)
        s.q = fresh
        s.cap = min_cap
    elif s.count:
        memset(s.q, 0, s.cap * sizeof(int64_t))
    s.best = -1
    s.count = 0
    return 0


cdef int _reserve(BookSide* s, int64_t lo, int64_t hi, int64_t min_cap) except -1:
    """Makes [lo, hi] addressable, keeping every resting level (grows or re-bases)."""
    cdef int64_t i, old_lo, old_hi, new_lo, new_hi, span, slack, new_cap, new_base
    cdef int64_t* fresh
    if s.base <= lo and hi < s.base + s.cap:
        return 0
    if s.count == 0:
        # Nothing to keep: re-centre the existing array when it is wide enough.
        span = hi - lo + 1
        if span <= s.cap:
            s.base = lo - (s.cap - span) // 2
            return 0
        old_lo = lo
        old_hi = hi
    else:
        old_lo = 0
        while s.q[old_lo] == 0:
            old_lo += 1
        old_hi = s.cap - 1
        while s.q[old_hi] == 0:
            old_hi -= 1
        old_lo += s.base
        old_hi += s.base
    new_lo = lo if lo < old_lo else old_lo
    new_hi = hi if hi > old_hi else old_hi
    span = new_hi - new_lo + 1
    # Slack on both ends makes repeated growth amortised O(1) per level.
    slack = span // 2
    if slack < min_cap // 4:
        slack = min_cap // 4
    new_cap = span + 2 * slack
    if new_cap < s.cap and new_cap < min_cap:
        new_cap = min_cap
    new_base = new_lo - (new_cap - span) // 2
    fresh = <int64_t*>calloc(new_cap, sizeof(int64_t))
    if fresh == NULL:
        raise MemoryError()
    if s.count:
        memcpy(fresh + (old_lo - new_base), s.q + (old_lo - s.base),
               (old_hi - old_lo + 1) * sizeof(int64_t))
        s.best += s.base - new_base
    free(s.q)
    s.q = fresh
    s.cap = new_cap
    s.base = new_base
    return 0


cdef inline void _remove_best(BookSide* s, int direction) noexcept nogil:
    """Deletes the best level; `direction` is the index step towards worse prices."""
    cdef int64_t i = s.best
    s.q[i] = 0
    s.count -= 1
    if s.count == 0:
        s.best = -1
        return
    i += direction
    while s.q[i] == 0:
        i += direction
    s.best = i


cdef inline void _set_level(BookSide* s, int64_t idx, int64_t qty, bint is_bid) noexcept nogil:
    """Sets one level inside the array and keeps best/count current."""
    cdef int64_t old = s.q[idx]
    cdef int64_t i
    s.q[idx] = qty
    if qty != 0:
        if old == 0:
            s.count += 1
            if s.best < 0 or (idx > s.best if is_bid else idx < s.best):
                s.best = idx
    elif old != 0:
        s.count -= 1
        if idx == s.best:
            if s.count == 0:
                s.best = -1
            elif is_bid:
                i = idx - 1
                while s.q[i] == 0:
                    i -= 1
                s.best = i
            else:
                i = idx + 1
                while s.q[i] == 0:
                    i += 1
                s.best = i


cdef inline int64_t _best_price(const BookSide* s) noexcept nogil:
    return s.base + s.best if s.best >= 0 else 0


cdef inline int _check_side(int side) except -1:
    if side != _BID and side != _ASK:
        raise ValueError(f"side must be BID (1) or ASK (-1), got {side}")
    return 0


cdef int _load_side(OrderBook book, BookSide* s, const int64_t[::1] p, const int64_t[::1] q,
                    int side) except -1:
    """Loads one snapshot side, sizing the array once for the whole price span."""
    cdef Py_ssize_t i, n = p.shape[0]
    cdef int64_t lo, hi
    if n == 0:
        return 0
    lo = hi = p[0]
    for i in range(n):
        if q[i] < 0 or (q[i] > 0 and p[i] <= 0):
            raise ValueError(f"invalid snapshot level {p[i]} x {q[i]}")
        if p[i] < lo:
            lo = p[i]
        if p[i] > hi:
            hi = p[i]
    _reserve(s, lo, hi, book._min_cap)
    for i in range(n):
        book.c_apply_delta(side, p[i], q[i])
    return 0


# ---------------------------------------------------------------------------------------
# The book
# ---------------------------------------------------------------------------------------

cdef class OrderBook:
    """An L2 book of one instrument: absolute quantities per price level, in ticks/lots."""

    def __cinit__(self, str symbol="", Py_ssize_t initial_capacity=4096):
        if initial_capacity < 16:
            initial_capacity = 16
        self._min_cap = initial_capacity
        self._bids.q = NULL
        self._asks.q = NULL
        _init_side(&self._bids, initial_capacity)
        _init_side(&self._asks, initial_capacity)
        self.symbol = symbol
        self._update_id = 0
        self._stale = False
        self._stale_reason = ""

    def __dealloc__(self):
        free(self._bids.q)
        free(self._asks.q)
        self._bids.q = NULL
        self._asks.q = NULL

    def __repr__(self) -> str:
        return (f"OrderBook({self.symbol!r}, bid={self.c_best_bid()}x{self.c_best_bid_lots()}, "
                f"ask={self.c_best_ask()}x{self.c_best_ask_lots()}, depth={self._bids.count}/"
                f"{self._asks.count}, update_id={self._update_id}{', STALE' if self._stale else ''})")

    # -- C API ---------------------------------------------------------------------------
    cdef int c_apply_delta(self, int side, int64_t price, int64_t qty) except -1:
        """Sets one level to an absolute quantity (0 deletes). Newest data wins: a bid at
        or above the best ask removes the crossed asks, and vice versa."""
        cdef BookSide* s
        cdef BookSide* o
        if qty < 0:
            raise ValueError(f"negative quantity {qty} at price {price}")
        if side == _BID:
            s = &self._bids
            o = &self._asks
            if qty != 0:
                if price <= 0:
                    raise ValueError(f"price must be positive, got {price}")
                while o.best >= 0 and o.base + o.best <= price:
                    _remove_best(o, 1)
        elif side == _ASK:
            s = &self._asks
            o = &self._bids
            if qty != 0:
                if price <= 0:
                    raise ValueError(f"price must be positive, got {price}")
                while o.best >= 0 and o.base + o.best >= price:
                    _remove_best(o, -1)
        else:
            raise ValueError(f"side must be BID (1) or ASK (-1), got {side}")
        if not (s.base <= price < s.base + s.cap):
            if qty == 0:
                return 0  # deleting a level that cannot exist
            _reserve(s, price, price, self._min_cap)
        _set_level(s, price - s.base, qty, side == _BID)
        return 0

    cdef Py_ssize_t c_apply_deltas(self, const int8_t* sides, const int64_t* prices,
                                   const int64_t* qtys, Py_ssize_t n) except -1:
        cdef Py_ssize_t i
        for i in range(n):
            self.c_apply_delta(sides[i], prices[i], qtys[i])
        return n

    cdef int c_clear(self) except -1:
        _clear_side(&self._bids, self._min_cap)
        _clear_side(&self._asks, self._min_cap)
        return 0

    cdef int64_t c_best_bid(self) noexcept:
        return _best_price(&self._bids)

    cdef int64_t c_best_ask(self) noexcept:
        return _best_price(&self._asks)

    cdef int64_t c_best_bid_lots(self) noexcept:
        return self._bids.q[self._bids.best] if self._bids.best >= 0 else 0

    cdef int64_t c_best_ask_lots(self) noexcept:
        return self._asks.q[self._asks.best] if self._asks.best >= 0 else 0

    cdef int64_t c_volume_at(self, int side, int64_t price) noexcept:
        cdef BookSide* s = &self._bids if side == _BID else &self._asks
        if s.base <= price < s.base + s.cap:
            return s.q[price - s.base]
        return 0

    cdef int64_t c_price_for_volume(self, int side, int64_t lots) noexcept:
        """Worst price reached when taking `lots` from `side`; 0 if the side is too thin."""
        cdef BookSide* s = &self._bids if side == _BID else &self._asks
        cdef int64_t i = s.best, left = lots, step = -1 if side == _BID else 1
        cdef int64_t seen = 0
        if i < 0 or lots <= 0:
            return 0
        while seen < s.count:
            if s.q[i] != 0:
                seen += 1
                left -= s.q[i]
                if left <= 0:
                    return s.base + i
            i += step
        return 0

    # -- Python API: updates ---------------------------------------------------------------
    def apply_snapshot(self, bid_prices, bid_qtys, ask_prices, ask_qtys, update_id=0) -> None:
        """Replaces the whole book; clears the stale flag. Zero quantities are ignored."""
        cdef const int64_t[::1] bp = np.ascontiguousarray(bid_prices, dtype=np.int64)
        cdef const int64_t[::1] bq = np.ascontiguousarray(bid_qtys, dtype=np.int64)
        cdef const int64_t[::1] ap = np.ascontiguousarray(ask_prices, dtype=np.int64)
        cdef const int64_t[::1] aq = np.ascontiguousarray(ask_qtys, dtype=np.int64)
        if bp.shape[0] != bq.shape[0] or ap.shape[0] != aq.shape[0]:
            raise ValueError("snapshot price and quantity arrays differ in length")
        self.c_clear()
        _load_side(self, &self._bids, bp, bq, _BID)
        _load_side(self, &self._asks, ap, aq, _ASK)
        self._update_id = update_id
        self._stale = False
        self._stale_reason = ""

    def apply_delta(self, int side, int64_t price_ticks, int64_t qty_lots) -> None:
        """Sets one level to an absolute quantity; 0 deletes the level."""
        self.c_apply_delta(side, price_ticks, qty_lots)

    def apply_deltas(self, const int8_t[::1] sides, const int64_t[::1] prices,
                     const int64_t[::1] qtys) -> int:
        """Applies a batch of deltas in order; returns how many were applied."""
        cdef Py_ssize_t n = sides.shape[0]
        if prices.shape[0] != n or qtys.shape[0] != n:
            raise ValueError("sides, prices and qtys differ in length")
        if n == 0:
            return 0
        return self.c_apply_deltas(&sides[0], &prices[0], &qtys[0], n)

    def apply_deltas_best(self, const int8_t[::1] sides, const int64_t[::1] prices,
                          const int64_t[::1] qtys, int64_t[::1] best_bids,
                          int64_t[::1] best_asks) -> int:
        """Applies a batch and records the best bid/ask ticks after every single delta.

        What a backtest needs to see each intermediate top of book without one Python call
        per update."""
        cdef Py_ssize_t i, n = sides.shape[0]
        if prices.shape[0] != n or qtys.shape[0] != n:
            raise ValueError("sides, prices and qtys differ in length")
        if best_bids.shape[0] < n or best_asks.shape[0] < n:
            raise ValueError("output arrays are shorter than the batch")
        for i in range(n):
            self.c_apply_delta(sides[i], prices[i], qtys[i])
            best_bids[i] = _best_price(&self._bids)
            best_asks[i] = _best_price(&self._asks)
        return n

    def clear(self) -> None:
        """Empties both sides (the stale flag and update id are left as they are)."""
        self.c_clear()

    # -- Python API: state -----------------------------------------------------------------
    @property
    def update_id(self) -> int:
        return self._update_id

    @update_id.setter
    def update_id(self, int64_t value) -> None:
        self._update_id = value

    @property
    def is_stale(self) -> bool:
        return self._stale

    @property
    def stale_reason(self) -> str:
        return self._stale_reason

    def mark_stale(self, str reason) -> None:
        """Flags the book as untrustworthy (gap, disconnect) until the next snapshot."""
        self._stale = True
        self._stale_reason = reason

    def mark_fresh(self) -> None:
        self._stale = False
        self._stale_reason = ""

    # -- Python API: reads -------------------------------------------------------------------
    @property
    def best_bid_ticks(self) -> int:
        return _best_price(&self._bids)

    @property
    def best_ask_ticks(self) -> int:
        return _best_price(&self._asks)

    @property
    def best_bid_lots(self) -> int:
        return self.c_best_bid_lots()

    @property
    def best_ask_lots(self) -> int:
        return self.c_best_ask_lots()

    @property
    def mid_ticks(self) -> float:
        if self._bids.best < 0 or self._asks.best < 0:
            return 0.0
        return (_best_price(&self._bids) + _best_price(&self._asks)) * 0.5

    @property
    def spread_ticks(self) -> int:
        if self._bids.best < 0 or self._asks.best < 0:
            return 0
        return _best_price(&self._asks) - _best_price(&self._bids)

    @property
    def bid_depth(self) -> int:
        return self._bids.count

    @property
    def ask_depth(self) -> int:
        return self._asks.count

    def volume_at(self, int side, int64_t price_ticks) -> int:
        _check_side(side)
        return self.c_volume_at(side, price_ticks)

    def price_for_volume(self, int side, int64_t lots) -> int:
        """Worst price reached taking `lots` from `side` (ASK when buying); 0 if too thin."""
        _check_side(side)
        return self.c_price_for_volume(side, lots)

    def vwap_for_volume(self, int side, int64_t lots) -> tuple:
        """(average price in ticks, lots available up to `lots`) when taking from `side`."""
        _check_side(side)
        cdef BookSide* s = &self._bids if side == _BID else &self._asks
        cdef int64_t i = s.best, left = lots, take, seen = 0
        cdef int64_t step = -1 if side == _BID else 1
        cdef double notional = 0.0
        if i < 0 or lots <= 0:
            return (0.0, 0)
        while seen < s.count and left > 0:
            if s.q[i] != 0:
                seen += 1
                take = s.q[i] if s.q[i] < left else left
                notional += <double>(s.base + i) * <double>take
                left -= take
            i += step
        if lots == left:
            return (0.0, 0)
        return (notional / <double>(lots - left), lots - left)

    def top_levels(self, int side, Py_ssize_t n) -> tuple:
        """Up to n (price ticks, lots) int64 arrays, best level first."""
        _check_side(side)
        cdef BookSide* s = &self._bids if side == _BID else &self._asks
        cdef Py_ssize_t k = s.count if s.count < n else (n if n > 0 else 0)
        prices = np.empty(k, dtype=np.int64)
        qtys = np.empty(k, dtype=np.int64)
        cdef int64_t[::1] pv = prices
        cdef int64_t[::1] qv = qtys
        cdef int64_t i = s.best, step = -1 if side == _BID else 1
        cdef Py_ssize_t j = 0
        while j < k:
            if s.q[i] != 0:
                pv[j] = s.base + i
                qv[j] = s.q[i]
                j += 1
            i += step
        return prices, qtys

    def levels_between(self, int side, int64_t from_ticks, int64_t to_ticks) -> tuple:
        """Non-empty levels with from_ticks <= price <= to_ticks (either order given),
        as (prices, qtys) int64 arrays, best level first."""
        _check_side(side)
        cdef BookSide* s = &self._bids if side == _BID else &self._asks
        cdef int64_t lo = from_ticks if from_ticks < to_ticks else to_ticks
        cdef int64_t hi = to_ticks if from_ticks < to_ticks else from_ticks
        cdef int64_t a, b, i, step
        cdef Py_ssize_t j = 0, k = 0
        if lo < s.base:
            lo = s.base
        if hi > s.base + s.cap - 1:
            hi = s.base + s.cap - 1
        if s.count == 0 or lo > hi:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        for i in range(lo - s.base, hi - s.base + 1):
            if s.q[i] != 0:
                k += 1
        prices = np.empty(k, dtype=np.int64)
        qtys = np.empty(k, dtype=np.int64)
        cdef int64_t[::1] pv = prices
        cdef int64_t[::1] qv = qtys
        if side == _BID:
            a, b, step = hi - s.base, lo - s.base - 1, -1
        else:
            a, b, step = lo - s.base, hi - s.base + 1, 1
        i = a
        while i != b:
            if s.q[i] != 0:
                pv[j] = s.base + i
                qv[j] = s.q[i]
                j += 1
            i += step
        return prices, qtys

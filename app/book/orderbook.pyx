# cython: language_level=3
"""L2 order book on dense tick arrays.

Why dense arrays: the levels that matter to a market maker sit within a few hundred ticks
of the best price, and an array indexed by `tick - base` makes every update O(1) with no
allocation and no tree rebalancing. The best price is tracked incrementally; only removing
the best level scans, and only as far as the next non-empty level.

Each side keeps a window of ticks that grows (and is re-based) when a level arrives
outside it, up to `max_capacity` ticks. Real books also hold a few huge resting orders
very far away (Binance spot BTCUSDT has asks at 200,000.00 with the market at 61,800.00:
14 million ticks), so a window never grows to reach them: levels beyond a full-size window
live in a sparse std::map ("far" levels). The window is always placed so that every far
level is worse than every level inside it; the best price is therefore read from the
window, or from the map only when the window is empty. Deletions of levels that do not
exist cost nothing and never grow anything.

Prices are int64 ticks and quantities int64 lots: no binary float decides a price.
"""
from cython.operator cimport dereference as deref
from cython.operator cimport predecrement as dec
from cython.operator cimport preincrement as inc
from libc.stdint cimport int8_t, int64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memset
from libcpp.vector cimport vector

import numpy as np

cimport numpy as cnp

cnp.import_array()

cdef enum:
    _BID = 1
    _ASK = -1

BID = _BID
ASK = _ASK

cdef int64_t _NO_LIMIT = 0x7FFFFFFFFFFFFFFF


# ---------------------------------------------------------------------------------------
# Side primitives (plain C functions on a BookSide struct)
# ---------------------------------------------------------------------------------------

cdef int _init_side(BookSide* s, int64_t cap) except -1:
    s.q = <int64_t*>calloc(cap, sizeof(int64_t))
    if s.q == NULL:
        raise MemoryError()
    s.far = new LevelMap()
    s.cap = cap
    s.base = 0
    s.best = -1
    s.count = 0
    return 0


cdef void _free_side(BookSide* s) noexcept:
    free(s.q)
    s.q = NULL
    if s.far != NULL:
        del s.far
        s.far = NULL


cdef int _clear_side(BookSide* s, int64_t min_cap) except -1:
    """Empties a side; a window grown beyond the initial size is given back."""
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
    s.far.clear()
    s.best = -1
    s.count = 0
    return 0


cdef inline int64_t _best_price(BookSide* s, bint is_bid) noexcept:
    """Best price of a side, 0 when empty (far levels are only consulted if the window is empty)."""
    cdef LevelMap.iterator it
    if s.best >= 0:
        return s.base + s.best
    if s.far.empty():
        return 0
    if is_bid:
        it = s.far.end()
        dec(it)
        return deref(it).first
    return deref(s.far.begin()).first


cdef inline int64_t _best_lots(BookSide* s, bint is_bid) noexcept:
    cdef LevelMap.iterator it
    if s.best >= 0:
        return s.q[s.best]
    if s.far.empty():
        return 0
    if is_bid:
        it = s.far.end()
        dec(it)
        return deref(it).second
    return deref(s.far.begin()).second


cdef int _rewindow(BookSide* s, int64_t new_base, int64_t new_cap, bint is_bid) except -1:
    """Moves the window to [new_base, new_base + new_cap): levels leaving it go to the far
    map, far levels inside it come back; count and best are recomputed."""
    cdef int64_t* fresh = <int64_t*>calloc(new_cap, sizeof(int64_t))
    cdef int64_t i, p, count = 0, best = -1
    cdef LevelMap.iterator it
    if fresh == NULL:
        raise MemoryError()
    if s.count:
        for i in range(s.cap):
            if s.q[i] != 0:
                p = s.base + i
                if new_base <= p < new_base + new_cap:
                    fresh[p - new_base] = s.q[i]
                else:
                    s.far[0][p] = s.q[i]
    if not s.far.empty():
        it = s.far.lower_bound(new_base)
        while it != s.far.end() and deref(it).first < new_base + new_cap:
            fresh[deref(it).first - new_base] = deref(it).second
            it = s.far.erase(it)
    for i in range(new_cap):
        if fresh[i] != 0:
            count += 1
            if is_bid or best < 0:
                best = i
    free(s.q)
    s.q = fresh
    s.base = new_base
    s.cap = new_cap
    s.count = count
    s.best = best
    return 0


cdef int _make_room(BookSide* s, int64_t price, bint is_bid, int64_t max_cap) except -1:
    """Called before adding a level outside the window: grows the window to cover it while
    it stays within max_cap ticks; otherwise keeps a full-size window around the best
    price, moving it only when the new level becomes the best. After this call the level
    is either inside the window or worse than all of it (and belongs in the far map)."""
    cdef int64_t lo, hi, span, new_cap, anchor, best
    if s.count == 0:
        anchor = price
        best = _best_price(s, is_bid)
        if best != 0 and (best > anchor if is_bid else best < anchor):
            anchor = best
        _rewindow(s, anchor - (3 * s.cap) // 4 if is_bid else anchor - s.cap // 4, s.cap, is_bid)
        return 0
    lo = s.base if s.base < price else price
    hi = s.base + s.cap - 1
    if price > hi:
        hi = price
    span = hi - lo + 1
    if span <= max_cap:
        new_cap = span + span // 2
        if new_cap < 2 * s.cap:
            new_cap = 2 * s.cap
        if new_cap > max_cap:
            new_cap = max_cap
        _rewindow(s, lo - (new_cap - span) // 2, new_cap, is_bid)
        return 0
    best = s.base + s.best
    if is_bid:
        anchor = price if price > best else best
    else:
        anchor = price if price < best else best
    if anchor == best and s.cap == max_cap:
        return 0  # a worse level beyond a full window: far map
    _rewindow(s, anchor - (3 * max_cap) // 4 if is_bid else anchor - max_cap // 4, max_cap, is_bid)
    return 0


cdef inline void _remove_best(BookSide* s, bint is_bid) noexcept:
    """Deletes the best level (window first, else the best far level)."""
    cdef int64_t i = s.best
    cdef LevelMap.iterator it
    if i < 0:
        if s.far.empty():
            return
        if is_bid:
            it = s.far.end()
            dec(it)
        else:
            it = s.far.begin()
        s.far.erase(it)
        return
    s.q[i] = 0
    s.count -= 1
    if s.count == 0:
        s.best = -1
        return
    if is_bid:
        i -= 1
        while s.q[i] == 0:
            i -= 1
    else:
        i += 1
        while s.q[i] == 0:
            i += 1
    s.best = i


cdef inline void _set_level(BookSide* s, int64_t idx, int64_t qty, bint is_bid) noexcept:
    """Sets one level inside the window and keeps best/count current."""
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


cdef int64_t _volume(BookSide* s, int64_t price) noexcept:
    cdef LevelMap.iterator it
    if s.base <= price < s.base + s.cap:
        return s.q[price - s.base]
    if s.far.empty():
        return 0
    it = s.far.find(price)
    return deref(it).second if it != s.far.end() else 0


cdef int64_t _take(BookSide* s, bint is_bid, int64_t lots, double* notional, int64_t* worst) noexcept:
    """Walks best-first taking up to `lots`; returns lots taken, sets notional and worst price."""
    cdef int64_t i = s.best, left = lots, take, seen = 0, step = -1 if is_bid else 1
    cdef LevelMap.iterator it
    cdef LevelMap.reverse_iterator rit
    notional[0] = 0.0
    worst[0] = 0
    if lots <= 0:
        return 0
    if i >= 0:
        while seen < s.count and left > 0:
            if s.q[i] != 0:
                seen += 1
                take = s.q[i] if s.q[i] < left else left
                notional[0] += <double>(s.base + i) * <double>take
                worst[0] = s.base + i
                left -= take
            i += step
    if is_bid:
        rit = s.far.rbegin()
        while left > 0 and rit != s.far.rend():
            take = deref(rit).second if deref(rit).second < left else left
            notional[0] += <double>deref(rit).first * <double>take
            worst[0] = deref(rit).first
            left -= take
            inc(rit)
    else:
        it = s.far.begin()
        while left > 0 and it != s.far.end():
            take = deref(it).second if deref(it).second < left else left
            notional[0] += <double>deref(it).first * <double>take
            worst[0] = deref(it).first
            left -= take
            inc(it)
    return lots - left


cdef object _collect(BookSide* s, bint is_bid, Py_ssize_t n, int64_t lo, int64_t hi):
    """Up to n non-empty levels with lo <= price <= hi, best first, as two int64 arrays."""
    cdef vector[int64_t] prices, qtys
    cdef int64_t i, seen = 0, p
    cdef LevelMap.iterator it
    cdef LevelMap.reverse_iterator rit
    cdef Py_ssize_t k
    if n > 0 and s.best >= 0:
        i = s.best
        while seen < s.count and <Py_ssize_t>prices.size() < n:
            if s.q[i] != 0:
                seen += 1
                p = s.base + i
                if is_bid and p < lo or not is_bid and p > hi:
                    break
                if lo <= p <= hi:
                    prices.push_back(p)
                    qtys.push_back(s.q[i])
            i += -1 if is_bid else 1
    if is_bid:
        rit = s.far.rbegin()
        while <Py_ssize_t>prices.size() < n and rit != s.far.rend() and deref(rit).first >= lo:
            if deref(rit).first <= hi:
                prices.push_back(deref(rit).first)
                qtys.push_back(deref(rit).second)
            inc(rit)
    else:
        it = s.far.begin()
        while <Py_ssize_t>prices.size() < n and it != s.far.end() and deref(it).first <= hi:
            if deref(it).first >= lo:
                prices.push_back(deref(it).first)
                qtys.push_back(deref(it).second)
            inc(it)
    k = prices.size()
    out_p = np.empty(k, dtype=np.int64)
    out_q = np.empty(k, dtype=np.int64)
    cdef int64_t[::1] pv = out_p
    cdef int64_t[::1] qv = out_q
    for i in range(k):
        pv[i] = prices[i]
        qv[i] = qtys[i]
    return out_p, out_q


cdef inline int _check_side(int side) except -1:
    if side != _BID and side != _ASK:
        raise ValueError(f"side must be BID (1) or ASK (-1), got {side}")
    return 0


cdef int _load_side(OrderBook book, BookSide* s, const int64_t[::1] p, const int64_t[::1] q,
                    int side) except -1:
    """Loads one snapshot side, placing the window once around the snapshot's levels."""
    cdef Py_ssize_t i, n = p.shape[0]
    cdef int64_t lo = 0, hi = 0, span, cap, best
    cdef bint any_level = False
    for i in range(n):
        if q[i] < 0 or (q[i] > 0 and p[i] <= 0):
            raise ValueError(f"invalid snapshot level {p[i]} x {q[i]}")
        if q[i] > 0:
            if not any_level or p[i] < lo:
                lo = p[i]
            if not any_level or p[i] > hi:
                hi = p[i]
            any_level = True
    if not any_level:
        return 0
    span = hi - lo + 1
    if span <= book._max_cap:
        cap = span + span // 2
        if cap < book._min_cap:
            cap = book._min_cap
        if cap > book._max_cap:
            cap = book._max_cap
        _rewindow(s, lo - (cap - span) // 2, cap, side == _BID)
    else:
        best = hi if side == _BID else lo
        cap = book._max_cap
        _rewindow(s, best - (3 * cap) // 4 if side == _BID else best - cap // 4, cap, side == _BID)
    for i in range(n):
        book.c_apply_delta(side, p[i], q[i])
    return 0


# ---------------------------------------------------------------------------------------
# The book
# ---------------------------------------------------------------------------------------

cdef class OrderBook:
    """An L2 book of one instrument: absolute quantities per price level, in ticks/lots.

    `initial_capacity` is the starting window in ticks per side; `max_capacity` bounds how
    far a window grows (8 bytes per tick) before farther levels go to the sparse map.
    """

    def __cinit__(self, str symbol="", Py_ssize_t initial_capacity=4096, Py_ssize_t max_capacity=1 << 18):
        if initial_capacity < 16:
            initial_capacity = 16
        if max_capacity < initial_capacity:
            max_capacity = initial_capacity
        self._min_cap = initial_capacity
        self._max_cap = max_capacity
        self._bids.q = NULL
        self._bids.far = NULL
        self._asks.q = NULL
        self._asks.far = NULL
        _init_side(&self._bids, initial_capacity)
        _init_side(&self._asks, initial_capacity)
        self.symbol = symbol
        self._update_id = 0
        self._stale = False
        self._stale_reason = ""

    def __dealloc__(self):
        _free_side(&self._bids)
        _free_side(&self._asks)

    def __repr__(self) -> str:
        return (f"OrderBook({self.symbol!r}, bid={self.c_best_bid()}x{self.c_best_bid_lots()}, "
                f"ask={self.c_best_ask()}x{self.c_best_ask_lots()}, depth={self.bid_depth}/"
                f"{self.ask_depth}, update_id={self._update_id}{', STALE' if self._stale else ''})")

    # -- C API ---------------------------------------------------------------------------
    cdef int c_apply_delta(self, int side, int64_t price, int64_t qty) except -1:
        """Sets one level to an absolute quantity (0 deletes). Newest data wins: a bid at
        or above the best ask removes the crossed asks, and vice versa."""
        cdef BookSide* s
        cdef BookSide* o
        cdef int64_t other
        cdef bint is_bid
        if qty < 0:
            raise ValueError(f"negative quantity {qty} at price {price}")
        if side == _BID:
            is_bid = True
            s = &self._bids
            o = &self._asks
            if qty != 0:
                if price <= 0:
                    raise ValueError(f"price must be positive, got {price}")
                other = _best_price(o, False)
                while other != 0 and other <= price:
                    _remove_best(o, False)
                    other = _best_price(o, False)
        elif side == _ASK:
            is_bid = False
            s = &self._asks
            o = &self._bids
            if qty != 0:
                if price <= 0:
                    raise ValueError(f"price must be positive, got {price}")
                other = _best_price(o, True)
                while other != 0 and other >= price:
                    _remove_best(o, True)
                    other = _best_price(o, True)
        else:
            raise ValueError(f"side must be BID (1) or ASK (-1), got {side}")
        if s.base <= price < s.base + s.cap:
            _set_level(s, price - s.base, qty, is_bid)
            return 0
        if qty == 0:
            if not s.far.empty():
                s.far.erase(price)
            return 0
        _make_room(s, price, is_bid, self._max_cap)
        if s.base <= price < s.base + s.cap:
            _set_level(s, price - s.base, qty, is_bid)
        else:
            s.far[0][price] = qty
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
        return _best_price(&self._bids, True)

    cdef int64_t c_best_ask(self) noexcept:
        return _best_price(&self._asks, False)

    cdef int64_t c_best_bid_lots(self) noexcept:
        return _best_lots(&self._bids, True)

    cdef int64_t c_best_ask_lots(self) noexcept:
        return _best_lots(&self._asks, False)

    cdef int64_t c_volume_at(self, int side, int64_t price) noexcept:
        return _volume(&self._bids if side == _BID else &self._asks, price)

    cdef int64_t c_price_for_volume(self, int side, int64_t lots) noexcept:
        """Worst price reached when taking `lots` from `side`; 0 if the side is too thin."""
        cdef double notional
        cdef int64_t worst
        if _take(&self._bids if side == _BID else &self._asks, side == _BID, lots, &notional, &worst) < lots:
            return 0
        return worst

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
            best_bids[i] = _best_price(&self._bids, True)
            best_asks[i] = _best_price(&self._asks, False)
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
        return _best_price(&self._bids, True)

    @property
    def best_ask_ticks(self) -> int:
        return _best_price(&self._asks, False)

    @property
    def best_bid_lots(self) -> int:
        return _best_lots(&self._bids, True)

    @property
    def best_ask_lots(self) -> int:
        return _best_lots(&self._asks, False)

    @property
    def mid_ticks(self) -> float:
        cdef int64_t b = _best_price(&self._bids, True), a = _best_price(&self._asks, False)
        if b == 0 or a == 0:
            return 0.0
        return (b + a) * 0.5

    @property
    def spread_ticks(self) -> int:
        cdef int64_t b = _best_price(&self._bids, True), a = _best_price(&self._asks, False)
        if b == 0 or a == 0:
            return 0
        return a - b

    @property
    def bid_depth(self) -> int:
        return self._bids.count + <int64_t>self._bids.far.size()

    @property
    def ask_depth(self) -> int:
        return self._asks.count + <int64_t>self._asks.far.size()

    @property
    def far_levels(self) -> tuple:
        """(bid, ask) levels kept outside the dense windows: a diagnostic."""
        return <int64_t>self._bids.far.size(), <int64_t>self._asks.far.size()

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
        cdef double notional
        cdef int64_t worst
        cdef int64_t taken = _take(&self._bids if side == _BID else &self._asks, side == _BID,
                                   lots, &notional, &worst)
        if taken == 0:
            return (0.0, 0)
        return (notional / <double>taken, taken)

    def top_levels(self, int side, Py_ssize_t n) -> tuple:
        """Up to n (price ticks, lots) int64 arrays, best level first."""
        _check_side(side)
        return _collect(&self._bids if side == _BID else &self._asks, side == _BID, n,
                        -_NO_LIMIT, _NO_LIMIT)

    def levels_between(self, int side, int64_t from_ticks, int64_t to_ticks) -> tuple:
        """Non-empty levels with prices between the two bounds (inclusive, either order),
        as (prices, qtys) int64 arrays, best level first."""
        _check_side(side)
        cdef int64_t lo = from_ticks if from_ticks < to_ticks else to_ticks
        cdef int64_t hi = to_ticks if from_ticks < to_ticks else from_ticks
        return _collect(&self._bids if side == _BID else &self._asks, side == _BID,
                        <Py_ssize_t>_NO_LIMIT, lo, hi)

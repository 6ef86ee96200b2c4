# cython: language_level=3
"""Price-time priority matching engine of the embedded demo exchange.

Why this layout: the demo market lives around one moving price but an account may rest an
order anywhere (a bid at half the price must not allocate millions of empty ticks), so the
price levels are a `std::map` per side keyed so that `begin()` is the best level (asks by
+price, bids by -price). The map holds only a slab index; levels and orders live in slabs
(`std::vector` plus a free list), and each level is an intrusive doubly-linked FIFO of its
orders, so that adding at the tail, filling from the head and cancelling from the middle
are all O(1) once the level is found. The synthetic crowd keeps a few hundred levels
resting, so a map lookup is a handful of cache-friendly comparisons, and slabs reuse memory:
a run of hours allocates no more than its busiest moment needs.

Everything a simulated step produces is appended to flat int64 buffers (public trades,
touched levels, fills of account orders) and drained once per step by Python, so the L2
feed publishes one batch of deltas and one trades array per step.

Prices are int64 ticks and quantities int64 lots; sides are BID = 1 and ASK = -1 as in the
L2 book. Owner 0 is the synthetic crowd; other owners are accounts. There is no self-trade
prevention: an account crossing its own resting order trades with it, as on many venues.
"""
from cython.operator cimport dereference as deref, preincrement as inc
from libc.stdint cimport INT64_MAX, int8_t, int32_t, int64_t
from libcpp.algorithm cimport sort, unique
from libcpp.map cimport map as cmap
from libcpp.vector cimport vector

import numpy as np

from app.domain.events import TRADE_DTYPE

BID = 1
ASK = -1

# Order kinds (submit) and recorded event kinds (replay): adds, market orders and cancels.
LIMIT = 0
MARKET = 1
POST_ONLY = 2
IOC = 3
CANCEL = 4

# What happened to a submitted order.
RESTING = 0     # rests in the book (possibly after partial fills)
FILLED = 1      # fully filled on arrival
EXPIRED = 2     # IOC / market remainder cancelled (possibly after partial fills)
REJECTED = 3    # post-only order that would have crossed

FILL_FIELDS = ("order_id", "owner", "price_ticks", "qty_lots", "is_maker", "remaining_lots")

cdef enum:
    _BID = 1
    _ASK = -1
    _LIMIT = 0
    _MARKET = 1
    _POST_ONLY = 2
    _IOC = 3
    _CANCEL = 4
    _RESTING = 0
    _FILLED = 1
    _EXPIRED = 2
    _REJECTED = 3


cdef class MatchingEngine:
    """One instrument's book with the matching rules of a spot exchange."""

    def __cinit__(self):
        self.next_id = 1
        self.events = 0
        self.now_ns = 0
        self.recording = False
        self.nodes.reserve(1 << 14)
        self.levels.reserve(1 << 12)
        self.crowd.reserve(1 << 14)

    # -- slabs ---------------------------------------------------------------------------
    cdef cmap[int64_t, int32_t]* _side_map(self, int side) noexcept:
        return &self.bids if side == _BID else &self.asks

    cdef int32_t _alloc_node(self) noexcept:
        cdef int32_t i
        if self.free_nodes.size():
            i = self.free_nodes.back()
            self.free_nodes.pop_back()
            return i
        self.nodes.resize(self.nodes.size() + 1)
        return <int32_t>(self.nodes.size() - 1)

    cdef int32_t _alloc_level(self) noexcept:
        cdef int32_t i
        if self.free_levels.size():
            i = self.free_levels.back()
            self.free_levels.pop_back()
            return i
        self.levels.resize(self.levels.size() + 1)
        return <int32_t>(self.levels.size() - 1)

    cdef void _unlink(self, int32_t ni) noexcept:
        """Removes a resting order from its level, the id index and the crowd list."""
        cdef Node* n = &self.nodes[ni]
        cdef Level* lv = &self.levels[n.level]
        cdef int32_t moved
        if n.prev >= 0:
            self.nodes[n.prev].next = n.next
        else:
            lv.head = n.next
        if n.next >= 0:
            self.nodes[n.next].prev = n.prev
        else:
            lv.tail = n.prev
        lv.count -= 1
        lv.qty -= n.qty
        if n.crowd_pos >= 0:
            moved = self.crowd.back()
            self.crowd[n.crowd_pos] = moved
            self.nodes[moved].crowd_pos = n.crowd_pos
            self.crowd.pop_back()
        self.by_id.erase(n.id)
        self.free_nodes.push_back(ni)

    # -- matching ------------------------------------------------------------------------
    cdef int64_t _match(self, int side, int64_t limit_price, int64_t qty, int64_t taker_id,
                        int64_t taker_owner) noexcept:
        """Fills an incoming order against the opposite side; returns the lots left.

        `limit_price` <= 0 means no limit (a market order walks until it is done or the
        side is empty).
        """
        cdef cmap[int64_t, int32_t]* opp = self._side_map(-side)
        cdef cmap[int64_t, int32_t].iterator it
        cdef int64_t limit_key, key, price, q
        cdef int32_t li, ni
        cdef Level* lv
        cdef Node* n
        cdef int64_t is_bid_maker = 1 if side == _ASK else 0
        if limit_price <= 0:
            limit_key = INT64_MAX
        else:
            limit_key = limit_price if side == _BID else -limit_price
        while qty > 0 and not opp.empty():
            it = opp.begin()
            key = deref(it).first
            if key > limit_key:
                break
            li = deref(it).second
            price = key if side == _BID else -key
            while qty > 0 and self.levels[li].head >= 0:
                ni = self.levels[li].head
                n = &self.nodes[ni]
                q = qty if qty < n.qty else n.qty
                n.qty -= q
                self.levels[li].qty -= q
                qty -= q
                self.trade_buf.push_back(self.now_ns)
                self.trade_buf.push_back(price)
                self.trade_buf.push_back(q)
                self.trade_buf.push_back(side)
                if n.owner != 0:
                    self._push_fill(n.id, n.owner, price, q, 1, n.qty)
                if taker_owner != 0:
                    self._push_fill(taker_id, taker_owner, price, q, 0, qty)
                if n.qty == 0:
                    self._unlink(ni)
            self.changed_buf.push_back((price << 1) | is_bid_maker)
            if self.levels[li].head < 0:
                opp.erase(it)
                self.free_levels.push_back(li)
        return qty

    cdef void _push_fill(self, int64_t oid, int64_t owner, int64_t price, int64_t qty,
                                int64_t is_maker, int64_t remaining) noexcept:
        self.fill_buf.push_back(oid)
        self.fill_buf.push_back(owner)
        self.fill_buf.push_back(price)
        self.fill_buf.push_back(qty)
        self.fill_buf.push_back(is_maker)
        self.fill_buf.push_back(remaining)

    cdef void _rest(self, int64_t oid, int side, int64_t price, int64_t qty, int64_t owner) noexcept:
        """Appends an order at the tail of its price level, creating the level if needed."""
        cdef cmap[int64_t, int32_t]* book = self._side_map(side)
        cdef int64_t key = price if side == _ASK else -price
        cdef cmap[int64_t, int32_t].iterator it = book.find(key)
        cdef int32_t li, ni
        cdef Level* lv
        cdef Node* n
        if it == book.end():
            li = self._alloc_level()
            lv = &self.levels[li]
            lv.qty = 0
            lv.head = -1
            lv.tail = -1
            lv.count = 0
            book[0][key] = li
        else:
            li = deref(it).second
        ni = self._alloc_node()
        n = &self.nodes[ni]
        lv = &self.levels[li]
        n.id = oid
        n.price = price
        n.qty = qty
        n.owner = owner
        n.side = <int8_t>side
        n.level = li
        n.next = -1
        n.prev = lv.tail
        if lv.tail >= 0:
            self.nodes[lv.tail].next = ni
        else:
            lv.head = ni
        lv.tail = ni
        lv.count += 1
        lv.qty += qty
        if owner == 0:
            n.crowd_pos = <int32_t>self.crowd.size()
            self.crowd.push_back(ni)
        else:
            n.crowd_pos = -1
        self.by_id[oid] = ni
        self.changed_buf.push_back((price << 1) | (1 if side == _BID else 0))

    cdef int64_t c_best(self, int side) noexcept:
        """Best price of a side in ticks, 0 when the side is empty."""
        if side == _BID:
            return 0 if self.bids.empty() else -deref(self.bids.begin()).first
        return 0 if self.asks.empty() else deref(self.asks.begin()).first

    cdef int64_t c_submit(self, int side, int kind, int64_t price, int64_t qty, int64_t owner) noexcept:
        """Matches and/or rests a new order; returns its id, sets last_status/last_filled."""
        cdef int64_t oid = self.next_id
        cdef int64_t best, left
        self.next_id += 1
        self.events += 1
        if self.recording:
            self.record_buf.push_back(kind)
            self.record_buf.push_back(side)
            self.record_buf.push_back(price)
            self.record_buf.push_back(qty)
            self.record_buf.push_back(oid)
        if kind == _POST_ONLY:
            best = self.c_best(-side)
            if best != 0 and ((side == _BID and price >= best) or (side == _ASK and price <= best)):
                self.last_status = _REJECTED
                self.last_filled = 0
                return oid
            left = qty
        else:
            left = self._match(side, 0 if kind == _MARKET else price, qty, oid, owner)
        self.last_filled = qty - left
        if left == 0:
            self.last_status = _FILLED
        elif kind == _MARKET or kind == _IOC:
            self.last_status = _EXPIRED
        else:
            self._rest(oid, side, price, left, owner)
            self.last_status = _RESTING
        return oid

    cdef int64_t c_cancel(self, int64_t oid) noexcept:
        """Removes a resting order; returns the lots cancelled or -1 if it is not resting."""
        cdef unordered_map[int64_t, int32_t].iterator found = self.by_id.find(oid)
        cdef int32_t ni, li
        cdef int64_t qty, price, key
        cdef int side
        self.events += 1
        if self.recording:
            self.record_buf.push_back(_CANCEL)
            self.record_buf.push_back(0)
            self.record_buf.push_back(0)
            self.record_buf.push_back(0)
            self.record_buf.push_back(oid)
        if found == self.by_id.end():
            return -1
        ni = deref(found).second
        qty = self.nodes[ni].qty
        price = self.nodes[ni].price
        side = self.nodes[ni].side
        li = self.nodes[ni].level
        self._unlink(ni)
        self.changed_buf.push_back((price << 1) | (1 if side == _BID else 0))
        if self.levels[li].head < 0:
            key = price if side == _ASK else -price
            self._side_map(side).erase(key)
            self.free_levels.push_back(li)
        return qty

    cdef void c_collect_crowd(self, int side, int64_t lo_price, int64_t hi_price,
                              vector[int64_t]* out) noexcept:
        """Appends the ids of crowd orders resting on `side` with lo <= price <= hi."""
        cdef cmap[int64_t, int32_t]* book = self._side_map(side)
        cdef int64_t lo_key = lo_price if side == _ASK else -hi_price
        cdef int64_t hi_key = hi_price if side == _ASK else -lo_price
        cdef cmap[int64_t, int32_t].iterator it = book.lower_bound(lo_key)
        cdef int32_t ni
        while it != book.end() and deref(it).first <= hi_key:
            ni = self.levels[deref(it).second].head
            while ni >= 0:
                if self.nodes[ni].owner == 0:
                    out.push_back(self.nodes[ni].id)
                ni = self.nodes[ni].next
            inc(it)

    # -- Python API ----------------------------------------------------------------------
    def submit(self, int side, int kind, int64_t price_ticks, int64_t qty_lots, int64_t owner=0) -> tuple:
        """Submits an order; returns (order_id, status, filled_lots).

        Fills are in drain_fills() for account owners; status is RESTING, FILLED, EXPIRED
        (IOC/market remainder dropped) or REJECTED (post-only that would cross).
        """
        if side != _BID and side != _ASK:
            raise ValueError(f"side must be BID (1) or ASK (-1), got {side}")
        if kind < _LIMIT or kind > _IOC:
            raise ValueError(f"unknown order kind {kind}")
        if qty_lots <= 0:
            raise ValueError(f"quantity must be positive, got {qty_lots}")
        if kind != _MARKET and price_ticks <= 0:
            raise ValueError(f"price must be positive, got {price_ticks}")
        oid = self.c_submit(side, kind, price_ticks, qty_lots, owner)
        return oid, self.last_status, self.last_filled

    def cancel(self, int64_t order_id) -> int:
        """Cancels a resting order; returns the lots removed, or -1 if it is not resting."""
        return self.c_cancel(order_id)

    def remaining(self, int64_t order_id) -> int:
        """Lots still resting for an order, -1 if it is not in the book."""
        cdef unordered_map[int64_t, int32_t].iterator found = self.by_id.find(order_id)
        if found == self.by_id.end():
            return -1
        return self.nodes[deref(found).second].qty

    def queue_ahead(self, int64_t order_id) -> int:
        """Lots resting ahead of an order at its price (time priority), -1 if not resting."""
        cdef unordered_map[int64_t, int32_t].iterator found = self.by_id.find(order_id)
        cdef int32_t ni
        cdef int64_t ahead = 0
        if found == self.by_id.end():
            return -1
        ni = self.nodes[deref(found).second].prev
        while ni >= 0:
            ahead += self.nodes[ni].qty
            ni = self.nodes[ni].prev
        return ahead

    def best_bid(self) -> int:
        return self.c_best(_BID)

    def best_ask(self) -> int:
        return self.c_best(_ASK)

    def volume_at(self, int side, int64_t price_ticks) -> int:
        cdef cmap[int64_t, int32_t]* book = self._side_map(side)
        cdef cmap[int64_t, int32_t].iterator it = book.find(price_ticks if side == _ASK else -price_ticks)
        if it == book.end():
            return 0
        return self.levels[deref(it).second].qty

    def level_count(self, int side) -> int:
        return self._side_map(side).size()

    @property
    def order_count(self) -> int:
        """Resting orders of all owners."""
        return self.by_id.size()

    @property
    def crowd_count(self) -> int:
        return self.crowd.size()

    @property
    def slab_sizes(self) -> tuple:
        """(order slots, level slots) ever allocated: flat over a long run means bounded memory."""
        return self.nodes.size(), self.levels.size()

    def snapshot(self, Py_ssize_t depth=0) -> tuple:
        """(bid_prices, bid_qtys, ask_prices, ask_qtys), best first; depth 0 = every level."""
        bp, bq = self._side_arrays(_BID, depth)
        ap, aq = self._side_arrays(_ASK, depth)
        return bp, bq, ap, aq

    cdef tuple _side_arrays(self, int side, Py_ssize_t depth):
        cdef cmap[int64_t, int32_t]* book = self._side_map(side)
        cdef Py_ssize_t n = book.size()
        if depth > 0 and depth < n:
            n = depth
        prices = np.empty(n, dtype=np.int64)
        qtys = np.empty(n, dtype=np.int64)
        cdef int64_t[::1] p = prices
        cdef int64_t[::1] q = qtys
        cdef cmap[int64_t, int32_t].iterator it = book.begin()
        cdef Py_ssize_t i = 0
        while i < n:
            p[i] = deref(it).first if side == _ASK else -deref(it).first
            q[i] = self.levels[deref(it).second].qty
            inc(it)
            i += 1
        return prices, qtys

    def drain_trades(self) -> np.ndarray:
        """Public trades since the last drain as a TRADE_DTYPE array (taker side +1 = buy)."""
        cdef Py_ssize_t n = self.trade_buf.size() // 4
        out = np.empty(n, dtype=TRADE_DTYPE)
        if n:
            raw = np.asarray(<int64_t[:n * 4]>self.trade_buf.data()).reshape(n, 4)
            out["ts_ns"] = raw[:, 0]
            out["price_ticks"] = raw[:, 1]
            out["qty_lots"] = raw[:, 2]
            out["taker_side"] = raw[:, 3]
        self.trade_buf.clear()
        return out

    def drain_levels(self) -> tuple:
        """Levels touched since the last drain: (sides int8, prices int64, qtys int64).

        Each level appears once with its aggregated quantity now (0 = the level is gone),
        which is exactly what OrderBook.apply_deltas expects.
        """
        cdef vector[int64_t]* buf = &self.changed_buf
        sort(buf.begin(), buf.end())
        cdef Py_ssize_t n = unique(buf.begin(), buf.end()) - buf.begin()
        sides = np.empty(n, dtype=np.int8)
        prices = np.empty(n, dtype=np.int64)
        qtys = np.empty(n, dtype=np.int64)
        cdef int8_t[::1] s = sides
        cdef int64_t[::1] p = prices
        cdef int64_t[::1] q = qtys
        cdef Py_ssize_t i
        cdef int64_t code, price
        cdef int side
        cdef cmap[int64_t, int32_t].iterator it
        for i in range(n):
            code = buf[0][i]
            price = code >> 1
            side = _BID if code & 1 else _ASK
            s[i] = side
            p[i] = price
            if side == _BID:
                it = self.bids.find(-price)
                q[i] = 0 if it == self.bids.end() else self.levels[deref(it).second].qty
            else:
                it = self.asks.find(price)
                q[i] = 0 if it == self.asks.end() else self.levels[deref(it).second].qty
        buf.clear()
        return sides, prices, qtys

    def drain_fills(self) -> list:
        """Fills of account orders since the last drain, in execution order.

        Each is (order_id, owner, price_ticks, qty_lots, is_maker, remaining_lots).
        """
        cdef Py_ssize_t i, n = self.fill_buf.size() // 6
        out = []
        for i in range(n):
            out.append((self.fill_buf[6 * i], self.fill_buf[6 * i + 1], self.fill_buf[6 * i + 2],
                        self.fill_buf[6 * i + 3], bool(self.fill_buf[6 * i + 4]), self.fill_buf[6 * i + 5]))
        self.fill_buf.clear()
        return out

    def drain_record(self) -> np.ndarray:
        """Recorded input events (kind, side, price, qty, id) as an (n, 5) int64 array."""
        cdef Py_ssize_t n = self.record_buf.size() // 5
        out = np.empty((n, 5), dtype=np.int64)
        if n:
            out[:] = np.asarray(<int64_t[:n * 5]>self.record_buf.data()).reshape(n, 5)
        self.record_buf.clear()
        return out

    def replay(self, const int64_t[:, ::1] events) -> int:
        """Processes recorded events (see drain_record) as crowd orders; returns the count.

        Ids are assigned in arrival order as in the recording, so a fresh engine replaying a
        recording reproduces it exactly; used by the benchmark and the determinism tests.
        """
        cdef Py_ssize_t i, n = events.shape[0]
        cdef int64_t kind
        for i in range(n):
            kind = events[i, 0]
            if kind == _CANCEL:
                self.c_cancel(events[i, 4])
            else:
                self.c_submit(<int>events[i, 1], <int>kind, events[i, 2], events[i, 3], 0)
            if self.trade_buf.size() > (1 << 20):
                self.trade_buf.clear()
            if self.changed_buf.size() > (1 << 20):
                self.changed_buf.clear()
        return n

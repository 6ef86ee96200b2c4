# Declarations of the demo matching engine so the synthetic flow (flow.pyx) can drive it
# through C calls: one Python call per simulated step, never one per order.
from libc.stdint cimport int8_t, int32_t, int64_t
from libcpp.map cimport map as cmap
from libcpp.unordered_map cimport unordered_map
from libcpp.vector cimport vector


cdef struct Node:
    # One resting order; lives in a slab (vector) and is linked into its level's FIFO.
    int64_t id
    int64_t price
    int64_t qty        # remaining lots
    int64_t owner      # 0 = synthetic crowd, > 0 = an account
    int32_t prev       # slab index of the order ahead in the queue, -1 at the head
    int32_t next       # slab index of the order behind, -1 at the tail
    int32_t level      # slab index of its price level
    int32_t crowd_pos  # index in MatchingEngine.crowd for crowd orders, -1 otherwise
    int8_t side        # BID = 1, ASK = -1


cdef struct Level:
    int64_t qty        # aggregated lots
    int32_t head       # oldest order (first to fill)
    int32_t tail
    int32_t count


cdef class MatchingEngine:
    # Book sides keyed so that begin() is the best level: asks by +price, bids by -price.
    cdef cmap[int64_t, int32_t] bids
    cdef cmap[int64_t, int32_t] asks
    cdef vector[Node] nodes
    cdef vector[int32_t] free_nodes
    cdef vector[Level] levels
    cdef vector[int32_t] free_levels
    cdef unordered_map[int64_t, int32_t] by_id
    cdef vector[int32_t] crowd          # slab indices of resting crowd orders
    cdef vector[int64_t] trade_buf      # ts, price, qty, taker side (4 per trade)
    cdef vector[int64_t] fill_buf       # id, owner, price, qty, is_maker, remaining (6 per fill)
    cdef vector[int64_t] changed_buf    # (price << 1) | is_bid, one per touched level
    cdef vector[int64_t] record_buf     # kind, side, price, qty, id (5 per event)
    cdef readonly int64_t next_id
    cdef readonly int64_t events
    cdef public int64_t now_ns
    cdef public bint recording
    cdef int last_status
    cdef int64_t last_filled

    cdef cmap[int64_t, int32_t]* _side_map(self, int side) noexcept
    cdef int32_t _alloc_node(self) noexcept
    cdef int32_t _alloc_level(self) noexcept
    cdef void _unlink(self, int32_t ni) noexcept
    cdef int64_t _match(self, int side, int64_t limit_price, int64_t qty, int64_t taker_id,
                        int64_t taker_owner) noexcept
    cdef void _push_fill(self, int64_t oid, int64_t owner, int64_t price, int64_t qty,
                         int64_t is_maker, int64_t remaining) noexcept
    cdef tuple _side_arrays(self, int side, Py_ssize_t depth)
    cdef void _rest(self, int64_t oid, int side, int64_t price, int64_t qty, int64_t owner) noexcept
    cdef int64_t c_submit(self, int side, int kind, int64_t price, int64_t qty, int64_t owner) noexcept
    cdef int64_t c_cancel(self, int64_t oid) noexcept
    cdef int64_t c_best(self, int side) noexcept
    cdef void c_collect_crowd(self, int side, int64_t lo_price, int64_t hi_price,
                              vector[int64_t]* out) noexcept

# Declarations of the L2 book so other Cython modules (matching, fill simulation,
# strategies) can `cimport` it and call the c_* methods without Python overhead.
from libc.stdint cimport int8_t, int64_t
from libcpp.map cimport map as cmap


ctypedef cmap[int64_t, int64_t] LevelMap


cdef struct BookSide:
    # Dense window: q[i] holds the lots resting at tick (base + i); 0 = no level.
    int64_t* q
    int64_t base
    int64_t cap
    int64_t best    # index of the best level in the window, -1 when the window is empty
    int64_t count   # number of non-empty levels in the window
    # Levels outside the window, always worse than every level inside it.
    LevelMap* far


cdef class OrderBook:
    cdef BookSide _bids
    cdef BookSide _asks
    cdef int64_t _min_cap
    cdef int64_t _max_cap
    cdef int64_t _update_id
    cdef bint _stale
    cdef str _stale_reason
    cdef readonly str symbol

    cdef int c_apply_delta(self, int side, int64_t price, int64_t qty) except -1
    cdef Py_ssize_t c_apply_deltas(self, const int8_t* sides, const int64_t* prices,
                                   const int64_t* qtys, Py_ssize_t n) except -1
    cdef int c_clear(self) except -1
    cdef int64_t c_best_bid(self) noexcept
    cdef int64_t c_best_ask(self) noexcept
    cdef int64_t c_best_bid_lots(self) noexcept
    cdef int64_t c_best_ask_lots(self) noexcept
    cdef int64_t c_volume_at(self, int side, int64_t price) noexcept
    cdef int64_t c_price_for_volume(self, int side, int64_t lots) noexcept

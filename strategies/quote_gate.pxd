from libc.stdint cimport int64_t, int8_t
from libcpp.vector cimport vector

from app.book.orderbook cimport OrderBook
from app.interfaces.market_hook cimport MarketHook


cdef struct Resting:
    int8_t side
    int64_t price
    int64_t lots
    int64_t created_ns


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
    cdef vector[int64_t] _w_lots
    cdef vector[int8_t] _w_used
    cdef vector[int8_t] _acted_side
    cdef vector[int64_t] _acted_price
    cdef vector[int64_t] _acted_lots
    cdef bint _acted_known
    cdef public bint dirty
    cdef public bint every_update
    cdef public bint ladder_ready
    cdef public bint takes_trades
    cdef public int64_t last_trade_ticks
    cdef public int64_t paused_until_ns
    cdef public int64_t skew_units
    cdef public int64_t skew_until_ns
    cdef public int64_t age_deadline_ns
    cdef public int64_t python_calls

    cdef Py_ssize_t _compute(self, int64_t best_bid, int64_t best_ask) noexcept
    cdef void _want(self, int8_t side, int64_t price, int64_t lots) noexcept
    cdef bint _same_as_acted(self) noexcept
    cdef bint _plan_is_empty(self, int64_t now, int64_t tolerance) noexcept
    cdef int64_t _tolerance_ticks(self, int64_t ref2) noexcept
    cdef void _remember_acted(self) noexcept
    cdef int _trades(self, const int64_t* price, const int64_t* ts, int64_t last_ts, Py_ssize_t n) except -1
    cdef int _call(self) except -1
    cdef void _clear_wanted(self) noexcept
    cdef int _act_if_needed(self, int64_t now, int64_t best_bid, int64_t best_ask) except -1

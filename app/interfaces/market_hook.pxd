from libc.stdint cimport int64_t, int8_t


cdef class MarketHook:
    cdef public bint active
    cdef public object callback
    cdef public object clock
    cdef int on_depth(self, int64_t now_ns) except -1
    cdef int on_trade_rows(self, const int64_t* price, const int64_t* qty, const int8_t* taker,
                           Py_ssize_t n, int64_t now_ns) except -1

# cython: language_level=3
"""Binance depth messages -> integer ticks and lots, straight from the websocket bytes.

A diff-depth message is mostly decimal strings ({"U":..,"u":..,"b":[["61845.99","0.123"],..]});
turning each into a Python str, then a Decimal or float, then an int costs more than the
book update itself. This parser walks the raw bytes once and writes the levels into int64
arrays the Cython book applies in one call: no Python object per level.

Prices and quantities are exact: a value is scaled to the step's decimals by moving the
decimal point (digits beyond them must be zeros) and divided by the step's multiple with
no remainder allowed; anything else is a ValueError naming the value.
"""
import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t
from libc.string cimport strlen

cnp.import_array()


cdef class Grid:
    """A step (tick or lot) as 10**-decimals x multiple, e.g. 0.01 -> (2, 1), 0.5 -> (1, 5).

    `rounding`: a value finer than the step is rounded to the nearest step (half up, never
    to 0 when positive) instead of refused. For book-level quantities only: Binance's far
    levels sum resting orders placed under older, finer lot sizes (25.42618900 BTC on a
    0.00001 lot), exactly as app/data/binance_recording.py treats recordings. Prices never
    round."""

    cdef readonly int decimals
    cdef readonly int64_t multiple
    cdef readonly bint rounding
    cdef public int64_t rounded  # values rounded so far (health, tests)

    def __init__(self, int decimals, int64_t multiple, bint rounding=False):
        if decimals < 0 or decimals > 18 or multiple <= 0:
            raise ValueError(f"bad grid: {decimals} decimals, multiple {multiple}")
        self.decimals = decimals
        self.multiple = multiple
        self.rounding = rounding
        self.rounded = 0


cdef extern from "string.h" nogil:
    void* memmem(const void* haystack, size_t haystacklen, const void* needle, size_t needlelen)
    void* memchr(const void* s, int c, size_t n)


cdef inline Py_ssize_t _find(const unsigned char* s, Py_ssize_t n, Py_ssize_t start, const char* p) noexcept:
    """The index just after the first occurrence of the C string p at or after start, or -1
    (glibc's memmem: vectorised, the bulk of a big message is skipped at memory speed)."""
    cdef size_t m = strlen(p)
    if start < 0 or start >= n:
        return -1
    cdef const unsigned char* hit = <const unsigned char*>memmem(s + start, <size_t>(n - start), p, m)
    if hit == NULL:
        return -1
    return (hit - s) + <Py_ssize_t>m


cdef inline Py_ssize_t _skip_to(const unsigned char* s, Py_ssize_t n, Py_ssize_t i, unsigned char c) noexcept:
    """The index just after the next byte c at or after i, or -1."""
    if i < 0 or i >= n:
        return -1
    cdef const unsigned char* hit = <const unsigned char*>memchr(s + i, c, <size_t>(n - i))
    if hit == NULL:
        return -1
    return (hit - s) + 1


cdef inline int64_t _int_at(const unsigned char* s, Py_ssize_t n, Py_ssize_t i) except? -2:
    """The (possibly negative) integer starting at i."""
    cdef int64_t value = 0
    cdef bint negative = False
    while i < n and s[i] == 32:
        i += 1
    if i < n and s[i] == 45:  # '-'
        negative = True
        i += 1
    if i >= n or s[i] < 48 or s[i] > 57:
        raise ValueError("expected an integer")
    while i < n and 48 <= s[i] <= 57:
        value = value * 10 + (s[i] - 48)
        i += 1
    return -value if negative else value


cdef inline int64_t _decimal(const unsigned char* s, Py_ssize_t a, Py_ssize_t b, Grid grid) except -1:
    """The decimal string s[a:b] (no quotes) as a whole number of grid steps.

    Three tight loops (whole part, the grid's decimals, the excess digits) instead of one
    loop testing every character for every case: this is the parser's inner loop."""
    cdef int64_t units = 0
    cdef Py_ssize_t i = a
    cdef unsigned int d
    cdef int frac = 0
    cdef int decimals = grid.decimals
    cdef int first_excess = -1  # the first digit beyond the grid's decimals, -1 if none
    cdef bint more_excess = False  # a non-zero digit after that one
    while i < b:
        d = s[i] - 48
        if d > 9:
            break
        units = units * 10 + d
        i += 1
    if i == a:
        raise ValueError(f"{bytes(s[a:b]).decode(errors='replace')!r} is not a plain decimal")
    if i < b:
        if s[i] != 46:  # '.'
            raise ValueError(f"{bytes(s[a:b]).decode(errors='replace')!r} is not a plain decimal")
        i += 1
        while i < b and frac < decimals:
            d = s[i] - 48
            if d > 9:
                raise ValueError(f"{bytes(s[a:b]).decode(errors='replace')!r} is not a plain decimal")
            units = units * 10 + d
            frac += 1
            i += 1
        if i < b:
            first_excess = s[i] - 48
            if <unsigned int>first_excess > 9:
                raise ValueError(f"{bytes(s[a:b]).decode(errors='replace')!r} is not a plain decimal")
            i += 1
            while i < b:
                d = s[i] - 48
                if d > 9:
                    raise ValueError(f"{bytes(s[a:b]).decode(errors='replace')!r} is not a plain decimal")
                if d:
                    more_excess = True
                i += 1
    while frac < decimals:
        units *= 10
        frac += 1
    cdef bint finer = first_excess > 0 or more_excess
    if finer and not grid.rounding:
        raise ValueError(f"{bytes(s[a:b]).decode()} is finer than the step")
    if grid.multiple == 1 and not finer:
        return units
    cdef int64_t steps = units // grid.multiple
    cdef int64_t rest = units - steps * grid.multiple
    if rest or finer:
        if not grid.rounding:
            raise ValueError(f"{bytes(s[a:b]).decode()} is not a multiple of the step")
        grid.rounded += 1
        # nearest step: twice the remainder against the multiple (the excess digits count
        # as a little more than nothing, and decide alone when the multiple is 1)
        if 2 * rest > grid.multiple or (2 * rest == grid.multiple and finer) or \
                (grid.multiple == 1 and first_excess >= 5):
            steps += 1
        if steps == 0:
            steps = 1  # a level that exists is never rounded away
    return steps


cdef Py_ssize_t _levels(const unsigned char* s, Py_ssize_t n, Py_ssize_t i, int side, Grid price, Grid qty,
                        cnp.int8_t* sides, int64_t* prices, int64_t* qtys, Py_ssize_t k) except -1:
    """Parses [["p","q"],...] starting just after its opening '['; returns the new count."""
    cdef Py_ssize_t a
    while i < n:
        while i < n and (s[i] == 32 or s[i] == 44):
            i += 1
        if i < n and s[i] == 93:  # ']': end of the list
            return k
        if i >= n or s[i] != 91:  # '['
            raise ValueError("malformed level list")
        a = _skip_to(s, n, i, 34)
        i = _skip_to(s, n, a, 34) - 1  # the closing quote
        if a < 0 or i < 0:
            raise ValueError("malformed level")
        prices[k] = _decimal(s, a, i, price)
        a = _skip_to(s, n, i + 1, 34)
        i = _skip_to(s, n, a, 34) - 1
        if a < 0 or i < 0:
            raise ValueError("malformed level")
        qtys[k] = _decimal(s, a, i, qty)
        sides[k] = side
        k += 1
        i = _skip_to(s, n, i + 1, 93)
        if i < 0:
            raise ValueError("malformed level")
    raise ValueError("unterminated level list")


cdef tuple _level_arrays(Py_ssize_t n):
    """(sides, prices, qtys) arrays big enough for any message of n bytes: a level takes at
    least 9 bytes (["1","1"]), so n // 9 + 1 levels, allocated once, no counting pass."""
    cdef cnp.npy_intp dims[1]
    dims[0] = n // 9 + 1
    return (cnp.PyArray_EMPTY(1, dims, cnp.NPY_INT8, 0), cnp.PyArray_EMPTY(1, dims, cnp.NPY_INT64, 0),
            cnp.PyArray_EMPTY(1, dims, cnp.NPY_INT64, 0))


def parse_depth(bytes message, Grid price, Grid qty):
    """(first_id U, last_id u, prev_id pu or -1, event ms E or 0, sides, prices, qtys) of a
    Binance diff-depth message, raw or wrapped in a combined-stream envelope. ValueError on
    anything malformed or off the grid."""
    cdef const unsigned char* s = message
    cdef Py_ssize_t n = len(message)
    cdef cnp.ndarray sides, prices, qtys
    sides, prices, qtys = _level_arrays(n)
    cdef cnp.int8_t* sv = <cnp.int8_t*>cnp.PyArray_DATA(sides)
    cdef int64_t* pv = <int64_t*>cnp.PyArray_DATA(prices)
    cdef int64_t* qv = <int64_t*>cnp.PyArray_DATA(qtys)
    # Binance writes the fields in one order (E, ..., U, u, pu, b, a): each search starts
    # where the previous field was found, so the message is walked about once.
    cdef Py_ssize_t i, k = 0, at
    cdef int64_t event_ms = 0
    i = _find(s, n, 0, '"E":')
    if i >= 0:
        event_ms = _int_at(s, n, i)
    at = i if i >= 0 else 0
    i = _find(s, n, at, '"U":')
    if i < 0:
        i = _find(s, n, 0, '"U":')
        if i < 0:
            raise ValueError("not a depth update (no U)")
    cdef int64_t first = _int_at(s, n, i)
    i = _find(s, n, i, '"u":')
    if i < 0:
        raise ValueError("not a depth update (no u)")
    cdef int64_t last = _int_at(s, n, i)
    at = i
    i = _find(s, n, at, '"b":[')
    if i < 0:
        raise ValueError("no bids list")
    cdef int64_t prev = -1
    cdef Py_ssize_t pu = _find(s, n, at, '"pu":')
    if 0 <= pu < i:
        prev = _int_at(s, n, pu)
    k = _levels(s, n, i, 1, price, qty, sv, pv, qv, k)
    i = _find(s, n, i, '"a":[')
    if i < 0:
        raise ValueError("no asks list")
    k = _levels(s, n, i, -1, price, qty, sv, pv, qv, k)
    return first, last, prev, event_ms, sides[:k], prices[:k], qtys[:k]


def grid_of(step, rounding=False) -> Grid:
    """The Grid of a Decimal step: 0.01 -> (2, 1), 0.5 -> (1, 5), 10 -> (0, 10)."""
    from decimal import Decimal

    step = Decimal(str(step)).normalize()
    exponent = step.as_tuple().exponent
    decimals = max(0, -int(exponent))
    return Grid(decimals, int(step.scaleb(decimals)), rounding)


def parse_snapshot(bytes message, Grid price, Grid qty):
    """(lastUpdateId, bid prices, bid qtys, ask prices, ask qtys) of a REST depth snapshot
    ({"lastUpdateId":..,"bids":[..],"asks":[..]}), exact, as int64 arrays."""
    cdef const unsigned char* s = message
    cdef Py_ssize_t n = len(message)
    cdef cnp.ndarray sides, prices, qtys
    sides, prices, qtys = _level_arrays(n)
    cdef cnp.int8_t* sv = <cnp.int8_t*>cnp.PyArray_DATA(sides)
    cdef int64_t* pv = <int64_t*>cnp.PyArray_DATA(prices)
    cdef int64_t* qv = <int64_t*>cnp.PyArray_DATA(qtys)
    cdef Py_ssize_t i = _find(s, n, 0, '"lastUpdateId":')
    if i < 0:
        raise ValueError("not a depth snapshot (no lastUpdateId)")
    cdef int64_t last = _int_at(s, n, i)
    i = _find(s, n, 0, '"bids":[')
    if i < 0:
        raise ValueError("no bids list")
    cdef Py_ssize_t nb = _levels(s, n, i, 1, price, qty, sv, pv, qv, 0)
    i = _find(s, n, 0, '"asks":[')
    if i < 0:
        raise ValueError("no asks list")
    cdef Py_ssize_t k = _levels(s, n, i, -1, price, qty, sv, pv, qv, nb)
    return last, prices[:nb], qtys[:nb], prices[nb:k], qtys[nb:k]

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
    """A step (tick or lot) as 10**-decimals x multiple, e.g. 0.01 -> (2, 1), 0.5 -> (1, 5)."""

    cdef readonly int decimals
    cdef readonly int64_t multiple

    def __init__(self, int decimals, int64_t multiple):
        if decimals < 0 or decimals > 18 or multiple <= 0:
            raise ValueError(f"bad grid: {decimals} decimals, multiple {multiple}")
        self.decimals = decimals
        self.multiple = multiple


cdef inline Py_ssize_t _find(const unsigned char* s, Py_ssize_t n, Py_ssize_t start, const char* p) noexcept:
    """The index just after the first occurrence of the C string p at or after start, or -1."""
    cdef Py_ssize_t m = strlen(p)
    cdef Py_ssize_t i, j
    for i in range(start, n - m + 1):
        if s[i] != <unsigned char>p[0]:
            continue
        j = 1
        while j < m and s[i + j] == <unsigned char>p[j]:
            j += 1
        if j == m:
            return i + m
    return -1


cdef inline Py_ssize_t _skip_to(const unsigned char* s, Py_ssize_t n, Py_ssize_t i, unsigned char c) noexcept:
    """The index just after the next byte c at or after i, or -1."""
    while i < n and s[i] != c:
        i += 1
    return i + 1 if i < n else -1


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
    """The decimal string s[a:b] (no quotes) as a whole number of grid steps."""
    cdef int64_t units = 0
    cdef int frac = -1  # digits after the point, -1 before the point
    cdef Py_ssize_t i
    cdef unsigned char c
    for i in range(a, b):
        c = s[i]
        if c == 46:  # '.'
            if frac >= 0:
                raise ValueError("two decimal points")
            frac = 0
        elif 48 <= c <= 57:
            if frac >= grid.decimals:
                if c != 48:
                    raise ValueError(f"{bytes(s[a:b]).decode()} is finer than the step")
            else:
                units = units * 10 + (c - 48)
                if frac >= 0:
                    frac += 1
        else:
            raise ValueError(f"{bytes(s[a:b]).decode(errors='replace')!r} is not a plain decimal")
    if frac < 0:
        frac = 0
    while frac < grid.decimals:
        units *= 10
        frac += 1
    if units % grid.multiple:
        raise ValueError(f"{bytes(s[a:b]).decode()} is not a multiple of the step")
    return units // grid.multiple


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
        i = _skip_to(s, n, i, 34)
        a = i
        while 0 <= i < n and s[i] != 34:
            i += 1
        if i < 0 or i >= n:
            raise ValueError("malformed level")
        prices[k] = _decimal(s, a, i, price)
        i = _skip_to(s, n, i + 1, 34)
        a = i
        while 0 <= i < n and s[i] != 34:
            i += 1
        if i < 0 or i >= n:
            raise ValueError("malformed level")
        qtys[k] = _decimal(s, a, i, qty)
        sides[k] = side
        k += 1
        i = _skip_to(s, n, i + 1, 93)
        if i < 0:
            raise ValueError("malformed level")
    raise ValueError("unterminated level list")


def parse_depth(bytes message, Grid price, Grid qty):
    """(first_id U, last_id u, prev_id pu or -1, event ms E or 0, sides, prices, qtys) of a
    Binance diff-depth message, raw or wrapped in a combined-stream envelope. ValueError on
    anything malformed or off the grid."""
    cdef const unsigned char* s = message
    cdef Py_ssize_t n = len(message)
    cdef Py_ssize_t cap = 1
    cdef Py_ssize_t j
    for j in range(n):
        if s[j] == 91:
            cap += 1
    cdef cnp.npy_intp dims[1]
    dims[0] = cap
    cdef cnp.ndarray sides = cnp.PyArray_EMPTY(1, dims, cnp.NPY_INT8, 0)
    cdef cnp.ndarray prices = cnp.PyArray_EMPTY(1, dims, cnp.NPY_INT64, 0)
    cdef cnp.ndarray qtys = cnp.PyArray_EMPTY(1, dims, cnp.NPY_INT64, 0)
    cdef cnp.int8_t* sv = <cnp.int8_t*>cnp.PyArray_DATA(sides)
    cdef int64_t* pv = <int64_t*>cnp.PyArray_DATA(prices)
    cdef int64_t* qv = <int64_t*>cnp.PyArray_DATA(qtys)
    cdef Py_ssize_t i, k = 0
    i = _find(s, n, 0, '"U":')
    if i < 0:
        raise ValueError("not a depth update (no U)")
    cdef int64_t first = _int_at(s, n, i)
    i = _find(s, n, 0, '"u":')
    if i < 0:
        raise ValueError("not a depth update (no u)")
    cdef int64_t last = _int_at(s, n, i)
    cdef int64_t prev = -1
    i = _find(s, n, 0, '"pu":')
    if i >= 0:
        prev = _int_at(s, n, i)
    cdef int64_t event_ms = 0
    i = _find(s, n, 0, '"E":')
    if i >= 0:
        event_ms = _int_at(s, n, i)
    i = _find(s, n, 0, '"b":[')
    if i < 0:
        raise ValueError("no bids list")
    k = _levels(s, n, i, 1, price, qty, sv, pv, qv, k)
    i = _find(s, n, 0, '"a":[')
    if i < 0:
        raise ValueError("no asks list")
    k = _levels(s, n, i, -1, price, qty, sv, pv, qv, k)
    return first, last, prev, event_ms, sides[:k], prices[:k], qtys[:k]


def grid_of(step) -> Grid:
    """The Grid of a Decimal step: 0.01 -> (2, 1), 0.5 -> (1, 5), 10 -> (0, 10)."""
    from decimal import Decimal

    step = Decimal(str(step)).normalize()
    exponent = step.as_tuple().exponent
    decimals = max(0, -int(exponent))
    return Grid(decimals, int(step.scaleb(decimals)))


def parse_snapshot(bytes message, Grid price, Grid qty):
    """(lastUpdateId, bid prices, bid qtys, ask prices, ask qtys) of a REST depth snapshot
    ({"lastUpdateId":..,"bids":[..],"asks":[..]}), exact, as int64 arrays."""
    cdef const unsigned char* s = message
    cdef Py_ssize_t n = len(message)
    cdef Py_ssize_t cap = 1
    cdef Py_ssize_t j
    for j in range(n):
        if s[j] == 91:
            cap += 1
    cdef cnp.npy_intp dims[1]
    dims[0] = cap
    cdef cnp.ndarray sides = cnp.PyArray_EMPTY(1, dims, cnp.NPY_INT8, 0)
    cdef cnp.ndarray prices = cnp.PyArray_EMPTY(1, dims, cnp.NPY_INT64, 0)
    cdef cnp.ndarray qtys = cnp.PyArray_EMPTY(1, dims, cnp.NPY_INT64, 0)
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

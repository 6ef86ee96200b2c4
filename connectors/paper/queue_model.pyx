# cython: language_level=3
"""Queue-position fill simulation for own resting limit orders (paper trading hot path).

Why a queue model: Hummingbot's paper trading fills a resting order in full, at its own
price, as soon as the opposite best price or any trade crosses it. That ignores the volume
that was displayed at the price before the order arrived, so paper results look far better
than live ones. Here every own order keeps an estimate of the public volume ahead of it and
fills only when the market really trades at or through its price.

Rules (one own order at price P on side S; +1 = bid/buy, -1 = ask/sell):

* Joining: when the order becomes live it queues behind everything displayed at P
  (queue_ahead = displayed level qty, given by the caller).
* Trade at exactly P by a taker of the other side (a sell print at our bid, a buy print at
  our ask): the print consumes the queue in time priority. Public volume ahead goes first;
  what is left of the print fills own orders in arrival order. Own orders never count in
  the public queue of each other, so two own orders at one price fill in arrival order
  and one print is never used twice.
* Trade strictly through P (a sell print below our bid, a buy print above our ask): the
  market really traded through our price, so nothing can be ahead of us any more
  (queue_ahead = 0) and the order fills. A print tells only the size traded at its own
  price, not the taker's size at better prices, so the fill is bounded by the print's qty
  (conservative choice); several own orders traded through share that qty in price, then
  arrival, priority, and at-price fills on the same print get only what is left of it.
* Book update: the level at P moving from last_level to level. Public trades at P since
  the previous update (pending_trade_lots) explain part of a decrease; the unexplained
  rest are cancels. Cancels are assumed to be spread uniformly over the level, so the
  share ahead of us is queue_ahead / (last_level - pending_trade_lots) and queue_ahead
  shrinks by that fraction of the cancels, rounded down (keeps us further back).
  Increases are new orders joining behind us: no change. queue_ahead is always clamped to
  the displayed level qty (the level can never hide more than it shows).
* No fills from book updates alone. If the opposite best crosses our price without a
  print at or through it, we do not fill (conservative): the recording does not show who
  would have traded, and only a trade proves that the market reached our price.

Everything here is integer ticks/lots; Python sees the result only when something fills,
as one compact numpy batch (FILL_DTYPE) per call.

Known limit: market data streams are not synchronised. If a depth update that already
contains a trade arrives before the trade print, the decrease is first read as cancels and
the print then advances the queue again (slightly optimistic). Binance publishes trades in
real time and depth every 100 ms, so prints normally arrive first.
"""
from libc.stdint cimport int64_t, int8_t
from libcpp.vector cimport vector
from libcpp.pair cimport pair
from libcpp.algorithm cimport sort

from app.book.orderbook cimport OrderBook
from app.interfaces.market_hook cimport MarketHook

import numpy as np

FILL_DTYPE = np.dtype(
    [("oid", "<i8"), ("price_ticks", "<i8"), ("lots", "<i8"), ("is_maker", "i1")]
)
"""One simulated own execution: model order id, price (ticks), lots, maker flag."""

_EMPTY_FILLS = np.empty(0, dtype=FILL_DTYPE)
_EMPTY_FILLS.setflags(write=False)


cdef struct Slot:
    int64_t oid
    int8_t side               # +1 resting bid (own buy), -1 resting ask (own sell)
    int64_t price             # ticks
    int64_t remaining         # lots still open
    int64_t ahead             # estimated public lots ahead of us at `price`
    int64_t last_level        # displayed lots at `price` at the last book observation
    int64_t pending_trades    # public lots traded at `price` since that observation


cdef inline int64_t _min64(int64_t a, int64_t b) nogil:
    return a if a < b else b


cdef class QueueModel(MarketHook):
    """Own resting orders of one instrument and their estimated queue positions.

    Orders are identified by an integer `oid` chosen by the caller (the connector maps it
    to a client order id). Slots are kept in arrival order, which is time priority.

    As a MarketHook (after `attach`) it follows a feed's book and trades itself: book
    updates re-read the queues and trades fill in C; Python runs only for the fills
    (`callback(fills)`, the connector's settlement) and to clear the connector's record of
    liquidity its taker orders used (`taker.clear()`, when `taker_used` says there is any).
    """

    cdef vector[Slot] _slots
    cdef OrderBook _book
    cdef object _taker
    cdef public bint taker_used
    cdef vector[int64_t] _f_oid
    cdef vector[int64_t] _f_price
    cdef vector[int64_t] _f_lots
    cdef vector[int8_t] _f_maker

    def __len__(self) -> int:
        return self._slots.size()

    def attach(self, OrderBook book, taker, on_fills) -> None:
        """Follows `book` as a hook: `on_fills(fills)` settles what trades filled."""
        self._book = book
        self._taker = taker
        self.callback = on_fills

    cdef int on_depth(self, int64_t ts_ns) except -1:
        if self.taker_used:
            self.taker_used = False
            self._taker.clear()
        if self._slots.size() and not self._book._stale:
            self._read_levels(self._book)
        return 0

    cdef int on_trade_rows(self, const int64_t* price, const int64_t* qty, const int8_t* taker,
                           Py_ssize_t n, int64_t ts_ns) except -1:
        if self._slots.size() == 0 or self._book._stale:
            return 0
        self._apply_rows(price, qty, taker, n)
        if self._f_oid.size() == 0:
            return 0
        self.callback(self._take_fills())
        return 1

    # -- order management ---------------------------------------------------------------
    def add(self, int64_t oid, int side, int64_t price_ticks, int64_t lots, int64_t queue_ahead_lots) -> None:
        """Makes an order live behind `queue_ahead_lots` (the displayed qty at its price)."""
        if side != 1 and side != -1:
            raise ValueError(f"side must be +1 (bid) or -1 (ask), got {side}")
        if lots <= 0 or price_ticks <= 0:
            raise ValueError(f"order {oid}: price {price_ticks} ticks and lots {lots} must be positive")
        if self._find(oid) >= 0:
            raise ValueError(f"order {oid} is already in the queue model")
        cdef Slot s
        s.oid = oid
        s.side = <int8_t>side
        s.price = price_ticks
        s.remaining = lots
        s.ahead = queue_ahead_lots if queue_ahead_lots > 0 else 0
        s.last_level = s.ahead
        s.pending_trades = 0
        self._slots.push_back(s)

    def remove(self, int64_t oid) -> bool:
        """Takes an order out (cancelled); False when it is not resting here."""
        cdef Py_ssize_t i = self._find(oid)
        if i < 0:
            return False
        self._slots.erase(self._slots.begin() + i)
        return True

    def queue_ahead(self, int64_t oid):
        """Estimated public lots ahead of the order, or None when it is not resting."""
        cdef Py_ssize_t i = self._find(oid)
        return None if i < 0 else self._slots[i].ahead

    def remaining(self, int64_t oid):
        cdef Py_ssize_t i = self._find(oid)
        return None if i < 0 else self._slots[i].remaining

    def oids(self) -> list:
        return [self._slots[i].oid for i in range(<Py_ssize_t>self._slots.size())]

    cdef int64_t _level(self, object book, int side, int64_t price) except -1:
        """Displayed lots at a price: a direct C call on the compiled book, else duck typing."""
        if type(book) is OrderBook:
            return (<OrderBook>book).c_volume_at(side, price)
        return book.volume_at(side, price)

    cdef Py_ssize_t _find(self, int64_t oid):
        cdef Py_ssize_t i
        for i in range(<Py_ssize_t>self._slots.size()):
            if self._slots[i].oid == oid:
                return i
        return -1

    # -- market events ------------------------------------------------------------------
    def on_trades(self, trades):
        """Applies a TRADE_DTYPE batch in order; returns the resulting fills (FILL_DTYPE)."""
        cdef Py_ssize_t n = len(trades)
        if n == 0 or self._slots.size() == 0:
            return _EMPTY_FILLS
        cdef const int64_t[::1] price = np.ascontiguousarray(trades["price_ticks"], dtype=np.int64)
        cdef const int64_t[::1] qty = np.ascontiguousarray(trades["qty_lots"], dtype=np.int64)
        cdef const int8_t[::1] taker = np.ascontiguousarray(trades["taker_side"], dtype=np.int8)
        self._apply_rows(&price[0], &qty[0], &taker[0], n)
        return self._take_fills()

    cdef void _apply_rows(self, const int64_t* price, const int64_t* qty, const int8_t* taker, Py_ssize_t n):
        """Trades in order against the resting orders; the fills collect in the _f_ buffers."""
        cdef Py_ssize_t t
        cdef bint any_done = False
        self._clear_fills()
        for t in range(n):
            if qty[t] > 0 and (taker[t] == 1 or taker[t] == -1):
                if self._apply_trade(price[t], qty[t], -taker[t]):
                    any_done = True
        if any_done:
            self._drop_filled()

    def on_book(self, book) -> None:
        """Re-reads the displayed qty at each own price after a book update.

        Never fills: only trades prove that the market reached a price (see module doc).
        `book` is the compiled OrderBook (read through its C API) or any object with
        `volume_at(side, price_ticks)`, side +1 bids / -1 asks.
        """
        self._read_levels(book)

    cdef int _read_levels(self, object book) except -1:
        cdef Py_ssize_t i
        cdef Slot* s
        cdef int64_t level, expected, cancels
        for i in range(<Py_ssize_t>self._slots.size()):
            s = &self._slots[i]
            level = self._level(book, s.side, s.price)
            expected = s.last_level - s.pending_trades
            if level < expected and s.ahead > 0:
                cancels = expected - level
                # Cancels uniformly spread over the level: our share ahead, rounded down.
                s.ahead -= <int64_t>((<double>cancels * <double>s.ahead) / <double>expected)
            if s.ahead > level:
                s.ahead = level
            if s.ahead < 0:
                s.ahead = 0
            s.last_level = level
            s.pending_trades = 0
        return 0

    def reset_levels(self, book) -> None:
        """After a resync: trust the new book, clamp queues, forget unexplained changes."""
        cdef Py_ssize_t i
        cdef Slot* s
        cdef int64_t level
        for i in range(<Py_ssize_t>self._slots.size()):
            s = &self._slots[i]
            level = self._level(book, s.side, s.price)
            if s.ahead > level:
                s.ahead = level
            s.last_level = level
            s.pending_trades = 0

    # -- internals ----------------------------------------------------------------------
    cdef bint _apply_trade(self, int64_t p, int64_t q, int rs):
        """One print of `q` lots at `p` hitting resting orders of side `rs`.

        Returns True when some order became completely filled.
        """
        cdef Py_ssize_t i, k
        cdef Py_ssize_t n = self._slots.size()
        cdef Slot* s
        cdef int64_t budget = q
        cdef int64_t fill, gap, take
        cdef int64_t r = q
        cdef int64_t consumed_public = 0
        cdef bint done = False
        cdef vector[pair[int64_t, Py_ssize_t]] through
        # 1) orders the print went through, best price first (bounded by the print's qty)
        for i in range(n):
            s = &self._slots[i]
            if s.side == rs and s.remaining > 0 and (s.price - p) * rs > 0:
                through.push_back(pair[int64_t, Py_ssize_t](-rs * s.price, i))
        if through.size() > 0:
            sort(through.begin(), through.end())
            for k in range(<Py_ssize_t>through.size()):
                s = &self._slots[through[k].second]
                s.ahead = 0
                fill = _min64(s.remaining, budget)
                if fill > 0:
                    budget -= fill
                    s.remaining -= fill
                    self._push_fill(s.oid, s.price, fill)
                    if s.remaining == 0:
                        done = True
        # 2) orders at the print's price, in time priority behind the public queue
        for i in range(n):
            s = &self._slots[i]
            if s.side != rs or s.price != p or s.remaining <= 0:
                continue
            s.pending_trades += q
            gap = s.ahead - consumed_public
            if gap > 0:
                take = _min64(r, gap)
                r -= take
                consumed_public += take
            s.ahead -= consumed_public
            if s.ahead < 0:
                s.ahead = 0
            fill = _min64(_min64(r, s.remaining), budget)
            if fill > 0:
                r -= fill
                budget -= fill
                s.remaining -= fill
                self._push_fill(s.oid, s.price, fill)
                if s.remaining == 0:
                    done = True
        return done

    cdef void _push_fill(self, int64_t oid, int64_t price, int64_t lots):
        self._f_oid.push_back(oid)
        self._f_price.push_back(price)
        self._f_lots.push_back(lots)
        self._f_maker.push_back(1)

    cdef void _clear_fills(self):
        self._f_oid.clear()
        self._f_price.clear()
        self._f_lots.clear()
        self._f_maker.clear()

    cdef object _take_fills(self):
        cdef Py_ssize_t n = self._f_oid.size()
        if n == 0:
            return _EMPTY_FILLS
        out = np.empty(n, dtype=FILL_DTYPE)
        cdef int64_t[:] o = out["oid"]
        cdef int64_t[:] pr = out["price_ticks"]
        cdef int64_t[:] lo = out["lots"]
        cdef int8_t[:] mk = out["is_maker"]
        cdef Py_ssize_t i
        for i in range(n):
            o[i] = self._f_oid[i]
            pr[i] = self._f_price[i]
            lo[i] = self._f_lots[i]
            mk[i] = self._f_maker[i]
        self._clear_fills()
        return out

    cdef void _drop_filled(self):
        cdef Py_ssize_t i = 0
        while i < <Py_ssize_t>self._slots.size():
            if self._slots[i].remaining <= 0:
                self._slots.erase(self._slots.begin() + i)
            else:
                i += 1

# cython: language_level=3
"""The quoting strategies' compiled hot path: the ladder maths and "is there anything to do?".

A quoting strategy reacts to every book update, but on most updates its wanted quotes are
still within the refresh tolerance of the orders that rest, and nothing happens. This gate
answers that question in C, from integer ticks and lots, with no Python object per market
message: it computes the wanted ladder (here the simple quoter's: mid -+ each level's
spread in units of 1e-8, an inventory skew, post-only clamping, the minimum notional) and
matches it against a mirror of the resting orders exactly as strategies/reconcile.py's
`plan_orders` would (greedy, in order, same side and amount, price within tolerance,
younger than the maximum age). Only when that plan would not be empty, or when the
strategy marked itself dirty (an order ended, a fill) or its skew needs re-reading, does it
call the strategy's Python requote, which plans and acts through the ordinary connector
API and then refreshes the mirror.

Other strategies subclass it with their own ladder (`_compute`) and, where their decision
has more steps, their own `on_depth` (strategies/pmm_gate.pyx, strategies/as_gate.pyx).
What every subclass shares: per-quote amounts, the mirror and the plan test, a pause
after fills, `every_update` (the strategy's configuration needs Python on every book
update: the gate then only saves the event object), `ladder_ready` (False: the ladder's
inputs are not known in C yet, Python decides), and trades taken at C level
(`takes_trades`: the last trade price is kept, a subclass may record more; the bot then
delivers no TradesEvent to the strategy, app/engine/bot.py `_feed_kinds`).

The same `wanted` maths serves the strategy's Python path (previews, live venues), so
there is one implementation of each ladder.
"""
from libc.stdint cimport int64_t, int8_t
from libcpp.vector cimport vector

from app.book.orderbook cimport OrderBook
from app.interfaces.market_hook cimport MarketHook

import numpy as np

from app.domain import TradesEvent

cdef extern from *:
    ctypedef long long int128 "__int128"

cdef int64_t _UNITS = 100_000_000  # price fractions in units of 1e-8 (1 bp = 10,000 units)
cdef int64_t _SMALL = 1 << 26  # prices below this many ticks: mid2 * 2e8 fits in int64


cdef inline int64_t _floor_div(int128 a, int128 b) noexcept:
    """Python's // for b > 0 (C truncates towards zero)."""
    cdef int128 q = a / b
    if (a % b != 0) and (a < 0):
        q -= 1
    return <int64_t>q


cdef class QuoteGate(MarketHook):
    def __cinit__(self):
        self.dirty = True
        self.ladder_ready = True

    def configure(self, book, list levels, int64_t lots, int64_t tolerance_units, int64_t max_age_ns,
                  bint post_only, int64_t min_notional_ticks_lots, bint skew_on) -> None:
        """levels: (bid units, ask units) per level; min_notional_ticks_lots: the smallest
        price_ticks * lots an order may have (the minimum notional, rounded up). A book
        that is not the compiled OrderBook (a test's stand-in) serves `wanted` only."""
        self._book = book if isinstance(book, OrderBook) else None
        self._bid_units.clear()
        self._ask_units.clear()
        for bid_units, ask_units in levels:
            self._bid_units.push_back(bid_units)
            self._ask_units.push_back(ask_units)
        self._lots = lots
        self._tolerance_units = tolerance_units
        self._max_age_ns = max_age_ns
        self._post_only = post_only
        self._min_notional_tl = min_notional_ticks_lots
        self._skew_on = skew_on
        self._configured = True
        self.dirty = True

    # -- the ladder -----------------------------------------------------------------------
    cdef void _want(self, int8_t side, int64_t price, int64_t lots) noexcept:
        self._w_side.push_back(side)
        self._w_price.push_back(price)
        self._w_lots.push_back(lots)

    cdef Py_ssize_t _compute(self, int64_t best_bid, int64_t best_ask) noexcept:
        """Fills the wanted quotes (_w_side/_w_price/_w_lots); returns how many.

        Every bid is strictly below every ask: level by level the bid is at most the ask
        minus one tick, and further levels only move outwards."""
        cdef Py_ssize_t i, n = self._bid_units.size()
        cdef int64_t bid, ask, bu, au, skew = self.skew_units
        cdef int128 mid2 = <int128>best_bid + best_ask
        cdef int64_t m2 = best_bid + best_ask
        cdef bint small = 0 < best_bid < _SMALL and 0 < best_ask < _SMALL
        self._w_side.clear()
        self._w_price.clear()
        self._w_lots.clear()
        if best_bid <= 0 or best_ask <= 0 or self._lots <= 0:
            return 0
        for i in range(n):
            bu = self._bid_units[i] + (skew if skew > 0 else 0)
            au = self._ask_units[i] + (-skew if skew < 0 else 0)
            if small and 0 <= bu <= _UNITS and 0 <= au <= _UNITS:  # int64 cannot overflow
                bid = m2 * (_UNITS - bu) // (2 * _UNITS)
                ask = (m2 * (_UNITS + au) + 2 * _UNITS - 1) // (2 * _UNITS)  # ceil (C divides towards 0)
            else:
                bid = _floor_div(mid2 * (_UNITS - bu), 2 * <int128>_UNITS)
                ask = -_floor_div(-mid2 * (_UNITS + au), 2 * <int128>_UNITS)
            if self._post_only:
                if bid > best_ask - 1:
                    bid = best_ask - 1
                if ask < best_bid + 1:
                    ask = best_bid + 1
            if bid >= ask:  # zero spreads on a mid that is a whole tick: never cross own quotes
                bid = ask - 1
            if bid > 0 and <int128>bid * self._lots >= self._min_notional_tl:
                self._want(1, bid, self._lots)
            if <int128>ask * self._lots >= self._min_notional_tl:
                self._want(-1, ask, self._lots)
        return self._w_side.size()

    def wanted(self, int64_t best_bid, int64_t best_ask) -> list:
        """The wanted ladder as (side +1/-1, price ticks, lots) for the Python path."""
        cdef Py_ssize_t i, n = self._compute(best_bid, best_ask)
        return [(self._w_side[i], self._w_price[i], self._w_lots[i]) for i in range(n)]

    # -- what rests and what was acted on ---------------------------------------------------
    def rest(self, list resting) -> None:
        """The orders that rest now and that the plan matches (side, price ticks, lots,
        created ns; cancels in flight and orders kept outside the plan left out)."""
        cdef Resting r
        self._resting.clear()
        for side, price, lots, created in resting:
            r.side = side
            r.price = price
            r.lots = lots
            r.created_ns = created
            self._resting.push_back(r)

    def acted(self, list resting, list wanted) -> None:
        """After the strategy's requote: the orders that now rest and the ladder it acted
        on, as (side, price ticks, lots)."""
        self.rest(resting)
        self._acted_side.clear()
        self._acted_price.clear()
        self._acted_lots.clear()
        for side, price, lots in wanted:
            self._acted_side.push_back(side)
            self._acted_price.push_back(price)
            self._acted_lots.push_back(lots)
        self._acted_known = True
        self.dirty = False

    def set_acted(self, list quotes) -> None:
        """The ladder acted on, as Quote objects (app/interfaces/strategy.py); None-like
        (`forget_acted`) until the first."""
        self._acted_side.clear()
        self._acted_price.clear()
        self._acted_lots.clear()
        for quote in quotes:
            self._acted_side.push_back(quote.side.sign)
            self._acted_price.push_back(quote.price_ticks)
            self._acted_lots.push_back(quote.amount_lots)
        self._acted_known = True

    def forget_acted(self) -> None:
        self._acted_side.clear()
        self._acted_price.clear()
        self._acted_lots.clear()
        self._acted_known = False

    def acted_is(self, list quotes) -> bool:
        """Whether `quotes` (Quote objects) are the ladder last acted on."""
        cdef Py_ssize_t i, n = len(quotes)
        if not self._acted_known or <Py_ssize_t>self._acted_side.size() != n:
            return False
        for i in range(n):
            quote = quotes[i]
            if (quote.side.sign != self._acted_side[i] or quote.price_ticks != self._acted_price[i]
                    or quote.amount_lots != self._acted_lots[i]):
                return False
        return True

    cdef void _remember_acted(self) noexcept:
        """The wanted ladder becomes the one acted on (a requote the gate skipped)."""
        self._acted_side = self._w_side
        self._acted_price = self._w_price
        self._acted_lots = self._w_lots
        self._acted_known = True

    def forget(self, int side, int64_t price, int64_t lots, int64_t created_ns) -> bool:
        """An order of the mirror ended (filled, refused, cancelled by the venue): it no
        longer rests. Orders the strategy cancelled itself were never in the mirror."""
        cdef Py_ssize_t j
        cdef Resting* r
        for j in range(<Py_ssize_t>self._resting.size()):
            r = &self._resting[j]
            if r.side == side and r.price == price and r.lots == lots and r.created_ns == created_ns:
                self._resting.erase(self._resting.begin() + j)
                self._acted_side.clear()  # what rests no longer matches what was acted on:
                self._acted_price.clear()  # the full plan test decides
                self._acted_lots.clear()
                self._acted_known = False
                return True
        return False

    cdef bint _same_as_acted(self) noexcept:
        cdef Py_ssize_t i, n = self._w_side.size()
        if not self._acted_known or <Py_ssize_t>self._acted_side.size() != n:
            return False
        for i in range(n):
            if (self._w_side[i] != self._acted_side[i] or self._w_price[i] != self._acted_price[i]
                    or self._w_lots[i] != self._acted_lots[i]):
                return False
        return True

    cdef bint _plan_is_empty(self, int64_t now, int64_t tolerance) noexcept:
        """plan_orders(wanted, resting) has nothing to cancel and nothing to create."""
        cdef Py_ssize_t i, j, n = self._w_side.size(), m = self._resting.size()
        cdef Resting* r
        cdef bint found
        cdef int64_t gap
        if n != m:
            return False
        self._w_used.assign(n, 0)
        for j in range(m):
            r = &self._resting[j]
            if now - r.created_ns >= self._max_age_ns:
                return False
            found = False
            for i in range(n):
                if self._w_used[i] or self._w_side[i] != r.side or self._w_lots[i] != r.lots:
                    continue
                gap = self._w_price[i] - r.price
                if -tolerance <= gap <= tolerance:
                    self._w_used[i] = 1
                    found = True
                    break
            if not found:
                return False
        return True

    cdef int64_t _tolerance_ticks(self, int64_t ref2) noexcept:
        """ref2 * tolerance // (2 * UNITS): the plan's tolerance in ticks around twice a price."""
        if 0 < ref2 < 2 * _SMALL and self._tolerance_units <= _UNITS:
            return ref2 * self._tolerance_units // (2 * _UNITS)
        return _floor_div(<int128>ref2 * self._tolerance_units, 2 * <int128>_UNITS)

    # -- the hook -------------------------------------------------------------------------
    cdef int on_depth(self, int64_t ts_ns) except -1:
        cdef int64_t best_bid, best_ask
        if not self._configured or self.callback is None or self._book is None:
            return 0
        if self._book._stale:
            return 0
        if self.dirty or self.every_update or (self._skew_on and ts_ns >= self.skew_until_ns):
            return self._call()
        best_bid = self._book.c_best_bid()
        best_ask = self._book.c_best_ask()
        if ts_ns >= self.paused_until_ns:
            self._compute(best_bid, best_ask)
        else:
            self._clear_wanted()
        return self._act_if_needed(ts_ns, best_bid, best_ask)

    cdef void _clear_wanted(self) noexcept:
        """Nothing wanted (paused after a fill): every resting order is to be cancelled."""
        self._w_side.clear()
        self._w_price.clear()
        self._w_lots.clear()

    cdef int _act_if_needed(self, int64_t now, int64_t best_bid, int64_t best_ask) except -1:
        """With the wanted ladder computed: Python only if reconciling would change anything."""
        if now < self.age_deadline_ns and self._same_as_acted():
            return 0
        if self._plan_is_empty(now, self._tolerance_ticks(best_bid + best_ask)):
            return 0
        return self._call()

    cdef int on_trade_rows(self, const int64_t* price, const int64_t* qty, const int8_t* taker,
                           Py_ssize_t n, int64_t ts_ns) except -1:
        """A replay's trade unit: every row shares the unit's time."""
        if not self.takes_trades or n <= 0:
            return 0
        return self._trades(price, NULL, ts_ns, n)

    cdef int _trades(self, const int64_t* price, const int64_t* ts, int64_t last_ts, Py_ssize_t n) except -1:
        """Public trades in order (ts NULL: all at last_ts). Keeps the last price."""
        self.last_trade_ticks = price[n - 1]
        return 0

    def listener(self, event) -> None:
        """The hook as an ordinary listener; trades keep each row's own time."""
        cdef const int64_t[::1] price
        cdef const int64_t[::1] ts
        if not self.active:
            return  # a stopping bot's strategy does not quote (the compiled loop checks the same)
        if type(event) is TradesEvent:
            trades = event.trades
            if self.takes_trades and len(trades):
                price = np.ascontiguousarray(trades["price_ticks"], dtype=np.int64)
                ts = np.ascontiguousarray(trades["ts_ns"], dtype=np.int64)
                self._trades(&price[0], &ts[0], ts[len(trades) - 1], len(trades))
        else:
            MarketHook.listener(self, event)

    cdef int _call(self) except -1:
        self.python_calls += 1
        self.callback()
        return 1

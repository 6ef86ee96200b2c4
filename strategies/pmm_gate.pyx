# cython: language_level=3
"""Pure market making's compiled gate: its per-update decision in C, Python only when it acts.

strategies/pure_market_making.py `_update` runs on every book update. Its decision is a
few integer compares (the reference and the top of book against the last ones, the
refresh and timer deadlines, a "quiet band" of references inside which no order breaks
the minimum spread or a hanging order's cancel %) and, when a refresh is due, the wanted
quotes matched against the resting orders (`plan_orders`). This gate makes the same
decision in C, on the same state: the strategy keeps its memo (last reference and top of
book), its deadlines, its quiet band and the ladder it last acted on *in the gate's
fields* on both paths, so a book update the gate handles leaves exactly the state the
Python path would have left. It calls `_update` only when that would do something:
a guard to run (the reference left the quiet band), a refresh that would cancel or create
(the ladder moved beyond the tolerance, an order aged), a timer due, orders changed.

The ladder is `strategies/pmm/quotes.py: compute_quotes` without order optimisation,
ported line for line (asks first, then bids kept below our lowest ask); the inputs that
change only on fills and order events (size scales, hanging-order and cost limits, price
band, ping-pong) are handed over by the strategy after each computation (`set_inputs`),
and `ladder_ready` is cleared whenever one may have changed. References: mid, best bid,
best ask, last public trade (trades are taken at C level; with the last price as the
reference a trade runs the decision as the strategy's on_trades does). Everything else
makes the strategy set `every_update` (strategies/pure_market_making.py says which).
"""
from libc.stdint cimport int64_t, int8_t
from libcpp.vector cimport vector

from strategies.quote_gate cimport QuoteGate

cdef extern from *:
    ctypedef long long int128 "__int128"

cdef int64_t _UNITS = 100_000_000
cdef int64_t _U2 = 200_000_000

REFERENCES = ("mid_price", "best_bid", "best_ask", "last_price")
"""The reference prices the gate computes, in the order of its `reference` codes."""


cdef inline int64_t _fdiv(int128 a, int128 b) noexcept:
    """Python's // for b > 0."""
    cdef int128 q = a / b
    if (a % b != 0) and (a < 0):
        q -= 1
    return <int64_t>q


cdef inline int64_t _cdiv(int128 a, int128 b) noexcept:
    """-(-a // b): the ceiling, for b > 0."""
    return -_fdiv(-a, b)


cdef class PmmGate(QuoteGate):
    cdef vector[int64_t] _bid_spread
    cdef vector[int64_t] _bid_size
    cdef vector[int64_t] _ask_spread
    cdef vector[int64_t] _ask_size
    cdef int64_t _min_units
    cdef int64_t _fee_units
    cdef bint _take_if_crossed
    cdef int64_t _refresh_ns
    cdef int _reference
    cdef int64_t _ref2
    cdef public bint record_trades
    cdef public bint requote_on_trades
    # inputs that change on fills and order events (set_inputs)
    cdef public int64_t bid_scale, ask_scale, bid_cap, ask_min, ceiling, floor, pingpong
    # the strategy's memo and deadlines, shared by both paths
    cdef public int64_t last_ref2, last_bb, last_ba
    cdef public bint orders_changed
    cdef public int64_t next_refresh_ns, timer_due_ns, quiet_lo2, quiet_hi2

    def __cinit__(self):
        self.last_ref2 = self.last_bb = self.last_ba = -1
        self.quiet_hi2 = -1
        self.orders_changed = True
        self.ladder_ready = False
        self.bid_scale = self.ask_scale = _UNITS
        self.takes_trades = True
        self.record_trades = True

    def configure_pmm(self, book, list bid_levels, list ask_levels, int64_t min_spread_units, int64_t fee_units,
                      bint take_if_crossed, int64_t min_notional_ticks_lots, int64_t tolerance_units,
                      int64_t max_age_ns, int64_t refresh_ns, str reference) -> None:
        """Levels: (spread units, lots) per level, first level first (QuoteParams); the
        minimum notional as the smallest price_ticks * lots, rounded up; reference one of
        REFERENCES (anything else: `every_update`)."""
        from app.book.orderbook import OrderBook
        self._book = book if isinstance(book, OrderBook) else None
        self._bid_spread.clear()
        self._bid_size.clear()
        self._ask_spread.clear()
        self._ask_size.clear()
        for spread, lots in bid_levels:
            self._bid_spread.push_back(spread)
            self._bid_size.push_back(lots)
        for spread, lots in ask_levels:
            self._ask_spread.push_back(spread)
            self._ask_size.push_back(lots)
        self._min_units = min_spread_units
        self._fee_units = fee_units
        self._take_if_crossed = take_if_crossed
        self._min_notional_tl = min_notional_ticks_lots
        self._tolerance_units = tolerance_units
        self._max_age_ns = max_age_ns
        self._refresh_ns = refresh_ns
        self._reference = REFERENCES.index(reference) if reference in REFERENCES else 0
        self.requote_on_trades = reference == "last_price"
        self._configured = True
        self.dirty = True
        self.ladder_ready = False

    def set_inputs(self, int64_t bid_scale, int64_t ask_scale, int64_t bid_cap, int64_t ask_min, int64_t ceiling,
                   int64_t floor, int64_t pingpong) -> None:
        """compute_quotes' inputs as the strategy computed them; the ladder is ready."""
        self.bid_scale, self.ask_scale = bid_scale, ask_scale
        self.bid_cap, self.ask_min = bid_cap, ask_min
        self.ceiling, self.floor = ceiling, floor
        self.pingpong = pingpong
        self.ladder_ready = True

    # -- the ladder: compute_quotes -----------------------------------------------------
    cdef Py_ssize_t _compute(self, int64_t best_bid, int64_t best_ask) noexcept:
        cdef int64_t ref2 = self._ref2
        cdef Py_ssize_t i
        cdef int64_t price, lots, lowest_ask = 0
        cdef bint bids_on, asks_on
        cdef int64_t fee = self._fee_units, min_units = self._min_units, floor_tl = self._min_notional_tl
        cdef vector[int64_t] ask_price, ask_lots
        self._w_side.clear()
        self._w_price.clear()
        self._w_lots.clear()
        if ref2 <= 0:
            return 0
        bids_on = self.pingpong <= 0 and not (self.ceiling > 0 and ref2 > 2 * self.ceiling)
        asks_on = self.pingpong >= 0 and not (self.floor > 0 and ref2 < 2 * self.floor)
        if asks_on:
            for i in range(<Py_ssize_t>self._ask_spread.size()):
                price = _cdiv(<int128>ref2 * (_UNITS + self._ask_spread[i]), _U2)
                if fee:
                    price = _cdiv(<int128>price * (_UNITS + fee), _UNITS)
                if self.ask_min and price < self.ask_min:
                    price = self.ask_min
                lots = _fdiv(<int128>self._ask_size[i] * self.ask_scale, _UNITS)
                if lots <= 0 or <int128>price * lots < floor_tl:
                    continue
                if best_bid > 0 and price <= best_bid and not self._take_if_crossed:
                    continue
                if min_units >= 0 and (<int128>2 * price - ref2) * _UNITS < <int128>min_units * ref2:
                    continue
                ask_price.push_back(price)
                ask_lots.push_back(lots)
                if lowest_ask == 0 or price < lowest_ask:
                    lowest_ask = price
        if bids_on:
            for i in range(<Py_ssize_t>self._bid_spread.size()):
                price = _fdiv(<int128>ref2 * (_UNITS - self._bid_spread[i]), _U2)
                if fee:
                    price = _fdiv(<int128>price * (_UNITS - fee), _UNITS)
                if self.bid_cap and price > self.bid_cap:
                    price = self.bid_cap
                if lowest_ask and price >= lowest_ask:
                    price = lowest_ask - 1
                lots = _fdiv(<int128>self._bid_size[i] * self.bid_scale, _UNITS)
                if price <= 0 or lots <= 0 or <int128>price * lots < floor_tl:
                    continue
                if best_ask > 0 and price >= best_ask and not self._take_if_crossed:
                    continue
                if min_units >= 0 and (<int128>ref2 - 2 * price) * _UNITS < <int128>min_units * ref2:
                    continue
                self._want(1, price, lots)
        for i in range(<Py_ssize_t>ask_price.size()):
            self._want(-1, ask_price[i], ask_lots[i])
        return self._w_side.size()

    def ladder(self, int64_t ref2, int64_t best_bid, int64_t best_ask) -> list:
        """compute_quotes' answer as (side, price ticks, lots), bids first (tests)."""
        cdef Py_ssize_t i, n
        self._ref2 = ref2
        n = self._compute(best_bid, best_ask)
        return [(self._w_side[i], self._w_price[i], self._w_lots[i]) for i in range(n)]

    # -- the decision: PureMarketMaking._update ------------------------------------------
    cdef int64_t _reference2(self, int64_t bb, int64_t ba) noexcept:
        if self._reference == 1:
            return 2 * bb if bb > 0 else 0
        if self._reference == 2:
            return 2 * ba if ba > 0 else 0
        if self._reference == 3 and self.last_trade_ticks:
            return 2 * self.last_trade_ticks
        return bb + ba if bb > 0 and ba > 0 else 0

    cdef int _decide(self, int64_t now) except -1:
        cdef int64_t bb, ba, ref2
        cdef bint quiet
        if not self._configured or self.callback is None or self._book is None:
            return 0
        if self._book._stale:
            return 0
        if self.every_update:
            return self._call()
        bb = self._book.c_best_bid()
        ba = self._book.c_best_ask()
        ref2 = self._reference2(bb, ba)
        if (ref2 == self.last_ref2 and bb == self.last_bb and ba == self.last_ba and now < self.timer_due_ns
                and (not self.orders_changed or now < self.next_refresh_ns)):
            return 0
        if self.dirty or self.orders_changed:
            return self._call()
        if ref2 <= 0:
            return self._memo(ref2, bb, ba)
        quiet = self.quiet_lo2 <= ref2 <= self.quiet_hi2
        if now < self.next_refresh_ns and now < self.timer_due_ns:
            return self._memo(ref2, bb, ba) if quiet else self._call()
        if now >= self.timer_due_ns or self._refresh_ns > 0 or not self.ladder_ready or not quiet:
            return self._call()
        self._ref2 = ref2
        self._compute(bb, ba)
        if self._same_as_acted():
            return self._memo(ref2, bb, ba)
        if self._plan_is_empty(now, self._tolerance_ticks(ref2)):
            self._remember_acted()  # what the refresh would leave: the wanted ladder, nothing sent
            return self._memo(ref2, bb, ba)
        return self._call()

    cdef int _memo(self, int64_t ref2, int64_t bb, int64_t ba) noexcept:
        """What `_update` remembers on a path that does nothing else."""
        self.last_ref2 = ref2
        self.last_bb = bb
        self.last_ba = ba
        return 0

    cdef int on_depth(self, int64_t ts_ns) except -1:
        return self._decide(ts_ns)

    cdef int _trades(self, const int64_t* price, const int64_t* ts, int64_t last_ts, Py_ssize_t n) except -1:
        if not self.record_trades:
            return 0
        self.last_trade_ticks = price[n - 1]
        if self.requote_on_trades:
            return self._decide(last_ts)
        return 0

# cython: language_level=3
"""Seeded synthetic order flow of a liquid crypto pair, matched by the demo engine.

Measured on the real Binance spot BTCUSDT recordings in /work/shared/data (2024-08-08
23:54 to 2024-08-09 00:05 UTC, ~650 s; tick 0.01, lot 0.00001; figures in ticks/lots):
- spread: 1 tick 89% of the time (p50 1, p90 2; rare blow-outs to hundreds of ticks);
- best bid/ask size: p10 797, p50 114,177, p90 424,768 lots (1.1 BTC typical at the touch);
- depth by tick distance from the best (mean lots): 225,797 | 6,860 | 1,351 | 686 | 485 |
  then 200-900 per tick; tick 1 is occupied 62% of the time, tick 2 24%, ticks 3-19 3-17%:
  a thick touch and a sparse book behind it; 20 levels median ~9,000 lots each;
- trades 30.6/s; trade size p10 9, p50 67, p90 5,761, p99 32,425, mean 2,200 lots;
- the mid moves ~10 times/s by jumps of p10 0.5, p50 26, p90 126, p99 459 ticks (the
  touch is pulled and re-posted further away); 49% of seconds end at the same mid;
  1 s mid change std ~720 ticks, 10 s ~2,500, 60 s ~6,600 (volatile hour); 30 s windows of
  1 s volatility range 244-1,155 ticks: volatility comes in regimes;
- ~460 L2 level changes per second (100 ms diffs).

The model that reproduces those shapes: a latent fair price moving by heavy-tailed
(log-normal, median 200 ticks, ~0.5-1/s) jumps (the observed 26-tick median change
includes the touch flickering; the net moves are rarer and larger) whose rate follows a volatility regime (an
Ornstein-Uhlenbeck log-intensity plus GARCH-like self-excitation from recent jumps).
When the fair price jumps, most crowd orders left on the wrong side are pulled; the rest
are picked off by incoming orders (sweeps). Limit orders arrive around the fair price:
half join the touch (larger, market-maker-like sizes), the rest at distances with a
power-law tail, log-normal sizes. Market orders have log-normal sizes with the measured
median and tail and lean towards stale quotes. Resting crowd orders are cancelled at a
constant hazard (of two random orders the older one goes), and whole levels beyond a
window around the fair price are removed, so the resting book and memory stay bounded.

With the defaults (seed 7, 600 s after a 120 s warm-up, 20 ms steps, sampled every
100 ms) the synthetic market measures: spread 1 tick 96% (p99 129); best size p10 13k,
p50 108k, p90 272k lots; depth by tick 132k | 29k | 1.6k | 1.5k | 0.9k-1.9k, ticks 2+
occupied ~22%; 31 trades/s, size p10 4, p50 203, p90 2.9k, p99 16k, mean 1.2k lots; 1 s
mid change std 542 ticks (49% of seconds unchanged), 10 s 1,840, 60 s 4,600; ~300 level
changes/s. Closer than that is not the goal: the book must look and trade like the pair.

Deterministic for a seed: its own xoshiro256** generator, no Python random, no wall clock.
"""
from libc.math cimport cos, exp, floor, log, pow, sqrt
from libc.stdint cimport INT64_MAX, int64_t, uint64_t
from libcpp.vector cimport vector

from connectors.demo.matching cimport MatchingEngine

cdef double _TWO_PI = 6.283185307179586
cdef int64_t _REGIME_NS = 100_000_000  # volatility regime update period


cdef inline uint64_t _rotl(uint64_t x, int k) noexcept nogil:
    return (x << k) | (x >> (64 - k))


cdef inline uint64_t _splitmix(uint64_t* state) noexcept nogil:
    state[0] += 0x9E3779B97F4A7C15ULL
    cdef uint64_t z = state[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef class CrowdFlow:
    """Generates and matches the crowd's orders, cancels and market orders by simulated time."""

    cdef MatchingEngine engine
    cdef uint64_t s0, s1, s2, s3
    cdef double spare_normal
    cdef bint has_spare
    cdef readonly double fair_ticks
    cdef readonly int64_t t_ns
    cdef readonly int64_t events
    cdef int64_t next_regime_ns
    cdef double log_vol       # OU regime of the log jump intensity
    cdef double excitation    # GARCH-like boost from recent jumps, decays
    cdef vector[int64_t] scratch
    # parameters (rates per second, sizes in lots, distances in ticks)
    cdef public double jump_rate, jump_median, jump_sigma, jump_cap
    cdef public double regime_tau_s, regime_sd, excite_tau_s, excite_gain
    cdef public double limit_rate, touch_prob, next_prob, tail_scale, tail_alpha
    cdef public double touch_size_median, touch_size_sigma, size_median, size_sigma, size_cap
    cdef public double market_rate, market_size_median, market_size_sigma, market_size_cap
    cdef public double cancel_hazard, stale_pull_prob
    cdef public int64_t window_ticks, max_crowd_orders

    def __init__(self, MatchingEngine engine, uint64_t seed, int64_t start_price_ticks,
                 int64_t start_ns=0, **params):
        """`params` override the calibrated defaults by attribute name (e.g. limit_rate=500)."""
        if start_price_ticks <= 0:
            raise ValueError(f"start price must be positive, got {start_price_ticks} ticks")
        self.engine = engine
        cdef uint64_t sm = seed
        self.s0 = _splitmix(&sm)
        self.s1 = _splitmix(&sm)
        self.s2 = _splitmix(&sm)
        self.s3 = _splitmix(&sm)
        self.has_spare = False
        self.fair_ticks = start_price_ticks + 0.5
        self.t_ns = start_ns
        self.events = 0
        self.next_regime_ns = start_ns + _REGIME_NS
        self.log_vol = 0.0
        self.excitation = 0.0
        self.jump_rate = 0.5
        self.jump_median = 200.0
        self.jump_sigma = 1.22
        self.jump_cap = 3000.0
        self.regime_tau_s = 300.0
        self.regime_sd = 0.4
        self.excite_tau_s = 5.0
        self.excite_gain = 0.08   # ~0.4 extra jumps per jump: self-exciting, never explosive
        self.limit_rate = 142.0
        self.touch_prob = 0.35
        self.next_prob = 0.04
        self.tail_scale = 400.0
        self.tail_alpha = 1.0
        self.touch_size_median = 1_500.0
        self.touch_size_sigma = 1.5
        self.size_median = 2_500.0
        self.size_sigma = 1.5
        self.size_cap = 1_000_000.0
        self.market_rate = 15.0
        self.market_size_median = 67.0
        self.market_size_sigma = 2.6
        self.market_size_cap = 300_000.0
        self.cancel_hazard = 0.5
        self.stale_pull_prob = 0.97
        self.window_ticks = 5_000
        self.max_crowd_orders = 50_000
        for name, value in params.items():
            if not hasattr(self, name):
                raise TypeError(f"unknown flow parameter {name!r}")
            setattr(self, name, value)

    # -- random numbers ------------------------------------------------------------------
    cdef inline uint64_t _next(self) noexcept:
        cdef uint64_t result = _rotl(self.s1 * 5, 7) * 9
        cdef uint64_t t = self.s1 << 17
        self.s2 ^= self.s0
        self.s3 ^= self.s1
        self.s1 ^= self.s2
        self.s0 ^= self.s3
        self.s2 ^= t
        self.s3 = _rotl(self.s3, 45)
        return result

    cdef inline double _uniform(self) noexcept:
        """Uniform in (0, 1]: safe for log()."""
        return ((self._next() >> 11) + 1) * (1.0 / 9007199254740992.0)

    cdef inline uint64_t _below(self, uint64_t n) noexcept:
        return self._next() % n

    cdef double _normal(self) noexcept:
        cdef double r, a
        if self.has_spare:
            self.has_spare = False
            return self.spare_normal
        r = sqrt(-2.0 * log(self._uniform()))
        a = _TWO_PI * self._uniform()
        self.spare_normal = r * cos(a + 1.5707963267948966)
        self.has_spare = True
        return r * cos(a)

    cdef inline double _lognormal(self, double median, double sigma, double cap) noexcept:
        cdef double x = median * exp(sigma * self._normal())
        return cap if x > cap else x

    cdef inline int64_t _lots(self, double x) noexcept:
        cdef int64_t q = <int64_t>x
        return 1 if q < 1 else q

    # -- the model -----------------------------------------------------------------------
    cdef double _activity(self) noexcept:
        cdef double a = exp(self.log_vol) * (1.0 + self.excitation)
        return a if a < 20.0 else 20.0   # a hard ceiling keeps a run's cost bounded

    cdef void _update_regime(self) noexcept:
        cdef double dt = _REGIME_NS / 1e9
        cdef double a = exp(-dt / self.regime_tau_s)
        self.log_vol = self.log_vol * a + self.regime_sd * sqrt(1.0 - a * a) * self._normal()
        self.excitation *= exp(-dt / self.excite_tau_s)
        self.next_regime_ns += _REGIME_NS

    cdef void _pull(self, int side, int64_t lo, int64_t hi, double prob) noexcept:
        """Cancels crowd orders on `side` priced in [lo, hi], each with probability `prob`."""
        cdef Py_ssize_t i
        self.scratch.clear()
        self.engine.c_collect_crowd(side, lo, hi, &self.scratch)
        for i in range(<Py_ssize_t>self.scratch.size()):
            if prob >= 1.0 or self._uniform() < prob:
                self.engine.c_cancel(self.scratch[i])
                self.events += 1

    cdef void _jump(self) noexcept:
        cdef double size = self._lognormal(self.jump_median, self.jump_sigma, self.jump_cap)
        if self._next() & 1:
            size = -size
        self.excitation += self.excite_gain * min(abs(size) / self.jump_median, 10.0)
        self._move_fair(size)

    cdef void _move_fair(self, double size) noexcept:
        """Moves the fair price by `size` ticks; the crowd pulls most quotes it left stale."""
        cdef int64_t f
        self.fair_ticks += size
        if self.fair_ticks < 100.0:
            self.fair_ticks = 100.0
        f = <int64_t>floor(self.fair_ticks)
        if size > 0:   # asks at or below the fair price are now stale
            self._pull(-1, 1, f, self.stale_pull_prob)
        elif size < 0:  # bids above it are
            self._pull(1, f + 1, INT64_MAX, self.stale_pull_prob)

    def steer(self, double target_ticks) -> None:
        """Moves the fair price to `target_ticks` now, as a jump would (stale quotes pulled),
        without the self-excitation of a jump: a follower venue's crowd tracks another
        market this way (connectors/demo/follower.py), usually with `jump_rate` 0."""
        if target_ticks != self.fair_ticks:
            self._move_fair(target_ticks - self.fair_ticks)

    cdef void _limit(self) noexcept:
        cdef int side = 1 if self._next() & 1 else -1
        cdef double u = self._uniform()
        cdef int64_t dist, qty, price
        cdef int64_t f = <int64_t>floor(self.fair_ticks)
        if u < self.touch_prob:
            dist = 0
            qty = self._lots(self._lognormal(self.touch_size_median, self.touch_size_sigma, self.size_cap))
        else:
            if u < self.touch_prob + self.next_prob:
                dist = 1
            else:
                dist = 2 + <int64_t>(self.tail_scale * (pow(self._uniform(), -1.0 / self.tail_alpha) - 1.0))
                if dist > self.window_ticks:
                    return
            qty = self._lots(self._lognormal(self.size_median, self.size_sigma, self.size_cap))
        price = f - dist if side == 1 else f + 1 + dist
        if price <= 0:
            return
        self.engine.c_submit(side, 0, price, qty, 0)
        self.events += 1

    cdef void _market(self) noexcept:
        cdef int64_t f = <int64_t>floor(self.fair_ticks)
        cdef int64_t bb = self.engine.c_best(1)
        cdef int64_t ba = self.engine.c_best(-1)
        cdef double p_buy = 0.5
        if ba != 0 and ba <= f:
            p_buy = 0.8
        elif bb != 0 and bb > f:
            p_buy = 0.2
        cdef int side = 1 if self._uniform() < p_buy else -1
        cdef int64_t qty = self._lots(self._lognormal(self.market_size_median, self.market_size_sigma,
                                                      self.market_size_cap))
        self.engine.c_submit(side, 1, 0, qty, 0)
        self.events += 1

    cdef void _cancel_random(self) noexcept:
        cdef uint64_t n = self.engine.crowd.size()
        cdef int64_t a, b
        if n == 0:
            return
        a = self.engine.nodes[self.engine.crowd[self._below(n)]].id
        b = self.engine.nodes[self.engine.crowd[self._below(n)]].id
        self.engine.c_cancel(a if a < b else b)   # ids grow with time: the older one goes
        self.events += 1

    cdef void _trim(self) noexcept:
        """Removes levels beyond the window and enforces the crowd order cap."""
        cdef int64_t f = <int64_t>floor(self.fair_ticks)
        if f - self.window_ticks - 1 >= 1:
            self._pull(1, 1, f - self.window_ticks - 1, 1.0)
        self._pull(-1, f + 1 + self.window_ticks + 1, INT64_MAX, 1.0)
        while <int64_t>self.engine.crowd.size() > self.max_crowd_orders:
            self._cancel_random()

    def step(self, int64_t until_ns) -> int:
        """Generates and matches every crowd event up to `until_ns`; returns how many."""
        cdef int64_t start_events = self.events
        cdef double act, r_jump, r_limit, r_market, r_cancel, total, u
        cdef int64_t dt
        while True:
            act = self._activity()
            r_jump = self.jump_rate * act
            r_limit = self.limit_rate * (0.5 + 0.5 * act)
            r_market = self.market_rate * (0.5 + 0.5 * act)
            r_cancel = self.cancel_hazard * self.engine.crowd.size()
            total = r_jump + r_limit + r_market + r_cancel
            dt = <int64_t>(-log(self._uniform()) / total * 1e9) + 1
            if self.t_ns + dt > self.next_regime_ns and self.next_regime_ns <= until_ns:
                # Rates change at the regime boundary; exponential gaps are memoryless, so
                # restarting the draw there keeps the process exact.
                self.t_ns = self.next_regime_ns
                self._update_regime()
                continue
            if self.t_ns + dt > until_ns:
                break
            self.t_ns += dt
            self.engine.now_ns = self.t_ns
            u = self._uniform() * total
            if u < r_limit:
                self._limit()
            elif u < r_limit + r_cancel:
                self._cancel_random()
            elif u < r_limit + r_cancel + r_market:
                self._market()
            else:
                self._jump()
        if until_ns > self.t_ns:
            self.t_ns = until_ns
        self.engine.now_ns = self.t_ns
        self._trim()
        return self.events - start_events

    @property
    def volatility_multiplier(self) -> float:
        """Current intensity multiplier of price jumps (1 = the calibrated average regime)."""
        return self._activity()

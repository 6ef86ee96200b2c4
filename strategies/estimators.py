"""Market estimators for model-based quoting: volatility from sampled mids, and the order
book's trading intensity from trade prints. Pure (no clock, no venue): the strategy feeds
them, so tests can feed hand-made series and check the numbers.

Both work in the market's price units and seconds, in binary floats: they are statistics
that only shape a quote, never money; prices leave the strategy as integer ticks.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np

_NS = 1_000_000_000
_BLOCK = 128  # numpy's pairwise summation block (PW_BLOCKSIZE)
# The fit's sums: which term `_term` gives.
_W = 0
_WX = 1
_WY = 2
_WDX2 = 3
_WDXDY = 4


def _term(kind: int, i: int, x: list, w: list, y: list, x_mean: float, y_mean: float) -> float:
    """Term i of one of the fit's sums, as numpy's element-wise expression computes it."""
    weight = w[i]
    if kind == _W:
        return weight
    if kind == _WY:
        value = y[i]
        return weight * value
    level = x[i]
    if kind == _WX:
        return weight * level
    dx = level - x_mean
    if kind == _WDX2:
        return weight * (dx * dx)
    value = y[i]
    return weight * dx * (value - y_mean)


def _pairwise(kind: int, start: int, n: int, x: list, w: list, y: list, x_mean: float, y_mean: float) -> float:
    """The sum of terms start..start+n-1 in numpy's order (`np.add.reduce` of a float64
    array: pairwise, eight running sums per block of up to 128), so the fit is bit for bit
    the one numpy gives, without building a dozen arrays for a few dozen numbers."""
    if n < 8:
        total = -0.0
        for i in range(start, start + n):
            total += _term(kind, i, x, w, y, x_mean, y_mean)
        return total
    if n <= _BLOCK:
        r0 = _term(kind, start, x, w, y, x_mean, y_mean)
        r1 = _term(kind, start + 1, x, w, y, x_mean, y_mean)
        r2 = _term(kind, start + 2, x, w, y, x_mean, y_mean)
        r3 = _term(kind, start + 3, x, w, y, x_mean, y_mean)
        r4 = _term(kind, start + 4, x, w, y, x_mean, y_mean)
        r5 = _term(kind, start + 5, x, w, y, x_mean, y_mean)
        r6 = _term(kind, start + 6, x, w, y, x_mean, y_mean)
        r7 = _term(kind, start + 7, x, w, y, x_mean, y_mean)
        i = start + 8
        stop = start + n - n % 8
        while i < stop:
            r0 += _term(kind, i, x, w, y, x_mean, y_mean)
            r1 += _term(kind, i + 1, x, w, y, x_mean, y_mean)
            r2 += _term(kind, i + 2, x, w, y, x_mean, y_mean)
            r3 += _term(kind, i + 3, x, w, y, x_mean, y_mean)
            r4 += _term(kind, i + 4, x, w, y, x_mean, y_mean)
            r5 += _term(kind, i + 5, x, w, y, x_mean, y_mean)
            r6 += _term(kind, i + 6, x, w, y, x_mean, y_mean)
            r7 += _term(kind, i + 7, x, w, y, x_mean, y_mean)
            i += 8
        total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < start + n:
            total += _term(kind, i, x, w, y, x_mean, y_mean)
            i += 1
        return total
    half = n // 2
    half -= half % 8
    return (_pairwise(kind, start, half, x, w, y, x_mean, y_mean)
            + _pairwise(kind, start + half, n - half, x, w, y, x_mean, y_mean))


def pairwise_sum(values: list) -> float:
    """`np.sum` of a list of floats, bit for bit (the order `_pairwise` keeps)."""
    return _pairwise(_W, 0, len(values), [], values, [], 0.0, 0.0)



def _count_in(distances: list, scale: float | None, memo: dict, kept: deque, counts: dict, size: int) -> None:
    """IntensityEstimator.add_many's loop: each print's distance rounded (through `memo`),
    appended to `kept` (a deque of `size` at most) and counted in `counts`, the print the
    deque drops counted out. Typed dicts when compiled (estimators.pxd)."""
    held = len(kept)
    append = kept.append
    for distance in distances:
        rounded = memo.get(distance)
        if rounded is None:
            rounded = memo[distance] = round(abs(distance if scale is None else distance * scale), 9)
        if held == size:  # the deque drops its oldest print: so does the count
            oldest = kept[0]
            left = counts[oldest] - 1
            if left:
                counts[oldest] = left
            else:
                del counts[oldest]
        else:
            held += 1
        append(rounded)
        counts[rounded] = counts.get(rounded, 0) + 1



def _weighted_fit(counts: dict, seconds: float) -> tuple[float, float] | None:
    """IntensityEstimator.fit's numbers: the distinct distances in increasing order and
    their counts (np.unique's answer, kept up to date print by print), then the weighted
    least squares in numpy's order: np.log on the array, the sums of a few dozen terms in
    `_pairwise` (C doubles when compiled: estimators.pxd). None when kappa <= 0."""
    levels = sorted(counts)
    n = len(levels)
    w = [0.0] * n  # prints at distance >= level
    running = 0
    for i in range(n - 1, -1, -1):
        running += counts[levels[i]]
        w[i] = float(running)
    y = np.log(np.array(w, dtype=np.float64) / seconds).tolist()
    total = _pairwise(_W, 0, n, levels, w, y, 0.0, 0.0)
    x_mean = _pairwise(_WX, 0, n, levels, w, y, 0.0, 0.0) / total
    y_mean = _pairwise(_WY, 0, n, levels, w, y, 0.0, 0.0) / total
    spread = _pairwise(_WDX2, 0, n, levels, w, y, x_mean, y_mean)
    if spread <= 0:
        return None
    slope = _pairwise(_WDXDY, 0, n, levels, w, y, x_mean, y_mean) / spread
    kappa = -slope
    if not math.isfinite(kappa) or kappa <= 0:
        return None
    return (math.exp(y_mean + kappa * x_mean), kappa)


class VolatilityEstimator:
    """sigma, in price per square root of a second, over the last `size` mid samples.

    sigma^2 = sum of squared mid changes / seconds between the first and last sample
    (realised variance per second). Samples are meant to come once a second, but a gap (a
    stale book, a missing side) only lengthens the interval it falls in instead of breaking
    the units. The sums are kept running, so reading sigma costs nothing on a book update.
    """

    def __init__(self, size: int) -> None:
        if size < 2:
            raise ValueError("the volatility buffer needs at least 2 samples")
        self.size = size
        self._samples: deque[tuple[int, float]] = deque()  # (ts_ns, mid)
        self._sq: deque[float] = deque()  # squared change from the previous sample
        self._sum_sq = 0.0
        self._adds = 0

    def __len__(self) -> int:
        return len(self._samples)

    @property
    def is_full(self) -> bool:
        return len(self._samples) >= self.size

    def clear(self) -> None:
        self._samples.clear()
        self._sq.clear()
        self._sum_sq = 0.0

    def resize(self, size: int) -> None:
        if size < 2:
            raise ValueError("the volatility buffer needs at least 2 samples")
        self.size = size
        self._trim()

    def add(self, ts_ns: int, mid: float) -> None:
        if self._samples:
            last_ts, last_mid = self._samples[-1]
            if ts_ns <= last_ts:
                return  # one sample per instant: a repeated timer tick adds nothing
            change = (mid - last_mid) ** 2
            self._sq.append(change)
            self._sum_sq += change
        self._samples.append((ts_ns, mid))
        self._trim()
        self._adds += 1
        if self._adds % 4096 == 0:  # running float sums drift: recount now and then
            self._sum_sq = math.fsum(self._sq)

    def _trim(self) -> None:
        while len(self._samples) > self.size:
            self._samples.popleft()
            self._sum_sq -= self._sq.popleft()

    def sigma(self) -> float | None:
        """Price per sqrt(second); None until at least two samples span some time."""
        if len(self._samples) < 2:
            return None
        seconds = (self._samples[-1][0] - self._samples[0][0]) / _NS
        if seconds <= 0:
            return None
        return math.sqrt(max(self._sum_sq, 0.0) / seconds)


class IntensityEstimator:
    """The rate at which a quote `delta` away from the mid gets hit: lambda(delta) = A exp(-kappa delta).

    A print at distance d from the mid means a resting order anywhere up to d would have
    traded, so lambda(delta) is estimated as (prints at distance >= delta) / seconds
    covered by the buffer, at each distance seen, and ln lambda = ln A - kappa delta is fitted
    by least squares weighted by the number of prints behind each point (the far tail rests
    on a handful of prints and must not steer the slope). kappa is per price unit, A per
    second. Distances are kept to the nearest 1e-9 of a price unit, so prints at the same
    price share one point.
    """

    def __init__(self, size: int) -> None:
        if size < 2:
            raise ValueError("the trading intensity buffer needs at least 2 trades")
        self.size = size
        self._ts: deque[int] = deque(maxlen=size)
        self._distance: deque[float] = deque(maxlen=size)
        self._counts: dict[float, int] = {}  # prints per distance in the buffer (what np.unique would count)
        self._rounded: dict[float, float] = {}  # distance -> rounded: prints repeat a handful of distances
        self._rounded_scale: float | None = None  # the unit of the memo's keys (None: price units)
        self._fit: tuple[float, float] | None = None
        self._dirty = False

    def __len__(self) -> int:
        return len(self._distance)

    @property
    def is_full(self) -> bool:
        return len(self._distance) >= self.size

    def clear(self) -> None:
        self._ts.clear()
        self._distance.clear()
        self._counts.clear()
        self._fit = None
        self._dirty = False

    def resize(self, size: int) -> None:
        if size < 2:
            raise ValueError("the trading intensity buffer needs at least 2 trades")
        self.size = size
        self._ts = deque(self._ts, maxlen=size)
        self._distance = deque(self._distance, maxlen=size)
        self._recount()
        self._dirty = True

    def _recount(self) -> None:
        counts: dict[float, int] = {}
        for distance in self._distance:
            counts[distance] = counts.get(distance, 0) + 1
        self._counts = counts

    def add(self, ts_ns: int, distance: float) -> None:
        self.add_many([int(ts_ns)], [distance])

    def add_many(self, ts_ns: list[int], distances: list, scale: float | None = None) -> None:
        """`add` for each pair, in order (one call for a batch of prints). With `scale`,
        `distances` are in units of `scale` (each print's distance is `d * scale`): a
        caller with integer distances (half ticks) skips building the float list."""
        if not ts_ns:
            return
        kept, counts, size = self._distance, self._counts, self.size
        if scale is not None and scale != self._rounded_scale:
            self._rounded.clear()
            self._rounded_scale = scale
        elif scale is None and self._rounded_scale is not None:
            self._rounded.clear()
            self._rounded_scale = None
        memo = self._rounded  # distance (as given) -> rounded distance
        if len(memo) >= 65_536:  # bounded: a long run sees ever new distances
            memo.clear()
        _count_in(distances if type(distances) is list else list(distances), scale, memo, kept, counts, size)
        self._ts.extend(ts_ns)
        self._dirty = True

    def fit(self) -> tuple[float, float] | None:
        """(A, kappa), refitted only after new prints; None while fewer than two distinct
        distances were seen or the prints do not thin out with distance (kappa <= 0)."""
        if not self._dirty:
            return self._fit
        self._dirty = False
        self._fit = None
        if len(self._distance) < 2:
            return None
        if len(self._counts) < 2:
            return None
        seconds = max((self._ts[-1] - self._ts[0]) / _NS, 1.0)
        self._fit = _weighted_fit(self._counts, seconds)
        return self._fit

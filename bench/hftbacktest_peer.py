"""hftbacktest 2.4.x as the replay bench's peer: the same recordings, the same quoting rule.

hftbacktest (Rust core, numba strategies) is the fastest open-source market-making
backtester we know of, so it is the yardstick for `python -m bench replay`. It is an
optional dependency (the `peers` extra, installed by `make bench`); without it the bench
says so and fails rather than printing a ratio against nothing.

Data: hftbacktest has no Binance *spot* converter. Its futures converter reads the same
raw line format (`<local ns> <combined-stream JSON>`) once depth messages and the REST
snapshot carry a transaction time `T` (we use the event time `E`; a snapshot has neither,
so it gets the next message's `E`) and trades carry `X: "MARKET"`. The converted arrays
are cached next to our own event cache, so neither side pays for parsing in the timings.

The rule both sides run (the replay bench's "pure market making"): on every market
message, one bid and one ask of `amount` at mid -+ `spread_bps` (bid rounded down, ask
up, never crossing the book: post-only), an order kept while its price is within
`tolerance_bps` of the wanted one and it is younger than `max_age_s`, otherwise cancelled
and replaced; a 20 ms order and cancel latency each way; maker fee on fills. Fills follow
hftbacktest's PowerProbQueueModel(2) there and our queue-position model here, so the fill
counts differ a little; the work per event is the same.
"""
from __future__ import annotations

import gzip
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

try:  # the optional peer
    from hftbacktest import GTX, LIMIT, BacktestAsset, HashMapMarketDepthBacktest
    from hftbacktest.data.utils import binancefutures
    from hftbacktest.types import DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT, TRADE_EVENT
    from numba import njit

    MISSING: str | None = None
except ImportError as exc:  # pragma: no cover - depends on the environment
    MISSING = f"hftbacktest is not installed ({exc}); install the peers extra: pip install -e '.[peers]' (make bench does)"

_UNITS = 10**8  # fractions of the price in units of 1e-8, as strategies/simple_quoter.py


def version() -> str:
    from importlib.metadata import version as installed

    return installed("hftbacktest")


def spot_as_futures_lines(path: Path) -> list[bytes]:
    """The recording's lines with the fields hftbacktest's futures converter requires."""
    import orjson

    raw = [line for line in gzip.open(path, "rb").read().splitlines() if line.strip()]
    out: list[bytes] = []
    pending_snapshot: list[tuple[bytes, dict[str, Any]]] = []
    for line in raw:
        stamp, _, text = line.partition(b" ")
        message = orjson.loads(text)
        data = message.get("data")
        if data is None:  # the REST snapshot: stamped with the next message's exchange time
            pending_snapshot.append((stamp, message))
            continue
        kind = data.get("e")
        if kind == "depthUpdate":
            data["T"] = data["E"]
        elif kind == "trade":
            data["X"] = "MARKET"
        else:
            continue  # spot bookTickers carry no event type (the converter needs one); unused here
        for snap_stamp, snapshot in pending_snapshot:
            snapshot["T"] = data["E"]
            out.append(snap_stamp + b" " + orjson.dumps(snapshot))
        pending_snapshot.clear()
        out.append(stamp + b" " + orjson.dumps(message))
    return out


def converted(paths: list[Path], cache_dir: Path) -> list[np.ndarray]:
    """hftbacktest event arrays for the recordings (converted once, then cached as .npy)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    arrays = []
    for path in paths:
        target = cache_dir / f"{path.name}.hftbacktest.npy"
        if not target.is_file() or target.stat().st_mtime < path.stat().st_mtime:
            staging = cache_dir / f"{path.name}.futures-shaped.gz"
            with gzip.open(staging, "wb") as handle:
                handle.write(b"\n".join(spot_as_futures_lines(path)) + b"\n")
            data = binancefutures.convert(str(staging), buffer_size=5_000_000)
            staging.unlink()
            tmp = target.with_suffix(".tmp.npy")
            np.save(tmp, data)
            os.replace(tmp, target)
        arrays.append(np.load(target))
    return arrays


def market_events(arrays: list[np.ndarray]) -> int:
    """Depth, snapshot and trade rows: what our bench counts (level rows and trade rows)."""
    total = 0
    for data in arrays:
        kind = data["ev"] & 0xFF
        total += int(np.count_nonzero((kind == DEPTH_EVENT) | (kind == DEPTH_SNAPSHOT_EVENT) | (kind == TRADE_EVENT)))
    return total


if MISSING is None:

    @njit(cache=True)
    def _keep_or_replace(hbt, bid: int, ask: int, tolerance: int, now: int, max_age_ns: int, amount: float,
                         tick: float, next_id: int) -> tuple:
        """The rule's reconciliation, shared by both numba strategies (as plan_orders is ours):
        an order is kept while within `tolerance` ticks of the wanted price and younger than
        `max_age_ns` (or while it cannot be cancelled), else cancelled; a side without one
        gets a post-only order. Returns (next order id, submitted, cancelled)."""
        have_bid = False
        have_ask = False
        submitted = 0
        cancelled = 0
        values = hbt.orders(0).values()
        while values.has_next():
            order = values.get()
            if order.status != 1 and order.status != 5:  # NEW, PARTIALLY_FILLED
                continue
            wanted = bid if order.side == 1 else ask
            if not order.cancellable or (abs(order.price_tick - wanted) <= tolerance
                                         and now - order.local_timestamp < max_age_ns):
                if order.side == 1:
                    have_bid = True
                else:
                    have_ask = True
            else:
                hbt.cancel(0, order.order_id, False)
                cancelled += 1
        if not have_bid:
            hbt.submit_buy_order(0, next_id, bid * tick, amount, GTX, LIMIT, False)
            next_id += 1
            submitted += 1
        if not have_ask:
            hbt.submit_sell_order(0, next_id, ask * tick, amount, GTX, LIMIT, False)
            next_id += 1
            submitted += 1
        hbt.clear_inactive_orders(0)
        return next_id, submitted, cancelled


if MISSING is None:

    @njit(cache=True)
    def _quote(hbt, spread_units: int, tolerance_units: int, max_age_ns: int, amount: float) -> tuple:
        """The rule, as a numba strategy: one reaction per market message."""
        tick = hbt.depth(0).tick_size
        next_id = 1
        feeds = 0
        submitted = 0
        cancelled = 0
        while True:
            code = hbt.wait_next_feed(False, 60_000_000_000)
            if code == 1:
                break
            if code != 2:
                continue
            feeds += 1
            depth = hbt.depth(0)
            best_bid = depth.best_bid_tick
            best_ask = depth.best_ask_tick
            if best_bid <= 0 or best_ask <= 0 or best_bid >= best_ask:
                continue
            mid2 = best_bid + best_ask
            bid = mid2 * (_UNITS - spread_units) // (2 * _UNITS)
            ask = -(-mid2 * (_UNITS + spread_units) // (2 * _UNITS))
            bid = min(bid, best_ask - 1)
            ask = max(ask, best_bid + 1)
            if bid >= ask:
                bid = ask - 1
            tolerance = mid2 * tolerance_units // (2 * _UNITS)
            now = hbt.current_timestamp
            next_id, sent, dropped = _keep_or_replace(hbt, bid, ask, tolerance, now,
                                                      max_age_ns, amount, tick, next_id)
            submitted += sent
            cancelled += dropped
        return feeds, submitted, cancelled, hbt.position(0), hbt.state_values(0).num_trades


if MISSING is None:

    @njit(cache=True)
    def _kappa(distance: np.ndarray, dts: np.ndarray, n: int) -> float:
        """strategies/estimators.py IntensityEstimator.fit on the ring's n prints: the
        survival (prints at distance >= d) per second at each distinct distance, ln of it
        fitted on d by least squares weighted by that count; kappa = -slope (0: none)."""
        levels = np.sort(distance[:n])
        uniq = np.empty(n)
        counts = np.empty(n)
        m = 0
        for i in range(n):
            if m and levels[i] == uniq[m - 1]:
                counts[m - 1] += 1.0
            else:
                uniq[m] = levels[i]
                counts[m] = 1.0
                m += 1
        if m < 2:
            return 0.0
        at_least = np.empty(m)
        total = 0.0
        for i in range(m - 1, -1, -1):
            total += counts[i]
            at_least[i] = total
        seconds = max((dts.max() - dts[:n].min()) / 1e9, 1.0)
        w_sum = wx = wy = 0.0
        for i in range(m):
            y = np.log(at_least[i] / seconds)
            w_sum += at_least[i]
            wx += at_least[i] * uniq[i]
            wy += at_least[i] * y
        x_mean, y_mean = wx / w_sum, wy / w_sum
        spread = cov = 0.0
        for i in range(m):
            dx = uniq[i] - x_mean
            spread += at_least[i] * dx * dx
            cov += at_least[i] * dx * (np.log(at_least[i] / seconds) - y_mean)
        if spread <= 0.0:
            return 0.0
        kappa = -cov / spread
        return kappa if kappa > 0.0 else 0.0

    @njit(cache=True)
    def _avellaneda(hbt, gamma: float, horizon_s: float, min_spread_frac: float, vol_size: int, int_size: int,
                    tolerance_units: int, max_age_ns: int, amount: float, base0: float, quote0: float) -> tuple:
        """The Avellaneda-Stoikov rule with the estimates strategies/avellaneda_stoikov.py
        makes: a mid sample each second (sigma^2 = squared changes over the samples' span),
        kappa fitted each second on the last prints' distances to the mid before them, q
        from the inventory (start balances + position and cash, fee included) against a 50%
        target, re-read each second and after fills; quotes r -+ spread / 2 with
        r = mid - q gamma sigma^2 T and spread = max(gamma sigma^2 T + 2/gamma ln(1 + gamma/kappa),
        min_spread x mid), bid down and ask up to ticks, post-only; each side kept within
        the tolerance and max age, else cancelled and replaced, on every market message."""
        tick = hbt.depth(0).tick_size
        half_tick = tick / 2
        vol_ts = np.zeros(vol_size, np.int64)
        vol_mid = np.zeros(vol_size)
        vol_n = 0
        dist = np.zeros(int_size)
        dist_ts = np.zeros(int_size, np.int64)
        int_n = 0
        int_pos = 0
        next_id = 1
        submitted = 0
        cancelled = 0
        next_sample = -1  # the first market message's time
        last_mid2 = 0
        sigma = -1.0
        kappa = 0.0
        q = 0.0
        seen_trades = -1
        while True:
            code = hbt.wait_next_feed(False, 60_000_000_000)
            if code == 1:
                break
            if code != 2:
                continue
            now = hbt.current_timestamp
            trades = hbt.last_trades(0)
            if last_mid2 > 0:
                for t in range(len(trades)):
                    d = abs(2.0 * round(trades[t].px / tick) - last_mid2) * half_tick
                    dist[int_pos] = round(d * 1e9) / 1e9
                    dist_ts[int_pos] = trades[t].local_ts
                    int_pos = (int_pos + 1) % int_size
                    int_n = min(int_n + 1, int_size)
            hbt.clear_last_trades(0)
            depth = hbt.depth(0)
            best_bid = depth.best_bid_tick
            best_ask = depth.best_ask_tick
            if best_bid <= 0 or best_ask <= 0 or best_bid >= best_ask:
                continue
            mid2 = best_bid + best_ask
            last_mid2 = mid2
            mid = mid2 * half_tick
            state = hbt.state_values(0)
            if next_sample < 0:
                next_sample = now
            if now >= next_sample or state.num_trades != seen_trades:
                if now >= next_sample:
                    next_sample += 1_000_000_000
                    if vol_n == vol_size:
                        vol_ts[:-1] = vol_ts[1:]
                        vol_mid[:-1] = vol_mid[1:]
                        vol_n -= 1
                    vol_ts[vol_n] = now
                    vol_mid[vol_n] = mid
                    vol_n += 1
                    if vol_n >= 2 and vol_ts[vol_n - 1] > vol_ts[0]:
                        sq = 0.0
                        for i in range(1, vol_n):
                            sq += (vol_mid[i] - vol_mid[i - 1]) ** 2
                        sigma = np.sqrt(sq / ((vol_ts[vol_n - 1] - vol_ts[0]) / 1e9))
                    if int_n == int_size:
                        fit = _kappa(dist, dist_ts, int_n)
                        if fit > 0.0:
                            kappa = fit
                seen_trades = state.num_trades
                base = base0 + state.position
                quote = quote0 + state.balance - state.fee
                total = base + quote / mid
                q = 0.0 if total <= 0 else min(1.0, max(-1.0, (base - total * 0.5) / total))
            if vol_n < vol_size or int_n < int_size or kappa <= 0.0 or sigma < 0.0:
                continue
            shift = q * gamma * sigma * sigma * horizon_s
            spread = max(gamma * sigma * sigma * horizon_s + (2.0 / gamma) * np.log1p(gamma / kappa),
                         mid * min_spread_frac)
            r = mid - shift
            bid = int(np.floor((r - spread / 2) / tick + 1e-9))
            ask = int(np.ceil((r + spread / 2) / tick - 1e-9))
            bid = min(bid, best_ask - 1)
            ask = max(ask, best_bid + 1)
            if bid >= ask:
                bid = ask - 1
            tolerance = mid2 * tolerance_units // (2 * _UNITS)
            next_id, sent, dropped = _keep_or_replace(hbt, bid, ask, tolerance, now,
                                                      max_age_ns, amount, tick, next_id)
            submitted += sent
            cancelled += dropped
        return submitted, cancelled, hbt.position(0), hbt.state_values(0).num_trades, vol_n, int_n, kappa, sigma


def run_avellaneda(arrays: list[np.ndarray], *, tick: float, lot: float, gamma: float, horizon_s: float,
                   min_spread_bps: float, vol_size: int, int_size: int, tolerance_bps: float, max_age_s: float,
                   amount: float, base0: float, quote0: float, latency_ns: int, maker_fee: float,
                   taker_fee: float) -> dict[str, Any]:
    """One full Avellaneda-Stoikov backtest (numba's compilation excluded, as `run`)."""
    def build(data: list[np.ndarray]):
        asset = (BacktestAsset().data(data).linear_asset(1.0).constant_latency(latency_ns, latency_ns)
                 .power_prob_queue_model(2.0).no_partial_fill_exchange()
                 .trading_value_fee_model(maker_fee, taker_fee).tick_size(tick).lot_size(lot)
                 .last_trades_capacity(10_000))
        return HashMapMarketDepthBacktest([asset])

    args = (gamma, horizon_s, min_spread_bps / 10_000, vol_size, int_size, int(tolerance_bps * 10_000),
            int(max_age_s * 1e9), amount, base0, quote0)
    warm = build([arrays[0][:20_000]])
    _avellaneda(warm, *args)
    warm.close()
    start = time.perf_counter()
    hbt = build(arrays)
    submitted, cancelled, position, fills, samples, prints, kappa, sigma = _avellaneda(hbt, *args)
    seconds = time.perf_counter() - start
    hbt.close()
    return {"seconds": seconds, "submitted": submitted, "cancelled": cancelled, "position": position,
            "fills": fills, "samples": samples, "prints": prints, "kappa": kappa, "sigma": sigma}


def run(arrays: list[np.ndarray], *, tick: float, lot: float, spread_bps: float, tolerance_bps: float,
        max_age_s: float, amount: float, latency_ns: int, maker_fee: float, taker_fee: float) -> dict[str, Any]:
    """One full backtest to the end of the data; seconds exclude numba's compilation (a
    warm-up run on a short slice compiles first)."""
    def build(data: list[np.ndarray]):
        asset = (
            BacktestAsset()
            .data(data)
            .linear_asset(1.0)
            .constant_latency(latency_ns, latency_ns)
            .power_prob_queue_model(2.0)
            .no_partial_fill_exchange()
            .trading_value_fee_model(maker_fee, taker_fee)
            .tick_size(tick)
            .lot_size(lot)
        )
        return HashMapMarketDepthBacktest([asset])

    args = (int(spread_bps * 10_000), int(tolerance_bps * 10_000), int(max_age_s * 1e9), amount)
    warm = build([arrays[0][:20_000]])
    _quote(warm, *args)
    warm.close()
    start = time.perf_counter()
    hbt = build(arrays)
    feeds, submitted, cancelled, position, fills = _quote(hbt, *args)
    seconds = time.perf_counter() - start
    hbt.close()
    return {"seconds": seconds, "feeds": feeds, "submitted": submitted, "cancelled": cancelled,
            "position": position, "fills": fills}


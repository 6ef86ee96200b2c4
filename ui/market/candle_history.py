"""Candle history for the candle view: asked of the feed, merged with the live candles.

Qt-free (tested without a display). The feed knows its past (MarketFeed.fetch_candles:
an exchange's klines, a recording's trades before the replay position); the view's own
CandleBuilder knows what it saw live. `merge` puts the two together by candle start: the
live candle wins wherever both have one, so the candle during which the chart was opened
(history counted part of it, live the rest) is never counted twice, and history fills
every interval the live candles lack: before the first one, and the gaps while the market
was not shown. `HistoryLoader` runs the request as a task on the running asyncio loop
(qasync's, in the app): never on the GUI thread's time, one request per source or
interval change, and a late answer for a source or interval no longer shown is dropped.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from app.data import candles
from app.data.candles import NoCandleHistory

if TYPE_CHECKING:
    from app.interfaces.venue import MarketFeed
    from ui.market.candle_builder import CandleBuilder

log = logging.getLogger(__name__)

HISTORY_LIMIT = 1000
"""Candles asked for: one exchange request (Binance's klines cap)."""
_NS = 1_000_000_000


@dataclass(frozen=True)
class CandleSeries:
    """What the chart draws: the read API of CandleBuilder (starts, OHLC in ticks, volumes
    in lots; buy_volume UNKNOWN (-1) where the venue did not say), oldest first."""

    interval_ns: int
    start_ns: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    buy_volume: np.ndarray
    from_history: int  # rows that came from history

    def __len__(self) -> int:
        return len(self.start_ns)


def merge(history: np.ndarray, builder: "CandleBuilder", capacity: int | None = None) -> CandleSeries:
    """Live candles plus the history candles at starts the live ones do not have; the
    newest `capacity` (the builder's by default). `history`: CANDLE_DTYPE of the builder's
    interval, oldest first."""
    live_start = builder.start_ns
    capacity = builder.capacity if capacity is None else capacity
    if len(history):
        history = history[~np.isin(history["ts_ns"], live_start)]
    if not len(history):
        return _series(builder.interval_ns, live_start, builder.open, builder.high, builder.low, builder.close,
                       builder.volume, builder.buy_volume, 0, capacity)
    start = np.concatenate((history["ts_ns"], live_start))
    order = np.argsort(start, kind="stable")
    columns = [np.concatenate((history[name], live))[order] for name, live in (
        ("open", builder.open), ("high", builder.high), ("low", builder.low), ("close", builder.close),
        ("volume", builder.volume), ("buy_volume", builder.buy_volume))]
    kept = min(capacity, len(start))
    from_history = int(np.count_nonzero(order[len(start) - kept:] < len(history)))
    return _series(builder.interval_ns, start[order], *columns, from_history, capacity)


def _series(interval_ns: int, start: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray,
            v: np.ndarray, bv: np.ndarray, from_history: int, capacity: int) -> CandleSeries:
    cut = max(0, len(start) - capacity)
    return CandleSeries(interval_ns, start[cut:], o[cut:], h[cut:], lo[cut:], c[cut:], v[cut:], bv[cut:],
                        from_history)


async def fetch_history(feed: "MarketFeed", interval_ns: int, limit: int = HISTORY_LIMIT) -> tuple[np.ndarray, str]:
    """(candles, one line for the info label); never raises but for cancellation."""
    try:
        found = await feed.fetch_candles(interval_ns // _NS, None, limit)
    except asyncio.CancelledError:
        raise
    except NoCandleHistory as exc:
        return candles.empty(), f"no history: {exc}"
    except Exception as exc:  # noqa: BLE001 - a venue's bug must not reach the GUI loop
        log.exception("%s: candle history failed", feed.name)
        text = " ".join(str(exc).split())[:120]
        return candles.empty(), f"no history: {type(exc).__name__}: {text}"
    if found.dtype != candles.CANDLE_DTYPE:
        return candles.empty(), f"no history: {feed.name} answered {found.dtype}, not candles"
    if not len(found):
        return found, f"history: none from {feed.name}"
    return found, f"history: {len(found)} candles from {feed.name}"


def short(note: str, width: int = 70) -> str:
    """The note as the info label shows it (the whole of it goes in the tooltip)."""
    return note if len(note) <= width else note[:width - 1] + "…"


Done = Callable[[np.ndarray, str], None]


class HistoryLoader:
    """One history request at a time for one view; `on_done(candles, note)` runs on the loop."""

    def __init__(self, on_done: Done) -> None:
        self._on_done = on_done
        self._task: asyncio.Task | None = None
        self._wanted: tuple[int, int] | None = None  # (id of the feed, interval) asked for

    @property
    def loading(self) -> bool:
        return self._task is not None and not self._task.done()

    def request(self, feed: "MarketFeed", interval_ns: int) -> bool:
        """Starts loading (a previous request is cancelled); False when no asyncio loop runs
        (a test or tool without qasync): the chart then shows live candles only."""
        self.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        self._wanted = (id(feed), interval_ns)
        self._task = loop.create_task(self._load(feed, interval_ns))
        return True

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None
        self._wanted = None

    async def _load(self, feed: "MarketFeed", interval_ns: int) -> None:
        found, note = await fetch_history(feed, interval_ns)
        if self._wanted == (id(feed), interval_ns):  # still what the view shows
            self._task = None
            self._wanted = None
            self._on_done(found, note)

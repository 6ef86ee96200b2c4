"""Keeps a local book in step with Binance depth diffs and REST snapshots.

Binance's documented procedure for a local order book: buffer the diff stream, fetch a
snapshot, drop buffered diffs already contained in it (u <= lastUpdateId), and apply the
rest in order; the first applied diff must bracket the snapshot (U <= lastUpdateId + 1 <= u)
and every later one must continue the previous: U == previous u + 1 on spot, pu ==
previous u on USD-M futures (whose ids are not contiguous). A break in that chain means
lost data: the book is marked stale and a new snapshot is needed. A gap never raises:
it is an expected network event that the feed reports and recovers from.

Diffs arrive as array slices (sides int8, prices/qtys int64, C-contiguous), so a whole
message is one batched call into the Cython book. The steady state (in sync, the diff
continues the chain) is a short path at the top of `on_diff`; everything else (buffering,
the first diff after a snapshot, stale drops, gaps) goes through the full rules.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from app.book.orderbook import OrderBook


class SyncStatus(IntEnum):
    APPLIED = 1  # applied to the book (for on_snapshot: the book is in sync)
    BUFFERED = 2  # kept until a snapshot arrives
    STALE_DROPPED = 3  # already contained in the book (u <= last applied id)
    GAP = 4  # the chain broke: book marked stale, a snapshot is needed


_APPLIED = SyncStatus.APPLIED  # module constants: cheaper than enum attribute look-ups per diff
_BUFFERED = SyncStatus.BUFFERED
_STALE_DROPPED = SyncStatus.STALE_DROPPED
_GAP = SyncStatus.GAP


@dataclass
class _Diff:
    first_id: int
    last_id: int
    prev_id: int
    sides: np.ndarray
    prices: np.ndarray
    qtys: np.ndarray


class DepthSynchronizer:
    """Feeds diffs and snapshots to one book, following Binance's rules for `mode`."""

    def __init__(self, book: OrderBook, mode: str = "spot", max_buffer: int = 10_000) -> None:
        if mode not in ("spot", "futures"):
            raise ValueError(f"mode must be 'spot' or 'futures', got {mode!r}")
        self.book = book
        self.mode = mode
        self._futures = mode == "futures"
        self._buffer: deque[_Diff] = deque(maxlen=max_buffer)
        self._last_u = -1
        self._synced = False
        self._first_pending = True
        self._chained = False  # synced and past the first diff: only U == u + 1 / pu == u to check
        self.needs_snapshot = True
        self.diffs_applied = 0
        self.levels_applied = 0
        self.gaps = 0
        self.snapshots = 0
        self.dropped = 0
        self.last_gap_reason = ""

    # -- state ---------------------------------------------------------------------------
    @property
    def synced(self) -> bool:
        return self._synced

    @property
    def last_update_id(self) -> int:
        """u of the last applied diff (or the snapshot's lastUpdateId); -1 before any."""
        return self._last_u

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def reset(self, reason: str = "disconnected") -> None:
        """Forgets the chain (e.g. after a disconnect): stale until the next snapshot."""
        self._lose_sync(reason, count_gap=False)

    def chain(self) -> tuple[bool, int, bool]:
        """(chained, last u, futures rule): what a compiled loop needs to apply the diffs
        that continue the chain itself (the steady state of `on_diff`)."""
        return self._chained, self._last_u, self._futures

    def chain_advanced(self, last_u: int, diffs: int, levels: int) -> None:
        """A compiled loop applied `diffs` chained diffs (`levels` rows) up to `last_u`,
        exactly as that many `on_diff` calls in the steady state would have."""
        self._last_u = last_u
        self.book.update_id = last_u
        self.diffs_applied += diffs
        self.levels_applied += levels

    # -- input ---------------------------------------------------------------------------
    def on_snapshot(
        self,
        last_update_id: int,
        bid_prices: np.ndarray,
        bid_qtys: np.ndarray,
        ask_prices: np.ndarray,
        ask_qtys: np.ndarray,
    ) -> SyncStatus:
        """Loads a snapshot, then replays the buffered diffs that follow it.

        Returns APPLIED when the book is in sync afterwards, GAP when the buffer does not
        connect to the snapshot (the snapshot is older than the oldest buffered diff).
        """
        self.book.apply_snapshot(bid_prices, bid_qtys, ask_prices, ask_qtys, int(last_update_id))
        self.snapshots += 1
        self._last_u = int(last_update_id)
        self._synced = True
        self._first_pending = True
        self._chained = False
        self.needs_snapshot = False
        pending = self._buffer
        self._buffer = deque(maxlen=pending.maxlen)
        while pending:
            diff = pending.popleft()
            status = self._process(diff.first_id, diff.last_id, diff.prev_id, diff.sides, diff.prices, diff.qtys)
            if status is _GAP:
                self._buffer.append(diff)  # newer than the snapshot: keep for the next one
                self._buffer.extend(pending)
                return _GAP
        return _APPLIED

    def on_diff(
        self,
        first_id: int,
        last_id: int,
        prev_id: int,
        sides: np.ndarray,
        prices: np.ndarray,
        qtys: np.ndarray,
    ) -> SyncStatus:
        """One depth message: U, u, pu (-1 on spot) and its levels as array slices."""
        if self._chained:
            # Steady state, the same outcome as _process for a diff that continues the chain.
            last = self._last_u
            if last_id > last and (prev_id == last if self._futures else first_id == last + 1):
                n = len(sides)
                if n:
                    self.book.apply_deltas(sides, prices, qtys)
                    self.levels_applied += n
                self._last_u = last_id
                self.book.update_id = last_id
                self.diffs_applied += 1
                return _APPLIED
        elif not self._synced:
            self._buffer.append(_Diff(first_id, last_id, prev_id, sides, prices, qtys))
            return _BUFFERED
        status = self._process(first_id, last_id, prev_id, sides, prices, qtys)
        if status is _GAP:
            self._buffer.append(_Diff(first_id, last_id, prev_id, sides, prices, qtys))
        return status

    # -- internals -------------------------------------------------------------------------
    def _process(
        self, first_id: int, last_id: int, prev_id: int, sides: np.ndarray, prices: np.ndarray, qtys: np.ndarray
    ) -> SyncStatus:
        last = self._last_u
        if last_id <= last:
            self.dropped += 1
            return _STALE_DROPPED
        if self._first_pending:
            # Must bracket the snapshot. Futures ids skip numbers, so a diff whose pu is at
            # or before the snapshot also connects.
            ok = first_id <= last + 1 or (self._futures and 0 <= prev_id <= last)
            if not ok:
                self._lose_sync(f"gap: first diff after snapshot {last} starts at U={first_id}")
                return _GAP
        elif self._futures:
            if prev_id != last:
                self._lose_sync(f"gap: pu={prev_id} but previous u={last} (diff u={last_id})")
                return _GAP
        elif first_id != last + 1:
            self._lose_sync(f"gap: U={first_id} but previous u={last} (expected U={last + 1})")
            return _GAP
        if len(sides):
            self.book.apply_deltas(sides, prices, qtys)
            self.levels_applied += len(sides)
        self._last_u = last_id
        self.book.update_id = last_id
        self._first_pending = False
        self._chained = True  # only reached while synced
        self.diffs_applied += 1
        return _APPLIED

    def _lose_sync(self, reason: str, count_gap: bool = True) -> None:
        self.book.mark_stale(reason)
        self._synced = False
        self._first_pending = True
        self._chained = False
        self.needs_snapshot = True
        self._buffer.clear()
        if count_gap:
            self.gaps += 1
            self.last_gap_reason = reason

"""What a replay precomputes from an event array, kept beside the converted recording.

A replay walks messages, not rows: it needs the message boundaries, each message's kind
and update ids, one replay unit per book message or run of same-instant trades, and one
array of all trades (connectors/replay/feed.py). That is pure numpy over the whole array
and depends on nothing but the array, so, like the gz -> .npy conversion itself, it is
done once per converted recording and saved next to it (`<key>.replay.npz`); a later run
loads it instead of computing it again. `units_for` serves the saved copy only for the
very file it was computed from (same size and modification time, same row count), and
computes in memory whatever it cannot match or write.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.data.events import DEPTH, MARK, SNAPSHOT, TRADE, EventColumns
from app.domain import TRADE_DTYPE

REVISION = 1
"""Bumped when what is saved changes: an older saved copy is then computed again."""

_COLUMNS = ("side", "price", "qty", "starts", "stops", "msg_ts", "msg_kind", "msg_empty", "msg_first",
            "msg_last", "msg_prev")
_UNITS = ("kind", "a", "b", "first", "last", "prev", "ts", "count")
REPLAYED_KINDS = (DEPTH, SNAPSHOT, TRADE, MARK)
"""The row kinds a replay plays (BBO rows are left out)."""


@dataclass(frozen=True)
class ReplayUnits:
    """The replay's view of an event array.

    `cols`: contiguous row columns and the replayed messages (EventColumns, BBO left out).
    `trades`: every trade message's first row, in replay order (read-only TRADE_DTYPE).
    Then one int64 entry per replay unit: `kind`; `a`/`b` (DEPTH: rows a:b of the columns,
    b == a when the message is empty; TRADE: slice a:b of `trades`; SNAPSHOT and MARK: the
    message and its row count); `first`, `prev` (DEPTH only, else 0), `last` (book
    messages, else 0), `ts` (receive time) and `count` (messages in the unit).
    """

    cols: EventColumns
    trades: np.ndarray
    kind: np.ndarray
    a: np.ndarray
    b: np.ndarray
    first: np.ndarray
    last: np.ndarray
    prev: np.ndarray
    ts: np.ndarray
    count: np.ndarray

    @classmethod
    def build(cls, events: np.ndarray) -> "ReplayUnits":
        """Computed from the array (numpy only, no Python loop over rows or messages)."""
        cols = EventColumns(events, kinds=REPLAYED_KINDS)
        kinds = cols.msg_kind
        ts = cols.msg_ts
        starts, stops = cols.starts, cols.stops
        n = len(kinds)
        is_trade = kinds == TRADE
        msgs = np.flatnonzero(is_trade)
        trades = np.empty(len(msgs), dtype=TRADE_DTYPE)
        trades["ts_ns"] = ts[msgs]
        trades["price_ticks"] = cols.price[starts[msgs]]
        trades["qty_lots"] = cols.qty[starts[msgs]]
        trades["taker_side"] = cols.side[starts[msgs]]
        trades.flags.writeable = False
        same = np.zeros(n, dtype=bool)
        if n > 1:
            # Adjacent in the recording: no skipped (BBO) message between the two.
            adjacent = starts[1:] == stops[:-1]
            same[1:] = is_trade[1:] & is_trade[:-1] & (ts[1:] == ts[:-1]) & adjacent
        heads = np.flatnonzero(~same)
        counts = np.diff(np.append(heads, n))
        kind = kinds[heads]
        trade_pos = (np.cumsum(is_trade) - 1)[heads]
        trade = kind == TRADE
        book = ~trade
        depth = kind == DEPTH
        a = np.where(trade, trade_pos, np.where(depth, starts[heads], heads))
        depth_end = np.where(cols.msg_empty[heads], starts[heads], stops[heads])
        b = np.where(trade, trade_pos + counts, np.where(depth, depth_end, stops[heads] - starts[heads]))
        i64 = np.int64
        units = (kind, a, b, np.where(depth, cols.msg_first[heads], 0), np.where(book, cols.msg_last[heads], 0),
                 np.where(depth, cols.msg_prev[heads], 0), ts[heads], counts)
        return cls(cols, trades, *(np.ascontiguousarray(column, dtype=i64) for column in units))

    def __len__(self) -> int:
        return len(self.kind)

    # -- kept beside the converted recording ---------------------------------------------------
    def save(self, path: Path, stamp: tuple[int, int, int]) -> None:
        """Writes the arrays (uncompressed: loading is a copy, no decoding) with `stamp`,
        (size, mtime ns, rows) of the event file they were computed from; atomically."""
        arrays = {f"col_{name}": getattr(self.cols, name) for name in _COLUMNS}
        arrays.update({f"unit_{name}": getattr(self, name) for name in _UNITS})
        arrays["trades"] = self.trades
        arrays["stamp"] = np.array([REVISION, *stamp], dtype=np.int64)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as out:
            np.savez(out, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, stamp: tuple[int, int, int]) -> "ReplayUnits | None":
        """The saved units if they were computed from the file `stamp` describes, else None."""
        try:
            with np.load(path, allow_pickle=False) as saved:
                if saved["stamp"].tolist() != [REVISION, *stamp]:
                    return None
                cols = EventColumns.from_arrays(**{name: saved[f"col_{name}"] for name in _COLUMNS})
                trades = saved["trades"]
                units = [saved[f"unit_{name}"] for name in _UNITS]
        except (OSError, ValueError, KeyError):
            return None
        if trades.dtype != TRADE_DTYPE:
            return None
        trades.flags.writeable = False
        return cls(cols, trades, *units)


def units_path(event_file: Path) -> Path:
    """Where the units of a converted recording (`<key>.npy`) are kept."""
    return event_file.with_suffix(".replay.npz")


def units_for(events: np.ndarray) -> ReplayUnits:
    """The replay units of `events`: loaded when `events` is a whole converted recording
    memory-mapped from its .npy file (app/data/store.py) and its units were saved, else
    computed (and saved beside that file for the next run, when it can be written)."""
    source = _whole_file(events)
    if source is None:
        return ReplayUnits.build(events)
    try:
        st = source.stat()
    except OSError:
        return ReplayUnits.build(events)
    stamp = (st.st_size, st.st_mtime_ns, len(events))
    target = units_path(source)
    units = ReplayUnits.load(target, stamp) if target.is_file() else None
    if units is None:
        units = ReplayUnits.build(events)
        try:
            units.save(target, stamp)
        except OSError:
            pass  # a read-only place: computed again next time
    return units


def _whole_file(events: np.ndarray) -> Path | None:
    """The .npy file `events` maps in full (not a slice of it), or None."""
    if not isinstance(events, np.memmap) or not events.filename or events.ndim != 1:
        return None
    path = Path(events.filename)
    if path.suffix != ".npy" or events.strides[0] != events.itemsize:
        return None
    fmt = np.lib.format
    try:
        with open(path, "rb") as handle:
            version = fmt.read_magic(handle)
            read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape = read(handle)[0]
    except (OSError, ValueError):
        return None
    # As many rows as the file, with a forward stride: the whole file, not a slice of it.
    return path if shape == (len(events),) else None

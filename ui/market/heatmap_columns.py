"""The heatmap's history: one column of resting size per fixed slice of time, Qt-free.

Column `c` covers the clock interval [c * column_ns, (c + 1) * column_ns), so the x axis
is time and a column's place never depends on how often the view happened to redraw.
The view writes the book's state into the current column at each refresh; columns it
did not see are filled by what is known of them:

- up to the first unseen book change the book was as last drawn: those columns repeat
  the last one (an idle market keeps its liquidity on screen);
- after that change, when the view has been recording all along (its redraws are merely
  throttled, or a replay runs faster than the redraws), the columns take the state
  written now; when it has not (the event loop stalled, nobody recorded), they stay
  empty, drawn black, with no best-price lines: nothing is invented about a time nobody
  looked at. The caller says which (`fill_gap`).

The ring holds `history` columns and is stored twice side by side (a column is written
at i and i + history), so any window of up to `history` columns is one contiguous slice
for the ImageItem's fast path: no copy per frame. Rows are price bands of the view's
choosing; `shift_rows` moves every column when the band is re-based, so a row keeps
meaning the same price throughout the history.
"""
from __future__ import annotations

import numpy as np

class HeatmapColumns:
    """Sizes per (column, row) over time, with the best and own prices of each column."""

    def __init__(self, history: int, rows: int, column_ns: int) -> None:
        if history <= 0 or rows <= 0 or column_ns <= 0:
            raise ValueError("history, rows and column_ns must be positive")
        self.history = history
        self.rows = rows
        self.column_ns = int(column_ns)
        self.sizes = np.zeros((2 * history, rows), np.float32)
        self.best = np.full((2, 2 * history), np.nan)  # best bid / ask price per column
        self.own = np.full((2, 2 * history), np.nan)  # the bot's best own bid / ask per column
        self.first: int | None = None  # oldest column held (absolute index)
        self.last: int | None = None  # newest column written (absolute index)
        self.resets = 0

    # -- writing ----------------------------------------------------------------------
    def column_at(self, ts_ns: int) -> int:
        return int(ts_ns) // self.column_ns

    def clear(self) -> None:
        self.sizes[:] = 0.0
        self.best[:] = np.nan
        self.own[:] = np.nan
        self.first = self.last = None

    def write(self, now_ns: int, sizes: np.ndarray, best: tuple[float, float], own: tuple[float, float],
              changed_ns: int | None = None, fill_gap: bool = True) -> int:
        """Writes the state at `now_ns` into its column and fills the columns since the last write.

        `changed_ns` is when the book first changed after the last write (None: unknown, taken
        as now); `fill_gap` whether the columns after that change may take the state now.
        Time going backwards (a replay seeking back) starts a new history. Returns the column
        written.
        """
        col = self.column_at(now_ns)
        last = self.last
        if last is None or col < last or col - last >= self.history:
            if last is not None:
                self.resets += 1
            self.clear()
            self.first = col
        elif col > last + 1:
            changed = self.column_at(changed_ns) if changed_ns is not None else col
            idle_end = min(max(changed, last + 1), col)  # columns before the change repeat the last one
            if idle_end > last + 1:
                self._fill(last + 1, idle_end, last)
            if fill_gap:
                self._put_range(idle_end, col, sizes, best, own)
            else:
                self._blank(idle_end, col)
        self._put_range(col, col + 1, sizes, best, own)
        self.last = col
        self.first = max(self.first, col - self.history + 1)
        return col

    def _slots(self, c0: int, c1: int) -> np.ndarray:
        return np.arange(c0, c1) % self.history

    def _fill(self, c0: int, c1: int, source: int) -> None:
        """Columns [c0, c1) repeat column `source`."""
        src = source % self.history
        self._put_range(c0, c1, self.sizes[src].copy(), tuple(self.best[:, src]), tuple(self.own[:, src]))

    def _put_range(self, c0: int, c1: int, sizes: np.ndarray | float, best: tuple[float, float],
                   own: tuple[float, float]) -> None:
        for at in (self._slots(c0, c1), self._slots(c0, c1) + self.history):
            self.sizes[at] = sizes
            self.best[:, at] = np.asarray(best, np.float64)[:, None]
            self.own[:, at] = np.asarray(own, np.float64)[:, None]

    def _blank(self, c0: int, c1: int) -> None:
        self._put_range(c0, c1, 0.0, (np.nan, np.nan), (np.nan, np.nan))

    def shift_rows(self, shift: int) -> None:
        """Moves every column's rows down by `shift` (the band's base rose by `shift` rows)."""
        rows = self.rows
        if abs(shift) >= rows:
            self.sizes[:] = 0.0
        elif shift > 0:
            self.sizes[:, : rows - shift] = self.sizes[:, shift:]
            self.sizes[:, rows - shift:] = 0.0
        elif shift < 0:
            self.sizes[:, -shift:] = self.sizes[:, : rows + shift]
            self.sizes[:, :-shift] = 0.0

    # -- reading ----------------------------------------------------------------------
    def span(self) -> tuple[int, int]:
        """(first, last + 1): the columns held, as a half-open range (0, 0 when empty)."""
        if self.last is None or self.first is None:
            return 0, 0
        return self.first, self.last + 1

    def clamp(self, c0: int, c1: int) -> tuple[int, int]:
        """The part of [c0, c1) that is held."""
        first, end = self.span()
        c0, c1 = max(c0, first), min(c1, end)
        return (c0, c1) if c0 < c1 else (first, first)

    def window(self, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sizes (columns x rows, a contiguous view), best (2 x n) and own (2 x n) prices of
        the held columns [c0, c1), which the caller has clamped."""
        n = c1 - c0
        start = c0 % self.history
        return (self.sizes[start:start + n], self.best[:, start:start + n], self.own[:, start:start + n])

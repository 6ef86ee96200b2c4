"""What a market view drew for a market, kept while another market is shown.

Switching the window to another market and back must not wipe the candles or the
heatmap that were built for the first one. A view hands its per-market state to a
`SourceHistory` as it leaves a feed and asks for it back when a feed is set: the state
of the last `keep` markets is kept (least recently shown dropped first). The time spent
on another market is a gap: a view listens only to the market it shows.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.interfaces.venue import MarketFeed

DEFAULT_KEEP = 8  # markets whose history a view keeps (a candle ring is a few MB)


class SourceHistory:
    """Per-feed state of one view, least recently used dropped beyond `keep`."""

    def __init__(self, keep: int = DEFAULT_KEEP) -> None:
        self.keep = keep
        # Keyed by the feed object's id; the feed is held with its state so its id is never
        # reused by another feed while the entry lives.
        self._kept: OrderedDict[int, tuple["MarketFeed", dict[str, Any]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def stash(self, feed: "MarketFeed", state: dict[str, Any]) -> None:
        """Keeps `state` (the view's own objects: no copy is made) for `feed`."""
        self._kept[id(feed)] = (feed, state)
        self._kept.move_to_end(id(feed))
        while len(self._kept) > self.keep:
            self._kept.popitem(last=False)

    def take(self, feed: "MarketFeed") -> dict[str, Any] | None:
        """The state kept for `feed` (removed from the store: the view owns it again), or None."""
        entry = self._kept.pop(id(feed), None)
        if entry is None or entry[0] is not feed:
            return None
        return entry[1]

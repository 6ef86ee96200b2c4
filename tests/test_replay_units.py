"""Replay units kept beside a converted recording: saved once, loaded only for the file
they were computed from, and a replay on loaded units is the replay on computed ones."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from app.data.replay_units import ReplayUnits, units_for, units_path
from app.data.store import load_events
from app.domain import BTC_USDT
from app.interfaces.clock import SimClock
from connectors.replay.feed import ReplayFeed
from tests.synthetic_recordings import T0, spot_session, write_recording


def converted(tmp_path: Path) -> tuple[np.ndarray, Path]:
    """A synthetic recording converted into a cache directory (memory-mapped, as a run loads it)."""
    source = write_recording(tmp_path / "r.gz", spot_session())
    load_events([source], instrument=BTC_USDT, cache_dir=tmp_path / "cache")  # converted: parsed, in memory
    events, _meta = load_events([source], instrument=BTC_USDT, cache_dir=tmp_path / "cache")  # the cached file
    return events, Path(events.filename)


def same(a: ReplayUnits, b: ReplayUnits) -> bool:
    names = ("side", "price", "qty", "starts", "stops", "msg_ts", "msg_kind", "msg_empty", "msg_first", "msg_last",
             "msg_prev")
    return (all(np.array_equal(getattr(a.cols, n), getattr(b.cols, n)) for n in names)
            and np.array_equal(a.trades, b.trades)
            and all(np.array_equal(getattr(a, n), getattr(b, n))
                    for n in ("kind", "a", "b", "first", "last", "prev", "ts", "count")))


def test_units_are_saved_once_and_loaded_for_their_file(tmp_path: Path) -> None:
    events, source = converted(tmp_path)
    saved = units_path(source)
    assert not saved.exists()
    first = units_for(events)
    assert saved.is_file() and same(first, ReplayUnits.build(events))
    written = saved.stat().st_mtime_ns
    again = units_for(events)
    assert saved.stat().st_mtime_ns == written  # loaded, not computed and written again
    assert same(again, first) and not again.trades.flags.writeable


def test_units_of_another_file_version_are_not_served(tmp_path: Path) -> None:
    events, source = converted(tmp_path)
    units_for(events)
    stamp = source.stat()
    os.utime(source, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))  # the file changed
    assert ReplayUnits.load(units_path(source), (stamp.st_size, stamp.st_mtime_ns, len(events))) is not None
    units = units_for(events)  # computed again and saved with the new stamp
    st = source.stat()
    assert same(units, ReplayUnits.build(events))
    assert ReplayUnits.load(units_path(source), (st.st_size, st.st_mtime_ns, len(events))) is not None
    assert ReplayUnits.load(units_path(source), (st.st_size, st.st_mtime_ns, len(events) + 1)) is None


def test_a_slice_or_an_in_memory_copy_is_computed_not_loaded(tmp_path: Path) -> None:
    events, source = converted(tmp_path)
    units_for(events)
    part = events[: len(events) - 3]
    assert same(units_for(part), ReplayUnits.build(np.array(part)))
    assert len(units_for(part).cols.side) == len(part)
    assert same(units_for(np.array(events)), units_for(events))


def test_a_replay_on_loaded_units_is_the_replay_on_computed_ones(tmp_path: Path) -> None:
    events, _source = converted(tmp_path)
    units_for(events)  # saved: the feeds below load it, or are given it

    def run(**kwargs) -> list[tuple[int, str, object]]:
        clock = SimClock(T0)
        feed = ReplayFeed(events, BTC_USDT, clock, **kwargs)
        seen: list[tuple[int, str, object]] = []
        feed.add_listener(lambda e: seen.append((clock.now_ns(), type(e).__name__, getattr(e, "levels_changed", 0))))
        feed.start()
        clock.run()
        assert feed.finished
        return seen

    computed = run(units=ReplayUnits.build(events))
    assert computed and run() == computed and run(units=units_for(events)) == computed

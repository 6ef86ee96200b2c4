"""ReplayFeed on a SimClock: real spot replay, event counts, pacing, stop, gaps."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.data.binance_recording import parse_recordings
from app.data.store import load_events, recordings_dir
from app.domain import BookStale, BookUpdated, TradesEvent
from app.engine.clock import SimClock
from connectors.replay.feed import ReplayFeed
from tests.synthetic_recordings import STEP, T0, spot_session, write_recording

DATA = recordings_dir()
SPOT = [DATA / "spot_btcusdt_20240808.gz", DATA / "spot_btcusdt_20240809.gz"]
needs_data = pytest.mark.skipif(not SPOT[0].is_file(), reason=f"real recordings not found in {DATA} (set COLIBRI_DATA_DIR)")


def replay(messages: list[dict], tmp_path: Path, speed: float | None = 1.0, start: int = T0):
    events, meta = parse_recordings([write_recording(tmp_path / "r.gz", messages)])
    clock = SimClock(start)
    feed = ReplayFeed(events, meta, clock, speed=speed)
    seen: list[tuple[int, object]] = []
    feed.add_listener(lambda e: seen.append((clock.now_ns(), e)))
    return feed, clock, seen


def test_synthetic_replay_events_and_times(tmp_path: Path) -> None:
    done: list[bool] = []
    feed, clock, seen = replay(spot_session(), tmp_path)
    feed.on_finished = lambda: done.append(True)
    feed.start()
    clock.run()
    kinds = [type(e).__name__ for _, e in seen]
    assert kinds == ["BookResynced", "BookUpdated", "TradesEvent", "BookUpdated", "BookUpdated",
                     "BookUpdated", "TradesEvent"]
    assert seen[0][0] == T0 + 2 * STEP  # the snapshot line, at its recorded time
    snap = seen[1][1]
    assert isinstance(snap, BookUpdated) and snap.levels_changed == 4 + 2  # snapshot + buffered diff
    trades = seen[2][1]
    assert isinstance(trades, TradesEvent) and trades.trades["taker_side"].tolist() == [1]
    assert trades.trades["price_ticks"].tolist() == [10_005]
    assert (feed.book.best_bid_ticks, feed.book.best_ask_ticks) == (10_002, 10_003)
    assert feed.finished and done == [True] and clock.pending() == 0


def test_speed_scales_time_and_zero_is_back_to_back(tmp_path: Path) -> None:
    feed, clock, seen = replay(spot_session(), tmp_path, speed=4.0, start=0)
    feed.start()
    clock.run()
    first_ts = T0  # the first replayed message is the first line
    assert seen[-1][0] == (10 * STEP) // 4 and first_ts == T0
    fast, fast_clock, fast_seen = replay(spot_session(), tmp_path, speed=0, start=0)
    fast.start()
    callbacks = fast_clock.run()
    assert {t for t, _ in fast_seen} == {0}
    assert callbacks == 8  # one per replayed message (5 diffs, 1 snapshot, 2 trades)


def test_gap_emits_stale(tmp_path: Path) -> None:
    messages = spot_session()
    del messages[5]
    feed, clock, seen = replay(messages, tmp_path)
    feed.start()
    clock.run()
    stale = [e for _, e in seen if isinstance(e, BookStale)]
    assert len(stale) == 1 and "U=111" in stale[0].reason and feed.is_stale


def test_stop_cancels_the_rest(tmp_path: Path) -> None:
    feed, clock, seen = replay(spot_session(), tmp_path)

    stopped: list[int] = []

    def stop_after_two(event: object) -> None:
        if not stopped and isinstance(event, BookUpdated) and sum(isinstance(e, BookUpdated) for _, e in seen) == 2:
            stopped.append(clock.now_ns())
            feed.stop()

    feed.add_listener(stop_after_two)
    feed.start()
    clock.run()
    assert sum(isinstance(e, BookUpdated) for _, e in seen) == 2
    assert not feed.finished and clock.pending() == 0
    clock.run(until_ns=stopped[0] + 10 * STEP)  # time passes while stopped
    feed.start()  # resumes where it stopped, keeping the recorded gaps from now on
    clock.run()
    assert feed.finished and sum(isinstance(e, BookUpdated) for _, e in seen) == 4
    resumed = [t for t, _ in seen if t > stopped[0]]
    assert resumed[0] == stopped[0] + 10 * STEP and resumed[-1] - resumed[0] == 3 * STEP  # lines 7 to 10


@needs_data
def test_real_spot_replay_matches_verify() -> None:
    events, meta = load_events(SPOT)
    clock = SimClock(int(events["ts_ns"][0]))
    feed = ReplayFeed(events, meta, clock)
    counts: dict[str, int] = {}
    trades = [0]

    def count(event: object) -> None:
        counts[type(event).__name__] = counts.get(type(event).__name__, 0) + 1
        if isinstance(event, TradesEvent):
            trades[0] += len(event.trades)

    feed.add_listener(count)
    feed.start()
    clock.run()
    assert feed.finished and not feed.is_stale
    assert counts == {"BookResynced": 1, "BookUpdated": 6493, "TradesEvent": 19904}
    assert trades[0] == 19904
    inst = meta.instrument
    assert str(inst.ticks_to_price(feed.book.best_bid_ticks)) == "61602.01"
    assert str(inst.ticks_to_price(feed.book.best_ask_ticks)) == "61602.02"
    assert clock.now_ns() == int(events["ts_ns"][events["kind"] != 4][-1])

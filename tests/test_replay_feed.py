"""ReplayFeed on a SimClock: real spot replay, event counts, pacing, stop, gaps."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from app.data.binance_recording import parse_recordings
from app.data.store import load_events, recordings_dir
from app.data.events import TRADE
from app.domain import BTC_USDT, TRADE_DTYPE, BookStale, BookUpdated, TradesEvent
from app.interfaces.clock import RealClock, SimClock
from connectors.replay.feed import ReplayFeed
from tests.synthetic_recordings import STEP, T0, spot_session, trade, write_recording

DATA = recordings_dir()
SPOT = [DATA / "spot_btcusdt_20240808.gz", DATA / "spot_btcusdt_20240809.gz"]
needs_data = pytest.mark.skipif(not SPOT[0].is_file(), reason=f"real recordings not found in {DATA} (set COLIBRI_DATA_DIR)")


def replay(messages: list[dict], tmp_path: Path, speed: float | None = 1.0, start: int = T0):
    events, meta = parse_recordings([write_recording(tmp_path / "r.gz", messages)], instrument=BTC_USDT)
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


# -- replay units, shared trade array, inline advancing --------------------------------------

def write_timed(path: Path, lines: list[tuple[int, dict]]) -> Path:
    """A recording with explicit receive times (equal times allowed)."""
    with gzip.open(path, "wt") as fh:
        for ts, msg in lines:
            fh.write(f"{ts} {json.dumps(msg)}\n")
    return path


def busy_session() -> list[tuple[int, dict]]:
    """spot_session's story with bursts: same-instant trades (one TradesEvent), a trade and
    a diff at one instant, a ticker between two same-instant trades (two TradesEvents)."""
    m = spot_session()
    return [
        (T0, m[0]), (T0 + STEP, m[1]), (T0 + 2 * STEP, m[2]), (T0 + 2 * STEP, m[3]),
        (T0 + 3 * STEP, m[4]), (T0 + 3 * STEP, trade(3, "100.06", "0.20000", False)),
        (T0 + 3 * STEP, m[5]), (T0 + 4 * STEP, m[6]), (T0 + 5 * STEP, trade(4, "100.03", "0.10000", True)),
        (T0 + 5 * STEP, m[6]), (T0 + 5 * STEP, trade(5, "100.03", "0.10000", True)),
        (T0 + 5 * STEP, m[7]), (T0 + 7 * STEP, m[8]), (T0 + 7 * STEP + 1, m[9]), (T0 + 9 * STEP, m[10]),
    ]


class NoInlineClock(SimClock):
    """The reference: one scheduled callback per message, as before try_advance."""

    def try_advance(self, when_ns: int) -> bool:
        return False


def trace_with_timers(clock: SimClock, path: Path, stop_at: int | None = None,
                      until: list[int] | None = None) -> tuple[list[tuple], int, int]:
    """Replays busy_session among other timers: pre-scheduled ones at and between message
    times, and ones the listener schedules for now, half a step or one step later.
    Returns the (time, what) log, callbacks counted by run() and the feed's call_at calls."""
    events, meta = parse_recordings([write_timed(path, busy_session())], instrument=BTC_USDT)
    feed = ReplayFeed(events, meta, clock)
    log: list[tuple] = []
    scheduled = [0]
    call_at = clock.call_at

    def counting_call_at(when_ns: int, callback):  # noqa: ANN001, ANN202
        if getattr(callback, "__self__", None) is feed:
            scheduled[0] += 1
        return call_at(when_ns, callback)

    clock.call_at = counting_call_at  # type: ignore[method-assign]

    def timer(label: str):  # noqa: ANN202
        return lambda: log.append((clock.now_ns(), label))

    def listener(event: object) -> None:
        what = type(event).__name__
        if isinstance(event, TradesEvent):
            what += str(event.trades["price_ticks"].tolist())
        log.append((clock.now_ns(), what))
        if not isinstance(event, (BookUpdated, TradesEvent)):
            clock.call_soon(timer("soon after " + what))
        elif isinstance(event, TradesEvent):
            clock.call_later(STEP // 2, timer("half step after " + what))
        elif len(log) % 3 == 0:
            clock.call_later(STEP, timer("a step after " + what))
        if stop_at is not None and len(log) == stop_at:
            clock.stop()

    feed.add_listener(listener)
    for k in (0, 3):  # at message times and just before them; other instants are free
        clock.call_at(T0 + k * STEP, timer(f"pre {k}"))
        clock.call_at(T0 + (k + 1) * STEP - 1, timer(f"pre {k + 1} - 1 ns"))
    clock.call_at(T0 + 9 * STEP, timer("pre 9"))  # alone at a message time: scheduled first, runs first
    feed.start()
    runs = 0
    for limit in until or []:
        runs += clock.run(until_ns=limit)
        log.append((clock.now_ns(), f"run until {limit} returned"))
    runs += clock.run()
    if stop_at is not None:
        runs += clock.run()
    assert feed.finished
    return log, runs, scheduled[0]


@pytest.mark.parametrize("stop_at, until", [
    (None, None), (7, None), (None, [T0 + 2 * STEP, T0 + 3 * STEP - 1, T0 + 5 * STEP, T0 + 7 * STEP]),
])
def test_inline_advancing_keeps_the_order_of_everything(tmp_path: Path, stop_at, until) -> None:  # noqa: ANN001
    ours = trace_with_timers(SimClock(T0), tmp_path / "a.gz", stop_at, until)
    reference = trace_with_timers(NoInlineClock(T0), tmp_path / "b.gz", stop_at, until)
    assert ours[0] == reference[0]  # same callbacks and events, same times, same order
    assert ours[1] == reference[1]  # run() counts the messages handled inline as callbacks
    assert ours[2] < reference[2]  # fewer heap round trips
    kinds = [what for _, what in ours[0] if not what.startswith(("soon", "half", "a step", "pre", "run"))]
    assert kinds.count("TradesEvent[10006, 10003]") == 0 and "TradesEvent[10005, 10006]" in kinds
    assert kinds.count("TradesEvent[10003]") == 2  # a ticker between them: two events


def test_inline_advancing_without_other_timers_is_one_callback(tmp_path: Path) -> None:
    events, meta = parse_recordings([write_timed(tmp_path / "r.gz", busy_session())], instrument=BTC_USDT)
    clock = SimClock(T0)
    feed = ReplayFeed(events, meta, clock)
    steps: list[int] = []
    feed.add_listener(lambda e: steps.append(clock.now_ns()))
    feed.start()
    assert clock.run() == 7  # distinct instants with replayed messages, as before
    assert feed.finished and steps[-1] == T0 + 9 * STEP and clock.now_ns() == T0 + 9 * STEP


def test_try_advance_rules() -> None:
    clock = SimClock(100)
    assert not clock.try_advance(150)  # outside run()
    seen: list[tuple[str, int, bool]] = []

    def advance(label: str, when: int) -> None:
        ok = clock.try_advance(when)
        seen.append((label, clock.now_ns(), ok))

    def first() -> None:
        advance("first", 200)  # 200 is pending and was scheduled first: it goes first
        advance("first", 199)  # nothing pending up to 199 (the 150 one is cancelled): yes
        advance("first", 50)  # the past means now: yes, time stays

    cancelled = clock.call_at(150, lambda: seen.append(("cancelled", clock.now_ns(), False)))
    cancelled.cancel()
    clock.call_at(120, first)
    clock.call_at(200, lambda: advance("at 200", 10_000))
    assert clock.run(until_ns=5_000) == 2 + 2  # two callbacks plus two inline advances
    assert seen == [("first", 120, False), ("first", 199, True), ("first", 199, True), ("at 200", 200, False)]
    assert clock.now_ns() == 5_000  # 10_000 is past until_ns: refused

    def stopping() -> None:
        clock.stop()
        advance("stopping", 6_000)

    clock.call_at(5_500, stopping)
    clock.run()
    assert seen[-1] == ("stopping", 5_500, False)
    assert not RealClock().try_advance(1)  # only simulated time can be advanced inline


def test_trades_are_read_only_views_that_can_be_kept(tmp_path: Path) -> None:
    feed, clock, seen = replay(spot_session(), tmp_path)
    feed.start()
    clock.run()
    batches = [e.trades for _, e in seen if isinstance(e, TradesEvent)]
    assert [b.tolist() for b in batches] == [[(T0 + 4 * STEP, 10_005, 10_000, 1)], [(T0 + 10 * STEP, 10_002, 30_000, -1)]]
    assert all(b.dtype == TRADE_DTYPE and not b.flags.writeable for b in batches)
    with pytest.raises(ValueError):
        batches[0]["qty_lots"][0] = 1
    feed.add_listener(lambda e: None)
    assert batches[0]["price_ticks"].tolist() == [10_005]  # kept after the replay: unchanged


@needs_data
def test_real_spot_trades_are_the_recorded_rows() -> None:
    events, meta = load_events(SPOT)
    clock = SimClock(int(events["ts_ns"][0]))
    feed = ReplayFeed(events, meta, clock)
    batches: list = []
    feed.add_listener(lambda e: batches.append(e.trades) if isinstance(e, TradesEvent) else None)
    feed.start()
    clock.run()
    got = np.concatenate(batches)
    rows = events[events["kind"] == TRADE]
    assert got["ts_ns"].tolist() == rows["ts_ns"].tolist()
    assert got["price_ticks"].tolist() == rows["price_ticks"].tolist()
    assert got["qty_lots"].tolist() == rows["qty_lots"].tolist()
    assert got["taker_side"].tolist() == rows["side"].tolist()

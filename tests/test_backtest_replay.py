"""Replaying a finished backtest (app/wiring/backtest_capture.py, backtest_replay.py,
own_orders_replay.py): the market as the bot saw it and its own orders as they were."""
from __future__ import annotations

import numpy as np
import pytest

from app.config.bot_config import load_config
from app.data.store import recordings_dir
from app.domain import OrderFilled, OrderStatus, OrderUpdated
from app.wiring.backtest_capture import FILL, BacktestCapture
from app.wiring.backtest_replay import BacktestReplay
from app.wiring.runners import run_simulated

DEMO = "resources/configs/demo.yaml"
SPOT = recordings_dir() / "spot_btcusdt_20240808.gz"
_NS = 1_000_000_000


def own_state(orders) -> dict:
    return {o.client_order_id: (o.side.sign, o.price_ticks, o.remaining_lots, o.status) for o in orders}


def book_state(book, depth: int = 5000) -> list[np.ndarray]:
    return [*book.top_levels(1, depth), *book.top_levels(-1, depth)]


def backtest(config, duration_s: float):
    """Runs the backtest with a capture, sampling the book and the bot's open orders as the
    run goes (run_simulated's progress: between clock runs, never mid-instant)."""
    capture = BacktestCapture()
    samples = []

    def progress(session) -> None:
        feed = session.connector.feed(session.config.symbol)
        samples.append((session.clock.now_ns(), book_state(feed.book), own_state(session.bot.open_orders())))

    report = run_simulated(config, duration_s, progress=progress, on_ready=capture.attach)
    return report, capture.finish(), samples[:-1]  # the last one races the stop's cancels


@pytest.fixture(scope="module")
def demo_run():
    return backtest(load_config(DEMO), 90)


def test_demo_capture_replays_the_book_and_own_orders_the_backtest_had(demo_run) -> None:
    report, record, samples = demo_run
    assert report["fills"] > 0 and len(record.orders) > 10
    assert record.market_events is not None and record.recordings == []
    replay = BacktestReplay(record)
    compared = 0
    for ts, book, own in samples[::5]:
        replay.seek(ts)
        assert replay.position_ns == ts
        assert all(np.array_equal(a, b) for a, b in zip(book_state(replay.feed.book), book)), f"book at {ts}"
        shown = own_state(replay.orders.open_orders())
        assert shown == own, f"own orders at {ts / _NS} s"
        assert set(shown) == set(record.open_at(ts))
        compared += bool(own)
    assert compared >= 5


def test_seek_gives_the_book_of_a_straight_run_in_either_direction(demo_run) -> None:
    _, record, _ = demo_run
    straight = BacktestReplay(record)
    straight.feed.add_listener(lambda event: None)  # a view: the Python path, message by message
    jumpy = BacktestReplay(record)
    targets = [record.start_ns + int(s * _NS) for s in (61.37, 12.5, 45.02, 3.0, 88.9)]
    for target in sorted(targets):
        while straight.position_ns < target:  # frame by frame, as a window plays it
            straight.clock.run(until_ns=min(target, straight.position_ns + 33_000_000))
        states = book_state(straight.feed.book), own_state(straight.orders.open_orders())
        jumpy.seek(target + 7 * _NS)  # past it, then back: a rebuild from the start
        jumpy.seek(target)
        assert all(np.array_equal(a, b) for a, b in zip(book_state(jumpy.feed.book), states[0]))
        assert own_state(jumpy.orders.open_orders()) == states[1]
    assert jumpy.rebuilds > len(targets)


def test_views_are_detached_during_a_long_seek_and_see_the_warmup(demo_run) -> None:
    from app.domain import BookUpdated

    _, record, _ = demo_run
    sources = []
    seen = {"book": 0, "orders": 0, "fills": 0}
    attached: list = []

    def on_book(event) -> None:
        seen["book"] += isinstance(event, BookUpdated)

    def on_order(event) -> None:
        seen["fills" if isinstance(event, OrderFilled) else "orders"] += isinstance(event, (OrderFilled, OrderUpdated))

    def on_source(feed, orders) -> None:  # what MarketView.set_source does with its listeners
        sources.append(feed)
        for old_feed, old_orders in attached:
            old_feed.remove_listener(on_book)
            old_orders.remove_listener(on_order)
        attached.clear()
        if feed is not None:
            feed.add_listener(on_book)
            orders.add_listener(on_order)
            attached.append((feed, orders))

    replay = BacktestReplay(record, warmup_s=5.0, on_source=on_source)
    replay.attach()
    replay.seek(record.start_ns + 80 * _NS)
    assert [f is None for f in sources] == [False, True, False] and sources[0] is sources[2]
    # Only the last 5 s reached the views: 250 demo steps of 20 ms, not 4000.
    assert 200 <= seen["book"] <= 251
    rows = record.events
    window = rows[(rows["ts_ns"] > record.start_ns + 75 * _NS) & (rows["ts_ns"] <= record.start_ns + 80 * _NS)]
    assert seen["orders"] + seen["fills"] == len(window) > 0
    assert seen["fills"] == int((window["kind"] == FILL).sum())
    replay.seek(record.start_ns + 20 * _NS)  # backwards: a new feed, the old one left alone
    assert sources[-2] is None and sources[-1] is replay.feed is not sources[0]
    assert not sources[0].wants(BookUpdated)


def test_play_at_a_speed_and_at_max_ends_paused_at_the_end(demo_run) -> None:
    _, record, _ = demo_run
    replay = BacktestReplay(record)
    replay.play()
    replay.advance(0.5, budget_s=600)  # (the budget only limits a slow machine)
    assert replay.position_ns == record.start_ns + _NS // 2  # 1x: half a second
    replay.set_speed(100.0)
    replay.advance(0.1, budget_s=600)
    assert replay.position_ns == record.start_ns + 10 * _NS + _NS // 2
    replay.pause()
    assert replay.advance(1.0) == 0 and replay.position_ns == record.start_ns + 10 * _NS + _NS // 2
    replay.set_speed(None)
    replay.play()
    for _ in range(10_000):
        if not replay.playing:
            break
        replay.advance(0.03)
    assert replay.finished and not replay.playing and replay.position_ns == replay.end_ns
    assert replay.orders.open_orders() == []  # the stop cancelled every order
    assert replay.orders.fills_replayed == int((record.events["kind"] == FILL).sum())
    with pytest.raises(ValueError):
        replay.set_speed(0)


def test_own_orders_table_lists_every_event_with_exact_prices(demo_run) -> None:
    report, record, _ = demo_run
    table = record.own_orders_table()
    assert table["total"] == len(record.events) == len(table["points"])
    assert table["columns"][:3] == ["seconds", "order", "event"]
    fills = [p for p in table["points"] if p[2] == "fill"]
    assert len(fills) == report["fills"]
    first = table["points"][0]
    assert first[2] == OrderStatus.PENDING_CREATE.value and first[4].count(".") == 1
    times = [p[0] for p in table["points"]]
    assert times == sorted(times)


@pytest.mark.skipif(not SPOT.is_file(), reason=f"real recording not found: {SPOT}")
def test_a_recording_replays_from_its_files(tmp_path, monkeypatch) -> None:
    import gzip

    monkeypatch.setenv("COLIBRI_CACHE_DIR", str(tmp_path / "cache"))
    part = tmp_path / "part.gz"
    with gzip.open(SPOT, "rb") as src, gzip.open(part, "wb") as dst:
        for n, line in enumerate(src):
            dst.write(line)
            if n > 6000:
                break
    config = load_config("resources/configs/replay_spot.yaml")
    config.recordings = [part]
    report, record, samples = backtest(config, 120)
    assert record.market_events is None and record.recordings == [part]
    replay = BacktestReplay(record)
    for ts, book, own in samples[::3]:
        replay.seek(ts)
        assert all(np.array_equal(a, b) for a, b in zip(book_state(replay.feed.book), book))
        assert own_state(replay.orders.open_orders()) == own


def test_a_demo_market_too_long_to_keep_is_replayable_up_to_where_it_ran_out(monkeypatch) -> None:
    import app.wiring.backtest_capture as capture_module

    monkeypatch.setattr(capture_module, "MAX_MARKET_ROWS", 10_000)
    monkeypatch.setattr(capture_module, "_CHUNK_STEPS", 64)  # several packed chunks
    report, record, samples = backtest(load_config(DEMO), 60)
    assert record.start_ns < record.end_ns < record.start_ns + 60 * _NS
    assert "the replay covers the first" in record.replay_note and "10,000 rows" in record.replay_note
    assert 10_000 <= len(record.market_events) < 11_000
    ids = record.market_events["last_id"][record.market_events["kind"] == 1]
    assert (np.diff(np.unique(ids)) == 1).all()  # chained across chunks
    replay = BacktestReplay(record)
    kept = [s for s in samples if s[0] <= record.end_ns]
    assert len(kept) >= 3
    for ts, book, own in kept:
        replay.seek(ts)
        assert all(np.array_equal(a, b) for a, b in zip(book_state(replay.feed.book), book))
        assert own_state(replay.orders.open_orders()) == own
    replay.seek(record.start_ns + 60 * _NS)
    assert replay.position_ns == record.end_ns and replay.finished

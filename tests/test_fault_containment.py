"""A strategy that raises stops its own bot only: the venue, the clock and other bots go on.

Two bots quote the same demo exchange in simulated time; one of them raises in one hook.
"""
import logging

import pytest

pytest.importorskip("app.book.orderbook")
pytest.importorskip("connectors.demo.matching")

from app.domain import BookResynced, BookStale, BookUpdated, OrderStatus  # noqa: E402
from app.engine.bot import Bot, BotState  # noqa: E402
from app.interfaces.clock import SimClock  # noqa: E402
from app.engine.journal import JournalStore  # noqa: E402
from app.interfaces.venue import EventSource  # noqa: E402
from connectors.demo.exchange import DemoExchange  # noqa: E402
from strategies.simple_quoter import SimpleQuoter  # noqa: E402

SEC = 1_000_000_000
MS = 1_000_000
SYM = "BTC/USDT"
TIGHT = {"order_amount": "0.001", "bid_spread_bps": 0, "ask_spread_bps": 0, "refresh_seconds": 5}

HOOKS = ["on_start", "on_book", "on_trades", "on_order", "on_fill", "on_stale", "on_resynced",
         "on_params_changed", "on_stop", "timer"]


class Faulty(SimpleQuoter):
    """The simple quoter, raising ValueError in `fail_in` once armed (after doing its work,
    so there are orders to cancel)."""

    fail_in = ""
    armed = False

    def _maybe_raise(self, hook: str) -> None:
        if self.armed and self.fail_in == hook:
            raise ValueError(f"boom in {hook}")

    def on_start(self) -> None:
        super().on_start()
        self._maybe_raise("on_start")

    def on_book(self, event) -> None:
        super().on_book(event)
        self._maybe_raise("on_book")

    def on_trades(self, event) -> None:
        super().on_trades(event)
        self._maybe_raise("on_trades")

    def on_order(self, event) -> None:
        super().on_order(event)
        self._maybe_raise("on_order")

    def on_fill(self, event) -> None:
        super().on_fill(event)
        self._maybe_raise("on_fill")

    def on_stale(self, event) -> None:
        self._maybe_raise("on_stale")
        super().on_stale(event)

    def on_resynced(self, event) -> None:
        super().on_resynced(event)
        self._maybe_raise("on_resynced")

    def on_params_changed(self, applied) -> None:
        super().on_params_changed(applied)
        self._maybe_raise("on_params_changed")

    def on_stop(self) -> None:
        super().on_stop()
        self._maybe_raise("on_stop")

    def scheduled(self) -> None:
        self._maybe_raise("timer")


def _run(clock, seconds: float) -> None:
    clock.run(clock.now_ns() + int(seconds * SEC))


def _trigger(hook: str, clock, ex, bad: Bot) -> None:
    feed = ex.feed(SYM)
    if hook == "on_stale":
        feed._emit(BookStale(ex.name, SYM, clock.now_ns(), "test gap"))
    elif hook == "on_resynced":
        feed._emit(BookResynced(ex.name, SYM, clock.now_ns()))
    elif hook == "on_params_changed":
        bad.update_params({"bid_spread_bps": "1"}, who="test")
    elif hook == "on_stop":
        bad.stop()
    elif hook == "timer":
        bad.strategy.ctx.clock.call_later(3 * MS, bad.strategy.scheduled)


@pytest.mark.parametrize("hook", HOOKS)
def test_a_raising_hook_stops_its_bot_only(hook, tmp_path, caplog):
    clock = SimClock(1_723_161_253 * SEC)
    ex = DemoExchange(clock, seed=11)
    ex.start()
    steps = []
    ex.feed(SYM).add_listener(lambda e: steps.append(e.ts_ns) if isinstance(e, BookUpdated) else None)
    good = Bot("good", ex, SYM, SimpleQuoter(TIGHT))
    strategy = Faulty(TIGHT)
    strategy.fail_in = hook
    strategy.armed = hook == "on_start"
    store = JournalStore(tmp_path / "j.sqlite")
    bad = Bot("bad", ex, SYM, strategy, journal=store)
    good.start()
    bad.start()
    if hook != "on_start":
        _run(clock, 20)
        assert bad.state is BotState.RUNNING and bad.open_orders()
        if hook == "on_fill":
            assert bad.pnl.fills > 0  # it does get fills: the armed one will come
        strategy.armed = True
        _trigger(hook, clock, ex, bad)
    _run(clock, 30)

    # The faulty bot stopped the normal way, with nothing left on the venue.
    assert bad.state is BotState.STOPPED and bad.failed
    assert bad.open_orders() == []
    assert not [o for o in ex.open_orders() if bad.orders.owns(o.client_order_id)]
    where = "timer callback Faulty.scheduled" if hook == "timer" else hook
    assert bad.error == f"ValueError in {where}: boom in {hook}"
    assert bad.status().error == bad.error
    records = list(store.records(bot="bad"))
    kinds = [r["kind"] for r in records]
    assert kinds[0] == "start" and kinds[-1] == "stopped" and records[-1]["open_orders"] == 0
    error = next(r for r in records if r["kind"] == "error")
    assert error["error"] == bad.error and error["where"] == where
    assert error["traceback"].startswith("Traceback (most recent call last)")
    assert "_maybe_raise" in error["traceback"] and "ValueError: boom in" in error["traceback"]
    assert any(r.exc_info and r.getMessage().startswith(bad.error) for r in caplog.records
               if r.name == "colibri.bot.bad")

    # The venue keeps stepping and the other bot keeps quoting and trading.
    fills, stepped, bad_fills = good.pnl.fills, len(steps), bad.pnl.fills
    _run(clock, 60)
    assert len(steps) - stepped > 2000  # a step every 20 ms
    assert good.state is BotState.RUNNING and not good.failed
    assert good.pnl.fills > fills
    assert {o.side.value for o in good.open_orders()} == {"buy", "sell"}
    assert bad.open_orders() == [] and bad.pnl.fills == bad_fills  # a failed bot never trades again


def test_a_failure_during_the_failure_stop_is_recorded_too(tmp_path):
    clock = SimClock(1_723_161_253 * SEC)
    ex = DemoExchange(clock, seed=11)
    ex.start()

    class Twice(Faulty):
        def on_stop(self) -> None:
            super().on_stop()
            raise RuntimeError("and again")

    strategy = Twice(TIGHT)
    strategy.fail_in = "on_book"
    store = JournalStore(tmp_path / "j.sqlite")
    bot = Bot("bad", ex, SYM, strategy, journal=store)
    bot.start()
    _run(clock, 5)
    strategy.armed = True
    _run(clock, 5)
    assert bot.state is BotState.STOPPED and bot.open_orders() == []
    assert bot.error.startswith("ValueError in on_book")
    assert bot.errors == [bot.error, "RuntimeError in on_stop: and again"]
    assert [r["where"] for r in store.records(bot="bad") if r["kind"] == "error"] == [
        "on_book", "on_stop"]


def test_an_invalid_parameter_edit_is_refused_not_a_failure():
    from app.config.schema import ConfigError

    clock = SimClock(1_723_161_253 * SEC)
    ex = DemoExchange(clock, seed=11)
    ex.start()
    bot = Bot("b", ex, SYM, SimpleQuoter(TIGHT))
    bot.start()
    with pytest.raises(ConfigError):
        bot.update_params({"bid_spread_bps": "-1"})
    assert bot.state is BotState.RUNNING and not bot.failed


def test_a_raising_listener_does_not_stop_the_others_nor_the_publisher(caplog):
    source = EventSource()
    seen = []

    def broken(event):
        raise KeyError("listener bug")

    source.add_listener(seen.append)
    source.add_listener(broken)
    source.add_listener(lambda e: seen.append(("after", e)))
    with caplog.at_level(logging.ERROR, logger="app.interfaces.venue"):
        source._emit("e1")
        source._emit("e2")
    assert seen == ["e1", ("after", "e1"), "e2", ("after", "e2")]
    failures = [r for r in caplog.records if r.name == "app.interfaces.venue"]
    assert len(failures) == 2 and failures[0].exc_info and "broken" in failures[0].getMessage()


def test_a_raising_view_listener_leaves_the_demo_exchange_stepping():
    clock = SimClock(1_723_161_253 * SEC)
    ex = DemoExchange(clock, seed=11)
    ex.start()
    bot = Bot("b", ex, SYM, SimpleQuoter(TIGHT))

    def broken_view(event):
        raise ZeroDivisionError("a chart bug")

    ex.feed(SYM).add_listener(broken_view)
    ex.add_listener(broken_view)
    bot.start()
    _run(clock, 60)
    assert bot.state is BotState.RUNNING and bot.pnl.fills > 0
    assert all(o.status is not OrderStatus.FAILED for o in bot.open_orders())


def test_in_the_workspace_a_failing_bot_leaves_the_other_bots_and_the_venues_running(tmp_path, monkeypatch):
    from app.wiring.workspace import Workspace, build_workspace
    from strategies import registry

    class FaultyOnBook(Faulty):
        name = "faulty"
        fail_in = "on_book"

    monkeypatch.setitem(registry.STRATEGIES, "faulty", FaultyOnBook)
    clock = SimClock(1_723_161_253 * SEC)
    ws = build_workspace(clock, seed=5, journal=JournalStore(tmp_path / "j.sqlite"))
    ws.start()
    good = ws.create_bot("simple_quoter", TIGHT, connector="demo")
    on_paper = ws.create_bot("simple_quoter", {**TIGHT, "bid_spread_bps": 1, "ask_spread_bps": 1}, connector="paper")
    bad = ws.create_bot("faulty", TIGHT, connector="demo")
    for bot in (good, on_paper, bad):
        bot.start()
    _run(clock, 10)
    bad.strategy.armed = True
    _run(clock, 10)
    assert bad.state is BotState.STOPPED and bad.error == "ValueError in on_book: boom in on_book"
    assert ws.running_bots() == [good, on_paper]
    assert [r["kind"] for r in ws.journal.records(bot=bad.name)].count("error") == 1

    fills = good.pnl.fills
    book = ws.demo.feed(ws.demo_symbol).book
    before = (book.best_bid_ticks, book.best_ask_ticks, clock.now_ns())
    _run(clock, 60)
    assert ws.demo.health()["state"] == "live"
    assert (book.best_bid_ticks, book.best_ask_ticks) != before[:2]  # the market moved on
    assert good.pnl.fills > fills and good.state is BotState.RUNNING
    assert on_paper.state is BotState.RUNNING and len(on_paper.open_orders()) == 2
    done = []
    ws.stop_all(lambda: done.append(True))  # the failed bot does not hold up a stop of all
    _run(clock, 1)
    assert done and all(b.state is BotState.STOPPED for b in ws.bots.values())
    assert ws.demo.open_orders() == [] and ws.paper.open_orders() == []


def test_a_backtest_whose_bot_failed_says_so_and_does_not_exit_0(tmp_path, capsys):
    """The report carries the failure (`bot_error`), the summary says it, the exit status is 1."""
    import json

    from app.cli import main

    config = tmp_path / "perp_on_spot.yaml"
    config.write_text("venue: {kind: demo}\nsymbol: BTC/USDT\nstrategy: {name: perpetual_market_making}\n")
    report = tmp_path / "r.json"
    assert main(["backtest", "--config", str(config), "--duration", "10", "--report", str(report)]) == 1
    assert "the bot failed and stopped:" in capsys.readouterr().out
    assert json.loads(report.read_text())["bot_error"]

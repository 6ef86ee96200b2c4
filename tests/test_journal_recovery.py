"""Recovery from the journal after a restart.

- Against the Connector contract: a small fake venue whose orders outlive the process
  (query_order, query_open_orders, adopt_order), so every case is decided by hand.
- After SIGKILL of a real headless run on the demo exchange (in-process: its orders die
  with the process, and recovery must say so).
- Against the local rehearsal exchange through the ccxt connector, when that exists.
"""
import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from app.config.schema import Schema
from app.domain import Balance, Fill, Order, OrderEvent, OrderFilled, OrderStatus, OrderType, OrderUpdated, Side
from app.domain.order import bot_tag
from app.engine.bot import Bot
from app.engine.journal import RESUME, STOP, JournalStore, finish_recovery, recover
from app.interfaces.clock import SimClock
from app.interfaces.strategy import Strategy
from app.interfaces.venue import Connector
from app.wiring.workspace import Workspace
from strategies.simple_quoter import SimpleQuoter
from tests.paper_support import INST, ScriptedFeed

MS = 1_000_000
ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "configs" / "demo.yaml"


class FakeServer:
    """The venue's side, kept across "restarts" (new FakeVenue objects on the same server)."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.drop_next = False  # the next request is lost on its way


class FakeVenue(Connector):
    def __init__(self, server: FakeServer, clock: SimClock, name: str = "fakex") -> None:
        super().__init__()
        self.name = name
        self.clock = clock
        self.server = server
        self._feed = ScriptedFeed(INST, clock)
        self._mine: dict[str, Order] = {}
        self.adopted: list[str] = []

    @property
    def instruments(self):
        return {INST.symbol: INST}

    def feed(self, symbol):
        return self._feed

    def balances(self):
        return {"USD": Balance("USD", Decimal("10000")), "TST": Balance("TST", Decimal("100"))}

    def open_orders(self, symbol=None):
        return [o for o in self._mine.values() if not o.status.is_done]

    def get_order(self, client_order_id):
        return self._mine.get(client_order_id)

    def place_order(self, symbol, side, order_type, amount_lots, price_ticks=0, *, client_order_id=None):
        now = self.clock.now_ns()
        order = Order(client_order_id, symbol, side, order_type, price_ticks, amount_lots, now, updated_ns=now)
        self._mine[client_order_id] = order
        if self.server.drop_next:
            self.server.drop_next = False
            return order
        self.server.orders[client_order_id] = replace(order, status=OrderStatus.OPEN, history=[])

        def ack() -> None:
            if order.status is OrderStatus.PENDING_CREATE:
                order.transition(OrderStatus.OPEN, self.clock.now_ns())
                self._emit(OrderUpdated(self.name, order, self.clock.now_ns()))

        self.clock.call_later(MS, ack)
        return order

    def cancel_order(self, client_order_id):
        order = self._mine.get(client_order_id)
        if order is None or order.status.is_done:
            self._reject_cancel(client_order_id, "unknown order")
            return
        remote = self.server.orders.get(client_order_id)
        if remote is not None:
            remote.status = OrderStatus.CANCELLED
        order.transition(OrderStatus.CANCELLED, self.clock.now_ns())
        self._emit(OrderUpdated(self.name, order, self.clock.now_ns()))

    async def query_order(self, client_order_id, symbol=None):
        remote = self.server.orders.get(client_order_id)
        return replace(remote, history=[]) if remote is not None else None

    async def query_open_orders(self, symbol=None):
        return [replace(o, history=[]) for o in self.server.orders.values() if not o.status.is_done]

    def adopt_order(self, order):
        self._mine[order.client_order_id] = order
        self.adopted.append(order.client_order_id)

    def trade(self, client_order_id, lots, trade_id):
        """The venue fills part of an order this process tracks and reports it."""
        order = self._mine[client_order_id]
        remote = self.server.orders[client_order_id]
        remote.filled_lots += lots
        done = order.filled_lots + lots == order.amount_lots
        order.apply(OrderEvent(client_order_id, OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED,
                               self.clock.now_ns(), filled_lots=lots))
        fill = Fill(trade_id, client_order_id, order.symbol, order.side, INST.ticks_to_price(order.price_ticks),
                    INST.lots_to_amount(lots), Decimal(0), "USD", True, self.clock.now_ns())
        self._emit(OrderFilled(self.name, order, fill))

    def start(self):
        self._feed.start()

    def stop(self):
        self._feed.stop()


def _crashed_run(path: Path, server: FakeServer) -> dict[str, str]:
    """Run 1: a bot quotes on the fake venue, then the process "dies" (no clean stop).
    Returns the client ids of each case by letter."""
    clock = SimClock(MS)
    venue = FakeVenue(server, clock)
    venue.start()
    store = JournalStore(path)
    bot = Bot("r", venue, INST.symbol, SimpleQuoter({"order_amount": "0.1"}), journal=store)
    venue.feed(INST.symbol).set_levels(bids={10000: 5000}, asks={10002: 5000})
    bot.start()
    clock.run(until_ns=clock.now_ns() + 5 * MS)
    bid, ask = sorted(bot.open_orders(), key=lambda o: o.side is Side.SELL)
    far = bot.orders.place_order(INST.symbol, Side.BUY, OrderType.LIMIT, 100, 9000)
    clock.run(until_ns=clock.now_ns() + 5 * MS)
    server.drop_next = True
    lost = bot.orders.place_order(INST.symbol, Side.BUY, OrderType.LIMIT, 100, 9001)
    assert store.order(lost.client_order_id).status is OrderStatus.PENDING_CREATE  # the intent, not more
    store.close(clean=False)  # the process is killed: no clean-stop marker
    # While Colibri is down: the ask fills on the venue, the far bid vanishes from it, and
    # an order with the bot's tag shows up that the journal never saw; another program's too.
    server.orders[ask.client_order_id].status = OrderStatus.FILLED
    server.orders[ask.client_order_id].filled_lots = ask.amount_lots
    del server.orders[far.client_order_id]
    stranger = f"cbzzzzzzzz{bot_tag('r')}000001"
    server.orders[stranger] = Order(stranger, INST.symbol, Side.SELL, OrderType.LIMIT, 10100, 100, 1,
                                    status=OrderStatus.OPEN)
    server.orders["their-order-1"] = Order("their-order-1", INST.symbol, Side.BUY, OrderType.LIMIT, 9500, 100, 1,
                                           status=OrderStatus.OPEN)
    return {"open": bid.client_order_id, "filled": ask.client_order_id, "gone": far.client_order_id,
            "lost": lost.client_order_id, "stranger": stranger}


def _restarted(tmp_path: Path, venue_type: type | None = None, **venue_options):  # noqa: ANN202
    """A crashed run (`_crashed_run`), then what the next process opens: (journal path,
    server, ids, the journal, a venue of `venue_type` on the same server)."""
    path = tmp_path / "j.sqlite"
    server = FakeServer()
    ids = _crashed_run(path, server)
    return path, server, ids, JournalStore(path), (venue_type or FakeVenue)(server, SimClock(100 * MS), **venue_options)


def test_recovery_resolves_each_journaled_order_with_the_venue_then_stops_and_cancels(tmp_path):
    path, server, ids, store, venue = _restarted(tmp_path)
    report = asyncio.run(recover(store, {"fakex": venue}))
    assert len(report.unclean_sessions) == 1 and [b.name for b in report.bots] == ["r"]
    outcome = {f.client_order_id: (f.outcome, f.detail) for f in report.orders}
    assert outcome[ids["open"]] == ("adopted", "open on the venue; adopted")
    assert outcome[ids["filled"]][0] == "filled" and "0.1 filled meanwhile" in outcome[ids["filled"]][1]
    assert outcome[ids["gone"]][0] == "failed" and "no longer has it" in outcome[ids["gone"]][1]
    assert outcome[ids["lost"]][0] == "failed" and "never got it" in outcome[ids["lost"]][1]
    assert venue.adopted == [ids["open"]]
    assert [(f.client_order_id, f.bot, f.action) for f in report.found] == [(ids["stranger"], "r", "reported")]
    assert server.orders[ids["open"]].status is OrderStatus.OPEN  # nothing cancelled before the choice

    asyncio.run(finish_recovery(report, store, {"fakex": venue}, STOP))
    assert server.orders[ids["open"]].status is OrderStatus.CANCELLED
    assert server.orders[ids["stranger"]].status is OrderStatus.CANCELLED
    assert server.orders["their-order-1"].status is OrderStatus.OPEN  # not ours: never touched
    status = {cid: store.order(cid).status for cid in ids.values()}
    assert status == {ids["open"]: OrderStatus.CANCELLED, ids["filled"]: OrderStatus.FILLED,
                      ids["gone"]: OrderStatus.FAILED, ids["lost"]: OrderStatus.FAILED,
                      ids["stranger"]: OrderStatus.CANCELLED}
    assert store.orders(open_only=True) == [] and store.bot("r").state == "stopped"
    assert report.still_open == [] and store.unclean_sessions() == []
    assert ("recovery", "recovery") in [(s, src) for s, src in store.order_events(ids["lost"])] or \
        store.order_events(ids["lost"])[-1] == ("failed", "recovery")
    summary = report.summary()
    assert "ended without a clean stop" in summary and "Bots running then: r (simple_quoter on fakex" in summary
    assert "4 orders the journal knew as open" in summary and "1 still open on the venue and adopted" in summary
    assert "1 order open on the venue carry one of our bot tags" in summary and "every cancel was confirmed" in summary
    recovery = [r for r in store.records() if r["kind"] == "recovery"]
    assert len(recovery) == 1 and recovery[0]["summary"] == summary
    # Nothing is left to recover at the next start.
    store.close()
    store = JournalStore(path)
    assert not asyncio.run(recover(store, {"fakex": FakeVenue(server, SimClock(MS))})).needed


def test_recovery_then_resume_hands_the_open_orders_to_the_recreated_bot(tmp_path):
    path = tmp_path / "j.sqlite"
    server = FakeServer()
    ids = _crashed_run(path, server)
    store = JournalStore(path)
    clock = SimClock(100 * MS)
    venue = FakeVenue(server, clock)
    venue.start()
    workspace = Workspace(clock, journal=store)
    workspace.add_connector(venue)
    report = asyncio.run(recover(store, workspace.connectors))
    asyncio.run(finish_recovery(report, store, workspace.connectors, RESUME))
    assert sorted(o.client_order_id for o in report.adopted["r"]) == sorted([ids["open"], ids["stranger"]])
    assert store.order(ids["stranger"]).status is OrderStatus.OPEN and "adopted" in store.order(ids["stranger"]).reason
    assert "Chosen: resume the bots (2 adopted orders handed to them)" in report.summary()
    started, problems = workspace.resume_bots(report)
    assert problems == [] and [b.name for b in started] == ["r"]
    bot = workspace.bots["r"]
    # The resumed bot manages them like its own: its strategy keeps or replaces them (a
    # replaced one is cancelled through the bot, which journals it), and stopping cancels
    # what is left on the venue.
    for cid in (ids["open"], ids["stranger"]):
        assert bot.orders.owns(cid) or store.order_events(cid)[-1] == ("cancelled", "venue")
    venue.feed(INST.symbol).set_levels(bids={10000: 5000}, asks={10002: 5000})
    clock.run(until_ns=clock.now_ns() + 5 * MS)
    bot.stop()
    clock.run(until_ns=clock.now_ns() + 5 * MS)
    assert bot.state.value == "stopped"
    assert server.orders[ids["open"]].status is OrderStatus.CANCELLED
    assert server.orders[ids["stranger"]].status is OrderStatus.CANCELLED
    assert store.orders(open_only=True) == []


def test_fills_of_adopted_orders_are_journaled_while_no_bot_owns_them_and_counted_once_after(tmp_path):
    """Between recovery's adoption and the bot taking an order (the user choosing, the bot
    being built) the order trades on: each fill is journaled then, exactly once, and after
    the hand-over the bot journals and counts the next ones (as the headless run does)."""
    path, _server, ids, store, venue = _restarted(tmp_path)
    report = asyncio.run(recover(store, {"fakex": venue}))
    venue.trade(ids["open"], 20, "t-before-choice")
    asyncio.run(finish_recovery(report, store, {"fakex": venue}, RESUME))
    venue.trade(ids["stranger"], 30, "t-found-before-bot")
    assert _read(path, "SELECT trade_id, bot FROM fills WHERE trade_id LIKE 't-%' ORDER BY trade_id") == [
        ("t-before-choice", "r"), ("t-found-before-bot", "r")]
    assert store.order(ids["open"]).filled == INST.lots_to_amount(20)
    assert store.order(ids["stranger"]).filled == INST.lots_to_amount(30)
    bot = Bot("r", venue, INST.symbol, Idle({}), journal=store)
    for order in report.adopted["r"]:
        report.hand_over(order.client_order_id)
        bot.adopt(order.client_order_id)
    bot.start()  # it listens from here
    assert bot.orders.owns(ids["open"]) and report.keeper.kept == {} and all(listener is not report.keeper for listener, _kinds in venue._listeners)
    venue.trade(ids["open"], 10, "t-after")
    assert _read(path, "SELECT bot FROM fills WHERE trade_id = 't-after'") == [("r",)]
    assert bot.pnl.fills == 1  # counted: the keeper had let go, so the fill was new to the journal
    assert store.order(ids["open"]).filled == INST.lots_to_amount(30)


def test_a_stop_after_recovery_journals_the_fills_that_came_while_the_user_chose(tmp_path):
    path, _server, ids, store, venue = _restarted(tmp_path)
    report = asyncio.run(recover(store, {"fakex": venue}))
    venue.trade(ids["open"], 25, "t-while-choosing")
    asyncio.run(finish_recovery(report, store, {"fakex": venue}, STOP))
    assert ("t-while-choosing",) in _read(path, "SELECT trade_id FROM fills")
    assert store.order(ids["open"]).status is OrderStatus.CANCELLED
    assert store.order(ids["open"]).filled == INST.lots_to_amount(25)
    assert report.keeper.kept == {}


class FlakyTrades(FakeVenue):
    """A venue whose trade list fails `failures` times first (a 429, a 5xx, a timeout)."""

    def __init__(self, *args, failures: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.failures = failures

    async def query_fills(self, client_order_id, symbol, exchange_order_id=None):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("503 Service Unavailable")
        order = self.server.orders[client_order_id]
        return [Fill("t-meanwhile", client_order_id, symbol, order.side, INST.ticks_to_price(order.price_ticks),
                     INST.lots_to_amount(order.filled_lots), Decimal(0), "USD", True, 1)]


@pytest.mark.parametrize("failures, journaled", [(2, True), (99, False)])
def test_trades_made_while_down_are_fetched_again_after_a_failure_and_never_dropped(tmp_path, monkeypatch,
                                                                                    failures, journaled):
    """A failed trade list is asked again; if the venue never answers, the order stays open in
    the journal (the next start asks again) instead of final without its trades."""
    import app.engine.journal.recovery as recovery

    monkeypatch.setattr(recovery, "RETRY_DELAYS_S", (0.0, 0.0, 0.0))
    path, _server, ids, store, venue = _restarted(tmp_path, FlakyTrades, failures=failures)
    report = asyncio.run(recover(store, {"fakex": venue}))
    finding = next(f for f in report.orders if f.client_order_id == ids["filled"])
    trades = {t for (t,) in _read(path, "SELECT trade_id FROM fills")}
    if journaled:
        assert finding.outcome == "filled" and "1 trade(s) journaled from the venue" in finding.detail
        assert "t-meanwhile" in trades and store.order(ids["filled"]).status is OrderStatus.FILLED
    else:
        assert finding.outcome == "unresolved" and "t-meanwhile" not in trades
        assert store.order(ids["filled"]).status is OrderStatus.OPEN  # asked again at the next start
        assert any("could not be fetched" in p and ids["filled"] in p for p in report.problems)


class Idle(Strategy):
    """Leaves its orders alone: what the bot does with a resumed order is not the question."""

    name = "idle"
    title = "Idle"
    schema = Schema(())

    def on_book(self, event) -> None:
        pass


# -- a real process, killed ------------------------------------------------------------------------
def _read(path: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def _start_and_kill(path: Path) -> tuple[set[str], set[str], set[str]]:
    """Runs the headless demo on `path` until it has orders open and a fill, then SIGKILLs
    it. Returns (every order id, the open ones, every trade id) committed before the kill."""
    proc = subprocess.Popen([sys.executable, "main.py", "run", "--config", str(DEMO), "--journal", str(path)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            time.sleep(0.2)
            assert proc.poll() is None, proc.stderr.read().decode()
            if not path.exists():
                continue
            try:
                fills = _read(path, "SELECT count(*) FROM fills")[0][0]
                live = _read(path, "SELECT count(*) FROM orders WHERE status IN ('open', 'pending_create')")[0][0]
            except sqlite3.OperationalError:
                continue  # the schema is being created
            if fills >= 1 and live >= 1:
                break
        else:
            pytest.fail("the demo run never had an open order and a fill")
        orders = {r[0] for r in _read(path, "SELECT client_order_id FROM orders")}
        trades = {r[0] for r in _read(path, "SELECT trade_id FROM fills")}
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    still = {r[0] for r in _read(path, "SELECT client_order_id FROM orders WHERE status NOT IN "
                                        "('filled', 'cancelled', 'rejected', 'failed')")}
    return orders, still, trades


def _run(path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", "run", "--config", str(DEMO), "--journal", str(path), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_after_sigkill_intents_and_fills_survive_and_the_next_run_recovers_then_stops(tmp_path):
    path = tmp_path / "j.sqlite"
    orders, open_at_kill, trades = _start_and_kill(path)
    # What was committed before the kill is all there: every intent and every fill.
    assert orders <= {r[0] for r in _read(path, "SELECT client_order_id FROM orders")}
    assert trades <= {r[0] for r in _read(path, "SELECT trade_id FROM fills")} and trades
    assert open_at_kill
    assert _read(path, "SELECT clean, stopped_ns FROM sessions") == [(0, None)]

    done = _run(path)  # --on-restart stop is the default
    assert done.returncode == 0, done.stderr
    assert "recovery: The previous run started" in done.stdout and "ended without a clean stop" in done.stdout
    assert "Bots running then: demo-quoter (simple_quoter on demo BTC/USDT)" in done.stdout
    assert "stopped after recovery: the bot was not started" in done.stdout
    assert "Colibri: running" in done.stdout and "pnl" not in done.stdout  # never quoted
    # The demo exchange lived in the killed process: its orders are gone with it.
    store = JournalStore(path, read_only=True)
    for cid in open_at_kill:
        row = store.order(cid)
        assert row.status is OrderStatus.FAILED
        assert "the venue no longer has it: demo ran inside the process that ended" == row.reason
    assert store.orders(open_only=True) == []
    assert len(store.fills()) >= len(trades)
    sessions = store.sessions()
    assert not sessions[0].clean and sessions[0].recovered_ns is not None and sessions[1].clean
    assert store.bot("demo-quoter").state == "stopped"
    store.close()

    again = _run(path, "--duration", "2")  # clean now: runs without a recovery
    assert again.returncode == 0, again.stderr
    assert "recovery:" not in again.stdout and "stopping: cancelling all open orders" in again.stdout


def test_after_sigkill_resume_recovers_and_runs_the_bot_again(tmp_path):
    path = tmp_path / "j.sqlite"
    _orders, open_at_kill, _trades = _start_and_kill(path)
    done = _run(path, "--on-restart", "resume", "--duration", "2")
    assert done.returncode == 0, done.stderr
    assert "recovery: " in done.stdout and "Chosen: resume the bots (0 adopted orders" in done.stdout
    assert "marked failed" in done.stdout and "stopping: cancelling all open orders" in done.stdout
    store = JournalStore(path, read_only=True)
    assert all(store.order(cid).status is OrderStatus.FAILED for cid in open_at_kill)
    assert [r["kind"] for r in store.records(bot="demo-quoter")].count("start") == 2
    assert store.orders(open_only=True) == [] and store.bot("demo-quoter").state == "stopped"
    store.close()


# -- the rehearsal exchange through the ccxt connector ------------------------------------------------
@pytest.mark.timeout(180)
def test_recovery_against_the_rehearsal_exchange_adopts_then_cancels_orders_left_by_a_dead_run(tmp_path):
    """Run 1 quotes on the local rehearsal exchange (its --state keeps orders across
    restarts) and "dies": no clean stop, no cancel. Run 2 opens the same journal and state:
    recovery asks the exchange through the ccxt connector, adopts the orders still open
    there, and the default choice cancels them on the exchange."""
    from app.interfaces.clock import RealClock
    from app.wiring.live_accounts import REHEARSAL_ID, start_rehearsal
    from app.wiring.workspace import build_workspace

    path, state = tmp_path / "j.sqlite", tmp_path / "state"

    async def first_run() -> set[str]:
        store = JournalStore(path)
        workspace = build_workspace(RealClock(asyncio.get_running_loop()), journal=store)
        workspace.start()
        rehearsal = await start_rehearsal(workspace, state_dir=state)
        try:
            bot = workspace.create_bot("simple_quoter", {"order_amount": "0.01", "bid_spread_bps": "20",
                                                         "ask_spread_bps": "20"}, connector=REHEARSAL_ID, name="live")
            bot.start()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (
                    len(bot.open_orders()) >= 2 and all(o.status is OrderStatus.OPEN for o in bot.open_orders())):
                await asyncio.sleep(0.05)
            ids = {o.client_order_id for o in bot.open_orders()}
            assert len(ids) >= 2
            store.close(clean=False)  # the process dies here: the journal has no clean-stop marker
            bot.journal.close()
            del workspace.bots["live"]  # and the bot with it, its orders left on the exchange
            bot.feed.remove_listener(bot._on_event)
            bot.connector.remove_listener(bot._on_event)
        finally:
            await rehearsal.stop()  # the exchange keeps the open orders in its state folder
            workspace.shutdown()
        return ids

    async def second_run(ids: set[str]):
        store = JournalStore(path)
        workspace = build_workspace(RealClock(asyncio.get_running_loop()), journal=store)
        workspace.start()
        rehearsal = await start_rehearsal(workspace, state_dir=state)
        try:
            live = {r.client_order_id for r in rehearsal.server.venue._live.values()}
            assert ids <= live  # still open on the exchange after its restart
            report = await recover(store, workspace.connectors)
            adopted = {f.client_order_id for f in report.orders if f.outcome == "adopted"}
            assert adopted == ids and [b.name for b in report.bots] == ["live"]
            await finish_recovery(report, store, workspace.connectors, STOP)
            assert report.still_open == []
            assert not ids & {r.client_order_id for r in rehearsal.server.venue._live.values()}
            assert {store.order(cid).status for cid in ids} == {OrderStatus.CANCELLED}
            assert store.orders(open_only=True) == [] and store.unclean_sessions() == []
        finally:
            await rehearsal.stop()
            workspace.shutdown()
            store.close()
        return report

    ids = asyncio.run(first_run())
    report = asyncio.run(second_run(ids))
    assert "still open on the venue and adopted" in report.summary()

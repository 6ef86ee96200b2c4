"""The bots table model: qtmodeltester, and rows signalled only when their text changes."""
from app.engine.bot import Bot
from app.interfaces.clock import SimClock
from connectors.paper.connector import PaperConnector
from strategies.simple_quoter import SimpleQuoter
from tests.paper_support import INST, ScriptedFeed
from ui.bots.bots_model import BotsModel

MS = 1_000_000


def make_bots(n: int):
    clock = SimClock(MS)
    feed = ScriptedFeed(INST, clock)
    feed.set_levels(bids={10000: 5000}, asks={10002: 5000})
    paper = PaperConnector(feed, {"USD": "10000", "TST": "100"}, clock, order_latency_ns=MS)
    paper.start()
    bots = [Bot(f"b{i}", paper, INST.symbol, SimpleQuoter({"order_amount": "0.1"})) for i in range(n)]
    return clock, feed, bots


def test_bots_model_passes_qtmodeltester(qtmodeltester):
    clock, feed, bots = make_bots(3)
    model = BotsModel()
    model.refresh(bots[:1])
    qtmodeltester.check(model)
    bots[0].start()
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    model.refresh(bots)
    qtmodeltester.check(model)
    assert model.rowCount() == 3 and model.bot_at(2) is bots[2]


def test_only_changed_rows_are_signalled(qtbot):
    clock, feed, bots = make_bots(2)
    model = BotsModel()
    model.refresh(bots)
    changed = []
    model.dataChanged.connect(lambda top, bottom: changed.append((top.row(), bottom.row())))
    model.refresh(bots)
    assert changed == []
    bots[1].start()
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    model.refresh(bots)
    assert changed == [(1, 1)]
    assert model.data(model.index(1, 3)) == "running"


class _FailsOnBook(SimpleQuoter):
    armed = False

    def on_book(self, event) -> None:
        super().on_book(event)
        if self.armed:
            raise ValueError("bad tick maths")


def test_a_failed_bot_shows_its_error_in_the_table(qtmodeltester):
    from PySide6.QtCore import Qt

    clock, feed, bots = make_bots(1)
    failing = Bot("f", bots[0].connector, INST.symbol, _FailsOnBook({"order_amount": "0.1"}))
    model = BotsModel()
    bots[0].start()
    failing.start()
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    model.refresh([bots[0], failing])
    assert model.data(model.index(1, 3)) == "running"
    assert model.data(model.index(1, 3), Qt.ItemDataRole.ToolTipRole) is None
    changed = []
    model.dataChanged.connect(lambda top, bottom: changed.append((top.row(), bottom.row())))
    failing.strategy.armed = True
    feed.set_levels(bids={10001: 5000})  # the failing bot raises in on_book and starts stopping
    model.refresh([bots[0], failing])
    assert (1, 1) in changed
    assert model.data(model.index(1, 3)) == "failed, stopping: ValueError in on_book: bad tick maths"
    clock.run(until_ns=clock.now_ns() + 500 * MS)  # its cancels are confirmed
    model.refresh([bots[0], failing])
    assert model.data(model.index(1, 3)) == "failed: ValueError in on_book: bad tick maths"
    assert "ValueError in on_book: bad tick maths" in model.data(model.index(1, 3), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(1, 3), Qt.ItemDataRole.ForegroundRole) is not None
    assert model.data(model.index(1, 7)) == "0"  # no order left
    assert model.data(model.index(0, 3)) == "running"  # the other bot is untouched
    assert model.data(model.index(0, 3), Qt.ItemDataRole.ForegroundRole) is None
    qtmodeltester.check(model)


def test_the_bots_panel_shows_the_selected_bots_failure(qtbot):
    from app.wiring.workspace import Workspace, build_workspace
    from ui.bots.bots_dock import BotsPanel

    clock = SimClock(1_723_161_253 * 1_000_000_000)
    workspace = build_workspace(clock)
    workspace.start()
    panel = BotsPanel(workspace)
    qtbot.addWidget(panel)
    panel.timer.stop()
    ok = workspace.create_bot("simple_quoter", {"order_amount": "0.001"})
    ok.start()
    failing = Bot("bad", workspace.demo, workspace.demo_symbol, _FailsOnBook({"order_amount": "0.001"}))
    workspace.bots["bad"] = failing
    failing.start()
    clock.run(until_ns=clock.now_ns() + 1_000 * MS)
    failing.strategy.armed = True
    clock.run(until_ns=clock.now_ns() + 1_000 * MS)
    panel.model.refresh(list(workspace.bots.values()))
    panel.table.selectRow(0)
    assert panel.failure.isHidden()
    panel.table.selectRow(1)
    assert not panel.failure.isHidden()
    assert "bad failed and stopped" in panel.failure.text()
    assert "ValueError in on_book: bad tick maths" in panel.failure.text()
    assert not panel.stop_button.isEnabled() and not panel.kill_button.isEnabled()
    panel.table.selectRow(0)
    assert panel.failure.isHidden()


def test_the_bot_form_shows_the_fees_and_warns_about_spreads_below_them(qtbot):
    from app.wiring.workspace import Workspace, build_workspace
    from ui.bots.bots_dock import BotsPanel

    clock = SimClock(1_723_161_253 * 1_000_000_000)
    workspace = build_workspace(clock)
    workspace.start()
    clock.run(until_ns=clock.now_ns() + 100 * MS)
    panel = BotsPanel(workspace)
    qtbot.addWidget(panel)
    panel.timer.stop()
    panel.show()
    panel.form.set_values({"bid_spread_bps": "2", "ask_spread_bps": "2"})
    panel.refresh()
    assert "fees maker 0.1% / taker 0.1%" in panel.fees.text() and "BTC/USDT" in panel.fees.text()
    assert not panel.fee_warning.isHidden()
    assert "below the round-trip maker fee (20 bp on BTC/USDT)" in panel.fee_warning.text()
    panel.form.set_values({"bid_spread_bps": "10", "ask_spread_bps": "10"})
    panel.refresh()
    assert panel.fee_warning.isHidden()


def test_views_follow_the_workspace_announcements(qtbot):
    """A connector added or removed and a bot added or stopped reach the bots panel at
    once, through the workspace's events (the panel's refresh timer is stopped)."""
    from app.wiring.workspace import BOT_ADDED, BOT_STATE, CONNECTOR_ADDED, CONNECTOR_REMOVED, build_workspace
    from connectors.paper.connector import PaperConnector
    from ui.bots.bots_dock import BotsPanel

    clock = SimClock(1_723_161_253 * 1_000_000_000)
    workspace = build_workspace(clock)
    seen = []
    workspace.add_listener(lambda e: seen.append((e.kind, e.name)))
    workspace.start()
    panel = BotsPanel(workspace)
    qtbot.addWidget(panel)
    panel.timer.stop()
    extra = PaperConnector(workspace.demo.feed(workspace.demo_symbol), {"USDT": 1000}, clock, name="paper-2")
    workspace.add_connector(extra)
    names = [panel.account.itemText(i) for i in range(panel.account.count())]
    assert names == ["demo", "paper", "demo-lagged", "paper-2"]
    bot = workspace.create_bot("simple_quoter", {"order_amount": "0.001"}, connector="paper-2")
    assert panel.model.rowCount() == 1
    bot.start()
    assert panel.model.data(panel.model.index(0, 3)) == "running"
    import pytest as _pytest

    with _pytest.raises(ValueError, match="used by running bots: bot-1"):
        workspace.remove_connector("paper-2")
    bot.stop()
    clock.run(until_ns=clock.now_ns() + 1_000 * MS)
    assert panel.model.data(panel.model.index(0, 3)) == "stopped"
    workspace.remove_connector("paper-2")
    assert panel.account.count() == 3
    assert seen[:3] == [(CONNECTOR_ADDED, "paper-2"), (BOT_ADDED, "bot-1"), (BOT_STATE, "bot-1")]
    assert seen[-1] == (CONNECTOR_REMOVED, "paper-2")


def test_a_bot_whose_orders_are_all_rejected_says_so_on_its_row_and_in_the_log(qtmodeltester, caplog):
    """Every order the bot sends is refused by the venue (not enough balance): the row must
    not just say "running", and the log says it once besides each rejection."""
    from PySide6.QtCore import Qt

    from app.domain import Side
    from tests.test_risk import Manual

    clock = SimClock(MS)
    feed = ScriptedFeed(INST, clock)
    feed.set_levels(bids={10000: 5000}, asks={10002: 5000})
    paper = PaperConnector(feed, {"USD": "10", "TST": "0.01"}, clock, order_latency_ns=MS)
    paper.start()
    bot = Bot("poor", paper, INST.symbol, Manual())
    model = BotsModel()
    caplog.set_level("WARNING")
    bot.start()
    for side, ticks in ((Side.BUY, 9990), (Side.SELL, 10010), (Side.BUY, 9980), (Side.SELL, 10020)):
        bot.strategy.place(side, 1000, ticks)  # 1 TST: 100 USD or 1 TST needed
        clock.run(until_ns=clock.now_ns() + 10 * MS)
    model.refresh([bot])
    qtmodeltester.check(model)
    state = model.data(model.index(0, 3))
    assert bot.open_orders() == [] and state.startswith("running, 4 orders in a row rejected: "), state
    assert model.data(model.index(0, 3), Qt.ItemDataRole.ForegroundRole) is not None
    assert "places nothing" in model.data(model.index(0, 3), Qt.ItemDataRole.ToolTipRole)
    summaries = [r.getMessage() for r in caplog.records if "were all rejected" in r.getMessage()]
    assert len(summaries) == 1 and summaries[0].startswith("poor places nothing: its last 3 orders"), summaries

    bot.strategy.place(Side.BUY, 60, 9990)  # 0.06 TST for 6 USD: accepted, the row is plain again
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    model.refresh([bot])
    assert model.data(model.index(0, 3)) == "running"


def test_the_rejection_streak_ends_with_an_accepted_order():
    from app.engine.reject_streak import RejectStreak

    streak = RejectStreak()
    assert [streak.rejected("no funds") for _ in range(4)] == [False, False, True, False]
    assert streak.describe() == "4 orders in a row rejected: no funds"
    streak.accepted()
    assert streak.describe() == "" and streak.rejected(None) is False
    assert streak.describe() == "order rejected: no reason given"

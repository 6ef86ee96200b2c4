"""The bots table model: qtmodeltester, and rows signalled only when their text changes."""
from app.engine.bot import Bot
from app.engine.clock import SimClock
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

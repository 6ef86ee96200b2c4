"""The audit journal: every start, edit, order, fill and stop, and crash-safe reading."""
import pytest

from app.engine.bot import Bot
from app.engine.clock import SimClock
from app.engine.journal import Journal, read_journal
from connectors.paper.connector import PaperConnector
from strategies.simple_quoter import SimpleQuoter
from tests.paper_support import INST, ScriptedFeed

MS = 1_000_000


def test_a_bot_journals_its_whole_life(tmp_path):
    path = tmp_path / "bot.jsonl"
    clock = SimClock(MS)
    feed = ScriptedFeed(INST, clock)
    feed.set_levels(bids={10000: 5000}, asks={10002: 5000})
    paper = PaperConnector(feed, {"USD": "10000", "TST": "100"}, clock, order_latency_ns=MS, cancel_latency_ns=MS)
    paper.start()
    bot = Bot("j", paper, INST.symbol, SimpleQuoter({"order_amount": "0.1"}), journal=Journal(path))
    bot.start()
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    feed.trade((9990, 100_000, -1))
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    bot.update_params({"ask_spread_bps": "5"}, who="tester")
    bot.stop()
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    contents = read_journal(path)
    kinds = [r["kind"] for r in contents.records]
    assert kinds[0] == "start" and kinds[-1] == "stopped"
    cancels = [r for r in contents.records[kinds.index("stop"):] if r["kind"] == "order"]
    assert cancels and all(r["status"] in ("pending_cancel", "cancelled") for r in cancels)
    assert "fill" in kinds and "params" in kinds
    fill = next(r for r in contents.records if r["kind"] == "fill")
    assert fill["price"] == "99.98" and fill["amount"] == "0.1" and fill["maker"] is True
    edit = next(r for r in contents.records if r["kind"] == "params")
    assert edit["by"] == "tester" and edit["changes"] == {"ask_spread_bps": ["2", "5"]}
    assert contents.records[-1]["open_orders"] == 0
    assert bot.journal.closed and not contents.torn_last_line


def test_a_torn_last_line_is_skipped_but_a_torn_middle_is_an_error(tmp_path):
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    journal.write("a", x=1)
    journal.write("b", x=2)
    journal.close()
    with open(path, "a") as handle:
        handle.write('{"kind": "c", "x"')  # the crash happened here
    contents = read_journal(path)
    assert [r["kind"] for r in contents.records] == ["a", "b"] and contents.torn_last_line
    path.write_text('{"kind": "a"}\n{broken\n{"kind": "c"}\n')
    with pytest.raises(ValueError, match=r"j.jsonl:2: not a journal record"):
        read_journal(path)

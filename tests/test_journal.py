"""The audit journal: every start, edit, order, fill and stop, and crash-safe reading."""
import pytest

from app.engine.bot import Bot
from app.interfaces.clock import SimClock
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


def test_appending_after_a_crash_repairs_the_torn_last_line(tmp_path):
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    journal.write("a", x=1)
    journal.write("b", x=2)
    journal.close()
    whole = path.read_bytes()
    with open(path, "a") as handle:
        handle.write('{"kind": "c", "x"')  # the crash happened here
    journal = Journal(path)  # the next run appends
    assert journal.repaired == "torn"
    journal.write("d", x=4)
    journal.write("e", x=5)
    journal.close()
    contents = read_journal(path)
    assert [r["kind"] for r in contents.records] == ["a", "b", "d", "e"]
    assert not contents.torn_last_line
    assert path.read_bytes().startswith(whole)
    assert path.read_bytes().count(b"\n") == 4
    assert (tmp_path / "j.jsonl.torn").read_text() == '{"kind": "c", "x"\n'  # kept, not lost


def test_a_last_record_missing_only_its_newline_is_kept(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text('{"kind":"a"}\n{"kind":"b"}')
    journal = Journal(path)
    assert journal.repaired == "completed"
    journal.write("c")
    journal.close()
    assert [r["kind"] for r in read_journal(path).records] == ["a", "b", "c"]
    assert not (tmp_path / "j.jsonl.torn").exists()


def test_a_journal_that_is_one_torn_line_longer_than_a_chunk_is_emptied(tmp_path):
    path = tmp_path / "j.jsonl"
    torn = '{"kind":"a","pad":"' + "x" * 200_000
    path.write_text(torn)
    Journal(path).close()
    assert path.read_bytes() == b"" and (tmp_path / "j.jsonl.torn").read_text() == torn + "\n"
    path.write_text('{"kind":"a"}\n' + torn)
    journal = Journal(path)
    journal.write("b")
    journal.close()
    assert [r["kind"] for r in read_journal(path).records] == ["a", "b"]


def test_a_whole_or_new_journal_is_left_alone(tmp_path):
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    assert journal.repaired is None
    journal.write("a")
    journal.close()
    before = path.read_bytes()
    journal = Journal(path)
    assert journal.repaired is None
    journal.close()
    assert path.read_bytes() == before


def test_error_and_stopped_records_are_fsynced(tmp_path, monkeypatch):
    import os

    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    journal = Journal(tmp_path / "j.jsonl")
    journal.write("order")
    assert synced == []
    journal.write("error", error="boom")
    journal.write("stopped")
    assert len(synced) == 2
    journal.close()
    assert len(synced) == 3

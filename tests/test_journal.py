"""The SQLite journal: every record, intents before requests, fills once, history across
restarts, the export and the command line's refusals. Real SQLite files throughout."""
import json
import sqlite3
from decimal import Decimal

import pytest

from app.cli import main
from app.domain import Fill, OrderFilled, OrderStatus, Side
from app.engine.bot import Bot
from app.engine.journal import JournalError, JournalStore, check_journal_path
from app.engine.journal.export import csv_cell, read_csv, read_jsonl
from app.engine.journal.schema import APPLICATION_ID
from app.interfaces.clock import SimClock
from connectors.paper.connector import PaperConnector
from strategies.simple_quoter import SimpleQuoter
from tests.paper_support import INST, ScriptedFeed

MS = 1_000_000


def _paper(clock=None):
    clock = clock or SimClock(MS)
    feed = ScriptedFeed(INST, clock)
    feed.set_levels(bids={10000: 5000}, asks={10002: 5000})
    paper = PaperConnector(feed, {"USD": "10000", "TST": "100"}, clock, order_latency_ns=MS, cancel_latency_ns=MS)
    paper.start()
    return clock, feed, paper


def _life(store, name="j", clock=None):
    """A bot's short life on paper: quotes, one fill, a parameter edit, a stop."""
    clock, feed, paper = _paper(clock)
    bot = Bot(name, paper, INST.symbol, SimpleQuoter({"order_amount": "0.1"}), journal=store)
    bot.start()
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    feed.trade((9990, 100_000, -1))
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    bot.update_params({"ask_spread_bps": "5"}, who="tester")
    bot.stop()
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    return bot, paper


def test_a_bot_journals_its_whole_life(tmp_path):
    store = JournalStore(tmp_path / "j.sqlite")
    bot, _paper_ = _life(store)
    records = list(store.records(bot="j"))
    kinds = [r["kind"] for r in records]
    assert kinds[0] == "start" and kinds[-1] == "stopped"
    cancels = [r for r in records[kinds.index("stop"):] if r["kind"] == "order"]
    assert cancels and all(r["status"] in ("pending_cancel", "cancelled") for r in cancels)
    assert "fill" in kinds and "params" in kinds
    fill = next(r for r in records if r["kind"] == "fill")
    assert fill["price"] == "99.98" and fill["amount"] == "0.1" and fill["maker"] is True
    edit = next(r for r in records if r["kind"] == "params")
    assert edit["by"] == "tester" and edit["changes"] == {"ask_spread_bps": ["2", "5"]}
    assert records[-1]["open_orders"] == 0 and records[0]["balances"] == {"USD": "10000", "TST": "100"}
    # The tables: every order final, the filled one with its fill, balances at start and stop.
    orders = store.orders(bot="j")
    assert orders and not store.orders(bot="j", open_only=True)
    filled = [o for o in orders if o.status is OrderStatus.FILLED]
    assert len(filled) == 1 and filled[0].filled == Decimal("0.1")
    assert [s for s, _ in store.order_events(filled[0].client_order_id)] == ["pending_create", "pending_create",
                                                                             "open", "filled"]
    assert len(store.fills(bot="j")) == bot.pnl.fills == 1
    assert {r["reason"] for r in store.balance_snapshots(bot="j")} == {"start", "stopped"}
    assert store.bot("j").state == "stopped" and store.bot("j").params["ask_spread_bps"] == "2"
    store.close()
    assert store.closed and JournalStore(tmp_path / "j.sqlite").sessions()[0].clean


class _CheckingConnector:
    """Wraps a connector: at each place_order, reads the journal through a second SQLite
    connection, so only what was committed is visible."""

    def __init__(self, inner, path):
        self._inner = inner
        self._reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self.seen = []

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def place_order(self, symbol, side, order_type, amount_lots, price_ticks=0, *, client_order_id=None):
        row = self._reader.execute("SELECT status, side, price, amount FROM orders WHERE client_order_id = ?",
                                   (client_order_id,)).fetchone()
        self.seen.append((client_order_id, row))
        return self._inner.place_order(symbol, side, order_type, amount_lots, price_ticks,
                                       client_order_id=client_order_id)


def test_each_order_intent_is_committed_before_its_request_leaves(tmp_path):
    path = tmp_path / "j.sqlite"
    store = JournalStore(path)
    clock, feed, paper = _paper()
    checking = _CheckingConnector(paper, path)
    bot = Bot("i", checking, INST.symbol, SimpleQuoter({"order_amount": "0.1"}), journal=store)
    bot.start()
    clock.run(until_ns=clock.now_ns() + 5 * MS)
    assert len(checking.seen) >= 2
    for client_order_id, row in checking.seen:
        assert row is not None, f"{client_order_id} reached the venue before its intent was committed"
        status, side, price, amount = row
        assert status == "pending_create" and side in ("buy", "sell") and amount == "0.1" and Decimal(price) > 0
    bot.stop()
    clock.run(until_ns=clock.now_ns() + 5 * MS)


def test_a_fill_reported_twice_is_stored_and_counted_once(tmp_path):
    store = JournalStore(tmp_path / "j.sqlite")
    clock, feed, paper = _paper()
    bot = Bot("d", paper, INST.symbol, SimpleQuoter({"order_amount": "0.1"}), journal=store)
    bot.start()
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    events = []
    paper.add_listener(lambda e: events.append(e) if isinstance(e, OrderFilled) else None)
    feed.trade((9990, 100_000, -1))
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    assert len(events) == 1 and bot.pnl.fills == 1
    paper._emit(events[0])  # the venue reports the same execution again (a reconnect)
    assert bot.pnl.fills == 1 and len(store.fills()) == 1
    assert [r["kind"] for r in store.records()].count("fill") == 1
    # After a restart the bot's memory is gone: the journal still refuses the duplicate.
    again = Bot("d", paper, INST.symbol, SimpleQuoter({"order_amount": "0.1"}), journal=store)
    again.orders.adopt(events[0].fill.client_order_id)
    again._on_fill(events[0])
    assert again.pnl.fills == 0 and len(store.fills()) == 1
    # Unique per (account, symbol, trade id): another symbol's trade with the same id is new.
    other = Fill(events[0].fill.trade_id, "x", "OTHER/USD", Side.BUY, Decimal(1), Decimal(1), Decimal(0), "USD",
                 True, 1)
    journal = bot.journal
    assert store.record_fill("d", journal.account, journal.epoch, other) is True
    assert store.record_fill("d", journal.account, journal.epoch, other) is False


def test_history_survives_restarts_and_is_queryable(tmp_path):
    path = tmp_path / "j.sqlite"
    store = JournalStore(path)
    first, _ = _life(store, "h")
    store.close()
    store = JournalStore(path)  # a second run of the same bot
    second, _ = _life(store, "h", clock=SimClock(10_000 * MS))
    history = store.history("h", INST)
    assert history.fills == 2 == first.pnl.fills + second.pnl.fills
    assert history.orders == len(store.orders(bot="h")) and history.orders >= 4
    assert history.pnl.fills == 2 and history.last_price == Decimal("99.98")
    assert history.pnl.base_delta == first.pnl.base_delta + second.pnl.base_delta
    # The in-process paper venue starts its trade ids again each run: both fills are kept.
    assert len({f.fill.trade_id for f in store.fills(bot="h")}) == 1 and len(store.fills(bot="h")) == 2
    assert [f.bot for f in store.fills(account="paper", limit=1)] == ["h"]
    assert len(store.orders(bot="h", limit=3)) == 3
    assert [s.clean for s in store.sessions()] == [True, False]  # this one is still open
    with pytest.raises(KeyError):
        store.history("nobody")


def test_export_jsonl_and_csv_round_trip(tmp_path, capsys):
    path = tmp_path / "j.sqlite"
    store = JournalStore(path)
    _life(store, "a")
    _life(store, "b")
    expected = list(store.records())
    store.close()
    assert main(["journal", "export", str(path), "--out", str(tmp_path / "all.jsonl")]) == 0
    assert read_jsonl(tmp_path / "all.jsonl") == json.loads(json.dumps(expected))
    assert main(["journal", "export", str(path), "--format", "jsonl", "--bot", "b",
                 "--out", str(tmp_path / "b.jsonl")]) == 0
    only_b = read_jsonl(tmp_path / "b.jsonl")
    assert only_b == [r for r in expected if r.get("bot") == "b"] and only_b[0]["kind"] == "start"
    assert main(["journal", "export", str(path), "--format", "csv", "--out", str(tmp_path / "all.csv")]) == 0
    rows = read_csv(tmp_path / "all.csv")
    assert rows == [{k: csv_cell(v) for k, v in r.items() if csv_cell(v) != ""} for r in expected]
    assert json.loads(rows[0]["params"])["order_amount"] == "0.1"
    assert "record(s) written to" in capsys.readouterr().out


def _newer(path):
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute("PRAGMA user_version = 99")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()


def _other_program(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (x)")
    db.commit()
    db.close()


@pytest.mark.parametrize("make, says", [
    (lambda p: p.mkdir(), "is a folder"),
    (lambda p: p.write_text('{"kind":"start"}\n'), "not a Colibri journal (not an SQLite database)"),
    (_other_program, "not a Colibri journal (an SQLite database of another program)"),
    (_newer, "written by a newer Colibri (journal schema 99"),
    (lambda p: None, "no such journal"),
])
def test_journal_export_refuses_bad_input_in_one_line(tmp_path, capsys, make, says):
    path = tmp_path / "j.sqlite"
    make(path)
    assert main(["journal", "export", str(path), "--out", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and says in err and err.count("\n") == 1
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize("make, says", [
    (lambda p: p.mkdir(), "is a folder"),
    (lambda p: p.write_text('{"kind":"start"}\n'), "not a Colibri journal"),
    (_other_program, "another program"),
    (_newer, "written by a newer Colibri"),
])
def test_run_refuses_a_bad_journal_before_it_starts(tmp_path, capsys, make, says):
    path = tmp_path / "j.sqlite"
    make(path)
    assert main(["run", "--duration", "5", "--journal", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and says in captured.err and captured.err.count("\n") == 1
    assert "Colibri: running" not in captured.out


def test_export_refuses_an_unknown_bot_and_a_folder_as_output(tmp_path, capsys):
    path = tmp_path / "j.sqlite"
    store = JournalStore(path)
    _life(store, "a")
    store.close()
    assert main(["journal", "export", str(path), "--bot", "zz", "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "no bot named 'zz' (bots in this journal: a)" in capsys.readouterr().err
    assert main(["journal", "export", str(path), "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["journal", "export", str(path), "--format", "xml", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("error: argument --format")


def test_an_empty_file_becomes_a_journal_and_a_check_changes_nothing(tmp_path):
    path = tmp_path / "j.sqlite"
    path.write_bytes(b"")
    assert check_journal_path(path) == path and path.read_bytes() == b""
    store = JournalStore(path)
    assert store.session == 1 and store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()
    with pytest.raises(JournalError, match="no such journal"):
        JournalStore(tmp_path / "missing.sqlite", read_only=True)

"""Orders placed by hand: the ticket's checks and preview, and the manual desk sending them
through a bot's path (self-cross check, risk guard, journal), moving, cancelling and
flattening them, on paper trading in simulated time."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from app.domain import OrderStatus, OrderType, Side
from app.engine.bot import Bot
from app.engine.journal import JournalStore
from app.engine.manual_orders import MANUAL, ManualDesk, is_manual, manual_bot_name, owner_label
from app.engine.manual_ticket import ManualOrder, TicketError, check_ticket, parse_decimal
from app.engine.risk import parse_risk
from app.interfaces.clock import SimClock
from app.wiring.workspace import Workspace
from connectors.paper.connector import PaperConnector
from strategies.simple_quoter import SimpleQuoter
from tests.paper_support import INST, ScriptedFeed, paper_workspace

MS = 1_000_000


def order(side=Side.BUY, kind="limit", amount="1", price="100", **flags) -> ManualOrder:
    return ManualOrder("paper", INST.symbol, side, kind, D(amount), D(price) if price else None, **flags)


# -- the ticket ---------------------------------------------------------------------------------
def test_preview_shows_notional_and_maker_or_taker_fee():
    # the book: 100.00 / 100.02 (ticks of 0.01)
    passive = check_ticket(order(price="99.5"), INST, 10000, 10002)
    assert (passive.order_type, passive.price_ticks, passive.amount_lots) == (OrderType.LIMIT, 9950, 1000)
    assert passive.notional == D("99.5") and passive.maker and passive.fee == D("0.0995")
    crossing = check_ticket(order(price="100.02"), INST, 10000, 10002)
    assert not crossing.maker and crossing.fee == D("100.02") * D("0.002")
    market = check_ticket(order(Side.SELL, "market", price=None), INST, 10000, 10002)
    assert market.estimated and market.price_ticks == 10000 and not market.maker
    assert market.describe(INST) == "notional ≈ 100 USD, fee ≈ 0.2 USD (taker 0.2%)"
    assert check_ticket(order(price="99", ioc=True), INST, 10000, 10002).order_type is OrderType.IOC
    assert check_ticket(order(price="99", post_only=True), INST, 10000, 10002).order_type is OrderType.LIMIT_MAKER


@pytest.mark.parametrize("bad, reason", [
    (order(price="100.001"), "not a multiple of tick"),
    (order(amount="0.0001"), "not a multiple of lot"),
    (order(amount="0.01", price="100"), "below the minimum 5 USD"),
    (order(price="100.02", post_only=True), "would cross the best ask 100.02"),
    (order(Side.SELL, price="100", post_only=True), "would cross the best bid 100"),
    (order(price="99", post_only=True, ioc=True), "exclude each other"),
    (order(kind="market", price=None, ioc=True), "apply to limit orders"),
    (order(price=None), "needs a price"),
])
def test_ticket_refuses_what_cannot_be_sent_with_one_line(bad, reason):
    with pytest.raises(TicketError, match=reason):
        check_ticket(bad, INST, 10000, 10002)


def test_market_order_needs_the_other_side_of_the_book():
    with pytest.raises(TicketError, match="no ask in the book"):
        check_ticket(order(kind="market", price=None), INST, 10000, 0)


def test_parse_decimal_says_what_is_wrong():
    assert parse_decimal(" 1,000.5 ", "price") == D("1000.5")
    for text, reason in (("", "enter a number"), ("abc", "not a number"), ("-1", "above zero"), ("nan", "above zero")):
        with pytest.raises(TicketError, match=reason):
            parse_decimal(text, "price")


def test_names_of_manual_bots():
    name = manual_bot_name("paper", "TST/USD")
    assert is_manual(name) and owner_label(name) == MANUAL and owner_label("bot-1") == "bot-1"
    assert not is_manual("Manually")


# -- the desk on paper --------------------------------------------------------------------------
class Desk:
    def __init__(self, journal=None, risk=None) -> None:
        self.clock = SimClock(1_000 * MS)
        self.feed = ScriptedFeed(INST, self.clock)
        self.feed.set_levels(bids={10000: 5000}, asks={10002: 5000})
        self.paper = PaperConnector(self.feed, {"USD": "10000", "TST": "100"}, self.clock,
                                    order_latency_ns=MS, cancel_latency_ns=MS)
        self.paper.start()
        self.bots: list[Bot] = []
        self.desk = ManualDesk({"paper": self.paper}, journal, bots=lambda: self.bots,
                               risk=parse_risk(risk, "test") if risk else None)

    def run(self, ms: int = 10) -> None:
        self.clock.run(until_ns=self.clock.now_ns() + ms * MS)


def test_a_manual_order_goes_through_a_journaled_bot(tmp_path):
    store = JournalStore(tmp_path / "j.sqlite")
    d = Desk(store)
    placed = d.desk.place(order(price="99.9"))
    d.run()
    assert placed.status is OrderStatus.OPEN
    name = manual_bot_name("paper", INST.symbol)
    assert d.desk.owns("paper", placed.client_order_id)
    assert [o.client_order_id for o in d.desk.open_orders("paper")] == [placed.client_order_id]
    row = store.order(placed.client_order_id)
    assert row.bot == name and row.status is OrderStatus.OPEN
    assert store.order_events(placed.client_order_id)[0] == ("pending_create", "intent")  # committed before sending
    assert store.bot(name).strategy == "manual"
    # a sell at or below our own bid is refused before it leaves, as for a bot
    crossing = d.desk.place(order(Side.SELL, price="99.9"))
    assert crossing.status is OrderStatus.REJECTED and "own bid" in crossing.reason
    # a fill is journaled once, under the manual bot
    taker = d.desk.place(order(price="100.02", amount="0.5"))
    d.run()
    assert taker.status is OrderStatus.FILLED
    assert [f.bot for f in store.fills()] == [name]


def test_the_risk_guard_checks_manual_orders():
    d = Desk(risk={"max_order_size": "2"})
    refused = d.desk.place(order(amount="3", price="99"))
    assert refused.status is OrderStatus.REJECTED and refused.reason.startswith("risk: order size 3")
    assert d.desk.place(order(amount="2", price="99")).status is not OrderStatus.REJECTED


def test_move_cancels_and_places_the_remaining_amount_at_the_new_price():
    d = Desk()
    first = d.desk.place(order(price="99", post_only=True))
    d.run()
    moved = d.desk.move("paper", first.client_order_id, D("99.5"))
    d.run()
    assert first.status is OrderStatus.CANCELLED
    assert moved.status is OrderStatus.OPEN and moved.price_ticks == 9950 and moved.type is OrderType.LIMIT_MAKER
    assert moved.amount_lots == 1000
    with pytest.raises(TicketError, match="would cross"):  # checked before the old one is cancelled
        d.desk.move("paper", moved.client_order_id, D("100.02"))
    assert moved.status is OrderStatus.OPEN


def test_cancel_one_goes_to_whoever_owns_the_order():
    d = Desk()
    mine = d.desk.place(order(price="99"))
    bot = Bot("quoter", d.paper, INST.symbol, SimpleQuoter({"order_amount": "0.1", "bid_spread_bps": "50"}))
    bot.start()
    d.bots.append(bot)
    d.run()
    theirs = bot.open_orders()[0]
    assert d.desk.cancel("paper", mine.client_order_id) == MANUAL
    assert d.desk.cancel("paper", theirs.client_order_id) == "quoter"
    d.run()
    assert mine.status is OrderStatus.CANCELLED
    assert d.paper.get_order(theirs.client_order_id).status is OrderStatus.CANCELLED
    with pytest.raises(TicketError, match="not open"):
        d.desk.cancel("paper", mine.client_order_id)
    with pytest.raises(TicketError, match="unknown account"):
        d.desk.cancel("nowhere", mine.client_order_id)
    bot.stop()
    d.run()


def test_cancel_all_and_flatten_close_only_what_was_placed_by_hand():
    d = Desk()
    for price in ("99", "98"):
        d.desk.place(order(price=price))
    bought = d.desk.place(order(price="100.02", amount="1"))
    d.run()
    assert bought.status is OrderStatus.FILLED
    summary = d.desk.summary("paper", INST.symbol)
    assert (summary.position, summary.open_orders, summary.fills) == (D(1), 2, 1)
    # bought 1 at 100.02 with a 0.2% taker fee, marked at the mid 100.01
    assert summary.describe() == "+1 TST, 2 open, PnL -0.21004 USD (1 fills)"
    assert len(d.desk.cancel_all("paper", INST.symbol)) == 2
    d.run()
    assert d.desk.open_orders("paper") == []
    assert d.desk.flatten("paper", INST.symbol)
    d.run(50)
    bot = d.desk.manual_bots[("paper", INST.symbol)]
    assert bot.pnl.base_delta == 0  # the 1 TST bought by hand was sold back
    assert d.desk.summary("paper", INST.symbol) is None  # the flatten ended that manual bot
    # a new manual order starts the market's manual bot again
    again = d.desk.place(order(price="99"))
    assert again.status is not OrderStatus.REJECTED and d.desk.manual_bots[("paper", INST.symbol)] is not bot
    assert not d.desk.flatten("paper", "OTHER/USD")


def test_workspace_names_the_owner_of_each_order(tmp_path):
    store = JournalStore(tmp_path / "j.sqlite")
    clock, workspace, paper = paper_workspace(store)
    placed = workspace.manual.place(order(price="99"))
    bot = workspace.create_bot("simple_quoter", {"order_amount": "0.1"}, connector="paper")
    bot.start()
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    assert workspace.owner_of(placed.client_order_id) == MANUAL
    assert workspace.owner_of(bot.open_orders()[0].client_order_id) == bot.name
    assert workspace.owner_of("not-one-of-ours") == ""
    done = []
    workspace.stop_all(lambda: done.append(True))  # the manual orders are cancelled at quit too
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    assert done and paper.open_orders() == []
    # after a restart the journal still names the owners
    assert Workspace(clock, journal=store).owner_of(placed.client_order_id) == MANUAL


def test_after_a_crash_resume_gives_the_open_manual_orders_back_to_the_manual_desk(tmp_path):
    import asyncio

    from app.engine.journal import RESUME, finish_recovery, recover
    from tests.test_journal_recovery import FakeServer, FakeVenue

    path = tmp_path / "j.sqlite"
    server = FakeServer()
    clock = SimClock(MS)
    venue = FakeVenue(server, clock)
    venue.start()
    venue.feed(INST.symbol).set_levels(bids={10000: 5000}, asks={10002: 5000})
    store = JournalStore(path)
    workspace = Workspace(clock, journal=store)
    workspace.add_connector(venue)
    placed = workspace.manual.place(ManualOrder("fakex", INST.symbol, Side.BUY, "limit", D("1"), D("99")))
    clock.run(until_ns=clock.now_ns() + 5 * MS)
    assert placed.status is OrderStatus.OPEN
    store.close(clean=False)  # the process dies with the order open on the venue

    store = JournalStore(path)
    clock = SimClock(100 * MS)
    venue = FakeVenue(server, clock)
    venue.start()
    workspace = Workspace(clock, journal=store)
    workspace.add_connector(venue)
    report = asyncio.run(recover(store, workspace.connectors))
    asyncio.run(finish_recovery(report, store, workspace.connectors, RESUME))
    started, problems = workspace.resume_bots(report)
    name = manual_bot_name("fakex", INST.symbol)
    assert problems == [] and [b.name for b in started] == [name]
    assert workspace.manual.owns("fakex", placed.client_order_id)
    assert workspace.owner_of(placed.client_order_id) == MANUAL
    # Handed over: recovery's keeper let go, so the desk journals and counts its next fill.
    venue.trade(placed.client_order_id, 10, "t-after-resume")
    assert report.keeper.kept == {} and started[0].pnl.fills == 1
    workspace.manual.cancel("fakex", placed.client_order_id)
    assert server.orders[placed.client_order_id].status is OrderStatus.CANCELLED
    store.close()


def test_manual_risk_limits_apply_to_running_and_later_manual_bots():
    from app.config.schema import ConfigError

    d = Desk()
    d.desk.place(order(price="99"))  # the manual bot runs without limits
    d.desk.set_risk({"max_order_size": "2", "max_open_orders": "2"})
    refused = d.desk.place(order(amount="3", price="98"))
    assert refused.status is OrderStatus.REJECTED and "max_order_size 2" in refused.reason
    d.desk.place(order(price="97"))
    full = d.desk.place(order(price="96"))
    assert full.status is OrderStatus.REJECTED and "max_open_orders 2 reached" in full.reason
    d.desk.set_risk(None)  # all off again
    assert d.desk.place(order(amount="3", price="95")).status is not OrderStatus.REJECTED
    with pytest.raises(ConfigError, match="not a limit of manual orders"):
        d.desk.set_risk({"kill_switch_loss_pct": "5"})
    with pytest.raises(ConfigError, match="spot market"):  # the running manual bot trades spot
        d.desk.set_risk({"max_position": "1"})
    with pytest.raises(ConfigError, match="max_order_size"):
        d.desk.set_risk({"max_order_size": "-1"})
    assert d.desk.risk.get("max_order_size") is None  # a refused change changes nothing


def test_an_account_traded_by_hand_is_removed_once_no_manual_order_is_open():
    clock, workspace, paper = paper_workspace()
    placed = workspace.manual.place(order(price="99"))
    clock.run(until_ns=clock.now_ns() + 5 * MS)
    with pytest.raises(ValueError, match=f"used by running bots: {manual_bot_name('paper', INST.symbol)}"):
        workspace.remove_connector("paper")
    workspace.manual.cancel("paper", placed.client_order_id)
    clock.run(until_ns=clock.now_ns() + 5 * MS)
    workspace.remove_connector("paper")
    assert "paper" not in workspace.connectors and workspace.manual.running_bots() == []

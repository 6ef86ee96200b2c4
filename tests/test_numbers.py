"""One number format everywhere: no exponent ("1E+6"), no sign or trailing zeros on zero
("+0.00000"), and the same rounding in the tables, the bots table and the summaries."""
from decimal import Decimal as D

from app.domain import Order, OrderType, Side
from app.domain.ledger import InsufficientBalance, Ledger
from app.domain.numbers import fmt_money, fmt_plain, fmt_signed
from app.engine.bot import Bot
from app.engine.report import build_report, format_summary
from tests.paper_support import INST
from tests.strategy_support import paper_market, run_ms
from tests.test_risk import Manual
from ui.bots.bots_model import BotsModel


def test_plain_and_signed_never_show_an_exponent_or_a_signed_zero():
    assert fmt_plain(D("1E+6")) == "1000000" and fmt_plain(D("0E-8")) == "0" and fmt_plain(D("-0.00")) == "0"
    assert fmt_plain(D("100.0100")) == "100.01"
    assert fmt_signed(D("0.00000")) == "0" and fmt_signed(D("0.500")) == "+0.5" and fmt_signed(D("-2")) == "-2"
    assert fmt_money(D("1E+6")) == "1000000" and fmt_money(D("-0.42004")) == "-0.42004"


def test_a_refusal_names_round_amounts_without_an_exponent():
    ledger = Ledger({"USD": D("1E+1"), "TST": D(0)})
    order = Order("x", INST.symbol, Side.BUY, OrderType.LIMIT, 10000, 1000, 0)
    try:
        ledger.lock_for_order(order, INST, 10000)
    except InsufficientBalance as exc:
        assert str(exc).endswith("available 10"), str(exc)
    else:
        raise AssertionError("not refused")


def test_the_bots_row_and_the_summary_read_the_same_figures():
    clock, feed, paper = paper_market(balances={"USD": "1000000", "TST": "100"})
    bot = Bot("b", paper, INST.symbol, Manual())
    bot.start()
    row = BotsModel._row(bot, bot.status())
    assert row[4] == "100.01" and row[8] == "0" and row[9] == "0"  # not "100.0100", "+0.000", "0.0000"
    bot.strategy.place(Side.BUY, 1000, 10002, OrderType.IOC)
    run_ms(clock)
    bot.strategy.place(Side.SELL, 1000, 10000, OrderType.IOC)
    run_ms(clock)
    row = BotsModel._row(bot, bot.status())
    summary = format_summary(build_report(bot, venue="paper", mode="real time"))
    assert row[9] == "-0.42004" and f"PnL {row[9]} USD" in summary, (row, summary)
    assert "USD: 1000000 -> 999999.58" in summary and "E+" not in summary

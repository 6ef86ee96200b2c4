"""The bot form's market pickers: an account and a symbol per market role of the strategy."""
from __future__ import annotations

import pytest

from app.engine.bot import BotState
from app.interfaces.clock import SimClock
from app.wiring.workspace import build_workspace
from strategies.registry import STRATEGIES
from tests.test_multi_market import QuoteAndHedge
from ui.bots.bots_dock import BotsPanel
from ui.bots.market_picker import NONE

S = 1_000_000_000


@pytest.fixture
def panel(qtbot, monkeypatch):
    monkeypatch.setitem(STRATEGIES, QuoteAndHedge.name, QuoteAndHedge)
    workspace = build_workspace(SimClock(S))
    workspace.start()
    widget = BotsPanel(workspace)
    qtbot.addWidget(widget)
    yield widget
    workspace.shutdown()


def choose(panel, strategy: str) -> None:
    panel.strategy.setCurrentIndex(panel.strategy.findData(strategy))


def test_one_picker_per_role_and_optional_roles_may_stay_empty(panel):
    assert list(panel.pickers) == ["market"] and panel.first_label.text() == "Account"
    choose(panel, "quote_and_hedge")
    assert list(panel.pickers) == ["maker", "taker", "price_source"]
    assert panel.first_label.text() == "Maker market"
    assert panel.pickers["maker"].account is panel.account  # the first role keeps the `bot_account` box
    source = panel.pickers["price_source"]
    assert source.account.itemText(0) == NONE and source.binding() is None and not source.symbol.isEnabled()
    panel.pickers["taker"].account.setCurrentText("paper")
    assert panel.pickers["taker"].symbol.currentText() == "BTC/USDT"
    assert panel.bindings() == {"maker": ("demo", "BTC/USDT"), "taker": ("paper", "BTC/USDT")}
    choose(panel, "simple_quoter")
    assert list(panel.pickers) == ["market"] and panel.first_label.text() == "Account"
    assert panel.findChild(type(panel.account), "bot_account_taker") is None


def test_start_now_builds_a_bot_over_the_chosen_markets(panel):
    choose(panel, "quote_and_hedge")
    panel.pickers["taker"].account.setCurrentText("paper")
    bot = panel.start_now("quote_and_hedge", "demo", markets=panel.bindings())
    assert bot is not None and bot.state is BotState.RUNNING
    assert {r: (m.account, m.symbol) for r, m in bot.markets.items()} == {
        "maker": ("demo", "BTC/USDT"), "taker": ("paper", "BTC/USDT")}
    clock = panel.workspace.clock
    clock.run(until_ns=clock.now_ns() + 60 * S)
    panel.model.refresh(list(panel.workspace.bots.values()))
    assert panel.model.data(panel.model.index(0, 2)) == "demo + paper"
    bot.stop()
    clock.run(until_ns=clock.now_ns() + 5 * S)
    assert bot.state is BotState.STOPPED and bot.open_orders() == []

"""Everything the desktop app runs at once: venues, accounts and several bots.

Qt-free so it can be driven by tests, scripts or another face. The demo exchange and a
paper account on its feed are always present; bots are created from a strategy name and
parameters validated by the strategy's schema.
"""
from __future__ import annotations

import itertools
import logging
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from app.engine.bot import Bot, BotState
from app.interfaces.clock import Clock
from app.engine.journal import Journal
from app.interfaces.venue import Connector
from strategies.registry import strategy_class

log = logging.getLogger(__name__)

DEMO_BALANCES = {"USDT": Decimal("100000"), "BTC": Decimal("1")}


class Workspace:
    def __init__(self, clock: Clock, *, seed: int = 7, balances: dict[str, Decimal] | None = None,
                 journal_dir: Path | None = None) -> None:
        """`journal_dir`: where each bot's audit journal is written (None: no journal)."""
        from connectors.demo.exchange import DemoExchange
        from connectors.paper.connector import PaperConnector

        self.clock = clock
        self.journal_dir = journal_dir
        self.demo = DemoExchange(clock, balances=dict(balances or DEMO_BALANCES), seed=seed, name="demo")
        self.paper = PaperConnector(
            self.demo.feed(self.demo_symbol), dict(balances or DEMO_BALANCES), clock, name="paper"
        )
        self.connectors: dict[str, Connector] = {"demo": self.demo, "paper": self.paper}
        self.bots: dict[str, Bot] = {}
        self._names = itertools.count(1)
        self._started = False

    @property
    def demo_symbol(self) -> str:
        return next(iter(self.demo.instruments))

    def start(self) -> None:
        if not self._started:
            self.demo.start()
            self.paper.start()
            self._started = True

    def add_connector(self, connector: Connector) -> None:
        if connector.name in self.connectors:
            raise ValueError(f"an account named {connector.name!r} exists already")
        self.connectors[connector.name] = connector
        if self._started:
            connector.start()

    def new_bot_name(self) -> str:
        while True:
            name = f"bot-{next(self._names)}"
            if name not in self.bots:
                return name

    def create_bot(self, strategy: str, params: dict[str, Any], *, connector: str = "demo",
                   symbol: str | None = None, name: str | None = None) -> Bot:
        """Validates everything before anything is created: a bad form never starts a bot."""
        if connector not in self.connectors:
            raise KeyError(f"unknown account {connector!r}")
        conn = self.connectors[connector]
        symbol = symbol or next(iter(conn.instruments))
        if symbol not in conn.instruments:
            raise KeyError(f"{symbol!r} is not traded on {connector}")
        instance = strategy_class(strategy)(params, source="bot form")
        name = name or self.new_bot_name()
        if name in self.bots and self.bots[name].state is not BotState.STOPPED:
            raise ValueError(f"a bot named {name!r} is running")
        journal = None
        if self.journal_dir is not None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            journal = Journal(self.journal_dir / f"{stamp}-{name}.jsonl")
        bot = Bot(name, conn, symbol, instance, journal=journal)
        self.bots[name] = bot
        return bot

    def running_bots(self) -> list[Bot]:
        return [b for b in self.bots.values() if b.state in (BotState.RUNNING, BotState.STOPPING)]

    def stop_all(self, on_done: Callable[[], None]) -> None:
        """Stops every bot (cancel all, confirmed); `on_done` runs when none is left running."""
        pending = self.running_bots()
        if not pending:
            on_done()
            return
        remaining = {b.name for b in pending}

        def one_done(name: str) -> None:
            remaining.discard(name)
            if not remaining:
                on_done()

        for bot in pending:
            bot.stop(lambda n=bot.name: one_done(n))

    def shutdown(self) -> None:
        for connector in self.connectors.values():
            if connector is not self.demo:
                connector.stop()
        self.demo.stop()
        self._started = False

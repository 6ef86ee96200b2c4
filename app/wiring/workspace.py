"""Everything the desktop app runs at once: venues, accounts and several bots.

Qt-free so it can be driven by tests, scripts or another face. The workspace is given its
connectors (`build_workspace` makes the demo exchange and a paper account on its feed
through the venue registry) and announces what changes, so views subscribe instead of
polling: `WorkspaceChanged` events for a connector added or removed, a bot added, a bot's
state changed. Bots are created from a strategy name and parameters validated by the
strategy's schema.

The journal (app/engine/journal, one SQLite file per workspace) records every bot; after
an unclean exit `recover()` reconciles it with the venues and `resume_bots()` recreates
the bots that were running, handing them their orders still open on the venue.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from app.engine.bot import Bot, BotState
from app.engine.journal import RecoveryReport
from app.engine.journal.store import JournalStore
from app.engine.manual_orders import ManualDesk, is_manual, owner_label
from app.engine.risk import journaled_risk, parse_risk
from app.interfaces.clock import Clock
from app.domain.order import bot_tag, parse_client_order_id
from app.interfaces.venue import Connector, EventSource
from strategies.registry import strategy_class

log = logging.getLogger(__name__)

DEMO_BALANCES = {"USDT": Decimal("100000"), "BTC": Decimal("1")}

CONNECTOR_ADDED = "connector_added"
CONNECTOR_REMOVED = "connector_removed"
BOT_ADDED = "bot_added"
BOT_STATE = "bot_state"


@dataclass(frozen=True, slots=True)
class WorkspaceChanged:
    kind: str  # CONNECTOR_ADDED, CONNECTOR_REMOVED, BOT_ADDED, BOT_STATE
    name: str  # the connector's or the bot's name


def build_workspace(clock: Clock, *, seed: int = 7, balances: dict[str, Decimal] | None = None,
                    journal: JournalStore | None = None) -> "Workspace":
    """The desktop's workspace: the demo exchange and a paper account on its feed, built by
    the venue registry like any configured venue."""
    import connectors.registry  # noqa: F401 - registers the venue kinds
    from app.config.bot_config import VENUE_SCHEMA
    from app.interfaces.venues import VenueRequest, build_venue

    start = dict(balances or DEMO_BALANCES)
    settings = VENUE_SCHEMA.validate({"kind": "demo", "seed": seed, "account": "paper"})
    venue = build_venue(VenueRequest(kind="demo", settings=settings, symbol=None, balances=start, clock=clock,
                                     source="desktop workspace"))
    demo = venue.startables[0]
    workspace = Workspace(clock, journal=journal)
    workspace.add_connector(demo, name="demo")
    workspace.add_connector(venue.connector, name="paper")
    # A second demo market that follows the first 250 ms late with 1 bp of noise: cross-market
    # strategies (cross-exchange market making, arbitrage) trade offline in the window too.
    lagged = VENUE_SCHEMA.validate({"kind": "demo", "seed": seed + 1, "lag_ms": 250, "noise_bps": 1})
    follower = build_venue(VenueRequest(kind="demo", settings=lagged, symbol=None, balances=dict(start), clock=clock,
                                        source="desktop workspace", name=LAGGED_DEMO,
                                        follow=demo.feed(next(iter(demo.instruments)))))
    workspace.add_connector(follower.connector, name=LAGGED_DEMO)
    return workspace


LAGGED_DEMO = "demo-lagged"
"""The desktop's follower demo account (connectors/demo/follower.py)."""


class Workspace(EventSource):
    def __init__(self, clock: Clock, *, journal: JournalStore | None = None) -> None:
        """`journal`: the workspace's journal, every bot writes to it (None: no journal)."""
        super().__init__()
        self.clock = clock
        self.journal = journal
        self.connectors: dict[str, Connector] = {}
        self.bots: dict[str, Bot] = {}
        self._names = itertools.count(1)
        self._started = False
        # Orders placed by hand: a manual bot per market, the bots' own path (app/engine/manual_orders.py).
        self.manual = ManualDesk(self.connectors, journal, bots=self.running_bots, on_new_bot=self._announce_bot)
        self._owners: dict[str, str] = {}  # bot tag -> bot name, for the tables' Bot column
        if journal is not None:
            self._owners.update((b.tag, b.name) for b in journal.bots())

    @property
    def demo(self) -> Connector:
        return self.connectors["demo"]

    @property
    def paper(self) -> Connector:
        return self.connectors["paper"]

    @property
    def demo_symbol(self) -> str:
        return next(iter(self.demo.instruments))

    def start(self) -> None:
        if not self._started:
            for connector in self.connectors.values():
                connector.start()
            self._started = True

    def add_connector(self, connector: Connector, *, name: str | None = None) -> None:
        name = name or connector.name
        if name in self.connectors:
            raise ValueError(f"an account named {name!r} exists already")
        self.connectors[name] = connector
        if self._started:
            connector.start()
        self._emit(WorkspaceChanged(CONNECTOR_ADDED, name))  # type: ignore[arg-type]

    def remove_connector(self, name: str) -> None:
        """Stops and forgets an account; refused while a bot trades on it."""
        connector = self.connectors.get(name)
        if connector is None:
            raise KeyError(f"unknown account {name!r}")
        for bot in self.manual.running_bots():  # nothing open by hand there: the manual bot just ends
            if bot.connector is connector and not bot.open_orders():
                bot.stop()
        busy = [b.name for b in self.running_bots() + self.manual.running_bots()
                if any(m.venue is connector for m in b.markets.values())]
        if busy:
            raise ValueError(f"account {name!r} is used by running bots: {', '.join(busy)}")
        connector.stop()
        del self.connectors[name]
        self._emit(WorkspaceChanged(CONNECTOR_REMOVED, name))  # type: ignore[arg-type]

    def new_bot_name(self) -> str:
        """The next free "bot-N": never the name of a bot of this run or of the journal (a new
        bot named like an earlier one would merge its history and PnL with the old one's)."""
        known = set(self._owners.values())
        while True:
            name = f"bot-{next(self._names)}"
            if name not in self.bots and name not in known:
                return name

    def create_bot(self, strategy: str, params: dict[str, Any], *, connector: str = "demo",
                   symbol: str | None = None, name: str | None = None,
                   risk: dict[str, Any] | None = None,
                   markets: dict[str, tuple[str, str | None]] | None = None) -> Bot:
        """Validates everything before anything is created: a bad form never starts a bot.
        `risk`: the risk limits as the form or the journal gives them (app/engine/risk.py).
        `markets`: for a strategy with several market roles, each bound role's (account,
        symbol or None for the account's first market); `connector`/`symbol` are then unused."""
        if markets:
            bound = {role: self._market(account, market_symbol) for role, (account, market_symbol) in markets.items()}
        else:
            conn, symbol = self._market(connector, symbol)
        instance = strategy_class(strategy)(params, source="bot form")
        limits = parse_risk(risk, "bot form", prefix="")
        name = name or self.new_bot_name()
        if name in self.bots and self.bots[name].state is not BotState.STOPPED:
            raise ValueError(f"a bot named {name!r} is running")
        if markets:
            bot = Bot(name, None, None, instance, journal=self.journal, risk=limits, markets=bound)  # ValueError: roles
        else:
            bot = Bot(name, conn, symbol, instance, journal=self.journal, risk=limits)
        self.bots[name] = bot
        self._announce_bot(bot)
        return bot

    def _announce_bot(self, bot: Bot) -> None:
        """A bot added (a manual one too): its tag is known and the views hear of it."""
        self._owners[bot_tag(bot.name)] = bot.name
        bot.add_state_listener(lambda b: self._emit(WorkspaceChanged(BOT_STATE, b.name)))  # type: ignore[arg-type]
        self._emit(WorkspaceChanged(BOT_ADDED, bot.name))  # type: ignore[arg-type]

    def owner_of(self, client_order_id: str) -> str:
        """Who placed an order, from the bot tag in its client id: a bot's name, "Manual"
        for a hand-placed one, "" for an order of another program or no bot."""
        parsed = parse_client_order_id(client_order_id)
        if parsed is None:
            return ""
        name = self._owners.get(parsed.bot_tag)
        return owner_label(name) if name is not None else ""

    def _market(self, account: str, symbol: str | None) -> tuple[Connector, str]:
        if account not in self.connectors:
            raise KeyError(f"unknown account {account!r}")
        conn = self.connectors[account]
        symbol = symbol or next(iter(conn.instruments))
        if symbol not in conn.instruments:
            raise KeyError(f"{symbol!r} is not traded on {account}")
        return conn, symbol

    def resume_bots(self, report: RecoveryReport) -> tuple[list[Bot], list[str]]:
        """After `finish_recovery(..., RESUME)`: recreates the bots that were running (and
        any bot with adopted orders) from the journal, hands each its adopted orders and
        starts it. Returns the bots started and what could not be resumed, in words."""
        if self.journal is None:
            return [], []
        wanted = {b.name: b for b in report.bots}
        for name in report.adopted:
            if name not in wanted and (row := self.journal.bot(name)) is not None:
                wanted[name] = row
        started: list[Bot] = []
        problems: list[str] = []
        for name, row in wanted.items():
            if is_manual(name) and row.account in self.connectors:  # hand-placed orders: back to the manual desk
                try:
                    started.append(self.manual.adopt(row.account, row.symbol,
                                                     [o.client_order_id for o in report.adopted.get(name, [])],
                                                     report.hand_over))
                except Exception as exc:  # the market is no longer traded there
                    problems.append(f"{name}: {exc}")
                continue
            if row.account not in self.connectors or not row.strategy:
                problems.append(f"{name}: account {row.account} is not open" if row.strategy
                                else f"{name}: its strategy is not in the journal")
                continue
            try:
                # The journal keeps parameters as text (str(value)): Python's True/False back to the schema's.
                params: dict[str, Any] = {k: {"True": True, "False": False}.get(v, v) for k, v in row.params.items()}
                bot = self.create_bot(row.strategy, params, connector=row.account, symbol=row.symbol, name=name,
                                      risk=journaled_risk(self.journal, name), markets=self._journaled_markets(name))
            except Exception as exc:  # a strategy renamed or a parameter no longer valid
                problems.append(f"{name}: {exc}")
                continue
            for order in report.adopted.get(name, []):
                report.hand_over(order.client_order_id)  # the bot journals it from here on
                bot.adopt(order.client_order_id)
            bot.start()
            started.append(bot)
        return started, problems

    def _journaled_markets(self, name: str) -> dict[str, tuple[str, str | None]] | None:
        """A bot's markets from its last `start` record (several market roles), else None."""
        assert self.journal is not None
        starts = [r for r in self.journal.records(bot=name) if r["kind"] == "start"]
        markets = starts[-1].get("markets") if starts else None
        if not markets:
            return None
        return {role: (m["account"], m["symbol"]) for role, m in markets.items()}

    def running_bots(self) -> list[Bot]:
        return [b for b in self.bots.values() if b.state in (BotState.RUNNING, BotState.STOPPING)]

    def stop_all(self, on_done: Callable[[], None]) -> None:
        """Stops every bot, the manual ones too (cancel all, confirmed); `on_done` runs when
        none is left running."""
        pending = self.running_bots() + self.manual.running_bots()
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
        """Stops the accounts, the ones built on another's feed (paper) first."""
        for connector in reversed(list(self.connectors.values())):
            connector.stop()
        self._started = False

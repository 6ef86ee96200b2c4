"""Orders placed by hand go through a bot: the same connector view, risk guard and journal.

A trader's order from the ticket, the ladder or a hotkey is placed by a `ManualBot`, one
per account and market, named "Manual <account> <symbol>": an ordinary `Bot` whose
strategy never places anything by itself. So a manual order takes exactly the path a
bot's order takes (app/engine/own_orders.py: no trading against one's own resting orders,
the risk guard's per-order limits, the intent committed to the journal before the request
leaves; app/engine/bot.py: every state change and fill journaled, fills counted once, PnL
against holding), its client order id carries the manual bot's tag, so every table and the
journal name it, and cancel all, flatten and recovery after a crash are the bots' own.

The desk also cancels one order for the window, whoever placed it: through the owning
bot's view (a running bot's order), the manual bot's, or, for an order nobody running
owns (left from an earlier run), the account itself.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Iterable, Mapping

from app.config.schema import ConfigError, Schema
from app.domain import BookResynced, BookStale, BookUpdated, Order, OrderStatus, OrderType
from app.engine.bot import Bot, BotState
from app.engine.journal.store import JournalStore
from app.engine.manual_ticket import ManualOrder, TicketError, check_ticket
from app.engine.risk_guard import amount_text
from app.engine.risk import PER_ORDER, RISK_SCHEMA, RiskLimits, parse_risk
from app.interfaces.strategy import Strategy
from app.interfaces.venue import Connector

log = logging.getLogger(__name__)

MANUAL = "Manual"
"""What the tables' Bot column shows for an order or fill placed by hand."""

MANUAL_RISK_SCHEMA = Schema(tuple(f for f in RISK_SCHEMA.fields
                                  if f.name in PER_ORDER + ("order_rate_window_seconds", "flatten_slippage_bps")))
"""The limits a trader sets for orders by hand: the per-order ones and the flatten bound.
Not the PnL limits: a breach stops a bot, and a manual bot would start again with the
next order, so a kill switch there would promise what it cannot keep."""


def manual_bot_name(account: str, symbol: str) -> str:
    """The manual bot of one market: a name of its own, so its journal row and tag are too."""
    return f"{MANUAL} {account} {symbol}"


def is_manual(bot_name: str) -> bool:
    return bot_name.startswith(MANUAL + " ")


def owner_label(bot_name: str) -> str:
    """The Bot column's text for a bot name: "Manual" for hand-placed orders, else the name."""
    return MANUAL if is_manual(bot_name) else bot_name


@dataclass(frozen=True, slots=True)
class ManualSummary:
    """What was traded by hand on one market since its manual bot started (a flatten ends it)."""

    position: Decimal  # base (spot inventory change) or contracts (derivatives), signed
    unit: str
    open_orders: int
    fills: int
    pnl: Decimal | None  # in `asset`, at the mid; None while the book has no mid
    asset: str

    def describe(self) -> str:
        """'+0.05 BTC, 2 open, PnL +1.2 USDT (3 fills)'."""
        pnl = "PnL n/a" if self.pnl is None else f"PnL {_signed(self.pnl)} {self.asset}"
        return f"{_signed(self.position)} {self.unit}, {self.open_orders} open, {pnl} ({self.fills} fills)"


def _signed(value: Decimal) -> str:
    text = amount_text(abs(value))
    return "0" if text == "0" else f"{'-' if value < 0 else '+'}{text}"


class ManualStrategy(Strategy):
    """Places nothing and reacts to nothing: the trader decides every order."""

    name = "manual"
    title = "Manual orders"
    schema = Schema()

    def on_book(self, event: BookUpdated) -> None:
        """Never called: a ManualBot does not listen to book updates (see _feed_kinds)."""


class ManualBot(Bot):
    """A bot for hand-placed orders on one account and market (see the module docstring)."""

    def __init__(self, connector: Connector, symbol: str, journal: JournalStore | None = None,
                 risk: RiskLimits | None = None) -> None:
        super().__init__(manual_bot_name(connector.name, symbol), connector, symbol, ManualStrategy(),
                         journal=journal, risk=risk)

    def _feed_kinds(self) -> tuple[type, ...] | None:
        """Only staleness (journaled): no per-message work for a strategy that never quotes."""
        return (BookStale, BookResynced)


class ManualDesk:
    def __init__(self, connectors: Mapping[str, Connector], journal: JournalStore | None = None, *,
                 bots: Callable[[], Iterable[Bot]] = tuple, risk: RiskLimits | None = None,
                 on_new_bot: Callable[[Bot], None] | None = None) -> None:
        """`connectors`: the accounts by name (the workspace's live dict); `bots`: the
        running bots, whose orders a cancel is routed to; `risk`: the limits every manual
        bot checks (None: off, as for a bot without a risk section); `on_new_bot` hears of
        each manual bot started (the workspace announces it)."""
        self._connectors = connectors
        self.journal = journal
        self._bots = bots
        self.risk = risk
        self._on_new_bot = on_new_bot
        self.manual_bots: dict[tuple[str, str], ManualBot] = {}

    # -- the manual bots ---------------------------------------------------------------------
    def connector(self, account: str) -> Connector:
        connector = self._connectors.get(account)
        if connector is None:
            raise TicketError(f"unknown account {account!r}")
        return connector

    def bot_for(self, account: str, symbol: str) -> ManualBot:
        """The running manual bot of a market, started on first use (and again after a flatten)."""
        bot = self.manual_bots.get((account, symbol))
        if bot is not None and bot.state is BotState.RUNNING:
            return bot
        connector = self.connector(account)
        if symbol not in connector.instruments:
            raise TicketError(f"{symbol} is not traded on {account}")
        if bot is not None and bot.state is BotState.STOPPING:
            raise TicketError(f"manual orders on {account} {symbol} are being closed (flatten): wait for it to finish")
        try:
            bot = ManualBot(connector, symbol, self.journal, self.risk)
        except ConfigError as exc:  # a limit of the other market family (inventory on a perpetual)
            raise TicketError(f"manual risk limits: {exc.reason}") from None
        self.manual_bots[(account, symbol)] = bot
        bot.start()
        if self._on_new_bot is not None:
            self._on_new_bot(bot)
        return bot

    def set_risk(self, values: dict | None, source: str = "manual trading settings") -> RiskLimits:
        """The limits every manual order is checked against (MANUAL_RISK_SCHEMA's fields;
        None or empty: all off), for the manual bots running now and those started later.
        ConfigError naming the field for a bad value or one that does not suit a market
        traded by hand now (max_inventory on a perpetual); nothing changes then."""
        unknown = sorted(set(values or {}) - {f.name for f in MANUAL_RISK_SCHEMA.fields})
        if unknown:
            raise ConfigError(source, unknown[0], "not a limit of manual orders (per-order limits and the "
                                                  "flatten bound only)")
        limits = parse_risk(values, source, prefix="")
        running = [b for b in self.manual_bots.values() if b.state is BotState.RUNNING]
        for bot in running:
            limits.check_market(bot.instrument, prefix="")
        changes = {f.name: limits.values.get(f.name) for f in MANUAL_RISK_SCHEMA.fields}
        for bot in running:
            bot.update_risk(changes, who="manual trading settings")
        self.risk = limits
        return limits

    def summary(self, account: str, symbol: str) -> ManualSummary | None:
        """The market's figures from hand-placed orders (the running manual bot's), or None
        when nothing was placed by hand there since the last flatten."""
        bot = self.manual_bots.get((account, symbol))
        if bot is None or bot.state is BotState.STOPPED:
            return None
        inst = bot.instrument
        return ManualSummary(bot.pnl.base_delta, "contracts" if inst.is_derivative else inst.base,
                             len(bot.open_orders()), bot.pnl.fills, bot.pnl_value(), bot.valuation.asset)

    def running_bots(self) -> list[Bot]:
        return [b for b in self.manual_bots.values() if b.state in (BotState.RUNNING, BotState.STOPPING)]

    def open_orders(self, account: str, symbol: str | None = None) -> list[Order]:
        """The hand-placed orders still open on an account (one market's, or all)."""
        return [o for (acc, sym), bot in self.manual_bots.items() if acc == account and symbol in (None, sym)
                for o in bot.orders.open_orders(sym)]

    def owns(self, account: str, client_order_id: str) -> bool:
        return self._manual_owner(account, client_order_id) is not None

    def _manual_owner(self, account: str, client_order_id: str) -> ManualBot | None:
        for (acc, _symbol), bot in self.manual_bots.items():
            if acc == account and bot.orders.owns(client_order_id):
                return bot
        return None

    # -- orders ----------------------------------------------------------------------------------
    def place(self, order: ManualOrder) -> Order:
        """Checks and sends one order through its market's manual bot. TicketError (nothing
        sent) when it cannot go; otherwise the order, REJECTED with the reason if the risk
        guard, the self-cross check or the venue refused it at once."""
        connector = self.connector(order.account)
        instrument = connector.instruments.get(order.symbol)
        if instrument is None:
            raise TicketError(f"{order.symbol} is not traded on {order.account}")
        book = connector.feed(order.symbol).book
        preview = check_ticket(order, instrument, book.best_bid_ticks, book.best_ask_ticks)
        bot = self.bot_for(order.account, order.symbol)
        placed = bot.orders.place_order(order.symbol, order.side, preview.order_type, preview.amount_lots,
                                        0 if preview.order_type is OrderType.MARKET else preview.price_ticks)
        log.info("manual order %s: %s (%s)%s", placed.client_order_id, order.describe(), placed.status.value,
                 f": {placed.reason}" if placed.reason else "")
        return placed

    def cancel(self, account: str, client_order_id: str) -> str:
        """Cancels one order, through whoever owns it; returns who ("Manual", the bot's name,
        or the account for an order no running bot owns). TicketError for an order the
        account does not have open."""
        connector = self.connector(account)
        order = connector.get_order(client_order_id)
        if order is None or order.status.is_done:
            raise TicketError(f"order {client_order_id} is not open on {account}")
        if order.status is OrderStatus.PENDING_CANCEL:
            raise TicketError(f"order {client_order_id} is already being cancelled")
        manual = self._manual_owner(account, client_order_id)
        if manual is not None:
            manual.orders.cancel_order(client_order_id)
            manual._journal("manual_cancel", id=client_order_id)
            log.info("manual cancel of %s on %s", client_order_id, account)
            return MANUAL
        for bot in self._bots():
            for market in bot.markets.values():
                if market.venue is connector and market.orders.owns(client_order_id):
                    market.orders.cancel_order(client_order_id)
                    log.info("cancel by the user of %s, an order of bot %s", client_order_id, bot.name)
                    return bot.name
        connector.cancel_order(client_order_id)
        log.info("cancel by the user of %s on %s (no running bot owns it)", client_order_id, account)
        return account

    def move(self, account: str, client_order_id: str, price: Decimal) -> Order:
        """Moves a hand-placed order to `price`: cancels it and places its remaining amount
        there, same side and type (venues have no common amend). TicketError when it is not
        a manual order, not open, or the new order could not be sent."""
        bot = self._manual_owner(account, client_order_id)
        if bot is None:
            raise TicketError(f"order {client_order_id} was not placed by hand: only manual orders move")
        order = bot.orders.get_order(client_order_id)
        if order is None or order.status.is_done or order.status is OrderStatus.PENDING_CANCEL:
            raise TicketError(f"order {client_order_id} is no longer open")
        instrument = bot.instrument
        ticks = instrument.price_to_ticks(price)
        if ticks == order.price_ticks:
            return order
        post_only = order.type is OrderType.LIMIT_MAKER
        replacement = ManualOrder(account, order.symbol, order.side, "limit",
                                  instrument.lots_to_amount(order.remaining_lots), price, post_only=post_only)
        book = bot.feed.book
        check_ticket(replacement, instrument, book.best_bid_ticks, book.best_ask_ticks)  # before the cancel
        bot.orders.cancel_order(client_order_id)
        placed = self.place(replacement)
        bot._journal("manual_move", id=client_order_id, to=placed.client_order_id, price=str(price))
        return placed

    def cancel_all(self, account: str, symbol: str) -> list[str]:
        """Cancels every hand-placed order of one market (the manual bot keeps running)."""
        bot = self.manual_bots.get((account, symbol))
        if bot is None or bot.state is not BotState.RUNNING:
            return []
        return bot.cancel_all()

    def flatten(self, account: str, symbol: str) -> bool:
        """Cancels the market's manual orders and closes what they bought or sold (one IOC
        within the risk section's flatten_slippage_bps: the bots' Flatten). False when
        nothing was placed by hand there."""
        bot = self.manual_bots.get((account, symbol))
        if bot is None or bot.state is not BotState.RUNNING:
            return False
        bot.flatten()
        return True

    def adopt(self, account: str, symbol: str, client_order_ids: Iterable[str],
              hand_over: Callable[[str], None] | None = None) -> ManualBot:
        """After a restart (journal recovery): the manual orders still open become the
        market's manual bot's again. `hand_over(id)` runs right before each is adopted
        (recovery stops journaling it there: the bot does from then on)."""
        bot = self.bot_for(account, symbol)
        for client_order_id in client_order_ids:
            if hand_over is not None:
                hand_over(client_order_id)
            bot.adopt(client_order_id)
        return bot

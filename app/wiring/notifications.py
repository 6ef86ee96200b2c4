"""What deserves the trader's attention: fills, bots that stop, errors and disconnects.

The Notifier listens to the workspace (bots' states, accounts coming and going), to each
account's fills and connection changes, and to ERROR log records, and turns them into
Notices in a bounded queue. A face drains the queue on its own timer (ui/notifications.py:
the status bar and the system tray), so nothing here runs per market message and nothing
here knows Qt. Fills close together are merged per bot and market into one notice: a
burst of 40 partial fills is one line, not 40 pop-ups.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.domain.events import ConnectionChanged, ConnectionState, OrderFilled
from app.engine.bot import BotState
from app.wiring.workspace import BOT_STATE, CONNECTOR_ADDED, CONNECTOR_REMOVED, Workspace, WorkspaceChanged

INFO, WARNING, ERROR = "info", "warning", "error"
FILL, BOT_STOPPED, BOT_FAILED, DISCONNECTED, RECONNECTED, LOGGED_ERROR = (
    "fill", "bot stopped", "bot failed", "disconnected", "reconnected", "error")
KINDS = (FILL, BOT_STOPPED, BOT_FAILED, DISCONNECTED, RECONNECTED, LOGGED_ERROR)
MAX_NOTICES = 200
FILL_MERGE_NS = 1_000_000_000
"""Fills of one bot on one market within a second of the first become one notice."""


@dataclass(frozen=True)
class Notice:
    kind: str
    level: str  # INFO, WARNING, ERROR
    title: str
    text: str
    ts_ns: int


@dataclass
class _FillBurst:
    owner: str
    account: str
    symbol: str
    first_ns: int
    count: int = 0
    bought: Decimal = Decimal(0)
    sold: Decimal = Decimal(0)
    last_side: str = ""
    last_price: Decimal = Decimal(0)

    def notice(self) -> Notice:
        who = self.owner or "an order not placed by Colibri"
        if self.count == 1:
            amount = self.bought or self.sold
            text = f"{who}: {self.last_side} {amount:f} {self.symbol} @ {self.last_price:f} on {self.account}"
        else:
            parts = [f"bought {self.bought:f}" if self.bought else "", f"sold {self.sold:f}" if self.sold else ""]
            text = (f"{who}: {self.count} fills on {self.account} {self.symbol}, "
                    f"{', '.join(p for p in parts if p)}, last @ {self.last_price:f}")
        return Notice(FILL, INFO, "Fill" if self.count == 1 else f"{self.count} fills", text, self.first_ns)


class _ErrorRecords(logging.Handler):
    """ERROR log records as notices (any thread may log: deque.append is atomic)."""

    def __init__(self, notifier: "Notifier") -> None:
        super().__init__(logging.ERROR)
        self.notifier = notifier

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = " ".join(record.getMessage().split())
        except Exception:  # noqa: BLE001 - a bad log call must not break logging
            return
        self.notifier.push(Notice(LOGGED_ERROR, ERROR, "Error", text[:300], self.notifier.now_ns()))


class Notifier:
    def __init__(self, workspace: Workspace, *, kinds: tuple[str, ...] = KINDS, log_errors: bool = True) -> None:
        self.workspace = workspace
        self.enabled = set(kinds)
        self._queue: deque[Notice] = deque(maxlen=MAX_NOTICES)
        self._bursts: dict[tuple[str, str, str], _FillBurst] = {}
        self._states: dict[str, BotState] = {}
        self._down: set[str] = set()
        self._listening: dict[str, Any] = {}
        workspace.add_listener(self._on_workspace, kinds=(WorkspaceChanged,))
        for name in workspace.connectors:
            self._listen(name)
        self._log_handler = _ErrorRecords(self) if log_errors else None
        if self._log_handler is not None:
            logging.getLogger().addHandler(self._log_handler)

    def now_ns(self) -> int:
        return self.workspace.clock.now_ns()

    def close(self) -> None:
        self.workspace.remove_listener(self._on_workspace)
        for name in list(self._listening):
            self._unlisten(name)
        if self._log_handler is not None:
            logging.getLogger().removeHandler(self._log_handler)

    # -- the face's side ---------------------------------------------------------------------------
    def drain(self) -> list[Notice]:
        """Every notice so far, oldest first; fill bursts older than the merge window close."""
        self._close_bursts(self.now_ns())
        out = []
        while self._queue:  # popleft: an error logged by another thread meanwhile is kept
            out.append(self._queue.popleft())
        return out

    def push(self, notice: Notice) -> None:
        if notice.kind in self.enabled:
            self._queue.append(notice)

    # -- listening -------------------------------------------------------------------------------
    def _listen(self, name: str) -> None:
        connector = self.workspace.connectors.get(name)
        if connector is None or name in self._listening:
            return

        def on_event(event: Any, account: str = name) -> None:
            if isinstance(event, OrderFilled):
                self._on_fill(account, event)
            elif isinstance(event, ConnectionChanged):
                self._on_connection(account, event)

        connector.add_listener(on_event, kinds=(OrderFilled, ConnectionChanged))
        self._listening[name] = (connector, on_event)

    def _unlisten(self, name: str) -> None:
        connector, listener = self._listening.pop(name)
        connector.remove_listener(listener)
        self._down.discard(name)

    def _on_workspace(self, event: WorkspaceChanged) -> None:
        if event.kind == CONNECTOR_ADDED:
            self._listen(event.name)
        elif event.kind == CONNECTOR_REMOVED and event.name in self._listening:
            self._unlisten(event.name)
        elif event.kind == BOT_STATE:
            self._on_bot_state(event.name)

    def _on_bot_state(self, name: str) -> None:
        bot = self.workspace.bots.get(name)
        if bot is None:
            return
        before, self._states[name] = self._states.get(name), bot.state
        if bot.state is not BotState.STOPPED or before is BotState.STOPPED:
            return
        if bot.failed:
            self.push(Notice(BOT_FAILED, ERROR, f"{name} failed", f"{name} stopped on an error: {bot.error}",
                             self.now_ns()))
        elif bot.stopped_by:
            self.push(Notice(BOT_STOPPED, WARNING, f"{name} stopped", f"{name} stopped itself: {bot.stopped_by}",
                             self.now_ns()))
        else:
            self.push(Notice(BOT_STOPPED, INFO, f"{name} stopped", f"{name} stopped, its orders cancelled",
                             self.now_ns()))

    def _on_connection(self, account: str, event: ConnectionChanged) -> None:
        reason = f": {event.reason}" if event.reason else ""
        if event.state in (ConnectionState.DOWN, ConnectionState.RECONNECTING) and account not in self._down:
            self._down.add(account)
            what = "reconnecting" if event.state is ConnectionState.RECONNECTING else "down"
            self.push(Notice(DISCONNECTED, WARNING, f"{account} {what}",
                             f"{account} lost its connection ({what}{reason}); its bots stop quoting until it is back",
                             event.ts_ns))
        elif event.state is ConnectionState.LIVE and account in self._down:
            self._down.discard(account)
            self.push(Notice(RECONNECTED, INFO, f"{account} live again", f"{account} reconnected and reconciled",
                             event.ts_ns))

    def _on_fill(self, account: str, event: OrderFilled) -> None:
        fill = event.fill
        owner = self.workspace.owner_of(fill.client_order_id)
        key = (owner, account, fill.symbol)
        burst = self._bursts.get(key)
        now = self.now_ns()  # our clock, not the exchange's stamp: a skewed venue clock moves nothing
        if burst is not None and now - burst.first_ns > FILL_MERGE_NS:
            self.push(self._bursts.pop(key).notice())
            burst = None
        if burst is None:
            burst = self._bursts[key] = _FillBurst(owner, account, fill.symbol, now)
        burst.count += 1
        if fill.side.value == "buy":
            burst.bought += fill.amount
        else:
            burst.sold += fill.amount
        burst.last_side, burst.last_price = fill.side.value, fill.price

    def _close_bursts(self, now_ns: int) -> None:
        for key, burst in list(self._bursts.items()):
            if now_ns - burst.first_ns >= FILL_MERGE_NS:
                self.push(self._bursts.pop(key).notice())

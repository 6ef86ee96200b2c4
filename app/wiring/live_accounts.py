"""Live accounts in the desktop workspace: saved accounts connected at start, and the
rehearsal exchange (the local Binance-protocol server, in-process) on demand.

A live account joins the workspace only once connected (markets loaded, streams up,
orders reconciled), so every view that subscribes to the workspace sees a usable venue.
A failed connection is logged with the reason and leaves the other accounts alone.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.accounts import Account, AccountError, AccountStore, Credentials
from app.wiring.workspace import Workspace

log = logging.getLogger(__name__)

REHEARSAL_ID = "rehearsal"


async def connect_account(workspace: Workspace, account: Account, credentials: Credentials) -> Any:
    """Connects one account for its markets and adds it to the workspace."""
    from connectors.ccxt.factory import connector_for_account

    connector = connector_for_account(account, credentials, list(account.symbols), read_only=account.read_only)
    try:
        await connector.connect()
    except BaseException:
        await connector.disconnect()
        raise
    workspace.add_connector(connector, name=account.id)
    return connector


async def connect_saved_accounts(workspace: Workspace, store: AccountStore) -> dict[str, str]:
    """Every saved live account with markets: connected, or the reason it is not (by id)."""
    outcome: dict[str, str] = {}
    for account in store.accounts():
        if account.builtin or not account.symbols or account.id in workspace.connectors:
            continue
        try:
            credentials = store.credentials(account.id)
            await connect_account(workspace, account, credentials)
            outcome[account.id] = "connected"
        except (AccountError, Exception) as exc:  # noqa: BLE001 - one account's trouble is only its own
            outcome[account.id] = f"{type(exc).__name__}: {exc}"
            log.warning("account %s not connected: %s", account.id, exc)
    return outcome


@dataclass
class Rehearsal:
    """A running rehearsal exchange and its account in the workspace."""

    server: Any
    connector: Any
    workspace: Workspace

    @property
    def url(self) -> str:
        return self.server.url

    async def stop(self) -> None:
        if self.connector.name in self.workspace.connectors:
            self.workspace.remove_connector(self.connector.name)
        await self.connector.disconnect()
        await self.server.stop()


async def start_rehearsal(workspace: Workspace, *, state_dir: Path | None = None, symbols: tuple[str, ...] = ("BTC/USDT",),
                          seed: int = 7) -> Rehearsal:
    """The demo market served with Binance's protocol on 127.0.0.1 and traded through the
    live ccxt connector, exactly as a real account would be: a live set-up rehearsed with no
    money at risk. Its keys are generated for the session and never stored."""
    from connectors.local_exchange import LocalExchangeServer

    server = LocalExchangeServer(port=0, seed=seed, state_dir=state_dir)
    await server.start()
    account = Account(REHEARSAL_ID, "binance", "Rehearsal exchange (local)", url=server.url, symbols=symbols)
    try:
        connector = await connect_account(workspace, account, Credentials(server.api_key, server.secret))
    except BaseException:
        await server.stop()
        raise
    return Rehearsal(server, connector, workspace)


def run_coroutine_logged(coro, what: str) -> asyncio.Task:
    """Schedules `coro` on the running loop; a failure is logged with `what`, never lost."""
    task = asyncio.ensure_future(coro)

    def done(t: asyncio.Task) -> None:
        if not t.cancelled() and t.exception() is not None:
            log.error("%s failed: %s", what, t.exception())

    task.add_done_callback(done)
    return task

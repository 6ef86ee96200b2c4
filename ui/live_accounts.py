"""The window's live accounts: saved accounts connected after the window shows, and the
rehearsal exchange started and stopped from the Accounts menu.

Connections run as tasks on the qasync loop (the window stays responsive); each account
joins the workspace once connected, and the views follow the workspace's announcements.
At exit every live connection is closed before the event loop ends.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtGui import QAction

log = logging.getLogger(__name__)


class LiveAccounts:
    def __init__(self, window: Any) -> None:
        self.window = window
        self.rehearsal = None
        self._task: asyncio.Task | None = None
        menu = window.menuBar().addMenu("&Accounts")
        self.rehearsal_action = QAction("Start rehearsal exchange (local, no money at risk)", window)
        self.rehearsal_action.setObjectName("rehearsal_action")
        self.rehearsal_action.triggered.connect(self.toggle_rehearsal)
        menu.addAction(self.rehearsal_action)
        self.menu = menu

    async def connect_saved(self, store: Any) -> dict[str, str]:
        """Every saved account with markets, connected (or the reason, logged)."""
        from app.wiring.live_accounts import connect_saved_accounts

        outcome = await connect_saved_accounts(self.window.workspace, store)
        for account, result in outcome.items():
            (log.info if result == "connected" else log.warning)("account %s: %s", account, result)
        return outcome

    def toggle_rehearsal(self) -> None:
        if self._task is not None and not self._task.done():
            return  # one start or stop at a time
        self._task = asyncio.ensure_future(self._stop() if self.rehearsal else self._start())

    async def _start(self) -> None:
        from app.wiring.live_accounts import start_rehearsal

        self.rehearsal_action.setEnabled(False)
        self.window.statusBar().showMessage("Starting the rehearsal exchange…")
        try:
            self.rehearsal = await start_rehearsal(self.window.workspace)
        except Exception as exc:  # noqa: BLE001 - shown where the user looks, one line
            log.error("rehearsal exchange not started: %s", exc)
            self.window.statusBar().showMessage(f"Rehearsal exchange not started: {exc}")
        else:
            log.info("rehearsal exchange on %s: account 'rehearsal' trades it through the live connector",
                     self.rehearsal.url)
            self.window.statusBar().showMessage(f"Rehearsal exchange running on {self.rehearsal.url}")
            self.rehearsal_action.setText("Stop rehearsal exchange")
        finally:
            self.rehearsal_action.setEnabled(True)

    async def _stop(self) -> None:
        rehearsal, self.rehearsal = self.rehearsal, None
        try:
            await rehearsal.stop()
        except ValueError as exc:  # bots still trade on it
            self.rehearsal = rehearsal
            self.window.statusBar().showMessage(f"Rehearsal exchange kept: {exc}")
            return
        self.rehearsal_action.setText("Start rehearsal exchange (local, no money at risk)")
        self.window.statusBar().showMessage("Rehearsal exchange stopped")

    async def close(self) -> None:
        """Closes every live connection and the rehearsal server (the bots are stopped)."""
        for connector in list(self.window.workspace.connectors.values()):
            if connector.is_live:
                try:
                    await connector.disconnect()
                except Exception as exc:  # noqa: BLE001 - closing anyway
                    log.warning("closing %s: %s", connector.name, exc)
        if self.rehearsal is not None:
            try:
                await self.rehearsal.server.stop()
            except Exception as exc:  # noqa: BLE001
                log.warning("stopping the rehearsal exchange: %s", exc)

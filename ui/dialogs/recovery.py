"""After an unclean exit: what recovery found, and Resume / Cancel orders.

`recover_at_start(window)` runs step 1 of app/engine/journal/recovery.py on the qasync
loop (the venues answer while the window repaints) and, if there is anything to say,
opens a non-blocking QMessageBox (open(), never exec()) with the summary and, under
"Show Details", one line per order. *Resume* adopts the orders still open on the venue
and restarts the bots that were running; *Cancel orders* (also Escape or closing the
box: the safe choice) cancels them and leaves the bots stopped.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtWidgets import QMessageBox

from app.engine.journal import RESUME, STOP, RecoveryReport, finish_recovery, recover

log = logging.getLogger(__name__)


def recovery_box(parent: Any, report: RecoveryReport) -> tuple[QMessageBox, Any, Any]:
    box = QMessageBox(QMessageBox.Icon.Warning, "Colibri did not stop cleanly", report.summary(),
                      QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("recovery_box")
    lines = [f"{f.client_order_id} ({f.bot}, {f.account} {f.symbol}): journal {f.journaled}, "
             f"venue {f.venue or 'has no such order'} -> {f.outcome}: {f.detail}" for f in report.orders]
    lines += [f"{f.client_order_id} ({f.bot}, {f.account} {f.symbol}): open on the venue, not in the journal"
              for f in report.found]
    if lines:
        box.setDetailedText("\n".join(lines))
    resume = box.addButton("Resume", QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton("Cancel orders", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    return box, resume, cancel


async def recover_at_start(window: Any) -> RecoveryReport | None:
    """Step 1, then the box; the choice runs step 2 and resumes the bots. None: nothing found."""
    workspace = window.workspace
    if workspace.journal is None:
        return None
    report = await recover(workspace.journal, workspace.connectors)
    if not report.needed:
        return None
    log.warning("recovery: %s", report.summary())
    box, resume, _cancel = recovery_box(window, report)

    def finished(_result: int) -> None:
        window._recovery_box = None
        choice = RESUME if box.clickedButton() is resume else STOP
        window._recovery_task = asyncio.ensure_future(_apply(window, report, choice))

    box.finished.connect(finished)
    window._recovery_box = box
    box.open()
    return report


async def _apply(window: Any, report: RecoveryReport, choice: str) -> None:
    workspace = window.workspace
    await finish_recovery(report, workspace.journal, workspace.connectors, choice)
    problems: list[str] = []
    if choice == RESUME:
        _started, problems = workspace.resume_bots(report)
    history = getattr(window, "bot_history", None)
    if history is not None:
        history.refresh()  # the bots' states as recovery left them (stopped, or running again)
    for problem in problems:
        log.error("recovery: could not resume %s", problem)
    log.warning("recovery done: %s", report.summary())
    window.statusBar().showMessage("Recovery: " + ("bots resumed" if choice == RESUME else "orders cancelled")
                                   + (f"; {len(problems)} bot(s) not resumed (see the log)" if problems else ""),
                                   15_000)

"""The Bot history panel: every bot of the journal, earlier runs included (ui/models/bot_history_model.py).

It asks for a fresh read when the window opens and whenever a bot is added or changes
state (debounced: a burst of changes is one read), never on a timer or per market event.
"""
from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.domain import Instrument
from app.wiring.workspace import Workspace
from ui.models.bot_history_model import BotHistoryModel, HistoryLoader
from ui.table_panel import TablePanel

DEBOUNCE_MS = 500


class BotHistoryPanel(QWidget):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.model = BotHistoryModel(self)
        self.table = TablePanel(self.model, "bot_history")
        self.note = QLabel("", objectName="bot_history_note")
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.note)
        layout.addWidget(self.table)
        self.loader: HistoryLoader | None = None
        journal = workspace.journal
        if journal is None:
            self.note.setText("No journal is open in this run, so there is no history to show.")
            return
        self.note.setText(f"Every bot in the journal ({journal.path}), earlier runs included; greyed rows no "
                          "longer run. PnL: from all of a bot's fills, marked at its last fill price.")
        self.loader = HistoryLoader(str(journal.path), self._instruments, self)
        self.loader.loaded.connect(self._show)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.loader.request)
        workspace.add_listener(self._on_workspace_changed)
        self.loader.request()

    def _instruments(self) -> dict[tuple[str, str], Instrument]:
        return {(account, symbol): inst for account, connector in self.workspace.connectors.items()
                for symbol, inst in connector.instruments.items()}

    def _on_workspace_changed(self, event) -> None:  # noqa: ANN001 - WorkspaceChanged
        from app.wiring.workspace import BOT_ADDED, BOT_STATE

        if event.kind in (BOT_ADDED, BOT_STATE):
            self._debounce.start()

    def refresh(self) -> None:
        """Reads the journal again now (in the worker thread)."""
        if self.loader is not None:
            self.loader.request()

    def _show(self, summaries: list) -> None:
        running = {b.name for b in self.workspace.running_bots() + self.workspace.manual.running_bots()}
        self.model.set_summaries(summaries, running)

"""User strategy files in the desktop: watched for edits, their problems shown, and the
bots running an edited file's old code restarted on the new one when the user says so.

`StrategyFilesWatcher` loads the strategies folder at start (app/wiring/user_strategies.py)
and watches it and every loaded file with a QFileSystemWatcher. Editors save in bursts and
often by replacing the file (write a copy, rename it over), which a watcher loses: every
signal restarts a short timer, then the whole set is rescanned by content hash (an
unchanged save is no change) and the paths are watched again.

`StrategyFileNotices` is the Bots dock's non-modal notice area: one row per file that
did not load (its one-line error; Details opens the traceback in a box shown with open(),
never exec()) or that changed under running bots (Restart with new code / Dismiss). Only
the file's strategies are unavailable while it is broken; running bots go on.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.wiring.user_strategies import (
    FileChange,
    RestartOutcome,
    UserStrategyFiles,
    bots_on_old_code,
    restart_on_new_code,
)
from app.wiring.workspace import Workspace
from strategies.registry import STRATEGIES
from strategies.user_files import StrategyFileError, is_user_strategy

log = logging.getLogger(__name__)
SETTLE_MS = 300
"""How long the files must be quiet after a change before they are read (editors save in
several writes)."""


def fill_strategy_box(box: QComboBox) -> None:
    """The strategies as the registry has them now, a user file's marked "(file)"; the
    selection is kept while its strategy exists (else the first), without a signal."""
    current = box.currentData()
    box.blockSignals(True)
    box.clear()
    for name, cls in STRATEGIES.items():
        box.addItem(f"{cls.title} (file)" if is_user_strategy(name) else cls.title, name)
    box.setCurrentIndex(max(0, box.findData(current)))
    box.blockSignals(False)


class StrategyFilesWatcher(QObject):
    """Loads the user's strategy files and says what changed (`changed`: FileChange list)."""

    changed = Signal(list)

    def __init__(self, workspace: Workspace, files: UserStrategyFiles | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.files = files or UserStrategyFiles()
        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(self._poke)
        self.watcher.directoryChanged.connect(self._poke)
        self.settle = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self.settle.timeout.connect(self.rescan)
        self.initial = self.files.load_all()  # before the panels list the strategies
        self._watch()

    def _poke(self, _path: str = "") -> None:
        self.settle.start()

    def _watch(self) -> None:
        """The folder (new, removed and replaced files), each file, and each file's folder;
        while the folder does not exist, its nearest existing parent (to see it made)."""
        folder = self.files.folder
        while not folder.is_dir() and folder.parent != folder:
            folder = folder.parent
        wanted = {str(folder)}
        for path in self.files.paths():
            wanted.add(str(path))
            wanted.add(str(path.parent))
        current = set(self.watcher.files()) | set(self.watcher.directories())
        missing = sorted(p for p in wanted - current if Path(p).exists())
        if missing:
            self.watcher.addPaths(missing)

    def rescan(self) -> list[FileChange]:
        changes = self.files.rescan()
        self._watch()
        if changes:
            self.changed.emit(changes)
        return changes

    def add_file(self, path: str | Path) -> FileChange:
        """A strategy file opened by hand: loaded and watched like the folder's."""
        change = self.files.add(path)
        self._watch()
        self.changed.emit([change])
        return change


def add_strategy_file_actions(menu: QMenu, watcher: StrategyFilesWatcher, parent: QWidget) -> None:
    """Bots menu: load a strategy file from anywhere (watched until the app closes), and
    open the strategies folder (created if missing) in the system's file manager."""
    load = QAction("Load strategy file…", parent)

    def choose() -> None:
        dialog = QFileDialog(parent, "Load strategy file", str(watcher.files.folder), "Python files (*.py)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(watcher.add_file)
        dialog.open()  # never exec() inside the qasync loop

    load.triggered.connect(choose)
    folder = QAction("Open strategies folder", parent)

    def reveal() -> None:
        try:
            watcher.files.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.error("cannot create the strategies folder %s: %s", watcher.files.folder, exc)
            return
        watcher.rescan()  # a folder just made is watched from now on
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(watcher.files.folder)))

    folder.triggered.connect(reveal)
    menu.addAction(load)
    menu.addAction(folder)


class StrategyFileNotices(QWidget):
    """Rows of notices about strategy files, newest per file; hidden when empty."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("strategy_file_notices")
        self.workspace = workspace
        self.rows: dict[Path, QFrame] = {}
        self._boxes: list[QMessageBox] = []
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.hide()

    def show_changes(self, changes: list[FileChange]) -> None:
        for change in changes:
            if change.status == "failed" and change.error is not None:
                self._failed(change.path, change.error)
            elif change.status == "loaded":
                bots = bots_on_old_code(self.workspace, change.path)
                if bots:
                    self._offer_restart(change.path, [b.name for b in bots])
                else:
                    self.dismiss(change.path)
            else:
                self.dismiss(change.path)

    def _row(self, path: Path, text: str, buttons: list[tuple[str, str, object]], error: bool) -> None:
        self.dismiss(path)
        row = QFrame(objectName="strategy_file_notice")
        row.setFrameShape(QFrame.Shape.StyledPanel)
        row.setStyleSheet("QFrame#strategy_file_notice { background: %s; }" % ("#fbe3e3" if error else "#fff4d6"))
        label = QLabel(text, objectName="notice_text")
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        line = QHBoxLayout(row)
        line.addWidget(label, 1)
        for title, name, slot in buttons:
            button = QPushButton(title, objectName=name)
            button.clicked.connect(slot)
            line.addWidget(button)
        close = QPushButton("Dismiss", objectName="notice_dismiss")
        close.clicked.connect(lambda: self.dismiss(path))
        line.addWidget(close)
        self.rows[path] = row
        self.layout_.addWidget(row)
        self.show()

    def dismiss(self, path: Path) -> None:
        row = self.rows.pop(path, None)
        if row is not None:
            row.setParent(None)
            row.deleteLater()
        if not self.rows:
            self.hide()

    def _failed(self, path: Path, error: StrategyFileError) -> None:
        text = (f"Strategy file {path.name} did not load: {error}. Its strategies are unavailable until it is "
                "fixed; running bots go on.")
        self._row(path, text, [("Details", "notice_details", lambda: self._details(path, error))], error=True)

    def _details(self, path: Path, error: StrategyFileError) -> None:
        box = QMessageBox(QMessageBox.Icon.Critical, "Strategy file not loaded", str(error),
                          QMessageBox.StandardButton.Close, self)
        box.setObjectName("strategy_file_error")
        box.setDetailedText(error.details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _r: self._boxes.remove(box) if box in self._boxes else None)
        self._boxes.append(box)
        box.open()  # non-modal for the event loop: never exec() inside the qasync loop

    def _offer_restart(self, path: Path, names: list[str]) -> None:
        text = (f"{path.name} changed. {', '.join(names)} still run{'s' if len(names) == 1 else ''} its old code: "
                "restart with the new code (stopped the normal way, orders cancelled, then started again with the "
                "same parameters)?")
        self._row(path, text, [("Restart with new code", "notice_restart", lambda: self.restart(path))], error=False)

    def restart(self, path: Path) -> list:
        """Restarts the bots on the file's old code; the row then says how it went."""
        row = self.rows.get(path)
        try:
            stopping = restart_on_new_code(self.workspace, path, on_done=lambda outcome: self._restarted(path, outcome))
        except StrategyFileError as exc:
            self._failed(path, exc)
            return []
        if stopping and self.rows.get(path) is row:  # (not replaced by the outcome already)
            row.findChild(QLabel, "notice_text").setText(
                f"Restarting {', '.join(b.name for b in stopping)} on the new code of {path.name}…")
            for button in row.findChildren(QPushButton, "notice_restart"):
                button.setEnabled(False)
        return stopping

    def _restarted(self, path: Path, outcome: RestartOutcome) -> None:
        if not outcome.problems:
            self.dismiss(path)
            return
        self._row(path, "; ".join(outcome.problems), [], error=True)

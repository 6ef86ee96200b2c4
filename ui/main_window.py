"""The main window: dockable market views, bots, tables, accounts, log and health.

The window holds no trading state: the Workspace (Qt-free) does. Each view refreshes
from its own capped timer while visible; closing stops every bot (cancel all, confirmed
by the venue) before the venues are shut down.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QComboBox, QDockWidget, QLabel, QMainWindow, QMessageBox, QToolBar, QWidget

from app.accounts import AccountStore
from app.wiring.notifications import Notifier
from app.wiring.workspace import Workspace
from ui.backtest.backtest_panel import BacktestPanel
from ui.backtest.sweep_panel import SweepPanel
from ui.bots.bots_dock import BotsPanel
from ui.bots.config_files import add_config_file_actions
from ui.bots.form_memory import FormMemory
from ui.bots.strategy_files import StrategyFilesWatcher, add_strategy_file_actions
from ui.dialogs.about import show_about
from ui.docks.accounts_dock import AccountsDock
from ui.docks.bot_history_dock import BotHistoryPanel
from ui.docks.health_dock import HealthDock
from ui.docks.log_dock import LogDock, install as install_log_buffer
from ui.layout import LayoutManager
from ui.market import CandlesView, DepthChartView, DomLadderView, LiquidityHeatmapView, MarketHeader, TradesTapeView
from ui.models import BalancesModel, FillsModel, OrdersModel
from ui.market.market_window import MarketWindow, add_account_markets, fill_market_box, remove_account_markets
from ui.models.flusher import ModelFlusher
from ui.notifications import NotificationsUi
from ui.performance_dock import PerformancePanel
from ui.table_panel import TablePanel
from ui.trading import ManualTradingUi

log = logging.getLogger(__name__)
STOP_TIMEOUT_MS = 15_000


class MainWindow(QMainWindow):
    shutdown_finished = Signal()

    def __init__(self, workspace: Workspace, *, store: AccountStore | None = None, settings=None,
                 strategy_files=None) -> None:  # noqa: ANN001 - UserStrategyFiles (default: the user's folder)
        super().__init__()
        self.workspace = workspace
        self.setObjectName("mainWindow")
        self.setWindowTitle("Colibri — market making")
        self.resize(1600, 1000)
        self.setDockNestingEnabled(True)
        self._closing = False
        self._closed = False
        self._confirm_box: QMessageBox | None = None
        self.log_buffer = install_log_buffer()

        # -- market views ------------------------------------------------------------------
        self.candles = CandlesView()
        self.depth = DepthChartView()
        self.ladder = DomLadderView()
        self.tape = TradesTapeView()
        self.heatmap = LiquidityHeatmapView()
        self.header = MarketHeader()
        self.market_views = (self.candles, self.depth, self.ladder, self.tape, self.heatmap, self.header)
        self.setCentralWidget(self.candles)

        # -- tables --------------------------------------------------------------------------
        self.orders_model = OrdersModel(self, owner=workspace.owner_of)  # the Bot column: a bot's name or Manual
        self.fills_model = FillsModel(self, owner=workspace.owner_of)
        self.balances_model = BalancesModel(self)
        for name, connector in workspace.connectors.items():
            self._add_account_models(name, connector)
        self.orders_panel = TablePanel(self.orders_model, "orders")
        self.fills_panel = TablePanel(self.fills_model, "fills")
        self.balances_panel = TablePanel(self.balances_model, "balances")
        self.show_finished = self.orders_panel.add_toggle(
            "Show finished", self.orders_model.set_show_finished, name="orders_show_finished",
            tip="Also the filled, cancelled, rejected and failed orders, earlier runs' included (from the journal)")
        self.flusher = ModelFlusher(self, hz=10)
        self.flusher.add(self.orders_model, self.orders_panel)
        self.flusher.add(self.fills_model, self.fills_panel)
        self.flusher.add(self.balances_model)  # the accounts dock shows it too

        # -- panels ----------------------------------------------------------------------------
        # The user's strategy files first, so the panels list their strategies (ui/bots/strategy_files.py).
        self.strategy_files = StrategyFilesWatcher(workspace, strategy_files, parent=self)
        self.bots_panel = BotsPanel(workspace)
        self.bots_panel.attach_strategy_files(self.strategy_files)
        self.performance = PerformancePanel(workspace)
        self.bot_history = BotHistoryPanel(workspace)  # every journaled bot, earlier runs included
        self.backtest = BacktestPanel()
        self.strategy_files.changed.connect(lambda _changes: self.backtest.refresh_strategies())
        self.sweep = SweepPanel(self.backtest)  # sweeps the backtest panel's settings
        self.store = store or AccountStore()
        self.accounts_dock = AccountsDock(self.store, self.balances_model, self)
        self.log_dock = LogDock(self.log_buffer, self)
        self.health_dock = HealthDock(parent=self)
        for name, connector in workspace.connectors.items():
            feeds = [connector.feed(s) for s in connector.instruments]
            self.health_dock.model.add_connection(name, connector, feeds=feeds)

        self.docks: dict[str, QDockWidget] = {}
        area = Qt.DockWidgetArea
        self._dock("Order book ladder", "ladderDock", self.ladder, area.RightDockWidgetArea)
        self._dock("Trades", "tradesDock", self.tape, area.RightDockWidgetArea)
        self._dock("Bots", "botsDock", self.bots_panel, area.LeftDockWidgetArea)
        self._add_existing_dock(self.accounts_dock, area.LeftDockWidgetArea)
        self._dock("Depth", "depthDock", self.depth, area.BottomDockWidgetArea)
        self._dock("Liquidity heatmap", "heatmapDock", self.heatmap, area.BottomDockWidgetArea)
        self._dock("Orders", "ordersDock", self.orders_panel, area.BottomDockWidgetArea)
        self._dock("Fills", "fillsDock", self.fills_panel, area.BottomDockWidgetArea)
        self._dock("Balances", "balancesDock", self.balances_panel, area.BottomDockWidgetArea)
        self._dock("Bot history", "botHistoryDock", self.bot_history, area.BottomDockWidgetArea)
        self._dock("PnL and performance", "performanceDock", self.performance, area.BottomDockWidgetArea)
        self._dock("Backtest", "backtestDock", self.backtest, area.BottomDockWidgetArea)
        self._dock("Parameter sweep", "sweepDock", self.sweep, area.BottomDockWidgetArea)
        self._add_existing_dock(self.log_dock, area.BottomDockWidgetArea)
        self._add_existing_dock(self.health_dock, area.BottomDockWidgetArea)
        self.tabifyDockWidget(self.docks["ordersDock"], self.docks["fillsDock"])
        self.tabifyDockWidget(self.docks["fillsDock"], self.docks["balancesDock"])
        self.tabifyDockWidget(self.docks["balancesDock"], self.docks["botHistoryDock"])
        self.tabifyDockWidget(self.docks["balancesDock"], self.docks["performanceDock"])
        self.tabifyDockWidget(self.docks["performanceDock"], self.docks["backtestDock"])
        self.tabifyDockWidget(self.docks["backtestDock"], self.docks["sweepDock"])
        self.tabifyDockWidget(self.docks["backtestDock"], self.docks["logDock"])
        self.tabifyDockWidget(self.docks["logDock"], self.docks["healthDock"])
        self.tabifyDockWidget(self.docks["depthDock"], self.docks["heatmapDock"])
        self.tabifyDockWidget(self.docks["botsDock"], self.docks["accountsDock"])
        self.docks["ordersDock"].raise_()
        self.docks["depthDock"].raise_()
        self.docks["botsDock"].raise_()
        # First-run proportions: a ladder wide and tall enough to read, the chart in the middle.
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        self.resizeDocks([self.docks["ladderDock"], self.docks["botsDock"]], [430, 380], horizontal)
        self.resizeDocks([self.docks["ladderDock"], self.docks["tradesDock"]], [620, 300], vertical)
        self.resizeDocks([self.docks["depthDock"], self.docks["ordersDock"]], [260, 260], vertical)

        self.market_windows: list[MarketWindow] = []  # View → New market window
        self._build_toolbar()
        self.trading = ManualTradingUi(self, settings)  # order ticket, hotkeys, ladder clicks, cancel one (ui/trading/)
        self._build_menus()
        self.trading.add_menu()
        self._build_help_menu()
        self.layout_manager = LayoutManager(self, settings)
        self.bots_panel.attach_memory(FormMemory(self.layout_manager.settings))  # the form's last values
        self.layout_manager.capture_default()
        self.layout_manager.restore()
        # Fills, bot stops, errors, disconnects: the status bar and the tray (ui/notifications.py).
        self.notifications = NotificationsUi(self, Notifier(workspace), self.layout_manager.settings)
        self.view_menu.addSeparator()
        self.notifications.add_menu_actions(self.view_menu)
        self.accounts_dock.account_added.connect(lambda account_id: log.info("account %s added", account_id))
        self.select_market(self.market.currentText())
        workspace.add_listener(self._on_workspace_changed)  # accounts come and go: no polling
        self.flusher.start()
        self._reference_names: set[str] = set()
        self.reference_timer = QTimer(self)
        self.reference_timer.setInterval(500)
        self.reference_timer.timeout.connect(self.update_reference_lines)
        self.reference_timer.start()

    # -- construction helpers -------------------------------------------------------------------
    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[name] = dock
        return dock

    def _add_existing_dock(self, dock: QDockWidget, area: Qt.DockWidgetArea) -> None:
        self.addDockWidget(area, dock)
        self.docks[dock.objectName()] = dock

    def _add_account_models(self, name: str, connector) -> None:
        """The account's tables, with its history from the journal (earlier runs included)."""
        journal = self.workspace.journal
        fills, orders = [], []
        if journal is not None:
            fills = [item.fill for item in journal.fills(account=name, limit=self.fills_model.max_rows)]
            for row in journal.orders(account=name, limit=self.orders_model.max_finished):
                instrument = connector.instruments.get(row.symbol)
                if instrument is not None and row.status.is_done and row.side is not None:
                    orders.append(row.to_order(instrument))
        self.orders_model.add_account(name, connector, history=orders)
        self.fills_model.add_account(name, connector, history=fills)
        self.balances_model.add_account(name, connector)

    def _on_workspace_changed(self, event) -> None:  # noqa: ANN001 - WorkspaceChanged
        """A connector added to or removed from the workspace: its tables, health row and
        markets appear or go (the workspace announces it; nothing polls)."""
        from app.wiring.workspace import CONNECTOR_ADDED, CONNECTOR_REMOVED

        if event.kind == CONNECTOR_ADDED:
            connector = self.workspace.connectors[event.name]
            self._add_account_models(event.name, connector)
            feeds = [connector.feed(s) for s in connector.instruments]
            self.health_dock.model.add_connection(event.name, connector, feeds=feeds)
            add_account_markets(self.market, event.name, connector)
        elif event.kind == CONNECTOR_REMOVED:
            remove_account_markets(self.market, event.name)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Market", self)
        bar.setObjectName("marketToolbar")
        self.market = QComboBox(objectName="market_select")
        fill_market_box(self.market, self.workspace)
        self.market.currentIndexChanged.connect(lambda _i: self.select_market(self.market.currentText()))
        bar.addWidget(QLabel(" Market: "))
        bar.addWidget(self.market)
        bar.addSeparator()
        bar.addWidget(self.header)
        self.addToolBar(bar)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for title, panel in (("orders", self.orders_panel), ("fills", self.fills_panel)):
            item = file_menu.addAction(f"Export {title} as CSV…")  # the panels' own buttons keep their short label
            item.triggered.connect(panel.export_action.trigger)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self.quit_action = quit_action
        view_menu = self.view_menu = self.menuBar().addMenu("&View")
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        new_market = QAction("New market window", self)
        new_market.setObjectName("new_market_window")
        new_market.triggered.connect(lambda: self.open_market_window(self.market.currentData()))
        view_menu.addAction(new_market)
        reset = QAction("Reset layout", self)
        reset.triggered.connect(self.layout_manager_reset)
        view_menu.addAction(reset)
        bots_menu = self.menuBar().addMenu("&Bots")
        kill_all = QAction("Kill all bots (cancel every order)", self)
        kill_all.triggered.connect(self.kill_all)
        bots_menu.addAction(kill_all)
        bots_menu.addSeparator()
        add_strategy_file_actions(bots_menu, self.strategy_files, self)  # your own strategies (docs/user-strategies.md)
        bots_menu.addSeparator()
        add_config_file_actions(bots_menu, self.bots_panel, self)  # YAML configs in and out of the bot form
        from ui.live_accounts import LiveAccounts

        self.live = LiveAccounts(self)  # the Accounts menu: the rehearsal exchange, saved live accounts

    def _build_help_menu(self) -> None:
        """Last in the menu bar, after the Trading menu (ui/trading/)."""
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About Colibri", self)
        about.setObjectName("about_action")
        about.triggered.connect(lambda: show_about(self))
        help_menu.addAction(about)

    def open_market_window(self, market: tuple[str, str] | None = None) -> MarketWindow:
        """Another market at once, in a window of its own with its own selector."""
        window = MarketWindow(self.workspace, market)
        self.market_windows.append(window)
        window.closed.connect(lambda w: self.market_windows.remove(w) if w in self.market_windows else None)
        window.show()
        return window

    def layout_manager_reset(self) -> None:
        self.layout_manager.reset()

    # -- market selection ------------------------------------------------------------------------
    def select_market(self, _text: str = "") -> None:
        data = self.market.currentData()
        if not data:
            return
        account, symbol = data
        connector = self.workspace.connectors[account]
        feed = connector.feed(symbol)
        for view in self.market_views:
            view.set_source(feed, connector)

    def update_reference_lines(self) -> None:
        """Draws each running bot's named prices (fair value, reservation...) on the candles."""
        data = self.market.currentData()
        if not data or not self.candles.isVisible():
            return
        account, symbol = data
        lines: dict[str, float | None] = {name: None for name in self._reference_names}
        for bot in self.workspace.running_bots():
            if bot.connector.name == account and bot.symbol == symbol:
                for name, price in bot.strategy.reference_prices().items():
                    lines[f"{bot.name} {name}"] = float(price)
        self._reference_names = {name for name, price in lines.items() if price is not None}
        if lines:
            self.candles.set_reference_lines(lines)

    def kill_all(self) -> None:
        for bot in self.workspace.running_bots():
            bot.kill()

    # -- closing -------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closed:
            event.accept()
            return
        event.ignore()
        if self._closing:
            return
        running = self.workspace.running_bots()
        if not running:
            self._begin_shutdown()
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "Quit Colibri",
                          f"{len(running)} bot(s) running. Stop them (cancel all their orders) and quit?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setObjectName("quit_confirm")

        def finished(_result: int) -> None:
            self._confirm_box = None
            if box.standardButton(box.clickedButton()) == QMessageBox.StandardButton.Yes:
                self._begin_shutdown()

        box.finished.connect(finished)
        self._confirm_box = box
        box.open()

    def shutdown_now(self) -> None:
        """Quit without asking (a signal or a test): bots stop and cancel everything first."""
        if not self._closing and not self._closed:
            self._begin_shutdown()

    def _begin_shutdown(self) -> None:
        self._closing = True
        self.statusBar().showMessage("Stopping bots and cancelling orders…")
        QTimer.singleShot(STOP_TIMEOUT_MS, self._finish_shutdown)  # never hang on a dead venue
        self.workspace.stop_all(self._finish_shutdown)

    def _finish_shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.notifications.stop()
        for market_window in list(self.market_windows):
            market_window.close()
        left = sum(len(b.open_orders()) for b in self.workspace.bots.values())
        if left:
            log.error("closing with %d orders not confirmed cancelled", left)
        self.layout_manager.save()
        self.bots_panel.remember_form()
        self.flusher.stop()
        self.reference_timer.stop()
        for view in self.market_views:
            view.detach()
        self.backtest.shutdown()
        self.sweep.shutdown()
        self.workspace.shutdown()
        # Closing from inside closeEvent (no bot was running) would be ignored: close after it.
        QTimer.singleShot(0, self._close_for_good)

    def _close_for_good(self) -> None:
        self.close()
        self.shutdown_finished.emit()

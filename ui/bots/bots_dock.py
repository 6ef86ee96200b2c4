"""The Bots panel: pick a strategy, its markets (an account and a symbol per market role),
fill its generated form, preview, start, edit, stop.

The risk limits (app/engine/risk.py) have their own generated form below the strategy's:
empty means off; Apply sends both to the selected running bot. Cancel all cancels the
selected bot's orders and lets it quote afresh; Flatten stops it and closes its inventory
or position (app/engine/flatten.py).

Confirmations use non-blocking message boxes (`open()` + a slot) because a nested
`exec()` loop inside the qasync loop breaks asyncio's task bookkeeping.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.config.schema import ConfigError
from app.domain.instrument import fmt_rate
from app.domain.numbers import fmt_plain
from app.engine.bot import Bot, BotState
from app.engine.risk import ON_PNL, PER_ORDER, RISK_SCHEMA
from app.wiring.workspace import Workspace
from app.interfaces.strategy import MarketContext, StrategyContext
from strategies.registry import strategy_class
from ui.bots.bots_model import BotsModel
from ui.bots.bots_table import show_figures_first
from ui.bots.form_checks import TradeCheck, amount_fields, check_trade, empty_preview_reason
from ui.bots.form_memory import FormMemory
from ui.bots.market_picker import MarketPicker
from ui.bots.schema_form import SchemaForm
from ui.bots.strategy_files import StrategyFileNotices, StrategyFilesWatcher, fill_strategy_box

REFRESH_MS = 250


class BotsPanel(QWidget):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.form: SchemaForm | None = None
        self._check = TradeCheck()  # the start checks on the form's values (ui/bots/form_checks.py)
        self._pending_box: QMessageBox | None = None
        self.memory: FormMemory | None = None  # last values per strategy (attach_memory)

        self.account = QComboBox(objectName="bot_account")  # the first market role's account
        self.strategy = QComboBox(objectName="bot_strategy")
        fill_strategy_box(self.strategy)  # built-ins, then user strategy files marked "(file)"
        self.strategy.currentIndexChanged.connect(self._rebuild_form)
        self.notices = StrategyFileNotices(workspace)  # strategy files that broke or changed under bots
        first_role = strategy_class(self.strategy.currentData()).roles[0]
        self.pickers: dict[str, MarketPicker] = {first_role.name: MarketPicker(workspace, first_role, self.account)}
        self.first_label = QLabel("Account")

        self.form_holder = QVBoxLayout()
        self.risk_form = SchemaForm(RISK_SCHEMA, parent=self)
        self.risk_form.setObjectName("bot_risk_form")
        self.risk_form.validity_changed.connect(lambda _valid: self._update_buttons())
        risk_box = QGroupBox("Risk limits (empty: off)")
        QVBoxLayout(risk_box).addWidget(self.risk_form)
        self.message = QLabel("", objectName="bot_message")
        self.message.setWordWrap(True)
        self.failure = QLabel("", objectName="bot_error")  # why the selected bot failed, if it did
        self.failure.setWordWrap(True)
        self.failure.setStyleSheet("color: #c82828;")
        self.failure.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.failure.hide()
        self.fees = QLabel("", objectName="bot_fees")  # the market's rules and fees in force
        self.fees.setWordWrap(True)
        self.fee_warning = QLabel("", objectName="bot_fee_warning")  # spreads that lose to fees
        self.fee_warning.setWordWrap(True)
        self.fee_warning.setStyleSheet("color: #b06000;")
        self.fee_warning.hide()
        self.preview = QTableWidget(0, 3, objectName="bot_preview")
        self.preview.setHorizontalHeaderLabels(["Side", "Price", "Amount"])
        self.preview.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview.verticalHeader().setVisible(False)
        self.preview.setMinimumHeight(150)

        self.start_button = QPushButton("Start bot", objectName="bot_start")
        self.apply_button = QPushButton("Apply to running bot", objectName="bot_apply")
        self.stop_button = QPushButton("Stop", objectName="bot_stop")
        self.kill_button = QPushButton("Kill (cancel all)", objectName="bot_kill")
        self.cancel_all_button = QPushButton("Cancel all orders", objectName="bot_cancel_all")
        self.flatten_button = QPushButton("Flatten and stop", objectName="bot_flatten")
        self.cancel_all_button.setToolTip("Cancels every open order of the selected bot; it keeps running and "
                                          "its strategy quotes again at its next decision (a price move, or its "
                                          "refresh time).")
        self.flatten_button.setToolTip("Stops the selected bot, cancels its orders, then closes its inventory "
                                       "(spot) or position (derivatives) with one IOC order within the risk "
                                       "limits' flatten_slippage_bps.")
        self.cancel_all_button.clicked.connect(self.request_cancel_all)
        self.flatten_button.clicked.connect(self.request_flatten)
        self.start_button.clicked.connect(self.request_start)
        self.apply_button.clicked.connect(self.apply_to_selected)
        self.stop_button.clicked.connect(lambda: self.request_stop(kill=False))
        self.kill_button.clicked.connect(lambda: self.request_stop(kill=True))

        self.model = BotsModel(self)
        self.table = QTableView(objectName="bots_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setStretchLastSection(True)
        show_figures_first(self.table)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)

        top = QWidget()
        self.pick = QFormLayout()
        self.pick.addRow("Strategy", self.strategy)
        self.pick.addRow(self.first_label, self.pickers[first_role.name])
        left = QVBoxLayout(top)
        left.addLayout(self.pick)
        left.addLayout(self.form_holder)
        left.addWidget(risk_box)
        left.addWidget(self.fees)
        left.addWidget(self.fee_warning)
        left.addWidget(self.message)
        left.addWidget(self.failure)
        buttons = QGridLayout()  # two rows: all four stay readable in a narrow dock
        buttons.addWidget(self.start_button, 0, 0)
        buttons.addWidget(self.apply_button, 0, 1)
        buttons.addWidget(self.stop_button, 1, 0)
        buttons.addWidget(self.kill_button, 1, 1)
        buttons.addWidget(self.cancel_all_button, 2, 0)
        buttons.addWidget(self.flatten_button, 2, 1)
        left.addLayout(buttons)
        left.addWidget(QLabel("Quotes it would place on the current book:"))
        left.addWidget(self.preview)
        self.preview_note = QLabel("", objectName="bot_preview_note")  # why the list is empty
        self.preview_note.setWordWrap(True)
        left.addWidget(self.preview_note)

        scroll = QScrollArea()  # a long form scrolls instead of making the window taller
        scroll.setWidgetResizable(True)
        scroll.setWidget(top)
        scroll.setMinimumHeight(120)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(scroll)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.notices)
        layout.addWidget(splitter)

        self._rebuild_form()
        workspace.add_listener(self._on_workspace_changed)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self._update_buttons()

    def _on_workspace_changed(self, event) -> None:  # noqa: ANN001 - WorkspaceChanged
        """Accounts and bots as the workspace announces them; the figures of running bots
        still refresh on the timer (they change with every market event)."""
        from app.wiring.workspace import BOT_ADDED, BOT_STATE, CONNECTOR_ADDED, CONNECTOR_REMOVED

        if event.kind in (CONNECTOR_ADDED, CONNECTOR_REMOVED):
            for picker in self.pickers.values():
                picker.refresh_accounts()
        elif event.kind in (BOT_ADDED, BOT_STATE):
            self.model.refresh(list(self.workspace.bots.values()))
            self._update_buttons()

    # -- form -----------------------------------------------------------------------------
    def _rebuild_form(self) -> None:
        self.remember_form()  # the strategy being left keeps its values
        if self.form is not None:
            self.form.setParent(None)
            self.form.deleteLater()
        cls = strategy_class(self.strategy.currentData())
        self._rebuild_markets(cls.roles)
        self.form = SchemaForm(cls.schema, parent=self)
        self._form_class = cls
        self.form.validity_changed.connect(lambda _valid: self._update_buttons())
        self.form_holder.addWidget(self.form)
        if self.memory is not None:
            self.memory.restore(self, cls.name)
        self._update_buttons()

    def attach_memory(self, memory: FormMemory) -> None:
        """Remembers the form's values per strategy (ui/bots/form_memory.py); restores the shown one's."""
        self.memory = memory
        memory.restore(self, self._form_class.name)

    def remember_form(self) -> None:
        if self.memory is not None and self.form is not None:
            self.memory.save(self, self._form_class.name)

    def attach_strategy_files(self, watcher: StrategyFilesWatcher) -> None:
        """User strategy files: the list follows them, the notices say what broke or changed."""
        watcher.changed.connect(self._strategy_files_changed)
        self.notices.show_changes(watcher.initial)
        self.refresh_strategies()

    def _strategy_files_changed(self, changes: list) -> None:
        self.refresh_strategies()
        self.notices.show_changes(changes)

    def refresh_strategies(self) -> None:
        """The list as the registry is now; the form rebuilt (values kept) if the selected
        strategy's class changed (its file was reloaded) or it is gone."""
        fill_strategy_box(self.strategy)
        if strategy_class(self.strategy.currentData()) is not self._form_class:
            kept = self.form.raw_values() if self.form is not None else {}
            self._rebuild_form()
            assert self.form is not None
            self.form.set_values({k: v for k, v in kept.items() if k in self.form.schema.by_name()})

    def _rebuild_markets(self, roles) -> None:  # noqa: ANN001 - tuple[MarketRole, ...]
        """One account + symbol row per market role: the first role's row stays (its
        account box is `bot_account`), the others are made for the chosen strategy."""
        first = next(iter(self.pickers.values()))
        for name in list(self.pickers)[1:]:
            self.pick.removeRow(self.pickers.pop(name))  # deletes the row's widgets
        first.set_role(roles[0])
        self.pickers = {roles[0].name: first}
        several = len(roles) > 1
        self.first_label.setText(_market_label(roles[0].title) if several else "Account")
        for role in roles[1:]:
            picker = MarketPicker(self.workspace, role)
            self.pickers[role.name] = picker
            self.pick.addRow(_market_label(role.title) + (" (optional)" if role.optional else ""), picker)

    def bindings(self) -> dict[str, tuple[str, str | None]]:
        """The bound roles' (account, symbol), optional roles left empty omitted."""
        return {role: bound for role, picker in self.pickers.items() if (bound := picker.binding()) is not None}

    def selected_bot(self) -> Bot | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.bot_at(rows[0].row()) if rows else None

    def _on_selection(self, *_args) -> None:
        bot = self.selected_bot()
        if bot is not None:
            index = self.strategy.findData(bot.strategy.name)
            if index >= 0 and index != self.strategy.currentIndex():
                self.strategy.setCurrentIndex(index)
            assert self.form is not None
            self.form.set_values(bot.strategy.params)
            limits = bot.risk.limits
            self.risk_form.set_values({f.name: "" if limits.get(f.name) is None else limits.get(f.name)
                                       for f in RISK_SCHEMA.fields})
        self._update_buttons()

    def _update_buttons(self) -> None:
        valid = (self.form is not None and self.form.is_valid and self.risk_form.is_valid
                 and not self._check.refused)
        bot = self.selected_bot() if hasattr(self, "table") else None
        running = bot is not None and bot.state is BotState.RUNNING
        live = bot is not None and bot.state in (BotState.RUNNING, BotState.STOPPING)
        self.start_button.setEnabled(valid)
        self.apply_button.setEnabled(valid and running)
        self.stop_button.setEnabled(running)
        self.kill_button.setEnabled(live)
        self.cancel_all_button.setEnabled(running)
        self.flatten_button.setEnabled(live)
        self._show_failure(bot)

    def _show_failure(self, bot: Bot | None) -> None:
        """The selected bot's failure or risk stop, in full (the table cell may be cut short)."""
        if bot is None or (bot.error is None and bot.stopped_by is None):
            if not self.failure.isHidden():
                self.failure.hide()
                self.failure.setText("")
            return
        if bot.error is not None:
            text = (f"{bot.name} failed and stopped (its orders cancelled): {bot.error}. "
                    "The traceback is in the log and the bot's journal.")
        else:
            text = f"{bot.name} was stopped by a risk limit (its orders cancelled): {bot.stopped_by}"
        if self.failure.text() != text:
            self.failure.setText(text)
            self.failure.setToolTip(text)
        if self.failure.isHidden():
            self.failure.show()

    # -- preview and status ------------------------------------------------------------------
    def refresh(self) -> None:
        if not self.isVisible():
            return
        self.model.refresh(list(self.workspace.bots.values()))
        self._refresh_preview()
        self._update_buttons()

    def _refresh_preview(self) -> None:
        quotes = []
        warnings: list[str] = []
        instrument = None
        markets: dict[str, MarketContext] = {}
        try:
            for role, (account, symbol) in self.bindings().items():
                conn = self.workspace.connectors[account]
                inst = conn.instruments[symbol or next(iter(conn.instruments))]
                markets[role] = MarketContext(role, conn, conn.feed(inst.symbol), inst)
            first = markets[next(iter(self.pickers))]
            connector, instrument = first.connector, first.instrument
        except (KeyError, StopIteration):
            connector = None
        check, note, fields = TradeCheck(), "", []
        if self.form is not None and self.form.is_valid and connector is not None and instrument is not None:
            try:
                cls = strategy_class(self.strategy.currentData())
                strategy = cls(self.form.values(), source="preview")
                strategy.bind(StrategyContext(connector.clock, connector, first.feed, instrument, _preview_log(),
                                              "preview", markets=markets))
                fields = amount_fields(strategy)
                check = check_trade(strategy, instrument, connector, first.feed, fields)
                quotes = [] if check.refused else [(q, instrument) for q in strategy.preview()]
                warnings = strategy.fee_warnings(instrument)
                note = strategy.preview_note()
            except (ConfigError, KeyError):
                quotes = []
        self._show_check(check, fields)
        book = first.feed.book if connector is not None else None
        self.preview_note.setText("" if quotes else empty_preview_reason(
            has_market=connector is not None,
            has_book=book is not None and book.best_bid_ticks > 0 < book.best_ask_ticks,
            form_valid=self.form is not None and self.form.is_valid, check=check, strategy_note=note))
        self._show_rules(instrument, warnings)
        self.preview.setRowCount(len(quotes))
        for row, (quote, inst) in enumerate(sorted(quotes, key=lambda qi: -qi[0].price_ticks)):
            cells = (quote.side.value, fmt_plain(inst.ticks_to_price(quote.price_ticks)),
                     fmt_plain(inst.lots_to_amount(quote.amount_lots)))
            for col, text in enumerate(cells):
                item = self.preview.item(row, col)
                if item is None:
                    self.preview.setItem(row, col, QTableWidgetItem(text))
                elif item.text() != text:
                    item.setText(text)

    def _show_check(self, check: TradeCheck, fields: list[str]) -> None:
        """A value that can never trade: its reason under the field, and no Start."""
        if self.form is not None:
            for name in {*fields, self._check.field} - {""}:
                self.form.show_check(name, check.reason if name == check.field else "")
        if check != self._check:
            self._check = check
            self._update_buttons()

    def _show_rules(self, instrument, warnings: list[str]) -> None:  # noqa: ANN001 - Instrument | None
        """The fees in force (they decide whether a spread can pay) and any fee warning."""
        text = ""
        if instrument is not None:
            text = (f"{instrument.symbol}: fees maker {fmt_rate(instrument.maker_fee)} / taker "
                    f"{fmt_rate(instrument.taker_fee)} ({instrument.settle_asset}); tick {instrument.tick_size}, "
                    f"lot {instrument.lot_size}, min notional {instrument.min_notional}")
        if self.fees.text() != text:
            self.fees.setText(text)
        warning = "; ".join(f"Warning: {w}" for w in warnings)
        if self.fee_warning.text() != warning:
            self.fee_warning.setText(warning)
        self.fee_warning.setVisible(bool(warning))

    # -- actions --------------------------------------------------------------------------------
    def _confirm(self, title: str, text: str, on_yes: Callable[[], None]) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, title, text,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setObjectName("bot_confirm")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def finished(result: int) -> None:
            self._pending_box = None
            if box.standardButton(box.clickedButton()) == QMessageBox.StandardButton.Yes:
                on_yes()

        box.finished.connect(finished)
        self._pending_box = box
        box.open()

    def request_start(self) -> None:
        assert self.form is not None
        if not self.form.revalidate():
            self.message.setText("Fix the highlighted fields first.")
            return
        strategy = self.strategy.currentData()
        account = self.account.currentText()
        bindings = self.bindings()
        limits = self._limits_text()
        if len(self.pickers) > 1:
            where = ", ".join(f"{role} {acc} {sym or ''}".rstrip() for role, (acc, sym) in bindings.items())
            self._confirm("Start bot", f"Start {strategy} on {where}?{limits}",
                          lambda: self.start_now(strategy, account, markets=bindings))
            return
        symbol = bindings.get(next(iter(self.pickers)), (account, None))[1]
        self._confirm("Start bot", f"Start {strategy} on {account}{' ' + symbol if symbol else ''}?{limits}",
                      lambda: self.start_now(strategy, account, symbol=symbol))

    def _limits_text(self) -> str:
        """The risk limits the new bot starts with, said in the confirmation (the form keeps
        the last values shown, which may be another bot's)."""
        given = {name: value for name, value in self.risk_form.values().items()
                 if value not in (None, "", False) and name in RISK_LIMIT_NAMES}
        if not given:
            return "\n\nRisk limits: none."
        return "\n\nRisk limits: " + ", ".join(f"{name} {value}" for name, value in given.items()) + "."

    def start_now(self, strategy: str, account: str, *, symbol: str | None = None,
                  markets: dict[str, tuple[str, str | None]] | None = None) -> Bot | None:
        """Creates and starts the bot: on `account` (and `symbol`), or on `markets` (role ->
        account, symbol) for a strategy with several market roles."""
        assert self.form is not None
        try:
            bot = self.workspace.create_bot(strategy, self.form.values(), connector=account, symbol=symbol,
                                            risk=self.risk_form.values(), markets=markets)
            bot.start()
        except (ConfigError, KeyError, ValueError) as exc:
            self.message.setText(f"Not started: {exc}")
            return None
        self.message.setText(f"{bot.name} started.")
        self.remember_form()
        self.model.refresh(list(self.workspace.bots.values()))
        self.table.selectRow(len(self.workspace.bots) - 1)
        return bot

    def apply_to_selected(self) -> None:
        bot = self.selected_bot()
        assert self.form is not None
        if bot is None or bot.state is not BotState.RUNNING:
            return
        try:
            form_risk = self.risk_form.values()
            risk = {f.name: form_risk.get(f.name) for f in RISK_SCHEMA.fields}  # absent: off
            bot.risk.validate(risk)  # both checked before either is applied
            applied = bot.update_params(self.form.values(), who="desktop user")
            applied.update(bot.update_risk(risk, who="desktop user"))
        except ConfigError as exc:
            self.message.setText(f"Not applied: {exc}")
            return
        self.message.setText(
            f"{bot.name}: " + (", ".join(f"{k} {old} -> {new}" for k, (old, new) in applied.items()) or "nothing changed")
        )

    def request_stop(self, *, kill: bool) -> None:
        bot = self.selected_bot()
        if bot is None:
            return
        verb = "Kill" if kill else "Stop"
        text = (f"{verb} {bot.name}? Every open order of the bot is cancelled"
                + (" immediately." if kill else " and the bot stops quoting."))
        self._confirm(f"{verb} bot", text, lambda: (bot.kill() if kill else bot.stop()))

    def request_cancel_all(self) -> None:
        bot = self.selected_bot()
        if bot is None or bot.state is not BotState.RUNNING:
            return
        self._confirm("Cancel all orders", f"Cancel every open order of {bot.name}? The bot keeps running: its "
                                            "strategy quotes again at its next decision (a price move, or its "
                                            "refresh time).", lambda: self.cancel_all(bot))

    def cancel_all(self, bot: Bot) -> None:
        ids = bot.cancel_all(who="desktop user")
        self.message.setText(f"{bot.name}: cancelling {len(ids)} order{'' if len(ids) == 1 else 's'}.")

    def request_flatten(self) -> None:
        bot = self.selected_bot()
        if bot is None:
            return
        slippage = bot.risk.limits.get("flatten_slippage_bps")
        self._confirm("Flatten and stop", f"Stop {bot.name}, cancel its orders and close its inventory or position "
                                          f"(no worse than {slippage} bp beyond the touch)?",
                      lambda: self.flatten(bot))

    def flatten(self, bot: Bot) -> None:
        try:
            bot.flatten(who="desktop user")
        except RuntimeError as exc:
            self.message.setText(f"Not flattened: {exc}")
            return
        self.message.setText(f"{bot.name}: flattening; it stops when its inventory is closed.")


RISK_LIMIT_NAMES = frozenset((*PER_ORDER, *ON_PNL, "flatten_on_stop"))


def _market_label(title: str) -> str:
    """'Maker' -> 'Maker market'; a title that already says it ('Market', 'Maker market') as is."""
    return title if title.lower().endswith("market") else f"{title} market"


def _preview_log():
    import logging

    return logging.getLogger("colibri.preview")

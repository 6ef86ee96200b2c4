"""The bot form's last values per strategy, kept in the app's QSettings.

Saved when a bot starts from the form, when the form switches to another strategy, when
a config file is imported and when the window closes; restored whenever the form is
built for that strategy (the app starting, the strategy chosen again). What is kept: the
parameters and risk limits as typed (text, so a value that is not valid yet is kept as
the user left it) and each market role's account and symbol. A value the strategy no
longer has, or an account that is not open, is skipped, never an error.
"""
from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings

if TYPE_CHECKING:
    from ui.bots.bots_dock import BotsPanel

log = logging.getLogger(__name__)

PREFIX = "botForms/"


class FormMemory:
    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def save(self, panel: "BotsPanel", strategy: str) -> None:
        """Keeps what the panel's form shows now as `strategy`'s last values."""
        if panel.form is None:
            return
        markets = {role: [picker.account.currentText(), picker.symbol.currentText()]
                   for role, picker in panel.pickers.items()}
        data = {"params": _texts(panel.form.raw_values()), "risk": _texts(panel.risk_form.raw_values()),
                "markets": markets}
        self.settings.setValue(PREFIX + strategy, json.dumps(data, sort_keys=True))
        self.settings.sync()

    def load(self, strategy: str) -> dict[str, Any] | None:
        raw = self.settings.value(PREFIX + strategy)
        if not raw:
            return None
        try:
            data = json.loads(str(raw))
        except ValueError:
            log.warning("bot form: the remembered values of %s are unreadable; using the defaults", strategy)
            return None
        return data if isinstance(data, dict) else None

    def restore(self, panel: "BotsPanel", strategy: str) -> bool:
        """Puts `strategy`'s remembered values into the panel's form; False if none."""
        data = self.load(strategy)
        if data is None or panel.form is None:
            return False
        for role, pair in (data.get("markets") or {}).items():
            picker = panel.pickers.get(role)
            if picker is None or not isinstance(pair, list) or len(pair) != 2:
                continue
            account, symbol = pair
            if picker.account.findText(str(account)) >= 0:
                picker.account.setCurrentText(str(account))
                if picker.symbol.findText(str(symbol)) >= 0:
                    picker.symbol.setCurrentText(str(symbol))
        _set(panel.form, data.get("params"))
        _set(panel.risk_form, data.get("risk"), clear=True)
        return True


def _texts(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, bool) else str(v) for k, v in values.items()}


def _set(form, values: Any, *, clear: bool = False) -> None:  # noqa: ANN001 - SchemaForm
    """The known fields of `values`; with `clear`, fields not given are emptied (an off limit)."""
    if not isinstance(values, dict):
        return
    known = form.schema.by_name()
    chosen = {k: v for k, v in values.items() if k in known}
    if clear:
        for name, spec in known.items():
            if name not in chosen and spec.kind != "bool":
                chosen[name] = ""
    form.set_values(chosen)

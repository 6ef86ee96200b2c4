"""Manual trading's settings: the hotkeys and when an order asks for confirmation.

Kept in the app's QSettings (the layout's store) under `trading/`, so a trader's keys and
choices survive a restart; every hotkey can be changed or cleared in the help dialog
(ui/trading/hotkeys.py) and reset to the defaults below.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence


@dataclass(frozen=True, slots=True)
class Hotkey:
    name: str  # the settings key
    title: str  # what the help dialog lists
    default: str  # a QKeySequence in portable text ("" for none)


HOTKEYS = (
    Hotkey("buy_bid", "Buy at the best bid (the ticket's amount)", "F5"),
    Hotkey("buy_ask", "Buy at the best ask (the ticket's amount)", "F6"),
    Hotkey("sell_ask", "Sell at the best ask (the ticket's amount)", "F7"),
    Hotkey("sell_bid", "Sell at the best bid (the ticket's amount)", "F8"),
    Hotkey("cancel_all", "Cancel all manual orders of the market", "F9"),
    Hotkey("flatten", "Flatten: cancel them and close what they bought or sold", "Ctrl+F9"),
    Hotkey("send", "Send the ticket's order", "Ctrl+Return"),
    Hotkey("focus_ticket", "Go to the order ticket's amount", "Ctrl+T"),
    Hotkey("help", "Show the hotkeys and trading settings", "F1"),
)
HOTKEY_NAMES = tuple(h.name for h in HOTKEYS)

KEY_CONFIRM_LIVE = "trading/confirm_live"
KEY_CONFIRM_SIMULATED = "trading/confirm_simulated"
KEY_RISK = "trading/risk"


class TradingSettings:
    def __init__(self, settings: QSettings) -> None:
        self._settings = settings

    # -- hotkeys -----------------------------------------------------------------------------------
    def hotkey(self, name: str) -> QKeySequence:
        """The key of an action: the saved one, else its default ("" saved: none)."""
        default = next(h.default for h in HOTKEYS if h.name == name)
        text = self._settings.value(f"trading/hotkeys/{name}", default)
        return QKeySequence.fromString(str(text or ""), QKeySequence.SequenceFormat.PortableText)

    def set_hotkey(self, name: str, sequence: QKeySequence) -> None:
        if name not in HOTKEY_NAMES:
            raise KeyError(name)
        self._settings.setValue(f"trading/hotkeys/{name}", sequence.toString(QKeySequence.SequenceFormat.PortableText))

    def reset_hotkeys(self) -> None:
        for name in HOTKEY_NAMES:
            self._settings.remove(f"trading/hotkeys/{name}")

    def hotkey_user(self, sequence: QKeySequence, but: str = "") -> str | None:
        """The action (other than `but`) that already uses `sequence`, or None."""
        if sequence.isEmpty():
            return None
        return next((n for n in HOTKEY_NAMES if n != but and self.hotkey(n) == sequence), None)

    # -- confirmation ------------------------------------------------------------------------------
    @property
    def confirm_live(self) -> bool:
        """Ask before sending to a live exchange (on by default: real money)."""
        return _bool(self._settings.value(KEY_CONFIRM_LIVE, True))

    @confirm_live.setter
    def confirm_live(self, on: bool) -> None:
        self._settings.setValue(KEY_CONFIRM_LIVE, bool(on))

    @property
    def confirm_simulated(self) -> bool:
        """Ask before sending to the demo exchange or paper trading (off by default)."""
        return _bool(self._settings.value(KEY_CONFIRM_SIMULATED, False))

    @confirm_simulated.setter
    def confirm_simulated(self, on: bool) -> None:
        self._settings.setValue(KEY_CONFIRM_SIMULATED, bool(on))

    def confirms(self, is_live: bool) -> bool:
        return self.confirm_live if is_live else self.confirm_simulated

    # -- limits on manual orders -------------------------------------------------------------------
    @property
    def risk(self) -> dict[str, str]:
        """The limits on manual orders as the form gave them (text; absent: off)."""
        try:
            values = json.loads(str(self._settings.value(KEY_RISK, "{}") or "{}"))
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else {}

    @risk.setter
    def risk(self, values: dict[str, object]) -> None:
        self._settings.setValue(KEY_RISK, json.dumps({k: str(v) for k, v in values.items() if v is not None}))


def _bool(value: object) -> bool:
    """QSettings' INI files give "true"/"false" back as text."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)

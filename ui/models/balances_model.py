"""Balances (total, available, locked) per account and asset.

A BalancesUpdated event is treated as an update of the assets it names, never as a
statement that other assets went away: connectors may publish only what changed.
Zero balances are hidden by default, since live exchanges list hundreds of assets.
"""
from __future__ import annotations

from typing import Any, Hashable

from app.domain import Balance, BalancesUpdated
from app.interfaces.venue import Connector
from ui.models.base import AccountFedModel, RowData, fmt_decimal, fmt_money
from ui.models.buffer import CoalescingBuffer, Subscriptions

BalanceKey = tuple[str, str]  # (account, asset)


class BalancesModel(AccountFedModel):
    COLUMNS = ("Account", "Asset", "Total", "Available", "Locked")
    NUMERIC = frozenset({2, 3, 4})

    def __init__(self, parent: Any = None, *, hide_zero: bool = True) -> None:
        super().__init__(parent)
        self._buffer: CoalescingBuffer[BalanceKey, Balance] = CoalescingBuffer()
        self._subs = Subscriptions()
        self._balances: dict[BalanceKey, Balance] = {}
        self._hide_zero = hide_zero

    def add_account(self, account: str, connector: Connector) -> None:
        """Shows the connector's current balances now and its balance events from now on."""

        def listener(event: object) -> None:
            if isinstance(event, BalancesUpdated):
                for asset, balance in event.balances.items():
                    self._buffer.put((account, asset), balance)

        self._subs.add(account, connector, listener)
        for asset, balance in connector.balances().items():
            self._buffer.put((account, asset), balance)

    def remove_account(self, account: str) -> None:
        if self._subs.remove(account) is None:
            return
        for key in [k for k in self._balances if k[0] == account]:
            del self._balances[key]
        self._remove([k for k in self._keys if k[0] == account])

    @property
    def hide_zero(self) -> bool:
        return self._hide_zero

    def set_hide_zero(self, hide: bool) -> None:
        if hide == self._hide_zero:
            return
        self._hide_zero = hide
        self.flush()
        self._reset((k, self._row(k, b)) for k, b in self._balances.items() if self._visible(b))

    def balance(self, account: str, asset: str) -> Balance | None:
        return self._balances.get((account, asset))

    def flush(self) -> bool:
        changes = self._buffer.drain()
        if not changes:
            return False
        upserts: dict[Hashable, RowData] = {}
        removals: list[Hashable] = []
        for key, balance in changes.items():
            if key[0] not in self._subs:
                continue
            balance = Balance(balance.asset, balance.total, balance.locked)  # own copy
            self._balances[key] = balance
            if self._visible(balance):
                upserts[key] = self._row(key, balance)
            else:
                removals.append(key)
        return self._apply(upserts, removals)

    def _visible(self, balance: Balance) -> bool:
        return not self._hide_zero or balance.total != 0 or balance.locked != 0

    @staticmethod
    def _row(key: BalanceKey, balance: Balance) -> RowData:
        account, asset = key
        available = balance.available
        amounts = (balance.total, available, balance.locked)
        display = (account, asset, *(fmt_money(a) for a in amounts))
        sort = (account, asset, *amounts)
        exact = ("", "", *(fmt_decimal(a) for a in amounts))  # tooltip and CSV: every digit
        return RowData(display, sort, exact)

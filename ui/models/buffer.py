"""Qt-free buffers between connector listeners and table models.

Connector listeners run in the publisher's callback (possibly on another thread, and
possibly thousands of times a second). They must do no Qt work: they only drop the
change into one of these buffers, and the model applies everything at once when its
capped timer calls `flush()`. Keyed buffers coalesce: an order that changed 50 times
between two flushes is applied once, with its latest state.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Generic, Hashable, Iterable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class CoalescingBuffer(Generic[K, V]):
    """Latest value per key, in first-seen order; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[K, V] = {}

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value

    def drain(self) -> dict[K, V]:
        with self._lock:
            items, self._items = self._items, {}
        return items

    def __len__(self) -> int:
        return len(self._items)


class BoundedBuffer(Generic[V]):
    """Append-only queue that keeps only the newest `maxlen` items; thread-safe.

    Bounded so that a hidden table (whose timer does not flush) cannot grow memory
    without limit while fills keep arriving.
    """

    def __init__(self, maxlen: int) -> None:
        self._lock = threading.Lock()
        self._items: deque[V] = deque(maxlen=maxlen)

    def put(self, value: V) -> None:
        with self._lock:
            self._items.append(value)

    def extend(self, values: Iterable[V]) -> None:
        with self._lock:
            self._items.extend(values)

    def drain(self) -> list[V]:
        with self._lock:
            items = list(self._items)
            self._items.clear()
        return items

    def __len__(self) -> int:
        return len(self._items)


class Subscriptions:
    """Which account feeds a model: account id -> (connector, the listener added to it).

    Kept so that removing an account removes exactly the listener the model added,
    and so that flush() can ignore changes queued just before the account was removed.
    """

    def __init__(self) -> None:
        self._items: dict[str, tuple[object, object]] = {}

    def add(self, account: str, connector: object, listener: object) -> None:
        if account in self._items:
            raise ValueError(f"account {account!r} already feeds this model")
        self._items[account] = (connector, listener)
        connector.add_listener(listener)  # type: ignore[attr-defined]

    def remove(self, account: str) -> object | None:
        item = self._items.pop(account, None)
        if item is None:
            return None
        connector, listener = item
        connector.remove_listener(listener)  # type: ignore[attr-defined]
        return connector

    def connector(self, account: str) -> object | None:
        item = self._items.get(account)
        return item[0] if item else None

    def __contains__(self, account: object) -> bool:
        return account in self._items

    def accounts(self) -> list[str]:
        return list(self._items)

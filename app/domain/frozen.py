"""What the read-only event classes share (OrderEvent, OrderUpdated, OrderFilled).

Those classes are built once per order change, thousands of times per backtest, so they are
compiled as extension types with read-only fields (the `.pxd` files beside
app/domain/order.py and app/domain/events.py) instead of frozen dataclasses, whose
generated `__init__` stores every field through `object.__setattr__` (about 10x the cost).
They keep what the dataclasses gave: equality and hashing by fields, the same repr,
pickling, and FrozenInstanceError on assignment. Uncompiled they are plain classes with the
same behaviour (`compiled` tells which, so `__init__` stores the fields the right way).
"""
from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any


def compiled(cls: type) -> bool:
    """Whether `cls` is the compiled extension type (its `__init__` is a C slot, not a function)."""
    return type(cls.__dict__["__init__"]).__name__ != "function"


def refuse_assign(name: str) -> None:
    """What assigning a field does, as on a frozen dataclass."""
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def refuse_delete(name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def fields_text(obj: Any, names: tuple[str, ...]) -> str:
    """The dataclass repr: `Name(field=value!r, ...)`."""
    inner = ", ".join(f"{name}={getattr(obj, name)!r}" for name in names)
    return f"{type(obj).__qualname__}({inner})"

"""What the read-only event classes share (OrderEvent, OrderUpdated, OrderFilled).

Those classes are built once per order change, thousands of times per backtest, so they are
compiled as extension types with read-only fields (the `.pxd` files beside
app/domain/order.py and app/domain/events.py) instead of frozen dataclasses, whose
generated `__init__` stores every field through `object.__setattr__` (about 10x the cost).
They keep what the dataclasses gave: equality and hashing by fields, the same repr,
pickling, and FrozenInstanceError on assignment, from one compiled base, `Frozen`, that
reads a class's fields from its `__match_args__`. Uncompiled they are plain classes with the
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


class Frozen:
    """The base of the read-only event classes: equality, hashing, repr and pickling by the
    fields named in the subclass's `__match_args__`; assigning or deleting a field raises.
    Only `__init__` is a subclass's own (it is the hot path: one per order change)."""

    __match_args__ = ()  # the subclass's field names, in order

    def _fields(self) -> tuple:
        return tuple([getattr(self, name) for name in type(self).__match_args__])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return fields_text(self, type(self).__match_args__)

    def __reduce__(self) -> tuple:
        return (type(self), self._fields())

    def __setattr__(self, name: str, value: object) -> None:
        refuse_assign(name)

    def __delattr__(self, name: str) -> None:
        refuse_delete(name)

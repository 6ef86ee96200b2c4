"""Declarative parameter schemas.

One schema serves three readers: the YAML loader (validation with errors that name the
file and field), the desktop bot form (types, units, ranges and help text become widgets,
tooltips and inline errors) and live parameter edits (the same checks before a change
takes effect). Keeping them in one place means the form can never accept what the
loader would refuse.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable

INT64_MAX = 2**63 - 1
"""No int field accepts more: every int ends in an int64 (Cython fields, numpy, nanoseconds)."""
DECIMAL_LIMIT = Decimal(10) ** 15
"""Decimals without their own maximum stay within +-1e15: Decimal keeps 28 significant
digits, so larger amounts would lose the fractions of a lot or a tick in arithmetic."""
DECIMAL_PLACES = 18


def one_line(text: str) -> str:
    """Messages are printed as one line whatever the value in them."""
    return " ".join(str(text).split())


def show(raw: Any, limit: int = 60) -> str:
    """A value as the user wrote it, quoted, shortened if long (for error messages)."""
    try:
        text = repr(raw)
    except (RecursionError, ValueError):  # a self-referencing YAML structure, a huge int
        text = f"<{type(raw).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ConfigError(ValueError):
    """A bad value, with where it came from: `file: field: reason` (always one line)."""

    def __init__(self, source: str, field_path: str, reason: str) -> None:
        self.source = source
        self.field_path = str(field_path)
        self.reason = reason
        where = f"{source}: " if source else ""
        super().__init__(one_line(f"{where}{field_path}: {reason}" if field_path else f"{where}{reason}"))


@dataclass(frozen=True)
class Field:
    """One parameter. kind is one of: decimal, int, float, bool, str, choice, list.

    Numbers are always finite (no NaN or infinity, also not as text); ints stay within
    int64 and decimals within +-1e15 with at most 18 decimal places, whatever `maximum`
    says (the form shows `minimum`/`maximum`; these outer limits only stop absurd input).

    A `list` holds entries whose parts are the `items` fields (e.g. side, spread, amount);
    `maximum` is the most entries allowed. See `Entries` for the forms it accepts.
    """

    name: str
    kind: str
    default: Any = None
    minimum: Any = None
    maximum: Any = None
    unit: str = ""
    help: str = ""
    choices: tuple[str, ...] = ()
    required: bool = False
    exclusive_minimum: bool = False  # True: value must be strictly greater than minimum
    items: tuple["Field", ...] = ()  # list only: the parts of one entry, in their written order

    def __post_init__(self) -> None:
        if (self.kind == "list") != bool(self.items):
            raise ValueError(f"field {self.name}: a list field needs `items`, and only a list field has them")

    def coerce(self, raw: Any, source: str = "", prefix: str = "") -> Any:
        """Returns the typed value or raises ConfigError naming this field."""
        path = f"{prefix}{self.name}"

        def fail(reason: str) -> ConfigError:
            return ConfigError(source, path, reason)

        if self.kind == "list":
            return self._coerce_list(raw, source, path)
        if self.kind == "bool":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
                return raw.strip().lower() == "true"  # as text: a journal's record, a command line, a form
            raise fail(f"expected true or false, got {show(raw)}")
        if self.kind == "str":
            if isinstance(raw, str) and raw.strip():
                if any(ord(c) < 32 or ord(c) == 127 for c in raw.strip()):
                    raise fail(f"expected one line of text without control characters, got {show(raw)}")
                return raw.strip()
            raise fail(f"expected text, got {show(raw)}")
        if self.kind == "choice":
            if isinstance(raw, str) and raw in self.choices:
                return raw
            raise fail(f"{show(raw)} is not one of: {', '.join(self.choices)}")
        if isinstance(raw, bool) or raw is None or not isinstance(raw, (int, float, str, Decimal)):
            raise fail(f"expected a number, got {show(raw)}")
        try:
            if self.kind == "int":
                if isinstance(raw, float) and not raw.is_integer():
                    raise ValueError
                value: Any = int(str(raw).strip()) if not isinstance(raw, (int, float)) else int(raw)
            elif self.kind == "float":
                value = float(raw.strip() if isinstance(raw, str) else raw)
                if not math.isfinite(value):
                    raise fail(f"expected a finite number, got {show(raw)}")
            elif self.kind == "decimal":
                value = Decimal(repr(raw) if isinstance(raw, float) else str(raw).strip())
                if not value.is_finite():
                    raise fail(f"expected a finite number, got {show(raw)}")
            else:
                raise fail(f"unknown field kind {self.kind!r}")
        except (ValueError, ArithmeticError) as exc:
            if isinstance(exc, ConfigError):
                raise
            if isinstance(raw, float) and not math.isfinite(raw):
                raise fail(f"expected a finite number, got {show(raw)}") from None
            raise fail(f"expected {'a whole number' if self.kind == 'int' else 'a number'}, got {show(raw)}") from None
        unit = f" {self.unit}" if self.unit else ""
        if self.minimum is not None:
            low = type(value)(self.minimum) if self.kind != "decimal" else Decimal(str(self.minimum))
            if value < low or (self.exclusive_minimum and value == low):
                relation = "greater than" if self.exclusive_minimum else "at least"
                raise fail(f"must be {relation} {self.minimum}{unit}, got {show(raw)}")
        if self.maximum is not None:
            high = type(value)(self.maximum) if self.kind != "decimal" else Decimal(str(self.maximum))
            if value > high:
                raise fail(f"must be at most {self.maximum}{unit}, got {show(raw)}")
        if self.kind == "int" and not -INT64_MAX - 1 <= value <= INT64_MAX:
            raise fail(f"must be at most {INT64_MAX} in size (a 64-bit integer), got {show(raw)}")
        if self.kind == "decimal":
            if abs(value) > DECIMAL_LIMIT:
                raise fail(f"must be at most 1e15 in size, got {show(raw)}")
            if value.normalize().as_tuple().exponent < -DECIMAL_PLACES:
                raise fail(f"has more than {DECIMAL_PLACES} decimal places, got {show(raw)}")
        return value

    def _coerce_list(self, raw: Any, source: str, path: str) -> "Entries":
        if raw is None:
            return Entries()
        if isinstance(raw, str):
            text = raw.strip()
            raw = [] if text.lower() in ("", NO_ENTRIES) else [part for part in text.split(";") if part.strip()]
        if not isinstance(raw, (list, tuple)):
            raise ConfigError(source, path, f"expected a list of entries ({self._entry_form()}), got {show(raw)}")
        if self.maximum is not None and len(raw) > int(self.maximum):
            raise ConfigError(source, path, f"at most {self.maximum} entries, got {len(raw)}")
        names = [spec.name for spec in self.items]
        entries = []
        for i, entry in enumerate(raw):
            where = f"{path}[{i}]"
            if isinstance(entry, str):
                entry = entry.replace(",", " ").split()
            if isinstance(entry, (list, tuple)):
                if len(entry) != len(names):
                    raise ConfigError(source, where, f"expected {len(names)} values ({self._entry_form()}), "
                                                     f"got {show(list(entry))}")
                entry = dict(zip(names, entry))
            if not isinstance(entry, dict):
                raise ConfigError(source, where, f"expected an entry ({self._entry_form()}), got {show(entry)}")
            entries.append(Schema(self.items).validate(entry, source, f"{where}."))
        return Entries(entries)

    def _entry_form(self) -> str:
        return " ".join(spec.name for spec in self.items)


NO_ENTRIES = "none"
"""How an empty list is written where text is all there is (a form's line edit)."""


class Entries(tuple):
    """A list field's value: a tuple of entries, each a dict of typed parts in the items'
    order. YAML gives it as a list of mappings (`- {side: buy, spread: 2, amount: 0.01}`)
    or of lists (`- [buy, 2, 0.01]`); a line of text (a form field, a command-line value)
    as entries separated by `;`, parts by spaces or commas: `buy 2 0.01; sell 3 0.02`.
    `str()` gives that text back (`none` when empty), so a form shows a value it will
    read again and a journal records it readably."""

    def __str__(self) -> str:
        if not self:
            return NO_ENTRIES
        return "; ".join(" ".join(_text(part) for part in entry.values()) for entry in self)

    def __repr__(self) -> str:
        return f"Entries({str(self)!r})"


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Schema:
    fields: tuple[Field, ...] = field(default_factory=tuple)
    check: Callable[[dict[str, Any], str, str], None] | None = field(default=None, compare=False)
    """Rules between fields (a floor below its ceiling): called by `validate` with the typed
    values, the source and the field prefix; raises ConfigError naming the field to change."""

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate field names in schema: {names}")

    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    def defaults(self) -> dict[str, Any]:
        return {f.name: f.default for f in self.fields if f.default is not None}

    def validate(self, values: dict[str, Any] | None, source: str = "", prefix: str = "") -> dict[str, Any]:
        """Full validation: unknown keys, missing required fields, every value coerced."""
        if values is None:  # an empty section (`venue:`) means all defaults
            values = {}
        if not isinstance(values, dict):
            raise ConfigError(source, prefix.rstrip("."), f"expected a mapping of settings, got {show(values)}")
        known = self.by_name()
        unknown = sorted(set(values) - set(known), key=str)
        if unknown:
            raise ConfigError(source, f"{prefix}{unknown[0]}", f"unknown field (known: {', '.join(known)})")
        result: dict[str, Any] = {}
        for spec in self.fields:
            if spec.name in values:
                result[spec.name] = spec.coerce(values[spec.name], source, prefix)
            elif spec.required:
                raise ConfigError(source, f"{prefix}{spec.name}", "is required")
            elif spec.default is not None:
                result[spec.name] = spec.coerce(spec.default, source, prefix)
        if self.check is not None:
            self.check(result, source, prefix)
        return result

    def validate_changes(self, changes: dict[str, Any], source: str = "live edit") -> dict[str, Any]:
        """Validates a partial update (only the given keys); rules between fields need the
        whole set, so `check` is left to the caller (a strategy with rules between its
        fields runs it on the merged values in its apply_params)."""
        known = self.by_name()
        out = {}
        for key, raw in changes.items():
            if key not in known:
                raise ConfigError(source, str(key), "unknown parameter")
            out[key] = known[key].coerce(raw, source)
        return out


def merge_schemas(*schemas: Schema) -> Schema:
    fields: Iterable[Field] = (f for s in schemas for f in s.fields)
    return Schema(tuple(fields))

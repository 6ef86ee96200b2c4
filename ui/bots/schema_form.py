"""A parameter form generated from a strategy's Schema.

Every field gets the widget its kind calls for, a tooltip with help, unit and range, and
an error label that shows the schema's own message as the user types: the form accepts
exactly what the config loader accepts, because it asks the same Schema.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.config.schema import ConfigError, Field, Schema


def _tooltip(spec: Field) -> str:
    parts = [spec.help] if spec.help else []
    bounds = []
    if spec.minimum is not None:
        bounds.append(f"{'>' if spec.exclusive_minimum else '>='} {spec.minimum}")
    if spec.maximum is not None:
        bounds.append(f"<= {spec.maximum}")
    if bounds:
        parts.append("Range: " + ", ".join(bounds) + (f" {spec.unit}" if spec.unit else ""))
    elif spec.unit:
        parts.append(f"Unit: {spec.unit}")
    return "\n".join(parts)


class SchemaForm(QWidget):
    """Emits `validity_changed(bool)` whenever the form turns valid or invalid."""

    validity_changed = Signal(bool)

    def __init__(self, schema: Schema, values: dict[str, Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.schema = schema
        self._editors: dict[str, QWidget] = {}
        self._errors: dict[str, QLabel] = {}
        self._valid = True
        layout = QFormLayout()
        values = {**schema.defaults(), **(values or {})}
        for spec in schema.fields:
            editor = self._make_editor(spec, values.get(spec.name))
            editor.setObjectName(f"field_{spec.name}")
            editor.setToolTip(_tooltip(spec))
            error = QLabel("")
            error.setObjectName(f"error_{spec.name}")
            error.setStyleSheet("color: #e5534b;")
            error.setWordWrap(True)  # a start-check reason is a sentence: it must not widen the form
            error.setVisible(False)
            box = QWidget()
            inner = QVBoxLayout(box)
            inner.setContentsMargins(0, 0, 0, 0)
            inner.setSpacing(1)
            inner.addWidget(editor)
            inner.addWidget(error)
            layout.addRow(_row_label(spec), box)
            self._editors[spec.name] = editor
            self._errors[spec.name] = error
        self.setLayout(layout)
        self.revalidate()

    def _make_editor(self, spec: Field, value: Any) -> QWidget:
        if spec.kind == "bool":
            box = QCheckBox()
            box.setChecked(bool(value))
            box.toggled.connect(self.revalidate)
            return box
        if spec.kind == "choice":
            combo = QComboBox()
            combo.addItems(list(spec.choices))
            if value in spec.choices:
                combo.setCurrentText(value)
            combo.currentTextChanged.connect(self.revalidate)
            return combo
        edit = QLineEdit("" if value is None else str(value))
        edit.textChanged.connect(self.revalidate)
        return edit

    def raw_values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, editor in self._editors.items():
            if isinstance(editor, QCheckBox):
                out[name] = editor.isChecked()
            elif isinstance(editor, QComboBox):
                out[name] = editor.currentText()
            else:
                text = editor.text().strip()  # type: ignore[union-attr]
                if text:
                    out[name] = text
        return out

    def errors(self) -> dict[str, str]:
        found = {}
        raw = self.raw_values()
        for spec in self.schema.fields:
            if spec.name not in raw:
                if spec.required or spec.default is not None:
                    found[spec.name] = "a value is required"
                continue
            try:
                spec.coerce(raw[spec.name])
            except ConfigError as exc:
                found[spec.name] = exc.reason
        return found

    def revalidate(self) -> bool:
        errors = self.errors()
        for name, label in self._errors.items():
            message = errors.get(name, "")
            label.setText(message)
            label.setVisible(bool(message))
        valid = not errors
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)
        return valid

    @property
    def is_valid(self) -> bool:
        return self._valid

    def values(self) -> dict[str, Any]:
        """Typed values; raises ConfigError naming the first bad field."""
        return self.schema.validate(self.raw_values(), source="bot form")

    def set_values(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            editor = self._editors.get(name)
            if isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, QComboBox):
                editor.setCurrentText(str(value))
            elif isinstance(editor, QLineEdit):
                editor.setText(str(value))
        self.revalidate()

    def editor(self, name: str) -> QWidget:
        return self._editors[name]

    def error_text(self, name: str) -> str:
        return self._errors[name].text()

    def show_check(self, name: str, reason: str) -> None:
        """A reason the value of `name` cannot trade (the start checks), under its field; ""
        clears it. A value the schema refuses keeps its own message."""
        label = self._errors.get(name)
        if label is None or name in self.errors():
            return
        if label.text() != reason:
            label.setText(reason)
        label.setVisible(bool(reason))


LABEL_WIDTH = 190
"""Labels wrap at this width: a long parameter name (a two-market strategy's conversion
rates) must not push its field out of a narrow dock."""


def label_text(spec: Field) -> str:
    """`order levels`, `bid spread (bp)`: the unit only where the name does not say it
    already ("order levels (levels)", "duration seconds (s)")."""
    words = spec.name.replace("_", " ")
    unit = spec.unit.strip()
    said = unit and (words.endswith(unit) or (unit == "s" and words.endswith("seconds")))
    return f"{words} ({unit})" if unit and not said else words


def _row_label(spec: Field) -> QLabel:
    label = QLabel(label_text(spec))
    label.setWordWrap(True)
    label.setMinimumWidth(min(LABEL_WIDTH, label.fontMetrics().horizontalAdvance(label.text()) + 4))
    label.setMaximumWidth(LABEL_WIDTH)
    return label

"""Form labels: the unit once, and long names wrapped rather than pushing fields away."""
from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel

from app.config.schema import Field, Schema
from ui.bots.schema_form import LABEL_WIDTH, SchemaForm, label_text


def test_the_unit_is_said_once():
    assert label_text(Field("bid_spread_bps", "decimal", 1, unit="bp")) == "bid spread bps (bp)"
    assert label_text(Field("order_levels", "int", 1, unit="levels")) == "order levels"
    assert label_text(Field("duration_seconds", "float", 1, unit="s")) == "duration seconds"
    assert label_text(Field("post_only", "bool", True)) == "post only"


def test_long_labels_wrap_within_the_label_width(qtbot):
    name = "market_2_to_market_1_quote_conversion_rate"
    form = SchemaForm(Schema((Field(name, "decimal", 1, unit="market_1 quote per market_2 quote"),)))
    qtbot.addWidget(form)
    layout = form.layout()
    assert isinstance(layout, QFormLayout)
    label = layout.itemAt(0, QFormLayout.ItemRole.LabelRole).widget()
    assert isinstance(label, QLabel) and label.wordWrap() and label.maximumWidth() == LABEL_WIDTH

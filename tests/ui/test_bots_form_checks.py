"""The bot form refuses values that can never trade, with the reason under the field, and
an empty preview says why (offscreen, a scripted paper market: TST/USD at 100, min notional 5)."""
from __future__ import annotations

from tests.ui.test_bots_risk import QUOTER, make_panel


def shown(qtbot, panel):
    panel.resize(500, 1400)
    panel.show()
    qtbot.waitExposed(panel)
    panel.refresh()
    return panel


def pick(panel, strategy: str) -> None:
    panel.strategy.setCurrentIndex(panel.strategy.findData(strategy))


def test_an_order_below_the_minimum_notional_is_refused_next_to_its_field(qtbot):
    clock, feed, workspace, panel = make_panel(qtbot)
    shown(qtbot, panel)
    pick(panel, "simple_quoter")
    panel.form.set_values(QUOTER)
    panel.refresh()
    assert panel.start_button.isEnabled() and panel.preview.rowCount() == 2
    assert panel.form.error_text("order_amount") == "" and panel.preview_note.text() == ""

    panel.form.set_values({"order_amount": "0.01"})  # 1 USD at 100: below the 5 USD minimum
    panel.refresh()
    reason = panel.form.error_text("order_amount")
    assert "below the minimum notional 5 USD" in reason, reason
    assert panel.form.findChild(type(panel.preview_note), "error_order_amount").isVisible()
    assert not panel.start_button.isEnabled() and panel.preview.rowCount() == 0
    assert panel.preview_note.text().startswith("No quotes: ") and "minimum notional" in panel.preview_note.text()

    panel.form.set_values({"order_amount": "0.0001"})  # below the lot (0.001)
    panel.refresh()
    assert "below the lot size 0.001" in panel.form.error_text("order_amount")

    panel.form.set_values({"order_amount": "50"})  # 5000 USD or 50 TST: neither side affordable
    panel.refresh()
    assert "neither side can be paid for" in panel.form.error_text("order_amount")
    assert not panel.start_button.isEnabled()

    panel.form.set_values({"order_amount": "0.1"})
    panel.refresh()
    assert panel.form.error_text("order_amount") == "" and panel.start_button.isEnabled()
    assert panel.preview.rowCount() == 2


def test_an_empty_preview_says_why(qtbot):
    clock, feed, workspace, panel = make_panel(qtbot)
    shown(qtbot, panel)
    pick(panel, "avellaneda_stoikov")
    panel.form.set_values({"order_amount": "0.1"})
    panel.refresh()
    assert panel.preview.rowCount() == 0
    assert panel.preview_note.text().startswith("Avellaneda-Stoikov is warming up"), panel.preview_note.text()
    pick(panel, "dca")
    panel.form.set_values({"first_amount": "0.1"})
    panel.refresh()
    assert panel.preview.rowCount() == 0 and panel.preview_note.text().startswith("DCA waits for its first entry")
    feed.set_levels(bids={10000: 0}, asks={10002: 0})  # the book emptied
    panel.refresh()
    assert panel.preview_note.text() == "The market has no book yet: nothing to quote from.", panel.preview_note.text()

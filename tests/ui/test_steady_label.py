"""SteadyLabel: a readout whose text changes often without re-laying out its window."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QWidget

from ui.steady_label import SteadyLabel


class LayoutRequests(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, event) -> bool:  # noqa: ANN001, N802 - Qt's name
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def bar_with(qtbot, label: QLabel) -> tuple[QWidget, LayoutRequests]:  # noqa: ANN001
    window = QWidget()
    qtbot.addWidget(window)
    bar = QHBoxLayout(window)
    bar.addWidget(QLabel("Interval", window))
    bar.addStretch(1)
    bar.addWidget(label)
    window.resize(500, 40)
    window.show()
    qtbot.waitExposed(window)
    requests = LayoutRequests()
    window.installEventFilter(requests)
    return window, requests


def set_texts(label: QLabel, texts: list[str]) -> None:
    for text in texts:
        label.setText(text)
        QApplication.processEvents()


TEXTS = [f"last 65000.{k:02d}  vol 0.{k * 7:03d}" for k in range(1, 30)]


def test_a_changing_text_relayouts_a_plain_label_but_not_a_steady_one(qtbot):
    plain_window, plain_requests = bar_with(qtbot, plain := QLabel("", None))
    set_texts(plain, TEXTS)
    assert plain_window.isVisible() and plain_requests.count >= 10  # what the steady label is for: a plain one asks each time

    window, requests = bar_with(qtbot, steady := SteadyLabel(""))
    set_texts(steady, TEXTS[:1])
    requests.count = 0
    set_texts(steady, TEXTS)
    assert requests.count <= 2  # only when a wider text than any before needs room
    assert window.isVisible() and steady.text() == TEXTS[-1]


def test_it_grows_for_a_wider_text_never_clips_and_can_shrink_again(qtbot):
    window, _ = bar_with(qtbot, label := SteadyLabel("short"))
    narrow = label.width()
    long_text = "no trades yet  ·  history: 1000 candles from the exchange"
    label.setText(long_text)
    QApplication.processEvents()
    assert label.width() > narrow
    assert label.width() >= label.fontMetrics().horizontalAdvance(long_text)
    label.setText("short")
    assert label.width() >= label.fontMetrics().horizontalAdvance(long_text)  # no relayout back
    label.reset_width()
    QApplication.processEvents()
    assert label.width() < label.fontMetrics().horizontalAdvance(long_text)
    assert window.isVisible() and label.minimumWidth() == label.maximumWidth() and label.minimumHeight() == label.maximumHeight()

"""A finished backtest replayed in the market views: play, pause, speed and a time slider.

The logic is the Qt-free BacktestReplay (app/wiring/backtest_replay.py); this window only
drives its clock from one frame timer (`advance` with the wall time elapsed, bounded work
per frame) and hands its feed and own-order source to a MarketView, whose views listen
and redraw on the shared frame scheduler as they do on a live market. A seek detaches
the views while the market is rebuilt, so they never see the fast-forward.
"""
from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from app.wiring.backtest_capture import BacktestRecord
from app.wiring.backtest_replay import SPEEDS, BacktestReplay
from ui.market.market_view import MarketView

FRAME_MS = 33
SLIDER_STEPS_PER_S = 10  # the slider moves in tenths of a second of the run


def clock_text(seconds: float) -> str:
    """h:mm:ss.t (or m:ss.t under an hour) of a position in the run."""
    tenths = int(round(max(0.0, seconds) * 10))
    s, t = divmod(tenths, 10)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}.{t}" if h else f"{m}:{s:02d}.{t}"


class BacktestReplayWindow(QWidget):
    def __init__(self, record: BacktestRecord, parent: QWidget | None = None, *, warmup_s: float = 120.0) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle(f"Replay: {record.bot} on {record.venue_label} {record.instrument.symbol}")
        self.market = MarketView(self)
        self.market.header.valid_text = "REPLAY"  # a valid book, but not a live market
        self.replay = BacktestReplay(record, warmup_s=warmup_s, on_source=self.market.set_source)

        self.play_button = QPushButton("Play", self, objectName="replay_play")
        self.play_button.clicked.connect(self.toggle)
        self.speed_box = QComboBox(self, objectName="replay_speed")
        for label, speed in SPEEDS.items():
            self.speed_box.addItem(label, speed)
        self.speed_box.currentIndexChanged.connect(lambda _i: self.replay.set_speed(self.speed_box.currentData()))
        self.slider = QSlider(Qt.Orientation.Horizontal, self, objectName="replay_slider")
        self.slider.setRange(0, max(1, int(self.replay.span_s() * SLIDER_STEPS_PER_S)))
        self.slider.setPageStep(max(1, self.slider.maximum() // 20))
        self.slider.sliderMoved.connect(self._show_position)
        self.slider.sliderReleased.connect(lambda: self.seek_seconds(self.slider.value() / SLIDER_STEPS_PER_S))
        self.slider.valueChanged.connect(self._slider_changed)
        self.position = QLabel("", self, objectName="replay_position")
        self.activity = QLabel("", self, objectName="replay_activity")

        bar = QHBoxLayout()
        bar.addWidget(self.play_button)
        bar.addWidget(self.speed_box)
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.position)
        bar.addWidget(self.activity)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.market, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._frame)
        self._last_frame = time.perf_counter()
        self.replay.attach()
        self._sync_controls()

    # -- transport -----------------------------------------------------------------------------
    def toggle(self) -> None:
        if self.replay.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        self.replay.play()
        self._last_frame = time.perf_counter()
        self.timer.start()
        self._sync_controls()

    def pause(self) -> None:
        self.replay.pause()
        self.timer.stop()
        self._sync_controls()

    def set_speed(self, label: str) -> None:
        self.speed_box.setCurrentIndex(self.speed_box.findText(label))

    def seek_seconds(self, seconds: float) -> None:
        """To `seconds` after the start of the run (the views show that moment)."""
        self.replay.seek(self.replay.start_ns + int(seconds * 1e9))
        self._sync_controls()

    def _slider_changed(self, value: int) -> None:
        # Keyboard and page clicks seek at once; a drag seeks once, when released.
        if not self.slider.isSliderDown():
            self.seek_seconds(value / SLIDER_STEPS_PER_S)

    def _frame(self) -> None:
        now = time.perf_counter()
        elapsed, self._last_frame = now - self._last_frame, now
        self.replay.advance(min(elapsed, 0.25))  # a stalled loop does not jump the replay
        if not self.replay.playing:
            self.timer.stop()
        self._sync_controls()

    # -- display -------------------------------------------------------------------------------
    def _sync_controls(self) -> None:
        replay = self.replay
        self.play_button.setText("Pause" if replay.playing else "Play")
        if not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setValue(int(replay.elapsed_s() * SLIDER_STEPS_PER_S))
            self.slider.blockSignals(False)
        self._show_position(self.slider.value())

    def _show_position(self, value: int) -> None:
        replay = self.replay
        at = value / SLIDER_STEPS_PER_S if self.slider.isSliderDown() else replay.elapsed_s()
        self.position.setText(f"{clock_text(at)} / {clock_text(replay.span_s())}")
        orders = replay.orders
        self.activity.setText(f"own orders open {len(orders.open_orders())} · fills {orders.fills_replayed}")

    def closeEvent(self, event) -> None:  # noqa: ANN001 - QCloseEvent
        self.timer.stop()
        self.replay.pause()
        self.replay.detach()
        super().closeEvent(event)

"""Report plots (ui/reports/plots.py): the PNG the command line writes and what it draws."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from ui.reports.plots import ReportPlots, main, plots_path, report_series, write_png

SMALL = {
    "symbol": "BTC/USDT", "pnl_asset": "USDT", "mode": "simulated",
    "price_path": {"columns": ["seconds", "mid"], "points": [[0.0, 100.0], [1.0, 100.5], [2.0, 99.5], [3.0, 101.0]]},
    "own_fills": {"columns": ["seconds", "side", "price", "amount", "mid"], "total": 3,
                  "points": [[0.5, "buy", "99.9", "0.1", "100"], [1.5, "sell", "100.6", "0.1", "100.5"],
                             [2.5, "buy", "99.4", "0.2", "99.5"]]},
    "curve": {"columns": ["seconds", "pnl_quote", "inventory_base"],
              "points": [[1.0, "0.01", "0.1"], [2.0, "0.02", "0"], [3.0, "0.35", "0.2"]]},
}


def colours(image: QImage) -> int:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    raw = np.frombuffer(image.constBits(), dtype=np.uint32, count=image.bytesPerLine() * image.height() // 4)
    return len(np.unique(raw & 0x00FFFFFF))


def test_series_come_from_the_report() -> None:
    series = report_series(SMALL)
    assert series["mid"][1].tolist() == [100.0, 100.5, 99.5, 101.0]
    assert series["buys"][0].tolist() == [0.5, 2.5] and series["buys"][1].tolist() == [99.9, 99.4]
    assert series["sells"][0].tolist() == [1.5] and series["sells"][1].tolist() == [100.6]
    assert series["pnl"][1].tolist() == [0.01, 0.02, 0.35] and series["inventory"][1].tolist() == [0.1, 0, 0.2]
    empty = report_series({"curve": {"columns": ["seconds", "pnl_quote", "inventory_base"], "points": []}})
    assert all(len(x) == 0 for pair in empty.values() for x in pair)


def test_the_module_writes_a_png_of_the_size_asked(qapp, tmp_path: Path, capsys) -> None:
    report = tmp_path / "run.json"
    report.write_text(json.dumps(SMALL))
    assert main([str(report)]) == 0
    out = tmp_path / "run.plots.png"
    assert capsys.readouterr().out.strip() == str(out) and plots_path(report) == out
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1200, 1050) and out.stat().st_size > 10_000
    assert colours(image) > 16  # lines, markers and text, not a flat frame
    assert main([str(report), "--size", "640x900", "--out", str(tmp_path / "small.png")]) == 0
    small = QImage(str(tmp_path / "small.png"))
    assert (small.width(), small.height()) == (640, 900)


def test_bad_report_is_one_line(qapp, tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main([str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {broken}: not a JSON report") and err.count("\n") == 1
    assert main([str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'missing.json'}: No such file or directory\n"
    other = tmp_path / "other.json"
    other.write_text('{"a": 1}')
    assert main([str(other)]) == 2
    assert "not a run report" in capsys.readouterr().err


def test_widget_draws_fills_and_curves(qtbot) -> None:
    plots = ReportPlots()
    qtbot.addWidget(plots)
    plots.show_report(SMALL)
    assert len(plots.buy_dots.data) == 2 and len(plots.sell_dots.data) == 1
    assert plots.mid_curve.getData()[1].tolist() == [100.0, 100.5, 99.5, 101.0]
    assert plots.pnl.titleLabel.text == "PnL vs holding (USDT)"
    assert "3 own fills" in plots.price.titleLabel.text
    plots.show_report({**SMALL, "position": "0.1", "own_fills": {**SMALL["own_fills"], "total": 10}})
    assert plots.inventory.titleLabel.text == "Position (contracts)" and "the last 3 of 10" in plots.price.titleLabel.text


@pytest.mark.timeout(300)
def test_backtest_plots_flag_writes_the_png_beside_the_report(tmp_path: Path, capsys) -> None:
    """The CLI runs the plot module in its own process (the core never imports Qt)."""
    from app.cli import DEMO_CONFIG, main as cli

    report = tmp_path / "bt.json"
    assert cli(["backtest", "--config", str(DEMO_CONFIG), "--duration", "30", "--report", str(report), "--plots"]) == 0
    out = capsys.readouterr().out
    assert f"plots written to {tmp_path / 'bt.plots.png'}" in out
    image = QImage(str(tmp_path / "bt.plots.png"))
    assert (image.width(), image.height()) == (1200, 1050)
    assert cli(["backtest", "--duration", "5", "--plots"]) == 2
    assert capsys.readouterr().err.startswith("error: --plots needs --report FILE")


def test_write_png_from_a_real_report(qapp, tmp_path: Path) -> None:
    from app.cli import DEMO_CONFIG
    from app.config.bot_config import load_config
    from app.wiring.runners import run_simulated

    report = json.loads(json.dumps(run_simulated(load_config(DEMO_CONFIG), 30), default=str))
    out = write_png(report, tmp_path / "real.png", (800, 600))
    image = QImage(str(out))
    assert (image.width(), image.height()) == (800, 600) and colours(image) > 16

"""Plots of a run report: the price with the bot's own fills, its inventory and its PnL.

One builder serves two places: the desktop backtest panel (zoomable, shown after a run)
and `python -m ui.reports.plots REPORT.json`, which writes REPORT.plots.png (the three plots
stacked on one time axis) offscreen, so no display is needed. The backtest command line
runs this module in its own process for `--plots`: the core never imports Qt.

The report carries what is drawn: `price_path` (the mid), `own_fills` (time, side, price)
and `curve` (PnL and inventory), all in seconds from the start of the run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg

BUY_COLOUR = "#3fb950"
SELL_COLOUR = "#f85149"
MID_COLOUR = "#c9d1d9"
INVENTORY_COLOUR = "#58a6ff"
PNL_COLOUR = "#d29922"
DEFAULT_SIZE = (1200, 1050)
TITLE_SIZE = "9pt"


def _columns(table: dict[str, Any] | None, *names: str) -> list[np.ndarray]:
    """The named columns of a {columns, points} table as float arrays (empty if absent)."""
    if not table or not table.get("points"):
        return [np.empty(0) for _ in names]
    columns = list(table.get("columns") or [])
    rows = table["points"]
    return [np.array([float(row[columns.index(name)]) for row in rows], dtype=np.float64) for name in names]


def report_series(report: dict[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(seconds, values) for each line and marker set the plots draw."""
    seconds, mid = _columns(report.get("price_path"), "seconds", "mid")
    curve = report.get("curve")
    curve_s, pnl, inventory = _columns(curve, "seconds", "pnl_quote", "inventory_base")
    buys: list[tuple[float, float]] = []
    sells: list[tuple[float, float]] = []
    fills = report.get("own_fills") or {}
    columns = list(fills.get("columns") or [])
    if fills.get("points"):
        at, side, price = columns.index("seconds"), columns.index("side"), columns.index("price")
        for row in fills["points"]:
            (buys if row[side] == "buy" else sells).append((float(row[at]), float(row[price])))

    def pairs(rows: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
        data = np.array(rows, dtype=np.float64).reshape(-1, 2)
        return data[:, 0], data[:, 1]

    return {"mid": (seconds, mid), "buys": pairs(buys), "sells": pairs(sells),
            "pnl": (curve_s, pnl), "inventory": (curve_s, inventory)}


class ReportPlots(pg.GraphicsLayoutWidget):
    """Price with own buys (green, up) and sells (red, down), inventory and PnL, stacked on
    one time axis (zooming one zooms all)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("report_plots")
        self.price = self.addPlot(row=0, col=0)
        self.inventory = self.addPlot(row=1, col=0)
        self.pnl = self.addPlot(row=2, col=0)
        self.price.setTitle("Price and own fills", size=TITLE_SIZE)
        self.inventory.setTitle("Inventory change (base)", size=TITLE_SIZE)
        self.pnl.setTitle("PnL vs holding", size=TITLE_SIZE)
        for plot in (self.price, self.inventory, self.pnl):
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.getAxis("left").setWidth(70)
            plot.setContentsMargins(2, 0, 6, 0)
        for plot in (self.price, self.inventory):  # one time axis: its numbers only at the bottom
            plot.getAxis("bottom").setStyle(showValues=False)
            plot.getAxis("bottom").setHeight(4)
        self.ci.layout.setRowStretchFactor(0, 2)  # the price and the fills get the most room
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.inventory.setXLink(self.price)
        self.pnl.setXLink(self.price)
        self.pnl.setLabel("bottom", "time from the start", units="s")
        self.price.addLegend(offset=(10, 5))
        self.mid_curve = self.price.plot(pen=pg.mkPen(MID_COLOUR, width=1), name="mid")
        self.buy_dots = pg.ScatterPlotItem(symbol="t1", size=9, pen=None, brush=pg.mkBrush(BUY_COLOUR), name="own buys")
        self.sell_dots = pg.ScatterPlotItem(symbol="t", size=9, pen=None, brush=pg.mkBrush(SELL_COLOUR),
                                            name="own sells")
        self.price.addItem(self.buy_dots)
        self.price.addItem(self.sell_dots)
        self.inventory_curve = self.inventory.plot(pen=pg.mkPen(INVENTORY_COLOUR, width=1))
        self.pnl_curve = self.pnl.plot(pen=pg.mkPen(PNL_COLOUR, width=1))

    def show_report(self, report: dict[str, Any]) -> None:
        series = report_series(report)
        asset = report.get("pnl_asset", "quote")
        derivative = "position" in report
        fills = report.get("own_fills") or {}
        listed = len(fills.get("points") or [])
        total = fills.get("total", listed)
        shown = f"{listed} own fills" + (f" (the last {listed} of {total})" if total > listed else "")
        self.price.setTitle(f"{report.get('symbol', 'Price')}: mid and {shown}", size=TITLE_SIZE)
        self.inventory.setTitle("Position (contracts)" if derivative else "Inventory change (base)", size=TITLE_SIZE)
        self.pnl.setTitle(f"PnL ({asset})" if derivative else f"PnL vs holding ({asset})", size=TITLE_SIZE)
        self.mid_curve.setData(*series["mid"])
        self.buy_dots.setData(*series["buys"])
        self.sell_dots.setData(*series["sells"])
        self.inventory_curve.setData(*series["inventory"])
        self.pnl_curve.setData(*series["pnl"])
        for plot in (self.price, self.inventory, self.pnl):
            plot.enableAutoRange()

    def clear_report(self) -> None:
        for item in (self.mid_curve, self.buy_dots, self.sell_dots, self.inventory_curve, self.pnl_curve):
            item.setData([], [])


def plots_path(report_path: str | Path) -> Path:
    """Where the plots of REPORT.json go: REPORT.plots.png beside it."""
    path = Path(report_path)
    return path.with_name(f"{path.stem if path.suffix == '.json' else path.name}.plots.png")


def write_png(report: dict[str, Any], out: str | Path, size: tuple[int, int] = DEFAULT_SIZE) -> Path:
    """Draws the report's plots into a PNG of exactly `size` pixels (a QApplication must
    exist; offscreen is enough)."""
    from pyqtgraph.exporters import ImageExporter
    from PySide6.QtWidgets import QApplication

    width, height = size
    widget = ReportPlots()
    widget.resize(width, height)
    widget.show_report(report)
    widget.show()
    QApplication.processEvents()
    exporter = ImageExporter(widget.ci)
    exporter.params.param("width").setValue(width, blockSignal=exporter.widthChanged)
    exporter.params.param("height").setValue(height, blockSignal=exporter.heightChanged)
    out = Path(out)
    if not exporter.export(str(out)):
        raise OSError(f"{out}: the image could not be written")
    widget.close()
    widget.deleteLater()
    return out


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, got {text!r}") from None
    if not (100 <= width <= 10_000 and 100 <= height <= 10_000):
        raise argparse.ArgumentTypeError(f"width and height must be 100..10000 pixels, got {text!r}")
    return width, height


def load_report(path: Path) -> dict[str, Any]:
    """The report, or ValueError naming the file and what is wrong with it."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a JSON report ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(report, dict) or not any(key in report for key in ("curve", "price_path", "own_fills")):
        raise ValueError(f"{path}: not a run report (no curve, price_path or own_fills)")
    return report


def main(argv: list[str] | None = None) -> int:
    """Writes the plots of a report; exit 2 with one line for a bad file or flag."""
    parser = argparse.ArgumentParser(prog="python -m ui.reports.plots",
                                     description="Write a run report's plots (price with own fills, inventory, PnL).")
    parser.add_argument("report", type=Path, help="a JSON report (backtest --report FILE)")
    parser.add_argument("--out", type=Path, help="the PNG to write (default: REPORT.plots.png beside the report)")
    parser.add_argument("--size", type=_size, default=DEFAULT_SIZE, metavar="WxH",
                        help=f"image size in pixels (default {DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]})")
    args = parser.parse_args(argv)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a batch job: no display needed, none used
    try:
        report = load_report(args.report)
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication([])  # noqa: F841 - kept alive while drawing
        out = write_png(report, args.out or plots_path(args.report), args.size)
    except (OSError, ValueError) as exc:
        where = f"{exc.filename}: " if isinstance(exc, OSError) and exc.filename else ""
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"error: {where}{detail}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Setting a plot's range so that the next paint is the only one.

pyqtgraph applies a range change at the next paint (ViewBox.prepareForPaint). The items
learn of their new transform while the scene is being painted, their bounds move after it
was drawn, and Qt paints their old and new areas a second time: measured, every heatmap
redraw painted its plot twice (the second time about 1 ms), the candles about one redraw
in three. Applying the transform at once, where the range is set, costs nothing extra.
"""
from __future__ import annotations

import pyqtgraph as pg


Plot = pg.PlotWidget | pg.PlotItem | pg.ViewBox


def view_box(plot: Plot) -> pg.ViewBox:
    return plot if isinstance(plot, pg.ViewBox) else plot.getViewBox()


def set_range_now(plot: Plot, x: tuple[float, float] | None = None, y: tuple[float, float] | None = None,
                  linked: tuple[Plot, ...] = ()) -> None:
    """Sets the x and/or y range (no padding) and applies it to the items now, and to the
    `linked` plots that follow this one's range."""
    vb = view_box(plot)
    vb.setRange(xRange=x, yRange=y, padding=0)
    vb.updateMatrix()
    for other in linked:
        view_box(other).updateMatrix()


def without_si_prefixes(plot: pg.PlotWidget | pg.PlotItem) -> None:
    """Turns off the axes' automatic SI prefix (k, M, µ in the axis label).

    None of these axes shows a label, yet with the prefix on every range change re-renders
    the hidden label's HTML and re-measures the axis (0.15 ms per change on the heatmap,
    whose time axis moves each column). Tick values read the same either way: without a
    visible label pyqtgraph scales nothing.
    """
    item = plot if isinstance(plot, pg.PlotItem) else plot.getPlotItem()
    for name in ("left", "bottom", "right", "top"):
        item.getAxis(name).enableAutoSIPrefix(False)

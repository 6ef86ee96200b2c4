"""A time axis that always reads as clock time.

pyqtgraph's DateAxisItem labels spans of a few seconds with seconds and milliseconds
alone ("16.000  17.000"), which reads like a price or a count. This axis keeps its
tick spacing and labels those ticks as clock times ("14:30:16", "14:30:16.500"); longer
spans are labelled as pyqtgraph does (hours and minutes, days, months).
"""
from __future__ import annotations

import copy

import pyqtgraph as pg
from pyqtgraph.graphicsItems import DateAxisItem as _date_axis

_SUB_SECOND = "%H:%M:%S.%f"


def _clock_ms_level() -> _date_axis.ZoomLevel:
    """pyqtgraph's finest zoom level with its sub-second ticks labelled as clock times."""
    specs = []
    for spec in _date_axis.MS_ZOOM_LEVEL.tickSpecs:
        spec = copy.copy(spec)
        if spec.spacing < 1:
            spec.format = _SUB_SECOND
        specs.append(spec)
    return _date_axis.ZoomLevel(specs, "99:99:99.999")  # the widest label, for the tick density


class ClockAxisItem(pg.DateAxisItem):
    """A bottom date axis labelling short spans with clock times (local time)."""

    def __init__(self, orientation: str = "bottom", **kwargs) -> None:
        super().__init__(orientation=orientation, **kwargs)
        finest = next(reversed(self.zoomLevels))
        self.zoomLevels[finest] = _clock_ms_level()

    def tickStrings(self, values, scale, spacing):  # noqa: ANN001, ANN201 - pyqtgraph's signature
        """As pyqtgraph's, with a whole second's ".000" left out ("14:30:16", not "14:30:16.000")."""
        strings = super().tickStrings(values, scale, spacing)
        return [s[:-4] if s.endswith(".000") and s.count(":") == 2 else s for s in strings]

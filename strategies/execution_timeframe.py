"""When a horizon-based strategy trades, and how much of its horizon is left (T - t).

Three modes, all in UTC on the strategy's clock (simulated time in a backtest):

- `infinite`: always trading; T - t is a constant horizon in seconds (the model's risk
  horizon: how long an inventory is expected to be carried), never shrinking to zero.
- `from_date_to_date`: trading from `execution_start` to `execution_end` (dates with a
  time of day); T - t is the time to the end. No quotes before or after.
- `daily_between_times`: every day between two times of day (`execution_start` before
  `execution_end`, or after it for a window across midnight); T - t is the time to
  today's end of the window. No quotes outside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from app.config.schema import ConfigError

INFINITE = "infinite"
FROM_DATE_TO_DATE = "from_date_to_date"
DAILY_BETWEEN_TIMES = "daily_between_times"
MODES = (INFINITE, FROM_DATE_TO_DATE, DAILY_BETWEEN_TIMES)

_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
_TIME_FORMATS = ("%H:%M:%S", "%H:%M")


@dataclass(frozen=True, slots=True)
class ExecutionWindow:
    mode: str
    start_ns: int = 0  # from_date_to_date: epoch ns; daily: ns after midnight UTC
    end_ns: int = 0
    horizon_s: float = 0.0  # infinite: the constant T - t

    def time_left_s(self, now_ns: int) -> float | None:
        """T - t in seconds, or None outside the window (no quotes then)."""
        if self.mode == INFINITE:
            return self.horizon_s
        if self.mode == FROM_DATE_TO_DATE:
            if self.start_ns <= now_ns < self.end_ns:
                return (self.end_ns - now_ns) / _NS
            return None
        of_day = now_ns % _DAY_NS
        if self.start_ns < self.end_ns:
            inside = self.start_ns <= of_day < self.end_ns
        else:  # across midnight: from start to 24:00, then 00:00 to end
            inside = of_day >= self.start_ns or of_day < self.end_ns
        if not inside:
            return None
        return ((self.end_ns - of_day) % _DAY_NS) / _NS

    def describe(self) -> str:
        if self.mode == INFINITE:
            return f"always (constant horizon {self.horizon_s:g} s)"
        if self.mode == FROM_DATE_TO_DATE:
            return f"from {_show_date(self.start_ns)} to {_show_date(self.end_ns)} UTC"
        return f"daily from {_show_time(self.start_ns)} to {_show_time(self.end_ns)} UTC"


def window_from_params(params: dict[str, Any], source: str = "") -> ExecutionWindow:
    """The window the parameters describe; ConfigError naming the field when they do not."""
    mode = params["execution_timeframe"]
    if mode == INFINITE:
        return ExecutionWindow(INFINITE, horizon_s=float(params["infinite_horizon_seconds"]))
    start_raw, end_raw = params.get("execution_start"), params.get("execution_end")
    for name, raw in (("execution_start", start_raw), ("execution_end", end_raw)):
        if raw is None:
            example = "2026-01-31 08:00" if mode == FROM_DATE_TO_DATE else "08:00"
            raise ConfigError(source, name, f"is required with execution_timeframe {mode} (e.g. {example!r}, UTC)")
    if mode == FROM_DATE_TO_DATE:
        start = _parse_date(start_raw, "execution_start", source)
        end = _parse_date(end_raw, "execution_end", source)
        if end <= start:
            raise ConfigError(source, "execution_end", f"{end_raw!r} is not after execution_start {start_raw!r}")
        return ExecutionWindow(FROM_DATE_TO_DATE, start, end)
    start = _parse_time(start_raw, "execution_start", source)
    end = _parse_time(end_raw, "execution_end", source)
    if end == start:
        raise ConfigError(source, "execution_end", f"{end_raw!r} equals execution_start: the daily window is empty")
    return ExecutionWindow(DAILY_BETWEEN_TIMES, start, end)


def _parse_date(raw: str, name: str, source: str) -> int:
    for fmt in _DATE_FORMATS:
        try:
            moment = datetime.strptime(raw.strip(), fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
        return int(moment.timestamp()) * _NS
    raise ConfigError(source, name, f"{raw!r} is not a date and time such as '2026-01-31 08:00' (UTC)")


def _parse_time(raw: str, name: str, source: str) -> int:
    for fmt in _TIME_FORMATS:
        try:
            moment = datetime.strptime(raw.strip(), fmt)
        except ValueError:
            continue
        return (moment.hour * 3600 + moment.minute * 60 + moment.second) * _NS
    raise ConfigError(source, name, f"{raw!r} is not a time of day such as '08:00' or '17:30:00' (UTC)")


def _show_date(ns: int) -> str:
    return datetime.fromtimestamp(ns // _NS, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _show_time(ns: int) -> str:
    seconds = ns // _NS
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"

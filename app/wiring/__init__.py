"""The one place that builds running things from configs: sessions (CLI, backtests,
benchmarks), the desktop workspace, and the venues behind them (by kind, through the venue
registry). Everything above it (the CLI, the UI) asks it; nothing below imports it."""

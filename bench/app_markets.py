"""More markets for the whole-app bench (`bench.bench_app --markets N`).

Each extra market is a demo exchange of its own (another seed; the same busy crowd flow as
the first market, so each streams thousands of book level updates a second, or the demo's
calibrated flow, a few hundred) shown in
a market window of its own, as *View → New market window* opens it: header, ladder,
candles (the default tab; the depth chart and heatmap tabs are hidden, the heatmap still
recording), and the trades tape. All markets run on the one qasync loop with the main
window, as in the app; each window's GUI work is timed as its own owner, "market2", ...
The main window is the active one, so the market windows' views redraw at half rate
(ui/market/_base.py: BACKGROUND_SLOWDOWN), as on a desktop where the trader works in one.
"""
from __future__ import annotations

from decimal import Decimal

MAX_MARKETS = 3
EXTRA_OWNERS = tuple(f"market{k}" for k in range(2, MAX_MARKETS + 1))
WINDOW_SIZE = (1200, 760)


def add_market_connectors(workspace, clock, extra: int, balances: dict[str, Decimal],  # noqa: ANN001
                          flow_params: dict | None) -> list:
    """`extra` demo exchanges named demo2, demo3... added to the workspace (None: the demo's
    calibrated crowd flow); returns them."""
    from connectors.demo.exchange import DemoExchange

    added = []
    for k in range(2, extra + 2):
        demo = DemoExchange(clock, balances=dict(balances), seed=6 + k, name=f"demo{k}", flow_params=flow_params)
        workspace.add_connector(demo)
        added.append(demo)
    return added


def open_market_windows(workspace, connectors: list) -> list:  # noqa: ANN001
    """One shown MarketWindow per connector, on its first symbol, cascaded over the screen."""
    from ui.market.market_window import MarketWindow

    windows = []
    for k, connector in enumerate(connectors):
        window = MarketWindow(workspace, (connector.name, connector.instrument.symbol))
        window.resize(*WINDOW_SIZE)
        window.move(200 + 120 * k, 120 + 80 * k)
        window.show()
        windows.append(window)
    return windows


def check_market_windows(windows: list) -> list[dict]:
    """Each window's shown market and whether its visible views are on screen."""
    rows = []
    for k, window in enumerate(windows, start=2):
        view = window.view
        for name, widget in (("header", view.header), ("ladder", view.ladder), ("candles", view.candles),
                             ("tape", view.tape)):
            rows.append({"name": f"market{k}:{name}", "visible": bool(widget.isVisible())
                         and not widget.visibleRegion().isEmpty(), "size": f"{widget.width()}x{widget.height()}"})
    return rows

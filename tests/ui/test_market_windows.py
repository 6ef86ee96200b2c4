"""Several markets at once (issue 9): View → New market window opens a window of its own
on the demo exchange, each with its own selector and its own feed, closed with the app."""
from __future__ import annotations

import asyncio
import time

from app.wiring.workspace import LAGGED_DEMO
from ui.market.market_window import find_market
from tests.ui.test_main_window import app_env, until  # noqa: F401 - the fixture


def test_two_market_windows_show_their_own_markets(app_env):  # noqa: F811
    loop, workspace, window = app_env

    async def scenario() -> None:
        workspace.start()
        window.show()
        symbol = workspace.demo_symbol
        action = next(a for a in window.view_menu.actions() if a.objectName() == "new_market_window")
        action.trigger()
        first = window.market_windows[-1]
        assert first.shown() == ("demo", symbol) and first.windowTitle() == f"Colibri — {symbol} on demo"
        second = window.open_market_window((LAGGED_DEMO, symbol))
        assert second.view.ladder.feed is workspace.connectors[LAGGED_DEMO].feed(symbol)
        assert first.view.ladder.feed is workspace.demo.feed(symbol)
        await until(lambda: all(w.view.ladder.render_count > 0 and w.view.header.render_count > 0
                                for w in (first, second)), 5, "both windows drawing")
        assert second.view.header.symbol.text().startswith(symbol)
        # Switching one window leaves the other and the main window alone.
        assert first.select("paper", symbol)
        assert first.view.candles.feed is workspace.connectors["paper"].feed(symbol)
        assert second.shown() == (LAGGED_DEMO, symbol) and window.market.currentData() == ("demo", symbol)
        # A removed account's market is never shown stale.
        workspace.remove_connector(LAGGED_DEMO)
        assert second.shown() != (LAGGED_DEMO, symbol) and second.view.ladder.feed is not None
        assert find_market(second.market_box, LAGGED_DEMO, symbol) < 0
        # Closing a window unbinds its views; quitting closes the rest.
        feed = workspace.demo.feed(symbol)
        listeners = len(feed._listeners)
        third = window.open_market_window(("demo", symbol))
        assert len(feed._listeners) > listeners
        third.close()
        assert len(feed._listeners) == listeners and third not in window.market_windows
        window.shutdown_now()
        deadline = time.monotonic() + 20
        while window.market_windows and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert window.market_windows == [] and not first.isVisible()

    loop.run_until_complete(scenario())

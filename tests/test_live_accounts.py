"""Live accounts in the workspace: the rehearsal exchange joins like a real account, a bot
trades on it through the ccxt connector, and it leaves cleanly."""
from __future__ import annotations

import asyncio

import pytest

from app.domain import ConnectionState, OrderFilled
from app.interfaces.clock import RealClock
from app.wiring.live_accounts import REHEARSAL_ID, start_rehearsal
from app.wiring.workspace import CONNECTOR_ADDED, CONNECTOR_REMOVED, build_workspace
from tests.connector_venues import until

pytestmark = pytest.mark.timeout(120)


def test_a_bot_trades_on_the_rehearsal_exchange_through_the_live_connector(tmp_path) -> None:
    async def main():
        workspace = build_workspace(RealClock(asyncio.get_running_loop()))
        seen = []
        workspace.add_listener(lambda e: seen.append((e.kind, e.name)))
        workspace.start()
        rehearsal = await start_rehearsal(workspace, state_dir=tmp_path / "state")
        try:
            connector = workspace.connectors[REHEARSAL_ID]
            assert (CONNECTOR_ADDED, REHEARSAL_ID) in seen and connector.connection_state is ConnectionState.LIVE
            assert rehearsal.url.startswith("http://127.0.0.1:")
            fills = []
            connector.add_listener(lambda e: fills.append(e) if isinstance(e, OrderFilled) else None)
            bot = workspace.create_bot("simple_quoter", {"order_amount": "0.01", "bid_spread_bps": "0",
                                                         "ask_spread_bps": "0", "post_only": False},
                                       connector=REHEARSAL_ID)
            bot.start()
            from app.domain import OrderStatus

            def quoting() -> bool:
                orders = bot.open_orders()
                return bool(orders) and all(o.status is OrderStatus.OPEN for o in orders)
            await until(quoting, 15, "the bot's quotes open on the exchange")
            server_orders = {r.client_order_id for r in rehearsal.server.venue._live.values()}
            assert {o.client_order_id for o in bot.open_orders()} <= server_orders
            stopped = asyncio.Event()
            bot.stop(stopped.set)
            await asyncio.wait_for(stopped.wait(), 15)
            assert bot.open_orders() == [] and rehearsal.server.venue._live == {}
        finally:
            for running in workspace.running_bots():
                running.kill()
            await asyncio.sleep(0.5)
            await rehearsal.stop()
            workspace.shutdown()
        assert (CONNECTOR_REMOVED, REHEARSAL_ID) in seen
    asyncio.run(main())

"""The summary is rounded for reading; the JSON report keeps exact values."""
from app.engine.report import format_summary

REPORT = {
    "bot": "b", "strategy": "s", "venue": "demo", "symbol": "BTC/USDT", "mode": "simulated",
    "duration_seconds": 1.0, "fills": 2, "buys": 1, "sells": 1, "maker_fills": 2,
    "volume_base": "0.004", "volume_quote": "240.15362", "fees_quote": "0.24015362",
    "pnl": "-0.266913620001", "pnl_asset": "USDT",
    "pnl_quote": "-0.266913620001", "realized_pnl_quote": "-0.2401536200", "unrealized_pnl_quote": "-0.02676",
    "mark_price": "60031.715", "inventory_change_base": "0.002", "rejected_orders": 0, "open_orders_at_exit": 0,
    "start_balances": {"USDT": {"total": "10000"}}, "end_balances": {"USDT": {"total": "9879.6040948800"}},
}


def test_summary_rounds_money_for_reading_only():
    text = format_summary(REPORT)
    assert "fees 0.240154" in text and "PnL -0.266914 USDT" in text  # as the tables round (fmt_money)
    assert "USDT: 10000 -> 9879.6" in text
    assert REPORT["pnl_quote"] == "-0.266913620001"  # the report itself is untouched

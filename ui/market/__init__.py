"""Market views of the main window: ladder, candles, depth, heatmap, tape and a container.

Every view is a standalone QWidget with `set_source(feed, connector=None)`, `refresh()`
and `detach()`; listeners only flag changes and each view redraws from its own timer.
"""
from ui.market.candle_builder import INTERVALS_NS, CandleBuilder
from ui.market.candles import CandlesView
from ui.market.depth_chart import DepthChartView
from ui.market.dom_ladder import DomLadderView
from ui.market.dom_model import DomModel
from ui.market.heatmap import LiquidityHeatmapView
from ui.market.market_view import MarketHeader, MarketView
from ui.market.trades_model import TradesModel
from ui.market.trades_tape import TradesTapeView

__all__ = [
    "INTERVALS_NS", "CandleBuilder", "CandlesView", "DepthChartView", "DomLadderView", "DomModel",
    "LiquidityHeatmapView", "MarketHeader", "MarketView", "TradesModel", "TradesTapeView",
]

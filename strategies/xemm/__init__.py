"""Cross-exchange market making (roles maker and taker): pricing, hedging, the strategy."""
from strategies.xemm.strategy import CrossExchangeMarketMaking

__all__ = ["CrossExchangeMarketMaking"]

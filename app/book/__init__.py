"""The L2 order book (Cython) and the exchange depth synchronisation around it."""
from app.book.orderbook import ASK, BID, OrderBook

__all__ = ["ASK", "BID", "OrderBook"]

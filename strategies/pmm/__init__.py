"""The parts of pure market making (strategies/pure_market_making.py): its parameters,
the pure quote computation and the inventory rules."""

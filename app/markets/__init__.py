"""Instrument rules for any market: where they come from and how they are combined.

Sources, from weakest to strongest: rules inferred from a recording, the exchange's own
market metadata (ccxt market dicts, cached on disk), a bot config's `instrument:` section,
command-line flags. `registry.resolve` layers them and remembers which source gave what.
"""

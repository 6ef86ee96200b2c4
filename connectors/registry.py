"""Registers every venue kind Colibri ships. The factories import their venue lazily, so
importing this module costs nothing; the wiring module imports it once."""
from app.interfaces.venues import register_venue
from connectors.demo.factory import build_demo
from connectors.replay.factory import build_replay

register_venue("demo", build_demo)
register_venue("replay", build_replay)
from connectors.ccxt.factory import build_ccxt  # noqa: E402 - grouped with its registration

register_venue("ccxt", build_ccxt)

"""A local exchange that speaks Binance spot's protocol, served from the demo exchange.

`python main.py exchange serve` starts it on 127.0.0.1: an unmodified ccxt `binance` client
pointed at it (see `ccxt_client.point_ccxt_at`) trades the embedded demo market over real
HTTP and websockets, with Binance's signing, error codes and rate limits, optional state
on disk and injectable network faults. It is a rehearsal venue: everything Colibri does
against a real exchange can be tried here first, offline and reproducibly.

Files, one job each: server.py (application and life cycle), venue.py (the demo exchange
as Binance sees it: ids, order records, trades, depth update ids), rest.py (REST API),
streams.py (public websocket streams), wsapi.py (websocket API and the user data stream),
auth.py (API key, signature, timestamp window), errors.py (codes and HTTP statuses),
limits.py (request weights), faults.py (fault injection), outbox.py (a websocket's sends,
with faults), state.py (sqlite persistence), payloads.py (numbers and records as Binance
writes them), cli.py (`exchange serve`), ccxt_client.py (pointing ccxt at the server).
"""
from connectors.local_exchange.faults import FaultInjector, parse_fault_spec
from connectors.local_exchange.server import LocalExchangeServer

__all__ = ["FaultInjector", "LocalExchangeServer", "parse_fault_spec"]

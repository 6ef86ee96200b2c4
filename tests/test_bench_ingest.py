"""The ingest bench measures what it says: both clients sync from the replayed snapshot,
absorb every diff after it, and end with the book `data verify` rebuilds."""
from __future__ import annotations

import asyncio

import pytest

from app.data.store import recordings_dir
from bench.bench_ingest import FILES, run_ccxt, run_ours, start_server

PATHS = [recordings_dir() / name for name in FILES]
pytestmark = pytest.mark.skipif(not all(p.is_file() for p in PATHS), reason="spot recordings not found")


def test_both_clients_absorb_every_diff_and_end_on_the_verified_book():
    from app.data.store import load_market
    from app.data.verify import verify_recordings
    from bench.ingest_server import load

    _, _, instrument = load_market(PATHS)
    reference = verify_recordings(PATHS)
    replay = load([str(p) for p in PATHS])
    final_u, post = replay.last_ids[-1], len(replay.last_ids) - replay.bracket
    proc, port = start_server(PATHS)
    try:
        ours = asyncio.run(run_ours(port, instrument, final_u, post))
        peer = asyncio.run(run_ccxt(port, final_u, replay.last_ids))
    finally:
        proc.terminate()
        proc.wait(10)
    assert reference.ok and post > 6000
    for run in (ours, peer):
        assert (run.best_bid, run.best_ask) == (reference.best_bid, reference.best_ask)
        assert run.wall_s > 0 and run.cpu_s > 0
    assert peer.messages == post and 0 < peer.returns < post  # ccxt coalesces

"""The replay bench's hftbacktest peer: the data it is given, and a missing peer.

hftbacktest itself is optional (the `peers` extra, installed by `make bench`), so these
tests check what is ours: the spot recording shaped for its futures converter, and the
bench failing with a clear line when the peer is not installed.
"""
from __future__ import annotations

import orjson
import pytest

from bench import hftbacktest_peer
from tests.synthetic_recordings import spot_session, write_recording


def test_spot_lines_get_the_fields_the_futures_converter_needs(tmp_path):
    path = write_recording(tmp_path / "spot.gz", spot_session())
    lines = hftbacktest_peer.spot_as_futures_lines(path)
    messages = [orjson.loads(line.partition(b" ")[2]) for line in lines]
    depth = [m["data"] for m in messages if m.get("data", {}).get("e") == "depthUpdate"]
    trades = [m["data"] for m in messages if m.get("data", {}).get("e") == "trade"]
    snapshots = [m for m in messages if "lastUpdateId" in m]
    assert depth and all(d["T"] == d["E"] for d in depth)
    assert trades and all(t["X"] == "MARKET" for t in trades)
    assert len(snapshots) == 1 and snapshots[0]["T"] > 0  # the next message's exchange time
    # Every line keeps its receive time, in order; only the bookTickers are left out (spot's
    # carry no event type, which the converter requires, and the rule does not use them).
    stamps = [int(line.partition(b" ")[0]) for line in lines]
    tickers = sum(1 for m in spot_session() if m.get("stream", "").endswith("@bookTicker"))
    assert stamps == sorted(stamps) and len(lines) == len(spot_session()) - tickers


def test_the_bench_fails_with_one_line_without_the_peer(monkeypatch, capsys):
    from bench import bench_replay

    monkeypatch.setattr(hftbacktest_peer, "MISSING", "hftbacktest is not installed (test)")
    with pytest.raises(SystemExit) as info:
        bench_replay.against_hftbacktest(None, None, None, 1, 1)
    assert info.value.code == 1
    assert capsys.readouterr().out.strip() == "replay: hftbacktest is not installed (test)"

"""The Cython depth parser: exact ticks and lots from the websocket bytes, Binance's far
levels finer than the lot rounded (never to 0), malformed input refused."""
import pytest

from connectors.ccxt.depth_parser import grid_of, parse_depth, parse_snapshot

MSG = (b'{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255000,"s":"BTCUSDT",'
       b'"U":101,"u":105,"b":[["61845.99000000","0.12300000"],["61845.98000000","0.00000000"]],'
       b'"a":[["61846.00000000","1.50000000"]]}}')
PRICE, LOT = grid_of("0.01"), grid_of("0.00001", rounding=True)


def test_a_diff_is_parsed_exactly() -> None:
    first, last, prev, event_ms, sides, prices, qtys = parse_depth(MSG, PRICE, LOT)
    assert (first, last, prev, event_ms) == (101, 105, -1, 1723161255000)
    assert sides.tolist() == [1, 1, -1] and prices.tolist() == [6184599, 6184598, 6184600]
    assert qtys.tolist() == [12300, 0, 150000]


def test_futures_ids_and_empty_sides() -> None:
    msg = b'{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":7,"u":9,"pu":6,"b":[],"a":[["61800.1","0.001"]]}'
    first, last, prev, _e, sides, prices, qtys = parse_depth(msg, grid_of("0.1"), grid_of("0.001"))
    assert (first, last, prev) == (7, 9, 6) and sides.tolist() == [-1] and prices.tolist() == [618001]


@pytest.mark.parametrize("qty, lots", [("0.000014", 1), ("0.000015", 2), ("0.0000149", 1), ("0.000001", 1),
                                       ("25.42618900", 2542619), ("0.00002", 2)])
def test_far_level_quantities_finer_than_the_lot_are_rounded(qty, lots) -> None:
    lot = grid_of("0.00001", rounding=True)
    msg = MSG.replace(b"0.12300000", qty.encode())
    assert parse_depth(msg, PRICE, lot)[6][0] == lots


@pytest.mark.parametrize("bad, why", [
    (MSG.replace(b"61845.99000000", b"61845.991"), "finer than the step"),
    (MSG.replace(b"61845.99000000", b"6a845.99"), "not a plain decimal"),
    (MSG[:150], "malformed"),
    (b"{}", "no U"),
    (MSG.replace(b'"a":[', b'"x":['), "no asks"),
])
def test_malformed_or_off_grid_input_is_refused(bad, why) -> None:
    with pytest.raises(ValueError, match=why):
        parse_depth(bad, PRICE, grid_of("0.00001"))


def test_a_snapshot_is_parsed_exactly() -> None:
    body = b'{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.0"],["4.1","1"]]}'
    last, bp, bq, ap, aq = parse_snapshot(body, grid_of("0.000001"), grid_of("1"))
    assert (last, bp.tolist(), bq.tolist(), ap.tolist(), aq.tolist()) == (1027024, [4000000], [431], [4000002, 4100000],
                                                                         [12, 1])

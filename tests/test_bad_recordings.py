"""Unreadable recordings: one line naming file:line, exit 2, in every command that reads one;
`data verify` reports times going backwards and duplicates; backtests end with the data."""
from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path
from typing import Callable

import pytest

from app import cli
from app.data.binance_recording import RecordingError, parse_recordings
from app.data.store import check_replayable, load_events, scan_order
from tests.synthetic_recordings import STEP, T0, book_ticker, diff, spot_session, trade, write_recording

CONFIG = """\
name: t
venue:
  kind: replay
  latency_ms: 20
  speed: 1000
recordings:
{files}
balances:
  USDT: 10000
  BTC: 0.2
symbol: BTC/USDT
strategy:
  name: simple_quoter
  params:
    order_amount: 0.1
    bid_spread_bps: 1
    ask_spread_bps: 1
    refresh_seconds: 10
"""


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLIBRI_CACHE_DIR", str(tmp_path / "cache"))


def config_for(tmp_path: Path, *files: Path) -> Path:
    cfg = tmp_path / "replay.yaml"
    cfg.write_text(CONFIG.format(files="\n".join(f"  - {f}" for f in files)))
    return cfg


def lines_of(messages: list[dict | str]) -> list[bytes]:
    return [f"{T0 + i * STEP} {m if isinstance(m, str) else json.dumps(m)}\n".encode() for i, m in enumerate(messages)]


def good_bytes() -> bytes:
    return gzip.compress(b"".join(lines_of(spot_session())))


def with_message(i: int, change: Callable[[dict], None]) -> bytes:
    messages = spot_session()
    change(messages[i])
    return gzip.compress(b"".join(lines_of(messages)))


def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    return lines[0]


def _truncated() -> bytes:
    data = b"".join(lines_of(spot_session() * 40))
    return gzip.compress(data)[: len(gzip.compress(data)) // 2]


def _bad_crc() -> bytes:
    data = bytearray(good_bytes())
    data[-6] ^= 0xFF
    return bytes(data)


BROKEN: dict[str, tuple[Callable[[], bytes], str]] = {
    "bad crc": (_bad_crc, r":12: corrupt gzip data after line 11 \(the last line read\): CRC check failed"),
    "garbage after magic": (lambda: b"\x1f\x8b" + bytes(range(200)), ": corrupt gzip data at the start of the file"),
    "truncated": (_truncated, r":\d+: truncated: .*after line \d+ \(the last line read\)"),
    "empty file": (lambda: b"", r": empty file \(0 bytes\)"),
    "empty gzip": (lambda: gzip.compress(b""), ": empty recording: no data lines"),
    "binary line": (lambda: gzip.compress(b"\x00\xff\xfe\x01\n" + b"".join(lines_of(spot_session()))), r":1: expected '<receive ns> <json>'"),
    "no space": (lambda: gzip.compress(b"".join(lines_of(spot_session())) + b"123456\n"), r":12: expected '<receive ns> <json>'"),
    "non-integer time": (lambda: gzip.compress(b"".join(lines_of(spot_session())) + b"12x4 {}\n"), r":12: expected '<receive ns> <json>'"),
    "not json": (lambda: gzip.compress(b"".join(lines_of(spot_session())) + b"1723161254000000000 {nope\n"), ":12: bad JSON"),
    "missing field": (lambda: with_message(4, lambda m: m["data"].pop("p")), ":5: missing field 'p'"),
    "price as number": (lambda: with_message(4, lambda m: m["data"].update(p=100.05)), ":5: price is a number 100.05, expected a decimal string"),
    "level not a pair": (lambda: with_message(1, lambda m: m["data"].update(b=[["100.01"]])), r":2: level \['100.01'\] is not a \[price, quantity\] pair"),
    "levels null": (lambda: with_message(1, lambda m: m["data"].update(a=None)), ":2: field a is null, expected a list"),
    "data null": (lambda: with_message(3, lambda m: m.update(data=None)), ":4: bookTicker message: field data is null"),
    "id null": (lambda: with_message(1, lambda m: m["data"].update(u=None)), ":2: field u is null, expected an integer"),
    "maker flag a string": (lambda: with_message(4, lambda m: m["data"].update(m="no")), ":5: field m is a string"),
    "other symbol (s)": (lambda: with_message(4, lambda m: m["data"].update(s="ETHUSDT")), ":5: a message for another symbol: ETHUSDT .* in a BTCUSDT recording"),
    "other symbol (stream)": (lambda: with_message(5, lambda m: m.update(stream="ethusdt@depth@100ms")), ":6: a message for another symbol: ETHUSDT .*'ethusdt@depth@100ms'.* in a BTCUSDT recording"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_recording_is_one_line_in_every_command(case: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    make, expected = BROKEN[case]
    path = tmp_path / "rec.gz"
    path.write_bytes(make())
    cfg = config_for(tmp_path, path)
    for argv in (["data", "verify", str(path)], ["backtest", "--config", str(cfg), "--duration", "30"],
                 ["run", "--config", str(cfg), "--duration", "1"]):
        code, _, err = run_cli(argv, capsys)
        assert code == 2, (argv, err)
        line = one_error_line(err)
        assert str(path) in line
        assert pytest.importorskip("re").search(expected, line), (argv, line)


def test_no_snapshot_is_refused_for_replays_and_fails_verify(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write_recording(tmp_path / "nosnap.gz", [m for m in spot_session() if "lastUpdateId" not in m])
    cfg = config_for(tmp_path, path)
    for argv in (["backtest", "--config", str(cfg), "--duration", "30"], ["run", "--config", str(cfg), "--duration", "1"]):
        code, _, err = run_cli(argv, capsys)
        assert code == 2
        assert one_error_line(err) == f"error: no depth snapshot in {path}: the book can never be built"
    code, out, _ = run_cli(["data", "verify", str(path)], capsys)
    assert code == 1 and "FAILED" in out and "no snapshot" in out


def test_times_going_backwards(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    lines = lines_of(spot_session())
    ts, _, payload = lines[6].partition(b" ")
    lines[6] = str(int(ts) - 10 * STEP).encode() + b" " + payload
    path = tmp_path / "back.gz"
    path.write_bytes(gzip.compress(b"".join(lines)))
    code, out, _ = run_cli(["data", "verify", str(path)], capsys)
    assert code == 1 and out.rstrip().endswith("FAILED")
    assert "receive times going backwards: 1" in out
    assert f"BACKWARDS {path}:7: receive time" in out and f"{path}:6" in out
    cfg = config_for(tmp_path, path)
    code, _, err = run_cli(["backtest", "--config", str(cfg), "--duration", "30"], capsys)
    assert code == 2
    line = one_error_line(err)
    assert f"{path}:7: receive time" in line and "go backwards" in line
    # across files: the second file starts before the first one ends
    first = write_recording(tmp_path / "a.gz", spot_session())
    second = write_recording(tmp_path / "b.gz", [trade(9, "100.02", "0.10000", False)], start_ns=T0)
    with pytest.raises(RecordingError, match=rf"{second}:1: receive time .* before that of {first}:11"):
        check_replayable(load_events([first, second])[0], [first, second])


def test_duplicates_are_reported_by_verify(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    messages = spot_session()
    lines = lines_of(messages)
    same_line = lines[:6] + [lines[5]] + lines[6:]  # line 7 repeats line 6 exactly
    path = tmp_path / "dup.gz"
    path.write_bytes(gzip.compress(b"".join(same_line)))
    code, out, _ = run_cli(["data", "verify", str(path)], capsys)
    assert code == 1 and "duplicate messages: 1" in out
    assert f"DUPLICATE {path}:7: duplicate message: the same line as {path}:6" in out
    # the same update range and trade id again, at other times
    again = messages + [diff(106, 110, [], []), trade(1, "100.05", "0.10000", False)]
    path2 = write_recording(tmp_path / "dup2.gz", again)
    scan = scan_order([path2])
    assert scan.duplicates == 2 and scan.backwards == 0
    assert f"{path2}:12: duplicate depth update U=106 u=110 (already at {path2}:6)" in scan.problems
    assert f"{path2}:13: duplicate trade id 1 (already at {path2}:5)" in scan.problems


def test_good_recording_still_verifies(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write_recording(tmp_path / "good.gz", spot_session())
    code, out, err = run_cli(["data", "verify", str(path)], capsys)
    assert code == 0 and out.rstrip().endswith("OK") and err == ""
    assert "receive times going backwards: 0; duplicate messages: 0" in out


def test_recording_error_pickles() -> None:
    exc = RecordingError("a.gz", 3, "bad JSON")
    back = pickle.loads(pickle.dumps(exc))
    assert str(back) == "a.gz:3: bad JSON" and (back.path, back.line, back.reason) == ("a.gz", 3, "bad JSON")
    assert str(RecordingError("a.gz", 0, "empty")) == "a.gz: empty"
    assert str(RecordingError("", 0, "no depth snapshot in x")) == "no depth snapshot in x"


def test_huge_numbers_are_refused_not_overflowing(tmp_path: Path) -> None:
    path = write_recording(tmp_path / "big.gz", spot_session()[:4] + [trade(2**63 + 5, "100.05", "0.1", False)])
    with pytest.raises(RecordingError, match=rf":5: field t {2**63 + 5} is out of range"):
        parse_recordings([path])


# -- backtests end with the data ------------------------------------------------------------------

def _run(tmp_path: Path, messages: list[dict], duration: float) -> dict:
    from app.config.bot_config import load_config
    from app.wiring.runners import run_simulated

    path = write_recording(tmp_path / "rec.gz", messages)
    return run_simulated(load_config(str(config_for(tmp_path, path))), duration)


def long_session(n: int = 60) -> list[dict]:
    """spot_session, then n more chained diffs with tickers (100 ms apart)."""
    messages = spot_session()
    for k in range(n):
        u = 121 + k
        messages.append(diff(u, u, [["100.02", f"0.{k % 9 + 1}0000"]], []))
    return messages


def test_backtest_stops_at_end_of_data(tmp_path: Path) -> None:
    from app.wiring.runners import format_backtest_notes

    report = _run(tmp_path, long_session(), 3600)
    span = (len(long_session()) - 1) * STEP / 1e9
    assert report["end_reason"].startswith("end of data at 2024-08-08T23:54:")
    assert f"after {span:.1f} s of the requested 3600 s" in report["end_reason"]
    assert report["simulated_seconds"] == pytest.approx(span, abs=0.01)
    assert report["curve"]["points"][-1][0] <= span + 0.01
    assert report["gaps"] == []
    # no book until the snapshot (third line, 0.2 s in)
    assert report["stale_seconds"] == pytest.approx(0.2, abs=0.01)
    notes = format_backtest_notes(report)
    assert notes[0] == f"ended: {report['end_reason']}" and notes[0] in report["notes"]


def test_backtest_duration_reached(tmp_path: Path) -> None:
    report = _run(tmp_path, long_session(), 2)
    assert report["end_reason"] == "duration reached"
    assert report["simulated_seconds"] == pytest.approx(2, abs=0.01)


def test_backtest_reports_gaps(tmp_path: Path) -> None:
    messages = long_session()
    del messages[20]  # a missing diff: U jumps
    report = _run(tmp_path, messages, 3600)
    assert len(report["gaps"]) == 1
    gap = report["gaps"][0]
    assert "gap: U=" in gap["reason"] and gap["resynced_after_s"] is None
    assert gap["where"].endswith("rec.gz:21")
    assert gap["at"].startswith("2024-08-08T23:54:")
    ran = report["simulated_seconds"]
    stale_after_gap = ran - 2.0  # the 21st line is received at 2.0 s
    assert report["stale_seconds"] == pytest.approx(0.2 + stale_after_gap, abs=0.01)
    assert report["stale_pct"] == pytest.approx(100 * report["stale_seconds"] / ran, abs=0.1)
    assert any(line.startswith("gap at ") and "never resynced" in line for line in report["notes"])

"""Property test: mutated real recordings never crash `data verify` or a backtest.

Each case is the first 300 lines of the real spot recording with random mutations (lines
dropped, duplicated or swapped, gzip bytes cut or flipped, a JSON value replaced by another
type, an off-grid price, another symbol, times going backwards, the snapshot removed).
Every command must end with 0, 1 (verify: mismatch, gap, duplicates) or 3, or with 2 and
exactly one stderr line starting "error:"; never a traceback.
"""
from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import cli
from app.data.store import recordings_dir

SOURCE = recordings_dir() / "spot_btcusdt_20240808.gz"
pytestmark = pytest.mark.skipif(not SOURCE.is_file(), reason=f"real recording not found: {SOURCE}")

CONFIG = """\
name: fuzz
venue:
  kind: replay
  latency_ms: 20
recordings:
  - {path}
balances:
  USDT: 10000
  BTC: 0.2
symbol: BTC/USDT
strategy:
  name: simple_quoter
  params:
    order_amount: 0.002
    bid_spread_bps: 1
    ask_spread_bps: 1
    refresh_seconds: 10
"""

_LINES: list[bytes] = []


def real_lines() -> list[bytes]:
    if not _LINES:
        with gzip.open(SOURCE, "rb") as fh:
            for line in fh:
                _LINES.append(line)
                if len(_LINES) >= 300:
                    break
    return _LINES


ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.text(max_size=8),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just([["1.0"]]), st.just(["1", "2", "3"]),
)


def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    """Every key path into a JSON value (lists limited to their first items)."""
    out: list[tuple] = []
    if isinstance(value, dict):
        for key, item in value.items():
            out.append(prefix + (key,))
            out += _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value[:3]):
            out.append(prefix + (i,))
            out += _paths(item, prefix + (i,))
    return out


def _set(root: object, path: tuple, value: object) -> None:
    for key in path[:-1]:
        root = root[key]  # type: ignore[index]
    root[path[-1]] = value  # type: ignore[index]


@st.composite
def mutated_recording(draw) -> bytes:
    lines = list(real_lines())
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(
            ["drop", "duplicate", "swap", "value", "offgrid", "symbol", "backwards", "no_snapshot", "garbage"]
        ))
        i = draw(st.integers(0, len(lines) - 1))
        if kind == "drop" and len(lines) > 1:
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "no_snapshot":
            lines = [line for line in lines if b"lastUpdateId" not in line] or lines
        elif kind == "garbage":
            lines.insert(i, draw(st.binary(max_size=30)) + b"\n")
        else:
            ts, _, payload = lines[i].partition(b" ")
            try:
                msg = json.loads(payload)
                stamp = int(ts)
            except ValueError:
                continue
            if kind == "backwards":
                stamp -= draw(st.integers(1, 10**10))
            elif kind == "value":
                paths = _paths(msg)
                if paths:
                    _set(msg, draw(st.sampled_from(paths)), draw(ODD_VALUES))
            elif kind == "offgrid":
                data = msg.get("data", msg)
                for key in ("p", "b", "a"):
                    if isinstance(data.get(key), str):
                        data[key] = data[key] + draw(st.sampled_from(["001", "5", "0000001"]))
                        break
            elif kind == "symbol":
                if "stream" in msg and draw(st.booleans()):
                    msg["stream"] = "eth" + msg["stream"][3:]
                elif isinstance(msg.get("data"), dict):
                    msg["data"]["s"] = "ETHUSDT"
            lines[i] = f"{stamp} ".encode() + json.dumps(msg, allow_nan=True).encode() + b"\n"
    data = gzip.compress(b"".join(lines), compresslevel=1)
    damage = draw(st.sampled_from(["none", "none", "truncate", "flip"]))
    if damage == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == "flip":
        data = bytearray(data)
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] ^= draw(st.integers(1, 255))
        data = bytes(data)
    return data


def check(argv: list[str], capsys: pytest.CaptureFixture, allowed: tuple[int, ...]) -> int:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse only; not expected here
        code = exc.code  # type: ignore[assignment]
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), (argv, err)
    else:
        assert code in allowed, (argv, code, out[-2000:], err[-2000:])
    return code


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=mutated_recording())
def test_mutated_recordings_never_crash(data: bytes, capsys: pytest.CaptureFixture) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "mutated.gz"
        path.write_bytes(data)
        cfg = folder / "replay.yaml"
        cfg.write_text(CONFIG.format(path=path))
        old = os.environ.get("COLIBRI_CACHE_DIR")
        os.environ["COLIBRI_CACHE_DIR"] = str(folder / "cache")
        try:
            check(["data", "verify", str(path)], capsys, (0, 1))
            check(["backtest", "--config", str(cfg), "--duration", "30"], capsys, (0, 3))
        finally:
            if old is None:
                os.environ.pop("COLIBRI_CACHE_DIR", None)
            else:
                os.environ["COLIBRI_CACHE_DIR"] = old

"""The fault soak, short: a bot in another process trades through the ccxt connector
against the local exchange while every kind of fault is injected and it is SIGKILLed and
restarted; the exchange's record and the journal must agree exactly."""
import pytest

from app.wiring.soak import KINDS, run_soak

pytestmark = pytest.mark.timeout(400)


def test_short_soak_loses_nothing(tmp_path, capsys) -> None:
    result = run_soak(faults=2 * len(KINDS), kills=2, seed=5, minutes=1.0, work_dir=tmp_path / "soak")
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line == result.line() and line.startswith("faults ")
    assert result.kills == 2 and result.faults >= len(KINDS) and result.orders > 20 and result.fills > 0
    assert (result.lost, result.orphaned, result.double_counted, result.stale_quotes) == (0, 0, 0, 0), result.details

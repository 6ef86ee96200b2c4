"""`python main.py --self-test` as a process: every check passes on the demo exchange, and a
check that fails says why and makes the exit status 1 (tests/test_dist.py runs the bundle's)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _self_test(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_STATE_HOME": str(tmp_path / "state"),
           "PYTHONUNBUFFERED": "1", **extra}
    env.pop("COLIBRI_HOME", None)
    if not env.get("DBUS_SESSION_BUS_ADDRESS") and "PYTHON_KEYRING_BACKEND" not in extra:
        # No Secret Service here (make test provides one): the encrypted key file instead.
        env.update(COLIBRI_KEYSTORE="encrypted-file", COLIBRI_KEYSTORE_PASSPHRASE="self-test passphrase")
    return subprocess.run([sys.executable, "main.py", "--self-test"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=240)


def test_self_test_passes_every_check_and_writes_its_report(tmp_path):
    result = _self_test(tmp_path)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for check in ("window", "first book", "bot", "rehearsal exchange", "keyring", "TLS certificates",
                  "backtest worker process", "close"):
        assert f"ok   {check}: " in out, out
    assert "self-test passed (8 checks" in out
    assert "Traceback" not in out + result.stderr
    report = tmp_path / "state" / "colibri" / "logs" / "self-test.txt"
    assert report.read_text().splitlines()[-1] == out.splitlines()[-1]


def test_a_failed_check_gives_its_reason_and_exit_status_1(tmp_path):
    result = _self_test(tmp_path, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
                        COLIBRI_KEYSTORE="system")
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "FAIL keyring: no usable Secret Service" in out
    assert "ok   window: " in out and "ok   close: " in out  # the other checks still ran
    assert out.splitlines()[-1].startswith("self-test FAILED: keyring (8 checks")
    assert "Traceback" not in out + result.stderr


def test_self_test_runs_alone():
    result = subprocess.run([sys.executable, "main.py", "--self-test", "run"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --self-test runs alone, not with 'run'"

"""The self-test's window-free checks (app/wiring/self_checks.py) on their failure paths;
tests/ui/test_self_test.py runs them all for real."""
import concurrent.futures as futures

import certifi

from app.wiring import self_checks, sweep_backends


def test_worker_check_gives_up_on_a_silent_worker(monkeypatch):
    """A worker that never answers (a broken frozen start) fails the check instead of hanging."""
    never = futures.Future()
    cancelled = []
    monkeypatch.setattr(self_checks, "WORKER_TIMEOUT_S", 0.05)
    monkeypatch.setattr(sweep_backends.ProcessBackend, "submit", lambda self, *args: never)
    monkeypatch.setattr(sweep_backends.ProcessBackend, "cancel", lambda self, pending: cancelled.extend(pending))
    check = self_checks.check_worker_backtest("demo.yaml")
    assert not check.ok and check.detail == "no answer from the worker in 0.05 s"
    assert cancelled == [never]


def test_certificates_check_fails_on_a_missing_bundle(monkeypatch, tmp_path):
    assert self_checks.check_certificates().ok
    monkeypatch.setattr(certifi, "where", lambda: str(tmp_path / "missing.pem"))
    check = self_checks.check_certificates()
    assert not check.ok and check.detail.startswith("the CA bundle cannot be loaded: ")

"""The self-test's checks that need no window: the key store, TLS certificates and a
backtest in a worker process. Each proves a part a bundle can lose silently (a keyring
backend not collected, certifi's file left out, frozen multiprocessing not wired), so each
does the real thing rather than looking for files.
"""
from __future__ import annotations

import ssl
import time
import uuid
from dataclasses import dataclass

WORKER_BACKTEST_S = 600.0
"""Simulated seconds of the worker's demo backtest: enough for the demo quoter to fill."""
WORKER_TIMEOUT_S = 120.0
"""A worker that has not answered by then is killed: a broken frozen start can hang."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def check_keyring() -> Check:
    """The key store API keys would go to: found, and a throwaway secret written, read back
    and deleted (a locked or broken Secret Service fails here, not at the first real key)."""
    from app import keystore

    try:
        backend = keystore.resolve_backend()
    except keystore.SecretStoreError as exc:
        return Check("keyring", False, str(exc))
    what = keystore.describe_backend(backend)
    service, user = "colibri-self-test", f"check-{uuid.uuid4().hex[:8]}"
    secret = uuid.uuid4().hex
    try:
        backend.set_password(service, user, secret)
        read = backend.get_password(service, user)
        backend.delete_password(service, user)
    except Exception as exc:  # noqa: BLE001 - any backend failure is this check's answer
        return Check("keyring", False, f"{what}: {keystore.explain(exc, backend)}")
    if read != secret:
        return Check("keyring", False, f"{what}: a secret written was read back different")
    return Check("keyring", True, f"{what}; a secret written, read back and deleted")


def check_certificates() -> Check:
    """The CA bundle ccxt's HTTPS and websocket connections verify exchanges against."""
    try:
        import certifi

        path = certifi.where()
        context = ssl.create_default_context(cafile=path)
    except (ImportError, OSError, ssl.SSLError) as exc:
        return Check("TLS certificates", False, f"the CA bundle cannot be loaded: {exc}")
    count = context.cert_store_stats().get("x509_ca", 0)
    if count < 10:
        return Check("TLS certificates", False, f"{path} holds {count} CA certificates")
    return Check("TLS certificates", True, f"{count} CA certificates from {path}")


def check_worker_backtest(config_path: str) -> Check:
    """A short demo backtest in a spawned worker process, as the backtest panel and sweeps
    run them: a bundle whose frozen multiprocessing is not wired hangs or dies here."""
    import concurrent.futures as futures

    from app.wiring.sweep_backends import ProcessBackend

    backend = ProcessBackend(1)
    started = time.perf_counter()
    future = backend.submit(config_path, {}, WORKER_BACKTEST_S)
    if not futures.wait([future], timeout=WORKER_TIMEOUT_S).done:
        backend.cancel([future])
        return Check("backtest worker process", False, f"no answer from the worker in {WORKER_TIMEOUT_S:g} s")
    try:
        result = backend.outcome(future)
    finally:
        backend.close()
    elapsed = time.perf_counter() - started
    if "error" in result:
        return Check("backtest worker process", False, result["error"])
    fills = result.get("metrics", {}).get("fills")
    if not fills:
        return Check("backtest worker process", False, f"the demo backtest made no fill ({result.get('metrics')})")
    return Check("backtest worker process", True,
                 f"{WORKER_BACKTEST_S:g} simulated s of the demo in a spawned process, {fills} fills, {elapsed:.1f} s")

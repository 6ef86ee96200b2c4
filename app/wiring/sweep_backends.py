"""Where a sweep's runs execute: local worker processes, or a Dask cluster.

Both take the same job (`run_one` with a config path or BotConfig, overrides and a
duration) and give futures with done-callbacks, so the sweep loop does not care which.
Worker processes ignore Ctrl-C: the sweep's own process decides what an interrupt means
(cancel what is pending, keep what finished), and a worker killed mid-run by the terminal's
SIGINT would break the pool instead.
"""
from __future__ import annotations

import concurrent.futures as futures
import logging
import multiprocessing
import os
import signal
from typing import Any, Sequence

from app.config.schema import ConfigError
from app.wiring.sweep import ConfigRef, describe_error, run_one


def default_workers() -> int:
    return os.cpu_count() or 1


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ProcessBackend:
    """A pool of spawned worker processes (concurrent.futures). A pool broken by a worker
    that died (a crash, the OOM killer) is replaced, and the runs it took are retried once."""

    def __init__(self, workers: int | None = None) -> None:
        self.slots = max(1, workers or default_workers())
        self._context = multiprocessing.get_context("spawn")
        self._executor: futures.ProcessPoolExecutor | None = None
        self._generation = 0
        self._born: dict[futures.Future, int] = {}  # which pool a future came from

    def _pool(self) -> futures.ProcessPoolExecutor:
        if self._executor is None:
            self._executor = futures.ProcessPoolExecutor(self.slots, mp_context=self._context,
                                                         initializer=_ignore_sigint)
        return self._executor

    def _replace(self) -> None:
        old, self._executor = self._executor, None
        self._generation += 1
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)

    def submit(self, config_ref: ConfigRef, overrides: dict[str, Any], duration_s: float) -> futures.Future:
        try:
            future = self._pool().submit(run_one, config_ref, overrides, duration_s)
        except futures.BrokenExecutor:
            self._replace()
            future = self._pool().submit(run_one, config_ref, overrides, duration_s)
        self._born[future] = self._generation
        return future

    def outcome(self, future: futures.Future) -> dict[str, Any]:
        generation = self._born.pop(future, self._generation)
        try:
            return future.result()
        except futures.BrokenExecutor as exc:
            if generation == self._generation:
                self._replace()
            return {"error": f"the worker process died ({describe_error(exc)})", "retry": True}
        except futures.CancelledError:
            return {"error": "cancelled"}
        except Exception as exc:  # noqa: BLE001 - the job could not even be sent (unpicklable)
            return {"error": describe_error(exc)}

    def cancel(self, pending: Sequence[Any]) -> None:
        """Stops now: queued runs are dropped and running ones killed (a sweep of hour-long
        backtests must not make Ctrl-C wait for them)."""
        for future in pending:
            future.cancel()
        executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = list((getattr(executor, "_processes", None) or {}).values())  # no public API before 3.14
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(5)

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


class DaskBackend:
    """A Dask cluster: `local` starts a LocalCluster of worker processes for the sweep and
    shuts it down after; an address (tcp://host:port) connects to a running scheduler,
    whose workers must have Colibri installed and see the config file at the same path."""

    def __init__(self, address: str, workers: int | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError("--dask", "", "dask.distributed is not installed (pip install 'dask[distributed]')") \
                from None
        self._cluster: Any = None
        if not logging.getLogger().isEnabledFor(logging.DEBUG):  # -v shows Dask's own log
            logging.getLogger("distributed").setLevel(logging.WARNING)
        if address == "local":
            count = max(1, workers or default_workers())
            previous = signal.getsignal(signal.SIGINT)
            try:
                # Worker processes started while SIGINT is ignored keep ignoring it.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                self._cluster = LocalCluster(n_workers=count, threads_per_worker=1, processes=True,
                                             dashboard_address=":0", silence_logs=logging.ERROR)
            finally:
                signal.signal(signal.SIGINT, previous)
            try:
                self.client = Client(self._cluster)
            except BaseException:  # the cluster's worker processes must not outlive the failure
                self._cluster.close()
                raise
        else:
            try:
                self.client = Client(address, timeout="10s")
            except (OSError, ValueError) as exc:
                raise ConfigError("--dask", address, f"cannot connect to the scheduler: {describe_error(exc)}") \
                    from None
        try:
            self.slots = max(1, workers or sum(self.client.nthreads().values()) or 1)
            self.dashboard = self.client.dashboard_link
        except BaseException:
            self.client.close()
            if self._cluster is not None:
                self._cluster.close()
            raise

    def submit(self, config_ref: ConfigRef, overrides: dict[str, Any], duration_s: float) -> Any:
        return self.client.submit(run_one, config_ref, overrides, duration_s, pure=False, retries=0)

    def outcome(self, future: Any) -> dict[str, Any]:
        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001 - a lost worker (KilledWorker), a cancelled task
            return {"error": describe_error(exc)}

    def cancel(self, pending: Sequence[Any]) -> None:
        if pending:
            self.client.cancel(list(pending))

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

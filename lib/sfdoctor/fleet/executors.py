"""Where a fleet's tasks run: this machine's cores (`local`) or Dask distributed (`dask`).

Both take one task per org and call back with each org's result as it arrives. Neither lets
one org stop the others: an org that hangs past its time is given up (its entries end
`inconclusive`), and an org whose worker dies goes again once, elsewhere, before it is given
up. `local` is `concurrent.futures.ProcessPoolExecutor` (spawned processes; a broken pool is
replaced); `dask` is a `distributed.Client` on a `LocalCluster` started for the run or on the
scheduler `--scheduler` names, submitting with `pure=False` (every run is a new audit) and
leaving retries after a lost worker to Dask's scheduler.

Both hand out at most `in_flight(workers)` orgs at a time and take the next as each one
returns, so what is held between the workers and the writer (tasks, results, the cluster's
copies of them) stays the same at 50 orgs or 5,000.
"""
from __future__ import annotations

import multiprocessing
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Mapping

from ..errors import BadInput
from . import worker
from ..i18n import t

OnResult = Callable[[Mapping[str, Any], dict[str, Any]], None]
OnLost = Callable[[Mapping[str, Any], str], None]
Say = Callable[[str], None]
MAX_ATTEMPTS = 2


def org_timeout(task: Mapping[str, Any]) -> float:
    """How long one org may take: each runbook's own limit (enforced on the worker), plus a
    margin for the budget guard and the worker's start; past it, the fleet gives up on it."""
    return len(task["runbooks"]) * float(task.get("runbook_timeout") or 120) + 30


class LocalExecutor:
    """This machine's cores: one spawned process per worker, each running one org at a time."""

    name = "local"

    def __init__(self, workers: int, lang: str = "en") -> None:
        self.workers = workers
        self.lang = lang

    @property
    def window(self) -> int:
        return in_flight(self.workers)

    def _pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=worker.warm_up)

    def run(self, tasks: list[dict[str, Any]], on_result: OnResult, on_lost: OnLost, say: Say) -> None:
        pending = {task["org"]: task for task in tasks}
        attempts: dict[str, int] = {}
        while pending:
            pool = self._pool()
            queue = deque(pending.values())
            futures: dict[Any, dict[str, Any]] = {}
            running_since: dict[Any, float] = {}
            broken = False

            def top_up() -> None:
                while queue and len(futures) < self.window:
                    task = queue.popleft()
                    futures[pool.submit(worker.run_org, task)] = task

            try:
                top_up()
                while futures and not broken:
                    done, _ = wait(list(futures), timeout=0.5, return_when=FIRST_COMPLETED)
                    for fut in done:
                        task = futures.pop(fut)
                        running_since.pop(fut, None)
                        try:
                            result = fut.result()
                        except BrokenProcessPool:
                            futures[fut] = task  # handled with the others below
                            broken = True
                            continue
                        except Exception as exc:  # noqa: BLE001 - a bug in one org's task
                            pending.pop(task["org"], None)
                            on_lost(task, t("fleet.lost.crash", self.lang, reason=f"{type(exc).__name__}: {exc}"[:300]))
                            continue
                        pending.pop(task["org"], None)
                        on_result(task, result)
                    now = time.monotonic()
                    for fut in futures:
                        if fut.running():
                            running_since.setdefault(fut, now)
                    overdue = [f for f, since in running_since.items()
                               if f in futures and not f.done() and now - since > org_timeout(futures[f])]
                    if overdue:
                        for fut in overdue:
                            task = futures.pop(fut)
                            pending.pop(task["org"], None)
                            on_lost(task, t("fleet.lost.timeout", self.lang, seconds=int(org_timeout(task))))
                        # A process stuck in an org cannot be interrupted from here: stop the
                        # pool's processes; the orgs they were running go again (not counted).
                        _kill_processes(pool)
                        broken = True
                    if not broken:
                        top_up()
                if broken:
                    lost_running = [futures[f] for f in futures if f in running_since or f.running()]
                    for task in lost_running:
                        attempts[task["org"]] = attempts.get(task["org"], 0) + 1
                        if attempts[task["org"]] >= MAX_ATTEMPTS:
                            pending.pop(task["org"], None)
                            on_lost(task, t("fleet.lost.worker", self.lang, reason="process pool broken"))
                    if pending:
                        say(t("fleet.progress.retry", self.lang, n=len(pending)))
            finally:
                _kill_processes(pool) if broken else None
                pool.shutdown(wait=not broken, cancel_futures=True)

    def close(self) -> None:
        pass


def in_flight(workers: int) -> int:
    """How many orgs are handed to the workers at once: enough that none waits for the next
    (each worker has one running and one queued), few enough that the results waiting to be
    written, and the memory they hold, do not grow with the fleet."""
    return 2 * max(1, workers)


def _kill_processes(pool: ProcessPoolExecutor) -> None:
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            proc.kill()
        except Exception:  # noqa: BLE001 - already gone
            pass


class DaskExecutor:
    """Dask distributed: a LocalCluster for this run, or the cluster `scheduler` names."""

    name = "dask"

    def __init__(self, workers: int, scheduler: str | None, lang: str = "en") -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise BadInput(t("fleet.bad.dask_missing", lang), hint=t("fleet.bad.dask_missing_hint", lang)) from None
        import logging

        self.lang = lang
        self.cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout="5s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise BadInput(t("fleet.bad.scheduler", lang, address=scheduler, reason=" ".join(str(exc).split())[:160]),
                               hint=t("fleet.bad.scheduler_hint", lang)) from None
            self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        else:
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None, silence_logs=logging.CRITICAL)
            self.client = Client(self.cluster)
            self.workers = workers

    @property
    def window(self) -> int:
        """`in_flight` for the cluster's threads (a worker may run several tasks at once)."""
        try:
            threads = sum(int(w.get("nthreads") or 1) for w in self.client.scheduler_info().get("workers", {}).values())
        except Exception:  # noqa: BLE001 - the scheduler is busy: the workers counted at the start
            threads = 0
        return in_flight(max(threads, self.workers))

    def run(self, tasks: list[dict[str, Any]], on_result: OnResult, on_lost: OnLost, say: Say) -> None:
        from distributed import as_completed

        queue = deque(tasks)
        remaining: dict[str, tuple[Any, dict[str, Any]]] = {}
        seq = as_completed([], with_results=False)
        window = self.window

        def top_up() -> None:
            while queue and len(remaining) < window:
                task = queue.popleft()
                fut = self.client.submit(worker.run_org, task, pure=False, retries=1)
                remaining[fut.key] = (fut, task)
                seq.add(fut)

        def forget(key: str) -> None:
            # Drop our reference at once, so the cluster frees the result it held for us.
            entry = remaining.pop(key, None)
            started.pop(key, None)
            if entry is not None:
                entry[0].release()

        started: dict[str, float] = {}
        last_poll = 0.0
        top_up()
        while remaining:
            batch = seq.next_batch(block=False) if seq.has_ready() else []
            for fut in batch:
                entry = remaining.get(fut.key)
                if entry is None:
                    continue  # given up (overdue) already
                task = entry[1]
                try:
                    result = fut.result()
                except Exception as exc:  # noqa: BLE001 - KilledWorker, a bug in one task, ...
                    forget(fut.key)
                    reason = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]
                    on_lost(task, t("fleet.lost.worker" if "Killed" in type(exc).__name__ else "fleet.lost.crash",
                                    self.lang, reason=reason))
                else:
                    forget(fut.key)
                    on_result(task, result)
            now = time.monotonic()
            if now - last_poll > 1.0:
                last_poll = now
                try:
                    processing = self.client.processing()
                except Exception:  # noqa: BLE001 - the scheduler is busy or gone: try later
                    processing = {}
                for keys in processing.values():
                    for key in keys:
                        if str(key) in remaining:
                            started.setdefault(str(key), now)
                for key, since in list(started.items()):
                    entry = remaining.get(key)
                    if entry is not None and now - since > org_timeout(entry[1]):
                        entry[0].cancel()
                        forget(key)
                        on_lost(entry[1], t("fleet.lost.timeout", self.lang, seconds=int(org_timeout(entry[1]))))
            top_up()
            if not batch:
                time.sleep(0.05)

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


def make(kind: str, workers: int, scheduler: str | None, lang: str) -> LocalExecutor | DaskExecutor:
    if workers < 1:
        raise BadInput(t("fleet.bad.workers", lang))
    if kind == "local":
        if scheduler:
            raise BadInput(t("fleet.bad.scheduler_local", lang))
        return LocalExecutor(workers, lang)
    return DaskExecutor(workers, scheduler, lang)

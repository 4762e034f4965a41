"""Fleet benchmark: org-runbooks per minute and peak memory, beside one `sfdoctor run`.

    .venv/bin/python bench/fleet.py                 # 250 demo orgs x 4 runbooks, and 50 for memory
    .venv/bin/python bench/fleet.py history         # part 5 alone (a few seconds)
    BENCH_ORGS=50 BENCH_SMALL=10 BENCH_WORKERS=2 .venv/bin/python bench/fleet.py   # smaller

Printed, all measured in this one run (the machine's load average beside them, since a
shared machine's other work shows in every figure):

1. One `sfdoctor run security-token-required --org demo:token-missing` (a kernel per
   org-runbook), wall time, median of 3: what a fleet of separate runs would pay each time.
2. The same org-runbook in a warm fleet worker (`fleet.worker.run_runbook_here`: the
   notebook's cells in-process, nbconvert in-process), median of 10: the design's unit cost;
   then where a warm worker's time goes, per org-runbook, over a few whole orgs (`run_org`):
   the world built and served, the cells, the report page, the scrubbing, the rest.
3. `fleet run` over BENCH_ORGS demo orgs x 4 runbooks, local executor (processes) and Dask's
   LocalCluster, BENCH_WORKERS workers: wall time, org-runbooks per minute, peak memory (the
   whole process tree's RSS, sampled), the ratio Dask / local and the fleet against the same
   org-runbooks as separate runs. Targets: 1,000 org-runbooks in <= 120 s on 2 cores with
   `local`; LocalCluster within 1.2x.
4. The same fleets at BENCH_SMALL orgs: peak memory must stay flat as the fleet grows (both
   executors hand out at most 2 orgs per worker at a time).
5. The history page and `reports list` with the index at 10,000 runs of 250 orgs (a fleet adds
   ~1,000 a night): rebuild time in each language and page size; `reports list` and its --json.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from sfdoctor.fleet.demo_worlds import write_fleet  # noqa: E402
from sfdoctor.fleet.run import FleetOptions, run_fleet  # noqa: E402

ORGS = int(os.environ.get("BENCH_ORGS", "250"))
SMALL = int(os.environ.get("BENCH_SMALL", "50"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
BIN = Path(sys.executable).parent
# The four runbooks of the target (250 orgs x 4 = 1,000 org-runbooks).
RUNBOOKS = ["security-token-required", "sia-auth-failure", "marketo-sync-setup", "mc-missing-oauth-token"]


class PeakMemory:
    """Peak RSS of this process and all its descendants (workers, Dask's nannies), sampled."""

    def __init__(self, every: float = 0.2) -> None:
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mb(self) -> float:
        return self.peak / 2**20


def single_run() -> float:
    times = []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([str(BIN / "sfdoctor"), "run", "security-token-required", "--org", "demo:token-missing",
                            "--out", out], check=False, capture_output=True)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def warm_unit() -> float:
    from sfdoctor import orgs
    from sfdoctor.fleet import inprocess, worker

    worker.warm_up()
    ref = orgs.resolve("demo:token-missing")
    times = []
    with inprocess.EXECUTION_LOCK:
        for i in range(11):
            t0 = time.perf_counter()
            worker.run_runbook_here("security-token-required", "demo:token-missing", ref, {}, "en", 60)
            if i:
                times.append(time.perf_counter() - t0)
    return statistics.median(times)


def stages(orgs_file: Path, n_orgs: int = 6) -> tuple[int, float, dict[str, float]]:
    """Where a warm worker's time goes: `n_orgs` whole orgs through `worker.run_org` in this
    process, with the stages timed by wrapping the functions the worker calls."""
    from sfdoctor import report, scrub
    from sfdoctor.fleet import inprocess, plan, worker

    spent: dict[str, float] = {}

    def timed(owner: object, name: str, stage: str) -> None:
        inner = getattr(owner, name)

        def wrapper(*args: object, **kwargs: object) -> object:
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[stage] = spent.get(stage, 0.0) + time.perf_counter() - t0

        setattr(owner, name, wrapper)

    worker.warm_up()
    tasks = plan.build(orgs_file, [], RUNBOOKS, "en").tasks[:n_orgs]
    timed(worker._World, "serve", "world built and served")
    timed(worker, "api_budget", "API budget guard")
    timed(inprocess, "execute", "notebook cells")
    timed(report, "export_html", "report page (nbconvert)")
    for name in ("scrub_html", "scrub_notebook", "scrub_obj", "known_secrets"):
        timed(scrub, name, "scrubbing")
    t0 = time.perf_counter()
    done = sum(len(worker.run_org(task)["results"]) for task in tasks)
    total = time.perf_counter() - t0
    return done, total, spent


def fleet(orgs_file: Path, executor: str) -> tuple[float, int, float, dict]:
    with tempfile.TemporaryDirectory() as out, PeakMemory() as mem:
        t0 = time.perf_counter()
        result, _code, _page = run_fleet(FleetOptions(orgs_file=orgs_file, executor=executor, workers=WORKERS,
                                                      runbooks=RUNBOOKS, out=Path(out), progress=False))
        wall = time.perf_counter() - t0
    counts: dict[str, int] = {}
    for e in result["entries"]:
        counts[e["outcome"]] = counts.get(e["outcome"], 0) + 1
    return wall, len(result["entries"]), mem.mb, counts


def history_at(n: int, orgs: int = 250) -> dict[str, float]:
    """index.html rebuilt (in a fresh process, as a fleet run's end does: the runbook specs read
    once) and `sfdoctor reports list` (text and --json), over an index of `n` runs of `orgs` orgs
    (tests/history_gen.py: the newest 1,000 with their report folders), median of 3 each."""
    sys.path.insert(0, str(ROOT / "tests"))
    from history_gen import write_history

    rebuild = ("import sys, time; from sfdoctor import index_page; t0 = time.perf_counter(); "
               "index_page.write(sys.argv[1], sys.argv[2]); print(time.perf_counter() - t0)")
    with tempfile.TemporaryDirectory() as out:
        write_history(Path(out), n, orgs, reports=1000)
        figures: dict[str, float] = {}
        for lang in ("en", "ja"):
            inner, outer = [], []
            for _ in range(3):
                t0 = time.perf_counter()
                done = subprocess.run([sys.executable, "-c", rebuild, out, lang], capture_output=True, text=True,
                                      check=True, env={**os.environ, "PYTHONPATH": str(ROOT / "lib")})
                outer.append(time.perf_counter() - t0)
                inner.append(float(done.stdout))
            figures[f"page_{lang}_s"] = statistics.median(inner)
            figures[f"page_{lang}_process_s"] = statistics.median(outer)
        figures["page_mb"] = Path(out, "index.html").stat().st_size / 2**20
        for name, extra in (("list_s", []), ("list_json_s", ["--json"])):
            walls = []
            for _ in range(3):
                t0 = time.perf_counter()
                subprocess.run([str(BIN / "sfdoctor"), "reports", "list", "--out", out, *extra],
                               capture_output=True, check=True)
                walls.append(time.perf_counter() - t0)
            figures[name] = statistics.median(walls)
        return figures


def print_history(n: int = 10_000) -> None:
    f = history_at(n)
    print(f"5. history at {n:,} runs of 250 orgs: index.html rebuilt in {f['page_en_s']:.2f} s en / "
          f"{f['page_ja_s']:.2f} s ja ({f['page_en_process_s']:.2f} s as its own process), {f['page_mb']:.1f} MB; "
          f"`sfdoctor reports list` {f['list_s']:.2f} s, with --json {f['list_json_s']:.2f} s")


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def main() -> None:
    print(f"machine: {os.cpu_count()} cpus, {load()} at start; {WORKERS} workers; "
          f"{ORGS} orgs x {len(RUNBOOKS)} runbooks, memory also at {SMALL} orgs")
    single = single_run()
    print(f"1. one `sfdoctor run` (kernel per org-runbook): {single:.2f} s "
          f"-> {60 / single:.0f} org-runbooks/min on one core ({load()})")
    unit = warm_unit()
    print(f"2. the same org-runbook in a warm fleet worker (in-process cells + nbconvert): {unit * 1000:.0f} ms "
          f"({single / unit:.1f}x less than a kernel run; {load()})")
    with tempfile.TemporaryDirectory() as tmp:
        big = write_fleet(ORGS, Path(tmp) / "big", seed=1)
        done, total, spent = stages(big)
        parts = ", ".join(f"{name} {1000 * s / done:.0f}" for name, s in spent.items())
        print(f"   per org-runbook over {done} in a warm worker: {1000 * total / done:.0f} ms = {parts}, "
              f"rest {1000 * (total - sum(spent.values())) / done:.0f} (ms)")
        wall, n, mb, counts = fleet(big, "local")
        rate = 60 * n / wall
        print(f"3. local, {ORGS} orgs: {n} org-runbooks in {wall:.1f} s = {rate:.0f} org-runbooks/min, "
              f"peak {mb:.0f} MB, {counts} ({load()}); target: 1,000 in <= 120 s on 2 cores "
              f"(this rate: 1,000 in {60_000 / rate:.0f} s)")
        dwall, dn, dmb, _ = fleet(big, "dask")
        drate = 60 * dn / dwall
        print(f"   dask LocalCluster, {ORGS} orgs: {dn} in {dwall:.1f} s = {drate:.0f} org-runbooks/min, "
              f"peak {dmb:.0f} MB ({load()}); dask/local time = {dwall / wall:.2f} (target <= 1.2)")
        print(f"   the same {n} as separate `sfdoctor run`s on {WORKERS} cores: {n * single / WORKERS:.0f} s "
              f"= {n * single / WORKERS / wall:.1f}x the local fleet's time")
        small = write_fleet(SMALL, Path(tmp) / "small", seed=1)
        swall, sn, smb, _ = fleet(small, "local")
        dswall, dsn, dsmb, _ = fleet(small, "dask")
        print(f"4. peak memory (whole process tree), {SMALL} -> {ORGS} orgs ({ORGS / SMALL:.0f}x the orgs): "
              f"local {smb:.0f} -> {mb:.0f} MB ({mb / smb:.2f}x), dask {dsmb:.0f} -> {dmb:.0f} MB ({dmb / dsmb:.2f}x); "
              f"at {SMALL} orgs local {60 * sn / swall:.0f}/min, dask {60 * dsn / dswall:.0f}/min ({load()})")
    print_history()
    print(f"{load()} at the end")


if __name__ == "__main__":
    if sys.argv[1:] == ["history"]:
        print_history()
    else:
        main()

"""sfdoctor benchmarks: figures and ratios measured side by side in one run (not asserted).

    .venv/bin/python bench/run.py            # or: make bench

1. A headless run's wall time against papermill's floor: an empty notebook executed the same
   way on the same kernel. Target ratio <= 1.2.
2. The API calls one run of security-token-required spends (simulator's own counts). Target <= 6
   reads by sfdoctor, plus at most 2 probe logins.
3. A scenario with 200,000 LoginHistory rows in the window: analysis time (the login-history
   checks' duration), the kernel's peak RSS, and API calls. Targets <= 5 s, <= 300 MB, and calls
   equal to the small scenario's (they must not grow with the rows).
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from sfdoctor.demo.server import Simulator  # noqa: E402
from sfdoctor.kernel import EarlyKernel, execute_notebook  # noqa: E402
from sfdoctor.runner import run_runbook  # noqa: E402

RUNBOOK = "security-token-required"
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
PEAK_RSS_CELL = (
    "import resource, json\n"
    "print('SFDOCTOR_BENCH ' + json.dumps({'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"
)


def floor_notebook(path: Path) -> None:
    """The floor: nothing but a parameters cell, so only papermill and the kernel cost time."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('org = "demo"\nlang = "en"')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def time_floor(src: Path, scenario: str) -> float:
    """papermill's floor, executed exactly as the runner executes a runbook (kernel.execute_notebook:
    same engine, kernel manager, early kernel start, shutdown and papermill options), with the
    parameters a run injects; the time includes the kernel's exit."""
    start = time.perf_counter()
    nb, error = execute_notebook(src, {"org": f"demo:{scenario}", "lang": "en"}, cell_timeout=120,
                                 kernel=EarlyKernel({}))
    elapsed = time.perf_counter() - start
    if error is not None or nb is None:
        raise RuntimeError(f"the floor notebook failed: {error!r}")
    return elapsed


def time_plain_papermill(src: Path, tmp: Path, scenario: str) -> float:
    """papermill.execute_notebook as its documentation shows it, output to a file: for reference."""
    start = time.perf_counter()
    papermill.execute_notebook(str(src), str(tmp / "plain-out.ipynb"), parameters={"org": f"demo:{scenario}", "lang": "en"},
                               kernel_name="python3", progress_bar=False, log_output=False)
    return time.perf_counter() - start


def time_run(tmp: Path, scenario: str) -> tuple[float, dict]:
    start = time.perf_counter()
    outcome = run_runbook(RUNBOOK, f"demo:{scenario}", {}, tmp / "reports", "en", progress=None)
    elapsed = time.perf_counter() - start
    findings = json.loads((Path(outcome.folder) / "findings.json").read_text())
    return elapsed, findings


def headless_vs_floor(tmp: Path, scenario: str) -> tuple[float, float, float, list[dict]]:
    """Medians of REPEAT runs and REPEAT floors, measured in the same process state.

    One unmeasured run of each first (imports, kernel spec lookup, the in-process simulator,
    nbconvert's templates are then loaded for both); then floor and run alternate, so a
    neighbour's load on the machine falls on both figures alike.
    """
    src = tmp / "floor.ipynb"
    floor_notebook(src)
    time_floor(src, scenario)
    time_plain_papermill(src, tmp, scenario)
    time_run(tmp, scenario)
    floors, plains, runs = [], [], []
    for _ in range(REPEAT):
        floors.append(time_floor(src, scenario))
        plains.append(time_plain_papermill(src, tmp, scenario))
        runs.append(time_run(tmp, scenario))
    return (statistics.median(r[0] for r in runs), statistics.median(floors), statistics.median(plains),
            [r[1] for r in runs])


def cold_cli_runs(tmp: Path, scenario: str) -> list[float]:
    """`sfdoctor run` as a person or cron starts it: a new process each time, imports included."""
    import subprocess

    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        subprocess.run([str(ROOT / ".venv" / "bin" / "sfdoctor"), "run", RUNBOOK, "--org", f"demo:{scenario}",
                        "--out", str(tmp / "cli-reports")], capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return times


def kernel_figures(tmp: Path, scenario: str) -> dict:
    """Run the runbook notebook directly with one extra cell that reports the kernel's peak RSS,
    against a simulator started here, and read the simulator's request counts."""
    nb = nbformat.read(ROOT / "notebooks" / f"{RUNBOOK}.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_RSS_CELL))
    src = tmp / f"instrumented-{scenario}.ipynb"
    nbformat.write(nb, src)
    sim = Simulator(scenario)
    url = sim.start()
    old = os.environ.get("SFDOCTOR_DEMO_URL")
    os.environ["SFDOCTOR_DEMO_URL"] = url
    try:
        start = time.perf_counter()
        out = papermill.execute_notebook(str(src), str(tmp / f"out-{scenario}.ipynb"),
                                         parameters={"org": f"demo:{scenario}"}, kernel_name="python3",
                                         progress_bar=False, log_output=False)
        wall = time.perf_counter() - start
        import requests
        stats = requests.get(f"{url}/__sfdoctor/stats", timeout=10).json()
    finally:
        if old is None:
            os.environ.pop("SFDOCTOR_DEMO_URL", None)
        else:
            os.environ["SFDOCTOR_DEMO_URL"] = old
        sim.stop()
    peak = None
    checks = []
    for cell in out.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            if "SFDOCTOR_BENCH " in text:
                peak = json.loads(text.split("SFDOCTOR_BENCH ", 1)[1])["peak_rss_mb"]
            data = output.get("data", {})
            if "application/vnd.sfdoctor.finding+json" in data:
                checks.append(data["application/vnd.sfdoctor.finding+json"])
    analysis_ms = sum(c.get("duration_ms", 0) for c in checks if "history" in c.get("id", "") or "ip" in c.get("id", ""))
    return {"wall_s": wall, "peak_rss_mb": peak, "analysis_s": analysis_ms / 1000, "stats": stats,
            "checks": [(c["id"], c["status"], c.get("duration_ms")) for c in checks]}


def api_calls(stats: dict) -> tuple[int, int]:
    """(sfdoctor's reads, probe logins) from the simulator's per-endpoint counts."""
    counts = {k: v for k, v in stats.items() if k != "total" and isinstance(v, int)}
    logins = sum(v for k, v in counts.items() if "/services/Soap/u/" in k or "/services/Soap/c/" in k)
    token = sum(v for k, v in counts.items() if "/services/oauth2/token" in k)
    reads = sum(counts.values()) - logins - token
    return reads, logins


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="sfdoctor-bench-") as tmpdir:
        tmp = Path(tmpdir)
        print(f"sfdoctor bench — {REPEAT} repetitions, median shown", file=sys.stderr)
        run, floor, plain, runs = headless_vs_floor(tmp, "token-missing")
        print(f"1. headless run {run:.2f} s vs papermill floor {floor:.2f} s: ratio {run / floor:.2f} (target <= 1.2)",
              flush=True)
        print(f"   for reference, plain papermill.execute_notebook of the floor notebook: {plain:.2f} s "
              f"(run / plain = {run / plain:.2f})", flush=True)

        cold = cold_cli_runs(tmp, "token-missing")
        print(f"   cold `sfdoctor run` (new process, end to end): {statistics.median(cold):.2f} s", flush=True)

        small = kernel_figures(tmp, "token-missing")
        reads, logins = api_calls(small["stats"])
        print(f"2. API calls per run: {reads} reads + {logins} probe logins + 1 OAuth token "
              f"(findings.json api_calls={runs[0].get('api_calls')}) (target <= 6 reads)")

        big = kernel_figures(tmp, "token-history-200k")
        big_reads, big_logins = api_calls(big["stats"])
        print(f"3. 200,000 LoginHistory rows: analysis {big['analysis_s']:.2f} s (target <= 5), "
              f"kernel peak RSS {big['peak_rss_mb']:.0f} MB (target <= 300; small scenario {small['peak_rss_mb']:.0f} MB), "
              f"API calls {big_reads} reads vs {reads} for the small scenario (must not grow)")
        print(f"   notebook wall time: small {small['wall_s']:.2f} s, 200k {big['wall_s']:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

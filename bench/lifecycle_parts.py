"""What each piece of the runner's kernel lifecycle still buys, cold, end to end.

    .venv/bin/python bench/lifecycle_parts.py [REPEAT]

Each sample is a new Python process that imports sfdoctor.runner and runs
security-token-required against `demo:token-missing` (simulator included), as `sfdoctor run`
does. The variants switch off, in that process only, the early kernel start
(runner.EarlyKernel: the kernel boots while papermill is imported) and the kernel's import
head start (kernel.prewarm). Medians are printed with each variant's cost against the full
arrangement; nothing is asserted.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SAMPLE = r"""
import sys, tempfile, time
start = time.perf_counter()
sys.path.insert(0, {lib!r})
from sfdoctor import runner
if {no_early}:
    def _no_early_kernel(env):
        raise RuntimeError("early kernel switched off")  # _execute lets papermill start its own
    runner.EarlyKernel = _no_early_kernel
if {no_prewarm}:
    runner.PREWARM_MODULES = ()
with tempfile.TemporaryDirectory() as tmp:
    outcome = runner.run_runbook("security-token-required", "demo:token-missing", {{}}, tmp, "en", progress=None)
assert outcome.exit_code == 1, outcome.exit_code
print(time.perf_counter() - start)
"""

VARIANTS = {
    "as built (early kernel + import head start)": (False, False),
    "without the early kernel": (True, False),
    "without the import head start": (False, True),
    "without either": (True, True),
}


def sample(no_early: bool, no_prewarm: bool) -> float:
    code = SAMPLE.format(lib=str(ROOT / "lib"), no_early=no_early, no_prewarm=no_prewarm)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise SystemExit(f"a sample failed: {done.stderr.strip().splitlines()[-1:]}")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for i in range(repeat):  # interleaved, so a noisy moment hits every variant alike
        for name, flags in VARIANTS.items():
            times[name].append(sample(*flags))
        print(f"... round {i + 1}/{repeat}", file=sys.stderr, flush=True)
    base = statistics.median(times[next(iter(VARIANTS))])
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:48s} median {med:.3f} s  ({med - base:+.3f} s, x{med / base:.2f})")


if __name__ == "__main__":
    main()

"""Kernel shutdown, cycle after cycle: does every runbook kernel stop by itself?

    .venv/bin/python bench/kernel_shutdown.py              # 200 cycles the way runs do them
    .venv/bin/python bench/kernel_shutdown.py 100 --control   # the same, shutdown request on the
                                                            # control channel (jupyter_client's default)

Each cycle is what `sfdoctor run` does with its kernel: start it early (kernel.EarlyKernel, with
the runner's environment and import head start), execute a small parameterised notebook through
papermill (kernel.execute_notebook), and let nbclient stop the kernel. The kernel process's return
code then says how it ended: 0 by itself, -15 terminated (jupyter_client's SIGTERM after 2.5 s),
-9 killed. The figures printed are the counts and the cycle times; nothing is asserted.

`--control` puts back jupyter_client's own shutdown request on the control channel, which
ipykernel handles in its control thread: there, its final stdout flush can wait on an IOPub
thread that the main thread has already closed (see kernel.quiet_kernel_manager).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from sfdoctor import kernel, runner  # noqa: E402

CELL = "import sys\nprint('simple_salesforce' in sys.modules, x)"


def tiny_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(CELL)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def use_control_channel() -> None:
    """Give the runner's kernel manager jupyter_client's own shutdown request back."""
    from jupyter_client import AsyncKernelManager

    manager = kernel.quiet_kernel_manager()
    manager._async_request_shutdown = AsyncKernelManager._async_request_shutdown
    manager.request_shutdown = AsyncKernelManager._async_request_shutdown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cycles", nargs="?", type=int, default=200)
    parser.add_argument("--control", action="store_true", help="shutdown request on the control channel")
    args = parser.parse_args()
    if args.control:
        use_control_channel()
    env = {kernel.PREWARM_ENV: ",".join(runner.PREWARM_MODULES)}
    ended = {"by itself": 0, "terminated": 0, "killed": 0, "other": 0}
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "tiny.ipynb"
        tiny_notebook(src)
        for i in range(1, args.cycles + 1):
            start = time.perf_counter()
            early = kernel.EarlyKernel(env)
            process = early.km.provisioner.process
            nb, error = kernel.execute_notebook(src, {"x": i}, cell_timeout=60, kernel=early)
            times.append(time.perf_counter() - start)
            if error is not None or f"True {i}" not in str(nb.cells[-1].outputs):
                print(f"cycle {i}: the notebook failed: {error!r}", file=sys.stderr)
                return 2
            code = process.wait(timeout=30)
            key = {0: "by itself", -15: "terminated", -9: "killed"}.get(code, "other")
            ended[key] += 1
            if key != "by itself":
                print(f"cycle {i}: kernel {key} (return code {code}) after {times[-1]:.2f} s", flush=True)
            if i % 50 == 0:
                print(f"... {i} cycles", file=sys.stderr, flush=True)
    times.sort()
    channel = "control" if args.control else "shell"
    print(f"shutdown request on the {channel} channel: {args.cycles} cycles; "
          + ", ".join(f"{v} {k}" for k, v in ended.items()))
    print(f"cycle time: median {statistics.median(times):.3f} s, p95 {times[int(0.95 * (len(times) - 1))]:.3f} s, "
          f"max {times[-1]:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Import the client stack while a fresh kernel waits for papermill's first cell.

Between the end of a kernel's start-up and its first cell, papermill and nbclient exchange
kernel_info and open channels: about 0.2 s in which the kernel is idle. A kernel started by
the runner spends that time importing what every runbook's first code cell imports
(simple-salesforce alone costs about 0.2 s, zeep and PyJWT included), named in the kernel's
`SFDOCTOR_PREWARM` variable.

The first cell waits for the imports to finish (an IPython `pre_run_cell` hook), so no cell
ever imports at the same time as this thread: concurrent imports of modules that import
each other can hand one thread a half-initialised module. A failed import is left for the
cell to raise, with its own traceback, where the run reports it.
"""
from __future__ import annotations

import importlib
import os
import threading

MODULES_ENV = "SFDOCTOR_PREWARM"
# The kernel option that calls start() once IPython is up (names nothing in the user namespace).
EXEC_LINE = "__import__('sfdoctor._prewarm', fromlist=['start']).start()"


def _import_all(names: list[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # the cell that needs it raises it again, in the report
            pass


def start() -> threading.Thread | None:
    """Begin the imports in a thread and make the next cell wait for them."""
    names = [n.strip() for n in os.environ.get(MODULES_ENV, "").split(",") if n.strip()]
    if not names:
        return None
    thread = threading.Thread(target=_import_all, args=(names,), name="sfdoctor-prewarm", daemon=True)
    thread.start()
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is None:  # not in a kernel: nothing to hook, wait here
        thread.join()
        return thread

    def wait_for_imports(*_: object) -> None:
        thread.join()
        shell.events.unregister("pre_run_cell", wait_for_imports)

    shell.events.register("pre_run_cell", wait_for_imports)
    return thread

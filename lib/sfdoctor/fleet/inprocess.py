"""Execute a runbook notebook's cells in this process, recording outputs as a kernel would.

Why: a fleet runs thousands of org-runbooks, and a kernel per run costs ~1.5 s (boot,
imports, ZMQ round trips, shutdown) while the checks themselves take a few tens of ms.
Running the very same cells (the parameters papermill would inject, then every code cell not
tagged `skip-execution`) through IPython's own `InteractiveShell` in the worker keeps the
notebook the one definition of a runbook: the outputs are IPython's display data (the
finding cards with their `MIMETYPE` JSON, tables, SVG), streams and errors, laid out as
nbformat outputs, so the runner's `collect` and the report renderer read them unchanged and
the report.ipynb carries the same cells and outputs a kernel's run would (spec/cli.md).

One notebook at a time per process: the shell, its display publisher and stdout capture are
process-wide, so callers hold `EXECUTION_LOCK` (the fleet's workers do).
"""
from __future__ import annotations

import contextlib
import io
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

import nbformat

SKIP_TAG = "skip-execution"
EXECUTION_LOCK = threading.RLock()


class CellTimeout(Exception):
    """A cell ran past the run's time limit (raised inside the cell by the alarm)."""


@dataclass
class Failure:
    """Why execution stopped: a cell raised (`ename`, `evalue`) or the time ran out."""

    cell: int
    ename: str
    evalue: str
    timeout: bool = False


class _Recorder:
    """Collects one cell's outputs in order: stream text is flushed before each display."""

    def __init__(self) -> None:
        self.outputs: list[dict[str, Any]] = []
        self._streams: dict[str, io.StringIO] = {"stdout": io.StringIO(), "stderr": io.StringIO()}
        self._order: list[str] = []

    def stream(self, name: str) -> "_StreamProxy":
        return _StreamProxy(self, name)

    def write(self, name: str, text: str) -> None:
        if not text:
            return
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text  # a kernel's consecutive writes end up in one stream output
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def display(self, data: dict[str, Any], metadata: dict[str, Any] | None) -> None:
        self.outputs.append({"output_type": "display_data", "data": _jsonable(data), "metadata": _jsonable(metadata or {})})

    def result(self, data: dict[str, Any], metadata: dict[str, Any] | None, count: int) -> None:
        self.outputs.append({"output_type": "execute_result", "data": _jsonable(data),
                             "metadata": _jsonable(metadata or {}), "execution_count": count})

    def error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        self.outputs.append({"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback})


class _StreamProxy(io.TextIOBase):
    def __init__(self, recorder: _Recorder, name: str) -> None:
        self._recorder = recorder
        self._name = name

    def write(self, text: str) -> int:  # type: ignore[override]
        self._recorder.write(self._name, text)
        return len(text)

    def writable(self) -> bool:
        return True


def _jsonable(value: Any) -> Any:
    """Display data as a kernel sends it: JSON (bytes never occur in our outputs)."""
    import json

    return json.loads(json.dumps(value, default=str))


_SHELL: Any = None
_BASELINE: dict[str, Any] = {}
_CURRENT: dict[str, Any] = {"recorder": None, "source": ""}


def _shell() -> Any:
    """One InteractiveShell per process whose display goes to the current cell's recorder."""
    global _SHELL
    if _SHELL is not None:
        return _SHELL
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    class RecordingPublisher(DisplayPublisher):
        def publish(self, data: dict[str, Any], metadata: dict[str, Any] | None = None, source: Any = None, *,
                    transient: Any = None, update: bool = False, **kw: Any) -> None:
            recorder = _CURRENT["recorder"]
            if recorder is not None:
                recorder.display(data, metadata)

        def clear_output(self, wait: bool = False) -> None:
            recorder = _CURRENT["recorder"]
            if recorder is not None:
                recorder.outputs.clear()

    class RecordingDisplayHook(DisplayHook):
        def write_output_prompt(self) -> None:
            pass

        def write_format_data(self, format_dict: dict[str, Any], md_dict: dict[str, Any] | None = None) -> None:
            recorder = _CURRENT["recorder"]
            if recorder is not None:
                recorder.result(format_dict, md_dict, self.shell.execution_count)

        def finish_displayhook(self) -> None:
            pass

        def update_user_ns(self, result: Any) -> None:  # no Out[] history: one run, thrown away
            pass

        def quiet(self) -> bool:  # a trailing `;` silences the cell's value, as in a kernel
            return self.semicolon_at_end_of_expression(_CURRENT.get("source") or "")

    class RecordingShell(InteractiveShell):
        def _showtraceback(self, etype: Any, evalue: Any, stb: list[str]) -> None:
            recorder = _CURRENT["recorder"]
            if recorder is not None:
                recorder.error(getattr(etype, "__name__", str(etype)), str(evalue), list(stb))

        def init_history(self) -> None:
            from IPython.core.history import HistoryManager

            self.history_manager = HistoryManager(shell=self, parent=self, hist_file=":memory:")
            self.configurables.append(self.history_manager)

    import types

    # A module of its own: the cells never see (or clear) the worker's __main__.
    shell = RecordingShell.instance(colors="nocolor", user_module=types.ModuleType("__sfdoctor_notebook__"))
    shell.display_pub = RecordingPublisher(shell=shell, parent=shell)
    shell.displayhook = RecordingDisplayHook(shell=shell, parent=shell)
    from IPython.core.display_trap import DisplayTrap

    shell.display_trap = DisplayTrap(hook=shell.displayhook)
    _BASELINE.update(shell.user_ns)
    _SHELL = shell
    return shell


def _fresh_namespace(shell: Any) -> None:
    """The namespace a new kernel starts with (IPython's `reset` would also run a full garbage
    collection, ~0.1 s, twice per notebook)."""
    shell.user_ns.clear()
    shell.user_ns.update(_BASELINE)


def warm_up() -> None:
    """Create the shell once (IPython's machinery, ~0.2 s) before the first notebook."""
    _shell()


@contextlib.contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    """Raise CellTimeout in the running cell after `seconds`; main thread only (else no limit
    here: the fleet process still bounds the task from outside)."""
    usable = bool(seconds) and threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if not usable:
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise CellTimeout(f"no answer within {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))  # type: ignore[arg-type]
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _stamp() -> str:
    return datetime.now(timezone.utc).isoformat()


def execute(nb: nbformat.NotebookNode, *, timeout: float | None = None) -> tuple[nbformat.NotebookNode, Failure | None]:
    """Run `nb`'s code cells in order in a fresh namespace; fill their outputs in place.

    Returns the notebook and, when a cell raised or the time ran out, the Failure
    (execution stops there, as papermill's does). Cells tagged `skip-execution` keep no
    outputs. The caller holds EXECUTION_LOCK.
    """
    shell = _shell()
    _fresh_namespace(shell)
    shell.execution_count = 1
    reason: Failure | None = None
    started = time.monotonic()
    nb.metadata.setdefault("papermill", {})["start_time"] = _stamp()
    with _alarm(timeout):
        for cell in nb.cells:
            t0 = time.monotonic()
            cell.metadata.setdefault("papermill", {}).update({"start_time": _stamp(), "exception": False})
            if cell.cell_type != "code":
                cell.metadata["papermill"].update({"status": "completed", "end_time": _stamp(), "duration": 0.0})
                continue
            cell.outputs = []
            skip = SKIP_TAG in cell.metadata.get("tags", [])
            if reason is not None or skip or not cell.source.strip():
                cell.execution_count = None
                cell.metadata["papermill"]["status"] = "pending" if reason is not None else "completed"
                continue
            recorder = _Recorder()
            _CURRENT["recorder"] = recorder
            _CURRENT["source"] = cell.source
            count = shell.execution_count
            try:
                with contextlib.redirect_stdout(recorder.stream("stdout")), \
                        contextlib.redirect_stderr(recorder.stream("stderr")):
                    result = shell.run_cell(cell.source, store_history=False, silent=False)
            except CellTimeout as exc:  # raised between statements, outside run_cell's own guard
                result = None
                recorder.error("CellTimeout", str(exc), [f"CellTimeout: {exc}"])
                reason = Failure(count, "CellTimeout", str(exc), timeout=True)
            finally:
                _CURRENT["recorder"] = None
            cell.execution_count = count
            shell.execution_count = count + 1
            cell.outputs = [nbformat.from_dict(o) for o in recorder.outputs]
            failed = result is not None and not result.success
            if failed:
                exc = result.error_in_exec or result.error_before_exec
                reason = Failure(count, type(exc).__name__, " ".join(str(exc).split())[:200],
                                 timeout=isinstance(exc, CellTimeout))
            cell.metadata["papermill"].update({
                "status": "failed" if (failed or result is None) else "completed",
                "exception": bool(failed or result is None),
                "end_time": _stamp(), "duration": round(time.monotonic() - t0, 6),
            })
    nb.metadata["papermill"].update({"end_time": _stamp(), "duration": round(time.monotonic() - started, 6),
                                     "exception": reason is not None})
    _fresh_namespace(shell)  # drop the run's objects (connections, facts)
    return nb, reason


_SOURCES: dict[tuple[str, int], str] = {}


def prepare(path: str, params: dict[str, Any]) -> nbformat.NotebookNode:
    """The notebook as papermill hands it to a kernel: read (once per file version), its
    parameters injected and its papermill metadata set, by papermill's own functions."""
    import json
    import os

    from papermill.execute import prepare_notebook_metadata, remove_error_markers
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    key = (str(path), os.stat(path).st_mtime_ns)
    source = _SOURCES.get(key)
    if source is None:
        source = _SOURCES[key] = json.dumps(load_notebook_node(str(path)))
    nb = nbformat.from_dict(json.loads(source))
    if params:
        nb = parameterize_notebook(nb, dict(params), False, kernel_name="python3", language="python")
    nb = prepare_notebook_metadata(nb, str(path), None, False)
    return remove_error_markers(nb)

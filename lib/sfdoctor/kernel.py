"""The notebook kernel under every sfdoctor run: started early, quiet, and stopped cleanly.

`sfdoctor run` executes a runbook notebook with papermill on a `python3` kernel. Three
things about that kernel are ours, and they are all here:

* `EarlyKernel`: the kernel boots while papermill is still being imported, and is handed to
  nbclient, which then owns it and stops it as its own.
* `quiet_kernel_manager`: jupyter_client's AsyncKernelManager, with the kernel's stderr
  dropped, Unix sockets in a private folder (parallel runs never race for TCP ports), the
  kernel's own environment, and the shutdown request on the shell channel.
* `prewarm`: the kernel imports what every runbook's first cell imports while papermill
  connects to it; the first cell waits for those imports.
* `execute_notebook`: papermill with an engine that keeps the executed notebook in memory
  (never an unscrubbed copy on disk, and a partial notebook after a failure).

This leans on library internals that no public API offers. Each is checked, by name and
signature, against the installed versions in tests/test_kernel_internals.py, so that a new
release that moves one fails that test, not a run; pyproject.toml bounds the four packages to
the series checked, and requirements/lock.txt pins the exact versions the suite passed with:

* papermill 2.6-2.7: `papermill_engines._engines` (the registry has no "is registered"), and
  a copy of `NBClientEngine.execute_managed_notebook` with one step added; that copy uses
  `papermill.clientwrap.PapermillNotebookClient`, `papermill.utils.merge_kwargs` and
  `remove_args`, `papermill.log.logger`; `papermill.execute_notebook` passes unknown keyword
  arguments on to the engine.
* nbclient 0.10-0.11: a kernel manager set on `NotebookClient.km` after construction is still
  owned (started only if it has no kernel, stopped at the end); `ipython_hist_file`'s default,
  which `_KERNEL_ARGUMENTS` repeats for the early kernel.
* jupyter_client 8.x: `AsyncKernelManager._async_request_shutdown` (replaced by a copy that
  sends on the shell channel), `_async_launch_kernel` and its alias `_launch_kernel`,
  `request_shutdown`, `_ip_default`, and `jupyter_client.manager._ShutdownStatus`.
* ipykernel 6.29-7.x: `shutdown_request` is a shell-channel handler too, and
  `IPKernelApp.exec_lines` runs `PREWARM_EXEC_LINE` once IPython is up.

This module imports none of them at import time: a runbook's kernel imports it for `prewarm`.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import tempfile
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

if TYPE_CHECKING:
    import nbformat

KERNEL = "python3"

# --------------------------------------------------------------------------------------
# Import head start, run inside the kernel
# --------------------------------------------------------------------------------------
# Import the client stack while a fresh kernel waits for papermill's first cell.
#
# Between the end of a kernel's start-up and its first cell, papermill and nbclient exchange
# kernel_info and open channels: about 0.2 s in which the kernel is idle. A kernel started by
# the runner spends that time importing what every runbook's first code cell imports
# (simple-salesforce alone costs about 0.2 s, zeep and PyJWT included), named in the kernel's
# `SFDOCTOR_PREWARM` variable.
#
# The first cell waits for the imports to finish (an IPython `pre_run_cell` hook), so no cell
# ever imports at the same time as this thread: concurrent imports of modules that import
# each other can hand one thread a half-initialised module. A failed import is left for the
# cell to raise, with its own traceback, where the run reports it.
PREWARM_ENV = "SFDOCTOR_PREWARM"
# The kernel option that calls prewarm() once IPython is up (names nothing in the user namespace).
PREWARM_EXEC_LINE = "__import__('sfdoctor.kernel', fromlist=['prewarm']).prewarm()"


def _import_all(names: list[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # the cell that needs it raises it again, in the report
            pass


def prewarm() -> threading.Thread | None:
    """Begin the imports in a thread and make the next cell wait for them."""
    names = [n.strip() for n in os.environ.get(PREWARM_ENV, "").split(",") if n.strip()]
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


# --------------------------------------------------------------------------------------
# Kernel manager, early kernel, papermill engine
# --------------------------------------------------------------------------------------
@contextlib.contextmanager
def _quiet_loggers() -> Iterator[None]:
    """papermill and nbclient log timeouts with their own words; we report them in ours."""
    import logging

    saved = []
    for name in ("papermill", "nbclient", "traitlets"):
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.setLevel(logging.CRITICAL + 1)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, level, propagate in saved:
            logger.setLevel(level)
            logger.propagate = propagate


_KERNEL_MANAGER: type | None = None


def quiet_kernel_manager() -> type:
    """An AsyncKernelManager for runbook kernels: quiet, on private Unix sockets, and asking the
    kernel to stop on its shell channel.

    * The kernel's own chatter (ZMQ warnings, tracebacks when a timed-out kernel is stopped)
      goes to nowhere instead of our stderr, which people read and which must hold one-line
      messages only; a traceback could echo a secret. What a cell prints is still captured in
      the notebook, as always.
    * The shutdown request goes on the shell channel, not the control channel. On the control
      channel, ipykernel (6.x and 7.x alike) handles it in its control thread, which after the
      handler flushes stdout through the IOPub thread while the main thread, already told to
      stop, closes that IOPub thread and then joins the control thread. When the close wins
      the race, the flush waits its full 10 s timeout and jupyter_client terminates the kernel
      after 2.5 s: about one shutdown in twenty-five here (bench/kernel_shutdown.py shows both).
      On the shell channel the request is handled on the main thread, so the flush is done
      before anything is closed. ipykernel accepts shutdown_request on either channel.
      Everything else about stopping (interrupt first, then SIGTERM and SIGKILL if the kernel
      does not go) stays jupyter_client's own.
    """
    global _KERNEL_MANAGER
    if _KERNEL_MANAGER is not None:
        return _KERNEL_MANAGER
    import subprocess

    from jupyter_client import AsyncKernelManager
    from jupyter_client.manager import _ShutdownStatus
    from traitlets import default

    class QuietKernelManager(AsyncKernelManager):
        sfdoctor_env: dict[str, str] = {}  # see kernel_manager_class
        sfdoctor_ipc_dir: str | None = None  # see kernel_manager_class

        # Unix sockets in a folder of this run's own, not TCP: jupyter_client picks "free"
        # TCP ports by binding and releasing them, so kernels started at once by parallel runs
        # (cron, audits of many orgs, our own tests) can race for a port and die before
        # kernel_info. The default ipc prefix ("kernel-ipc" in the working directory) would
        # make parallel runs collide on socket files instead, hence the private folder.
        @default("transport")
        def _sfdoctor_transport(self) -> str:
            return "ipc" if self.sfdoctor_ipc_dir else "tcp"

        @default("ip")
        def _sfdoctor_ip(self) -> str:
            if self.sfdoctor_ipc_dir:
                return os.path.join(self.sfdoctor_ipc_dir, "kernel")
            return super()._ip_default()

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            kw.setdefault("stderr", subprocess.DEVNULL)
            if self.sfdoctor_env:
                kw["env"] = {**(kw.get("env") or os.environ), **self.sfdoctor_env}
            if self.sfdoctor_env.get(PREWARM_ENV):  # see prewarm
                kernel_cmd = [*kernel_cmd, f"--IPKernelApp.exec_lines={PREWARM_EXEC_LINE}"]
            await super()._async_launch_kernel(kernel_cmd, **kw)

        _launch_kernel = _async_launch_kernel

        async def _async_request_shutdown(self, restart: bool = False) -> None:
            # jupyter_client's request, sent on the shell channel (see the class docstring).
            msg = self.session.msg("shutdown_request", content={"restart": restart})
            shell = self.connect_shell()
            try:
                self.session.send(shell, msg)
            finally:
                shell.close(linger=1000)  # zmq delivers it after close
            assert self.provisioner is not None
            await self.provisioner.shutdown_requested(restart=restart)
            self._shutdown_status = _ShutdownStatus.ShutdownRequest

        request_shutdown = _async_request_shutdown

    _KERNEL_MANAGER = QuietKernelManager
    return QuietKernelManager


def kernel_manager_class(env: Mapping[str, str] | None, ipc_dir: str | None = None) -> type:
    """The quiet kernel manager, giving the kernel (and only the kernel) `env` on top of ours,
    and with `ipc_dir`, Unix-socket transport in that folder.

    papermill has no per-run environment; setting os.environ around a run would show the
    values to every thread of this process and forbid parallel runs in threads.
    """
    base = quiet_kernel_manager()
    if not env and not ipc_dir:
        return base
    return type("SfdoctorKernelManager", (base,), {"sfdoctor_env": dict(env or {}), "sfdoctor_ipc_dir": ipc_dir})


def _ipc_dir() -> str | None:
    # A short path: Unix socket paths are limited to ~107 bytes.
    if os.name != "posix":
        return None
    return tempfile.mkdtemp(prefix="sfd-k-", dir="/tmp" if os.path.isdir("/tmp") else None)


# What nbclient passes to every kernel it starts (its `ipython_hist_file` default).
_KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]


class EarlyKernel:
    """A runbook's kernel, started before papermill is imported and the notebook is read.

    The kernel takes ~0.7 s to boot in its own process, and a cold `sfdoctor run` spends
    ~0.4 s meanwhile importing papermill and nbclient: started first, the two overlap.
    `execute_notebook(kernel=...)` hands it to nbclient, which then owns it as if it had
    started it and stops it the same way; `close` stops it if papermill never got that far.
    """

    def __init__(self, env: Mapping[str, str] | None) -> None:
        from jupyter_core.utils import run_sync

        self.ipc_dir = _ipc_dir()
        self.km = kernel_manager_class(env, self.ipc_dir)(kernel_name=KERNEL)
        try:
            run_sync(self.km.start_kernel)(extra_arguments=list(_KERNEL_ARGUMENTS))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        from jupyter_core.utils import run_sync

        with contextlib.suppress(Exception):
            if self.km.has_kernel and not self.km.shutting_down:
                # papermill never used it: no client ever connected, so a shutdown request
                # could be lost while it still boots; stop it outright.
                run_sync(self.km.shutdown_kernel)(now=True)
        if self.ipc_dir:
            shutil.rmtree(self.ipc_dir, ignore_errors=True)


ENGINE = "sfdoctor-in-memory"
_ENGINE_LOCK = threading.Lock()


def register_engine() -> str:
    """papermill's nbclient engine, minus the notebook file written twice per cell.

    papermill saves the output notebook at every cell's start and end (46 serialisations for
    security-token-required, markdown cells included) so that a crash leaves a partial file.
    We keep the executed notebook in memory instead: the engine hands the very notebook object
    nbclient fills to the caller's list, so a timeout or a dead kernel still gives us every
    output produced so far, and no unscrubbed copy ever touches the disk.
    """
    from papermill.engines import NBClientEngine, papermill_engines

    with _ENGINE_LOCK:
        if ENGINE not in papermill_engines._engines:

            class InMemoryEngine(NBClientEngine):
                @classmethod
                def execute_notebook(cls, nb: Any, kernel_name: str, *, sfdoctor_keep: list | None = None, **kw: Any) -> Any:
                    if sfdoctor_keep is not None:
                        sfdoctor_keep.append(nb)
                    kw["output_path"] = None  # papermill passes None already: we never write
                    return super().execute_notebook(nb, kernel_name, **kw)

                @classmethod
                def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                             stdout_file: Any = None, stderr_file: Any = None, start_timeout: float = 60,
                                             execution_timeout: float | None = None, sfdoctor_km: Any = None,
                                             **kwargs: Any) -> Any:
                    # NBClientEngine's own steps, plus one: a kernel already started (EarlyKernel)
                    # is handed to the client after it is built, so that nbclient still owns it
                    # and stops its channels and the kernel exactly as it does for its own.
                    from papermill.clientwrap import PapermillNotebookClient
                    from papermill.log import logger
                    from papermill.utils import merge_kwargs, remove_args

                    kwargs = remove_args(["input_path"], **kwargs)
                    safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
                    final_kwargs = merge_kwargs(
                        safe_kwargs, timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                        startup_timeout=start_timeout, kernel_name=kernel_name, log=logger, log_output=log_output,
                        stdout_file=stdout_file, stderr_file=stderr_file)
                    client = PapermillNotebookClient(nb_man, **final_kwargs)
                    if sfdoctor_km is not None:
                        client.km = sfdoctor_km
                    return client.execute()

            papermill_engines.register(ENGINE, InMemoryEngine)
    return ENGINE


def execute_notebook(
    src: str | os.PathLike[str],
    params: Mapping[str, Any] | None,
    *,
    cell_timeout: float | None = None,
    start_timeout: float = 60,
    timeout_func: Callable[[Any], float] | None = None,
    on_cell_start: Callable[..., Any] | None = None,
    env: Mapping[str, str] | None = None,
    kernel: EarlyKernel | None = None,
) -> tuple[nbformat.NotebookNode | None, BaseException | None]:
    """Execute a notebook the way every sfdoctor run does: papermill, `python3` kernel, quiet.

    Returns the executed notebook (partial after a failure; None if papermill never got as
    far as reading it) and the exception that stopped it, if any. The benchmark's papermill
    floor runs through here too, so both figures pay the same per-run costs.

    The call returns once the kernel's process is gone, as papermill's does (see
    quiet_kernel_manager for how it is asked to stop). With `kernel`, that already started
    kernel runs the notebook (its own env applies, not `env`), and is closed here.
    """
    import papermill

    engine = register_engine()
    keep: list[nbformat.NotebookNode] = []
    kw: dict[str, Any] = {}
    if timeout_func is not None:
        kw["timeout_func"] = timeout_func
    if on_cell_start is not None:
        kw["on_cell_start"] = on_cell_start
    error: BaseException | None = None
    nb = None
    ipc_dir = None
    if kernel is not None:
        kw["sfdoctor_km"] = kernel.km
    else:
        ipc_dir = _ipc_dir()
        kw["kernel_manager_class"] = kernel_manager_class(env, ipc_dir)
    with _quiet_loggers():
        try:
            nb = papermill.execute_notebook(
                str(src),
                None,  # kept in memory (see register_engine)
                parameters=dict(params or {}),
                engine_name=engine,
                kernel_name=KERNEL,
                execution_timeout=cell_timeout,
                progress_bar=False,
                log_output=False,
                start_timeout=start_timeout,
                sfdoctor_keep=keep,
                **kw,
            )
        except Exception as exc:  # the caller decides; every failure still becomes a report
            error = exc
        finally:
            if kernel is not None:
                kernel.close()
            if ipc_dir:
                shutil.rmtree(ipc_dir, ignore_errors=True)
    if nb is None and keep:
        nb = keep[0]
    return nb, error

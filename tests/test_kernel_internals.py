"""The library internals `sfdoctor.kernel` leans on, checked in the installed versions.

Each test names one internal (see the module docstring of sfdoctor/kernel.py). When a new
release of papermill, nbclient, jupyter_client or ipykernel moves or changes one, the test
that fails says which, instead of a run failing somewhere in a kernel's start or stop.
The two methods sfdoctor copies are held to the digest of the source they were copied from:
a changed upstream method must be read and the copy brought in step before the digest here
is updated.
"""
from __future__ import annotations

import hashlib
import inspect
from importlib.metadata import version
from pathlib import Path

import nbformat
import pytest

from sfdoctor import kernel

# sha256 of `inspect.getsource(...)` of the upstream methods kernel.py copies, per release read.
COPIED_FROM = {
    "papermill NBClientEngine.execute_managed_notebook": {"5db3562c458aeaaa"},
    "jupyter_client KernelManager._async_request_shutdown": {"bd05a81651b6f088"},
}


def _digest(function: object) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)


def _var_keyword(function: object) -> bool:
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(function).parameters.values())


# ------------------------------------------------------------------ papermill
def test_papermill_engine_registry_is_a_dict_of_names():
    from papermill.engines import papermill_engines

    assert isinstance(papermill_engines._engines, dict), "papermill_engines._engines is gone"
    assert _parameters(papermill_engines.register) == ["name", "engine"]


def test_papermill_passes_unknown_keywords_to_the_engine():
    import papermill
    from papermill.engines import NBClientEngine

    assert "engine_name" in _parameters(papermill.execute_notebook) and _var_keyword(papermill.execute_notebook)
    assert _parameters(NBClientEngine.execute_notebook)[:2] == ["nb", "kernel_name"]
    assert _var_keyword(NBClientEngine.execute_notebook)


def test_papermill_managed_execution_is_the_method_kernel_py_copies():
    from papermill.engines import NBClientEngine

    method = NBClientEngine.execute_managed_notebook
    assert _parameters(method) == ["nb_man", "kernel_name", "log_output", "stdout_file", "stderr_file",
                                   "start_timeout", "execution_timeout", "kwargs"]
    assert _digest(method) in COPIED_FROM["papermill NBClientEngine.execute_managed_notebook"], (
        f"papermill {version('papermill')} changed NBClientEngine.execute_managed_notebook: "
        "bring kernel.register_engine's copy in step, then record the new digest here")


def test_the_copy_uses_papermill_helpers_that_exist():
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    assert callable(merge_kwargs) and callable(remove_args) and logger is not None
    assert _parameters(PapermillNotebookClient.__init__)[:2] == ["self", "nb_man"]


def test_the_engine_registers_once_under_its_name():
    from papermill.engines import papermill_engines

    assert kernel.register_engine() == kernel.ENGINE == kernel.register_engine()
    assert papermill_engines.get_engine(kernel.ENGINE).__name__ == "InMemoryEngine"


# ------------------------------------------------------------------ nbclient
def test_nbclient_owns_a_kernel_manager_set_after_construction():
    from nbclient import NotebookClient

    client = NotebookClient(nbformat.v4.new_notebook())
    assert client.km is None and client.owns_km is True  # stays True when km is set afterwards
    setup = inspect.getsource(NotebookClient.async_setup_kernel)
    assert "if not self.km.has_kernel" in setup, "nbclient no longer skips starting a kernel the manager has"


def test_nbclient_hooks_and_history_default():
    from nbclient import NotebookClient

    traits = NotebookClient.class_traits()
    assert {"on_cell_start", "timeout_func", "kernel_manager_class"} <= set(traits)
    assert kernel._KERNEL_ARGUMENTS == [f"--HistoryManager.hist_file={NotebookClient.ipython_hist_file.default_value}"]


def test_nbclient_exceptions_the_runner_tells_apart():
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    assert issubclass(CellTimeoutError, Exception) and issubclass(DeadKernelError, Exception)
    assert {"exec_count", "ename", "evalue"} <= set(_parameters(PapermillExecutionError.__init__))


# ------------------------------------------------------------------ jupyter_client
def test_jupyter_client_shutdown_request_is_the_method_kernel_py_replaces():
    from jupyter_client import AsyncKernelManager

    method = AsyncKernelManager._async_request_shutdown
    assert _parameters(method) == ["self", "restart"]
    assert AsyncKernelManager.request_shutdown is method
    assert _digest(method) in COPIED_FROM["jupyter_client KernelManager._async_request_shutdown"], (
        f"jupyter_client {version('jupyter_client')} changed _async_request_shutdown: bring "
        "kernel.quiet_kernel_manager's copy in step, then record the new digest here")


def test_jupyter_client_shutdown_status_and_launch_hooks():
    from jupyter_client import AsyncKernelManager
    from jupyter_client.manager import _ShutdownStatus
    from jupyter_client.provisioning import KernelProvisionerBase

    assert _ShutdownStatus.ShutdownRequest.value == "ShutdownRequest"
    assert _parameters(AsyncKernelManager._async_launch_kernel) == ["self", "kernel_cmd", "kw"]
    assert AsyncKernelManager._launch_kernel is AsyncKernelManager._async_launch_kernel
    assert _parameters(AsyncKernelManager._ip_default) == ["self"]
    assert {"transport", "ip"} <= set(AsyncKernelManager.class_traits())
    assert callable(AsyncKernelManager.connect_shell)
    assert _parameters(KernelProvisionerBase.shutdown_requested) == ["self", "restart"]


def test_sfdoctor_overrides_take_the_place_of_jupyter_clients():
    from jupyter_client import AsyncKernelManager

    manager = kernel.quiet_kernel_manager()
    assert manager._async_request_shutdown is not AsyncKernelManager._async_request_shutdown
    assert manager.request_shutdown is manager._async_request_shutdown
    assert manager._launch_kernel is manager._async_launch_kernel


# ------------------------------------------------------------------ ipykernel
def test_ipykernel_takes_shutdown_on_the_shell_channel_and_exec_lines():
    from ipykernel.kernelapp import IPKernelApp
    from ipykernel.kernelbase import Kernel

    assert "shutdown_request" in Kernel.msg_types, "ipykernel no longer handles shutdown_request on the shell channel"
    assert "exec_lines" in IPKernelApp.class_traits()


# ------------------------------------------------------------------ the bounds
@pytest.mark.parametrize("package", ["papermill", "nbclient", "jupyter-client", "ipykernel"])
def test_each_package_is_bounded_to_the_series_checked_here(package):
    """pyproject.toml gives each an upper bound (a new series is read before it is allowed),
    the installed version is inside it, and kernel.py's docstring names the package."""
    import tomllib

    from packaging.requirements import Requirement

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    reqs = {Requirement(r).name.lower().replace("_", "-"): Requirement(r) for r in pyproject["project"]["dependencies"]}
    req = reqs[package]
    assert any(spec.operator == "<" for spec in req.specifier), f"{package}: no upper bound in pyproject.toml"
    assert req.specifier.contains(version(package)), f"{package} {version(package)} is outside {req.specifier}"
    assert f"* {package.replace('-', '_')} " in kernel.__doc__

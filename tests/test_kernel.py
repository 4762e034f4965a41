"""The kernel under every run: private sockets, the import head start, the early kernel, and a
kernel that stops by itself (shutdown request on the shell channel), on real kernels."""
from __future__ import annotations

import multiprocessing
from pathlib import Path

import nbformat
import pytest


def _kernel_worker(path: str) -> tuple[bool, str, list[str]]:
    from sfdoctor.kernel import execute_notebook

    nb, error = execute_notebook(path, {"x": 1})
    texts = [o.get("text", "") for c in (nb.cells if nb else []) for o in c.get("outputs", [])]
    return error is None, repr(error), texts


def test_parallel_runs_start_their_kernels_without_racing(tmp_path):
    """Kernels started at the same moment by separate processes (cron, many-org audits) must not
    collide: each run talks to its kernel over Unix sockets in a folder of its own, not over TCP
    ports that another process may grab between "pick a free port" and the kernel binding it."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("import os\nprint(os.getpid() > 0, x)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        results = pool.map(_kernel_worker, [str(path)] * 6)
    assert all(ok for ok, _, _ in results), [err for ok, err, _ in results if not ok]
    assert all(any("True 1" in t for t in texts) for _, _, texts in results)


def test_kernel_manager_uses_private_unix_sockets(tmp_path):
    from sfdoctor.kernel import kernel_manager_class

    km = kernel_manager_class({"A": "1"}, str(tmp_path))(kernel_name="python3")
    assert (km.transport, km.ip) == ("ipc", str(tmp_path / "kernel"))


def _tiny_notebook(tmp_path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(s) for s in sources)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


def _texts(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def test_kernel_imports_ahead_and_the_first_cell_waits_for_them(tmp_path):
    """A runner kernel imports SFDOCTOR_PREWARM's modules while papermill connects; the first
    cell only starts once they are in (no import ever races a cell's), and a module that
    fails to import is left for the cell that needs it."""
    from sfdoctor.kernel import PREWARM_ENV
    from sfdoctor.kernel import execute_notebook

    path = _tiny_notebook(tmp_path, "import sys\nprint('simple_salesforce.api' in sys.modules, 'no_such_mod' in sys.modules)",
                          "import threading\nprint([t.name for t in threading.enumerate() if t.name == 'sfdoctor-prewarm'])")
    nb, error = execute_notebook(path, {"x": 1}, env={PREWARM_ENV: "no_such_mod,simple_salesforce"})
    assert error is None, error
    assert "True False" in _texts(nb) and "[]" in _texts(nb)

    nb, error = execute_notebook(path, {"x": 1})  # without the variable, nothing is imported ahead
    assert error is None and "False False" in _texts(nb)


# A kernel that stops by itself exits with 0; jupyter_client terminates one still there after
# half of `shutdown_wait_time` (-15), then kills it (-9). The kernel tests give it a minute, so
# that a slow exit on a loaded machine is never mistaken for a stuck one: only "stopped by
# itself" passes, whatever the load.
PATIENT = 120.0


def _early_kernel(env=None):
    from sfdoctor.kernel import EarlyKernel

    kernel = EarlyKernel(env or {})
    kernel.km.shutdown_wait_time = PATIENT
    return kernel, kernel.km.provisioner.process


def test_the_shutdown_request_goes_on_the_shell_channel_and_the_kernel_stops_by_itself(tmp_path):
    """ipykernel handles a control-channel shutdown_request in its control thread, whose final
    flush can wait 10 s on an IOPub thread already closed (then SIGTERM): on the shell channel
    it is handled on the main thread. bench/kernel_shutdown.py measures both over many cycles."""
    import os

    from sfdoctor.kernel import execute_notebook

    path = _tiny_notebook(tmp_path, "import os\nprint('PID', os.getpid())")
    kernel, process = _early_kernel()
    km = kernel.km
    shell_sockets, sent = [], []
    connect_shell, send = km.connect_shell, km.session.send

    def recording_connect_shell(*a, **kw):
        sock = connect_shell(*a, **kw)
        shell_sockets.append(sock)
        return sock

    def recording_send(stream, msg_or_type, *a, **kw):
        kind = msg_or_type["header"]["msg_type"] if isinstance(msg_or_type, dict) else msg_or_type
        sent.append((kind, stream))
        return send(stream, msg_or_type, *a, **kw)

    km.connect_shell, km.session.send = recording_connect_shell, recording_send
    nb, error = execute_notebook(path, {"x": 1}, kernel=kernel)
    assert error is None
    assert f"PID {process.pid}" in _texts(nb)
    shutdowns = [stream for kind, stream in sent if kind == "shutdown_request"]
    assert len(shutdowns) == 1 and shutdowns[0] in shell_sockets
    assert process.returncode == 0  # stopped by itself: neither terminated nor killed
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)


def test_a_kernel_stopped_by_a_cell_timeout_exits_on_its_own(tmp_path):
    """A kernel still inside a cell when asked to shut down is interrupted first (jupyter_client),
    and then handles the queued request and stops cleanly instead of waiting to be terminated."""
    from nbclient.exceptions import CellTimeoutError

    from sfdoctor.kernel import execute_notebook

    path = _tiny_notebook(tmp_path, "import time\ntime.sleep(600)")
    kernel, process = _early_kernel()
    nb, error = execute_notebook(path, {"x": 1}, cell_timeout=2, kernel=kernel)
    assert isinstance(error, CellTimeoutError)
    assert process.returncode == 0


def test_an_early_kernel_runs_the_notebook_and_is_stopped(tmp_path):
    """A kernel started before papermill runs the notebook with its own environment, and
    nbclient stops it as its own; one papermill never reached is stopped by close()."""
    import os

    from sfdoctor.kernel import execute_notebook

    path = _tiny_notebook(tmp_path, "import os\nprint('PID', os.getpid(), os.environ.get('SFD_EARLY'), x)")
    kernel, process = _early_kernel({"SFD_EARLY": "yes"})
    nb, error = execute_notebook(path, {"x": 7}, kernel=kernel)
    assert error is None
    assert f"PID {process.pid} yes 7" in _texts(nb)
    assert process.returncode == 0 and not os.path.exists(kernel.ipc_dir)

    kernel, process = _early_kernel()
    nb, error = execute_notebook(tmp_path / "missing.ipynb", {"x": 1}, kernel=kernel)
    assert error is not None and nb is None
    assert process.poll() is not None and not os.path.exists(kernel.ipc_dir)

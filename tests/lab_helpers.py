"""JupyterLab as a person meets it, for the browser tests: started by `make lab`, driven by Playwright.

`serve_lab(base)` runs `make lab` itself (the project's jupyter-config/ on Jupyter's config
path, --allow-root when root) on a free loopback port with a token, every Jupyter directory and
HOME under `base` (nothing in ~ touched), serving `base/root`; one server per test module, its
process group ended afterwards. `lab_page` is a browser page for one test, with a screenshot of
how it ended and the test's kernels shut down. The rest drives the UI as a person does: open a
notebook, select a cell and press Shift+Enter, type into a cell, save through the File menu.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

REPO = Path(__file__).resolve().parents[1]
# The plugin whose pop-up asks about Jupyter's news; make lab's jupyter-config/ disables it.
NEWS_PLUGIN = "@jupyterlab/apputils-extension:announcements"


# --------------------------------------------------------------------------- the server
def write_settings(settings_dir: Path, plugins: Mapping[str, Mapping[str, Any]]) -> None:
    """JupyterLab user settings, `{"@pkg/ext:plugin": {...}}`, as the Settings Editor saves them."""
    for plugin, values in plugins.items():
        pkg, name = plugin.split(":")
        path = settings_dir / pkg / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


def _wait_for_server(proc: subprocess.Popen, runtime: Path, token: str, log: Path, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"make lab exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        for info in runtime.glob("jpserver-*.json"):
            try:
                port = json.loads(info.read_text())["port"]
                base = f"http://127.0.0.1:{port}"
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        return base
            except (OSError, ValueError, KeyError):
                pass
        time.sleep(0.1)
    raise RuntimeError(f"jupyter lab did not answer in {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


@contextmanager
def serve_lab(base: Path, settings: Mapping[str, Mapping[str, Any]] | None = None) -> Iterator[dict[str, Any]]:
    """`make lab` serving `base/root` headless; yields {url, token, root, log}. `settings`: user
    settings to start with (none: JupyterLab's defaults, as on a person's first start)."""
    root, home = base / "root", base / "home"
    root.mkdir()
    home.mkdir()
    dirs = {name: base / name for name in ("runtime", "config", "data", "settings", "workspaces", "ipython")}
    for d in dirs.values():
        d.mkdir()
    write_settings(dirs["settings"], settings or {})
    token = secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "SFDOCTOR_", "MAKE"))}
    env.update(
        HOME=str(home), SFDOCTOR_HOME=str(REPO), PYTHONPATH=str(REPO / "lib"),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]), JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]), IPYTHONDIR=str(dirs["ipython"]),
        JUPYTER_PLATFORM_DIRS="1", MPLCONFIGDIR=str(home / "mpl"),
    )
    lab_args = " ".join([
        "--no-browser", "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", "--ServerApp.terminals_enabled=False",
        # window.jupyterapp, so a test can ask which plugins JupyterLab activated
        "--LabApp.expose_app_in_browser=True",
    ])
    # STAMP= : this interpreter's environment is already set up (make lab would otherwise
    # check .venv's install first); BIN: this interpreter's jupyter.
    command = ["make", "-s", "-C", str(REPO), "lab", "STAMP=", f"BIN={Path(sys.executable).parent}",
               f"LAB_DIR={root}", f"LAB_ARGS={lab_args}"]
    log = base / "lab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = _wait_for_server(proc, dirs["runtime"], token, log)
        yield {"url": url, "token": token, "root": root, "log": log}
    finally:
        _stop(proc, dirs["runtime"])


def _stop(proc: subprocess.Popen, runtime: Path) -> None:
    """SIGTERM the server's process group (it shuts its kernels down), SIGKILL if it lingers.

    jupyter_client starts each kernel in a session of its own, so a kernel that outlived a
    killed server is found by its connection file, which lies in this test's runtime dir.
    """
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass
    for pid_dir in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (pid_dir / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if f"{runtime}/kernel-" in cmdline:
            try:
                os.kill(int(pid_dir.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def api(lab: Mapping[str, Any], method: str, path: str) -> Any:
    """A call to the server's REST API with the test's token; the decoded JSON answer (or None)."""
    request = urllib.request.Request(f"{lab['url']}{path}", method=method,
                                     headers={"Authorization": f"token {lab['token']}"})
    with urllib.request.urlopen(request, timeout=20) as r:
        body = r.read()
    return json.loads(body) if body else None


def shut_kernels_down(lab: Mapping[str, Any]) -> None:
    """End the test's kernels through the REST API (deleting a session shuts its kernel down):
    one server serves the whole module, and idle kernels would pile up."""
    for session in api(lab, "GET", "/api/sessions"):
        api(lab, "DELETE", f"/api/sessions/{session['id']}")


@contextmanager
def lab_page(browser: Any, lab: Mapping[str, Any], shot: Path) -> Iterator[Any]:
    """A fresh browser page; on leaving, a full-page screenshot to `shot` (the first thing to
    look at when a step timed out), then the page closed and the kernels shut down."""
    context = browser.new_context(viewport={"width": 1400, "height": 1300}, locale="en-US")
    p = context.new_page()
    p.set_default_timeout(30_000)
    try:
        yield p
    finally:
        try:
            p.screenshot(path=str(shot), full_page=True)
        finally:
            context.close()
            shut_kernels_down(lab)


# --------------------------------------------------------------------------- driving the UI
def open_notebook(page: Any, lab: Mapping[str, Any], name: str) -> None:
    """Open `name` (under the served root) in a workspace of its own, and wait for its kernel."""
    # A workspace of its own per notebook: the default one would reopen the other tests' tabs.
    page.goto(f"{lab['url']}/lab/workspaces/{name.split('.')[0]}/tree/{name}?token={lab['token']}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=45_000)
    # The status bar says "Python 3 (ipykernel) | Idle" only once the kernel is connected; a cell
    # run before that is silently dropped (the toolbar's indicator says idle too early).
    page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"ipykernel\) \| Idle")).wait_for(timeout=45_000)


def cell(page: Any, index: int) -> Any:
    return page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(index)


def run_cell(page: Any, index: int) -> None:
    """Select a cell (command mode) and press shift+enter, as a person does."""
    cell(page, index).locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")


def wait_form(page: Any, index: int, run_label: str) -> tuple[Any, Any]:
    """The form in cell `index` once its button labelled `run_label` shows: (form, button). A
    traceback there fails the test at once, with its text."""
    import pytest

    at = cell(page, index)
    form = at.locator(".jp-OutputArea .widget-vbox").first
    button = form.locator("button.jupyter-button", has_text=run_label)
    error = at.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                       has_text=re.compile(r"Traceback|Error:"))
    button.or_(error).first.wait_for(timeout=30_000)
    if error.count():
        pytest.fail("the form cell failed:\n" + error.first.inner_text())
    return form, button


def wait_idle(page: Any) -> None:
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=45_000)


def save(page: Any, lab: Mapping[str, Any], name: str) -> dict:
    """File > Save Notebook, wait until the tab is no longer dirty, read the file from disk."""
    path = lab["root"] / name
    before = path.stat().st_mtime_ns
    page.locator(".lm-MenuBar-itemLabel", has_text="File").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Save Notebook$")).click()
    page.wait_for_function(
        "() => !document.querySelector('.jp-mod-current.jp-mod-dirty, .lm-TabBar-tab.lm-mod-current.jp-mod-dirty')",
        timeout=20_000)
    deadline = time.monotonic() + 20
    while path.stat().st_mtime_ns == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.stat().st_mtime_ns != before, "the notebook was not written"
    return json.loads(path.read_text(encoding="utf-8"))


def replace_line(page: Any, at: Any, line: int, text: str) -> None:
    """Replace line `line` (0-based) of a cell's editor by typing, as a person edits it."""
    at.locator(".cm-content").click()
    page.keyboard.press("Control+Home")
    for _ in range(line):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Home")
    page.keyboard.press("Shift+End")
    page.keyboard.type(text)

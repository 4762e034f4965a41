"""A fleet's in-process run gives the same findings, cells and outputs as `sfdoctor run`'s kernel."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from fleet_helpers import normalized, outputs_shape
from sfdoctor.demo.runtime import release_simulator
from sfdoctor.fleet import inprocess, worker
from sfdoctor.runner import run_runbook

CASES = [
    # (not token-missing: its history has logins exactly 7 days old, at the window's edge, so
    # two runs a few seconds apart may count one login more or less, kernel or not)
    ("security-token-required", "token-stale"),
    ("security-token-required", "profile-ip-ranges"),
    ("sia-auth-failure", "sia-oauth-blocked"),
    ("marketo-sync-setup", "marketo-sync-failed"),
    ("mc-missing-oauth-token", "mc-ip-not-allowlisted"),
    ("mc-missing-oauth-token", "mc-healthy"),
]


@pytest.fixture
def orgs_file(tmp_path, monkeypatch):
    path = tmp_path / "orgs.toml"
    path.write_text("".join(f'[orgs.eq-{scenario}]\ndemo = "{scenario}"\n\n' for _, scenario in CASES), encoding="utf-8")
    monkeypatch.setenv("SFDOCTOR_ORGS", str(path))
    monkeypatch.delenv("SFDOCTOR_DEMO_URL", raising=False)
    return path


@pytest.mark.notebook
@pytest.mark.parametrize("runbook,scenario", CASES)
def test_same_findings_cells_and_outputs_as_sfdoctor_run(runbook, scenario, orgs_file, tmp_path):
    org = f"eq-{scenario}"
    release_simulator(scenario)  # a fresh world, as a new `sfdoctor run` process would start
    single = run_runbook(runbook, org, {}, tmp_path / "single", "en", progress=None)
    task = {"org": org, "entry": {"demo": scenario}, "world": None, "source": str(orgs_file),
            "runbooks": [{"runbook": runbook, "params": {}}], "lang": "en", "runbook_timeout": 60}
    result = worker.run_org(task)["results"][0]
    single_findings = json.loads((single.folder / "findings.json").read_text(encoding="utf-8"))
    fleet_checks, single_checks = normalized(result["findings"])["checks"], normalized(single_findings)["checks"]
    for a, b in zip(fleet_checks, single_checks):
        assert a == b, a["id"]
    assert normalized(result["findings"]) == normalized(single_findings)
    single_nb = nbformat.read(single.folder / "report.ipynb", as_version=4)
    fleet_nb = nbformat.reads(result["notebook"], as_version=4)
    assert outputs_shape(fleet_nb) == outputs_shape(single_nb)
    assert [c.get("execution_count") for c in fleet_nb.cells] == [c.get("execution_count") for c in single_nb.cells]
    assert "<html" in result["html"] and "report.title" not in result["html"]


def test_a_raising_cell_stops_the_notebook_and_says_where(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1\nprint('before')"), nbformat.v4.new_code_cell("1/0"),
                nbformat.v4.new_code_cell("print('never')")]
    for cell in nb.cells:
        cell.metadata["tags"] = []
    with inprocess.EXECUTION_LOCK:
        done, failure = inprocess.execute(nb, timeout=10)
    assert done.cells[0].outputs[0]["text"] == "before\n"
    assert failure is not None and failure.ename == "ZeroDivisionError" and failure.cell == 2
    assert done.cells[1].outputs[0]["output_type"] == "error"
    assert done.cells[2].outputs == [] and done.cells[2].execution_count is None


def test_a_cell_past_its_time_is_stopped():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import time\nwhile True: time.sleep(0.05)")]
    nb.cells[0].metadata["tags"] = []
    with inprocess.EXECUTION_LOCK:
        _, failure = inprocess.execute(nb, timeout=0.5)
    assert failure is not None and failure.timeout


def test_each_notebook_starts_in_a_fresh_namespace():
    first = nbformat.v4.new_notebook()
    first.cells = [nbformat.v4.new_code_cell("leftover = 42")]
    second = nbformat.v4.new_notebook()
    second.cells = [nbformat.v4.new_code_cell("print('leftover' in globals())")]
    for nb in (first, second):
        nb.cells[0].metadata["tags"] = []
    with inprocess.EXECUTION_LOCK:
        inprocess.execute(first)
        done, _ = inprocess.execute(second)
    assert done.cells[0].outputs[0]["text"] == "False\n"

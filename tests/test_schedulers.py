"""The notebooks run unchanged under the schedulers people already use (spec/cli.md).

No sfdoctor in the loop here, only the notebook and a kernel:
- plain papermill, as any scheduler's papermill operator calls it
  (`papermill.execute_notebook(nb, out, parameters={"org": ...})`, i.e. `-p org demo:...`);
- plain nbclient with the parameters injected as code, as JupyterLab's scheduler extension
  (jupyter-scheduler) does it: a code cell tagged `injected-parameters` holding
  `org = "demo:token-missing"`, inserted right after the cell tagged `parameters`.

Each test reads what the notebook itself published: one display output per check in
`sfdoctor.findings.MIMETYPE` and the run's summary in `RUN_MIMETYPE` (from run.finish()).
The security-token-required notebook must find TOKEN_MISSING in the token-missing world;
every other runbook notebook present is run on its default demo world and must publish a
consistent, finished run (its own causes are pinned by that runbook's tests).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from sfdoctor.findings import MIMETYPE, RUN_MIMETYPE

pytestmark = pytest.mark.notebook

REPO = Path(__file__).resolve().parents[1]
# The runbooks' notebooks (start-here.ipynb runs a runbook rather than being one: test_start_here.py).
NOTEBOOKS = sorted(p for p in (REPO / "notebooks").glob("*.ipynb") if (REPO / "runbooks" / f"{p.stem}.yml").exists())
TOKEN = REPO / "notebooks" / "security-token-required.ipynb"


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    # The kernel starts its own simulator for a demo org, as it would under any scheduler.
    monkeypatch.delenv("SFDOCTOR_DEMO_URL", raising=False)
    monkeypatch.delenv("SFDOCTOR_HOME", raising=False)


def published(nb: nbformat.NotebookNode) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The findings and run summaries the executed notebook displayed, in order."""
    findings, runs = [], []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if MIMETYPE in data:
                findings.append(dict(data[MIMETYPE]))
            if RUN_MIMETYPE in data:
                runs.append(dict(data[RUN_MIMETYPE]))
    return findings, runs


def check_consistent(nb: nbformat.NotebookNode) -> dict[str, Any]:
    findings, runs = published(nb)
    assert findings, "no finding was published"
    assert len(runs) == 1, f"{len(runs)} run summaries published"
    run = runs[0]
    assert run["outcome"] in ("healthy", "problems_found"), run.get("outcome")
    fails = {f["cause"] for f in findings if f["status"] == "fail" and f.get("cause")}
    assert fails <= set(run["root_causes"]) and run["root_causes"]  == list(dict.fromkeys(run["root_causes"]))
    assert {c["id"] for c in run["checks"]} >= {f["id"] for f in findings}
    return run


def default_org(path: Path) -> str:
    spec = yaml.safe_load((REPO / "runbooks" / f"{path.stem}.yml").read_text(encoding="utf-8"))
    return f"demo:{spec['default_scenario']}" if spec.get("default_scenario") else "demo"


def test_plain_papermill_runs_the_token_notebook(tmp_path):
    import papermill

    out = tmp_path / "out.ipynb"
    nb = papermill.execute_notebook(str(TOKEN), str(out), parameters={"org": "demo:token-missing"},
                                    kernel_name="python3", cwd=str(tmp_path), progress_bar=False,
                                    execution_timeout=120)
    run = check_consistent(nb)
    assert "TOKEN_MISSING" in run["root_causes"] and run["org"] == "demo:token-missing"
    findings, _ = published(nb)
    assert any(f["cause"] == "TOKEN_MISSING" and f["status"] == "fail" for f in findings)
    # papermill injected its own cell after ours, and skipped the form cell (tagged skip-execution)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert tags.index(["injected-parameters"]) == tags.index(["parameters"]) + 1
    form = next(c for c in nb.cells if "skip-execution" in c.metadata.get("tags", []))
    assert not form.get("outputs")
    assert nbformat.read(out, as_version=4).cells[-1].outputs   # the file papermill wrote has them too


def inject_as_code(nb: nbformat.NotebookNode, params: dict[str, Any]) -> nbformat.NotebookNode:
    """What jupyter-scheduler does: assignments as a new code cell right after the `parameters` cell."""
    def literal(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False) if isinstance(v, str) else repr(v)

    cell = nbformat.v4.new_code_cell("\n".join(f"{k} = {literal(v)}" for k, v in params.items()))
    cell.metadata["tags"] = ["injected-parameters"]
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(index + 1, cell)
    return nb


def test_nbclient_with_parameters_injected_as_code(tmp_path):
    from nbclient import NotebookClient

    nb = inject_as_code(nbformat.read(TOKEN, as_version=4), {"org": "demo:token-missing", "lang": "ja"})
    assert nb.cells[2].source == 'org = "demo:token-missing"\nlang = "ja"' and "parameters" in nb.cells[1].metadata.tags
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    run = check_consistent(nb)
    assert "TOKEN_MISSING" in run["root_causes"] and run["lang"] == "ja"
    findings, _ = published(nb)
    token = next(f for f in findings if f["cause"] == "TOKEN_MISSING")
    assert token["status"] == "fail" and any("\u3040" <= ch <= "\u30ff" for ch in token["title"])   # Japanese text


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p != TOKEN], ids=lambda p: p.stem)
def test_every_other_notebook_under_plain_papermill(tmp_path, path):
    import papermill

    nb = papermill.execute_notebook(str(path), str(tmp_path / "out.ipynb"), parameters={"org": default_org(path)},
                                    kernel_name="python3", cwd=str(tmp_path), progress_bar=False,
                                    execution_timeout=120)
    check_consistent(nb)

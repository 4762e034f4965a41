"""The runner through real papermill on a real kernel, with the fixture runbook (no org needed).

Kernel runs are few (each costs 1-3 s): healthy + canary, a failing check, a raising cell,
a cell timeout. Folder naming and the index under concurrency use processes without kernels.
"""
from __future__ import annotations

import json
import multiprocessing
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

from sfdoctor.errors import BadInput
from sfdoctor.runner import make_report_folder, run_runbook, validate_params
from sfdoctor.runbooks import load

HOME = Path(__file__).parent / "fixtures" / "home"
CANARY = "CANARY-7f3a9c-do-not-leak"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("SFDOCTOR_ORGS", str(tmp_path / "orgs.toml"))
    monkeypatch.delenv("SFDOCTOR_DEMO_URL", raising=False)


def _run(tmp_path, mode, org="demo", lang="en", **kw):
    params = {"mode": mode, **kw.pop("params", {})}
    return run_runbook("fixture-probe", org, params, tmp_path / "reports", lang, home=HOME, progress=None, **kw)


def _artifacts(folder: Path) -> dict[str, str]:
    return {name: (folder / name).read_text(encoding="utf-8") for name in ("report.ipynb", "report.html", "findings.json")}


@pytest.mark.notebook
def test_healthy_run_writes_scrubbed_report(tmp_path, monkeypatch):
    """A real org whose client secret lives in an environment variable: the canary must vanish
    from every artifact, although the notebook prints it and puts it into evidence."""
    (tmp_path / "orgs.toml").write_text(
        '[orgs.fixture-org]\nauth = "client_credentials"\nmy_domain = "fixture.my.salesforce.com"\n'
        'client_id_env = "FIXTURE_CLIENT_ID"\nclient_secret_env = "FIXTURE_CLIENT_SECRET"\n', encoding="utf-8")
    monkeypatch.setenv("FIXTURE_CLIENT_ID", "fixture-client-id")
    monkeypatch.setenv("FIXTURE_CLIENT_SECRET", CANARY)
    out = _run(tmp_path, "healthy", org="fixture-org", lang="ja", params={"leak_env": "FIXTURE_CLIENT_SECRET", "days": "3"})
    assert out.exit_code == 0 and out.outcome == "healthy"
    rel = out.folder.relative_to((tmp_path / "reports").resolve()).parts
    assert rel[1] == "fixture-probe" and rel[2].startswith("fixture-org-") and rel[2].endswith("Z")
    files = _artifacts(out.folder)
    for name, text in files.items():
        assert CANARY not in text, name
    findings = json.loads(files["findings.json"])
    assert findings["schema"] == "sfdoctor.findings/1" and findings["lang"] == "ja"
    assert [c["id"] for c in findings["checks"]] == ["probe", "leak"]
    assert findings["parameters"]["days"] == 3 and findings["checks"][0]["title"] == "フィクスチャを検査"
    nb = nbformat.reads(files["report.ipynb"], as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    assert "正常" in files["report.html"] and "<script" not in files["report.html"]
    index = (tmp_path / "reports" / "index.jsonl").read_text(encoding="utf-8").splitlines()
    entry = json.loads(index[-1])
    assert entry["outcome"] == "healthy" and entry["exit_code"] == 0 and CANARY not in index[-1]
    assert (tmp_path / "reports" / entry["folder"]).resolve() == out.folder


@pytest.mark.notebook
def test_failing_check_exits_1(tmp_path):
    out = _run(tmp_path, "fail")
    assert out.exit_code == 1 and out.findings["root_causes"] == ["FIXTURE_BROKEN"]
    assert out.findings["checks"][0]["fix"].startswith("1. Open the fixture.")


@pytest.mark.notebook
def test_raising_cell_exits_3_with_report(tmp_path):
    out = _run(tmp_path, "raise")
    assert out.exit_code == 3 and out.outcome == "error"
    last = out.findings["checks"][-1]
    assert last["id"] == "run" and last["status"] == "error" and "RuntimeError" in last["evidence"]["reason"]
    assert out.findings["checks"][0]["id"] == "probe"  # what finished is kept
    for name in ("report.ipynb", "report.html", "findings.json"):
        assert (out.folder / name).is_file()


@pytest.mark.notebook
def test_cell_timeout_is_inconclusive_with_report(tmp_path):
    out = _run(tmp_path, "sleep", cell_timeout=2, total_timeout=60)
    assert out.exit_code == 3 and out.outcome == "inconclusive"
    assert out.findings["checks"][-1]["evidence"]["timeout"] is True
    assert "2 s" in out.findings["checks"][-1]["evidence"]["reason"]
    assert (out.folder / "report.html").is_file()


def test_bad_inputs_refused_before_any_folder(tmp_path):
    reports = tmp_path / "reports"
    cases = [({"mode": "loud"}, "not one of"), ({"days": "x"}, "whole number"), ({"bogus": "1"}, "no parameter 'bogus'"),
             ({"password": "hunter2"}, "is a secret")]
    for params, message in cases:
        with pytest.raises(BadInput, match=message):
            run_runbook("fixture-probe", "demo", params, reports, "en", home=HOME, progress=None)
    with pytest.raises(BadInput, match="unknown org"):
        run_runbook("fixture-probe", "nowhere", {}, reports, "en", home=HOME, progress=None)
    with pytest.raises(BadInput, match="unknown runbook"):
        run_runbook("nope", "demo", {}, reports, "en", home=HOME, progress=None)
    with pytest.raises(BadInput, match="unknown language"):
        run_runbook("fixture-probe", "demo", {}, reports, "fr", home=HOME, progress=None)
    assert not reports.exists()


def test_validate_params_converts():
    spec = load("fixture-probe", HOME / "runbooks")
    got = validate_params(spec, {"days": "14", "strict": "true", "tags": "a,b", "since": "2026-02-03"})
    assert got == {"days": 14, "strict": True, "tags": ["a", "b"], "since": "2026-02-03"}


NOW = datetime(2026, 11, 23, 1, 2, 3, tzinfo=timezone.utc)


def _folder_worker(out: str) -> str:
    return str(make_report_folder(Path(out), "fixture-probe", "demo-x", NOW))


def test_same_second_gets_suffixes_across_processes(tmp_path):
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        folders = pool.map(_folder_worker, [str(tmp_path)] * 8)
    names = sorted(Path(f).name for f in folders)
    assert len(set(names)) == 8
    assert "demo-x-010203Z" in names and "demo-x-010203Z-2" in names and "demo-x-010203Z-8" in names
    assert all(Path(f).parent == tmp_path / "2026-11-23" / "fixture-probe" for f in folders)


def test_broken_run_keeps_the_api_calls_its_findings_reported():
    """A kernel that dies before run.finish() still leaves the cost of what it did."""
    from sfdoctor.findings import API_CALLS_METADATA, MIMETYPE, Finding
    from sfdoctor.runner import collect_with_cost

    def output(check_id: str, spent: int) -> dict:
        return nbformat.v4.new_output("display_data", data={MIMETYPE: Finding(check_id, "t", "pass").to_json()},
                                      metadata={API_CALLS_METADATA: spent})

    cell = nbformat.v4.new_code_cell("run.check(...)")
    cell.outputs = [output("a", 2), output("b", 5)]
    nb = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_code_cell("boom")])
    checks, run, spent = collect_with_cost(nb)
    assert [c.id for c in checks] == ["a", "b"] and run is None and spent == 5
    assert collect_with_cost(None) == ([], None, 0)

"""marketo-sync-setup end to end: `sfdoctor run` (papermill, a real kernel) per scenario.

Every built-in marketo-* scenario (each cause, and a healthy world), one run in Japanese,
and injected faults (503 recovered, REQUEST_LIMIT_EXCEEDED, a hang) that must end in a
report and exit 3. Runs start together as separate processes; the check logic per scenario
is covered without kernels in test_checks_marketo.py (EXPECTED is shared).
"""
from __future__ import annotations

import json

import pytest

import runbook_harness as H
from sfdoctor import runbooks
from test_checks_marketo import EXPECTED

pytestmark = pytest.mark.notebook

RUNBOOK = "marketo-sync-setup"
JA = "marketo-sync-failed"
FAULT_BASE = "marketo-healthy"     # nothing fails there, so a fault can only make the run inconclusive
FAULTS = H.REST_COMPOSITE_FAULTS   # Salesforce's reads are REST composites


@pytest.fixture(scope="module")
def runs(tmp_path_factory, builtin_runs) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("mkto")
    jobs = [H.Job("default", RUNBOOK, "demo", tmp / "default")]
    jobs += H.fault_jobs(RUNBOOK, tmp, FAULTS, FAULT_BASE)
    refs = {**H.builtin_refs(sorted(EXPECTED)), "ja": (JA, "ja")}
    return H.builtin_and_fresh_runs(builtin_runs, refs, jobs)


def test_cli_scenarios_reach_every_cause_code():
    reached = {c for roots, warns, _ in EXPECTED.values() for c in roots + warns}
    assert reached == set(runbooks.load(RUNBOOK).stable_causes())


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_every_scenario_through_the_cli(runs, scenario):
    roots, warns, _ = EXPECTED[scenario]
    f = H.assert_verdict(runs[scenario], roots, warns)
    assert f["api_calls"] <= 6                    # Salesforce only: Marketo's calls are in evidence
    mk = next(c for c in f["checks"] if c["id"] == "marketo-api-access")
    if mk["status"] in ("pass", "fail"):
        assert 1 <= mk["evidence"]["marketo_api_calls"] <= 2


def test_default_demo_org_is_the_failed_sync(runs):
    r, named = runs["default"], runs["marketo-sync-failed"]
    assert r["exit"] == 1, r["stderr"]
    assert r["findings"]["org"] == "demo"
    assert r["findings"]["root_causes"] == named["findings"]["root_causes"]


def test_japanese_run(runs):
    r = runs["ja"]
    assert r["exit"] == 1, r["stderr"]
    f = r["findings"]
    assert f["lang"] == "ja" and f["root_causes"] == EXPECTED[JA][0]
    checks = {c["id"]: c for c in f["checks"]}
    assert checks["sync-user-login"]["title"] == "同期ユーザーがパスワード + セキュリティトークンでログインできる"
    assert "ページレイアウト" in checks["marketo-fields"]["fix"]          # Professional Edition's path
    html = (H.report_folder(r) / "report.html").read_text(encoding="utf-8")
    assert "最近の Salesforce のリードが Marketo に届いている" in html


def test_transient_503s_recovered_give_the_same_result(runs):
    r = runs["faults-503"]
    assert r["exit"] == 0, r["stderr"]
    assert r["findings"]["outcome"] == "healthy"


@pytest.mark.parametrize("name", ["faults-limit", "faults-hang"])
def test_api_limit_and_hanging_endpoint_are_inconclusive_with_a_report(runs, name):
    f = H.assert_inconclusive_with_report(runs[name])
    if name == "faults-limit":
        assert "REQUEST_LIMIT_EXCEEDED" in json.dumps(H.error_checks(f))


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_no_secret_in_any_artifact(runs, scenario):
    """Canaries: every password, token, password+token, Marketo and demo-app client secret of
    the world (Marketo's default secret included); none in any file, the index or the output."""
    from sfdoctor.demo.scenario import load_scenario

    secrets = H.secrets_in(scenario, {load_scenario(scenario).marketo.client_secret})
    assert len(secrets) >= 3
    H.assert_no_secret_in_artifacts(runs[scenario], secrets)


def test_plain_papermill_runs_the_notebook(tmp_path):
    assert "MARKETO_API_ACCESS_DENIED" in H.run_plain_papermill(RUNBOOK, "demo:marketo-api-denied", tmp_path)


def test_notebook_shape():
    H.assert_notebook_shape(RUNBOOK)


@pytest.mark.parametrize("text", [
    "Marketo Salesforce sync failed",
    "Sync Fields: the Marketo Sync User cannot log in",
    "MarketoとSalesforceの接続で同期が失敗しました",
    "Salesforce同期を開始 できない",
])
def test_diagnose_sends_marketo_texts_here_first(text):
    H.assert_diagnosed_here_first(RUNBOOK, text)

"""oauth-connection-failure end to end: `sfdoctor run` (papermill, a real kernel) on a few
scenarios, one in Japanese, a fault, the canaries, `sfdoctor diagnose` and the notebook's shape.
The check logic for every scenario is in test_checks_oauth_connection_failure.py."""
from __future__ import annotations

import json

import pytest

import runbook_harness as H
from test_checks_oauth_connection_failure import EXPECTED

pytestmark = pytest.mark.notebook

RUNBOOK = "oauth-connection-failure"
CLI_SCENARIOS = ["oauth-healthy", "oauth-not-approved", "oauth-bad-secret", "oauth-unrecognized",
                 "oauth-redirect-mismatch"]
JA = "oauth-not-approved"
FAULT_BASE = "oauth-not-approved"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, builtin_runs) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("oauth")
    jobs = H.fault_jobs(RUNBOOK, tmp, {"faults-limit": H.REST_COMPOSITE_FAULTS["faults-limit"]}, FAULT_BASE)
    jobs.append(H.Job("param-paste", RUNBOOK, "demo:oauth-healthy", tmp / "param-paste",
                      ("-p", "oauth_error=invalid_grant: no client credentials user enabled")))
    return H.builtin_and_fresh_runs(builtin_runs, H.builtin_refs(CLI_SCENARIOS, ja=JA), jobs)


@pytest.mark.parametrize("scenario", [s for s in CLI_SCENARIOS if s != "oauth-unrecognized"])
def test_scenarios_through_the_cli(runs, scenario):
    roots, warns, extra = EXPECTED[scenario]
    f = H.assert_verdict(runs[scenario], roots, warns)
    by_id = {c["id"]: c for c in f["checks"]}
    for cid, (status, _) in extra.items():
        assert by_id[cid]["status"] == status
    assert f["api_calls"] <= 6


def test_an_unknown_error_is_inconclusive_and_shown_verbatim(runs):
    r = runs["oauth-unrecognized"]
    f = r["findings"]
    assert f["outcome"] == "inconclusive" and f["warnings"] == ["UNRECOGNIZED_ERROR"]
    checks = {c["id"]: c for c in f["checks"]}
    assert checks["explained"]["status"] == "warn" and checks["explained"]["unexplained"] is True
    assert checks["pasted-error"]["evidence"]["error"] == "invalid_scope"
    html = (H.report_folder(r) / "report.html").read_text(encoding="utf-8")
    assert "requested scope is invalid, unknown, or malformed" in html


def test_exit_codes(runs):
    assert runs["oauth-healthy"]["exit"] == 0
    assert runs["oauth-bad-secret"]["exit"] == 1
    assert runs["oauth-unrecognized"]["exit"] == 3      # inconclusive, never healthy


def test_japanese_run(runs):
    f = runs[JA]["findings"]
    assert f["lang"] == "ja"
    fix = next(c["fix"] for c in f["checks"] if c.get("cause") == "USER_NOT_APPROVED")
    assert "プロファイルを管理" in fix and "Integration" in fix
    assert "貼り付けたエラーが示す内容" in [c["title"] for c in f["checks"]]


def test_a_pasted_parameter_wins_over_the_demo_operator(runs):
    f = runs["param-paste"]["findings"]
    check = {c["id"]: c for c in f["checks"]}["pasted-error"]
    assert check["evidence"]["error_description"] == "no client credentials user enabled"


def test_api_limit_is_inconclusive_with_a_report(runs):
    f = H.assert_inconclusive_with_report(runs["faults-limit"])
    assert "REQUEST_LIMIT_EXCEEDED" in json.dumps(H.error_checks(f))


@pytest.mark.parametrize("scenario", CLI_SCENARIOS)
def test_no_secret_in_any_artifact(runs, scenario):
    """Canaries: the world's passwords, tokens, the apps' consumer secrets and refresh tokens."""
    secrets = H.secrets_in(scenario)
    assert len(secrets) >= 3
    H.assert_no_secret_in_artifacts(runs[scenario], secrets)


@pytest.mark.parametrize("text", [
    "invalid_grant: authentication failure",
    '{"error":"invalid_grant","error_description":"user hasn\'t approved this consumer"}',
    "https://app.example/cb#error=OAUTH_APP_ACCESS_DENIED&error_description=user+is+not+admin+approved+to+access+this+app",
    "OAUTH_EC_APP_NOT_FOUND",
    "expired access/refresh token",
])
def test_diagnose_routes_oauth_errors_here_first(text):
    H.assert_diagnosed_here_first(RUNBOOK, text)


def test_a_sales_insight_actions_url_still_goes_to_sia():
    H.assert_diagnosed_here_first(
        "sia-auth-failure",
        "https://toutapp.com/auth/salesforce/failure?error=OAUTH_APP_BLOCKED&error_description=this+app+is+blocked+by+admin")


def test_notebook_shape():
    H.assert_notebook_shape(RUNBOOK)


def test_plain_papermill_runs_the_notebook(tmp_path):
    assert "PASSWORD_FLOW_BLOCKED" in H.run_plain_papermill(RUNBOOK, "demo:oauth-password-flow-blocked", tmp_path)

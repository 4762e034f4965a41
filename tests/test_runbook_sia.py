"""sia-auth-failure end to end: `sfdoctor run` (papermill, a real kernel) per scenario, the
faults, the canaries, and `sfdoctor diagnose`.

All runs start at once as separate `sfdoctor run` processes (each with its own simulator,
kernel and report folder). The check logic per scenario is in test_checks_sia.py.
"""
from __future__ import annotations

import json

import pytest

import runbook_harness as H
from sfdoctor import runbooks
from test_checks_sia import EXPECTED

pytestmark = pytest.mark.notebook

RUNBOOK = "sia-auth-failure"
# The one composite request is a REST composite: the standard faults.
FAULTS = H.REST_COMPOSITE_FAULTS
# Faults land on a world whose URL alone explains nothing (another error type: a warning), so
# the run must end inconclusive; a URL that says OAUTH_APP_BLOCKED is a finding of its own
# (findings.md: a fail explains the symptom), checked in faults-limit-blocked.
FAULT_BASE = "sia-unrecognized"
CLI_SCENARIOS = sorted(EXPECTED)
# The URL's error stays unexplained by every check: never healthy (spec/causes.md UNRECOGNIZED_ERROR).
INCONCLUSIVE = {"sia-unrecognized"}
JA = "sia-sandbox"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, builtin_runs) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("sia")
    jobs = H.fault_jobs(RUNBOOK, tmp, FAULTS, FAULT_BASE)
    jobs.append(H.Job("faults-limit-blocked", RUNBOOK, H.fault_scenario(tmp, "faults-limit-blocked",
                                                                        FAULTS["faults-limit"], "sia-oauth-blocked"),
                      tmp / "faults-limit-blocked"))
    # the operator's answer given as a parameter overrides the demo operator's
    jobs.append(H.Job("param-answer", RUNBOOK, "demo:sia-healthy", tmp / "param-answer",
                      ("-p", "oauth_usage_button=unblock")))
    return H.builtin_and_fresh_runs(builtin_runs, H.builtin_refs(CLI_SCENARIOS, ja=JA), jobs)


def test_cli_scenarios_reach_every_cause_code():
    reached = {c for name in CLI_SCENARIOS for c in EXPECTED[name][0] + EXPECTED[name][1]}
    assert reached == set(runbooks.load(RUNBOOK).stable_causes())


@pytest.mark.parametrize("scenario", CLI_SCENARIOS)
def test_every_scenario_through_the_cli(runs, scenario):
    roots, warns, extra = EXPECTED[scenario]
    f = H.assert_verdict(runs[scenario], roots, warns, "inconclusive" if scenario in INCONCLUSIVE else None)
    by_id = {c["id"]: c for c in f["checks"]}
    for cid, (status, _) in extra.items():
        assert by_id[cid]["status"] == status
    assert f["api_calls"] == 2      # sfdoctor's OAuth sign-in + one composite read


def test_healthy_exits_zero(runs):
    assert runs["sia-healthy"]["exit"] == 0 and runs["sia-healthy"]["findings"]["outcome"] == "healthy"


def test_japanese_run(runs):
    f = runs[JA]["findings"]
    assert f["lang"] == "ja"
    fixes = {c["cause"]: c["fix"] for c in f["checks"] if c.get("cause")}
    assert "「Sandbox」" in fixes["SANDBOX_NOT_CONFIGURED"] and "私のドメイン" in fixes["RESTRICTED_DOMAIN"]
    titles = [c["title"] for c in f["checks"]]
    assert "エラーページの URL が示す内容" in titles


def test_unrecognized_error_is_shown_verbatim_in_the_report(runs):
    r = runs["sia-unrecognized"]
    check = {c["id"]: c for c in r["findings"]["checks"]}["error-url"]
    assert check["evidence"]["error"] == "HANDSHAKE_NOT_COMPLETED"
    html = (H.report_folder(r) / "report.html").read_text(encoding="utf-8")
    assert "HANDSHAKE_NOT_COMPLETED" in html


def test_a_parameter_answer_is_recorded(runs):
    r = runs["param-answer"]
    assert r["exit"] == 1, r["stderr"]
    f = r["findings"]
    assert f["root_causes"] == ["OAUTH_APP_BLOCKED"] and f["parameters"]["oauth_usage_button"] == "unblock"
    check = {c["id"]: c for c in f["checks"]}["toutapp-block"]
    assert check["evidence"]["operator_answer"] == "unblock"


def test_transient_503s_recovered_give_the_same_result(runs):
    H.assert_same_verdict(runs["faults-503"], runs[FAULT_BASE], 3)


@pytest.mark.parametrize("name", ["faults-limit", "faults-hang"])
def test_api_limit_and_hanging_endpoint_are_inconclusive_with_a_report(runs, name):
    f = H.assert_inconclusive_with_report(runs[name])
    if name == "faults-limit":
        errors = H.error_checks(f)
        assert {c["id"] for c in errors} == {"user-api-enabled", "toutapp-oauth-usage"}
        assert "REQUEST_LIMIT_EXCEEDED" in json.dumps(errors)


def test_api_limit_with_a_blocked_url_still_reports_the_block(runs):
    r = runs["faults-limit-blocked"]
    f = r["findings"]
    assert r["exit"] == 1 and f["root_causes"] == ["OAUTH_APP_BLOCKED"], r["stderr"]
    assert any(c["status"] == "error" and "REQUEST_LIMIT_EXCEEDED" in json.dumps(c) for c in f["checks"])


@pytest.mark.parametrize("scenario", CLI_SCENARIOS)
def test_no_secret_in_any_artifact(runs, scenario):
    """Canaries are the world's own secrets (passwords, tokens, password+token, the demo app's
    secret); none may appear in any file of the run, the index or the command's output."""
    secrets = H.secrets_in(scenario)
    assert len(secrets) >= 3
    H.assert_no_secret_in_artifacts(runs[scenario], secrets)


def test_plain_papermill_runs_the_notebook(tmp_path):
    assert "API_NOT_ENABLED_FOR_USER" in H.run_plain_papermill(RUNBOOK, "demo:sia-api-disabled", tmp_path)


def test_notebook_shape():
    H.assert_notebook_shape(RUNBOOK)


@pytest.mark.parametrize("text", [
    "We were unable to authenticate your request",
    "we were  UNABLE to authenticate your request.",
    "リクエストを認証できませんでした",
    "https://toutapp.com/auth/salesforce/failure?error=OAUTH_APP_BLOCKED&error_description=this+app+is+blocked+by+admin",
    "https%3A%2F%2Fapp.toutapp.com%2Fx%23error%3DLogin%2520error%2520restricted%2520domain",
    "https://example.invalid/cb#error=login+error+restricted+domain",
])
def test_diagnose_sends_these_texts_here_first(text):
    H.assert_diagnosed_here_first(RUNBOOK, text)

"""mc-missing-oauth-token end to end: `sfdoctor run` (papermill, a real kernel) per scenario.

All runs start at once as separate processes (own simulator, kernel and report folder); the
check logic per scenario is covered without kernels in test_checks_mc.py.
"""
from __future__ import annotations

import re

import pytest

import runbook_harness as H
from sfdoctor import runbooks
from test_checks_mc import EXPECTED

pytestmark = pytest.mark.notebook

RUNBOOK = "mc-missing-oauth-token"

# On the healthy world, so nothing else explains the symptom and a broken read ends inconclusive.
FAULT_BASE = "mc-healthy"
FAULTS = {
    # transient 503s on the SOAP Retrieve, recovered by the client's retries of reads
    "faults-503": '- {match: "POST /Service.asmx", status: 503, times: 2}',
    # Marketing Cloud's API allowance is gone: the Retrieve answers its rate-limit error
    "faults-limit": '- {match: "POST /Service.asmx", error: REQUEST_LIMIT_EXCEEDED}',
    # the token endpoint hangs longer than the cell timeout
    "faults-hang": '- {match: "POST /v2/token", delay: 60s}',
}

CLI_SCENARIOS = sorted(EXPECTED)
JA = "mc-password-expired"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, builtin_runs) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("mc")
    jobs = [H.Job("default", RUNBOOK, "demo", tmp / "default")]
    jobs.append(H.Job("bad-range", RUNBOOK, "demo:mc-healthy", tmp / "bad-range",
                      ("-p", "ip_allowlist=192.0.2.0 - 192.0.2.999")))
    jobs += H.fault_jobs(RUNBOOK, tmp, FAULTS, FAULT_BASE)
    return H.builtin_and_fresh_runs(builtin_runs, H.builtin_refs(CLI_SCENARIOS, ja=JA), jobs)


def test_cli_scenarios_reach_every_cause_code():
    reached = {c for name in CLI_SCENARIOS for c in EXPECTED[name][0] + EXPECTED[name][1]}
    assert reached >= set(runbooks.load(RUNBOOK).stable_causes())


@pytest.mark.parametrize("scenario", CLI_SCENARIOS)
def test_every_scenario_through_the_cli(runs, scenario):
    roots, warns, _ = EXPECTED[scenario]
    f = H.assert_verdict(runs[scenario], roots, warns)
    folder = H.report_folder(runs[scenario])
    assert f["api_calls"] == 3        # sfdoctor's own sign-in + /v2/token + one SOAP Retrieve
    page = (folder / "report.html").read_text(encoding="utf-8")
    if scenario == "mc-ip-not-allowlisted":
        # Each Data Cloud address's coverage stands once: in the card's evidence, not again in a
        # second table from the notebook (it adds one only beyond what the evidence lists).
        assert "sfd-mc-allowlist" not in page and "203.0.113.40/32" in page and "203.0.113.40/31" in page


def test_default_demo_org_is_the_allowlist_scenario(runs):
    r = runs["default"]
    assert r["exit"] == 1, r["stderr"]
    assert r["findings"]["org"] == "demo" and r["findings"]["root_causes"] == ["MC_IP_NOT_ALLOWLISTED"]


def test_wrong_credentials_say_which(runs):
    for scenario, which in (("mc-credentials-invalid", "wrong_password"), ("mc-user-locked", "locked"),
                            ("mc-user-inactive", "inactive")):
        checks = runs[scenario]["findings"]["checks"]
        assert which in {c["evidence"].get("which") for c in checks if c.get("cause") == "MC_CREDENTIALS_INVALID"}


def test_japanese_run(runs):
    f = runs[JA]["findings"]
    assert f["lang"] == "ja"
    checks = {c["id"]: c for c in f["checks"]}
    assert "期限切れ" in checks["mc-login"]["summary"]
    assert "構成ウィザード" in checks["mc-login"]["fix"]
    assert "mc-next-steps" not in checks   # the answer orders the steps; no check of its own


def test_unparsable_range_is_bad_input_in_one_line_before_any_report(runs):
    """spec/cli.md: a malformed parameter is exit 2, one line, no report folder (the parameter's
    validator runs before any kernel). A notebook run without the CLI (plain papermill) still
    meets the same entry in its allowlist check, as an `error` finding: test_checks_mc."""
    r = runs["bad-range"]
    assert r["exit"] == 2, r["stderr"]
    lines = [line for line in r["stderr"].splitlines() if line.strip()]
    assert len(lines) == 1 and "ip_allowlist" in lines[0] and "192.0.2.999" in lines[0], lines
    assert r["folders"] == [] and "findings" not in r
    assert "Traceback" not in r["output"]


def test_transient_503s_recovered_give_the_same_result(runs):
    r = runs["faults-503"]
    assert r["exit"] == 0, r["stderr"]
    assert r["findings"]["outcome"] == "healthy"
    assert r["findings"]["api_calls"] == 5     # the two 503s cost calls too


@pytest.mark.parametrize("name", ["faults-limit", "faults-hang"])
def test_api_limit_and_hanging_endpoint_are_inconclusive_with_a_report(runs, name):
    f = H.assert_inconclusive_with_report(runs[name])
    if name == "faults-limit":
        (err,) = H.error_checks(f)
        assert err["id"] == "mc-user" and err["evidence"].get("http_status") == 429


JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}")


@pytest.mark.parametrize("scenario", CLI_SCENARIOS)
def test_no_secret_in_any_artifact(runs, scenario):
    """Canaries are the world's own secrets: the installed package's client secret, every
    Marketing Cloud and Salesforce password, the operator's mistaken password, the demo app's
    secret; none may appear in any file of the run, the index, or the output — nor a session
    id or a Marketing Cloud access token."""
    from sfdoctor.demo.scenario import load_scenario

    world = H.scenario_document(scenario)
    mc = load_scenario(scenario).marketing_cloud       # with its defaults (the package secret may be one)
    secrets = H.secrets_in(world, {mc.client_secret} | {u.password for u in mc.users})
    secrets |= {v for k, v in (world.get("operator") or {}).items() if k == "mc_password"}
    assert len(secrets) >= 4
    H.assert_no_secret_in_artifacts(runs[scenario], secrets,
                                    {"a session id": H.SESSION_ID, "an access token": JWT})


@pytest.mark.parametrize("text", [
    "Missing_OAuth_Token",
    "Change your expired Marketing Cloud password and try again",
    "Data Cloud を Marketing Cloud に接続しようとすると「Missing_OAuth_Token」というエラーメッセージが表示されます",
    "期限切れの Marketing Cloud パスワードを変更して、もう一度お試しください",
])
def test_diagnose_sends_the_symptoms_here_first(text):
    H.assert_diagnosed_here_first(RUNBOOK, text)


def test_plain_papermill_runs_the_notebook(tmp_path):
    assert "MC_USER_NOT_API_USER" in H.run_plain_papermill(RUNBOOK, "demo:mc-not-api-user", tmp_path)


def test_notebook_is_committed_without_outputs_and_with_one_parameters_cell():
    H.assert_notebook_shape(RUNBOOK)

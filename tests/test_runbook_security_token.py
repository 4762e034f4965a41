"""security-token-required end to end: `sfdoctor run` (papermill, a real kernel) per scenario.

All runs start at once as separate `sfdoctor run` processes (each with its own simulator,
kernel and report folder), so the module costs about the slowest few runs, not their sum.
The check logic itself is covered per scenario, without kernels, in test_checks_scenarios.py;
the harness shared by every runbook's end-to-end tests is runbook_harness.py.
"""
from __future__ import annotations

import json

import pytest

import runbook_harness as H
from sfdoctor import runbooks
from test_checks_scenarios import EXPECTED

pytestmark = pytest.mark.notebook

RUNBOOK = "security-token-required"
# Both composite requests are REST composites: the standard faults, on a world where the token
# is missing (so a 503 recovered must give that world's verdict again).
FAULTS = H.REST_COMPOSITE_FAULTS
FAULT_BASE = "token-missing"

# Each cause code reached through `sfdoctor run` at least once, plus the healthy world; the
# locked/frozen/inactive variants of PASSWORD_INVALID run without a kernel only.
CLI_SCENARIOS = ["healthy", "token-missing", "token-stale", "password-invalid", "soap-login-disabled",
                 "profile-ip-ranges", "no-network-access", "profile-corrupted", "token-unnamed-user"]
JA = "profile-ip-ranges"   # run in Japanese: also shows the Professional edition's Setup path


@pytest.fixture(scope="module")
def runs(tmp_path_factory, builtin_runs) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("stf")
    return H.builtin_and_fresh_runs(builtin_runs, H.builtin_refs(CLI_SCENARIOS, ja=JA),
                                    H.fault_jobs(RUNBOOK, tmp, FAULTS, FAULT_BASE))


def test_cli_scenarios_reach_every_cause_code():
    reached = {c for name in CLI_SCENARIOS for c in EXPECTED[name][0] + EXPECTED[name][1]}
    assert reached | {"PROFILE_POSSIBLY_CORRUPTED"} >= set(runbooks.load(RUNBOOK).stable_causes())


@pytest.mark.parametrize("scenario", CLI_SCENARIOS)
def test_every_scenario_through_the_cli(runs, scenario):
    roots, warns, _ = EXPECTED[scenario]
    f = H.assert_verdict(runs[scenario], roots, warns)
    assert f["api_calls"] <= 1 + 2 + 6   # OAuth token + at most two probes + at most six reads


def test_profile_corrupted_is_a_manual_step(runs):
    checks = {c["id"]: c for c in runs["profile-corrupted"]["findings"]["checks"]}
    assert checks["reset-link-profile"]["status"] == "manual"
    assert checks["reset-link-profile"]["cause"] == "PROFILE_POSSIBLY_CORRUPTED"


def test_japanese_run_has_japanese_fixes_for_its_edition(runs):
    f = runs[JA]["findings"]
    assert f["lang"] == "ja"
    fixes = {c["cause"]: c["fix"] for c in f["checks"] if c.get("cause")}
    assert "セッションの設定" in fixes["RESET_HIDDEN_BY_LOGIN_IP_RANGES"]
    assert "ログイン IP" in fixes["SOURCE_IP_UNTRUSTED"]


def test_transient_503s_recovered_give_the_same_result(runs):
    H.assert_same_verdict(runs["faults-503"], runs[FAULT_BASE], 1)


@pytest.mark.parametrize("name", ["faults-limit", "faults-hang"])
def test_api_limit_and_hanging_endpoint_are_inconclusive_with_a_report(runs, name):
    f = H.assert_inconclusive_with_report(runs[name])
    if name == "faults-limit":
        assert "REQUEST_LIMIT_EXCEEDED" in json.dumps(H.error_checks(f))


@pytest.mark.parametrize("scenario", CLI_SCENARIOS)
def test_no_secret_in_any_artifact(runs, scenario):
    """Canaries are the world's own secrets: every password, token, password+token, client
    secret and the demo app's secret; none may appear in any file of the run, in the index, or
    in what the command printed — nor any Salesforce session id."""
    secrets = H.secrets_in(scenario)
    assert len(secrets) >= 3
    H.assert_no_secret_in_artifacts(runs[scenario], secrets)


def test_the_canary_scan_finds_what_it_looks_for():
    """The scan the canary tests rely on reports a planted secret and a session id, by the
    text's name and never with the value."""
    from sfdoctor.demo.store import DEMO_CLIENT_SECRET as planted

    secrets = H.secrets_in("token-missing")
    assert planted in secrets
    sid = "00D" + "A" * 15 + "!" + "b" * 30
    problems = H.scan_for_secrets({"report.html": f"<p>{planted}</p>", "clean": "nothing here",
                                   "log": f"sid={sid}"}, secrets)
    assert problems == ["report.html holds 1 secret value(s)", "log holds a session id"]
    assert not any(planted in p or sid in p for p in problems)


def test_plain_papermill_runs_the_notebook(tmp_path):
    assert "TOKEN_MISSING" in H.run_plain_papermill(RUNBOOK, "demo:token-missing", tmp_path)


def test_notebook_shape():
    H.assert_notebook_shape(RUNBOOK)

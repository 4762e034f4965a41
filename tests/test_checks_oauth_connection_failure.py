"""oauth-connection-failure's checks without a kernel: reading the pasted error (pure) and every
built-in scenario through the in-process simulator; the notebook runs are in test_runbook_oauth_connection_failure.py."""
from __future__ import annotations

import pytest

import runbook_harness as H
from sfdoctor import findings, runbooks
from sfdoctor.runbook_checks import oauth_connection_failure as oauth

RUNBOOK = "oauth-connection-failure"


# ------------------------------------------------------------------ the pasted error (pure)
@pytest.mark.parametrize("text, error, description, where", [
    ('{"error":"invalid_grant","error_description":"user hasn\'t approved this consumer"}',
     "invalid_grant", "user hasn't approved this consumer", "json"),
    ('HTTP 400\n{\n  "error" : "invalid_client_id",\n  "error_description" : "client identifier invalid"\n}',
     "invalid_client_id", "client identifier invalid", "json"),
    ("{ error: 'invalid_app_access', error_description: 'user is not admin approved to access this app' }",
     "invalid_app_access", "user is not admin approved to access this app", "json"),
    ("https://app.example/cb?error=OAUTH_APP_BLOCKED&error_description=this+app+is+blocked+by+admin",
     "OAUTH_APP_BLOCKED", "this app is blocked by admin", "query"),
    ("https://app.example/cb#error=OAUTH_EC_APP_NOT_FOUND&error_description=External%20client%20app%20is%20not%20installed%20in%20this%20org",
     "OAUTH_EC_APP_NOT_FOUND", "External client app is not installed in this org", "fragment"),
    ("https%3A%2F%2Fapp.example%2Fcb%3Ferror%3Dredirect_uri_mismatch", "redirect_uri_mismatch", None, "query"),
    ("2026-11-20 ERROR invalid_grant: authentication failure", "invalid_grant", "authentication failure", "text"),
    ("Authentication failed (code: invalid_grant): expired access/refresh token", "invalid_grant",
     "expired access/refresh token", "text"),
    ("IP restricted or invalid login hours", None, "ip restricted or invalid login hours", "text"),
])
def test_read_pasted_error_in_any_form(text, error, description, where):
    got = oauth.read_pasted_error(text)
    assert (got.error, got.description, got.found_in) == (error, description, where)


@pytest.mark.parametrize("text, meaning, first", [
    ('{"error":"invalid_grant","error_description":"authentication failure"}', "authentication_failure",
     "USER_CANNOT_LOG_IN"),
    ("invalid_client: invalid client credentials", "bad_secret", "CLIENT_SECRET_INVALID"),
    ("?error=invalid_client&error_description=app+must+be+installed+into+org", "uninstalled",
     "UNINSTALLED_APP_BLOCKED"),
    ("?error=OAUTH_APP_ACCESS_DENIED", "not_admin_approved", "USER_NOT_APPROVED"),
    ('{"error":"invalid_grant","error_description":"no client credentials user enabled"}', "no_run_as",
     "NO_RUN_AS_USER"),
    ('{"error":"brand_new","error_description":"never seen"}', "unknown", None),
])
def test_classify(text, meaning, first):
    got_meaning, causes = oauth.classify(oauth.read_pasted_error(text))
    assert got_meaning == meaning
    assert (causes[0] if causes else None) == first


def test_secrets_in_a_paste_are_never_kept():
    text = ("https://app.example/cb?code=aPrxSECRETcode&state=xyzSTATE&error=access_denied"
            "#access_token=00Dabc!tokTOKEN")
    got = oauth.read_pasted_error(text)
    for secret in ("aPrxSECRETcode", "xyzSTATE", "00Dabc!tokTOKEN"):
        assert secret not in got.shown and secret not in str(got.evidence())
    log = oauth.read_pasted_error("refresh_token=5Aep861SECRET client_secret=abc123SECRET invalid_grant: x")
    assert "5Aep861SECRET" not in log.shown and "abc123SECRET" not in log.shown


def test_fix_values_are_filled_and_unknown_placeholders_kept():
    assert oauth.fill("add {profile} to {app} ({other})", {"profile": "Integration", "app": None}) == \
        "add Integration to {app} ({other})"


def test_queries_read_the_user_by_a_semi_join():
    q = oauth.queries("etl@acme.example", "Acme ETL", __import__("datetime").datetime(2026, 1, 1))
    assert "SetupEntityType = 'ConnectedApplication'" in q["access"]
    assert "Assignee.Username = 'etl@acme.example'" in q["access"]
    assert "WHERE AppName = 'Acme ETL'" in q["app_tokens"]


# ------------------------------------------------------------------ every built-in scenario
# scenario -> (root causes, warnings, {check id: (status, evidence subset)})
EXPECTED: dict[str, tuple[list[str], list[str], dict]] = {
    "oauth-healthy": ([], [], {"probe": ("pass", {"ok": True}), "app": ("pass", {"kind": "connected_app"})}),
    "oauth-not-approved": (["USER_NOT_APPROVED"], [], {"integration-user": ("fail", {"assigned_to_app": False})}),
    "oauth-unknown-client": (["APP_NOT_FOUND"], [], {"app": ("fail", {"installed": False})}),
    "oauth-bad-secret": (["CLIENT_SECRET_INVALID"], [], {"pasted-error": ("fail", {}), "probe": ("pass", {})}),
    "oauth-wrong-host": (["WRONG_HOST_FOR_FLOW"], [], {"pasted-error": ("fail", {"found_in": "json"})}),
    "oauth-no-run-as": (["NO_RUN_AS_USER"], [], {"app": ("fail", {"kind": "external_client_app", "run_as": None})}),
    "oauth-app-blocked": (["APP_BLOCKED"], [], {"app-block": ("fail", {"error_says_blocked": True})}),
    "oauth-uninstalled": (["UNINSTALLED_APP_BLOCKED"], [], {"app": ("fail", {"user_may_use_uninstalled_apps": False})}),
    "oauth-user-frozen": (["USER_CANNOT_LOG_IN"], [], {"integration-user": ("fail", {"frozen": True})}),
    "oauth-ip-restricted": (["IP_OR_HOURS_RESTRICTED"], [], {"login-restrictions": ("fail", {"ip_relaxation": "ENFORCE"})}),
    "oauth-refresh-expired": (["REFRESH_TOKEN_EXPIRED"], [], {"oauth-tokens": ("fail", {"tokens": 1})}),
    "oauth-password-flow-blocked": (["PASSWORD_FLOW_BLOCKED"], [], {"password-flow": ("fail", {"blocked": True})}),
    "oauth-password-refused": (["PASSWORD_OR_TOKEN_REFUSED"], [], {"password-flow": ("fail", {"blocked": False})}),
    "oauth-redirect-mismatch": (["REDIRECT_URI_MISMATCH"], [], {
        "app": ("fail", {"redirect_uri_sent": "https://reports.acme.example/oauth/callback"})}),
    "oauth-unrecognized": ([], ["UNRECOGNIZED_ERROR"], {"explained": ("warn", {})}),
    "oauth-refusals-not-pasted": ([], [], {"login-history": ("warn", {})}),
}


def test_scenarios_reach_every_cause_code():
    reached = {c for roots, warns, _ in EXPECTED.values() for c in roots + warns}
    assert reached == set(runbooks.load(RUNBOOK).stable_causes())


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_scenario(scenario):
    roots, warns, expected = EXPECTED[scenario]
    conn, facts, found = H.run_steps(RUNBOOK, f"demo:{scenario}", oauth.OauthFacts, oauth.STEPS)
    H.assert_findings(found, roots, warns, expected, order=[s.check_id for s in oauth.STEPS])
    assert conn.counter.total <= oauth.MAX_API_CALLS
    H.assert_no_secret_and_declared_fixes(RUNBOOK, found, H.secrets_in(scenario) | {facts.consumer_secret or ""} - {""})
    if scenario == "oauth-unrecognized":
        assert findings.outcome(found) == "inconclusive"      # never healthy for an unknown error


def test_the_password_fix_hands_over_to_security_token_required():
    _, _, found = H.run_steps(RUNBOOK, "demo:oauth-password-refused", oauth.OauthFacts, oauth.STEPS)
    fix = next(f.fix for f in found if f.cause == "PASSWORD_OR_TOKEN_REFUSED")
    assert "security-token-required" in fix and "etl@acme.example" in fix


def test_fixes_carry_the_cases_values_in_both_languages():
    for lang, word in (("en", "Manage Profiles"), ("ja", "プロファイルを管理")):
        _, _, found = H.run_steps(RUNBOOK, "demo:oauth-not-approved", oauth.OauthFacts, oauth.STEPS, lang=lang)
        fix = next(f.fix for f in found if f.cause == "USER_NOT_APPROVED")
        assert word in fix and "Integration" in fix and "Acme ETL" in fix and "{" not in fix
    _, _, found = H.run_steps(RUNBOOK, "demo:oauth-redirect-mismatch", oauth.OauthFacts, oauth.STEPS)
    fix = next(f.fix for f in found if f.cause == "REDIRECT_URI_MISMATCH")
    assert "https://reports.acme.example/oauth/callback" in fix and "reports-old" in fix


def test_external_client_apps_are_told_apart_in_the_fix():
    _, _, found = H.run_steps(RUNBOOK, "demo:oauth-no-run-as", oauth.OauthFacts, oauth.STEPS)
    fix = next(f.fix for f in found if f.cause == "NO_RUN_AS_USER")
    assert "External Client App Manager" in fix


def test_an_operator_answer_overrides_and_no_probe_without_client_credentials():
    _, facts, found = H.run_steps(RUNBOOK, "demo:oauth-not-approved", oauth.OauthFacts, oauth.STEPS,
                                  oauth_usage_button="unblock")
    by_id = {f.id: f for f in found}
    assert by_id["app-block"].status == "fail" and by_id["probe"].status == "skip"


# ------------------------------------------------------------------ adversarial worlds
# tests/scenarios/oauth/: worlds unlike the built-in ones (an External Client App reached through
# a permission set, the app named by its consumer key, login hours, an uninstalled app a
# permitted user still uses, a locked user behind "authentication failure", a self-authorize
# app, a sandbox's audience). Each file says what it predicts; the prediction was written first.
ADVERSARIAL_DIR = H.ROOT / "tests" / "scenarios" / "oauth"
ADVERSARIAL: dict[str, tuple[list[str], list[str], dict]] = {
    "eca-permset-assigned-healthy": ([], [], {"app": ("pass", {"kind": "external_client_app"}),
                                              "integration-user": ("pass", {"assigned_to_app": True})}),
    "by-consumer-key-not-assigned": (["USER_NOT_APPROVED"], [], {"app": ("pass", {"kind": "connected_app",
                                                                                 "app": "Acme Sync"})}),
    "login-hours-closed": (["IP_OR_HOURS_RESTRICTED"], [], {"login-restrictions": ("fail", {})}),
    "uninstalled-but-permitted": (["REFRESH_TOKEN_EXPIRED"], [], {
        "app": ("warn", {"user_may_use_uninstalled_apps": True}), "oauth-tokens": ("fail", {"tokens": 0})}),
    "password-flow-user-locked": (["USER_CANNOT_LOG_IN"], [], {"integration-user": ("fail", {"locked": True}),
                                                               "password-flow": ("skip", {})}),
    "jwt-self-authorize-never-approved": (["USER_NOT_APPROVED"], [], {"integration-user": ("fail", {})}),
    "eca-installed-wrong-host": (["WRONG_HOST_FOR_FLOW"], [], {"app": ("fail", {"kind": "external_client_app"})}),
    "sandbox-audience": (["WRONG_HOST_FOR_FLOW"], [], {
        "pasted-error": ("fail", {"audience_for_this_org": "https://test.salesforce.com"})}),
}


def test_every_adversarial_file_has_an_expectation():
    assert {p.stem for p in ADVERSARIAL_DIR.glob("*.yml")} == set(ADVERSARIAL)


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_world(name):
    roots, warns, expected = ADVERSARIAL[name]
    path = ADVERSARIAL_DIR / f"{name}.yml"
    conn, facts, found = H.run_steps(RUNBOOK, f"demo:{path}", oauth.OauthFacts, oauth.STEPS)
    H.assert_findings(found, roots, warns, expected)
    assert conn.counter.total <= oauth.MAX_API_CALLS
    H.assert_no_secret_and_declared_fixes(RUNBOOK, found, H.secrets_in(path))


def test_probe_identity_is_the_apps_credentials_for_client_credentials_only():
    from types import SimpleNamespace

    conn = SimpleNamespace(org_ref=None, operator={"oauth_consumer_key": "3MVG9k", "oauth_consumer_secret": "s3cr3t",
                                                   "oauth_flow": "client_credentials"})
    assert oauth.probe_identity(conn, {}) == ("3MVG9k", "s3cr3t")
    assert oauth.probe_identity(conn, {"oauth_flow": "jwt_bearer"}) is None


@pytest.mark.parametrize("policy,en,ja", [
    ("specific_lifetime:90:DAYS", "expire 90 days after they are issued", "発行から 90 日で期限切れ"),
    ("SpecificInactivity:2:Hours", "expire when unused for 2 hours", "2 時間使われないと期限切れ"),
    ("infinite", "valid until revoked", "取り消されるまで有効"),
    ("Zero", "expire immediately", "すぐに期限切れ"),
    ("somethingNew", "somethingNew", "somethingNew")])
def test_a_refresh_token_policy_is_said_in_words(policy, en, ja):
    from sfdoctor.runbook_checks.oauth_connection_failure import policy_words

    assert (policy_words(policy, "en"), policy_words(policy, "ja")) == (en, ja)

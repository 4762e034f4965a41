"""Every security-token-required check against every built-in scenario, without a kernel.

The checks run as plain functions against the in-process simulator (one per scenario), so
each cause code's path is exercised quickly; the notebook runs are in
test_runbook_security_token.py.
"""
import pytest

import runbook_harness as H
from sfdoctor import findings, runbooks
from sfdoctor.runbook_checks import security_token_required as sectoken

RUNBOOK = "security-token-required"

# scenario -> (root causes, warnings, extra expectations {check id: (status, evidence subset)})
EXPECTED = {
    # nobody named, nobody failing for a missing token: no user to look at, nothing unexplained
    "healthy": ([], [], {"failing-users": ("pass", {"token_failures_by_user": {}}),
                         "probe-login-password-only": ("skip", {"login_attempts": 0}),
                         "login-history-org": ("pass", {"token_required": 0})}),
    # nobody named: the user failing most is diagnosed (probed with the world's own credentials)
    "token-unnamed-user": (["TOKEN_MISSING", "SOURCE_IP_UNTRUSTED"], ["SOAP_LOGIN_RETIRING"],
                           {"failing-users": ("pass", {"diagnosed": "etl@acme.example"}),
                            "user-status": ("pass", {"username": "etl@acme.example"}),
                            "probe-login-with-token": ("pass", {"login_attempts": 2}),
                            "login-history-org": ("warn", {"token_required_other_users": 4})}),
    "token-missing": (["TOKEN_MISSING", "SOURCE_IP_UNTRUSTED"], ["SOAP_LOGIN_RETIRING"],
                      {"probe-login-with-token": ("pass", {"login_attempts": 2})}),
    "token-stale": (["TOKEN_INVALID", "SOURCE_IP_UNTRUSTED"], ["SOAP_LOGIN_RETIRING"], {}),
    "password-invalid": (["PASSWORD_INVALID"], ["SOAP_LOGIN_RETIRING"],
                         {"probe-login-password-only": ("fail", {"which": "password", "login_attempts": 1,
                                                                 "login_history_status": "Invalid Password"})}),
    "user-locked": (["PASSWORD_INVALID"], ["SOAP_LOGIN_RETIRING"],
                    {"user-status": ("fail", {"which": "locked"}),
                     "probe-login-password-only": ("skip", {"login_attempts": 0})}),
    "user-frozen": (["PASSWORD_INVALID"], ["SOAP_LOGIN_RETIRING"], {"user-status": ("fail", {"which": "frozen"})}),
    "token-user-inactive": (["PASSWORD_INVALID"], ["SOAP_LOGIN_RETIRING"],
                            {"user-status": ("fail", {"which": "inactive"})}),
    "soap-login-disabled": (["SOAP_LOGIN_DISABLED"], [], {"soap-login-retiring": ("skip", {})}),
    "profile-ip-ranges": (["SOURCE_IP_UNTRUSTED"], ["RESET_HIDDEN_BY_LOGIN_IP_RANGES", "SOAP_LOGIN_RETIRING"],
                          {"source-ip-ranges": ("fail", {"restriction": "profile_login_ip_ranges"}),
                           "reset-link-profile": ("skip", {"explained_by": ["RESET_HIDDEN_BY_LOGIN_IP_RANGES"]})}),
    "no-network-access": (["TOKEN_MISSING", "SOURCE_IP_UNTRUSTED"],
                          ["NETWORK_ACCESS_UNAVAILABLE", "SOAP_LOGIN_RETIRING"], {}),
    "profile-corrupted": (["TOKEN_MISSING", "SOURCE_IP_UNTRUSTED"], ["SOAP_LOGIN_RETIRING"],
                          {"reset-link-profile": ("manual", {"profile": "Sales Ops"})}),
}


def run_checks(org: str, lang: str = "en", **params):
    conn, _, found = H.run_steps(RUNBOOK, org, sectoken.Facts, sectoken.STEPS, lang, **params)
    return conn, found


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_scenario_causes(scenario):
    roots, warns, extra = EXPECTED[scenario]
    conn, found = run_checks(f"demo:{scenario}")
    H.assert_findings(found, roots, warns, extra)
    stats = conn.counter.snapshot()
    token = sum(v for k, v in stats["by_endpoint"].items() if "oauth2/token" in k)
    assert stats["logins"] - token <= 2                      # principle 7
    assert stats["total"] - stats["logins"] <= 6             # sfdoctor's own reads
    # no secret in the findings; every fail/warn/manual with a cause carries a fix; every cause code is declared
    H.assert_no_secret_and_declared_fixes(
        RUNBOOK, found, conn.secrets | {"Sync-pass-1", "BBBBtokenBBBB", "OLDtokenOLD1", "Etl-pass-2025"})


def test_every_cause_code_is_reached_by_a_scenario():
    reached = set()
    for roots, warns, extra in EXPECTED.values():
        reached |= set(roots) | set(warns)
    reached.add("PROFILE_POSSIBLY_CORRUPTED")   # manual, asserted in profile-corrupted
    required = set(runbooks.load(RUNBOOK).stable_causes())
    assert required <= reached


def test_professional_edition_gets_its_own_setup_path_in_japanese():
    _, found = run_checks("demo:profile-ip-ranges", lang="ja")
    by_id = {f.id: f for f in found}
    assert "セッションの設定" in by_id["reset-link-ip-ranges"].fix
    # outside the ranges: the addresses refused, the range to add and the user, not "the integration's address"
    for value in ("203.0.113.50", "203.0.113.0 – 203.0.113.255", "sync@smallco.example"):
        assert value in by_id["reset-link-ip-ranges"].fix
    assert "セッションの設定" in by_id["source-ip-ranges"].fix
    assert by_id["source-ip-ranges"].evidence["suggested_ranges"][0]["cidr"] == "203.0.113.0/24"


def test_probe_false_makes_no_login_attempt():
    conn, found = run_checks("demo:token-missing", probe=False)
    by_id = {f.id: f for f in found}
    assert by_id["probe-login-password-only"].status == "skip"
    assert conn.counter.logins == 1   # sfdoctor's own OAuth token only
    assert findings.root_causes(found) == ["TOKEN_MISSING", "SOURCE_IP_UNTRUSTED"]   # from LoginHistory


@pytest.mark.parametrize("lang, unlock", [("en", "Unlock"), ("ja", "ロック解除")])
def test_a_locked_user_gets_the_locked_case_with_the_user_not_the_menu(lang, unlock):
    _, _, found = H.run_steps(RUNBOOK, "demo:user-locked", sectoken.Facts, sectoken.STEPS, lang)
    fails = [f for f in found if f.status == "fail" and f.cause == "PASSWORD_INVALID"]
    assert fails
    for f in fails:
        assert unlock in f.fix and "sync@acme.example" in f.fix, f.fix
        assert "which" not in f.fix and "unknown_username" not in f.fix and "Unfreeze" not in f.fix


@pytest.mark.parametrize("scenario, lang, where", [("token-missing", "en", "Network Access"),
                                                   ("token-missing", "ja", "ネットワークアクセス")])
def test_an_untrusted_address_gets_the_range_to_add_not_the_evidence_key(scenario, lang, where):
    _, _, found = H.run_steps(RUNBOOK, f"demo:{scenario}", sectoken.Facts, sectoken.STEPS, lang)
    [f] = [f for f in found if f.id == "source-ip-ranges"]
    first = f.evidence["suggested_ranges"][0]
    assert where in f.fix and str(first["start"]) in f.fix, f.fix
    assert "suggested_ranges" not in f.fix and "profile_login_ip_ranges" not in f.fix


@pytest.mark.parametrize("lang, says", [
    ("en", "etl@acme.example's logins failed most often for a missing security token ({n} times)"),
    ("ja", "最も多いのは etl@acme.example ({n} 回)")])
def test_without_a_username_the_user_failing_most_is_diagnosed_and_the_others_named(lang, says):
    """No `-p username` and no probe user in the world: the window's LoginHistory names the
    users whose logins failed for a missing token; the first is diagnosed, the others listed
    with their counts; the demo operator does not pick anyone."""
    conn, found = run_checks("demo:token-unnamed-user", lang)
    assert "probe_username" not in conn.operator
    [first] = [f for f in found if f.id == "failing-users"]
    n = first.evidence["token_failures_by_user"]["etl@acme.example"]   # 90, plus an earlier test's probe in this world
    assert says.format(n=n) in first.summary and "reports@acme.example (4)" in first.summary
    assert findings.outcome(found) == "problems_found"
    assert all(f.evidence.get("username") in (None, "etl@acme.example") for f in found)


@pytest.mark.parametrize("lang, says", [("en", "no user's login failed for a missing security token"),
                                        ("ja", "セキュリティトークン不足でログインに失敗したユーザーはいません")])
def test_without_a_username_and_no_token_failure_the_run_says_so_and_is_healthy(lang, says):
    conn, found = run_checks("demo:healthy", lang)
    [first] = [f for f in found if f.id == "failing-users"]
    assert says in first.summary and first.evidence["token_failures_by_user"] == {}
    assert findings.outcome(found) == "healthy" and conn.counter.logins == 1   # no probe: nobody to probe


def test_a_named_user_needs_no_search():
    conn, found = run_checks("demo:token-missing")
    assert not [f for f in found if f.id == "failing-users"]


_INSIDE_THE_RANGES = """
    runbook: security-token-required
    client_ip: 198.51.100.20
    salesforce:
      my_domain: acme
      edition: Enterprise Edition
      profiles:
        - name: Integration
          api_enabled: true
          login_ip_ranges:
            - {start: 198.51.100.0, end: 198.51.100.255, description: Office}
      users:
        - {username: admin@acme.example, password: Adm1n-pass, profile: System Administrator, admin: true}
        - {username: sync@acme.example, password: Sync-pass-1, profile: Integration}
      login_history:
        - {username: sync@acme.example, at: -3d, count: 20, every: 1h, source_ip: 198.51.100.20,
           login_type: Partner Product, application: Marketo, api_type: SOAP Partner, api_version: "59.0"}
    operator:
      reset_link_missing: true
"""


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_reset_hidden_by_ranges_says_no_token_is_needed_inside_them(write_scenario, lang):
    """The integration's address (given) is inside the profile's login IP ranges: the fix is to use
    the password alone, naming the address, the user and the profile, not the menu of both cases."""
    org = "demo:" + write_scenario(_INSIDE_THE_RANGES)
    _, _, found = H.run_steps(RUNBOOK, org, sectoken.Facts, sectoken.STEPS, lang, username="sync@acme.example",
                              probe=False, source_ip="198.51.100.20")
    reset = {f.id: f for f in found}["reset-link-ip-ranges"]
    assert reset.status == "warn" and reset.evidence["classified"] == {"profile": ["198.51.100.20"]}
    for value in ("198.51.100.20", "sync@acme.example", "Integration"):
        assert value in reset.fix, reset.fix
    assert "suggested_ranges" not in reset.evidence
    assert ("New:" not in reset.fix) and ("新規" not in reset.fix)   # nothing to add: the outside case's step


def test_reset_hidden_by_ranges_without_a_known_address_keeps_the_profiles_text(write_scenario):
    """No failing login and no address given: the fix names the profile and says both cases (the
    address is not known), and the registry did not fall back to the cause's text."""
    org = "demo:" + write_scenario(_INSIDE_THE_RANGES)
    _, _, found = H.run_steps(RUNBOOK, org, sectoken.Facts, sectoken.STEPS, "en", username="sync@acme.example",
                              probe=False)
    reset = {f.id: f for f in found}["reset-link-ip-ranges"]
    assert "source_ips" not in reset.evidence and "Profiles > Integration > Login IP Ranges" in reset.fix

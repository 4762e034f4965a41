"""mc-missing-oauth-token's checks without a kernel: the pure rules, then every built-in
scenario (and a few written here) through the in-process simulator.

The notebook runs (`sfdoctor run`) are in test_runbook_mc.py.
"""
from __future__ import annotations

import textwrap
from ipaddress import ip_address
from pathlib import Path

import pytest
import yaml

import runbook_harness as H
from sfdoctor import findings, orgs, runbooks
from sfdoctor.checks import mc_allowlist as al
from sfdoctor.runbook_checks import mc_missing_oauth_token as mc
from sfdoctor.checks import mc_user as mu

RUNBOOK = "mc-missing-oauth-token"

# scenario -> (root causes, warnings, {check id: (status, evidence subset)})
EXPECTED = {
    "mc-healthy": ([], [], {"mc-login": ("pass", {"login_attempts": 1}), "mc-allowlist": ("pass", {})}),
    "mc-ip-not-allowlisted": (["MC_IP_NOT_ALLOWLISTED"], ["MC_API_USERS_NOT_EXEMPT_FROM_EXPIRY"],
                              {"mc-allowlist": ("fail", {"ranges_to_add": [
                                  {"start": "203.0.113.40", "end": "203.0.113.41", "cidrs": ["203.0.113.40/31"]}]}),
                               "mc-login": ("fail", {"answer": "IP_NOT_ALLOWLISTED", "source_ip": "203.0.113.40"}),
                               "mc-login-here": ("pass", {"login_attempts": 2, "source_ip": "198.51.100.20"})}),
    "mc-password-expired": (["MC_PASSWORD_EXPIRED"], ["MC_USER_NOT_API_USER", "MC_API_USERS_NOT_EXEMPT_FROM_EXPIRY"],
                            {"mc-allowlist": ("pass", {"enabled": "off"}),
                             "mc-user": ("fail", {"MustChangePassword": True}),
                             "mc-login": ("fail", {"answer": "PASSWORD_EXPIRED", "data_cloud_message":
                                                   "Change your expired Marketing Cloud password and try again"})}),
    "mc-credentials-invalid": (["MC_CREDENTIALS_INVALID"], [],
                               {"mc-user": ("pass", {}), "mc-login": ("fail", {"which": "wrong_password"})}),
    "mc-user-locked": (["MC_CREDENTIALS_INVALID"], [],
                       {"mc-user": ("fail", {"which": "locked"}), "mc-login": ("skip", {"login_attempts": 0})}),
    "mc-user-inactive": (["MC_CREDENTIALS_INVALID"], [],
                         {"mc-user": ("fail", {"which": "inactive"}), "mc-login": ("skip", {"login_attempts": 0})}),
    "mc-not-api-user": ([], ["MC_USER_NOT_API_USER"],
                        {"mc-api-user": ("warn", {"IsAPIUser": False}), "mc-password-policy": ("pass", {})}),
}


def run_checks(org: str, lang: str = "en", **params):
    conn, _, found = H.run_steps(RUNBOOK, org, mc.Facts, mc.STEPS, lang, **params)
    return conn, found


# --------------------------------------------------------------------------- allowlist: parsing and coverage

@pytest.mark.parametrize("text, start, end", [
    ("192.0.2.0 - 192.0.2.255 Head office", "192.0.2.0", "192.0.2.255"),
    ("192.0.2.0-192.0.2.255", "192.0.2.0", "192.0.2.255"),
    ("192.0.2.0 \u2013 192.0.2.9", "192.0.2.0", "192.0.2.9"),
    ("192.0.2.0 to 192.0.2.9", "192.0.2.0", "192.0.2.9"),
    ("192.0.2.0\t192.0.2.255\tHQ-office", "192.0.2.0", "192.0.2.255"),
    ("203.0.113.0/24", "203.0.113.0", "203.0.113.255"),
    ("203.0.113.7/24", "203.0.113.0", "203.0.113.255"),
    ("203.0.113.7", "203.0.113.7", "203.0.113.7"),
    ("2001:db8::/126", "2001:db8::", "2001:db8::3"),
])
def test_entries_as_setup_shows_them(text, start, end):
    span = al.parse_entry(text)
    assert (span.start, span.end) == (ip_address(start), ip_address(end))


@pytest.mark.parametrize("text", ["192.0.2.300", "Head office", "192.0.2.9 - 192.0.2.1", "192.0.2.1 -",
                                  "10.0.0.0/33", "192.0.2.1 - 2001:db8::1"])
def test_bad_entries_are_one_line_errors(text):
    with pytest.raises(al.AllowlistError) as err:
        al.parse_entries(["192.0.2.0/24", text], name="ip_allowlist")
    assert "ip_allowlist entry 2" in str(err.value) and "\n" not in str(err.value)


def test_comma_separated_text_and_comments():
    spans = al.parse_entries("192.0.2.1, 192.0.2.2\n# office\n198.51.100.0/24")
    assert [s.label() for s in spans] == ["192.0.2.1", "192.0.2.2", "198.51.100.0/24"]


@pytest.mark.parametrize("text, labels, descriptions", [
    # Setup lets a description hold commas: only a comma followed by an address starts a new entry
    ("198.18.6.1 - 198.18.6.1 Data Cloud, Tokyo region", ["198.18.6.1"], ["Data Cloud, Tokyo region"]),
    ("192.0.2.0/24 HQ, 2nd floor, 198.51.100.7", ["192.0.2.0/24", "198.51.100.7"], ["HQ, 2nd floor", ""]),
    ("10.0.0.0/8, 2001:db8::/32 v6", ["10.0.0.0/8", "2001:db8::/32"], ["", "v6"]),
    ("192.0.2.7 to be removed", ["192.0.2.7"], ["to be removed"]),     # a description starting with "to"
])
def test_descriptions_keep_their_commas(text, labels, descriptions):
    spans = al.parse_entries([text])
    assert [s.label() for s in spans] == labels and [s.description for s in spans] == descriptions


def test_validate_allowlist_entries_names_the_bad_entry():
    al.validate_allowlist_entries(["192.0.2.0/24", "198.51.100.1 - 198.51.100.9 Office, east", "2001:db8::1"])
    al.validate_allowlist_entries([])
    with pytest.raises(ValueError) as err:
        al.validate_allowlist_entries(["192.0.2.0/24", "192.0.2.1 - 192.0.2.999"])
    assert "entry 2" in str(err.value) and "192.0.2.999" in str(err.value) and "\n" not in str(err.value)


def test_exported_csv_with_a_quoted_description():
    text = 'Start IP,End IP,Description\n192.0.2.0,192.0.2.255,"Data Cloud, Tokyo"\n'
    (span,) = al.parse_file_text(text)
    assert span.label() == "192.0.2.0/24" and span.description == "Data Cloud, Tokyo"


def test_exported_file_with_header_and_rows():
    text = "Start IP Address,End IP Address,Description\n192.0.2.0,192.0.2.255,Office\n\n203.0.113.9\n"
    assert [s.label() for s in al.parse_file_text(text)] == ["192.0.2.0/24", "203.0.113.9"]
    with pytest.raises(al.AllowlistError, match="line 2"):
        al.parse_file_text("Start,End\n192.0.2.0,192.0.2.999,Office\n")


def test_coverage_is_exact_and_minimal():
    allow = al.parse_entries(["203.0.113.0 - 203.0.113.41", "203.0.113.44/30"])
    dc = al.parse_entries(["203.0.113.40", "203.0.113.40/28", "198.51.100.1"])
    rows = al.coverage(dc, allow)
    assert [r.status for r in rows] == ["covered", "partly", "not_covered"]
    # .40/28 is .32-.47: .32-.41 and .44-.47 are covered, .42-.43 are not
    assert rows[1].to_json()["to_add"] == ["203.0.113.42/31"]
    assert rows[1].to_json()["covered_by"] == ["203.0.113.0 – 203.0.113.41", "203.0.113.44/30"]
    assert al.ranges_to_add(rows) == [
        {"start": "198.51.100.1", "end": "198.51.100.1", "cidrs": ["198.51.100.1/32"]},
        {"start": "203.0.113.42", "end": "203.0.113.43", "cidrs": ["203.0.113.42/31"]}]


def test_adjacent_gaps_merge_into_one_range_with_its_cidrs():
    rows = al.coverage(al.parse_entries(["10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]), [])
    assert al.ranges_to_add(rows) == [{"start": "10.0.0.3", "end": "10.0.0.6",
                                       "cidrs": ["10.0.0.3/32", "10.0.0.4/31", "10.0.0.6/32"]}]


def test_table_html_names_each_address_and_its_range():
    rows = al.coverage(al.parse_entries(["203.0.113.40", "203.0.113.99"]), al.parse_entries(["203.0.113.0/26"]))
    labels = {k: k for k in ("col_address", "col_status", "col_by", "col_add",
                             "status_covered", "status_partly", "status_not_covered")}
    page = al.table_html(rows, labels)
    assert page.count("<tr>") == 3 and "203.0.113.0/26" in page and "203.0.113.99/32" in page
    assert "<script" not in page


# --------------------------------------------------------------------------- the user: pure rules

def test_an_exempt_api_user_is_never_expired():
    exempt = mu.exempt_from_expiry(True, 90, True)
    assert exempt is True
    assert mu.user_verdict({"ActiveFlag": True, "IsLocked": False, "IsAPIUser": True, "MustChangePassword": True},
                           exempt=exempt) == mu.Verdict("fail", "MC_CREDENTIALS_INVALID", "must_change_password")
    assert mu.user_verdict({"ActiveFlag": True, "IsLocked": False, "IsAPIUser": False, "MustChangePassword": True},
                           exempt=False).cause == "MC_PASSWORD_EXPIRED"


@pytest.mark.parametrize("reason, exempt, is_api, which", [
    ("PASSWORD_EXPIRED", True, True, "must_change_password"),   # exempt API user: a reset, not expiry
    ("PASSWORD_EXPIRED", False, True, None),                    # not exempt: expired
    ("PASSWORD_EXPIRED", True, False, None),                    # an ordinary user is never exempt by the API rule
    ("PASSWORD_EXPIRED", None, True, None),                     # policy not known: the login's word stands
])
def test_a_login_asking_for_a_new_password_respects_the_exemption(reason, exempt, is_api, which):
    verdict = mu.login_verdict(reason, {"IsAPIUser": is_api}, exempt=exempt)
    assert verdict.which == which
    assert verdict.cause == ("MC_CREDENTIALS_INVALID" if which else "MC_PASSWORD_EXPIRED")


@pytest.mark.parametrize("is_api, expires, exclude, exempt", [
    (True, 90, True, True), (True, 90, False, False), (False, 90, True, False), (False, mu.NEVER, False, True),
    (True, mu.UNKNOWN, None, None), (None, 90, True, None),
])
def test_who_the_policy_can_expire(is_api, expires, exclude, exempt):
    assert mu.exempt_from_expiry(is_api, expires, exclude) is exempt


@pytest.mark.parametrize("text, value", [("90", 90), ("90 days", 90), ("30日", 30), ("never", mu.NEVER),
                                         ("0", mu.NEVER), ("", mu.UNKNOWN), ("無期限", mu.NEVER)])
def test_expires_in_answers(text, value):
    assert mu.parse_expires_in(text) == value


def test_expires_in_nonsense_is_a_one_line_error():
    with pytest.raises(ValueError, match="number of days"):
        mu.parse_expires_in("soon")


def test_policy_and_user_type_decide_the_prevention_warnings():
    assert mu.policy_verdict(90, False).cause == "MC_API_USERS_NOT_EXEMPT_FROM_EXPIRY"
    assert mu.policy_verdict(90, True).status == "pass"
    assert mu.policy_verdict(mu.NEVER, False).status == "pass"
    assert mu.policy_verdict(mu.UNKNOWN, None).status == "manual"
    assert mu.api_user_verdict({"IsAPIUser": False}).cause == "MC_USER_NOT_API_USER"
    assert mu.api_user_verdict(None).status == "skip"


# --------------------------------------------------------------------------- scenarios

@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_scenario_causes(scenario):
    roots, warns, extra = EXPECTED[scenario]
    conn, found = run_checks(f"demo:{scenario}")
    H.assert_findings(found, roots, warns, extra)
    stats = conn.counter.snapshot()
    # sfdoctor's own sign-in + /v2/token + one Retrieve; the user logins are the simulator's stand-in
    assert stats["total"] == 3, stats
    assert stats["by_endpoint"] == {"POST /services/oauth2/token": 1, "POST /v2/token": 1, "POST /Service.asmx": 1}
    assert sum(1 for f in found if f.id.startswith("mc-login") and f.evidence.get("answer")) <= 2   # principle 7
    mc_info = conn.info.marketing_cloud
    H.assert_no_secret_and_declared_fixes(
        RUNBOOK, found, conn.secrets | {mc_info.client_secret} | {u.password for u in mc_info.users})


def test_every_cause_code_is_reached_by_a_scenario():
    reached = {c for roots, warns, _ in EXPECTED.values() for c in roots + warns}
    assert set(runbooks.load(RUNBOOK).stable_causes()) <= reached


# --------------------------------------------------------------------------- outside review: tests/scenarios/mc

ADVERSARIAL_DIR = Path(__file__).parent / "scenarios" / "mc"
_V4 = lambda a, b, *c: {"start": a, "end": b, "cidrs": list(c)}  # noqa: E731 - a ranges_to_add row

# Written by an outside reviewer, predicted from the seed and causes.md before running:
# file -> (outcome, root causes, warnings, login attempts, {check id: (status, evidence subset)})
ADVERSARIAL = {
    # CIDR blocks pasted, Data Cloud inside one of them
    "cidr-allowlist-covers": ("healthy", [], [], 1, {
        "mc-allowlist": ("pass", {"allowlist": ["192.0.2.0/24", "198.18.4.0/24"]}),
        "mc-login": ("pass", {"source_ip": "198.18.4.17"})}),
    # an "a - b" range covering the lower half of Data Cloud's /30: the login is tried where it is refused
    "partial-range": ("problems_found", ["MC_IP_NOT_ALLOWLISTED"], [], 2, {
        "mc-allowlist": ("fail", {"ranges_to_add": [_V4("203.0.113.42", "203.0.113.43", "203.0.113.42/31")]}),
        "mc-login": ("fail", {"answer": "IP_NOT_ALLOWLISTED", "source_ip": "203.0.113.42"}),
        "mc-login-here": ("pass", {"source_ip": "192.0.2.10"})}),
    # IPv6 block + single address + described range; the IPv6 Data Cloud address is covered
    "ipv6-mixed": ("problems_found", ["MC_IP_NOT_ALLOWLISTED"], [], 2, {
        "mc-allowlist": ("fail", {"ranges_to_add": [_V4("192.0.2.200", "192.0.2.200", "192.0.2.200/32")]}),
        "mc-login": ("fail", {"answer": "IP_NOT_ALLOWLISTED", "source_ip": "192.0.2.200"}),
        "mc-login-here": ("pass", {"source_ip": "192.0.2.5"})}),
    "disabled-empty": ("healthy", [], [], 1, {"mc-allowlist": ("pass", {"enabled": "off", "allowlist": []})}),
    # on, and nothing listed: everything refused, sfdoctor's address too (no second try)
    "enabled-empty": ("problems_found", ["MC_IP_NOT_ALLOWLISTED"], [], 1, {
        "mc-allowlist": ("fail", {"ranges_to_add": [_V4("198.18.9.10", "198.18.9.11", "198.18.9.10/31")]}),
        "mc-login-here": ("skip", {"login_attempts": 1})}),
    # expire_days null (the operator typed "0"): a 900-day-old password of a non-API user is fine
    "never-expire-non-api": ("healthy", [], ["MC_USER_NOT_API_USER"], 1, {
        "mc-user": ("pass", {"MustChangePassword": False}),
        "mc-password-policy": ("pass", {"user_passwords_expire_in": "never"})}),
    "api-not-exempt-old": ("problems_found", ["MC_PASSWORD_EXPIRED"], ["MC_API_USERS_NOT_EXEMPT_FROM_EXPIRY"], 1, {
        "mc-user": ("fail", {"MustChangePassword": True}), "mc-api-user": ("pass", {}),
        "mc-login": ("fail", {"answer": "PASSWORD_EXPIRED"})}),
    # an exempt API user's five-year-old password has not expired; descriptions hold commas
    "exempt-very-old": ("healthy", [], [], 1, {
        "mc-allowlist": ("pass", {"allowlist": ["192.0.2.31", "198.18.6.1", "198.18.6.2"]}),
        "mc-user": ("pass", {"MustChangePassword": False})}),
    "non-api-fresh": ("healthy", [], ["MC_USER_NOT_API_USER", "MC_API_USERS_NOT_EXEMPT_FROM_EXPIRY"], 1, {
        "mc-login": ("pass", {})}),
    "locked-non-api": ("problems_found", ["MC_CREDENTIALS_INVALID"], ["MC_USER_NOT_API_USER"], 0, {
        "mc-user": ("fail", {"which": "locked", "IsLocked": True}), "mc-login": ("skip", {"login_attempts": 0})}),
    "inactive-api": ("problems_found", ["MC_CREDENTIALS_INVALID"], ["MC_API_USERS_NOT_EXEMPT_FROM_EXPIRY"], 0, {
        "mc-user": ("fail", {"which": "inactive", "ActiveFlag": False}), "mc-login": ("skip", {})}),
    # the operator's password is wrong; overlapping ranges cover Data Cloud
    "wrong-password-operator": ("problems_found", ["MC_CREDENTIALS_INVALID"], ["MC_USER_NOT_API_USER"], 1, {
        "mc-allowlist": ("pass", {}), "mc-user": ("pass", {}),
        "mc-login": ("fail", {"which": "wrong_password", "answer": "INVALID_CREDENTIALS"})}),
    "user-missing": ("problems_found", ["MC_CREDENTIALS_INVALID"], [], 0, {
        "mc-user": ("fail", {"which": "unknown_user"}), "mc-login": ("skip", {}), "mc-api-user": ("skip", {})}),
    # sfdoctor's own package is refused: an error naming it, no cause; the login still tells
    "invalid-client": ("inconclusive", [], [], 1, {
        "mc-user": ("error", {"which": "installed_package", "http_status": 401, "code": "invalid_client"}),
        "mc-api-user": ("skip", {}), "mc-login": ("pass", {})}),
    # an admin's reset of an exempt API user is no expiry, on the wire nor at the login
    "must-change-exempt": ("problems_found", ["MC_CREDENTIALS_INVALID"], [], 1, {
        "mc-user": ("fail", {"which": "must_change_password", "MustChangePassword": True}),
        "mc-login": ("fail", {"which": "must_change_password", "answer": "PASSWORD_EXPIRED"})}),
    # for a user the policy can expire, a forced change reads as expiry (the wire shows no password age)
    "must-change-non-api": ("problems_found", ["MC_PASSWORD_EXPIRED"],
                            ["MC_USER_NOT_API_USER", "MC_API_USERS_NOT_EXEMPT_FROM_EXPIRY"], 1, {
        "mc-user": ("fail", {"MustChangePassword": True}), "mc-login": ("fail", {"answer": "PASSWORD_EXPIRED"})}),
}


def test_every_adversarial_file_has_a_prediction():
    assert sorted(p.stem for p in ADVERSARIAL_DIR.glob("*.yml")) == sorted(ADVERSARIAL)


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_scenario(name):
    outcome, roots, warns, attempts, extra = ADVERSARIAL[name]
    conn, found = run_checks(f"demo:{ADVERSARIAL_DIR / (name + '.yml')}")
    H.assert_findings(found, roots, warns, extra)
    assert findings.outcome(found) == outcome
    assert conn.counter.probe_logins == attempts                       # the report's "login attempts"
    assert max(f.evidence.get("login_attempts", 0) for f in found) == attempts
    own = {"POST /services/oauth2/token": 1, "POST /v2/token": 1}
    assert conn.counter.snapshot()["by_endpoint"] == (own if name == "invalid-client" else {**own, "POST /Service.asmx": 1})
    doc = yaml.safe_load((ADVERSARIAL_DIR / f"{name}.yml").read_text(encoding="utf-8"))
    mcw, op = doc.get("marketing_cloud", {}), doc.get("operator", {})
    secrets = {mcw.get("client_secret"), op.get("mc_password"), op.get("mc_client_secret")}
    secrets |= {u.get("password") for u in mcw.get("users", [])}
    H.assert_no_secret_and_declared_fixes(RUNBOOK, found, conn.secrets | {s for s in secrets if s})
    for f in found:
        assert "\n" not in f.summary and "Traceback" not in f.summary


def test_invalid_client_says_it_is_sfdoctors_own_access_in_both_languages():
    org = f"demo:{ADVERSARIAL_DIR / 'invalid-client.yml'}"
    for lang, words in (("en", ("sfdoctor's own access", "Installed Packages", "not what Data Cloud")),
                        ("ja", ("sfdoctor 自身のアクセス", "インストール済みパッケージ", "原因でもありません"))):
        _, found = run_checks(org, lang)
        user = {f.id: f for f in found}["mc-user"]
        assert all(w in user.summary for w in words), user.summary
        assert "nami-PKG-secret" not in user.summary


def test_expire_days_zero_is_a_one_line_load_error(write_scenario):
    """The scenario format says null for "never"; 0 is refused by name, not read as 0 days."""
    from sfdoctor.demo.scenario import ScenarioError, load_scenario

    path = write_scenario("runbook: mc-missing-oauth-token\nmarketing_cloud:\n  password_policy: {expire_days: 0}\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert "marketing_cloud.password_policy.expire_days" in str(err.value) and "\n" not in str(err.value)


# The seed's order of what to do: the allowlist, then the password, then prevention.
SEED_ORDER = ["MC_IP_NOT_ALLOWLISTED", "MC_CREDENTIALS_INVALID", "MC_PASSWORD_EXPIRED",
              "MC_USER_NOT_API_USER", "MC_API_USERS_NOT_EXEMPT_FROM_EXPIRY"]


def _answer_order(found) -> list[str]:
    """The causes in the order the answer (summary, report, done line) gives their steps."""
    from sfdoctor.report import summary_fixes

    return list(summary_fixes({"checks": [f.to_json() for f in found]}))


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_the_answer_gives_the_steps_in_the_seeds_order(scenario):
    """No check of its own orders the steps: the checks run in the seed's order, so the answer does."""
    _, found = run_checks(f"demo:{scenario}")
    order = _answer_order(found)
    assert order == sorted(order, key=SEED_ORDER.index)
    assert "mc-next-steps" not in {f.id for f in found} and findings.not_checked(found) == []


def test_fix_follows_the_seeds_order():
    _, found = run_checks("demo:mc-password-expired")
    assert _answer_order(found) == ["MC_PASSWORD_EXPIRED", "MC_USER_NOT_API_USER", "MC_API_USERS_NOT_EXEMPT_FROM_EXPIRY"]
    fix = {f.cause: f.fix for f in found if f.cause}["MC_PASSWORD_EXPIRED"]
    assert "signing in as dc-integration" in fix
    assert fix.index("signing in as dc-integration") < fix.index("wizard") < fix.index("Prevent a recurrence")


def test_a_disabled_allowlist_passes_whatever_the_lists_say():
    _, found = run_checks("demo:mc-healthy", ip_allowlist_enabled="off", ip_allowlist=["10.0.0.0/8"])
    by_id = {f.id: f for f in found}
    assert by_id["mc-allowlist"].status == "pass" and by_id["mc-allowlist"].evidence["enabled"] == "off"


def test_operator_parameters_override_the_world_and_are_recorded():
    """A pasted list missing one Data Cloud address: fail, with exactly that address to add."""
    _, found = run_checks("demo:mc-healthy", ip_allowlist=["203.0.113.40"], data_cloud_ips=["203.0.113.40, 203.0.113.41"])
    a = {f.id: f for f in found}["mc-allowlist"]
    assert a.status == "fail" and a.cause == "MC_IP_NOT_ALLOWLISTED"
    assert a.evidence["ranges_to_add"] == [{"start": "203.0.113.41", "end": "203.0.113.41", "cidrs": ["203.0.113.41/32"]}]


def test_unknown_allowlist_state_with_missing_addresses_is_manual():
    """A real account's operator who pasted the ranges but did not say whether the list is on."""
    facts = mc.Facts(ip_allowlist=["198.51.100.0/24"], data_cloud_ips=["203.0.113.40"])
    (a,) = mc.allowlist(None, facts, lang="en")
    assert (a.status, a.cause) == ("manual", "MC_IP_NOT_ALLOWLISTED") and a.fix
    (b,) = mc.allowlist(None, mc.Facts(data_cloud_ips=["203.0.113.40"]), lang="en")
    assert b.status == "manual" and b.cause is None
    (c,) = mc.allowlist(None, mc.Facts(ip_allowlist_enabled="on", ip_allowlist=["198.51.100.0/24"]), lang="en")
    assert c.status == "manual" and "Data Cloud" in c.summary     # no Data Cloud addresses given


def test_demo_operator_answers_only_what_was_left_at_its_default():
    class Conn:
        operator = {"mc_ip_allowlist": {"enabled": True, "ranges": [{"start": "192.0.2.0", "end": "192.0.2.255"}]},
                    "mc_password_policy": {"expire_days": None, "exclude_api_users": False},
                    "data_cloud_egress_ips": ["203.0.113.40"], "data_cloud_mc_username": "dc-integration",
                    "exclude_api_users": True}
    facts = mc.Facts.from_params(Conn(), ip_allowlist_enabled="off")
    assert facts.ip_allowlist_enabled == "off"                      # given: kept
    assert facts.ip_allowlist == ["192.0.2.0 - 192.0.2.255"]         # the world, as Setup shows it
    assert facts.password_expires_in == mu.NEVER                     # expire_days null: never
    assert facts.exclude_api_users == "yes"                          # a flat operator key wins
    assert facts.mc_username == "dc-integration" and facts.data_cloud_ips == ["203.0.113.40"]
    assert "ip_allowlist_enabled" not in facts.answered_by and facts.answered_by["ip_allowlist"] == "operator"


def test_bad_allowlist_entry_is_an_error_finding_not_a_traceback():
    _, found = run_checks("demo:mc-healthy", ip_allowlist=["192.0.2.0 - 192.0.2.999"])
    a = {f.id: f for f in found}["mc-allowlist"]
    assert a.status == "error" and "192.0.2.999" in a.summary and "\n" not in a.summary
    assert "Traceback" not in a.summary


def test_allowlist_file(tmp_path):
    path = tmp_path / "allowlist.csv"
    path.write_text("Start,End,Description\n203.0.113.32,203.0.113.47,Data Cloud\n", encoding="utf-8")
    _, found = run_checks("demo:mc-healthy", ip_allowlist=["198.51.100.0/24"], ip_allowlist_file=str(path))
    assert {f.id: f for f in found}["mc-allowlist"].status == "pass"
    _, found = run_checks("demo:mc-healthy", ip_allowlist_file=str(tmp_path / "missing.csv"))
    a = {f.id: f for f in found}["mc-allowlist"]
    assert a.status == "error" and "cannot be read" in a.summary


def test_probe_off_makes_no_login():
    conn, found = run_checks("demo:mc-password-expired", probe=False)
    by_id = {f.id: f for f in found}
    assert by_id["mc-login"].status == "skip"
    assert findings.root_causes(found) == ["MC_PASSWORD_EXPIRED"]   # MustChangePassword on the wire still tells


def test_japanese_texts():
    _, found = run_checks("demo:mc-password-expired", lang="ja")
    by_id = {f.id: f for f in found}
    assert "期限切れ" in by_id["mc-login"].summary
    assert "ウィザード" in by_id["mc-login"].fix


# A world whose allowlist holds only the office network (sfdoctor's address), not Data Cloud's.
ALLOWLISTED_OFFICE = textwrap.dedent("""
    runbook: mc-missing-oauth-token
    client_ip: 198.51.100.20
    salesforce:
      my_domain: acme
      users:
        - {username: admin@acme.example, password: Adm1n-pass, security_token: AAAAtokenAAAA,
           profile: System Administrator, admin: true}
    marketing_cloud:
      ip_allowlist: {enabled: true, ranges: [{start: 198.51.100.0, end: 198.51.100.255}]}
    """)


def _scenario(write_scenario, head: str, body: str = "") -> str:
    """`head` plus `body` as written in the test, 8 columns in (so body keys nest under head's)."""
    lines = [line[8:] if line.startswith(" " * 8) else line.lstrip() for line in body.splitlines()]
    return f"demo:{write_scenario(head + chr(10).join(lines) + chr(10))}"


def test_operator_who_says_the_allowlist_is_off_is_contradicted_by_the_wire(write_scenario):
    org = _scenario(write_scenario, ALLOWLISTED_OFFICE, """
          password_policy: {expire_days: 90, exclude_api_users: true}
          users: [{username: dc-integration, password: Mc-pass-1, api_user: true}]
        operator:
          ip_allowlist_enabled: "off"
        """)
    _, found = run_checks(org)
    by_id = {f.id: f for f in found}
    assert by_id["mc-allowlist"].status == "pass"
    assert by_id["mc-login"].cause == "MC_IP_NOT_ALLOWLISTED"
    assert "look at the allowlist again" in by_id["mc-login"].summary
    assert findings.root_causes(found) == ["MC_IP_NOT_ALLOWLISTED"]


def test_expired_password_behind_the_allowlist_is_found_by_the_second_attempt(write_scenario):
    org = _scenario(write_scenario, ALLOWLISTED_OFFICE, """
          password_policy: {expire_days: 30, exclude_api_users: false}
          users: [{username: dc-integration, password: Mc-pass-1, api_user: true, password_changed_at: -45d}]
        """)
    _, found = run_checks(org)
    assert findings.root_causes(found) == ["MC_IP_NOT_ALLOWLISTED", "MC_PASSWORD_EXPIRED"]
    assert findings.warnings(found) == ["MC_API_USERS_NOT_EXEMPT_FROM_EXPIRY"]
    assert _answer_order(found) == ["MC_IP_NOT_ALLOWLISTED", "MC_PASSWORD_EXPIRED", "MC_API_USERS_NOT_EXEMPT_FROM_EXPIRY"]


def test_unknown_username_is_credentials_invalid_without_a_login(write_scenario):
    _, found = run_checks("demo:mc-healthy", mc_username="dc-integraton")
    by_id = {f.id: f for f in found}
    assert by_id["mc-user"].evidence["which"] == "unknown_user"
    assert by_id["mc-login"].status == "skip"
    assert findings.root_causes(found) == ["MC_CREDENTIALS_INVALID"]


@pytest.mark.parametrize("answer, status, cause", [
    ("not_tried", "manual", None), ("logged_in", "pass", None),
    ("asked_to_change_password", "fail", "MC_PASSWORD_EXPIRED"), ("refused", "fail", "MC_CREDENTIALS_INVALID"),
])
def test_a_real_account_records_the_operators_web_login(answer, status, cause):
    """No API signs in as a Marketing Cloud user: the seed's own test (a web login) is the operator's answer."""
    from types import SimpleNamespace

    conn = SimpleNamespace(org_ref=orgs.OrgRef(name="prod", kind="real", slug="prod", config={}),
                           secrets=set(), info=None, operator={}, base_url=None)
    facts = mc.Facts(mc_username="dc-integration", web_login_result=answer)
    (f,) = mc.login(conn, facts, lang="en")
    assert (f.status, f.cause) == (status, cause)
    assert f.evidence["login_attempts"] == 0 and f.evidence["answered_by"] == "operator"
    assert "user" in facts.read_errors          # the package is not configured: said, not raised here


# --------------------------------------------------------------------------- principle 7: the scheduler's memory

@pytest.mark.parametrize("org, failed", [("demo:mc-credentials-invalid", True), ("demo:mc-healthy", False),
                                         ("demo:mc-ip-not-allowlisted", True)])
def test_the_logins_tried_are_what_the_schedulers_probe_memory_reads(org, failed):
    """Each login finding lists its own attempt with `ok`, as the Salesforce probes do, so a
    scheduled run whose login was refused does not try the same password again."""
    from sfdoctor import schedule

    _, found = run_checks(org)
    findings = {"checks": [f.to_json() for f in found]}
    assert schedule.probe_ran(findings) and schedule.probe_failed(findings) is failed


def test_the_probe_fingerprint_follows_the_integration_users_password():
    """Not the Salesforce probe user's: the password Data Cloud holds for the MC user."""
    from sfdoctor import schedule

    wrong = schedule.probe_fingerprint("demo:mc-credentials-invalid", RUNBOOK, {}, "salt-1")
    right = schedule.probe_fingerprint("demo:mc-healthy", RUNBOOK, {}, "salt-1")
    assert wrong and right and wrong != right and wrong.startswith("hmac-sha256:")
    assert schedule.probe_fingerprint("demo:mc-healthy", RUNBOOK, {}, "salt-2") != right
    assert schedule.probe_fingerprint("demo:mc-healthy", RUNBOOK, {"mc_username": "nobody-here"}, "salt-1") is None


def test_the_notebook_shows_the_coverage_table_only_beyond_what_the_card_lists(monkeypatch):
    """The mc-allowlist card's evidence lists each address's coverage (up to MAX_LISTED): a second
    table of the same rows under it would show every address twice in the report."""
    import IPython.display

    shown: list = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **kw: shown.append((a, kw)))
    few = mc.Facts(mc_username="dc-integration")
    few.rows = al.coverage(al.parse_entries(["203.0.113.40", "203.0.113.41"]), [])
    mc.show_allowlist(few, "en")
    assert shown == []
    many = mc.Facts(mc_username="dc-integration")
    many.rows = al.coverage(al.parse_entries([f"203.0.113.{i}" for i in range(mc.MAX_LISTED + 5)]), [])
    mc.show_allowlist(many, "en")
    assert len(shown) == 1 and shown[0][1]["metadata"] == {"sfdoctor.check": "mc-allowlist"}

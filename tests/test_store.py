"""World: login decisions and their LoginHistory rows, lockout, sessions, catalog, speed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sfdoctor.demo.scenario import load_scenario, parse_scenario_text
from sfdoctor.demo.store import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, World, case_safe_id

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)

BASE = """
name: unit
client_ip: 203.0.113.7
salesforce:
  my_domain: acme
  trusted_ip_ranges: [{start: 198.51.100.0, end: 198.51.100.255, description: Head office}]
  profiles:
    - {name: Marketo Sync, api_enabled: true}
    - {name: Office Only, api_enabled: true, login_ip_ranges: [{start: 192.0.2.0, end: 192.0.2.255}]}
    - {name: No API, api_enabled: false, max_login_attempts: 3}
  permission_sets: [{name: API Access, api_enabled: true}]
  users:
    - {username: admin@acme.example, password: Adm1n-pass, security_token: AAAA, profile: System Administrator, admin: true}
    - {username: sync@acme.example, password: Sync-pass-1, security_token: BBBB, profile: Marketo Sync}
    - {username: office@acme.example, password: Off-pass-1, security_token: CCCC, profile: Office Only}
    - {username: noapi@acme.example, password: No-pass-1, security_token: DDDD, profile: No API}
    - {username: granted@acme.example, password: Gr-pass-1, security_token: EEEE, profile: No API, permission_sets: [API Access]}
    - {username: gone@acme.example, password: Gone-pass-1, security_token: FFFF, active: false}
    - {username: ice@acme.example, password: Ice-pass-1, security_token: GGGG, frozen: true}
    - {username: locked@acme.example, password: Lock-pass-1, security_token: HHHH, locked: true}
    - {username: old@acme.example, password: Old-pass-1, security_token: IIII, password_expired: true}
  objects:
    Lead:
      fields:
        - {name: mkto71_Lead_Score__c, label: Score, type: double, hidden_from: [Marketo Sync]}
  records:
    Lead:
      - {FirstName: Aiko, LastName: Sato, Email: aiko@example.jp, Company: Example KK, mkto71_Lead_Score__c: 35, CreatedDate: -2d}
"""


def make_world(text: str = BASE, **edits: object) -> World:
    return World(parse_scenario_text(text, source="unit.yml"), clock=lambda: NOW)


@pytest.fixture
def world() -> World:
    return make_world()


def history(world: World) -> list[dict]:
    return world.catalog_for(world.user_by_username("admin@acme.example")["Id"]).rows("LoginHistory")


def login(world: World, username: str, secret: str, host: str = "login.salesforce.com", channel: str = "soap",
          ip: str | None = None):
    return world.password_login(username, secret, host=host, channel=channel, source_ip=ip)


@pytest.mark.parametrize("username, secret, ip, reason, status", [
    ("sync@acme.example", "Sync-pass-1", None, "TOKEN_REQUIRED", "Failed: API security token required"),
    ("sync@acme.example", "Sync-pass-1", "198.51.100.9", "OK", "Success"),
    ("sync@acme.example", "Sync-pass-1BBBB", None, "OK", "Success"),
    ("sync@acme.example", "Sync-pass-1BBBB", "198.51.100.9", "OK", "Success"),
    ("sync@acme.example", "Sync-pass-1OLD0", None, "INVALID_TOKEN", "Invalid Password"),
    ("sync@acme.example", "Wrong-pass", None, "INVALID_PASSWORD", "Invalid Password"),
    ("sync@acme.example", "", None, "INVALID_PASSWORD", "Invalid Password"),
    ("office@acme.example", "Off-pass-1CCCC", None, "RESTRICTED_IP", "Restricted IP"),
    ("office@acme.example", "Off-pass-1", None, "RESTRICTED_IP", "Restricted IP"),
    ("office@acme.example", "Off-pass-1", "192.0.2.10", "OK", "Success"),   # inside the profile's range: no token
    ("noapi@acme.example", "No-pass-1DDDD", None, "API_DISABLED_FOR_USER", "Failed: API access disabled"),
    ("granted@acme.example", "Gr-pass-1EEEE", None, "OK", "Success"),       # a permission set grants API Enabled
    ("gone@acme.example", "Gone-pass-1FFFF", None, "INACTIVE", "User is Inactive"),
    ("ice@acme.example", "Ice-pass-1GGGG", None, "FROZEN", "User is Frozen"),
    ("locked@acme.example", "Lock-pass-1HHHH", None, "LOCKED", "Password Lockout"),
])
def test_login_rules_and_their_history_rows(world: World, username: str, secret: str, ip: str | None,
                                            reason: str, status: str) -> None:
    before = len(history(world))
    d = login(world, username, secret, ip=ip)
    assert (d.ok, d.reason, d.status) == (reason == "OK", reason, status)
    rows = history(world)
    assert len(rows) == before + 1
    row = rows[-1]
    assert row["Status"] == status and row["UserId"] == d.user["Id"]
    assert row["SourceIp"] == (ip or "203.0.113.7") and row["LoginTime"] == NOW
    assert (row["LoginType"], row["ApiType"], row["ApiVersion"], row["LoginUrl"]) == (
        "Other Apex API", "SOAP Partner", "59.0", "login.salesforce.com")


def test_oauth_password_channel_rows_say_remote_access(world: World) -> None:
    d = login(world, "sync@acme.example", "Sync-pass-1BBBB", host="acme.my.salesforce.com", channel="oauth_password")
    assert d.ok
    row = history(world)[-1]
    assert (row["LoginType"], row["ApiType"], row["LoginUrl"]) == ("Remote Access 2.0", "N/A", "acme.my.salesforce.com")


def test_unknown_user_and_wrong_host_leave_no_row(world: World) -> None:
    before = len(history(world))
    assert login(world, "nobody@acme.example", "x").reason == "UNKNOWN_USER"
    assert login(world, "sync@acme.example", "Sync-pass-1BBBB", host="test.salesforce.com").reason == "WRONG_HOST"
    assert login(world, "sync@acme.example", "Sync-pass-1BBBB", host="127.0.0.1:8080").ok
    assert len(history(world)) == before + 1


def test_sandbox_answers_only_on_sandbox_hosts() -> None:
    w = make_world(BASE.replace("my_domain: acme", "my_domain: acme\n  sandbox: uat"))
    assert w.is_sandbox and w.my_domain_host == "acme--uat.sandbox.my.salesforce.com"
    assert login(w, "sync@acme.example", "Sync-pass-1BBBB", host="login.salesforce.com").reason == "WRONG_HOST"
    assert login(w, "sync@acme.example", "Sync-pass-1BBBB", host="test.salesforce.com").ok
    assert login(w, "sync@acme.example", "Sync-pass-1BBBB", host="acme--uat.sandbox.my.salesforce.com").ok
    assert w.catalog_for("").rows("Organization")[0]["IsSandbox"] is True


def test_org_level_switches() -> None:
    w = make_world(BASE.replace("my_domain: acme", "my_domain: acme\n  soap_login_disabled: true"))
    assert login(w, "sync@acme.example", "Sync-pass-1BBBB").reason == "SOAP_LOGIN_DISABLED"
    assert login(w, "sync@acme.example", "Sync-pass-1BBBB", host="acme.my.salesforce.com",
                 channel="oauth_password").ok
    w = make_world(BASE.replace("my_domain: acme", "my_domain: acme\n  api_enabled: false"))
    d = login(w, "sync@acme.example", "Sync-pass-1BBBB")
    assert d.reason == "API_DISABLED_FOR_ORG" and history(w)[-1]["Status"] == d.status
    w = make_world(BASE.replace("my_domain: acme", "my_domain: acme\n  network_access: false"))
    assert w.trusted_ip_ranges() == []
    assert login(w, "sync@acme.example", "Sync-pass-1", ip="198.51.100.9").reason == "TOKEN_REQUIRED"


def test_expired_password_logs_in_flagged(world: World) -> None:
    d = login(world, "old@acme.example", "Old-pass-1IIII")
    assert d.ok and d.password_expired and d.reason == "OK"


def test_repeated_failures_lock_the_user(world: World) -> None:
    # No API profile: max_login_attempts 3; a token-required failure does not count.
    assert login(world, "noapi@acme.example", "No-pass-1").reason == "TOKEN_REQUIRED"
    reasons = [login(world, "noapi@acme.example", "bad").reason for _ in range(3)]
    assert reasons == ["INVALID_PASSWORD"] * 3
    d = login(world, "noapi@acme.example", "No-pass-1DDDD")
    assert d.reason == "LOCKED" and history(world)[-1]["Status"] == "Password Lockout"
    userlogin = {r["UserId"]: r for r in world.catalog_for("").rows("UserLogin")}
    assert userlogin[d.user["Id"]]["IsPasswordLocked"] is True


def test_default_lockout_is_ten_and_success_resets(world: World) -> None:
    for _ in range(9):
        assert login(world, "sync@acme.example", "nope").reason == "INVALID_PASSWORD"
    assert login(world, "sync@acme.example", "Sync-pass-1BBBB").ok       # resets the count
    for _ in range(9):
        login(world, "sync@acme.example", "Sync-pass-1XXXX")
    assert login(world, "sync@acme.example", "Sync-pass-1XXXX").reason == "INVALID_TOKEN"   # the 10th
    assert login(world, "sync@acme.example", "Sync-pass-1BBBB").reason == "LOCKED"


def test_client_credentials(world: World) -> None:
    host = world.my_domain_host
    assert world.client_credentials_login(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, host="login.salesforce.com").reason == "WRONG_HOST"
    assert world.client_credentials_login("other", DEMO_CLIENT_SECRET, host=host).reason == "UNKNOWN_CLIENT"
    assert world.client_credentials_login(DEMO_CLIENT_ID, "nope", host=host).reason == "BAD_CLIENT_SECRET"
    d = world.client_credentials_login(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, host=host)
    assert d.ok and d.user["Username"] == "admin@acme.example" and d.user["IsAdmin"]
    row = history(world)[-1]
    assert (row["LoginType"], row["Status"], row["LoginSubType"]) == ("Remote Access 2.0", "Success", "OauthClientCredentials")


def test_sessions(world: World) -> None:
    uid = world.user_by_username("sync@acme.example")["Id"]
    sid = world.issue_session(uid)
    org15, _, opaque = sid.partition("!")
    assert org15 == world.org_id[:15] and len(opaque) > 20
    assert world.session_user(sid)["Id"] == uid
    assert world.session_user("00Dxx!nope") is None
    assert world.revoke_session(sid) and world.session_user(sid) is None


def test_session_times_out_after_two_idle_hours() -> None:
    clock = [NOW]
    w = World(parse_scenario_text(BASE), clock=lambda: clock[0])
    sid = w.issue_session(w.user_by_username("sync@acme.example")["Id"])
    clock[0] = NOW + timedelta(hours=2, minutes=1)
    assert w.session_user(sid) is None


def test_ids_have_real_prefixes_and_case_safe_suffix(world: World) -> None:
    assert case_safe_id("001A0000006Vm9r") == "001A0000006Vm9rIAC"   # the documented example
    cat = world.catalog_for("")
    prefixes = {"User": "005", "Profile": "00e", "PermissionSet": "0PS", "PermissionSetAssignment": "0Pa",
                "Lead": "00Q", "Organization": "00D", "ConnectedApplication": "0H4"}
    login(world, "sync@acme.example", "x")
    prefixes["LoginHistory"] = "0Ya"
    for obj, prefix in prefixes.items():
        for row in cat.rows(obj):
            assert row["Id"].startswith(prefix) and len(row["Id"]) == 18
            assert case_safe_id(row["Id"][:15]) == row["Id"]
    assert world.org_id == make_world().org_id    # stable per scenario name
    assert world.org_id != World(parse_scenario_text(BASE.replace("name: unit", "name: other"))).org_id


def test_field_hiding_per_profile(world: World) -> None:
    admin = world.catalog_for(world.user_by_username("admin@acme.example")["Id"])
    sync = world.catalog_for(world.user_by_username("sync@acme.example")["Id"])
    assert admin.describe("lead").field("mkto71_Lead_Score__c") is not None
    assert sync.describe("Lead").field("mkto71_Lead_Score__c") is None
    assert admin.rows("Lead")[0]["mkto71_Lead_Score__c"] == 35.0
    assert "mkto71_Lead_Score__c" not in sync.rows("Lead")[0]
    assert sync.rows("Lead")[0]["Name"] == "Aiko Sato"
    assert admin.rows("Lead")[0]["CreatedDate"] == NOW - timedelta(days=2)


def test_catalog_shape(world: World) -> None:
    cat = world.catalog_for("")
    lh = cat.describe("LoginHistory")
    filterable = {n for n, f in lh.fields.items() if f.filterable}
    assert filterable == {"AuthenticationServiceId", "CipherSuite", "CountryIso", "Id", "LoginTime", "LoginType",
                          "LoginUrl", "NetworkId", "OptionsIsGet", "OptionsIsPost", "TlsProtocol", "UserId"}
    status = lh.field("status")
    assert not status.filterable and status.groupable and status.sortable
    assert [c.name for c in cat.describe("Profile").child_relationships][0] == "LoginIpRanges"
    assert cat.describe("PermissionSetAssignment").field("AssigneeId").relationship_name == "Assignee"
    assert cat.describe("Nope") is None
    # every row has every described field
    for obj in cat.sobject_names():
        fields = set(cat.describe(obj).fields)
        for row in cat.rows(obj):
            assert set(row) == fields, obj
    # every profile owns a permission set, and every user is assigned it
    ps = cat.rows("PermissionSet")
    owned = {r["ProfileId"] for r in ps if r["IsOwnedByProfile"]}
    assert owned == {r["Id"] for r in cat.rows("Profile")}
    ranges = cat.rows("LoginIpRange")
    assert [(r["StartAddress"], r["EndAddress"]) for r in ranges] == [("192.0.2.0", "192.0.2.255")]
    org = cat.rows("Organization")[0]
    assert org["OrganizationType"] == "Enterprise Edition" and org["Id"] == world.org_id


def test_relative_history_times_resolve_against_the_world_clock() -> None:
    text = BASE + "  login_history:\n    - {username: sync@acme.example, at: -1d, count: 3, every: 30m}\n"
    w = make_world(text)
    times = [r["LoginTime"] for r in history(w)]
    assert times == [NOW - timedelta(days=1) + timedelta(minutes=30 * k) for k in range(3)]
    users = {u["Username"]: u for u in w.catalog_for("").rows("User")}
    assert users["sync@acme.example"]["LastLoginDate"] == times[-1]


def test_200k_login_history_rows_load_and_an_attempt_is_appended() -> None:
    text = BASE + ("  login_history:\n    - {username: sync@acme.example, at: -3d, count: 200000, every: 1s,"
                   " status: 'Failed: API security token required', login_type: Other Apex API}\n")
    scenario = parse_scenario_text(text)
    w = World(scenario, clock=lambda: NOW)
    rows = history(w)
    assert len(rows) == 200000
    login(w, "sync@acme.example", "Sync-pass-1")
    again = history(w)
    # An attempt is appended to the cached list, not a reason to rebuild 200,000 rows (the
    # time this saves is measured in bench/, not asserted here).
    assert again is rows and len(again) == 200001 and again[-1]["Status"] == "Failed: API security token required"


def test_api_usage_and_trusted_ranges(world: World) -> None:
    assert world.api_usage() == (0, 15000)
    world.count_api_call()
    world.count_api_call()
    assert world.api_usage() == (2, 15000)
    assert world.trusted_ip_ranges() == [{"start": "198.51.100.0", "end": "198.51.100.255", "description": "Head office"}]
    pe = World(load_scenario("marketo-sync-failed"))
    assert pe.api_usage()[1] == 5000


def test_oauth_usage_shows_blocked_apps() -> None:
    w = World(load_scenario("sia-oauth-blocked"))
    usage = {u["app"]: u for u in w.oauth_usage()}
    assert usage["ToutApp"]["blocked"] and usage["ToutApp"]["user_count"] == 2
    assert w.connected_app("toutapp")["blocked"] is True
    names = {r["Name"] for r in w.catalog_for("").rows("ConnectedApplication")}
    assert {"ToutApp", "Salesforce Inspector reloaded", "sfdoctor"} <= names


def test_marketing_cloud_user_login() -> None:
    w = World(load_scenario("mc-ip-not-allowlisted"))
    dc = w.scenario.data_cloud
    assert w.mc_user_login("dc-integration", "Mc-pass-1", source_ip=dc.egress_ips[0]) == (False, "IP_NOT_ALLOWLISTED")
    assert w.mc_user_login("dc-integration", "Mc-pass-1", source_ip="198.51.100.20") == (True, "OK")
    assert w.mc_user_login("dc-integration", "nope", source_ip="198.51.100.20") == (False, "INVALID_CREDENTIALS")
    text = """
marketing_cloud:
  password_policy: {expire_days: 90, exclude_api_users: false}
  users:
    - {username: dc, password: p, api_user: true, password_changed_at: -120d}
    - {username: gone, password: p, active: false}
    - {username: stuck, password: p, locked: true}
"""
    w = World(parse_scenario_text(text))
    assert w.mc_user_login("dc", "p") == (False, "PASSWORD_EXPIRED")
    assert w.mc_user_login("gone", "p") == (False, "INACTIVE")
    assert w.mc_user_login("stuck", "p") == (False, "LOCKED")
    exempt = World(parse_scenario_text(text.replace("exclude_api_users: false", "exclude_api_users: true")))
    assert exempt.mc_user_login("dc", "p") == (True, "OK")


def test_builtin_worlds_behave_as_described() -> None:
    w = World(load_scenario("token-missing"))
    probe = w.scenario.operator["probe_username"]
    assert login(w, probe, "Sync-pass-1").reason == "TOKEN_REQUIRED"
    statuses = {r["Status"] for r in history(w)}
    assert "Failed: API security token required" in statuses
    w = World(load_scenario("healthy"))
    assert login(w, "sync@acme.example", "Sync-pass-1").ok
    w = World(load_scenario("marketo-sync-failed"))
    assert login(w, "marketo@kobayashi-trading.example", "Mkto-sync-2OLDtokenOLD0").reason == "INVALID_TOKEN"
    assert w.scenario.marketo.sync.status == "Failed"


def test_history_expansion_rows_and_columns_match_the_stored_runs() -> None:
    """Rows are copies of each run's first row with Id and LoginTime set: they must equal the
    row-by-row `_history_dict` of every run (same keys, same order), and the columns handed to
    the SOQL engine must equal the rows' values, also after logins append rows."""
    from sfdoctor.demo.objects import KEY_PREFIXES
    from sfdoctor.demo.store import RowList, _history_dict

    text = BASE + ("  login_history:\n"
                   "    - {username: sync@acme.example, at: -3d, count: 50, every: 7s, source_ip: 198.51.100.20,"
                   " login_type: Partner Product}\n"
                   "    - {username: admin@acme.example, at: -5d, count: 20, every: 1m, status: Invalid Password}\n"
                   "    - {username: office@acme.example, at: -1h, count: 1}\n")
    w = make_world(text)
    login(w, "sync@acme.example", "Sync-pass-1")
    head = KEY_PREFIXES["LoginHistory"] + w._pod
    suffix = case_safe_id(head + "0" * 10)[15:]
    expected = []
    for first, count, step, uid, start, *fixed in w._db.execute("SELECT * FROM login_history_runs"):
        expected += [_history_dict((f"{head}{first + k:010d}{suffix}", uid, start + k * step, *fixed))
                     for k in range(count)]
    expected += [_history_dict(r) for r in w._db.execute("SELECT * FROM login_history")]
    rows = history(w)
    assert isinstance(rows, RowList) and rows == expected
    assert [list(r) for r in rows] == [list(r) for r in expected]
    login(w, "admin@acme.example", "nope")
    rows = history(w)
    assert len(rows) == len(expected) + 1
    assert set(rows.columns) == set(rows[0])
    for name, col in rows.columns.items():
        assert col == [r.get(name) for r in rows], name

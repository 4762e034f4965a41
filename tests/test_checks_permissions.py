"""API Enabled from the profile or any permission set (checks/permissions.py)."""
import pytest

from sfdoctor.errors import CheckError
from sfdoctor import clients, orgs
from sfdoctor.checks import org_info, permissions, query
from sfdoctor.checks.permissions import ApiGrants

SCENARIO = """
name: grants
salesforce:
  my_domain: acme
  profiles:
    - {name: No API, api_enabled: false}
    - {name: With API, api_enabled: true}
  permission_sets:
    - {name: API Access, api_enabled: true}
    - {name: Reports Only, api_enabled: false}
  users:
    - {username: admin@acme.example, password: Adm1n-pass, profile: System Administrator, admin: true}
    - {username: bare@acme.example, password: Bare-pass-1, profile: No API, permission_sets: [Reports Only]}
    - {username: viaps@acme.example, password: Viaps-pass-1, profile: No API, permission_sets: [API Access]}
    - {username: both@acme.example, password: Both-pass-1, profile: With API, permission_sets: [API Access]}
"""


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    path = tmp_path_factory.mktemp("perm") / "grants.yml"
    path.write_text(SCENARIO, encoding="utf-8")
    return clients.connect(orgs.resolve(f"demo:{path}"))


def _reads(conn):
    snap = conn.counter.snapshot()
    return snap["total"] - snap["logins"]


def test_profile_without_api_and_no_granting_set_is_disabled(conn):
    before = _reads(conn)
    g = permissions.api_enabled_grants(conn, "bare@acme.example")
    assert _reads(conn) - before == 1                       # one composite request
    assert g.user["Username"] == "bare@acme.example" and g.profile == "No API"
    assert not g.from_profile and g.permission_sets == [] and not g.enabled and g.via == {}


def test_a_permission_set_grants_it_when_the_profile_does_not(conn):
    g = permissions.api_enabled_grants(conn, "viaps@acme.example")
    assert g.enabled and not g.from_profile and g.permission_sets == ["API Access"]
    assert g.via == {"permission_sets": ["API Access"]}


def test_the_profiles_own_permission_set_counts_as_the_profile(conn):
    g = permissions.api_enabled_grants(conn, "both@acme.example")
    # the profile-owned set is assigned too (as in Salesforce) but is not listed as a set
    assert g.from_profile and g.permission_sets == ["API Access"]
    assert g.via == {"profile": "With API", "permission_sets": ["API Access"]}


def test_unknown_user_has_no_grants(conn):
    g = permissions.api_enabled_grants(conn, "nobody@acme.example")
    assert g.user is None and not g.enabled


def test_queries_fit_in_a_callers_composite(conn):
    qs = {"org": "SELECT Id FROM Organization LIMIT 1", **permissions.queries("viaps@acme.example", prefix="p_")}
    answers = query.composite(conn, qs)
    assert answers["org"].ok
    assert permissions.from_answers(answers, prefix="p_").permission_sets == ["API Access"]


def test_an_unreadable_answer_is_an_error_not_a_missing_grant():
    answers = {"user": query.SubResult(200, {"records": [{"Id": "005x", "Profile": {"Name": "P"}}]}),
               "apiperms": query.SubResult(403, [{"errorCode": "INSUFFICIENT_ACCESS", "message": "no"}])}
    with pytest.raises(CheckError, match="INSUFFICIENT_ACCESS"):
        permissions.from_answers(answers)


def test_flattened_user_records_work_too():
    g = ApiGrants.from_records({"Id": "005x", "Profile.Name": "P", "Profile.PermissionsApiEnabled": False},
                               [{"PermissionSet": {"Name": "X00e", "IsOwnedByProfile": True}}])
    assert g.from_profile and g.permission_sets == []       # an owned set that grants it is the profile


def test_usernames_are_quoted():
    qs = permissions.queries("o'brien@acme.example")
    assert all("'o\\'brien@acme.example'" in q for q in qs.values())


def test_org_info_sends_the_same_assignment_query():
    assert org_info.queries("a@b.example")["apiperms"] == permissions.assignments_query("a@b.example")


def test_where_api_enabled_comes_from_is_said_in_the_runs_language():
    g = ApiGrants(user={}, profile="Integration", from_profile=True, permission_sets=["SIA Integration"])
    assert g.via_text("en") == "the profile Integration, the permission set SIA Integration"
    assert g.via_text("ja") == "プロファイル Integration、権限セット SIA Integration"
    assert g.via == {"profile": "Integration", "permission_sets": ["SIA Integration"]}

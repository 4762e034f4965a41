"""The demo world's SOQL engine: record shapes, filters, aggregates, date literals and
Salesforce's exact error texts, against a small in-test Catalog."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from simple_salesforce import format_soql

from sfdoctor.demo import soql
from sfdoctor.demo.schema import ChildRelationship, FieldSchema, ObjectSchema
from sfdoctor.demo.soql import SoqlError, execute

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=timezone.utc)   # a Friday
UTC = timezone.utc


def sfid(prefix: str, n: int) -> str:
    return f"{prefix}{n:012d}AAA"


def F(name: str, type_: str = "string", **kw: Any) -> FieldSchema:
    return FieldSchema(name=name, type=type_, **kw)


def obj(name: str, prefix: str, fields: list[FieldSchema], children: list[ChildRelationship] | None = None) -> ObjectSchema:
    return ObjectSchema(name=name, label=name, key_prefix=prefix, fields={f.name: f for f in fields},
                        child_relationships=children or [])


SCHEMAS = {
    "User": obj("User", "005", [
        F("Id", "id"), F("Username", "email"), F("Name"), F("IsActive", "boolean"),
        F("ProfileId", "reference", reference_to=("Profile",), relationship_name="Profile"),
        F("LastLoginDate", "datetime"), F("Hire_Date__c", "date", custom=True),
        F("Failed_Logins__c", "double", custom=True), F("AboutMe", "textarea", sortable=False, groupable=False,
                                                         filterable=False),
    ]),
    "Profile": obj("Profile", "00e", [F("Id", "id"), F("Name"), F("PermissionsApiEnabled", "boolean")],
                   [ChildRelationship("LoginIpRanges", "LoginIpRange", "ProfileId"),
                    ChildRelationship("Users", "User", "ProfileId")]),
    "LoginIpRange": obj("LoginIpRange", "0Lr", [
        F("Id", "id"), F("ProfileId", "reference", reference_to=("Profile",), relationship_name="Profile"),
        F("StartAddress"), F("EndAddress"), F("Description")]),
    "LoginHistory": obj("LoginHistory", "0Ya", [
        F("Id", "id"), F("UserId", "reference", reference_to=("User",)), F("LoginTime", "datetime"),
        F("Status", filterable=False), F("SourceIp"), F("LoginType", "picklist"), F("Application")]),
    "PermissionSet": obj("PermissionSet", "0PS", [
        F("Id", "id"), F("Name"), F("IsOwnedByProfile", "boolean"), F("PermissionsApiEnabled", "boolean"),
        F("ProfileId", "reference", reference_to=("Profile",), relationship_name="Profile")]),
    "PermissionSetAssignment": obj("PermissionSetAssignment", "0Pa", [
        F("Id", "id"), F("AssigneeId", "reference", reference_to=("User",), relationship_name="Assignee"),
        F("PermissionSetId", "reference", reference_to=("PermissionSet",), relationship_name="PermissionSet")]),
}

ADMIN_P, STD_P, INT_P = sfid("00e", 1), sfid("00e", 2), sfid("00e", 3)
U1, U2, U3, U4 = (sfid("005", i) for i in range(1, 5))


def base_rows() -> dict[str, list[dict[str, Any]]]:
    return {
        "Profile": [
            {"Id": ADMIN_P, "Name": "System Administrator", "PermissionsApiEnabled": True},
            {"Id": STD_P, "Name": "Standard User", "PermissionsApiEnabled": False},
            {"Id": INT_P, "Name": "Integration", "PermissionsApiEnabled": True},
        ],
        "User": [
            {"Id": U1, "Username": "admin@acme.example", "Name": "Ada Admin", "IsActive": True, "ProfileId": ADMIN_P,
             "LastLoginDate": datetime(2026, 11, 20, 9, 0, tzinfo=UTC), "Hire_Date__c": date(2020, 4, 1),
             "Failed_Logins__c": 0.0, "AboutMe": None},
            {"Id": U2, "Username": "sync@acme.example", "Name": "Marketo Sync", "IsActive": True, "ProfileId": INT_P,
             "LastLoginDate": datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC), "Hire_Date__c": date(2026, 11, 20),
             "Failed_Logins__c": 3.0, "AboutMe": None},
            {"Id": U3, "Username": "o'brien@acme.example", "Name": "Pat O'Brien \\ 50%_off", "IsActive": False,
             "ProfileId": STD_P, "LastLoginDate": None, "Hire_Date__c": None, "Failed_Logins__c": 7.0,
             "AboutMe": None},
            {"Id": U4, "Username": "nobody@acme.example", "Name": "No Profile", "IsActive": True, "ProfileId": None,
             "LastLoginDate": datetime(2026, 10, 31, 8, 0, tzinfo=UTC), "Hire_Date__c": date(2026, 11, 13),
             "Failed_Logins__c": None, "AboutMe": None},
        ],
        "LoginIpRange": [
            {"Id": sfid("0Lr", 1), "ProfileId": INT_P, "StartAddress": "198.51.100.0", "EndAddress": "198.51.100.255",
             "Description": "Marketo"},
            {"Id": sfid("0Lr", 2), "ProfileId": INT_P, "StartAddress": "192.0.2.0", "EndAddress": "192.0.2.15",
             "Description": "Office"},
        ],
        "LoginHistory": [
            {"Id": sfid("0Ya", 1), "UserId": U2, "LoginTime": datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
             "Status": "Failed: API security token required", "SourceIp": "203.0.113.9", "LoginType": "Other Apex API",
             "Application": "simple-salesforce"},
            {"Id": sfid("0Ya", 2), "UserId": U2, "LoginTime": datetime(2026, 11, 20, 8, 5, tzinfo=UTC),
             "Status": "Failed: API security token required", "SourceIp": "203.0.113.9", "LoginType": "Other Apex API",
             "Application": "simple-salesforce"},
            {"Id": sfid("0Ya", 3), "UserId": U2, "LoginTime": datetime(2026, 11, 19, 1, 0, tzinfo=UTC),
             "Status": "Success", "SourceIp": "198.51.100.7", "LoginType": "Remote Access 2.0",
             "Application": "Marketo"},
            {"Id": sfid("0Ya", 4), "UserId": U1, "LoginTime": datetime(2026, 11, 1, 0, 0, tzinfo=UTC),
             "Status": "Success", "SourceIp": "192.0.2.1", "LoginType": "Application", "Application": "Browser"},
            {"Id": sfid("0Ya", 5), "UserId": U1, "LoginTime": datetime(2026, 10, 5, 0, 0, tzinfo=UTC),
             "Status": "Invalid Password", "SourceIp": "192.0.2.1", "LoginType": "Application",
             "Application": "Browser"},
        ],
        "PermissionSet": [
            {"Id": sfid("0PS", 1), "Name": "X00ex_admin", "IsOwnedByProfile": True, "PermissionsApiEnabled": True,
             "ProfileId": ADMIN_P},
            {"Id": sfid("0PS", 2), "Name": "Api_Access", "IsOwnedByProfile": False, "PermissionsApiEnabled": True,
             "ProfileId": None},
        ],
        "PermissionSetAssignment": [
            {"Id": sfid("0Pa", 1), "AssigneeId": U1, "PermissionSetId": sfid("0PS", 1)},
            {"Id": sfid("0Pa", 2), "AssigneeId": U3, "PermissionSetId": sfid("0PS", 2)},
        ],
    }


class FakeCatalog:
    """The Catalog protocol over in-memory rows, as store.py would provide it."""

    def __init__(self, rows: dict[str, list[dict[str, Any]]] | None = None, now: datetime = NOW):
        self._rows = rows if rows is not None else base_rows()
        self._now = now

    def describe(self, sobject: str) -> ObjectSchema | None:
        for name, schema in SCHEMAS.items():
            if name.lower() == sobject.lower():
                return schema
        return None

    def rows(self, sobject: str) -> list[dict[str, Any]]:
        return self._rows.get(self.describe(sobject).name, [])

    def now(self) -> datetime:
        return self._now


@pytest.fixture()
def cat() -> FakeCatalog:
    return FakeCatalog()


def q(cat: FakeCatalog, text: str, **kw: Any) -> list[dict[str, Any]]:
    return execute(text, cat, **kw).records


def err(cat: FakeCatalog, text: str) -> SoqlError:
    with pytest.raises(SoqlError) as info:
        execute(text, cat)
    assert info.value.status == 400
    return info.value


WSDL = "Please reference your WSDL or the describe call for the appropriate names."


# ------------------------------------------------------------------------------------- shapes

def test_plain_select_shape_order_and_canonical_names(cat: FakeCatalog) -> None:
    res = execute("select username, id, LASTLOGINDATE, hire_date__c from user where id = '" + U1 + "'", cat)
    assert res.total_size == 1
    assert res.records == [{
        "attributes": {"type": "User", "url": f"/services/data/v59.0/sobjects/User/{U1}"},
        "Username": "admin@acme.example", "Id": U1, "LastLoginDate": "2026-11-20T09:00:00.000+0000",
        "Hire_Date__c": "2020-04-01"}]
    assert list(res.records[0]) == ["attributes", "Username", "Id", "LastLoginDate", "Hire_Date__c"]


def test_tooling_and_api_version_change_the_record_url(cat: FakeCatalog) -> None:
    rec = q(cat, "SELECT Name FROM Profile WHERE Name = 'Integration'", api_version="61.0", tooling=True)[0]
    assert rec["attributes"] == {"type": "Profile", "url": f"/services/data/v61.0/tooling/sobjects/Profile/{INT_P}"}


def test_parent_relationship_is_nested_object_or_null(cat: FakeCatalog) -> None:
    recs = q(cat, "SELECT Id, Profile.Name, profile.id FROM User ORDER BY Username")
    by_id = {r["Id"]: r for r in recs}
    assert by_id[U1]["Profile"] == {"attributes": {"type": "Profile", "url": f"/services/data/v59.0/sobjects/Profile/{ADMIN_P}"},
                                    "Name": "System Administrator", "Id": ADMIN_P}
    assert by_id[U4]["Profile"] is None
    assert list(by_id[U1]) == ["attributes", "Id", "Profile"]


def test_two_level_relationship_and_assignee(cat: FakeCatalog) -> None:
    recs = q(cat, "SELECT Assignee.Username, PermissionSet.Profile.Name, PermissionSet.Name "
                  "FROM PermissionSetAssignment ORDER BY Assignee.Username")
    assert [r["Assignee"]["Username"] for r in recs] == ["admin@acme.example", "o'brien@acme.example"]
    first = recs[0]["PermissionSet"]
    assert first["attributes"]["type"] == "PermissionSet"
    assert first["Profile"]["Name"] == "System Administrator"
    assert first["Name"] == "X00ex_admin"
    assert recs[1]["PermissionSet"]["Profile"] is None


def test_child_subquery_and_empty_child_is_null(cat: FakeCatalog) -> None:
    recs = q(cat, "SELECT Name, (SELECT Id, StartAddress FROM LoginIpRanges ORDER BY StartAddress) FROM Profile "
                  "ORDER BY Name")
    by_name = {r["Name"]: r for r in recs}
    sub = by_name["Integration"]["LoginIpRanges"]
    assert sub["totalSize"] == 2 and sub["done"] is True
    assert [r["StartAddress"] for r in sub["records"]] == ["192.0.2.0", "198.51.100.0"]
    assert sub["records"][0]["attributes"]["type"] == "LoginIpRange"
    assert by_name["Standard User"]["LoginIpRanges"] is None


def test_child_subquery_with_where_and_limit(cat: FakeCatalog) -> None:
    recs = q(cat, "SELECT Id, (SELECT Description FROM LoginIpRanges WHERE Description LIKE 'mark%') FROM Profile "
                  f"WHERE Id = '{INT_P}'")
    assert recs[0]["LoginIpRanges"]["records"][0]["Description"] == "Marketo"
    assert recs[0]["LoginIpRanges"]["totalSize"] == 1
    recs = q(cat, f"SELECT Id, (SELECT Id FROM Users LIMIT 1) FROM Profile WHERE Id = '{INT_P}'")
    assert recs[0]["Users"]["totalSize"] == 1


# ------------------------------------------------------------------------------------- WHERE

@pytest.mark.parametrize("where, expected", [
    ("Username = 'ADMIN@acme.example'", {U1}),                    # text equality is case-insensitive
    ("Username != 'admin@acme.example'", {U2, U3, U4}),
    ("Username <> 'admin@acme.example'", {U2, U3, U4}),
    ("IsActive = false", {U3}),
    ("Failed_Logins__c > 2", {U2, U3}),
    ("Failed_Logins__c >= 3 AND Failed_Logins__c < 7", {U2}),
    ("Failed_Logins__c <= 0", {U1}),
    ("Failed_Logins__c = null", {U4}),
    ("ProfileId != null", {U1, U2, U3}),
    ("Failed_Logins__c != 3", {U1, U3, U4}),                       # != also matches empty values
    ("Name LIKE 'ma%'", {U2}),
    ("Name LIKE '%SYNC'", {U2}),
    ("Name LIKE 'No_Profile'", {U4}),
    ("Name LIKE 'No Prof'", set()),
    ("Username IN ('sync@acme.example', 'NOBODY@acme.example')", {U2, U4}),
    ("Username NOT IN ('sync@acme.example')", {U1, U3, U4}),
    ("ProfileId IN (null)", {U4}),
    ("(IsActive = true AND Failed_Logins__c > 1) OR Username = 'nobody@acme.example'", {U2, U4}),
    ("IsActive = true AND (Failed_Logins__c > 1 OR Username = 'nobody@acme.example')", {U2, U4}),
    ("NOT IsActive = true", {U3}),
    ("NOT (IsActive = true OR Failed_Logins__c > 5)", set()),
    ("Profile.Name = 'integration'", {U2}),
    ("Profile.PermissionsApiEnabled = true", {U1, U2}),
    (f"ProfileId = '{INT_P[:15]}'", {U2}),                          # 15-char Ids match their 18-char form
    (f"Id IN ('{U1}', '{U2[:15]}')", {U1, U2}),
])
def test_where_operators(cat: FakeCatalog, where: str, expected: set[str]) -> None:
    assert {r["Id"] for r in q(cat, f"SELECT Id FROM User WHERE {where}")} == expected


def test_semi_join_and_anti_join(cat: FakeCatalog) -> None:
    text = ("SELECT Username FROM User WHERE Id IN (SELECT AssigneeId FROM PermissionSetAssignment "
            "WHERE PermissionSet.PermissionsApiEnabled = true AND PermissionSet.IsOwnedByProfile = false)")
    assert [r["Username"] for r in q(cat, text)] == ["o'brien@acme.example"]
    anti = "SELECT Id FROM User WHERE Id NOT IN (SELECT AssigneeId FROM PermissionSetAssignment)"
    assert {r["Id"] for r in q(cat, anti)} == {U2, U4}


def test_format_soql_quotes_and_backslashes(cat: FakeCatalog) -> None:
    text = format_soql("SELECT Id FROM User WHERE Name = {} AND Username = {}", "Pat O'Brien \\ 50%_off",
                       "o'brien@acme.example")
    assert "\\'" in text and "\\\\" in text
    assert [r["Id"] for r in q(cat, text)] == [U3]
    # :like escapes % and _ so they match literally
    like = format_soql("SELECT Id FROM User WHERE Name LIKE '%{:like}%'", "50%_")
    assert [r["Id"] for r in q(cat, like)] == [U3]
    assert q(cat, format_soql("SELECT Id FROM User WHERE Name LIKE '%{:like}%'", "5_%o")) == []
    assert len(q(cat, "SELECT Id FROM User WHERE Name LIKE '%5_%o%'")) == 1  # unescaped: wildcards
    lst = format_soql("SELECT Id FROM User WHERE Username IN {}", ["o'brien@acme.example", "admin@acme.example"])
    assert {r["Id"] for r in q(cat, lst)} == {U1, U3}


def test_format_soql_datetime_and_booleans(cat: FakeCatalog) -> None:
    text = format_soql("SELECT Id FROM User WHERE LastLoginDate >= {} AND IsActive = {}",
                       datetime(2026, 11, 20, 18, 0, tzinfo=timezone(timedelta(hours=9))), True)
    assert "+00:00" in text
    assert [r["Id"] for r in q(cat, text)] == [U1]


# ------------------------------------------------------------------------------------- dates

@pytest.mark.parametrize("literal, expected", [
    ("2026-11-20T09:00:00Z", {U1}),
    ("2026-11-20T18:00:00+09:00", {U1}),
    ("2026-11-20T09:00:00.000+0000", {U1}),
])
def test_datetime_literal_forms(cat: FakeCatalog, literal: str, expected: set[str]) -> None:
    assert {r["Id"] for r in q(cat, f"SELECT Id FROM User WHERE LastLoginDate = {literal}")} == expected


@pytest.mark.parametrize("cond, expected", [
    ("LastLoginDate = TODAY", {U1}),
    ("LastLoginDate = YESTERDAY", {U2}),
    ("LastLoginDate < TODAY", {U2, U4}),
    ("LastLoginDate > YESTERDAY", {U1}),
    ("LastLoginDate <= YESTERDAY", {U2, U4}),
    ("LastLoginDate >= YESTERDAY", {U1, U2}),
    ("LastLoginDate != TODAY", {U2, U3, U4}),
    ("LastLoginDate = LAST_N_DAYS:1", {U1, U2}),
    ("LastLoginDate = LAST_N_DAYS:20", {U1, U2, U4}),
    ("LastLoginDate >= LAST_N_DAYS:7", {U1, U2}),
    ("LastLoginDate = N_DAYS_AGO:1", {U2}),
    ("LastLoginDate = N_DAYS_AGO:20", {U4}),
    ("LastLoginDate = NEXT_N_DAYS:3", set()),
    ("LastLoginDate = THIS_WEEK", {U1, U2}),           # week of Sun 2026-11-15
    ("LastLoginDate = LAST_WEEK", set()),
    ("LastLoginDate = THIS_MONTH", {U1, U2}),
    ("LastLoginDate = LAST_MONTH", {U4}),
    ("Hire_Date__c = TODAY", {U2}),
    ("Hire_Date__c = LAST_WEEK", {U4}),               # Fri 2026-11-13 is in the week of Sun 11-08
    ("Hire_Date__c < THIS_MONTH", {U1}),
    ("Hire_Date__c = 2026-11-13", {U4}),
    ("Hire_Date__c > 2026-01-01", {U2, U4}),
])
def test_date_literals_against_fixed_now(cat: FakeCatalog, cond: str, expected: set[str]) -> None:
    assert {r["Id"] for r in q(cat, f"SELECT Id FROM User WHERE {cond}")} == expected


def test_next_n_days_and_last_n_days_edges() -> None:
    # now = Sat 2026-11-21 01:00: LAST_N_DAYS:1 covers Fri 20th and Sat 21st, not Thu 19th
    c = FakeCatalog(now=datetime(2026, 11, 21, 1, 0, tzinfo=UTC))
    assert {r["Id"] for r in q(c, "SELECT Id FROM User WHERE LastLoginDate = LAST_N_DAYS:1")} == {U1}
    c = FakeCatalog(now=datetime(2026, 11, 18, 12, 0, tzinfo=UTC))
    assert {r["Id"] for r in q(c, "SELECT Id FROM User WHERE LastLoginDate = NEXT_N_DAYS:2")} == {U1, U2}
    assert {r["Id"] for r in q(c, "SELECT Id FROM User WHERE LastLoginDate = NEXT_N_DAYS:1")} == {U2}


# ------------------------------------------------------------------------------------- order/limit

def test_order_by_nulls_limit_offset(cat: FakeCatalog) -> None:
    ids = lambda t: [r["Id"] for r in q(cat, t)]  # noqa: E731
    assert ids("SELECT Id FROM User ORDER BY LastLoginDate") == [U3, U4, U2, U1]
    assert ids("SELECT Id FROM User ORDER BY LastLoginDate DESC") == [U1, U2, U4, U3]
    assert ids("SELECT Id FROM User ORDER BY LastLoginDate ASC NULLS LAST") == [U4, U2, U1, U3]
    assert ids("SELECT Id FROM User ORDER BY LastLoginDate DESC NULLS FIRST") == [U3, U1, U2, U4]
    assert ids("SELECT Id FROM User ORDER BY IsActive, Name DESC") == [U3, U4, U2, U1]
    assert ids("SELECT Id FROM User ORDER BY Name LIMIT 2") == [U1, U2]
    assert ids("SELECT Id FROM User ORDER BY Name LIMIT 2 OFFSET 1") == [U2, U4]
    assert ids("SELECT Id FROM User ORDER BY Name OFFSET 3") == [U3]
    assert ids("SELECT Id FROM User ORDER BY Profile.Name NULLS LAST, Name") == [U2, U3, U1, U4]


def test_order_by_is_case_insensitive_for_text(cat: FakeCatalog) -> None:
    rows = base_rows()
    rows["Profile"].append({"Id": sfid("00e", 9), "Name": "analytics", "PermissionsApiEnabled": False})
    names = [r["Name"] for r in q(FakeCatalog(rows), "SELECT Name FROM Profile ORDER BY Name")]
    assert names == ["analytics", "Integration", "Standard User", "System Administrator"]


# ------------------------------------------------------------------------------------- aggregates

def test_count_only(cat: FakeCatalog) -> None:
    res = execute("SELECT COUNT() FROM LoginHistory WHERE LoginTime >= LAST_N_DAYS:7", cat)
    assert (res.total_size, res.records) == (3, [])
    assert execute("SELECT COUNT() FROM LoginHistory LIMIT 2", cat).total_size == 2
    assert execute("SELECT COUNT() FROM LoginHistory GROUP BY UserId", cat).total_size == 2


def test_group_by_shape_expr_numbering_and_alias(cat: FakeCatalog) -> None:
    recs = q(cat, "SELECT Status, SourceIp, COUNT(Id), MAX(LoginTime) lastLogin, MIN(LoginTime) FROM LoginHistory "
                  "WHERE LoginTime >= LAST_N_DAYS:7 GROUP BY Status, SourceIp ORDER BY COUNT(Id) DESC")
    assert recs[0] == {"attributes": {"type": "AggregateResult"}, "Status": "Failed: API security token required",
                       "SourceIp": "203.0.113.9", "expr0": 2, "lastLogin": "2026-11-20T08:05:00.000+0000",
                       "expr1": "2026-11-20T08:00:00.000+0000"}
    assert [r["Status"] for r in recs] == ["Failed: API security token required", "Success"]


@pytest.mark.parametrize("alias", ["last", "FIRST", "with", "Using", "null"])
def test_keywords_are_refused_as_aliases(cat: FakeCatalog, alias: str) -> None:
    """Salesforce refuses these keywords as alias names (SOQL reference, Alias Notation)."""
    e = err(cat, f"SELECT Status, MAX(LoginTime) {alias} FROM LoginHistory GROUP BY Status")
    assert e.error_code == "MALFORMED_QUERY" and e.message.endswith(f"unexpected token: '{alias}'")


def test_aggregate_functions_without_group(cat: FakeCatalog) -> None:
    rec = q(cat, "SELECT COUNT(Id), COUNT(Failed_Logins__c), COUNT_DISTINCT(ProfileId), SUM(Failed_Logins__c), "
                 "AVG(Failed_Logins__c) avgFails, MIN(Name), MAX(Hire_Date__c) FROM User")[0]
    assert rec == {"attributes": {"type": "AggregateResult"}, "expr0": 4, "expr1": 3, "expr2": 3,
                   "expr3": 10.0, "avgFails": pytest.approx(10 / 3), "expr4": "Ada Admin", "expr5": "2026-11-20"}


def test_aggregate_over_no_rows(cat: FakeCatalog) -> None:
    # without GROUP BY there is always one AggregateResult; with GROUP BY there are no groups
    assert q(cat, "SELECT COUNT(Id), MAX(LoginTime) FROM LoginHistory WHERE LoginTime = TOMORROW") == [
        {"attributes": {"type": "AggregateResult"}, "expr0": 0, "expr1": None}]
    assert q(cat, "SELECT Status, COUNT(Id) FROM LoginHistory WHERE LoginTime = TOMORROW GROUP BY Status") == []


def test_misplaced_aggregates_and_clauses_are_malformed(cat: FakeCatalog) -> None:
    assert err(cat, "SELECT COUNT(), Id FROM User").error_code == "MALFORMED_QUERY"
    assert err(cat, "SELECT Id FROM User HAVING COUNT(Id) > 1").error_code == "MALFORMED_QUERY"
    assert err(cat, "SELECT Id FROM User WHERE COUNT(Id) > 1").error_code == "MALFORMED_QUERY"
    assert err(cat, "SELECT SUM(Name) FROM User").error_code == "MALFORMED_QUERY"
    assert err(cat, "SELECT Id, (SELECT COUNT(Id) FROM LoginIpRanges) FROM Profile").error_code == "MALFORMED_QUERY"
    e = err(cat, "SELECT FOO(Id) FROM User")
    assert e.message.endswith("ERROR at Row:1:Column:8\nunexpected token: 'FOO'")


def test_group_by_relationship_path_uses_last_name(cat: FakeCatalog) -> None:
    recs = q(cat, "SELECT Profile.Name, COUNT(Id) n FROM User GROUP BY Profile.Name ORDER BY Profile.Name NULLS LAST")
    assert recs == [
        {"attributes": {"type": "AggregateResult"}, "Name": "Integration", "n": 1},
        {"attributes": {"type": "AggregateResult"}, "Name": "Standard User", "n": 1},
        {"attributes": {"type": "AggregateResult"}, "Name": "System Administrator", "n": 1},
        {"attributes": {"type": "AggregateResult"}, "Name": None, "n": 1},
    ]


def test_having_order_by_alias_limit_offset(cat: FakeCatalog) -> None:
    base = "SELECT UserId, COUNT(Id) c FROM LoginHistory GROUP BY UserId"
    assert [r["UserId"] for r in q(cat, base + " HAVING COUNT(Id) > 2")] == [U2]
    assert [r["c"] for r in q(cat, base + " ORDER BY c")] == [2, 3]
    assert [r["c"] for r in q(cat, base + " ORDER BY c DESC LIMIT 1")] == [3]
    assert [r["c"] for r in q(cat, base + " ORDER BY c DESC LIMIT 1 OFFSET 1")] == [2]
    assert [r["c"] for r in q(cat, base + " HAVING COUNT(Id) > 1 AND UserId != null ORDER BY UserId")] == [2, 3]


def test_group_by_status_is_allowed_though_not_filterable(cat: FakeCatalog) -> None:
    recs = q(cat, "SELECT Status, COUNT(Id) FROM LoginHistory GROUP BY Status ORDER BY Status")
    assert [(r["Status"], r["expr0"]) for r in recs] == [
        ("Failed: API security token required", 2), ("Invalid Password", 1), ("Success", 2)]


# ------------------------------------------------------------------------------------- errors

def test_unknown_object_exact_text(cat: FakeCatalog) -> None:
    e = err(cat, "SELECT Id FROM Accountz LIMIT 2")
    assert e.error_code == "INVALID_TYPE"
    assert e.message == ("\nSELECT Id FROM Accountz LIMIT 2\n               ^\nERROR at Row:1:Column:16\n"
                         "sObject type 'Accountz' is not supported. If you are attempting to use a custom object, "
                         "be sure to append the '__c' after the entity name. " + WSDL)


def test_unknown_field_exact_text(cat: FakeCatalog) -> None:
    e = err(cat, "SELECT Bacon__c FROM User LIMIT 2")
    assert e.error_code == "INVALID_FIELD"
    assert e.message == ("\nSELECT Bacon__c FROM User LIMIT 2\n       ^\nERROR at Row:1:Column:8\n"
                         "No such column 'Bacon__c' on entity 'User'. If you are attempting to use a custom field, "
                         "be sure to append the '__c' after the custom field name. " + WSDL)


def test_unknown_field_on_related_object_names_that_object(cat: FakeCatalog) -> None:
    e = err(cat, "SELECT Id, Profile.Nmae FROM User")
    assert e.error_code == "INVALID_FIELD"
    assert "ERROR at Row:1:Column:12\nNo such column 'Nmae' on entity 'Profile'." in e.message


def test_bad_relationship(cat: FakeCatalog) -> None:
    e = err(cat, "SELECT Id, Owner__r.Name FROM User")
    assert e.error_code == "INVALID_FIELD"
    assert e.message == ("\nSELECT Id, Owner__r.Name FROM User\n           ^\nERROR at Row:1:Column:12\n"
                         "Didn't understand relationship 'Owner__r' in field path. If you are attempting to use a "
                         "custom relationship, be sure to append the '__r' after the custom relationship name. " + WSDL)


def test_bad_child_relationship(cat: FakeCatalog) -> None:
    e = err(cat, "SELECT Id, (SELECT Id FROM LoginRanges) FROM Profile")
    assert e.error_code == "INVALID_TYPE"
    assert "ERROR at Row:1:Column:28\nDidn't understand relationship 'LoginRanges' in FROM part of query call." in e.message


def test_status_can_not_be_filtered(cat: FakeCatalog) -> None:
    e = err(cat, "SELECT Id FROM LoginHistory WHERE Status = 'Success'")
    assert e.error_code == "INVALID_FIELD"
    assert e.message == ("\nSELECT Id FROM LoginHistory WHERE Status = 'Success'\n"
                         "                                  ^\nERROR at Row:1:Column:35\n"
                         "field 'Status' can not be filtered in query call")
    # also inside a semi-join and in lower case
    e = err(cat, "SELECT Id FROM User WHERE Id IN (SELECT UserId FROM LoginHistory WHERE status LIKE 'F%')")
    assert e.message.endswith("field 'Status' can not be filtered in query call")


def test_not_sortable_and_not_groupable(cat: FakeCatalog) -> None:
    e = err(cat, "SELECT Id FROM User ORDER BY AboutMe")
    assert (e.error_code, e.message.splitlines()[-1]) == ("INVALID_FIELD", "field 'AboutMe' can not be sorted in a query call")
    assert "ERROR at Row:1:Column:30" in e.message
    e = err(cat, "SELECT AboutMe, COUNT(Id) FROM User GROUP BY AboutMe")
    assert (e.error_code, e.message.splitlines()[-1]) == ("INVALID_FIELD", "field 'AboutMe' can not be grouped in a query call")


@pytest.mark.parametrize("text, token, row, col", [
    ("SELECT Id FORM User", "FORM", 1, 11),
    ("SELECT Id, FROM User", "FROM", 1, 12),
    ("SELECT Id FROM User WHERE", "<EOF>", 1, 26),
    ("SELECT Id FROM User WHERE Name = 'x' ORDER Name", "Name", 1, 44),
    ("SELECT Id FROM User WHERE LastLoginDate = LAST_N_DAZE:3", "LAST_N_DAZE", 1, 43),
    ('SELECT Id FROM User WHERE Name = "x"', '"', 1, 34),
    ("SELECT Id\nFROM User\nWHERE Name = 'x' LIMIT ten", "ten", 3, 24),
])
def test_syntax_errors_caret_layout(cat: FakeCatalog, text: str, token: str, row: int, col: int) -> None:
    e = err(cat, text)
    line = text.split("\n")[row - 1]
    assert e.error_code == "MALFORMED_QUERY"
    assert e.message == f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\nunexpected token: '{token}'"


def test_multi_line_semantic_error_points_at_row(cat: FakeCatalog) -> None:
    e = err(cat, "SELECT Id\nFROM User\nWHERE Nope__c = 1")
    assert e.message.startswith("\nWHERE Nope__c = 1\n      ^\nERROR at Row:3:Column:7\nNo such column 'Nope__c'")


def test_field_must_be_grouped_or_aggregated(cat: FakeCatalog) -> None:
    e = err(cat, "SELECT Name, COUNT(Id) FROM User")
    assert e.error_code == "MALFORMED_QUERY"
    assert e.message == ("\nSELECT Name, COUNT(Id) FROM User\n       ^\nERROR at Row:1:Column:8\n"
                         "Field must be grouped or aggregated: Name")
    e = err(cat, "SELECT Status, COUNT(Id) FROM LoginHistory GROUP BY Status ORDER BY SourceIp")
    assert e.message.endswith("Ordered field must be grouped or aggregated: SourceIp")


@pytest.mark.parametrize("cond, sentence", [
    ("LastLoginDate > 2026-11-20", "value of filter criterion for field 'LastLoginDate' must be of type dateTime "
                                   "and should not be enclosed in quotes"),
    ("Hire_Date__c > 2026-11-20T00:00:00Z", "value of filter criterion for field 'Hire_Date__c' must be of type "
                                            "date and should not be enclosed in quotes"),
    ("IsActive = 'true'", "value of filter criterion for field 'IsActive' must be of type boolean and should not "
                          "be enclosed in quotes"),
    ("Name = 5", "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes"),
    ("Id = 'abc'", "invalid ID field: abc"),
    ("ProfileId LIKE '00e%'", "invalid operator on id field"),
])
def test_filter_value_type_errors(cat: FakeCatalog, cond: str, sentence: str) -> None:
    e = err(cat, f"SELECT Id FROM User WHERE {cond}")
    assert e.error_code == "INVALID_QUERY_FILTER_OPERATOR"
    assert e.message.splitlines()[-1] == sentence


def test_bad_string_escape_is_malformed(cat: FakeCatalog) -> None:
    e = err(cat, r"SELECT Id FROM User WHERE Name = 'a\qb'")
    assert e.error_code == "MALFORMED_QUERY"
    assert "Illegal character sequence '\\q' in string literal." in e.message


# ------------------------------------------------------------------------------------- engine

def test_parse_is_cached_by_text(cat: FakeCatalog) -> None:
    text = "SELECT Id FROM User WHERE IsActive = true"
    assert soql._parse(text) is soql._parse(text)
    # the cached tree is independent of the catalog: a different catalog gives its own answer
    assert len(q(cat, text)) == 3
    assert q(FakeCatalog({"User": []}), text) == []


def test_rows_are_not_mutated(cat: FakeCatalog) -> None:
    before = repr(cat.rows("User"))
    q(cat, "SELECT Id, Profile.Name, LastLoginDate FROM User ORDER BY Name DESC")
    assert repr(cat.rows("User")) == before


def test_200k_login_history_aggregate_counts_every_row_in_the_window() -> None:
    """Correctness at scale; the time it takes is measured by bench/soql_bench.py."""
    rows = base_rows()
    statuses = ["Success", "Invalid Password", "Failed: API security token required", "Restricted IP"]
    start = NOW - timedelta(days=30)
    rows["LoginHistory"] = [
        {"Id": sfid("0Ya", i), "UserId": U1 if i % 3 else U2, "LoginTime": start + timedelta(seconds=13 * i),
         "Status": statuses[i % 4], "SourceIp": f"203.0.113.{i % 50}", "LoginType": "Application",
         "Application": "Browser"}
        for i in range(200_000)]
    c = FakeCatalog(rows)
    text = ("SELECT Status, SourceIp, COUNT(Id) FROM LoginHistory WHERE LoginTime >= LAST_N_DAYS:7 "
            "GROUP BY Status, SourceIp")
    res = execute(text, c)
    cutoff = datetime(2026, 11, 13, tzinfo=UTC)
    expected = sum(1 for r in rows["LoginHistory"] if r["LoginTime"] >= cutoff)
    assert sum(r["expr0"] for r in res.records) == expected
    assert len(res.records) == 100     # 4 statuses x 50 addresses, the pairs that co-occur (i%4, i%50)


# ------------------------------------------------------------------------------------- fast paths
# The engine answers AND-ed conditions on Id/reference fields and date/datetime fields from
# indexes, orders with a heap under a small LIMIT, and keeps columns per row list; each of
# these must give exactly what the plain per-row scan and full stable sort give.


def varied_rows(n: int = 600, ordered: bool = False) -> dict[str, list[dict[str, Any]]]:
    """LoginHistory with ties, nulls, 15- and 18-character ids, other time zones."""
    import random
    rnd = random.Random(7 if ordered else 11)
    rows = base_rows()
    t0 = NOW - timedelta(days=10)
    jst = timezone(timedelta(hours=9))
    out = []
    for i in range(n):
        minute = 7 * (i // 3) if ordered else rnd.randrange(0, 14000, rnd.choice([1, 60, 600]))
        lt: Any = t0 + timedelta(minutes=minute)
        if not ordered and rnd.random() < 0.1:
            lt = None
        elif rnd.random() < 0.3:
            lt = lt.astimezone(jst)
        uid: Any = (U1, U2, U3)[i * 3 // n] if ordered else rnd.choice([U1, U2, U3, U1[:15], None])
        out.append({"Id": sfid("0Ya", i), "UserId": uid, "LoginTime": lt,
                    "Status": rnd.choice(["Success", "success", "Invalid Password", None]),
                    "SourceIp": rnd.choice(["1.1.1.1", "2.2.2.2", None]),
                    "LoginType": rnd.choice(["Application", "application", "Other Apex API", None]),
                    "Application": rnd.choice(["A", "b", "B", None])})
    rows["LoginHistory"] = out
    return rows


FAST_PATH_QUERIES = [
    "SELECT Id, LoginTime FROM LoginHistory WHERE UserId = '{u1}'",
    "SELECT Id FROM LoginHistory WHERE UserId = '{u1_15}' AND LoginTime >= 2026-11-12T00:00:00Z",
    "SELECT Id FROM LoginHistory WHERE UserId IN ('{u1}', '{u2}') AND LoginTime < 2026-11-15T10:00:00+09:00",
    "SELECT Id FROM LoginHistory WHERE LoginTime > 2026-11-13T00:00:00Z AND LoginTime <= 2026-11-16T00:00:00Z",
    "SELECT Id FROM LoginHistory WHERE LoginTime = 2026-11-12T12:00:00Z",
    "SELECT Id FROM LoginHistory WHERE LoginTime = LAST_N_DAYS:5 AND UserId = '{u2}'",
    "SELECT Id FROM LoginHistory WHERE LoginTime < LAST_N_DAYS:5",
    "SELECT Id FROM LoginHistory WHERE LoginTime <= YESTERDAY OR UserId = '{u3}'",
    "SELECT Id FROM LoginHistory WHERE LoginTime >= THIS_WEEK AND LoginType = 'application'",
    "SELECT Id FROM LoginHistory WHERE LoginTime > TODAY",
    "SELECT Id FROM LoginHistory WHERE LoginTime != 2026-11-12T12:00:00Z AND UserId != null",
    "SELECT Id FROM LoginHistory WHERE (UserId = '{u1}' AND LoginTime >= LAST_N_DAYS:7) AND LoginTime = null",
    "SELECT Id FROM LoginHistory WHERE UserId = '{u1}' AND UserId = '{u2}'",
    "SELECT Id FROM LoginHistory WHERE UserId IN ('{u3}') AND NOT LoginTime < 2026-11-14T00:00:00Z",
    "SELECT Status, LoginType, COUNT(Id) n, COUNT_DISTINCT(UserId) users FROM LoginHistory "
    "WHERE LoginTime >= 2026-11-11T00:00:00Z AND LoginTime < 2026-11-20T00:00:00Z GROUP BY Status, LoginType",
    "SELECT Status, SourceIp, Application, LoginType, COUNT(Id) n, MAX(LoginTime) lastLogin, MIN(LoginTime) FROM "
    "LoginHistory WHERE UserId = '{u1}' AND LoginTime >= 2026-11-11T00:00:00Z GROUP BY Status, SourceIp, "
    "Application, LoginType",
    "SELECT COUNT(Id), MAX(LoginTime) FROM LoginHistory WHERE UserId = '{u2}'",
    "SELECT COUNT() FROM LoginHistory WHERE LoginTime >= LAST_N_DAYS:3",
    "SELECT LoginTime, Status FROM LoginHistory WHERE UserId = '{u1}' AND LoginTime >= 2026-11-11T00:00:00Z "
    "ORDER BY LoginTime DESC LIMIT 25",
    "SELECT Id FROM LoginHistory ORDER BY LoginTime LIMIT 10 OFFSET 5",
]


@pytest.mark.parametrize("ordered", [False, True])
def test_index_path_and_scan_path_give_identical_results(monkeypatch: pytest.MonkeyPatch, ordered: bool) -> None:
    c = FakeCatalog(varied_rows(ordered=ordered))
    used: list[str] = []
    real_eq, real_rng = soql._Table.eq_index, soql._Table.range_index
    monkeypatch.setattr(soql._Table, "eq_index", lambda self, n: used.append("eq") or real_eq(self, n))
    monkeypatch.setattr(soql._Table, "range_index", lambda self, n, t: used.append("range") or real_rng(self, n, t))
    for text in FAST_PATH_QUERIES:
        text = text.format(u1=U1, u1_15=U1[:15], u2=U2, u3=U3)
        monkeypatch.setattr(soql, "_USE_INDEXES", True)
        fast = execute(text, c)
        monkeypatch.setattr(soql, "_USE_INDEXES", False)
        slow = execute(text, c)
        assert (fast.total_size, fast.records) == (slow.total_size, slow.records), text
    assert "eq" in used and "range" in used


def test_index_is_not_used_on_a_column_it_cannot_answer_exactly() -> None:
    rows = varied_rows(60, ordered=True)
    table = soql._Table(rows["LoginHistory"])
    assert table.range_index("LoginTime", "datetime") is not None
    assert table.eq_index("UserId") is not None
    rows["LoginHistory"][5]["LoginTime"] = rows["LoginHistory"][5]["LoginTime"].replace(tzinfo=None)  # naive
    rows["LoginHistory"][6]["UserId"] = 42
    table = soql._Table(rows["LoginHistory"])
    assert table.range_index("LoginTime", "datetime") is None
    assert table.eq_index("UserId") is None
    assert table.range_index("LoginTime", "date") is None       # datetimes are not dates


@pytest.mark.parametrize("ordered", [False, True])
@pytest.mark.parametrize("order_by", [
    "LoginTime", "LoginTime DESC", "LoginTime NULLS LAST", "LoginTime DESC NULLS FIRST",
    "Status", "Status DESC NULLS LAST", "Status, LoginTime DESC", "Status DESC, SourceIp DESC NULLS LAST, Id DESC",
    "UserId NULLS LAST, Application", "Application DESC, LoginTime",
])
def test_limited_order_by_equals_the_full_sort_cut(ordered: bool, order_by: str) -> None:
    """LIMIT takes the heap (or the presorted) path; without LIMIT, the full stable sort."""
    c = FakeCatalog(varied_rows(ordered=ordered))
    full = [r["Id"] for r in q(c, f"SELECT Id FROM LoginHistory ORDER BY {order_by}")]
    for limit, offset in [(1, 0), (7, 0), (25, 3), (599, 0), (600, 0), (5000, 0), (10, 595)]:
        got = [r["Id"] for r in q(c, f"SELECT Id FROM LoginHistory ORDER BY {order_by} LIMIT {limit} OFFSET {offset}")]
        assert got == full[offset:offset + limit], (limit, offset)


def test_ordered_positions_match_the_stable_sort_with_ties_and_nulls() -> None:
    import random
    rnd = random.Random(3)
    for trial in range(300):
        n = rnd.choice([0, 1, 2, 5, 40, 300])
        presorted = trial % 3 == 0
        pool = [None, "a", "B", "b", "c", "A"] if trial % 2 else [None, 1, 2, 2.5, 3, 3]
        cols = []
        for _ in range(rnd.choice([1, 1, 2, 3])):
            vals = [rnd.choice(pool) for _ in range(n)]
            if presorted:
                vals = sorted(vals, key=lambda v: (v is None, str(v).casefold()))
            cols.append((vals, rnd.random() < 0.5, rnd.random() < 0.5))
        if trial % 5 == 0:   # same direction on every key: the composite-key path
            cols = [(v, cols[0][1], nf) for v, _, nf in cols]
        items = list(range(n))
        expected = soql._sort(items, [((lambda i, _v=v: _v[i]), d, nf) for v, d, nf in cols])
        top = rnd.choice([None, 0, 1, 3, n // 2, n, n + 5])
        got = soql._ordered_positions(cols, n, top)
        assert got == (expected if top is None else expected[:top]), (cols, top)


def test_row_list_tables_are_kept_until_the_list_grows() -> None:
    from sfdoctor.demo.store import RowList
    rows = varied_rows(200, ordered=True)
    lh = rows["LoginHistory"] = RowList(rows["LoginHistory"])
    c = FakeCatalog(rows)
    text = f"SELECT Id FROM LoginHistory WHERE UserId = '{U3}' AND LoginTime >= 2026-11-10T00:00:00Z"
    first = q(c, text)
    table = lh._soql_table
    assert q(c, text) == first and lh._soql_table is table          # reused while the list is unchanged
    lh.append({"Id": sfid("0Ya", 999), "UserId": U3, "LoginTime": NOW, "Status": "Success", "SourceIp": None,
               "LoginType": "Application", "Application": "A"})
    again = q(c, text)
    assert lh._soql_table is not table and [r["Id"] for r in again] == [r["Id"] for r in first] + [sfid("0Ya", 999)]


def test_columns_handed_over_with_the_rows_are_used_only_when_complete() -> None:
    from sfdoctor.demo.store import RowList
    rows = base_rows()
    lh = rows["LoginHistory"] = RowList(rows["LoginHistory"], columns={
        "Status": [r["Status"] for r in rows["LoginHistory"]], "SourceIp": ["short"]})
    lh.append({"Id": sfid("0Ya", 9), "UserId": U1, "LoginTime": NOW, "Status": "Restricted IP",
               "SourceIp": "192.0.2.9", "LoginType": "Application", "Application": "Browser"})
    assert lh.columns["Status"][-1] == "Restricted IP"        # append keeps the columns in step
    c = FakeCatalog(rows)
    recs = q(c, "SELECT Status, SourceIp, COUNT(Id) n FROM LoginHistory GROUP BY Status, SourceIp ORDER BY Status")
    assert ("Restricted IP", "192.0.2.9", 1) in [(r["Status"], r["SourceIp"], r["n"]) for r in recs]
    assert "short" not in [r["SourceIp"] for r in recs]          # an incomplete column is ignored

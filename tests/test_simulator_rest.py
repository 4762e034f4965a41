"""Conformance: REST /services/data — query and queryMore, aggregates, describe per profile,
limits and Sforce-Limit-Info, errors as simple-salesforce maps them, composite, direct access."""
from __future__ import annotations

import re

import pytest
import requests
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import (SalesforceExpiredSession, SalesforceMalformedRequest,
                                          SalesforceRefusedRequest, SalesforceResourceNotFound)

from conftest import BASE_SCENARIO, SYNC, routed_session, simulator_on
from sfdoctor.demo.store import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

# 4,500 LoginHistory rows for the sync user: three REST batches (2000 + 2000 + 500).
BIG = BASE_SCENARIO + """  login_history:
    - {username: sync@acme.example, at: -5d, count: 4500, every: 1m, source_ip: 203.0.113.7,
       status: Success, login_type: Partner Product, application: Marketo, api_type: SOAP Partner}
"""


@pytest.fixture(scope="module")
def big_sim(tmp_path_factory):
    with simulator_on(BIG, tmp_path_factory.mktemp("big"), "big") as sim:
        yield sim


def admin(sim) -> Salesforce:
    return Salesforce(consumer_key=DEMO_CLIENT_ID, consumer_secret=DEMO_CLIENT_SECRET, domain="acme.my",
                      session=routed_session(sim))


def sync_user(sim) -> Salesforce:
    sid, instance = SalesforceLogin(username=SYNC[0], password=SYNC[1], security_token=SYNC[2],
                                    session=routed_session(sim))
    return Salesforce(session_id=sid, instance=instance, session=routed_session(sim))


def bearer(sim) -> str:
    resp = requests.post(sim.url + "/services/oauth2/token", data={"grant_type": "client_credentials"},
                         auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET), timeout=10)
    return resp.json()["access_token"]


# --------------------------------------------------------------------------- versions, map

def test_versions_list_needs_no_auth(base_sim):
    resp = routed_session(base_sim).get("https://acme.my.salesforce.com/services/data/")
    versions = resp.json()
    assert versions[0] == {"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}
    assert versions[-1]["version"] == "66.0"
    assert list(versions[0]) == ["label", "url", "version"]
    assert next(v for v in versions if v["version"] == "42.0")["label"] == "Spring \u201918"


def test_resource_map(base_sim):
    resources = admin(base_sim).restful("")
    assert resources["query"] == "/services/data/v59.0/query"
    assert resources["limits"] == "/services/data/v59.0/limits"


# --------------------------------------------------------------------------- query

def test_query_more_over_4500_rows(big_sim):
    sf = admin(big_sim)
    user_id = sf.query(f"SELECT Id FROM User WHERE Username = '{SYNC[0]}'")["records"][0]["Id"]
    soql = f"SELECT Id, Status, LoginTime FROM LoginHistory WHERE UserId = '{user_id}'"
    first = sf.query(soql)
    assert (first["totalSize"], first["done"], len(first["records"])) == (4500, False, 2000)
    assert re.fullmatch(r"/services/data/v59\.0/query/01g[A-Za-z0-9]{15}-2000", first["nextRecordsUrl"])
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert second["nextRecordsUrl"].endswith("-4000") and len(second["records"]) == 2000
    everything = sf.query_all(soql)
    assert everything["totalSize"] == 4500 and len(everything["records"]) == 4500
    assert len({r["Id"] for r in everything["records"]}) == 4500
    assert "nextRecordsUrl" not in everything


def test_query_locator_of_another_user_is_refused(big_sim):
    first = admin(big_sim).query("SELECT Id FROM LoginHistory")
    with pytest.raises(SalesforceMalformedRequest) as info:
        sync_user(big_sim).query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert info.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_batch_size_header(big_sim):
    resp = routed_session(big_sim).get("https://acme.my.salesforce.com/services/data/v59.0/query",
                                       params={"q": "SELECT Id FROM LoginHistory"},
                                       headers={"Authorization": f"Bearer {bearer(big_sim)}",
                                                "Sforce-Query-Options": "batchSize=500"})
    assert len(resp.json()["records"]) == 500 and resp.json()["nextRecordsUrl"].endswith("-500")


def test_aggregate_group_by_status(big_sim):
    rows = admin(big_sim).query("SELECT Status, COUNT(Id) n FROM LoginHistory GROUP BY Status")["records"]
    counts = {r["Status"]: r["n"] for r in rows}
    assert counts["Success"] >= 4500
    assert rows[0]["attributes"]["type"] == "AggregateResult"


def test_status_cannot_be_filtered(base_sim):
    with pytest.raises(SalesforceMalformedRequest) as info:
        admin(base_sim).query("SELECT Id FROM LoginHistory WHERE Status = 'Success'")
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert "can not be filtered" in info.value.content[0]["message"]


def test_malformed_query(base_sim):
    with pytest.raises(SalesforceMalformedRequest) as info:
        admin(base_sim).query("SELECT Id FORM User")
    assert info.value.status == 400
    assert info.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_query_all_and_tooling_query(base_sim):
    sf = admin(base_sim)
    assert sf.query_all("SELECT Id FROM Profile", include_deleted=True)["totalSize"] >= 6
    tooling = sf.toolingexecute("query/?q=SELECT+Id,+Name+FROM+Profile")
    assert tooling["size"] == tooling["totalSize"] >= 6
    assert tooling["entityTypeName"] == "Profile" and tooling["queryLocator"] is None
    assert "/tooling/sobjects/Profile/" in tooling["records"][0]["attributes"]["url"]


def test_query_columns_metadata(base_sim):
    """`query?q=...&columns=true` (what `sf data query` asks before printing) answers the
    columns, in the shape of the Salesforce CLI's own exemplars, not the rows."""
    s = routed_session(base_sim)
    auth = {"Authorization": f"Bearer {bearer(base_sim)}"}
    url = "https://acme.my.salesforce.com/services/data/v59.0/query"
    soql = "SELECT Id, Username, Profile.Name, (SELECT AppName FROM OauthTokens) FROM User"
    body = s.get(url, params={"q": soql, "columns": "true"}, headers=auth).json()
    assert (body["entityName"], body["keyPrefix"], body["idSelected"], body["groupBy"]) == ("User", "005", True, False)
    ident, username, profile, history = body["columnMetadata"]
    assert set(ident) == {"aggregate", "apexType", "booleanType", "columnName", "custom", "displayName",
                          "foreignKeyName", "insertable", "joinColumns", "numberType", "textType", "updatable"}
    assert (ident["columnName"], ident["apexType"], ident["insertable"], ident["textType"]) == ("Id", "Id", False, False)
    assert (username["apexType"], username["textType"], username["updatable"]) == ("String", True, True)
    assert (profile["columnName"], profile["foreignKeyName"], profile["apexType"]) == ("Profile", "ProfileId", None)
    assert [j["columnName"] for j in profile["joinColumns"]] == ["Name"]
    assert history["aggregate"] is True and [j["columnName"] for j in history["joinColumns"]] == ["AppName"]
    agg = s.get(url, params={"q": "SELECT Status, COUNT(Id) FROM LoginHistory GROUP BY Status", "columns": "true"},
                headers=auth).json()
    assert agg["groupBy"] is True and agg["idSelected"] is False
    assert [(c["columnName"], c["displayName"], c["aggregate"], c["numberType"]) for c in agg["columnMetadata"]] == [
        ("Status", "Status", False, False), ("expr0", "count(Id)", True, True)]
    bad = s.get(url, params={"q": "SELECT Nope FROM User", "columns": "true"}, headers=auth)
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"


def test_setup_objects_are_queryable(base_sim):
    sf = admin(base_sim)
    for soql in ["SELECT Id, Name, IsSandbox FROM Organization",
                 "SELECT Id, Name, PermissionsApiEnabled FROM Profile",
                 "SELECT Id, AssigneeId, PermissionSetId FROM PermissionSetAssignment",
                 "SELECT Id, IsFrozen, IsPasswordLocked FROM UserLogin",
                 "SELECT Id, ProfileId, StartAddress, EndAddress FROM LoginIpRange",
                 "SELECT Id, AppName, UseCount FROM OauthToken",
                 "SELECT Id, Name FROM ConnectedApplication",
                 "SELECT Id, Email FROM Lead"]:
        sf.query(soql)  # raises on any unknown object or field
    ranges = sf.query("SELECT StartAddress FROM LoginIpRange")["records"]
    assert {r["StartAddress"] for r in ranges} == {"192.0.2.0", "203.0.113.0"}


# --------------------------------------------------------------------------- describe

def test_describe_global_and_field_visibility_per_profile(base_sim):
    sf = admin(base_sim)
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"User", "LoginHistory", "Organization", "Lead", "OauthToken"} <= names
    lead = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    score = lead["mkto71_Lead_Score__c"]
    assert (score["type"], score["custom"], score["label"]) == ("double", True, "Lead Score")
    hidden = {f["name"] for f in sync_user(base_sim).Lead.describe()["fields"]}
    assert "Email" in hidden and "mkto71_Lead_Score__c" not in hidden
    history = {f["name"]: f for f in sf.LoginHistory.describe()["fields"]}
    assert history["Status"]["filterable"] is False and history["Status"]["groupable"] is True
    assert history["UserId"]["referenceTo"] == ["User"]


def test_unknown_sobject_is_not_found(base_sim):
    with pytest.raises(SalesforceResourceNotFound) as info:
        admin(base_sim).restful("sobjects/Nope__c/describe")
    assert info.value.content == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


def test_record_by_id(base_sim):
    sf = admin(base_sim)
    lead_id = sf.query("SELECT Id FROM Lead")["records"][0]["Id"]
    record = sf.Lead.get(lead_id)
    assert record["Email"] == "aiko@example.jp" and record["attributes"]["type"] == "Lead"


# --------------------------------------------------------------------------- limits, auth

def test_limits_and_limit_header(base_sim):
    sf = admin(base_sim)
    limits = sf.limits()
    used_before = 15000 - limits["DailyApiRequests"]["Remaining"]
    assert limits["DailyApiRequests"]["Max"] == 15000
    assert len(limits) > 10
    sf.query("SELECT Id FROM User LIMIT 1")
    usage = sf.api_usage["api-usage"]
    assert (usage.used, usage.total) == (used_before + 1, 15000)


def test_invalid_session(base_sim):
    sf = Salesforce(session_id="00Dbogus!AQnope", instance="acme.my.salesforce.com", session=routed_session(base_sim))
    with pytest.raises(SalesforceExpiredSession) as info:
        sf.query("SELECT Id FROM User")
    assert info.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    resp = routed_session(base_sim).get("https://acme.my.salesforce.com/services/data/v59.0/limits/",
                                        headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"] == "Token"


def test_user_password_resource(base_sim):
    sf = admin(base_sim)
    users = {r["Username"]: r["Id"] for r in sf.query("SELECT Id, Username FROM User")["records"]}
    assert sf.restful(f"sobjects/User/{users['expired@acme.example']}/password") == {"isExpired": True}
    assert sf.restful(f"sobjects/User/{users['sync@acme.example']}/password") == {"isExpired": False}
    with pytest.raises(SalesforceRefusedRequest):
        sync_user(base_sim).restful(f"sobjects/User/{users['admin@acme.example']}/password")


def test_rest_refused_when_org_api_disabled(simulator, write_scenario):
    sim = simulator(write_scenario(BASE_SCENARIO.replace("  my_domain: acme\n", "  my_domain: acme\n  api_enabled: false\n")))
    with sim.lock:  # no login succeeds in such an org; plant a session to reach the REST check
        user = sim.world.user_by_username("admin@acme.example")
        sid = sim.world.issue_session(user["Id"])
    sf = Salesforce(session_id=sid, instance="acme.my.salesforce.com", session=routed_session(sim))
    with pytest.raises(SalesforceRefusedRequest) as info:
        sf.query("SELECT Id FROM User")
    assert info.value.content == [{"message": "The REST API is not enabled for this Organization.",
                                   "errorCode": "API_DISABLED_FOR_ORG"}]


# --------------------------------------------------------------------------- composite

def test_composite_reads_with_references(base_sim):
    sf = admin(base_sim)
    body = {"allOrNone": False, "compositeRequest": [
        {"method": "GET", "url": "/services/data/v59.0/query?q=SELECT+Id+FROM+User+WHERE+Username='sync@acme.example'",
         "referenceId": "u"},
        {"method": "GET", "url": "/services/data/v59.0/sobjects/User/@{u.records[0].Id}?fields=Username",
         "referenceId": "detail"},
        {"method": "GET", "url": "/services/data/v59.0/sobjects/Nope__c/describe", "referenceId": "bad"},
    ]}
    out = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert [r["httpStatusCode"] for r in out] == [200, 200, 404]
    assert out[1]["body"]["Username"] == "sync@acme.example"
    assert out[2]["body"][0]["errorCode"] == "NOT_FOUND"


def test_composite_batch_halt_on_error(base_sim):
    body = {"haltOnError": True, "batchRequests": [
        {"method": "GET", "url": "v59.0/limits"},
        {"method": "GET", "url": "v59.0/sobjects/Nope__c/describe"},
        {"method": "GET", "url": "v59.0/limits"},
    ]}
    out = admin(base_sim).restful("composite/batch", method="POST", json=body)
    assert out["hasErrors"] is True
    assert [r["statusCode"] for r in out["results"]] == [200, 404, 412]
    assert out["results"][2]["result"][0]["errorCode"] == "BATCH_PROCESSING_HALTED"


def test_writes_are_answered_not_performed(base_sim):
    sf = admin(base_sim)
    with pytest.raises(SalesforceRefusedRequest):
        sf.Lead.create({"LastName": "X", "Company": "Y"})
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 1


# --------------------------------------------------------------------------- direct access

def test_direct_plain_requests_stays_on_simulator(big_sim):
    token = bearer(big_sim)
    headers = {"Authorization": f"Bearer {token}"}
    resp = requests.get(big_sim.url + "/services/data/v59.0/query/", params={"q": "SELECT Id FROM LoginHistory"},
                        headers=headers, timeout=10)
    assert resp.status_code == 200
    assert re.fullmatch(r"api-usage=\d+/15000", resp.headers["Sforce-Limit-Info"])
    seen = len(resp.json()["records"])
    while not resp.json()["done"]:
        resp = requests.get(big_sim.url + resp.json()["nextRecordsUrl"], headers=headers, timeout=10)
        seen += len(resp.json()["records"])
    assert seen == resp.json()["totalSize"]


def test_unknown_rest_path_and_version(base_sim):
    headers = {"Authorization": f"Bearer {bearer(base_sim)}"}
    for path in ("/services/data/v59.0/nothing", "/services/data/v20.0/limits", "/services/data/v99.0/"):
        resp = requests.get(base_sim.url + path, headers=headers, timeout=10)
        assert resp.status_code == 404
        assert resp.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    resp = requests.post(base_sim.url + "/services/data/v59.0/limits", headers=headers, timeout=10)
    assert resp.status_code == 405 and resp.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"

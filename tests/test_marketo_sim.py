"""Conformance of the demo world's Marketo identity and REST endpoints (demo/marketo.py).

Each test states one wire shape a Marketo client or the marketo-sync-setup runbook relies
on: identity success and 401 bodies, the HTTP-200 error envelope with 600/601/602/603/605/
610, the lead query, describe and usage statistics. Handlers are called directly, as the
server does, against a world built from the real scenario models.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import pytest

from conftest import world_on_movable_clock

from sfdoctor.demo import marketo
from sfdoctor.demo.store import World
from sfdoctor.demo.wire import SimRequest, SimResponse

HOST = "123-ABC-456.mktorest.com"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)

SCENARIO = {
    "name": "mkto-test",
    "salesforce": {"records": {
        "Lead": [{"FirstName": "Aiko", "LastName": "Sato", "Email": "aiko@example.jp", "Company": "Example KK",
                  "CreatedDate": "2026-11-14T02:00:00Z"}],
        "Contact": [{"FirstName": "Sho", "LastName": "Fujita", "Email": "sho@sakura.example"}]}},
    "marketo": {
        "munchkin_id": "123-ABC-456",
        "client_id": "mkto-client",
        "client_secret": "mkto-secret",
        "api_access": True,
        "sync": {"status": "Failed", "last_synced_at": "2026-11-17T09:00:00Z"},
        "leads": [
            {"email": "aiko@example.jp"},                       # linked to the Salesforce Lead by email
            {"email": "ken@example.jp", "first_name": "Ken", "last_name": "Ito",
             "sfdc_lead_id": "00Q000000000009AAA"},             # linked explicitly by the scenario
            {"email": "mio@example.jp"},                        # never reached Salesforce
            {"email": "sho@sakura.example"},                    # linked to a Salesforce Contact
        ],
    },
}


def make_world(overrides: dict[str, Any] | None = None) -> World:
    """A real World for SCENARIO (marketo keys overridden), on a clock the test can move."""
    data = json.loads(json.dumps(SCENARIO))
    for key, value in (overrides or {}).items():
        data["marketo"][key] = value
    return world_on_movable_clock(data, T0)


@pytest.fixture
def world() -> World:
    return make_world()


def request(method: str, path: str, *, query: dict[str, str] | None = None, headers: dict[str, str] | None = None,
            body: bytes = b"", host: str = HOST) -> SimRequest:
    direct = host.startswith("127.0.0.1")
    return SimRequest(method=method, path=path, query={k: [v] for k, v in (query or {}).items()},
                      headers={k.lower(): v for k, v in (headers or {}).items()}, body=body, host=host,
                      base_url=("http://" if direct else "https://") + host, direct=direct)


def call(world: Any, req: SimRequest) -> tuple[int, Any]:
    resp = marketo.handle(req, world)
    assert isinstance(resp, SimResponse), f"{req.method} {req.path} was not answered"
    return resp.status, json.loads(resp.body)


CREDS = {"grant_type": "client_credentials", "client_id": "mkto-client", "client_secret": "mkto-secret"}


def get_token(world: Any, host: str = HOST) -> str:
    status, body = call(world, request("GET", "/identity/oauth/token", query=CREDS, host=host))
    assert status == 200, body
    return body["access_token"]


def rest(world: Any, path: str, token: str | None, query: dict[str, str] | None = None,
         method: str = "GET", body: bytes = b"", headers: dict[str, str] | None = None) -> dict[str, Any]:
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    status, data = call(world, request(method, path, query=query, headers=h, body=body))
    assert status == 200, "Marketo answers response-level errors with HTTP 200"
    assert re.fullmatch(r"[0-9a-f]{4}#[0-9a-f]+", data["requestId"])
    return data


def error_code(data: dict[str, Any]) -> tuple[str, str]:
    assert data["success"] is False and "result" not in data
    (err,) = data["errors"]
    assert isinstance(err["code"], str), "codes are quoted strings"
    return err["code"], err["message"]


# --------------------------------------------------------------------------- identity

def test_identity_success_shape(world: Any) -> None:
    status, body = call(world, request("GET", "/identity/oauth/token", query=CREDS))
    assert status == 200
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[a-z]+", body["access_token"])
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3599
    assert body["scope"] == marketo.api_user_email(world.scenario.marketo)
    assert "@" in body["scope"]


def test_identity_by_post_with_query_or_form_body(world: Any) -> None:
    status, by_query = call(world, request("POST", "/identity/oauth/token", query=CREDS))
    assert status == 200
    status, by_form = call(world, request(
        "POST", "/identity/oauth/token", body=urlencode(CREDS).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"}))
    assert status == 200
    # A second request while the first token lives returns that same token.
    assert by_form["access_token"] == by_query["access_token"]


def test_identity_returns_same_token_with_remaining_lifetime(world: Any) -> None:
    first = get_token(world)
    world.test_clock.advance(seconds=600)
    status, body = call(world, request("GET", "/identity/oauth/token", query=CREDS))
    assert body["access_token"] == first
    assert body["expires_in"] == 3599 - 600


def test_identity_issues_new_token_after_expiry(world: Any) -> None:
    clock = world.test_clock
    first = get_token(world)
    clock.advance(seconds=3601)
    second = get_token(world)
    assert second != first
    assert rest(world, "/rest/v1/leads/describe.json", first)["errors"][0]["code"] == "602"
    assert rest(world, "/rest/v1/leads/describe.json", second)["success"] is True


def test_identity_wrong_secret(world: Any) -> None:
    status, body = call(world, request("GET", "/identity/oauth/token",
                                       query={**CREDS, "client_secret": "nope"}))
    assert status == 401
    assert body == {"error": "invalid_client", "error_description": "Bad client credentials"}


def test_identity_unknown_client_id(world: Any) -> None:
    status, body = call(world, request("GET", "/identity/oauth/token", query={**CREDS, "client_id": "who"}))
    assert status == 401
    assert body == {"error": "unauthorized", "error_description": "No client with requested id: who"}


def test_identity_on_another_instance_does_not_know_the_client(world: Any) -> None:
    status, body = call(world, request("GET", "/identity/oauth/token", query=CREDS,
                                       host="999-ZZZ-999.mktorest.com"))
    assert status == 401
    assert body["error_description"] == "No client with requested id: mkto-client"


def test_identity_missing_client_id_and_grant_type(world: Any) -> None:
    status, body = call(world, request("GET", "/identity/oauth/token", query={"grant_type": "client_credentials"}))
    assert status == 401 and body["error"] == "unauthorized"
    no_grant = {k: v for k, v in CREDS.items() if k != "grant_type"}
    status, body = call(world, request("GET", "/identity/oauth/token", query=no_grant))
    assert status == 400 and body["error"] == "invalid_request"
    status, body = call(world, request("GET", "/identity/oauth/token", query={**CREDS, "grant_type": "password"}))
    assert status == 400 and body == {"error": "unsupported_grant_type",
                                      "error_description": "Unsupported grant type: password"}


def test_identity_served_when_reached_directly(world: Any) -> None:
    assert get_token(world, host="127.0.0.1:8765")


# --------------------------------------------------------------------------- REST auth errors

def test_rest_without_token_is_600(world: Any) -> None:
    assert error_code(rest(world, "/rest/v1/leads/describe.json", None)) == ("600", "Access token not specified")


def test_rest_access_token_query_parameter_is_no_longer_read(world: Any) -> None:
    token = get_token(world)
    data = rest(world, "/rest/v1/leads/describe.json", None, query={"access_token": token})
    assert error_code(data)[0] == "600"


def test_rest_identity_path_under_rest_is_600(world: Any) -> None:
    # Adobe documents 600 for a call to the identity endpoint with "/rest" in its path.
    data = rest(world, "/rest/identity/oauth/token", None, query=CREDS)
    assert error_code(data)[0] == "600"


def test_rest_bad_token_is_601(world: Any) -> None:
    get_token(world)
    assert error_code(rest(world, "/rest/v1/leads/describe.json", "not-a-token")) == ("601", "Access token invalid")


def test_rest_token_of_another_instance_is_601(world: Any) -> None:
    token = get_token(world)
    status, data = call(world, request("GET", "/rest/v1/leads/describe.json",
                                       headers={"Authorization": f"Bearer {token}"}, host="999-ZZZ-999.mktorest.com"))
    assert status == 200 and error_code(data)[0] == "601"


def test_rest_expired_token_is_602(world: Any) -> None:
    clock = world.test_clock
    token = get_token(world)
    clock.advance(seconds=3600)
    assert error_code(rest(world, "/rest/v1/leads/describe.json", token)) == ("602", "Access token expired")


def test_rest_api_access_off_is_603() -> None:
    w = make_world({"api_access": False})
    token = get_token(w)     # identity still succeeds: only the API calls are refused
    assert error_code(rest(w, "/rest/v1/leads/describe.json", token)) == ("603", "Access denied")


def test_rest_unknown_path_is_610(world: Any) -> None:
    token = get_token(world)
    assert error_code(rest(world, "/rest/v1/nothing/here.json", token)) == ("610", "Requested resource not found")
    assert error_code(rest(world, "/rest/v1/lead/abc.json", token))[0] == "610"


def test_rest_write_method_on_read_endpoint_is_605(world: Any) -> None:
    token = get_token(world)
    assert error_code(rest(world, "/rest/v1/leads.json", token, method="POST", body=b"{}"))[0] == "605"


# --------------------------------------------------------------------------- leads

def test_leads_by_email_default_fields(world: Any) -> None:
    token = get_token(world)
    data = rest(world, "/rest/v1/leads.json", token,
                {"filterType": "email", "filterValues": "aiko@example.jp,ken@example.jp,nobody@example.jp"})
    assert data["success"] is True and data["moreResult"] is False and "nextPageToken" not in data
    assert [r["email"] for r in data["result"]] == ["aiko@example.jp", "ken@example.jp"]
    first = data["result"][0]
    assert set(first) == {"id", "updatedAt", "lastName", "email", "createdAt", "firstName"}
    assert isinstance(first["id"], int)
    assert first["firstName"] == "Aiko" and first["lastName"] == "Sato"    # from the Salesforce Lead
    assert first["createdAt"] == "2026-11-14T02:00:00Z"                    # when Salesforce created it
    assert first["updatedAt"] == "2026-11-17T09:00:00Z"                    # touched by the last sync
    assert data["result"][1]["createdAt"] == "2026-11-17T09:00:00Z"        # unlinked: the last sync


def salesforce_id(world: World, sobject: str, email: str) -> str:
    admin = world.user_by_username(world.scenario.admin_user.username)
    return next(r["Id"] for r in world.catalog_for(admin["Id"]).rows(sobject) if r["Email"] == email)


def test_leads_requested_fields_and_sfdc_links(world: World) -> None:
    token = get_token(world)
    data = rest(world, "/rest/v1/leads.json", token, {
        "filterType": "email", "filterValues": "AIKO@example.jp,ken@example.jp,mio@example.jp,sho@sakura.example",
        "fields": "email,sfdcLeadId,sfdcContactId,sfdcType"})
    rows = {r["email"]: r for r in data["result"]}
    assert set(rows["aiko@example.jp"]) == {"id", "email", "sfdcLeadId", "sfdcContactId", "sfdcType"}
    aiko_id = salesforce_id(world, "Lead", "aiko@example.jp")
    assert aiko_id.startswith("00Q")
    assert (rows["aiko@example.jp"]["sfdcLeadId"], rows["aiko@example.jp"]["sfdcType"]) == (aiko_id, "Lead")
    assert rows["ken@example.jp"]["sfdcLeadId"] == "00Q000000000009AAA"
    # mio never reached Salesforce: Marketo shows nulls, not missing keys.
    assert (rows["mio@example.jp"]["sfdcLeadId"], rows["mio@example.jp"]["sfdcType"]) == (None, None)
    sho = rows["sho@sakura.example"]
    assert (sho["sfdcLeadId"], sho["sfdcType"]) == (None, "Contact")
    assert sho["sfdcContactId"] == salesforce_id(world, "Contact", "sho@sakura.example")


def test_leads_filter_by_sfdc_lead_id(world: World) -> None:
    token = get_token(world)
    aiko_id = salesforce_id(world, "Lead", "aiko@example.jp")
    data = rest(world, "/rest/v1/leads.json", token,
                {"filterType": "sfdcLeadId", "filterValues": f"{aiko_id},00Q000000000009AAA"})
    assert [r["email"] for r in data["result"]] == ["aiko@example.jp", "ken@example.jp"]


def test_leads_empty_result_is_success(world: Any) -> None:
    token = get_token(world)
    data = rest(world, "/rest/v1/leads.json", token, {"filterType": "email", "filterValues": "x@y.z"})
    assert data["success"] is True and data["result"] == []


def test_leads_query_errors(world: Any) -> None:
    token = get_token(world)
    assert error_code(rest(world, "/rest/v1/leads.json", token, {"filterValues": "a@b.c"}))[0] == "701"
    assert error_code(rest(world, "/rest/v1/leads.json", token, {"filterType": "email"}))[0] == "701"
    assert error_code(rest(world, "/rest/v1/leads.json", token,
                           {"filterType": "shoeSize", "filterValues": "9"}))[0] == "1003"
    code, message = error_code(rest(world, "/rest/v1/leads.json", token,
                                    {"filterType": "email", "filterValues": "a@b.c", "fields": "email,bogus"}))
    assert code == "1006" and "bogus" in message
    too_many = ",".join(f"u{i}@x.y" for i in range(301))
    assert error_code(rest(world, "/rest/v1/leads.json", token,
                           {"filterType": "email", "filterValues": too_many}))[0] == "1003"


def test_leads_paging_with_next_page_token(world: Any) -> None:
    token = get_token(world)
    q = {"filterType": "email", "filterValues": "aiko@example.jp,ken@example.jp,mio@example.jp", "batchSize": "2"}
    page1 = rest(world, "/rest/v1/leads.json", token, q)
    assert len(page1["result"]) == 2 and page1["moreResult"] is True and page1["nextPageToken"]
    page2 = rest(world, "/rest/v1/leads.json", token, {**q, "nextPageToken": page1["nextPageToken"]})
    assert [r["email"] for r in page2["result"]] == ["mio@example.jp"]
    assert page2["moreResult"] is False and "nextPageToken" not in page2
    assert error_code(rest(world, "/rest/v1/leads.json", token, {**q, "nextPageToken": "garbage!"}))[0] == "1003"


def test_leads_post_with_method_get_override(world: Any) -> None:
    token = get_token(world)
    body = urlencode({"filterType": "email", "filterValues": "ken@example.jp"}).encode()
    data = rest(world, "/rest/v1/leads.json", token, {"_method": "GET"}, method="POST", body=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert [r["email"] for r in data["result"]] == ["ken@example.jp"]


def test_leads_post_with_method_get_in_the_form_body(world: Any) -> None:
    """marketorestpython and node-marketo put `_method=GET` in the form body, not the URL
    (docs/simulator.md); `fields` comes twice, as requests encodes a list."""
    token = get_token(world)
    body = urlencode([("_method", "GET"), ("filterType", "email"), ("filterValues", "ken@example.jp,aiko@example.jp"),
                      ("fields", "email"), ("fields", "sfdcLeadId")]).encode()
    data = rest(world, "/rest/v1/leads.json", token, method="POST", body=body,
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert data["success"] is True
    assert sorted((r["email"], set(r)) for r in data["result"])[0] == ("aiko@example.jp", {"id", "email", "sfdcLeadId"})
    assert len(data["result"]) == 2
    # a JSON body is a write, never a disguised read
    assert error_code(rest(world, "/rest/v1/leads.json", token, method="POST", body=b'{"_method": "GET"}',
                           headers={"Content-Type": "application/json"}))[0] == "605"


def test_repeated_list_parameters_all_count(world: Any) -> None:
    """Adobe's OpenAPI declares `fields` and `filterValues` arrays: `fields=a&fields=b` asks
    for both, as `fields=a,b` does; a repeated single-valued parameter keeps its first."""
    token = get_token(world)
    req = SimRequest(method="GET", path="/rest/v1/leads.json",
                     query={"filterType": ["email", "id"], "filterValues": ["ken@example.jp", "aiko@example.jp,mio@example.jp"],
                            "fields": ["email", "lastName,sfdcLeadId"]},
                     headers={"authorization": f"Bearer {token}"}, body=b"", host=HOST, base_url=f"https://{HOST}",
                     direct=False)
    status, data = call(world, req)
    assert status == 200 and data["success"] is True
    assert sorted(r["email"] for r in data["result"]) == ["aiko@example.jp", "ken@example.jp", "mio@example.jp"]
    assert all(set(r) == {"id", "email", "lastName", "sfdcLeadId"} for r in data["result"])


def test_lead_by_id(world: Any) -> None:
    token = get_token(world)
    ken = rest(world, "/rest/v1/leads.json", token, {"filterType": "email", "filterValues": "ken@example.jp"})
    lead_id = ken["result"][0]["id"]
    data = rest(world, f"/rest/v1/lead/{lead_id}.json", token, {"fields": "email,lastName"})
    assert data["result"] == [{"id": lead_id, "email": "ken@example.jp", "lastName": "Ito"}]
    assert rest(world, "/rest/v1/lead/999999.json", token)["result"] == []


# --------------------------------------------------------------------------- describe

def test_describe_shape(world: Any) -> None:
    token = get_token(world)
    data = rest(world, "/rest/v1/leads/describe.json", token)
    by_name = {f["rest"]["name"]: f for f in data["result"]}
    assert {"id", "email", "firstName", "lastName", "sfdcLeadId", "createdAt", "updatedAt"} <= set(by_name)
    email = by_name["email"]
    assert email["dataType"] == "email" and email["length"] == 255
    assert email["soap"] == {"name": "Email", "readOnly": False}
    assert by_name["sfdcLeadId"]["rest"]["readOnly"] is True


def test_describe2_shape(world: Any) -> None:
    token = get_token(world)
    (lead,) = rest(world, "/rest/v1/leads/describe2.json", token)["result"]
    assert lead["name"] == "API Lead"
    assert ["email"] in lead["searchableFields"]
    sfdc = next(f for f in lead["fields"] if f["name"] == "sfdcLeadId")
    assert sfdc["crmManaged"] is True and sfdc["updateable"] is False


# --------------------------------------------------------------------------- usage statistics

def test_usage_counts_successful_and_quota_counted_calls_only(world: Any) -> None:
    token = get_token(world)
    rest(world, "/rest/v1/leads/describe.json", token)
    rest(world, "/rest/v1/leads.json", token, {"filterType": "email", "filterValues": "a@b.c"})
    rest(world, "/rest/v1/leads.json", token, {"filterType": "shoeSize", "filterValues": "9"})  # 1003: counted
    rest(world, "/rest/v1/leads/describe.json", "bad-token")                                  # 601: not counted
    rest(world, "/rest/v1/nope.json", token)                                                  # 610: not counted
    (today,) = rest(world, "/rest/v1/stats/usage.json", token)["result"]
    assert today["date"] == "2026-11-20"
    user = marketo.api_user_email(world.scenario.marketo)
    # three counted calls before this one; the usage call itself is counted after it answers
    assert today["users"] == [{"userId": user, "count": 3}] and today["total"] == 3


def test_error_statistics(world: Any) -> None:
    token = get_token(world)
    rest(world, "/rest/v1/leads/describe.json", "bad-token")
    rest(world, "/rest/v1/leads/describe.json", "bad-token")
    rest(world, "/rest/v1/nope.json", token)
    (today,) = rest(world, "/rest/v1/stats/errors.json", token)["result"]
    assert today["total"] == 3
    assert sorted((e["errorCode"], e["count"]) for e in today["errors"]) == [("601", 2), ("610", 1)]


def test_last_seven_days_lists_only_days_with_calls(world: Any) -> None:
    clock = world.test_clock
    token = get_token(world)
    rest(world, "/rest/v1/leads/describe.json", token)
    clock.advance(days=1)
    token = get_token(world)
    rest(world, "/rest/v1/leads/describe.json", token)
    days = rest(world, "/rest/v1/stats/usage/last7days.json", token)["result"]
    assert [d["date"] for d in days] == ["2026-11-21", "2026-11-20"]
    assert [d["total"] for d in days] == [1, 1]
    assert rest(world, "/rest/v1/stats/errors/last7days.json", token)["result"] == []


# --------------------------------------------------------------------------- dispatch

def test_not_marketo_paths_or_hosts_are_left_to_others(world: Any) -> None:
    assert marketo.handle(request("GET", "/services/data/"), world) is None
    assert marketo.handle(request("POST", "/v2/token", host="mc7xk2abcd0q1w2e3r4t5y6u7i8p.auth.marketingcloudapis.com"), world) is None
    assert marketo.handle(request("GET", "/rest/v1/leads.json", host="acme.my.salesforce.com"), world) is None


# --------------------------------------------------------------------------- through the running simulator

def test_over_http_with_builtin_scenario_and_stats() -> None:
    """The server dispatches to this module, whether re-routed by Host or reached directly,
    and counts each Marketo call per endpoint."""
    requests = pytest.importorskip("requests")
    from sfdoctor.demo.server import Simulator  # noqa: PLC0415

    sim = Simulator("marketo-sync-failed")
    url = sim.start()
    try:
        host = {"Host": "482-KTR-913.mktorest.com"}
        mk = sim.world.scenario.marketo
        creds = {"grant_type": "client_credentials", "client_id": mk.client_id, "client_secret": mk.client_secret}
        r = requests.get(f"{url}/identity/oauth/token", params=creds, headers=host, timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
        token = r.json()["access_token"]
        r = requests.get(f"{url}/rest/v1/leads.json", timeout=10,
                         params={"filterType": "email", "filterValues": "aiko@example.jp,rina.ono@example.jp"},
                         headers={**host, "Authorization": f"Bearer {token}"})
        body = r.json()
        assert r.status_code == 200 and body["success"] is True
        # rina.ono's Lead was created in Salesforce after the sync failed: it never reached Marketo
        assert [x["email"] for x in body["result"]] == ["aiko@example.jp"]
        r = requests.get(f"{url}/rest/v1/leads/describe.json", timeout=10, headers={"Authorization": "Bearer nope"})
        assert r.status_code == 200 and r.json()["errors"][0]["code"] == "601"
        stats = requests.get(f"{url}/__sfdoctor/stats", timeout=10).json()
        assert stats["GET /identity/oauth/token"] == 1
        assert stats["GET /rest/v1/leads.json"] == 1
        assert stats["GET /rest/v1/leads/describe.json"] == 1
    finally:
        sim.stop()


@pytest.mark.parametrize("error,code,message", [
    ("606", "606", "Max rate limit '100' exceeded with in '20' secs"),
    ("607", "607", "Daily quota reached"),
    ("615", "615", "Concurrent access limit reached"),
    ("REQUEST_LIMIT_EXCEEDED", "607", "Daily quota reached"),
])
def test_injected_marketo_error_codes_answer_marketos_envelope(error: str, code: str, message: str) -> None:
    """A scenario's `faults: [{error: "606"}]` on a Marketo path: HTTP 200, success false, the
    code as a quoted string (reference §6.2), not Salesforce's 400 envelope."""
    from sfdoctor.demo import faults

    response = faults.error_response(faults.api_kind(HOST, "/rest/v1/leads.json"), error)
    data = json.loads(response.body)
    assert response.status == 200
    assert data["success"] is False and data["errors"] == [{"code": code, "message": message}]
    assert re.fullmatch(r"[0-9a-f]{4}#[0-9a-f]{11}", data["requestId"])

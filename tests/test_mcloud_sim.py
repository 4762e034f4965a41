"""Conformance of the demo world's Marketing Cloud endpoints (demo/mcloud.py).

Covers what the mc-missing-oauth-token runbook relies on: the /v2/token success and 401
bodies (reference §5.1), SOAP Retrieve of AccountUser with the fueloauth header (§9), the
security fault for a bad or expired token, and the simulator-only user-login endpoint
that plays Data Cloud's connection attempt.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from conftest import world_on_movable_clock

from sfdoctor.demo import mcloud
from sfdoctor.demo.store import World
from sfdoctor.demo.wire import SimRequest, SimResponse

SUB = "mc7xk2abcd0q1w2e3r4t5y6u7i8p"
AUTH = f"{SUB}.auth.marketingcloudapis.com"
SOAP = f"{SUB}.soap.marketingcloudapis.com"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
NS = {"s": "http://schemas.xmlsoap.org/soap/envelope/", "p": "http://exacttarget.com/wsdl/partnerAPI"}
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

SCENARIO = {
    "name": "mc-test",
    "marketing_cloud": {
        "subdomain": SUB,
        "client_id": "mc-client",
        "client_secret": "mc-secret",
        "ip_allowlist": {"enabled": True, "ranges": [{"start": "192.0.2.0", "end": "192.0.2.255"}]},
        "password_policy": {"expire_days": 90, "exclude_api_users": False},
        "users": [
            {"username": "dc-integration", "password": "Mc-pass-1", "api_user": False,
             "password_changed_at": "2026-07-23T09:00:00Z"},                       # 120 days: expired
            {"username": "fresh-user", "password": "Fresh-1", "api_user": False,
             "password_changed_at": "2026-11-10T12:30:45Z", "email": "fresh@acme.example", "name": "Fresh User"},
            {"username": "api-robot", "password": "Robot-1", "api_user": True, "locked": True, "active": False,
             "password_changed_at": "2026-01-01T00:00:00Z"},
        ],
    },
    "data_cloud": {"egress_ips": ["203.0.113.40", "203.0.113.41"], "marketing_cloud_username": "dc-integration"},
}


def make_world(policy: dict[str, Any] | None = None) -> World:
    """A real World for SCENARIO (password policy overridden), on a clock the test can move."""
    data = json.loads(json.dumps(SCENARIO))
    if policy:
        data["marketing_cloud"]["password_policy"].update(policy)
    return world_on_movable_clock(data, T0)


@pytest.fixture
def world() -> World:
    return make_world()


def request(method: str, path: str, *, host: str, body: bytes = b"", headers: dict[str, str] | None = None) -> SimRequest:
    direct = host.startswith("127.0.0.1")
    return SimRequest(method=method, path=path, query={}, headers={k.lower(): v for k, v in (headers or {}).items()},
                      body=body, host=host, base_url=("http://" if direct else "https://") + host, direct=direct)


def answer(world: Any, req: SimRequest) -> SimResponse:
    resp = mcloud.handle(req, world)
    assert isinstance(resp, SimResponse), f"{req.method} {req.path} on {req.host} was not answered"
    return resp


def post_token(world: Any, body: Any, host: str = AUTH) -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    resp = answer(world, request("POST", "/v2/token", host=host, body=raw,
                                 headers={"Content-Type": "application/json"}))
    return resp.status, json.loads(resp.body)


CREDS = {"grant_type": "client_credentials", "client_id": "mc-client", "client_secret": "mc-secret"}


def get_token(world: Any) -> str:
    status, body = post_token(world, CREDS)
    assert status == 200, body
    return body["access_token"]


def envelope(token: str | None, inner: str, *, header: str = "standard") -> bytes:
    if token is None:
        head = ""
    elif header == "standard":
        head = f'<fueloauth xmlns="http://exacttarget.com">{token}</fueloauth>'
    elif header == "prefixed":
        head = f'<ns1:fueloauth xmlns:ns1="http://exacttarget.com">{token}</ns1:fueloauth>'
    else:  # bare: <Header><fueloauth> without namespaces
        return (f"<Envelope><Header><fueloauth>{token}</fueloauth></Header><Body>{inner}</Body></Envelope>").encode()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">'
        f'<s:Header><a:Action s:mustUnderstand="1">Retrieve</a:Action>{head}</s:Header>'
        f'<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{inner}</s:Body></s:Envelope>'
    ).encode()


def retrieve_msg(object_type: str = "AccountUser", props: tuple[str, ...] = (), filt: str = "") -> str:
    properties = "".join(f"<Properties>{p}</Properties>" for p in props)
    return (f'<RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><RetrieveRequest>'
            f"<ObjectType>{object_type}</ObjectType>{properties}{filt}</RetrieveRequest></RetrieveRequestMsg>")


def user_filter(prop: str, op: str, *values: str) -> str:
    vals = "".join(f"<Value>{v}</Value>" for v in values)
    return (f'<Filter xsi:type="SimpleFilterPart"><Property>{prop}</Property>'
            f"<SimpleOperator>{op}</SimpleOperator>{vals}</Filter>")


def soap_call(world: Any, token: str | None, inner: str, *, header: str = "standard",
              host: str = SOAP) -> tuple[int, ET.Element]:
    resp = answer(world, request("POST", "/Service.asmx", host=host, body=envelope(token, inner, header=header),
                                 headers={"Content-Type": "text/xml", "SOAPAction": "Retrieve"}))
    assert resp.headers["Content-Type"].startswith("text/xml")
    return resp.status, ET.fromstring(resp.body)


def retrieve(world: Any, token: str, inner: str, **kw: Any) -> tuple[str, list[dict[str, Any]]]:
    status, root = soap_call(world, token, inner, **kw)
    assert status == 200
    msg = root.find("s:Body/p:RetrieveResponseMsg", NS)
    assert msg is not None
    assert msg.findtext("p:RequestID", namespaces=NS)
    rows = []
    for res in msg.findall("p:Results", NS):
        assert res.get(XSI_TYPE) == "AccountUser"
        rows.append({el.tag.split("}")[1]: (None if el.get("{http://www.w3.org/2001/XMLSchema-instance}nil")
                                            else el.text) for el in res})
    return msg.findtext("p:OverallStatus", namespaces=NS), rows


def fault(root: ET.Element) -> tuple[str, str, str | None]:
    f = root.find("s:Body/s:Fault", NS)
    assert f is not None
    return f.findtext("faultcode"), f.findtext("faultstring"), f.findtext("faultactor")


# --------------------------------------------------------------------------- /v2/token

def test_token_success_shape(world: Any) -> None:
    status, body = post_token(world, {**CREDS, "account_id": "510000001"})
    assert status == 200
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "soap_instance_url", "rest_instance_url"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1079
    assert body["access_token"].startswith("eyJ") and body["access_token"].count(".") == 2
    assert body["soap_instance_url"] == f"https://{SUB}.soap.marketingcloudapis.com/"
    assert body["rest_instance_url"] == f"https://{SUB}.rest.marketingcloudapis.com/"
    assert "users_read" in body["scope"].split()


def test_token_reached_directly_points_back_at_the_simulator(world: Any) -> None:
    status, body = post_token(world, CREDS, host="127.0.0.1:9911")
    assert status == 200
    assert body["soap_instance_url"] == body["rest_instance_url"] == "http://127.0.0.1:9911/"
    # and the SOAP endpoint it names answers there
    st, rows = retrieve(world, body["access_token"], retrieve_msg(), host="127.0.0.1:9911")
    assert st == "OK" and len(rows) == 3


@pytest.mark.parametrize("creds", [
    {**CREDS, "client_secret": "wrong"},
    {**CREDS, "client_id": "someone-else"},
])
def test_token_bad_client_is_401_invalid_client(world: Any, creds: dict[str, str]) -> None:
    status, body = post_token(world, creds)
    assert status == 401
    assert body == {
        "error": "invalid_client",
        "error_description": ("Client authentication failed. Make sure that the client ID and client secret are "
                              "valid and that the package is installed and enabled."),
        "error_uri": "https://developer.salesforce.com/docs",
    }


def test_token_on_another_tenant_subdomain_is_invalid_client(world: Any) -> None:
    status, body = post_token(world, CREDS, host="mcotherzzzz.auth.marketingcloudapis.com")
    assert status == 401 and body["error"] == "invalid_client"


def test_token_request_errors(world: Any) -> None:
    status, body = post_token(world, b"grant_type=client_credentials&client_id=x")
    assert status == 400 and body["error"] == "invalid_request"
    status, body = post_token(world, {**CREDS, "grant_type": "authorization_code"})
    assert status == 400 and body["error"] == "unsupported_grant_type"
    resp = answer(world, request("GET", "/v2/token", host=AUTH))
    assert resp.status == 405


# --------------------------------------------------------------------------- SOAP AccountUser

def test_retrieve_all_account_users(world: Any) -> None:
    token = get_token(world)
    status, rows = retrieve(world, token, retrieve_msg())
    assert status == "OK"
    by_user = {r["UserID"]: r for r in rows}
    assert set(by_user) == {"dc-integration", "fresh-user", "api-robot"}
    required = {"AccountUserID", "UserID", "Name", "Email", "ActiveFlag", "IsAPIUser", "IsLocked",
                "MustChangePassword", "LastSuccessfulLogin", "DefaultBusinessUnit", "CustomerKey",
                "CreatedDate", "ModifiedDate"}
    assert required <= set(by_user["fresh-user"])
    fresh = by_user["fresh-user"]
    assert fresh["Name"] == "Fresh User" and fresh["Email"] == "fresh@acme.example"
    assert fresh["AccountUserID"].isdigit() and fresh["ID"] == fresh["AccountUserID"]
    assert (fresh["ActiveFlag"], fresh["IsAPIUser"], fresh["IsLocked"], fresh["MustChangePassword"]) == \
        ("true", "false", "false", "false")
    robot = by_user["api-robot"]
    assert (robot["ActiveFlag"], robot["IsAPIUser"], robot["IsLocked"]) == ("false", "true", "true")
    # 120 days since the last change under a 90-day policy: the password must be changed
    assert by_user["dc-integration"]["MustChangePassword"] == "true"
    assert robot["MustChangePassword"] == "true"      # API users are not exempt under this policy


def test_dates_are_marketing_cloud_system_time(world: Any) -> None:
    token = get_token(world)
    _, rows = retrieve(world, token, retrieve_msg(props=("UserID", "ModifiedDate")))
    fresh = next(r for r in rows if r["UserID"] == "fresh-user")
    # 2026-11-10T12:30:45Z is 06:30:45 in US Central Standard Time, written without a zone
    assert fresh["ModifiedDate"] == "2026-11-10T06:30:45.000"


def test_api_users_exempt_when_policy_excludes_them() -> None:
    w = make_world({"exclude_api_users": True})
    token = get_token(w)
    _, rows = retrieve(w, token, retrieve_msg(props=("UserID", "MustChangePassword")))
    flags = {r["UserID"]: r["MustChangePassword"] for r in rows}
    assert flags == {"dc-integration": "true", "fresh-user": "false", "api-robot": "false"}


def test_password_expiry_follows_the_clock(world: Any) -> None:
    token = get_token(world)
    world.test_clock.advance(days=100)    # fresh-user's password (changed 2026-11-10) is now 110 days old
    token = get_token(world)
    _, rows = retrieve(world, token, retrieve_msg(props=("UserID", "MustChangePassword"),
                                                  filt=user_filter("UserID", "equals", "fresh-user")))
    assert rows == [{"PartnerKey": None, "UserID": "fresh-user", "MustChangePassword": "true"}]


def test_filter_on_user_id(world: Any) -> None:
    token = get_token(world)
    status, rows = retrieve(world, token, retrieve_msg(props=("UserID", "IsAPIUser"),
                                                       filt=user_filter("UserID", "equals", "dc-integration")))
    assert status == "OK"
    assert [r["UserID"] for r in rows] == ["dc-integration"]
    assert set(rows[0]) == {"PartnerKey", "UserID", "IsAPIUser"}, "only requested properties come back"
    _, rows = retrieve(world, token, retrieve_msg(props=("UserID",), filt=user_filter("UserID", "equals", "nobody")))
    assert rows == []
    _, rows = retrieve(world, token, retrieve_msg(props=("UserID",),
                                                  filt=user_filter("UserID", "IN", "fresh-user", "api-robot")))
    assert sorted(r["UserID"] for r in rows) == ["api-robot", "fresh-user"]


def test_unknown_property_and_unsupported_filter_are_error_status(world: Any) -> None:
    token = get_token(world)
    status, rows = retrieve(world, token, retrieve_msg(props=("UserID", "ShoeSize")))
    assert status.startswith("Error: The Request Property(s) ShoeSize do not match") and rows == []
    status, rows = retrieve(world, token, retrieve_msg(props=("UserID",), filt=user_filter("UserID", "like", "x")))
    assert status.startswith("Error:") and rows == []


def test_other_object_types_are_not_served(world: Any) -> None:
    token = get_token(world)
    status, rows = retrieve(world, token, retrieve_msg("DataExtension", ("Name",)))
    assert status.startswith("Error:") and "AccountUser" in status and rows == []


@pytest.mark.parametrize("header", ["prefixed", "bare"])
def test_token_header_variants_are_accepted(world: Any, header: str) -> None:
    token = get_token(world)
    status, rows = retrieve(world, token, retrieve_msg(props=("UserID",)), header=header)
    assert status == "OK" and len(rows) == 3


@pytest.mark.parametrize("token", [None, "eyJ.not.issued"])
def test_missing_or_unknown_token_is_security_fault(world: Any, token: str | None) -> None:
    get_token(world)
    status, root = soap_call(world, token, retrieve_msg())
    assert status == 500
    code, text, actor = fault(root)
    assert code == "q0:Security" and text == "Login failed"
    assert actor == f"https://{SOAP}/Service.asmx"
    raw = answer(world, request("POST", "/Service.asmx", host=SOAP, body=envelope(token, retrieve_msg()))).body
    assert b'xmlns:q0="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"' in raw


def test_expired_token_is_security_fault(world: Any) -> None:
    clock = world.test_clock
    token = get_token(world)
    clock.advance(minutes=19)
    assert retrieve(world, token, retrieve_msg(props=("UserID",)))[0] == "OK"
    clock.advance(minutes=2)
    status, root = soap_call(world, token, retrieve_msg())
    assert status == 500 and fault(root)[:2] == ("q0:Security", "Token Expired")


def test_token_of_this_tenant_is_refused_on_another_tenant_host(world: Any) -> None:
    token = get_token(world)
    status, root = soap_call(world, token, retrieve_msg(), host="mcotherzzzz.soap.marketingcloudapis.com")
    assert status == 500 and fault(root)[1] == "Login failed"


def test_unknown_operation_is_client_fault(world: Any) -> None:
    token = get_token(world)
    status, root = soap_call(world, token, '<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"/>')
    assert status == 500
    code, text, _ = fault(root)
    assert code == "soap:Client" and text.startswith("Server did not recognize the value of HTTP Header SOAPAction")


def test_malformed_xml_is_client_fault(world: Any) -> None:
    resp = answer(world, request("POST", "/Service.asmx", host=SOAP, body=b"<not xml"))
    assert resp.status == 500 and fault(ET.fromstring(resp.body))[0] == "soap:Client"


# --------------------------------------------------------------------------- user login (simulator only)

def user_login(world: Any, payload: Any) -> tuple[int, dict[str, Any]]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    resp = answer(world, request("POST", mcloud.USER_LOGIN_PATH, host="127.0.0.1:9911", body=raw,
                                 headers={"Content-Type": "application/json"}))
    return resp.status, json.loads(resp.body)


def test_user_login_from_data_cloud_outside_allowlist_is_missing_oauth_token(world: Any) -> None:
    status, body = user_login(world, {"username": "fresh-user", "password": "Fresh-1"})
    assert status == 200
    assert body["ok"] is False and body["reason"] == "IP_NOT_ALLOWLISTED"
    assert body["message"] == "Missing_OAuth_Token"
    assert body["source_ip"] == "203.0.113.40", "defaults to Data Cloud's first egress address"
    assert body["simulated"] is True


def test_user_login_expired_password(world: Any) -> None:
    status, body = user_login(world, {"username": "dc-integration", "password": "Mc-pass-1",
                                      "source_ip": "192.0.2.10"})
    assert (body["ok"], body["reason"]) == (False, "PASSWORD_EXPIRED")
    assert body["message"] == "Change your expired Marketing Cloud password and try again"


def test_an_admins_reset_shows_on_the_wire_and_at_the_login() -> None:
    """must_change_password: MustChangePassword true even for an exempt API user, and the login
    asks for a new password as expiry does (from outside, the two cannot be told apart)."""
    data = json.loads(json.dumps(SCENARIO))
    data["marketing_cloud"]["password_policy"]["exclude_api_users"] = True
    data["marketing_cloud"]["users"].append({"username": "reset-robot", "password": "Reset-1", "api_user": True,
                                             "must_change_password": True, "password_changed_at": "2026-11-19T00:00:00Z"})
    w = world_on_movable_clock(data, T0)
    _, rows = retrieve(w, get_token(w), retrieve_msg(props=("UserID", "MustChangePassword"),
                                                     filt=user_filter("UserID", "equals", "reset-robot")))
    assert rows == [{"PartnerKey": None, "UserID": "reset-robot", "MustChangePassword": "true"}]
    _, body = user_login(w, {"username": "reset-robot", "password": "Reset-1", "source_ip": "192.0.2.10"})
    assert (body["ok"], body["reason"]) == (False, "PASSWORD_EXPIRED")
    _, body = user_login(w, {"username": "reset-robot", "password": "wrong", "source_ip": "192.0.2.10"})
    assert body["reason"] == "INVALID_CREDENTIALS"      # the password is checked first


def test_user_login_wrong_password_and_success(world: Any) -> None:
    _, body = user_login(world, {"username": "fresh-user", "password": "nope", "source_ip": "192.0.2.10"})
    assert (body["ok"], body["reason"], body["message"]) == (False, "INVALID_CREDENTIALS", "Missing_OAuth_Token")
    _, body = user_login(world, {"username": "fresh-user", "password": "Fresh-1", "source_ip": "192.0.2.10"})
    assert (body["ok"], body["reason"], body["message"]) == (True, "OK", "")


def test_user_login_bad_request(world: Any) -> None:
    status, body = user_login(world, b"username=x")
    assert status == 400 and body["reason"] == "BAD_REQUEST"
    status, body = user_login(world, {"username": "x"})
    assert status == 400
    resp = answer(world, request("GET", mcloud.USER_LOGIN_PATH, host="127.0.0.1:9911"))
    assert resp.status == 405


# --------------------------------------------------------------------------- dispatch

# --------------------------------------------------------------------------- REST host

REST = f"{SUB}.rest.marketingcloudapis.com"
NOT_AUTHORIZED = {"documentation": "https://developer.salesforce.com/docs/atlas.en-us.mc-apis.meta/mc-apis/"
                                   "error-handling.htm", "errorcode": 0, "message": "Not Authorized"}


def rest_get(world: Any, path: str, token: str | None, host: str = REST) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    resp = answer(world, request("GET", path, host=host, headers=headers))
    return resp.status, json.loads(resp.body)


@pytest.mark.parametrize("token", [None, "", "eyJub3QiOiJpc3N1ZWQifQ.bm90.aXNzdWVk"])
def test_rest_without_a_known_token_is_401_not_authorized(world: Any, token: str | None) -> None:
    """Any path on the REST host: a missing or made-up token is 401, errorcode 0 (reference §5.1)."""
    for path in ("/platform/v1/tokenContext", "/data/v1/customobjectdata/key/x/rowset", "/"):
        assert rest_get(world, path, token) == (401, NOT_AUTHORIZED)


def test_rest_token_expired_or_of_another_tenant_is_401(world: Any) -> None:
    token = get_token(world)
    assert rest_get(world, "/platform/v1/tokenContext", token,
                    host="mcotherzzzz0000000000000000x.rest.marketingcloudapis.com") == (401, NOT_AUTHORIZED)
    world.test_clock.advance(minutes=21)
    assert rest_get(world, "/platform/v1/tokenContext", token) == (401, NOT_AUTHORIZED)


def test_rest_token_context_names_the_account(world: Any) -> None:
    token = get_token(world)
    status, body = rest_get(world, "/platform/v1/tokenContext", token)
    assert status == 200
    assert body["enterprise"]["id"] == body["organization"]["id"] == mcloud.DEMO_MID
    assert isinstance(body["user"]["id"], int)
    assert rest_get(world, "/platform/v1/tokencontext/", token)[0] == 200      # paths are not case-sensitive
    assert rest_get(world, "/platform/v1/nothing", token)[0] == 404
    direct = "127.0.0.1:8765"
    status, body = post_token(world, CREDS, host=direct)
    assert rest_get(world, "/platform/v1/tokenContext", body["access_token"], host=direct)[0] == 200


def test_other_paths_and_hosts_are_left_to_others(world: Any) -> None:
    assert mcloud.handle(request("GET", "/services/data/", host="acme.my.salesforce.com"), world) is None
    assert mcloud.handle(request("GET", "/identity/oauth/token", host="123-ABC-456.mktorest.com"), world) is None
    # the token path belongs to the auth host, the SOAP path to the soap host
    assert mcloud.handle(request("POST", "/v2/token", host=SOAP), world) is None
    assert mcloud.handle(request("POST", "/Service.asmx", host=AUTH), world) is None
    assert mcloud.handle(request("POST", "/v2/token", host="acme.my.salesforce.com"), world) is None
    assert mcloud.handle(request("POST", "/v2/token", host=f"{SUB}.rest.marketingcloudapis.com"), world) is not None


# --------------------------------------------------------------------------- rule consistency

@pytest.mark.parametrize("exclude", [False, True])
def test_fallback_expiry_rule_agrees_with_the_world(exclude: bool) -> None:
    """password_expired (used for worlds without mc_password_expired) is the World's rule."""
    w = make_world({"exclude_api_users": exclude})
    mc = w.scenario.marketing_cloud
    for days in (0, 60, 100, 400):
        w.test_clock.t = T0 + timedelta(days=days)
        for user in mc.users:
            mine = mcloud.password_expired(user, mc, w.now(), mcloud.world_time(w, user.password_changed_at))
            assert mine == w.mc_password_expired(user.username), (days, user.username)


# --------------------------------------------------------------------------- through the running simulator

def test_over_http_with_builtin_scenario_and_stats() -> None:
    """Token and SOAP Retrieve through the server, re-routed by Host, counted per endpoint."""
    requests = pytest.importorskip("requests")
    from sfdoctor.demo.server import Simulator  # noqa: PLC0415

    sim = Simulator("mc-ip-not-allowlisted")
    url = sim.start()
    try:
        mc = sim.world.scenario.marketing_cloud
        r = requests.post(f"{url}/v2/token", timeout=10, headers={"Host": f"{mc.subdomain}.auth.marketingcloudapis.com"},
                          json={"grant_type": "client_credentials", "client_id": mc.client_id,
                                "client_secret": mc.client_secret})
        assert r.status_code == 200
        token = r.json()
        assert token["soap_instance_url"] == f"https://{mc.subdomain}.soap.marketingcloudapis.com/"
        r = requests.post(f"{url}/Service.asmx", timeout=10, data=envelope(token["access_token"], retrieve_msg(
            props=("UserID", "IsAPIUser", "MustChangePassword"), filt=user_filter("UserID", "equals", "dc-integration"))),
            headers={"Host": f"{mc.subdomain}.soap.marketingcloudapis.com", "Content-Type": "text/xml",
                     "SOAPAction": "Retrieve"})
        assert r.status_code == 200
        msg = ET.fromstring(r.content).find("s:Body/p:RetrieveResponseMsg", NS)
        assert msg.findtext("p:OverallStatus", namespaces=NS) == "OK"
        (res,) = msg.findall("p:Results", NS)
        assert res.findtext("p:IsAPIUser", namespaces=NS) == "true"
        assert res.findtext("p:MustChangePassword", namespaces=NS) == "false"   # changed 41 days ago
        stats = requests.get(f"{url}/__sfdoctor/stats", timeout=10).json()
        assert stats["POST /v2/token"] == 1 and stats["POST /Service.asmx"] == 1
    finally:
        sim.stop()


def test_user_login_over_http() -> None:
    requests = pytest.importorskip("requests")
    from sfdoctor.demo.server import Simulator  # noqa: PLC0415

    sim = Simulator("mc-ip-not-allowlisted")
    url = sim.start()
    try:
        r = requests.post(f"{url}{mcloud.USER_LOGIN_PATH}", timeout=10,
                          json={"username": "dc-integration", "password": "Mc-pass-1"})
        assert r.status_code == 200
        assert r.json()["reason"] == "IP_NOT_ALLOWLISTED" and r.json()["message"] == "Missing_OAuth_Token"
    finally:
        sim.stop()


def test_info_gives_the_demo_operator_each_mc_users_password() -> None:
    """The demo operator knows the integration user's password (spec "The demo operator"),
    as it knows the Salesforce users' — a real run reads it from the environment or keyring."""
    requests = pytest.importorskip("requests")
    from sfdoctor.demo.server import Simulator  # noqa: PLC0415

    sim = Simulator("mc-ip-not-allowlisted")
    url = sim.start()
    try:
        info = requests.get(f"{url}/__sfdoctor/info", timeout=10).json()
        users = {u["username"]: u["password"] for u in info["marketing_cloud"]["users"]}
        assert users == {u.username: u.password for u in sim.world.scenario.marketing_cloud.users}
    finally:
        sim.stop()

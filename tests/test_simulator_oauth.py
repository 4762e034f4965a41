"""Conformance: /services/oauth2/token — client credentials (My Domain only), username-password,
JWT bearer — through the unmodified simple-salesforce."""
from __future__ import annotations

import base64
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from conftest import ADMIN, SYNC, routed_session
from sfdoctor.demo.store import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET


def token_post(sim, data: dict, host="acme.my.salesforce.com", auth: tuple[str, str] | None = None):
    return routed_session(sim).post(f"https://{host}/services/oauth2/token", data=data, auth=auth, timeout=10)


@pytest.fixture(scope="module")
def rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


# --------------------------------------------------------------------------- client credentials

def test_client_credentials_on_my_domain(base_sim):
    sf = Salesforce(consumer_key=DEMO_CLIENT_ID, consumer_secret=DEMO_CLIENT_SECRET, domain="acme.my",
                    session=routed_session(base_sim))
    assert sf.sf_instance == "acme.my.salesforce.com"
    assert sf.query("SELECT Username FROM User WHERE Username = 'admin@acme.example'")["totalSize"] == 1


def test_client_credentials_body_and_headers(base_sim):
    resp = token_post(base_sim, {"grant_type": "client_credentials"}, auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET))
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-cache, no-store"
    assert resp.headers["Content-Type"] == "application/json;charset=UTF-8"
    body = resp.json()
    assert body["instance_url"] == "https://acme.my.salesforce.com"
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "api"
    assert isinstance(body["issued_at"], str) and body["issued_at"].isdigit()
    assert abs(int(body["issued_at"]) / 1000 - time.time()) < 60
    assert body["id"].startswith(f"https://acme.my.salesforce.com/id/{base_sim.world.org_id}/005")
    assert base64.b64decode(body["signature"])
    assert body["access_token"].startswith(base_sim.world.org_id15 + "!")


def test_client_credentials_in_form_body_also_accepted(base_sim):
    resp = token_post(base_sim, {"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID,
                                 "client_secret": DEMO_CLIENT_SECRET})
    assert resp.status_code == 200


@pytest.mark.parametrize("domain", ["login", "test"])
def test_client_credentials_refused_on_login_hosts(base_sim, domain):
    # simple-salesforce itself never sends client credentials to login/test, so send it by hand
    resp = token_post(base_sim, {"grant_type": "client_credentials"}, host=f"{domain}.salesforce.com",
                      auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET))
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_grant", "error_description": "request not supported on this domain"}


@pytest.mark.parametrize("client_id, secret, expected", [
    ("someone-else", DEMO_CLIENT_SECRET, ("invalid_client_id", "client identifier invalid")),
    (DEMO_CLIENT_ID, "wrong-secret", ("invalid_client", "invalid client credentials")),
])
def test_client_credentials_bad_client(base_sim, client_id, secret, expected):
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(consumer_key=client_id, consumer_secret=secret, domain="acme.my", session=routed_session(base_sim))
    assert (info.value.code, info.value.auth_message) == expected


def test_client_credentials_on_wrong_my_domain(base_sim):
    resp = token_post(base_sim, {"grant_type": "client_credentials"}, host="other.my.salesforce.com",
                      auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET))
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"


# --------------------------------------------------------------------------- username-password

def test_password_flow_success_and_history(fresh_sim):
    sid, instance = SalesforceLogin(username=SYNC[0], password=SYNC[1] + SYNC[2], consumer_key=DEMO_CLIENT_ID,
                                    consumer_secret=DEMO_CLIENT_SECRET, session=routed_session(fresh_sim))
    assert instance == "acme.my.salesforce.com"
    sf = Salesforce(session_id=sid, instance=instance, session=routed_session(fresh_sim))
    rows = sf.query("SELECT Status, LoginType FROM LoginHistory ORDER BY LoginTime DESC")["records"]
    assert (rows[0]["Status"], rows[0]["LoginType"]) == ("Success", "Remote Access 2.0")


@pytest.mark.parametrize("password, expected", [
    (SYNC[1], ("invalid_grant", "authentication failure")),               # token required
    ("bad" + SYNC[2], ("invalid_grant", "authentication failure")),       # wrong password
])
def test_password_flow_failures(fresh_sim, password, expected):
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        SalesforceLogin(username=SYNC[0], password=password, consumer_key=DEMO_CLIENT_ID,
                        consumer_secret=DEMO_CLIENT_SECRET, session=routed_session(fresh_sim))
    assert (info.value.code, info.value.auth_message) == expected


def test_password_flow_restricted_ip_and_inactive(fresh_sim):
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        SalesforceLogin(username="office@acme.example", password="Office-pass-1CCCCtokenCCCC",
                        consumer_key=DEMO_CLIENT_ID, consumer_secret=DEMO_CLIENT_SECRET,
                        session=routed_session(fresh_sim))
    assert info.value.auth_message == "IP restricted or invalid login hours"
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        SalesforceLogin(username="gone@acme.example", password="Gone-pass-1HHHHtokenHHHH",
                        consumer_key=DEMO_CLIENT_ID, consumer_secret=DEMO_CLIENT_SECRET,
                        session=routed_session(fresh_sim))
    assert (info.value.code, info.value.auth_message) == ("inactive_user", "user is inactive")


def test_password_flow_unknown_client(base_sim):
    resp = token_post(base_sim, {"grant_type": "password", "client_id": "nope", "client_secret": "x",
                                 "username": SYNC[0], "password": SYNC[1] + SYNC[2]}, host="login.salesforce.com")
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_client_id", "error_description": "client identifier invalid"}


# --------------------------------------------------------------------------- JWT bearer

def test_jwt_bearer_flow(base_sim, rsa_pem):
    sid, instance = SalesforceLogin(username=ADMIN[0], consumer_key=DEMO_CLIENT_ID, privatekey=rsa_pem,
                                    domain="login", session=routed_session(base_sim))
    assert instance == "acme.my.salesforce.com"
    assert sid.startswith(base_sim.world.org_id15 + "!")


def _assertion(pem: str, **claims) -> str:
    payload = {"iss": DEMO_CLIENT_ID, "sub": ADMIN[0], "aud": "https://login.salesforce.com",
               "exp": int(time.time()) + 180}
    payload.update(claims)
    return jwt.encode(payload, pem, algorithm="RS256")


@pytest.mark.parametrize("claims, expected", [
    ({"aud": "https://example.com"}, ("invalid_grant", "Audience validation failed")),
    ({"iss": "other-app"}, ("invalid_client_id", "client identifier invalid")),
    ({"sub": "nobody@acme.example"}, ("invalid_grant", "user hasn't approved this consumer")),
    ({"exp": int(time.time()) - 60}, ("invalid_grant", "expired authorization code")),
])
def test_jwt_bearer_refusals(base_sim, rsa_pem, claims, expected):
    resp = token_post(base_sim, {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                 "assertion": _assertion(rsa_pem, **claims)}, host="login.salesforce.com")
    assert resp.status_code == 400
    assert (resp.json()["error"], resp.json()["error_description"]) == expected


# --------------------------------------------------------------------------- malformed

@pytest.mark.parametrize("data, expected", [
    ({}, ("invalid_request", "grant type is missing")),
    ({"grant_type": "urn:example:unknown"}, ("unsupported_grant_type", "grant type not supported")),
    ({"grant_type": "authorization_code"}, ("invalid_client_id", "client identifier invalid")),
])
def test_malformed_token_requests(base_sim, data, expected):
    resp = token_post(base_sim, data)
    assert resp.status_code == 400
    assert (resp.json()["error"], resp.json()["error_description"]) == expected


def test_get_on_token_endpoint(base_sim):
    resp = routed_session(base_sim).get("https://acme.my.salesforce.com/services/oauth2/token")
    assert resp.status_code == 400 and resp.json()["error_description"] == "must use HTTP POST"


def test_direct_token_request_points_back_to_simulator(base_sim):
    resp = requests.post(base_sim.url + "/services/oauth2/token", data={"grant_type": "client_credentials"},
                         auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET), timeout=10)
    assert resp.status_code == 200
    body = resp.json()
    assert body["instance_url"] == base_sim.url
    assert body["id"].startswith(base_sim.url + "/id/")
    # and the token works on the simulator directly
    resp = requests.get(base_sim.url + "/services/data/v59.0/limits/",
                        headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=10)
    assert resp.status_code == 200 and "DailyApiRequests" in resp.json()


def test_userinfo(base_sim):
    token = token_post(base_sim, {"grant_type": "client_credentials"}, auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)).json()
    resp = routed_session(base_sim).get("https://acme.my.salesforce.com/services/oauth2/userinfo",
                                        headers={"Authorization": f"Bearer {token['access_token']}"})
    assert resp.status_code == 200
    assert resp.json()["preferred_username"] == ADMIN[0]
    bad = routed_session(base_sim).get("https://acme.my.salesforce.com/services/oauth2/userinfo",
                                       headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 403

"""Conformance: the world's connected apps and External Client Apps at the token endpoint and
the authorize redirect, through the unmodified simple-salesforce and plain requests: every
refusal oauth-connection-failure diagnoses answers Salesforce's body (reference §2.1-2.2)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from conftest import routed_session, simulator_on
from sfdoctor.demo.server import Simulator
from sfdoctor import metadata


def _key_and_cert() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "etl")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256()))
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return pem_key, cert.public_bytes(serialization.Encoding.PEM).decode()


KEY, CERT = _key_and_cert()
OTHER_KEY, _ = _key_and_cert()
_CERT_YAML = "\n".join("        " + line for line in CERT.strip().splitlines())

SCENARIO = f"""
salesforce:
  password_flow_blocked: false
  profiles:
    - {{name: Integration, api_enabled: true}}
    - {{name: Office Hours, api_enabled: true, login_hours: {{monday: none, tuesday: none, wednesday: none,
        thursday: none, friday: none, saturday: none, sunday: none}}}}
    - {{name: Head Office Only, api_enabled: true, login_ip_ranges: [{{start: 198.51.100.0, end: 198.51.100.255}}]}}
  permission_sets:
    - {{name: ETL Access, api_enabled: true}}
  users:
    - {{username: admin@acme.example, admin: true, profile: System Administrator}}
    - {{username: etl@acme.example, password: Etl-pass-1, profile: Integration, permission_sets: [ETL Access]}}
    - {{username: other@acme.example, password: Other-pass-1, profile: Standard User}}
    - {{username: night@acme.example, profile: Office Hours}}
    - {{username: office@acme.example, profile: Head Office Only}}
    - {{username: frozen@acme.example, profile: Integration, frozen: true}}
  connected_apps:
    - name: Acme ETL
      consumer_key: 3MVG9etl
      consumer_secret: etl-secret-1
      admin_approved_only: true
      profiles: [Integration, Office Hours, Head Office Only]
      run_as: etl@acme.example
      flows: [client_credentials, jwt_bearer, refresh_token, web_server, password]
      callback_urls: [https://etl.example/oauth/callback]
      refresh_token_policy: 30d
      certificate: |
{_CERT_YAML}
    - {{name: No Run As, consumer_key: 3MVG9norunas, consumer_secret: s2}}
    - {{name: Blocked App, consumer_key: 3MVG9blocked, consumer_secret: s3, blocked: true,
        callback_urls: [https://blocked.example/cb]}}
    - {{name: Old Tool, consumer_key: 3MVG9old, consumer_secret: s4, installed: false,
        callback_urls: [https://old.example/cb], flows: [web_server, password]}}
    - {{name: New ECA, kind: external_client_app, consumer_key: 3MVG9eca, consumer_secret: s5, installed: false,
        callback_urls: [https://eca.example/cb]}}
  oauth_tokens:
    - {{app: Acme ETL, username: etl@acme.example, refresh_token: fresh-rt, created: -2d}}
    - {{app: Acme ETL, username: etl@acme.example, refresh_token: stale-rt, created: -45d}}
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    with simulator_on(SCENARIO, tmp_path_factory.mktemp("oauth-apps"), "oauth-apps") as started:
        yield started


def _post(sim: Simulator, data: dict, host: str = "acme.my.salesforce.com", auth=None):
    return routed_session(sim).post(f"https://{host}/services/oauth2/token", data=data, auth=auth, timeout=10)


def _assertion(sub: str, key: str = KEY, aud: str = "https://login.salesforce.com", iss: str = "3MVG9etl") -> str:
    return jwt.encode({"iss": iss, "sub": sub, "aud": aud, "exp": int(time.time()) + 180}, key, algorithm="RS256")


# ------------------------------------------------------------------ client credentials

def test_client_credentials_runs_as_the_apps_user(sim):
    sf = Salesforce(consumer_key="3MVG9etl", consumer_secret="etl-secret-1", domain="acme.my",
                    session=routed_session(sim))
    who = sf.query("SELECT Username FROM User WHERE Username = 'etl@acme.example'")
    assert who["totalSize"] == 1


@pytest.mark.parametrize(("data", "auth", "host", "error", "description"), [
    ({}, ("3MVG9etl", "etl-secret-1"), "login.salesforce.com", "invalid_grant", "request not supported on this domain"),
    ({}, ("3MVG9etl", "rotated"), "acme.my.salesforce.com", "invalid_client", "invalid client credentials"),
    ({}, ("3MVG9nope", "x"), "acme.my.salesforce.com", "invalid_client_id", "client identifier invalid"),
    ({}, ("3MVG9norunas", "s2"), "acme.my.salesforce.com", "invalid_grant", "no client credentials user enabled"),
])
def test_client_credentials_refusals(sim, data, auth, host, error, description):
    resp = _post(sim, {"grant_type": "client_credentials", **data}, host=host, auth=auth)
    assert resp.status_code == 400
    assert resp.json() == {"error": error, "error_description": description}


def test_simple_salesforce_meets_the_same_error(sim):
    with pytest.raises(SalesforceAuthenticationFailed) as err:
        Salesforce(consumer_key="3MVG9norunas", consumer_secret="s2", domain="acme.my", session=routed_session(sim))
    assert err.value.code == "invalid_grant"
    assert "no client credentials user enabled" in str(err.value)


# ------------------------------------------------------------------ JWT bearer (certificate-verified)

def test_jwt_signed_by_the_apps_key_passes(sim):
    resp = _post(sim, {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                       "assertion": _assertion("etl@acme.example")}, host="login.salesforce.com")
    assert resp.status_code == 200, resp.text


def test_jwt_signed_by_another_key_is_refused(sim):
    resp = _post(sim, {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                       "assertion": _assertion("etl@acme.example", key=OTHER_KEY)}, host="login.salesforce.com")
    assert resp.json()["error"] == "invalid_grant" and resp.status_code == 400


def test_jwt_for_a_user_not_assigned_to_the_app(sim):
    with pytest.raises(SalesforceAuthenticationFailed) as err:
        Salesforce(username="other@acme.example", consumer_key="3MVG9etl", privatekey=KEY, domain="login",
                   session=routed_session(sim))
    assert "user hasn't approved this consumer" in str(err.value)


def test_jwt_for_a_frozen_user_and_outside_login_hours_and_ip(sim):
    def refusal(user):
        return _post(sim, {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                           "assertion": _assertion(user)}, host="login.salesforce.com").json()
    assert refusal("night@acme.example") == {"error": "invalid_grant",
                                             "error_description": "IP restricted or invalid login hours"}
    assert refusal("office@acme.example")["error_description"] == "IP restricted or invalid login hours"
    assert refusal("frozen@acme.example")["error_description"] == "authentication failure"


def test_jwt_wrong_audience(sim):
    resp = _post(sim, {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                       "assertion": _assertion("etl@acme.example", aud="https://example.com")})
    assert resp.json() == {"error": "invalid_grant", "error_description": "Audience validation failed"}


# ------------------------------------------------------------------ refresh token and password

def test_refresh_token_policy(sim):
    ok = _post(sim, {"grant_type": "refresh_token", "client_id": "3MVG9etl", "refresh_token": "fresh-rt"})
    assert ok.status_code == 200
    stale = _post(sim, {"grant_type": "refresh_token", "client_id": "3MVG9etl", "refresh_token": "stale-rt"})
    assert stale.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}


def test_password_flow_for_an_unassigned_user(sim):
    resp = _post(sim, {"grant_type": "password", "client_id": "3MVG9etl", "client_secret": "etl-secret-1",
                       "username": "other@acme.example", "password": "Other-pass-1"})
    assert resp.json() == {"error": "invalid_app_access",
                           "error_description": "user is not admin approved to access this app"}


def test_password_flow_wrong_password_is_authentication_failure(sim):
    resp = _post(sim, {"grant_type": "password", "client_id": "3MVG9etl", "client_secret": "etl-secret-1",
                       "username": "etl@acme.example", "password": "wrong"})
    assert resp.json() == {"error": "invalid_grant", "error_description": "authentication failure"}


def test_uninstalled_app_is_refused_for_a_user_without_the_permission(sim):
    resp = _post(sim, {"grant_type": "password", "client_id": "3MVG9old", "client_secret": "s4",
                       "username": "other@acme.example", "password": "Other-pass-1"})
    assert resp.json() == {"error": "invalid_client", "error_description": "app must be installed into org"}


# ------------------------------------------------------------------ authorize redirects

def _authorize(sim: Simulator, client_id: str, redirect: str, user: str, response_type: str = "code"):
    resp = routed_session(sim).get("https://acme.my.salesforce.com/services/oauth2/authorize", params={
        "response_type": response_type, "client_id": client_id, "redirect_uri": redirect, "login_hint": user,
        "state": "xyz"}, allow_redirects=False, timeout=10)
    assert resp.status_code == 302
    return urlsplit(resp.headers["Location"])


@pytest.mark.parametrize(("client_id", "redirect", "user", "error"), [
    ("3MVG9blocked", "https://blocked.example/cb", "etl@acme.example", "OAUTH_APP_BLOCKED"),
    ("3MVG9etl", "https://etl.example/oauth/callback", "other@acme.example", "OAUTH_APP_ACCESS_DENIED"),
    ("3MVG9eca", "https://eca.example/cb", "etl@acme.example", "OAUTH_EC_APP_NOT_FOUND"),
])
def test_authorize_errors_go_back_to_the_callback(sim, client_id, redirect, user, error):
    where = _authorize(sim, client_id, redirect, user)
    params = parse_qs(where.query)
    assert params["error"] == [error] and params["state"] == ["xyz"]


def test_authorize_with_an_unlisted_callback_stays_on_salesforce(sim):
    where = _authorize(sim, "3MVG9etl", "https://evil.example/cb", "etl@acme.example")
    assert where.hostname == "acme.my.salesforce.com"
    assert parse_qs(where.query)["error"] == ["redirect_uri_mismatch"]


def test_an_uninstalled_app_is_refused_on_salesforces_own_page(sim):
    where = _authorize(sim, "3MVG9old", "https://old.example/cb", "other@acme.example")
    assert where.path == "/setup/secur/RemoteAccessErrorPage.apexp"
    params = parse_qs(where.query)
    assert params["error"] == ["invalid_client"] and params["error_description"] == ["app must be installed into org"]
    assert params["state"] == ["xyz"]


def test_user_agent_flow_puts_the_error_in_the_fragment(sim):
    where = _authorize(sim, "3MVG9blocked", "https://blocked.example/cb", "etl@acme.example", "token")
    assert parse_qs(where.fragment)["error"] == ["OAUTH_APP_BLOCKED"]


def test_web_server_code_exchange_checks_the_callback(sim):
    code = parse_qs(_authorize(sim, "3MVG9etl", "https://etl.example/oauth/callback", "etl@acme.example").query)["code"][0]
    bad = _post(sim, {"grant_type": "authorization_code", "code": code, "client_id": "3MVG9etl",
                      "client_secret": "etl-secret-1", "redirect_uri": "https://etl.example/other"})
    assert bad.json() == {"error": "redirect_uri_mismatch", "error_description": "redirect_uri must match configuration"}


# ------------------------------------------------------------------ what the Metadata API shows

def test_metadata_reads_the_apps_settings(sim, tmp_path: Path):
    from sfdoctor.clients import connect  # noqa: PLC0415
    from sfdoctor.orgs import resolve  # noqa: PLC0415
    import os  # noqa: PLC0415

    os.environ["SFDOCTOR_DEMO_URL"] = sim.url
    try:
        conn = connect(resolve("demo"))
        apps = metadata.read_metadata(conn, "ConnectedApp", ["Acme_ETL"])
        oidc = metadata.read_metadata(conn, "OauthOidcSettings", ["OauthOidc"])
        profile = metadata.read_metadata(conn, "Profile", ["Office_Hours"])
    finally:
        del os.environ["SFDOCTOR_DEMO_URL"]
    config = apps[0]["oauthConfig"]
    assert config["consumerKey"] == "3MVG9etl" and config["oauthClientCredentialUser"] == "etl@acme.example"
    assert config["callbackUrl"] == "https://etl.example/oauth/callback"
    assert apps[0]["profileName"] == ["Integration", "Office Hours", "Head Office Only"]
    assert oidc[0]["blockOAuthUnPwFlow"] is False
    assert profile[0]["loginHours"]["mondayStart"] == "0"

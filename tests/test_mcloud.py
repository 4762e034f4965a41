"""sfdoctor.mcloud: the Marketing Cloud client (token, SOAP Retrieve of AccountUser, user login).

Wire shapes are checked against the demo simulator (which follows reference §5.1 and §9),
through the routed, read-only-guarded, counting session of clients.py.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from config_errors import said_in_both_languages

from sfdoctor import clients, mcloud, orgs, runbooks
from sfdoctor.errors import OrgConfigError, ReadOnlyViolation

NS = {"s": "http://schemas.xmlsoap.org/soap/envelope/", "p": "http://exacttarget.com/wsdl/partnerAPI",
      "x": "http://exacttarget.com"}


@pytest.fixture(scope="module")
def conn():
    spec = runbooks.load("mc-missing-oauth-token")
    return clients.connect(orgs.resolve("demo:mc-password-expired", runbook=spec), runbook=spec)


def test_envelope_is_a_soap_retrieve_with_the_token_in_fueloauth():
    token = mcloud.Token("tok<&>", "https://mcx.soap.marketingcloudapis.com/", "https://mcx.rest.marketingcloudapis.com/")
    root = ET.fromstring(mcloud.retrieve_envelope(token, "AccountUser", ["UserID", "IsAPIUser"], "UserID", ["a", "b"]))
    assert root.find("s:Header/x:fueloauth", NS).text == "tok<&>"
    req = root.find("s:Body/p:RetrieveRequestMsg/p:RetrieveRequest", NS)
    assert req.findtext("p:ObjectType", namespaces=NS) == "AccountUser"
    assert [p.text for p in req.findall("p:Properties", NS)] == ["UserID", "IsAPIUser"]
    filt = req.find("p:Filter", NS)
    assert filt.findtext("p:SimpleOperator", namespaces=NS) == "IN"
    assert [v.text for v in filt.findall("p:Value", NS)] == ["a", "b"]
    assert clients.classify("POST", "https://mcx.soap.marketingcloudapis.com/Service.asmx",
                            mcloud.retrieve_envelope(token, "AccountUser", ["UserID"])) == clients.READ
    assert "tok<&>" not in repr(token)


def test_system_time_is_central_standard_time():
    assert mcloud.parse_system_time("2026-11-20T03:00:00.000") == datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
    assert mcloud.parse_system_time(None) is None and mcloud.parse_system_time("soon") is None


def test_faults_and_error_status_raise_with_their_code():
    fault = (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
             b'<faultcode xmlns:q0="x">q0:Security</faultcode><faultstring>Login failed</faultstring>'
             b"</soap:Fault></soap:Body></soap:Envelope>")
    with pytest.raises(mcloud.McApiError) as err:
        mcloud.parse_retrieve(fault, 500)
    assert err.value.code == "Security" and err.value.status == 500 and "Login failed" in str(err.value)
    with pytest.raises(mcloud.McApiError, match="without XML"):
        mcloud.parse_retrieve(b'{"message":"Rate limit exceeded"}', 429)


def test_token_and_retrieve_through_the_guarded_session(conn):
    before = conn.counter.total
    token = mcloud.get_token(conn, mcloud.package(conn))
    assert token.access_token in conn.secrets and conn.info.marketing_cloud.client_secret in conn.secrets
    (row,) = mcloud.retrieve_account_users(conn, token, ["DC-Integration"])   # usernames are case-insensitive
    assert row["UserID"] == "dc-integration"
    assert row["ActiveFlag"] is True and row["IsAPIUser"] is False and row["IsLocked"] is False
    assert row["MustChangePassword"] is True          # 120 days old under a 90-day policy
    assert "LastSuccessfulLogin" in row
    assert conn.counter.total - before == 2
    assert mcloud.retrieve_account_users(conn, token, ["nobody"]) == []


def test_wrong_package_secret_is_invalid_client_without_the_secret(conn):
    pkg = mcloud.Package(conn.info.marketing_cloud.subdomain, "mc-pkg-expired", "not-the-secret-42")
    with pytest.raises(mcloud.McApiError) as err:
        mcloud.get_token(conn, pkg)
    assert err.value.status == 401 and err.value.code == "invalid_client"
    assert isinstance(err.value, mcloud.PackageRefused)      # sfdoctor's own access, told apart from a failure
    assert "not-the-secret-42" not in str(err.value)


def test_the_demo_operator_may_play_a_stale_package_secret(conn, monkeypatch):
    monkeypatch.setattr(conn, "operator", {**conn.operator, "mc_client_secret": "stale-pkg-secret-9"})
    pkg = mcloud.package(conn)
    assert pkg.client_secret == "stale-pkg-secret-9" and "stale-pkg-secret-9" in conn.secrets
    assert "stale-pkg-secret-9" not in repr(pkg)
    with pytest.raises(mcloud.PackageRefused):
        mcloud.get_token(conn, pkg)


def test_the_guard_refuses_anything_but_a_retrieve(conn):
    token = mcloud.get_token(conn, mcloud.package(conn))
    create = mcloud.retrieve_envelope(token, "AccountUser", ["UserID"]).replace("RetrieveRequestMsg", "CreateRequest")
    with pytest.raises(ReadOnlyViolation):
        conn.session.post(token.soap_url + "Service.asmx", data=create.encode())


def test_user_login_stand_in_and_the_demo_operators_password(conn):
    password = mcloud.integration_password(conn, "dc-integration")
    assert password and password in conn.secrets
    result = mcloud.user_login(conn, "dc-integration", password, "198.51.100.20")
    assert (result.ok, result.reason, result.source_ip) == (False, "PASSWORD_EXPIRED", "198.51.100.20")
    assert result.message == "Change your expired Marketing Cloud password and try again"
    wrong = mcloud.user_login(conn, "dc-integration", password + "x")
    assert wrong.reason == "INVALID_CREDENTIALS" and wrong.source_ip == "203.0.113.40"   # Data Cloud's address


def test_a_real_org_reads_references_and_offers_no_user_login(monkeypatch):
    monkeypatch.setenv("MC_PKG_SECRET", "real-secret-1234")
    monkeypatch.setenv("MC_USER_PW", "real-user-pw-5678")
    ref = orgs.OrgRef(name="prod", kind="real", slug="prod", config={"marketing_cloud": {
        "subdomain": "mcreal", "client_id": "cid", "client_secret_env": "MC_PKG_SECRET",
        "user_password_env": "MC_USER_PW", "account_id": "510000001"}})
    conn = SimpleNamespace(org_ref=ref, secrets=set(), info=None, operator={}, base_url=None)
    pkg = mcloud.package(conn)
    assert (pkg.subdomain, pkg.client_id, pkg.client_secret, pkg.account_id) == ("mcreal", "cid", "real-secret-1234",
                                                                                 "510000001")
    assert "real-secret-1234" not in repr(pkg)
    assert mcloud.integration_password(conn, "u") == "real-user-pw-5678"
    assert conn.secrets == {"real-secret-1234", "real-user-pw-5678"}
    assert mcloud.user_login(conn, "u", "p") is None and not mcloud.can_log_in_as_user(conn)
    with pytest.raises(OrgConfigError, match="subdomain") as exc:
        mcloud.package(SimpleNamespace(org_ref=orgs.OrgRef(name="x", kind="real", slug="x", config={}), secrets=set()))
    said_in_both_languages(exc.value)
    assert "orgs.x.marketing_cloud.subdomain が設定されていません" in exc.value.one_line("ja")

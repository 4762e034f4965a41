"""Conformance: SOAP login and Metadata readMetadata, through the unmodified simple-salesforce
and zeep (spec/scenario-format.md "Behaviour the simulator must show")."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
import simple_salesforce
import zeep
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession
from zeep.transports import Transport

from conftest import ADMIN, BASE_SCENARIO, SYNC, routed_session
from sfdoctor.demo.sf_soap import INVALID_LOGIN_MESSAGE, MUST_USE_TOKEN_MESSAGE
from sfdoctor.demo.store import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, STATUS

SF_NS = "urn:partner.soap.sforce.com"


def login(sim, username, password, token=None, domain="login", version="59.0"):
    """SalesforceLogin exactly as an integration calls it; returns (sid, instance)."""
    return SalesforceLogin(username=username, password=password, security_token=token, domain=domain,
                           sf_version=version, session=routed_session(sim))


def login_fails(sim, username, password, token=None, domain="login", version="59.0"):
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        login(sim, username, password, token, domain, version)
    return info.value


def admin_sf(sim) -> Salesforce:
    """sfdoctor's own connection: client credentials on the My Domain host."""
    return Salesforce(consumer_key=DEMO_CLIENT_ID, consumer_secret=DEMO_CLIENT_SECRET,
                      domain=sim.world.my_domain_host.removesuffix(".salesforce.com"),
                      session=routed_session(sim))


def history(sim, username: str) -> list[dict]:
    """LoginHistory rows of one user, newest first, read over REST like a runbook does."""
    sf = admin_sf(sim)
    user_id = sf.query(f"SELECT Id FROM User WHERE Username = '{username}'")["records"][0]["Id"]
    soql = ("SELECT Status, SourceIp, LoginType, ApiType, LoginUrl, LoginTime FROM LoginHistory "
            f"WHERE UserId = '{user_id}' ORDER BY LoginTime DESC")
    return sf.query(soql)["records"]


def raw_login(url: str, username: str, password: str, host: str | None = None, path="/services/Soap/u/59.0"):
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">'
        "<soapenv:Body><urn:login>"
        f"<urn:username>{username}</urn:username><urn:password>{password}</urn:password>"
        "</urn:login></soapenv:Body></soapenv:Envelope>")
    headers = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "login"}
    if host:
        headers["Host"] = host
    return requests.post(url + path, data=envelope.encode(), headers=headers, timeout=10)


# --------------------------------------------------------------------------- success

def test_login_success_envelope_matches_salesforce(fresh_sim):
    resp = raw_login(fresh_sim.url, ADMIN[0], ADMIN[1] + ADMIN[2], host="login.salesforce.com")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(resp.content)
    result = root.find(f".//{{{SF_NS}}}result")
    names = [child.tag.split("}")[1] for child in result]
    assert names == ["metadataServerUrl", "passwordExpired", "sandbox", "serverUrl", "sessionId", "userId", "userInfo"]
    org15 = fresh_sim.world.org_id15
    assert result.findtext(f"{{{SF_NS}}}serverUrl") == f"https://acme.my.salesforce.com/services/Soap/u/59.0/{org15}"
    assert result.findtext(f"{{{SF_NS}}}metadataServerUrl") == f"https://acme.my.salesforce.com/services/Soap/m/59.0/{org15}"
    assert result.findtext(f"{{{SF_NS}}}passwordExpired") == "false"
    assert result.findtext(f"{{{SF_NS}}}sessionId").startswith(org15 + "!")
    info = result.find(f"{{{SF_NS}}}userInfo")
    assert info.findtext(f"{{{SF_NS}}}userName") == ADMIN[0]
    assert info.findtext(f"{{{SF_NS}}}organizationId") == fresh_sim.world.org_id
    assert info.findtext(f"{{{SF_NS}}}sessionSecondsValid") == "7200"
    assert info.findtext(f"{{{SF_NS}}}organizationName")
    assert info.findtext(f"{{{SF_NS}}}profileId").startswith("00e")


def test_simple_salesforce_login_lands_on_my_domain_and_queries(fresh_sim):
    sid, instance = login(fresh_sim, *ADMIN)
    assert instance == "acme.my.salesforce.com"
    sf = Salesforce(session_id=sid, instance=instance, session=routed_session(fresh_sim))
    assert sf.query("SELECT Username FROM User WHERE Username = 'admin@acme.example'")["totalSize"] == 1
    rows = history(fresh_sim, ADMIN[0])  # newest: the helper's own client-credentials login
    assert [r["LoginType"] for r in rows[:2]] == ["Remote Access 2.0", "Other Apex API"]
    row = rows[1]
    assert row["Status"] == "Success"
    assert row["ApiType"] == "SOAP Partner"
    assert row["SourceIp"] == "203.0.113.7"


def test_enterprise_endpoint_answers_with_its_own_server_url(fresh_sim):
    resp = raw_login(fresh_sim.url, ADMIN[0], ADMIN[1] + ADMIN[2], host="login.salesforce.com",
                     path="/services/Soap/c/59.0")
    assert resp.status_code == 200
    assert f"/services/Soap/c/59.0/{fresh_sim.world.org_id15}</serverUrl>" in resp.text


# --------------------------------------------------------------------------- faults + LoginHistory

def test_token_required_outside_trusted_ranges(fresh_sim):
    err = login_fails(fresh_sim, SYNC[0], SYNC[1], "")
    assert err.code == "LOGIN_MUST_USE_SECURITY_TOKEN"
    assert err.auth_message == MUST_USE_TOKEN_MESSAGE
    assert "company\u2019s trusted networks" in err.auth_message
    row = history(fresh_sim, SYNC[0])[0]
    assert row["Status"] == "Failed: API security token required"
    assert row["SourceIp"] == "203.0.113.7"


def test_token_fault_raw_envelope_is_http_500_with_literal_sf_prefix(fresh_sim):
    resp = raw_login(fresh_sim.url, SYNC[0], SYNC[1], host="login.salesforce.com")
    assert resp.status_code == 500
    assert "<faultcode>sf:LOGIN_MUST_USE_SECURITY_TOKEN</faultcode>" in resp.text
    assert "<faultstring>LOGIN_MUST_USE_SECURITY_TOKEN: Invalid username" in resp.text
    assert '<sf:LoginFault xsi:type="sf:LoginFault">' in resp.text
    assert 'xmlns:sf="urn:fault.partner.soap.sforce.com"' in resp.text


def test_inside_trusted_range_no_token_needed(simulator, write_scenario):
    sim = simulator(write_scenario(BASE_SCENARIO.replace("client_ip: 203.0.113.7", "client_ip: 198.51.100.20")))
    sid, _ = login(sim, SYNC[0], SYNC[1], "")
    assert sid.startswith(sim.world.org_id15)
    assert history(sim, SYNC[0])[0]["Status"] == "Success"


@pytest.mark.parametrize("password, token", [(SYNC[1], "WRONGtoken00"), ("Not-the-pass", SYNC[2])])
def test_wrong_token_or_password_is_invalid_login(fresh_sim, password, token):
    err = login_fails(fresh_sim, SYNC[0], password, token)
    assert (err.code, err.auth_message) == ("INVALID_LOGIN", INVALID_LOGIN_MESSAGE)
    assert history(fresh_sim, SYNC[0])[0]["Status"] == "Invalid Password"


@pytest.mark.parametrize("username, password, token, status", [
    ("locked@acme.example", "Locked-pass-1", "FFFFtokenFFFF", "Password Lockout"),
    ("frozen@acme.example", "Frozen-pass-1", "GGGGtokenGGGG", "User is Frozen"),
    ("gone@acme.example", "Gone-pass-1", "HHHHtokenHHHH", "User is Inactive"),
])
def test_account_states_are_invalid_login_with_their_own_rows(fresh_sim, username, password, token, status):
    err = login_fails(fresh_sim, username, password, token)
    assert err.code == "INVALID_LOGIN"
    assert history(fresh_sim, username)[0]["Status"] == status


def test_unknown_user_is_invalid_login_without_a_row(fresh_sim):
    before = admin_sf(fresh_sim).query("SELECT COUNT() FROM LoginHistory")["totalSize"]
    err = login_fails(fresh_sim, "nobody@acme.example", "x", "y")
    assert err.code == "INVALID_LOGIN"
    after = admin_sf(fresh_sim).query("SELECT COUNT() FROM LoginHistory")["totalSize"]
    assert after == before + 1  # only the admin's own client-credentials login of the second read


def test_api_disabled_for_user(fresh_sim):
    err = login_fails(fresh_sim, "noapi@acme.example", "NoApi-pass-1", "EEEEtokenEEEE")
    assert (err.code, err.auth_message) == ("API_CURRENTLY_DISABLED", "API is disabled for this User")
    assert history(fresh_sim, "noapi@acme.example")[0]["Status"] == STATUS["API_DISABLED_FOR_USER"]


def test_api_disabled_for_org(simulator, write_scenario):
    sim = simulator(write_scenario(BASE_SCENARIO.replace("  my_domain: acme\n", "  my_domain: acme\n  api_enabled: false\n")))
    err = login_fails(sim, *ADMIN)
    assert (err.code, err.auth_message) == ("API_DISABLED_FOR_ORG", "API is not enabled for this Organization or Partner")


def test_profile_login_ip_range_refuses_token_or_not(fresh_sim):
    for token in ("CCCCtokenCCCC", ""):
        err = login_fails(fresh_sim, "office@acme.example", "Office-pass-1", token)
        assert (err.code, err.auth_message) == ("LOGIN_DURING_RESTRICTED_DOMAIN", "cannot log in from current domain")
    assert [r["Status"] for r in history(fresh_sim, "office@acme.example")] == ["Restricted IP", "Restricted IP"]


def test_inside_profile_range_no_token_needed(fresh_sim):
    sid, _ = login(fresh_sim, "roam@acme.example", "Roam-pass-1", "")
    assert sid


def test_expired_password_logs_in_but_rest_refuses(fresh_sim):
    resp = raw_login(fresh_sim.url, "expired@acme.example", "Expired-pass-1IIIItokenIIII", host="login.salesforce.com")
    assert resp.status_code == 200
    assert "<passwordExpired>true</passwordExpired>" in resp.text
    sid = ET.fromstring(resp.content).findtext(f".//{{{SF_NS}}}sessionId")
    sf = Salesforce(session_id=sid, instance="acme.my.salesforce.com", session=routed_session(fresh_sim))
    with pytest.raises(SalesforceExpiredSession) as info:
        sf.query("SELECT Id FROM User")
    assert info.value.content[0]["errorCode"] == "INVALID_OPERATION_WITH_EXPIRED_PASSWORD"
    user_id = ET.fromstring(resp.content).findtext(f".//{{{SF_NS}}}userId")
    assert sf.restful(f"sobjects/User/{user_id}/password") == {"isExpired": True}


def test_soap_login_disabled_org(simulator, write_scenario):
    sim = simulator(write_scenario(BASE_SCENARIO.replace("  my_domain: acme\n", "  my_domain: acme\n  soap_login_disabled: true\n")))
    err = login_fails(sim, *ADMIN)
    assert err.code == "INVALID_OPERATION"
    assert err.auth_message.startswith("SOAP API login() is disabled by default in this org.")


def test_no_soap_login_from_api_65(fresh_sim):
    err = login_fails(fresh_sim, *ADMIN, version="65.0")
    assert err.code == "INVALID_OPERATION"
    assert "not available in the API version specified (65.0)" in err.auth_message


# --------------------------------------------------------------------------- hosts

def test_production_answers_on_login_and_my_domain_not_test(fresh_sim):
    assert login(fresh_sim, *ADMIN, domain="login")[0]
    assert login(fresh_sim, *ADMIN, domain="acme.my")[0]
    err = login_fails(fresh_sim, *ADMIN, domain="test")
    assert err.code == "INVALID_LOGIN"


def test_sandbox_answers_on_test_and_sandbox_my_domain_not_login(simulator, write_scenario):
    sim = simulator(write_scenario(BASE_SCENARIO.replace("  my_domain: acme\n", "  my_domain: acme\n  sandbox: uat\n")))
    sid, instance = login(sim, *ADMIN, domain="test")
    assert instance == "acme--uat.sandbox.my.salesforce.com"
    assert login(sim, *ADMIN, domain="acme--uat.sandbox.my")[0]
    assert login_fails(sim, *ADMIN, domain="login").code == "INVALID_LOGIN"
    resp = raw_login(sim.url, ADMIN[0], ADMIN[1] + ADMIN[2], host="test.salesforce.com")
    assert "<sandbox>true</sandbox>" in resp.text


def test_direct_client_gets_urls_back_to_the_simulator(fresh_sim):
    resp = raw_login(fresh_sim.url, ADMIN[0], ADMIN[1] + ADMIN[2])
    assert resp.status_code == 200
    server_url = ET.fromstring(resp.content).findtext(f".//{{{SF_NS}}}serverUrl")
    assert server_url.startswith(fresh_sim.url + "/services/Soap/u/59.0/")
    sid, instance = SalesforceLogin(username=ADMIN[0], password=ADMIN[1], security_token=ADMIN[2],
                                    scratch_url=fresh_sim.url)
    assert instance == fresh_sim.url.removeprefix("http://")


def test_garbage_and_other_operations_are_soap_client_faults(fresh_sim):
    resp = requests.post(fresh_sim.url + "/services/Soap/u/59.0", data=b"", headers={"Content-Type": "text/xml"})
    assert resp.status_code == 500 and "soapenv:Client" in resp.text
    envelope = ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
                '<query xmlns="urn:partner.soap.sforce.com"/></soapenv:Body></soapenv:Envelope>')
    resp = requests.post(fresh_sim.url + "/services/Soap/u/59.0", data=envelope, headers={"Content-Type": "text/xml"})
    assert resp.status_code == 500 and "No operation available for request {urn:partner.soap.sforce.com}query" in resp.text


# --------------------------------------------------------------------------- metadata

def metadata_service(sim, session: requests.Session):
    wsdl = (Path(simple_salesforce.__file__).parent / "metadata.wsdl").as_uri()
    client = zeep.Client(wsdl=wsdl, transport=Transport(session=session),
                         settings=zeep.Settings(strict=False, xsd_ignore_sequence_order=True))
    service = client.create_service("{http://soap.sforce.com/2006/04/metadata}MetadataBinding",
                                    f"https://{sim.world.my_domain_host}/services/Soap/m/59.0/{sim.world.org_id15}")
    return client, service


def test_read_metadata_security_settings_through_zeep(base_sim):
    sid, _ = login(base_sim, *ADMIN)
    client, service = metadata_service(base_sim, routed_session(base_sim))
    header = client.get_element("ns0:SessionHeader")(sessionId=sid)
    result = service.readMetadata("SecuritySettings", ["Security"], _soapheaders=[header])
    record = result[0]
    assert record.fullName == "Security"
    ranges = [(r.start, r.end, r.description) for r in record.networkAccess.ipRanges]
    assert ranges == [("198.51.100.0", "198.51.100.255", "Head office")]
    assert record.passwordPolicies.maxLoginAttempts == "TenAttempts"
    assert record.sessionSettings.sessionTimeout == "TwoHours"


def test_read_metadata_with_bad_session_is_invalid_session_id_fault(base_sim):
    client, service = metadata_service(base_sim, routed_session(base_sim))
    header = client.get_element("ns0:SessionHeader")(sessionId="00Dbogus!AQxyz")
    with pytest.raises(zeep.exceptions.Fault) as info:
        service.readMetadata("SecuritySettings", ["Security"], _soapheaders=[header])
    assert info.value.message == "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session"
    assert info.value.code.endswith("INVALID_SESSION_ID")


def test_read_metadata_hand_envelope_and_network_access_off(simulator, write_scenario):
    sim = simulator(write_scenario(BASE_SCENARIO.replace("  my_domain: acme\n", "  my_domain: acme\n  network_access: false\n")))
    sid, _ = login(sim, *ADMIN)
    envelope = (
        '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://soap.sforce.com/2006/04/metadata">'
        f"<env:Header><m:SessionHeader><m:sessionId>{sid}</m:sessionId></m:SessionHeader></env:Header>"
        "<env:Body><m:readMetadata><m:type>SecuritySettings</m:type><m:fullNames>Security</m:fullNames></m:readMetadata></env:Body>"
        "</env:Envelope>")
    resp = routed_session(sim).post("https://acme.my.salesforce.com/services/Soap/m/59.0", data=envelope,
                                    headers={"Content-Type": "text/xml", "SOAPAction": '""'})
    assert resp.status_code == 200
    assert '<records xsi:type="SecuritySettings"><fullName>Security</fullName><passwordPolicies>' in resp.text
    assert "networkAccess" not in resp.text
    # any write operation is not served
    write = envelope.replace("readMetadata", "deleteMetadata")
    resp = routed_session(sim).post("https://acme.my.salesforce.com/services/Soap/m/59.0", data=write,
                                    headers={"Content-Type": "text/xml"})
    assert resp.status_code == 500 and "<faultcode>soapenv:Client</faultcode>" in resp.text

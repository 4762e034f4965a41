"""Salesforce SOAP: partner/enterprise `login()` and Metadata API `readMetadata`.

Why byte-level fidelity matters here: simple-salesforce reads the login result by the
*unprefixed* tag names `sessionId`/`serverUrl` and a fault by the *literal* `sf:exceptionCode`
tag, and jsforce and the Salesforce CLI libraries parse the same envelopes. Every envelope
below follows reference/salesforce-wire.md §1.2-§1.5 and §4.4; text that no primary source
gave us verbatim is marked [I] (inferred) or [S] (secondary source).

Requests are parsed with ElementTree by local names, so zeep-generated envelopes, the
hand-written ones of simple-salesforce and jsforce, and any prefix choice all work.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

from .faults import soap_client_fault, soap_fault
from .wire import SimRequest, SimResponse

__all__ = ["handle", "LOGIN_FAULTS", "login_fault_for", "MUST_USE_TOKEN_MESSAGE"]

SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
METADATA_NS = "http://soap.sforce.com/2006/04/metadata"

_LOGIN_PATH = re.compile(r"^/services/Soap/([uc])/(\d+\.\d+)(?:/([A-Za-z0-9]{15,18}))?/?$")
_METADATA_PATH = re.compile(r"^/services/Soap/m/(\d+\.\d+)(?:/([A-Za-z0-9]{15,18}))?/?$")

INVALID_LOGIN_MESSAGE = "Invalid username, password, security token; or user locked out."
# [V] reference §1.4: captured verbatim from real orgs (jsforce test, terminal transcripts);
# note the typographic apostrophe in "company’s".
MUST_USE_TOKEN_MESSAGE = (
    "Invalid username, password, security token; or user locked out. Are you at a new location? "
    "When accessing Salesforce--either via a desktop client or the API--from outside of your "
    "company\u2019s trusted networks, you must add a security token to your password to log in. "
    "To get your new security token, log in to Salesforce. From your personal settings, enter "
    "Reset My Security Token in the Quick Find box, then select Reset My Security Token."
)

# World LoginDecision.reason -> (exceptionCode, exceptionMessage).
LOGIN_FAULTS: dict[str, tuple[str, str]] = {
    "TOKEN_REQUIRED": ("LOGIN_MUST_USE_SECURITY_TOKEN", MUST_USE_TOKEN_MESSAGE),          # [V]
    "INVALID_PASSWORD": ("INVALID_LOGIN", INVALID_LOGIN_MESSAGE),                          # [V]
    "INVALID_TOKEN": ("INVALID_LOGIN", INVALID_LOGIN_MESSAGE),                             # [V]
    "UNKNOWN_USER": ("INVALID_LOGIN", INVALID_LOGIN_MESSAGE),                              # [V]
    # Lock-outs, frozen and inactive users: over the API Salesforce answers the generic
    # INVALID_LOGIN (its text says "or user locked out"); only LoginHistory tells them apart.
    # PASSWORD_LOCKOUT exists as a code but no captured response uses it: [I].
    "LOCKED": ("INVALID_LOGIN", INVALID_LOGIN_MESSAGE),
    "FROZEN": ("INVALID_LOGIN", INVALID_LOGIN_MESSAGE),
    "INACTIVE": ("INVALID_LOGIN", INVALID_LOGIN_MESSAGE),
    "WRONG_HOST": ("INVALID_LOGIN", INVALID_LOGIN_MESSAGE),                                # [I] sandbox vs production host
    "RESTRICTED_IP": ("LOGIN_DURING_RESTRICTED_DOMAIN", "cannot log in from current domain"),  # [S]
    "RESTRICTED_TIME": ("LOGIN_DURING_RESTRICTED_TIME", "cannot log in during restricted time"),  # [V] §1.4
    "API_DISABLED_FOR_ORG": ("API_DISABLED_FOR_ORG", "API is not enabled for this Organization or Partner"),  # [S]
    "API_DISABLED_FOR_USER": ("API_CURRENTLY_DISABLED", "API is disabled for this User"),  # [S]
    # [S] OpenFn/adaptors#1715 quotes the full Salesforce text for orgs with SOAP login() off.
    "SOAP_LOGIN_DISABLED": ("INVALID_OPERATION",
                            "SOAP API login() is disabled by default in this org. Contact the org "
                            "administrator to enable SOAP API login()."),
}

# From API 65.0 on there is no SOAP login() at all ([S] forcedotcom/wsc#363, ApiFault text).
_NO_LOGIN_FROM_VERSION = 65.0


def login_fault_for(reason: str) -> tuple[str, str]:
    """The (code, message) Salesforce answers for a World login reason."""
    return LOGIN_FAULTS.get(reason, ("INVALID_LOGIN", INVALID_LOGIN_MESSAGE))


def handle(req: SimRequest, world: Any) -> SimResponse | None:
    """SOAP endpoints under /services/Soap/{u,c,m}/NN.0; None for anything else."""
    match = _LOGIN_PATH.match(req.path)
    if match:
        if req.method != "POST":
            return _wrong_method()
        return _partner(req, world, match.group(1), match.group(2))
    match = _METADATA_PATH.match(req.path)
    if match:
        if req.method != "POST":
            return _wrong_method()
        return _metadata(req, world, match.group(1))
    return None


def _wrong_method() -> SimResponse:
    # Salesforce's SOAP servlet only takes POST; the exact GET answer is [I].
    return soap_client_fault("HTTP GET is not supported, use POST")


# --------------------------------------------------------------------------- parsing

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_envelope(body: bytes) -> tuple[ET.Element | None, ET.Element | None]:
    """(Header, first child of Body) by local names; (None, None) when not an envelope."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None, None
    if _local(root.tag) != "Envelope":
        return None, None
    header = next((c for c in root if _local(c.tag) == "Header"), None)
    body_el = next((c for c in root if _local(c.tag) == "Body"), None)
    if body_el is None:
        return header, None
    operation = next(iter(body_el), None)
    return header, operation


def _child_text(parent: ET.Element | None, name: str) -> str | None:
    if parent is None:
        return None
    for el in parent.iter():
        if _local(el.tag) == name:
            return el.text or ""
    return None


# --------------------------------------------------------------------------- login

def _partner(req: SimRequest, world: Any, flavour: str, version: str) -> SimResponse:
    enterprise = flavour == "c"
    fault_ns = "urn:fault.enterprise.soap.sforce.com" if enterprise else "urn:fault.partner.soap.sforce.com"
    header, operation = _parse_envelope(req.body)
    if operation is None:
        if not req.body.strip():
            return soap_client_fault("Premature end of file.")  # [S] reference §1.3
        return soap_client_fault("Unexpected element. Parser was expecting element "
                                 "'http://schemas.xmlsoap.org/soap/envelope/:Envelope'")  # [I]
    op = _local(operation.tag)
    if op != "login":
        ns = "urn:enterprise.soap.sforce.com" if enterprise else "urn:partner.soap.sforce.com"
        # sfdoctor only logs in over SOAP; other partner calls are not simulated. [I] text
        return soap_client_fault(f"No operation available for request {{{ns}}}{op}, please check the WSDL for the service.")
    if float(version) >= _NO_LOGIN_FROM_VERSION:
        return soap_fault("INVALID_OPERATION",
                          f"The SOAP Login operation is not available in the API version specified ({version}). "
                          "Refer to the documentation for supported versions.",
                          fault_type="LoginFault", fault_ns=fault_ns)
    username = (_child_text(operation, "username") or "").strip()
    password = _child_text(operation, "password") or ""
    client = (_child_text(header, "client") or "").strip() or None
    decision = world.password_login(username, password, host=req.host, channel="soap",
                                    api_version=version, application=client)
    if not decision.ok:
        code, message = login_fault_for(decision.reason)
        return soap_fault(code, message, fault_type="LoginFault", fault_ns=fault_ns)
    return SimResponse.xml(_login_result(req, world, decision, version, enterprise))


def instance_base(req: SimRequest, world: Any) -> str:
    """Where a logged-in client goes next: the org's My Domain when the client came through
    a re-routed Salesforce host (login./test. hand over to My Domain, as Salesforce does),
    or the simulator itself when reached directly."""
    return req.base_url if req.direct else f"https://{world.my_domain_host}"


def user_value(user: dict[str, Any], *names: str, default: Any = None) -> Any:
    """First present key of a World user dict (sObject field names or scenario keys)."""
    for name in names:
        if name in user and user[name] is not None:
            return user[name]
    return default


def _org_name(world: Any, user_id: str) -> str:
    rows = world.catalog_for(user_id).rows("Organization")
    return rows[0].get("Name", "") if rows else ""


def _b(value: Any) -> str:
    return "true" if value else "false"


def _login_result(req: SimRequest, world: Any, decision: Any, version: str, enterprise: bool) -> str:
    user = decision.user or {}
    user_id = user_value(user, "Id", "id")
    org_id = world.org_id
    org15 = org_id[:15]
    base = instance_base(req, world)
    flavour = "c" if enterprise else "u"
    session_id = world.issue_session(user_id)
    username = user_value(user, "Username", "username", default="")
    email = user_value(user, "Email", "email", default=username)
    full_name = user_value(user, "Name", "name", default=username)
    profile_id = user_value(user, "ProfileId", "profile_id", default="")
    ns = "urn:enterprise.soap.sforce.com" if enterprise else "urn:partner.soap.sforce.com"
    e = escape
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}" xmlns="{ns}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{e(base)}/services/Soap/m/{version}/{org15}</metadataServerUrl>"
        f"<passwordExpired>{_b(decision.password_expired)}</passwordExpired>"
        f"<sandbox>{_b(world.is_sandbox)}</sandbox>"
        f"<serverUrl>{e(base)}/services/Soap/{flavour}/{version}/{org15}</serverUrl>"
        f"<sessionId>{e(session_id)}</sessionId>"
        f"<userId>{e(user_id)}</userId>"
        "<userInfo>"
        "<accessibilityMode>false</accessibilityMode>"
        "<chatterExternal>false</chatterExternal>"
        "<currencySymbol>$</currencySymbol>"
        "<orgAttachmentFileSizeLimit>5242880</orgAttachmentFileSizeLimit>"
        "<orgDefaultCurrencyIsoCode>USD</orgDefaultCurrencyIsoCode>"
        "<orgDefaultCurrencyLocale>en_US</orgDefaultCurrencyLocale>"
        "<orgDisallowHtmlAttachments>false</orgDisallowHtmlAttachments>"
        "<orgHasPersonAccounts>false</orgHasPersonAccounts>"
        f"<organizationId>{org_id}</organizationId>"
        "<organizationMultiCurrency>false</organizationMultiCurrency>"
        f"<organizationName>{e(_org_name(world, user_id))}</organizationName>"
        f"<profileId>{e(profile_id)}</profileId>"
        '<roleId xsi:nil="true"/>'
        "<sessionSecondsValid>7200</sessionSecondsValid>"
        '<userDefaultCurrencyIsoCode xsi:nil="true"/>'
        f"<userEmail>{e(email)}</userEmail>"
        f"<userFullName>{e(full_name)}</userFullName>"
        f"<userId>{e(user_id)}</userId>"
        "<userLanguage>en_US</userLanguage>"
        "<userLocale>en_US</userLocale>"
        f"<userName>{e(username)}</userName>"
        "<userTimeZone>America/Los_Angeles</userTimeZone>"
        "<userType>Standard</userType>"
        "<userUiSkin>Theme3</userUiSkin>"
        "</userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )


# --------------------------------------------------------------------------- metadata

_INVALID_SESSION = "Invalid Session ID found in SessionHeader: Illegal Session"


def _metadata(req: SimRequest, world: Any, version: str) -> SimResponse:
    header, operation = _parse_envelope(req.body)
    if operation is None:
        return soap_client_fault("Premature end of file." if not req.body.strip() else
                                 "Unexpected element. Parser was expecting element "
                                 "'http://schemas.xmlsoap.org/soap/envelope/:Envelope'")
    session_id = (_child_text(header, "sessionId") or "").strip()
    user = world.session_user(session_id) if session_id else None
    if user is None:
        return soap_fault("INVALID_SESSION_ID", _INVALID_SESSION)  # §1.5 [V]
    if user.get("PasswordExpired"):
        return soap_fault("INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
                          "The users password has expired, you must call SetPassword before attempting "
                          "any other API operations")
    op = _local(operation.tag)
    refused = _metadata_refusal(world, user)
    if refused is not None:
        return refused
    if op == "readMetadata":
        return _read_metadata(world, operation)
    if op == "listMetadata":
        return _list_metadata(world, operation)
    return soap_client_fault(f"No operation available for request {{{METADATA_NS}}}{op}, "
                             "please check the WSDL for the service.")  # [I]


def _metadata_refusal(world: Any, user: dict) -> SimResponse | None:
    """Salesforce's refusals of a Metadata API call: an org without the Metadata API
    (Professional edition) [I], and a user with neither Modify All Data nor Modify Metadata
    Through Metadata API Functions (the fault text is Salesforce's, seen in forcedotcom/cli#3048)."""
    if not world.scenario.salesforce.metadata_api:
        return soap_fault("API_DISABLED_FOR_ORG", "The Metadata API is not enabled for this Organization or Partner")
    granted = world.run_as_permissions(user_value(user, "Username", "username") or "")
    if granted is not None and not granted & {"ModifyAllData", "ModifyMetadata"}:
        return soap_fault("INSUFFICIENT_ACCESS",
                          "use of the Metadata API requires a user with the ModifyAllData or ModifyMetadata permissions")
    return None


def _metadata_envelope(inner: str) -> SimResponse:
    return SimResponse.xml(
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}" xmlns="{METADATA_NS}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body>{inner}</soapenv:Body></soapenv:Envelope>")


def security_settings_xml(world: Any) -> str:
    """SecuritySettings 'Security' in the WSDL's element order (zeep parses sequences in
    order). Password policy and session settings are Salesforce's defaults [I]: the
    scenario format has no keys for them."""
    parts = ["<fullName>Security</fullName>"]
    if world.network_access:
        parts.append("<networkAccess>")
        for rng in world.trusted_ip_ranges():
            desc = rng.get("description")
            parts.append("<ipRanges>"
                         + (f"<description>{escape(desc)}</description>" if desc else "")
                         + f"<end>{escape(str(rng['end']))}</end><start>{escape(str(rng['start']))}</start>"
                         "</ipRanges>")
        parts.append("</networkAccess>")
    parts.append(
        "<passwordPolicies>"
        "<apiOnlyUserHomePageURL></apiOnlyUserHomePageURL>"
        "<complexity>AlphaNumeric</complexity>"
        "<expiration>NinetyDays</expiration>"
        "<historyRestriction>3</historyRestriction>"
        "<lockoutInterval>FifteenMinutes</lockoutInterval>"
        "<maxLoginAttempts>TenAttempts</maxLoginAttempts>"
        "<minimumPasswordLength>8</minimumPasswordLength>"
        "<minimumPasswordLifetime>false</minimumPasswordLifetime>"
        "<obscureSecretAnswer>false</obscureSecretAnswer>"
        "<questionRestriction>DoesNotContainPassword</questionRestriction>"
        "</passwordPolicies>"
        "<sessionSettings>"
        "<enforceIpRangesEveryRequest>false</enforceIpRangesEveryRequest>"
        "<forceLogoutOnSessionTimeout>false</forceLogoutOnSessionTimeout>"
        "<forceRelogin>true</forceRelogin>"
        "<lockSessionsToDomain>true</lockSessionsToDomain>"
        "<lockSessionsToIp>false</lockSessionsToIp>"
        "<sessionTimeout>TwoHours</sessionTimeout>"
        "</sessionSettings>")
    return "".join(parts)


def _read_metadata(world: Any, operation: ET.Element) -> SimResponse:
    type_name = (_child_text(operation, "type") or "").strip()
    full_names = [(el.text or "").strip() for el in operation.iter() if _local(el.tag) == "fullNames"]
    records = []
    for name in full_names:
        if type_name == "SecuritySettings" and name == "Security":
            records.append(f'<records xsi:type="SecuritySettings">{security_settings_xml(world)}</records>')
            continue
        # Connected apps, External Client Apps, profiles' login hours and the OAuth flow settings.
        from .oauth_apps import metadata_record  # noqa: PLC0415

        record = metadata_record(world, type_name, name)
        if record is not None:
            records.append(record)
        # Any other type or name: Salesforce leaves the record out (a name that does not exist
        # reads as nothing) [I]; the demo world models only SecuritySettings.
    return _metadata_envelope(f"<readMetadataResponse><result>{''.join(records)}</result></readMetadataResponse>")


def _list_metadata(world: Any, operation: ET.Element) -> SimResponse:
    """listMetadata of SecuritySettings -> one FileProperties for 'Security' (others: none)."""
    types = [(_child_text(q, "type") or "").strip() for q in operation.iter() if _local(q.tag) == "queries"]
    out = []
    if "SecuritySettings" in types:
        out.append("<result><createdById></createdById><createdByName></createdByName>"
                   "<createdDate>1970-01-01T00:00:00.000Z</createdDate>"
                   "<fileName>settings/Security.settings</fileName><fullName>Security</fullName>"
                   "<id></id><lastModifiedById></lastModifiedById><lastModifiedByName></lastModifiedByName>"
                   "<lastModifiedDate>1970-01-01T00:00:00.000Z</lastModifiedDate>"
                   "<type>SecuritySettings</type></result>")
    return _metadata_envelope(f"<listMetadataResponse>{''.join(out)}</listMetadataResponse>")

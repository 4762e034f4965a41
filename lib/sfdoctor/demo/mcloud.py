"""Marketing Cloud Engagement as the mc-missing-oauth-token runbook meets it.

The endpoints the runbook and Marketing Cloud's clients (sfmc-sdk) need:

* ``POST /v2/token`` on ``{subdomain}.auth.marketingcloudapis.com`` — the installed
  package's client-credentials token (reference §5.1, verified shapes). sfdoctor reads the
  account with it.
* ``POST /Service.asmx`` on ``{subdomain}.soap.marketingcloudapis.com`` — SOAP
  ``Retrieve`` of ``AccountUser`` (reference §9), authenticated by that token in the SOAP
  header (``<fueloauth>``). This is how the runbook sees whether the integration user is
  active, locked, an API user, and must change its password.
* ``{subdomain}.rest.marketingcloudapis.com`` — the REST host: every path first checks the
  bearer token (401 "Not Authorized", errorcode 0, as "Handle Errors in REST API" says), and
  ``GET /platform/v1/tokenContext`` answers the account (MID) the token acts for.
* ``POST /__sfdoctor/mc/user-login`` — **simulator only**. Real Marketing Cloud exposes no
  API that logs in *as a user* with a password and tells why it failed; Data Cloud does
  that internally when it connects, and shows "Missing_OAuth_Token". In a real org this
  step is manual in the runbook (try to log in to Marketing Cloud as the integration user
  from the web UI). The demo world offers it so the runbook can demonstrate the causes.

Fidelity notes (V = verified from a primary or near-primary source, S = third-party copy
of real output, I = inferred; keep these honest when extending):

* Token success/401 ``invalid_client`` bodies: V (§5.1). ``expires_in`` is 1079 as the
  captured responses show (S); the token stays valid for the documented 20 minutes (V).
  Errors for a non-JSON body or another ``grant_type``: I (texts not found).
* A host naming *another* tenant's subdomain is answered as that tenant would: it knows
  neither this package (401 ``invalid_client``) nor this token (security fault). I.
* SOAP security fault (``q0:Security`` / "Login failed" / faultactor = the SOAP endpoint):
  V, from the "SOAP Faults" page. The faultstring "Token Expired" for an expired token: S
  (seen in a third-party client's comment). HTTP 500 for faults: I (ASMX convention).
* ``RetrieveResponseMsg`` layout and the AccountUser element order follow a captured
  response in Accenture's sfmc-devtools test resources (S). Dates are Marketing Cloud
  *system time*: US Central Standard Time (UTC-6, no daylight saving), written without a
  zone (V, Marketing Cloud date docs). Checks must convert them.
* ``MustChangePassword`` is true when the user's ``must_change_password`` says an admin reset
  it, or when the password is older than the account policy's
  ``expire_days`` and the user is not an API user exempted by ``exclude_api_users`` (the
  World's ``mc_password_expired``, the same rule its user login applies): I — the API
  exposes no password age, and this is the flag an expired password would raise.
* ``LastSuccessfulLogin`` is always nil: nothing in the world records it.
* The unknown-property status text ("The Request Property(s) … do not match with the
  fields of AccountUser retrieve") is I (from memory of real responses); object types
  other than AccountUser answer a status that says plainly the demo does not serve them.

Issued tokens live on the world object (attribute ``_sfdoctor_mc_tokens``): the World
contract has no token API for Marketing Cloud, and tokens must die with their world.
"""
from __future__ import annotations

import base64
import secrets
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable
from xml.sax.saxutils import escape

from .faults import mcloud_error
from .wire import SimRequest, SimResponse

AUTH_HOST_SUFFIX = ".auth.marketingcloudapis.com"
SOAP_HOST_SUFFIX = ".soap.marketingcloudapis.com"
REST_HOST_SUFFIX = ".rest.marketingcloudapis.com"

TOKEN_PATH = "/v2/token"
TOKEN_CONTEXT_PATH = "/platform/v1/tokencontext"   # compared case-insensitively, as TOKEN_PATH is not
REST_PREFIXES = ("/platform/",)                    # REST paths served when reached directly
SOAP_PATH = "/service.asmx"          # compared case-insensitively: IIS paths are
USER_LOGIN_PATH = "/__sfdoctor/mc/user-login"

TOKEN_LIFETIME = timedelta(minutes=20)   # documented lifetime (V)
REPORTED_EXPIRES_IN = 1079               # what real token responses say (S)

# Scope string of an installed package that may read the account (shape as §5.1; the
# list itself is what a read-only package would be granted: I).
TOKEN_SCOPE = ("offline documents_and_images_read saved_content_read list_and_subscribers_read "
               "data_extensions_read accounts_read users_read")

INVALID_CLIENT = {
    "error": "invalid_client",
    "error_description": ("Client authentication failed. Make sure that the client ID and client "
                          "secret are valid and that the package is installed and enabled."),
    "error_uri": "https://developer.salesforce.com/docs",
}

# Marketing Cloud system time: Central Standard Time without daylight saving (V).
SYSTEM_TZ = timezone(timedelta(hours=-6))

# The account's MID. The scenario format has no key for it, so the demo account has one.
DEMO_MID = 510000001
ACCOUNT_USER_ID_BASE = 700300000
PACKAGE_API_USER_ID = ACCOUNT_USER_ID_BASE   # the installed package's own API user [I]

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_PARTNER = "http://exacttarget.com/wsdl/partnerAPI"
NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"

# AccountUser properties the demo serves, in the order a real response lists them.
ACCOUNT_USER_FIELDS: tuple[str, ...] = (
    "CreatedDate", "ModifiedDate", "ID", "CustomerKey", "AccountUserID", "UserID", "Name",
    "Email", "MustChangePassword", "ActiveFlag", "LastSuccessfulLogin", "IsAPIUser",
    "NotificationEmailAddress", "IsLocked", "DefaultBusinessUnit",
)

# What Data Cloud shows for each outcome of its login as the integration user
# (KA 000393776: "Missing_OAuth_Token"; KA 000395010: the expired-password text).
DATA_CLOUD_MESSAGES = {
    "OK": "",
    "IP_NOT_ALLOWLISTED": "Missing_OAuth_Token",
    "PASSWORD_EXPIRED": "Change your expired Marketing Cloud password and try again",
    "INVALID_CREDENTIALS": "Missing_OAuth_Token",
    "LOCKED": "Missing_OAuth_Token",
    "INACTIVE": "Missing_OAuth_Token",
}


@dataclass
class McToken:
    """One issued access token: which tenant it belongs to and when it stops working."""

    subdomain: str
    client_id: str
    issued_at: datetime
    expires_at: datetime


# --------------------------------------------------------------------------- dispatch

def handle(req: SimRequest, world: Any) -> SimResponse | None:
    """Answer the Marketing Cloud requests this module owns; None for any other path.

    The simulator-only user-login path is served whatever the host. The token and SOAP
    paths are served on their own Marketing Cloud host or when the simulator is reached
    directly (then the token response points every URL back at the simulator).
    """
    path = req.path.rstrip("/") or "/"
    if path == USER_LOGIN_PATH:
        return user_login(req, world)
    mc = _mc(world)
    if mc is None:
        return None
    kind = "direct" if req.direct else host_kind(req.host)[0]
    if path == TOKEN_PATH and kind in ("auth", "direct"):
        return token(req, world)
    if path.lower() == SOAP_PATH and kind in ("soap", "direct"):
        return soap(req, world)
    if kind == "rest" or (kind == "direct" and path.startswith(REST_PREFIXES)):
        return rest(req, world)
    return None


def host_kind(host: str) -> tuple[str, str | None]:
    """Classify a Host header: ("auth"|"soap"|"rest", tenant subdomain) or ("other", None)."""
    name = (host or "").split(":", 1)[0].lower()
    for kind, suffix in (("auth", AUTH_HOST_SUFFIX), ("soap", SOAP_HOST_SUFFIX), ("rest", REST_HOST_SUFFIX)):
        if name.endswith(suffix) and len(name) > len(suffix):
            return kind, name[: -len(suffix)]
    return "other", None


def _mc(world: Any) -> Any:
    scenario = getattr(world, "scenario", None)
    return getattr(scenario, "marketing_cloud", None) if scenario is not None else None


def _tokens(world: Any) -> dict[str, McToken]:
    store = getattr(world, "_sfdoctor_mc_tokens", None)
    if store is None:
        store = {}
        setattr(world, "_sfdoctor_mc_tokens", store)
    return store


def _now(world: Any) -> datetime:
    now = world.now()
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


def _host_subdomain(req: SimRequest, mc: Any) -> str:
    """The tenant the client addressed: the host's subdomain, or the world's when direct."""
    _, sub = host_kind(req.host)
    return sub if sub is not None else str(mc.subdomain).lower()


# --------------------------------------------------------------------------- /v2/token

def token(req: SimRequest, world: Any) -> SimResponse:
    """Client-credentials token for the installed package (reference §5.1)."""
    if req.method != "POST":
        return SimResponse(405, b"", {"Allow": "POST"})
    mc = _mc(world)
    body = _token_body(req)
    if body is None:
        return SimResponse.json({"error": "invalid_request",
                                 "error_description": "The request body must be a JSON object.",
                                 "error_uri": INVALID_CLIENT["error_uri"]}, status=400)
    if body.get("grant_type") != "client_credentials":
        return SimResponse.json({"error": "unsupported_grant_type",
                                 "error_description": "Use \"client_credentials\" as the grant_type.",
                                 "error_uri": INVALID_CLIENT["error_uri"]}, status=400)
    subdomain = _host_subdomain(req, mc)
    if (subdomain != str(mc.subdomain).lower()
            or body.get("client_id") != mc.client_id
            or body.get("client_secret") != mc.client_secret):
        return SimResponse.json(INVALID_CLIENT, status=401)
    now = _now(world)
    access_token = _new_access_token()
    _tokens(world)[access_token] = McToken(subdomain, str(mc.client_id), now, now + TOKEN_LIFETIME)
    if req.direct:
        soap_url = rest_url = req.base_url.rstrip("/") + "/"
    else:
        soap_url = f"https://{subdomain}{SOAP_HOST_SUFFIX}/"
        rest_url = f"https://{subdomain}{REST_HOST_SUFFIX}/"
    return SimResponse.json({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": REPORTED_EXPIRES_IN,
        "scope": TOKEN_SCOPE,
        "soap_instance_url": soap_url,
        "rest_instance_url": rest_url,
    })


def _token_body(req: SimRequest) -> dict[str, Any] | None:
    """The JSON object Marketing Cloud expects; a form body is read too, as clients differ."""
    ctype = req.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in ctype:
        return req.form()
    try:
        data = req.json()
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _new_access_token() -> str:
    """An opaque JWT-shaped token, like the real ones (header.payload.signature)."""
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    header = b64(b'{"alg":"HS256","kid":"4","ver":"1","typ":"JWT"}')
    return f"{header}.{b64(secrets.token_bytes(48))}.{b64(secrets.token_bytes(32))}"


# --------------------------------------------------------------------------- REST

def rest(req: SimRequest, world: Any) -> SimResponse:
    """The REST host: the bearer token first (401 "Not Authorized", errorcode 0, for a missing,
    unknown, other tenant's or expired token: "Handle Errors in REST API"), then the one
    resource served, ``GET /platform/v1/tokenContext``; any other path is 404."""
    mc = _mc(world)
    auth = req.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    tok = _tokens(world).get(value.strip()) if scheme.lower() == "bearer" else None
    if tok is None or tok.subdomain != _host_subdomain(req, mc) or _now(world) >= tok.expires_at:
        return mcloud_error(401, "Not Authorized")
    path = req.path.rstrip("/").lower()
    if path == TOKEN_CONTEXT_PATH:
        if req.method != "GET":
            return mcloud_error(405, "Method Not Allowed")   # body: I
        return SimResponse.json(token_context())
    return mcloud_error(404, "Not Found")                      # body: I


def token_context() -> dict[str, Any]:
    """Who the token acts for ("Get Token Context"): the account's MID as enterprise and
    organization (the demo account is one business unit), and the package's API user [I]."""
    return {"enterprise": {"id": DEMO_MID}, "organization": {"id": DEMO_MID},
            "user": {"id": PACKAGE_API_USER_ID}}


# --------------------------------------------------------------------------- SOAP

def soap(req: SimRequest, world: Any) -> SimResponse:
    """SOAP endpoint: token check first (as the real security filter does), then Retrieve."""
    if req.method != "POST":
        return SimResponse(405, b"", {"Allow": "POST"})
    mc = _mc(world)
    actor = (req.base_url.rstrip("/") if req.direct
             else f"https://{_host_subdomain(req, mc)}{SOAP_HOST_SUFFIX}") + "/Service.asmx"
    try:
        root = ET.fromstring(req.body)
    except ET.ParseError:
        return _client_fault("Unable to parse the request message: it is not well-formed XML.")
    header = _child(root, "Header")
    body = _child(root, "Body")
    access_token = _header_token(header)
    tok = _tokens(world).get(access_token or "")
    if tok is None or tok.subdomain != _host_subdomain(req, mc):
        return _security_fault("Login failed", actor)
    if _now(world) >= tok.expires_at:
        return _security_fault("Token Expired", actor)
    operation = next(iter(body), None) if body is not None else None
    if operation is None or _local(operation.tag) != "RetrieveRequestMsg":
        action = req.headers.get("soapaction", "").strip('"') or (
            _local(operation.tag) if operation is not None else "")
        return _client_fault(f"Server did not recognize the value of HTTP Header SOAPAction: {action}.")
    return _retrieve(operation, world)


def _retrieve(msg: ET.Element, world: Any) -> SimResponse:
    request = _child(msg, "RetrieveRequest")
    if request is None:
        return _retrieve_response("Error: RetrieveRequest is required.", [])
    object_type = (_text(_child(request, "ObjectType")) or "").strip()
    if object_type != "AccountUser":
        return _retrieve_response(
            f"Error: the sfdoctor demo simulator serves only AccountUser, not '{object_type}'.", [])
    requested = [(_text(p) or "").strip() for p in request if _local(p.tag) == "Properties"]
    requested = [p for p in requested if p]
    unknown = [p for p in requested if p not in ACCOUNT_USER_FIELDS]
    if unknown:
        return _retrieve_response(
            f"Error: The Request Property(s) {', '.join(unknown)} do not match with the fields "
            f"of AccountUser retrieve", [])
    rows = account_users(world)
    filt = _child(request, "Filter")
    if filt is not None:
        try:
            rows = [r for r in rows if _matches(r, filt)]
        except ValueError as exc:
            return _retrieve_response(f"Error: {exc}", [])
    fields = [f for f in ACCOUNT_USER_FIELDS if not requested or f in requested]
    return _retrieve_response("OK", [_account_user_xml(r, fields) for r in rows])


def _matches(row: dict[str, Any], filt: ET.Element) -> bool:
    """Evaluate a SimpleFilterPart (equals / notEquals / IN); anything else is refused."""
    xsi_type = filt.get("{http://www.w3.org/2001/XMLSchema-instance}type", "SimpleFilterPart")
    if _local(xsi_type.split(":")[-1]) != "SimpleFilterPart":
        raise ValueError(f"the sfdoctor demo simulator supports only SimpleFilterPart filters, not {xsi_type}")
    prop = (_text(_child(filt, "Property")) or "").strip()
    op = (_text(_child(filt, "SimpleOperator")) or "").strip()
    values = [(_text(v) or "") for v in filt if _local(v.tag) == "Value"]
    if prop not in ACCOUNT_USER_FIELDS:
        raise ValueError(f"The Filter Property {prop} is not a retrievable property of AccountUser")
    actual = _format_value(row.get(prop)).lower()
    wanted = [v.strip().lower() for v in values]
    if op == "equals":
        return bool(wanted) and actual == wanted[0]
    if op == "notEquals":
        return bool(wanted) and actual != wanted[0]
    if op == "IN":
        return actual in wanted
    raise ValueError(f"the sfdoctor demo simulator does not support SimpleOperator '{op}'")


def account_users(world: Any) -> list[dict[str, Any]]:
    """The AccountUser view of ``marketing_cloud.users``: the values the SOAP API shows.

    Public so checks' tests can compare what the wire says with what the world holds.
    ``LastSuccessfulLogin`` is nil: the scenario format has no key for it and the World
    does not record Marketing Cloud logins, and inventing a date would mislead a check.
    """
    mc = _mc(world)
    if mc is None:
        return []
    now = _now(world)
    rows = []
    for index, user in enumerate(getattr(mc, "users", None) or []):
        username = str(user.username)
        changed = world_time(world, getattr(user, "password_changed_at", None)) or now
        user_id = ACCOUNT_USER_ID_BASE + index + 1
        email = getattr(user, "email", None) or f"{username}@example.com"
        rows.append({
            "CreatedDate": changed,
            "ModifiedDate": changed,
            "ID": user_id,
            "CustomerKey": str(uuid.uuid5(uuid.NAMESPACE_URL, f"mc:{mc.subdomain}:{username}")),
            "AccountUserID": user_id,
            "UserID": username,
            "Name": getattr(user, "name", None) or username,
            "Email": email,
            "MustChangePassword": _must_change_password(world, user, mc, now),
            "ActiveFlag": bool(getattr(user, "active", True)),
            "LastSuccessfulLogin": None,
            "IsAPIUser": bool(getattr(user, "api_user", False)),
            "NotificationEmailAddress": email,
            "IsLocked": bool(getattr(user, "locked", False)),
            "DefaultBusinessUnit": DEMO_MID,
        })
    return rows


def _must_change_password(world: Any, user: Any, mc: Any, now: datetime) -> bool:
    """An admin's reset (``must_change_password``), or the World's own expiry rule when it has
    one (one rule for login and Retrieve)."""
    if getattr(user, "must_change_password", False):
        return True
    rule = getattr(world, "mc_password_expired", None)
    if callable(rule):
        return bool(rule(user.username))
    return password_expired(user, mc, now, world_time(world, getattr(user, "password_changed_at", None)))


def password_expired(user: Any, mc: Any, now: datetime, changed_at: datetime | None) -> bool:
    """True when the account's policy has expired this user's password (inferred rule).

    The policy's ``expire_days`` counts from the last change (``changed_at``, already
    resolved against the world's clock); API users are exempt only when the policy says
    ``exclude_api_users``. Used for worlds that do not offer ``mc_password_expired``.
    """
    policy = getattr(mc, "password_policy", None)
    days = getattr(policy, "expire_days", None) if policy is not None else None
    changed = _aware(changed_at)
    if not days or changed is None:
        return False
    if getattr(user, "api_user", False) and getattr(policy, "exclude_api_users", False):
        return False
    return now - changed > timedelta(days=int(days))


def world_time(world: Any, ref: Any) -> datetime | None:
    """A scenario time as the world sees it: relative times count from the world's epoch."""
    at = getattr(world, "at", None)
    return _aware(at(ref) if callable(at) else ref)


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return system_time(value)
    return str(value)


def system_time(moment: datetime) -> str:
    """A datetime as Marketing Cloud writes it: CST (UTC-6), milliseconds, no zone."""
    local = _aware(moment).astimezone(SYSTEM_TZ)  # type: ignore[union-attr]
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}"


def _account_user_xml(row: dict[str, Any], fields: Iterable[str]) -> str:
    parts = ['<Results xsi:type="AccountUser">', '<PartnerKey xsi:nil="true" />']
    for name in fields:
        value = row.get(name)
        if value is None:
            parts.append(f'<{name} xsi:nil="true" />')
        else:
            parts.append(f"<{name}>{escape(_format_value(value))}</{name}>")
        if name == "ID":
            parts.append('<ObjectID xsi:nil="true" />')
    parts.append("</Results>")
    return "".join(parts)


def _retrieve_response(status: str, results: list[str]) -> SimResponse:
    request_id = str(uuid.uuid4())
    return SimResponse.xml(
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{NS_SOAP}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">'
        '<soap:Header><wsa:Action>RetrieveResponse</wsa:Action>'
        f'<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID></soap:Header>'
        f'<soap:Body><RetrieveResponseMsg xmlns="{NS_PARTNER}">'
        f"<OverallStatus>{escape(status)}</OverallStatus><RequestID>{request_id}</RequestID>"
        + "".join(results)
        + "</RetrieveResponseMsg></soap:Body></soap:Envelope>"
    )


def _security_fault(text: str, actor: str) -> SimResponse:
    return SimResponse.xml(
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{NS_SOAP}"><soap:Body><soap:Fault>'
        f'<faultcode xmlns:q0="{NS_WSSE}">q0:Security</faultcode>'
        f"<faultstring>{escape(text)}</faultstring><faultactor>{escape(actor)}</faultactor>"
        "</soap:Fault></soap:Body></soap:Envelope>",
        status=500,
    )


def _client_fault(text: str) -> SimResponse:
    return SimResponse.xml(
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{NS_SOAP}"><soap:Body><soap:Fault>'
        f"<faultcode>soap:Client</faultcode><faultstring>{escape(text)}</faultstring><detail />"
        "</soap:Fault></soap:Body></soap:Envelope>",
        status=500,
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(parent: ET.Element | None, name: str) -> ET.Element | None:
    if parent is None:
        return None
    for child in parent:
        if _local(child.tag) == name:
            return child
    return None


def _text(elem: ET.Element | None) -> str | None:
    return elem.text if elem is not None else None


def _header_token(header: ET.Element | None) -> str | None:
    """The access token from ``<fueloauth>`` (any namespace) or legacy ``<oAuth><oAuthToken>``."""
    if header is None:
        return None
    for elem in header.iter():
        if _local(elem.tag) in ("fueloauth", "oAuthToken") and elem.text:
            return elem.text.strip()
    return None


# --------------------------------------------------------------------------- user login (simulator only)

def user_login(req: SimRequest, world: Any) -> SimResponse:
    """Play Data Cloud's login as the integration user; report what Data Cloud would show.

    Simulator only: no real Marketing Cloud API does this (see the module docstring).
    ``source_ip`` defaults to Data Cloud's first egress address, since that is where the
    real connection attempt comes from.
    """
    if req.method != "POST":
        return SimResponse(405, b"", {"Allow": "POST"})
    try:
        data = req.json()
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("username"), str) \
            or not isinstance(data.get("password"), str):
        return SimResponse.json({"ok": False, "reason": "BAD_REQUEST",
                                 "message": "Send a JSON object with username, password and optionally source_ip."},
                                status=400)
    source_ip = data.get("source_ip") or _default_source_ip(world)
    ok, reason = world.mc_user_login(data["username"], data["password"], source_ip=source_ip)
    return SimResponse.json({
        "ok": bool(ok),
        "reason": reason,
        "message": DATA_CLOUD_MESSAGES.get(reason, "Missing_OAuth_Token"),
        "source_ip": source_ip,
        "simulated": True,
    })


def _default_source_ip(world: Any) -> str:
    dc = getattr(getattr(world, "scenario", None), "data_cloud", None)
    ips = list(getattr(dc, "egress_ips", None) or [])
    return str(ips[0]) if ips else str(getattr(world, "client_ip", "127.0.0.1"))

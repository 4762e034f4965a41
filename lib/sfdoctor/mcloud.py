"""Marketing Cloud Engagement, as the mc-missing-oauth-token runbook reads it.

Three things, all over the connection's routed, read-only-guarded, counting session
(clients.py), so the demo routing, the guard and the API count apply:

* `get_token` — `POST https://{subdomain}.auth.marketingcloudapis.com/v2/token` with the
  installed package's client id and secret (reference §5.1). A login to the guard (never
  retried); the access token joins `conn.secrets` at once, so no artifact can show it.
* `retrieve_account_users` — one SOAP `Retrieve` of `AccountUser` on the token's
  `soap_instance_url` + `Service.asmx`, the token in the `<fueloauth>` header (reference §9).
  The guard lets SOAP calls to Marketing Cloud through only when they are a Retrieve.
* `user_login` — the integration user's own login, as Data Cloud makes it. No public
  Marketing Cloud API logs in as a user with a password and says why it failed, so for a
  real account this returns None and the runbook asks the operator to try the web login
  (the seed's own test). The demo world offers a stand-in endpoint
  (`/__sfdoctor/mc/user-login`, demo/mcloud.py) that plays that login.

Credentials come the way the probe's do (credentials.py): for the demo, from the
simulator's info document and the demo operator; for a real org, from the orgs file's
`[orgs.NAME.marketing_cloud]` references (`client_secret_env`, `user_password_env`, or
their `_keyring` forms). They are never parameters, never printed, and every value read is
added to `conn.secrets` (which `scrub.known_secrets` folds in).
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, TYPE_CHECKING
from xml.sax.saxutils import escape

from .demo.info import MarketingCloudInfo
from .errors import OrgConfigError
from .i18n import Text

if TYPE_CHECKING:
    from .clients import Connection

AUTH_HOST = "{subdomain}.auth.marketingcloudapis.com"
USER_LOGIN_PATH = "/__sfdoctor/mc/user-login"

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_PARTNER = "http://exacttarget.com/wsdl/partnerAPI"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"

# What the runbook reads about the integration user (reference §9).
USER_PROPERTIES: tuple[str, ...] = (
    "AccountUserID", "UserID", "Name", "ActiveFlag", "IsAPIUser", "IsLocked",
    "MustChangePassword", "LastSuccessfulLogin",
)
_BOOL_FIELDS = frozenset({"ActiveFlag", "IsAPIUser", "IsLocked", "MustChangePassword"})

# Marketing Cloud writes dates in its system time, US Central Standard Time without
# daylight saving and without a zone (Marketing Cloud date docs).
SYSTEM_TZ = timezone(timedelta(hours=-6))


class McApiError(Exception):
    """Marketing Cloud refused or could not answer. `status`/`code` feed the error finding."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class PackageRefused(McApiError):
    """`/v2/token` refused the installed package: sfdoctor's own access, not Data Cloud's sign-in."""


@dataclass(frozen=True, repr=False)
class Package:
    """The installed package sfdoctor reads the account with. Its repr hides the secret."""

    subdomain: str
    client_id: str
    client_secret: str
    account_id: str | None = None

    def __repr__(self) -> str:
        return f"Package(subdomain={self.subdomain!r}, client_id={self.client_id!r}, client_secret=<hidden>)"


@dataclass(frozen=True, repr=False)
class Token:
    """An access token and the tenant's SOAP endpoint. Its repr hides the token."""

    access_token: str
    soap_url: str
    rest_url: str

    def __repr__(self) -> str:
        return f"Token(access_token=<hidden>, soap_url={self.soap_url!r})"


@dataclass(frozen=True)
class LoginResult:
    """What one login as the integration user answered (no secret in it)."""

    ok: bool
    reason: str            # OK, IP_NOT_ALLOWLISTED, INVALID_CREDENTIALS, LOCKED, INACTIVE, PASSWORD_EXPIRED, ...
    message: str           # what Data Cloud shows for it
    source_ip: str | None


# --------------------------------------------------------------------------- credentials

def _section(conn: "Connection") -> dict[str, Any]:
    org_ref = getattr(conn, "org_ref", None)
    return dict((getattr(org_ref, "config", None) or {}).get("marketing_cloud") or {})


def _is_demo(conn: "Connection") -> bool:
    org_ref = getattr(conn, "org_ref", None)
    return org_ref is None or bool(getattr(org_ref, "is_demo", False))


def _demo_account(conn: "Connection") -> MarketingCloudInfo | None:
    """The demo world's Marketing Cloud account, from the simulator's info document."""
    return getattr(getattr(conn, "info", None), "marketing_cloud", None)


def _remember(conn: "Connection", *values: str | None) -> None:
    secrets = getattr(conn, "secrets", None)
    if isinstance(secrets, set):
        secrets.update(v for v in values if isinstance(v, str) and v)


def package(conn: "Connection") -> Package:
    """The installed package's credentials: the simulator's info (demo) or the orgs file."""
    if _is_demo(conn):
        demo = _demo_account(conn)
        if demo is None:
            raise OrgConfigError(Text("orgs.secret.demo_no_mc"), hint=Text("orgs.secret.demo_no_mc_hint"))
        # The operator may play a stale orgs-file entry (mc_client_id / mc_client_secret), as
        # probe_password plays a mistaken password.
        operator = getattr(conn, "operator", None) or {}
        pkg = Package(demo.subdomain, str(operator.get("mc_client_id") or demo.client_id),
                      str(operator.get("mc_client_secret") or demo.client_secret), str(demo.account_id))
    else:
        from .credentials import read_ref

        cfg = _section(conn)
        where = f"orgs.{conn.org_ref.name}.marketing_cloud"
        if not cfg.get("subdomain"):
            raise OrgConfigError(Text("orgs.config.mc_no_subdomain", where=where), hint=Text("orgs.config.mc_no_subdomain_hint"))
        client_id = read_ref(cfg, "client_id", where=where)
        secret = read_ref(cfg, "client_secret", where=where)
        pkg = Package(str(cfg["subdomain"]), str(client_id), str(secret),
                      str(cfg["account_id"]) if cfg.get("account_id") else None)
    _remember(conn, pkg.client_secret)
    return pkg


def integration_password(conn: "Connection", username: str) -> str | None:
    """The password Data Cloud holds for `username`, as the operator would type it.

    Demo: the operator's `mc_password` answer (a scenario may play a mistaken operator),
    else the world's own password for that user (the truthful operator). Real org: the
    orgs file's `marketing_cloud.user_password_env` / `_keyring`. None: nothing to try.
    """
    if _is_demo(conn):
        operator = getattr(conn, "operator", None) or {}
        password = operator.get("mc_password")
        if password is None:
            demo = _demo_account(conn)
            for user in demo.users if demo is not None else ():
                if user.username.lower() == username.lower():
                    password = user.password
    else:
        from .credentials import read_ref

        cfg = _section(conn)
        password = read_ref(cfg, "user_password", where=f"orgs.{conn.org_ref.name}.marketing_cloud",
                            required=False)
    if not password:
        return None
    _remember(conn, str(password))
    return str(password)


def can_log_in_as_user(conn: "Connection") -> bool:
    """Whether this connection offers a user login (only the demo world's stand-in does)."""
    return _is_demo(conn) and bool(getattr(conn, "base_url", None))


# --------------------------------------------------------------------------- token

def get_token(conn: "Connection", pkg: Package) -> Token:
    """One `/v2/token` call (reference §5.1); McApiError with Marketing Cloud's own error."""
    body: dict[str, Any] = {"grant_type": "client_credentials", "client_id": pkg.client_id,
                            "client_secret": pkg.client_secret}
    if pkg.account_id:
        body["account_id"] = pkg.account_id
    url = "https://" + AUTH_HOST.format(subdomain=pkg.subdomain) + "/v2/token"
    resp = conn.session.post(url, json=body, headers={"Accept": "application/json"})
    try:
        data = resp.json()
    except ValueError:
        data = None
    if resp.status_code != 200 or not isinstance(data, dict) or not data.get("access_token"):
        code = str(data.get("error")) if isinstance(data, dict) and data.get("error") else None
        text = str(data.get("error_description") or "") if isinstance(data, dict) else ""
        # 400/401/403 with an OAuth error: the package's credentials or grant are refused (a
        # 5xx or a body without one is Marketing Cloud failing to answer: a plain McApiError).
        refused = resp.status_code in (400, 401, 403) and code is not None
        raise (PackageRefused if refused else McApiError)(f"Marketing Cloud refused the installed package's token request: HTTP {resp.status_code}"
                         + (f" {code}" if code else "") + (f": {' '.join(text.split())[:200]}" if text else ""),
                         status=resp.status_code, code=code)
    token = str(data["access_token"])
    _remember(conn, token)
    soap_url = str(data.get("soap_instance_url") or f"https://{pkg.subdomain}.soap.marketingcloudapis.com/")
    rest_url = str(data.get("rest_instance_url") or f"https://{pkg.subdomain}.rest.marketingcloudapis.com/")
    return Token(token, soap_url, rest_url)


# --------------------------------------------------------------------------- SOAP Retrieve

def retrieve_envelope(token: Token, object_type: str, properties: Iterable[str],
                      filter_property: str | None = None, values: Iterable[str] = ()) -> str:
    """A SOAP 1.1 `RetrieveRequestMsg` with the token in `<fueloauth>` (pure).

    One value filters with `equals`, several with `IN` (a SimpleFilterPart either way).
    """
    props = "".join(f"<Properties>{escape(p)}</Properties>" for p in properties)
    vals = [str(v) for v in values]
    filt = ""
    if filter_property and vals:
        op = "equals" if len(vals) == 1 else "IN"
        filt = (f'<Filter xsi:type="SimpleFilterPart"><Property>{escape(filter_property)}</Property>'
                f"<SimpleOperator>{op}</SimpleOperator>"
                + "".join(f"<Value>{escape(v)}</Value>" for v in vals) + "</Filter>")
    to = token.soap_url.rstrip("/") + "/Service.asmx"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{NS_SOAP}" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">'
        '<s:Header><a:Action s:mustUnderstand="1">Retrieve</a:Action>'
        f'<a:To s:mustUnderstand="1">{escape(to)}</a:To>'
        f'<fueloauth xmlns="http://exacttarget.com">{escape(token.access_token)}</fueloauth></s:Header>'
        f'<s:Body xmlns:xsi="{NS_XSI}" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f'<RetrieveRequestMsg xmlns="{NS_PARTNER}"><RetrieveRequest>'
        f"<ObjectType>{escape(object_type)}</ObjectType>{props}{filt}"
        "</RetrieveRequest></RetrieveRequestMsg></s:Body></s:Envelope>"
    )


def retrieve_account_users(conn: "Connection", token: Token, usernames: Iterable[str],
                           properties: Iterable[str] = USER_PROPERTIES) -> list[dict[str, Any]]:
    """AccountUser rows whose UserID is one of `usernames`: ONE SOAP call.

    Booleans become bool, LastSuccessfulLogin an aware datetime (from Marketing Cloud's
    system time), nil values None. McApiError for a SOAP fault or an `Error` status.
    """
    props = list(properties)
    envelope = retrieve_envelope(token, "AccountUser", props, "UserID", list(usernames))
    resp = conn.session.post(token.soap_url.rstrip("/") + "/Service.asmx", data=envelope.encode("utf-8"),
                             headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "Retrieve"})
    status, rows = parse_retrieve(resp.content, resp.status_code)
    if not status.startswith(("OK", "MoreDataAvailable")):
        raise McApiError(f"AccountUser Retrieve answered: {' '.join(status.split())[:240]}",
                         status=resp.status_code, code="RetrieveError")
    return [{k: _value(k, v) for k, v in row.items()} for row in rows]


def parse_retrieve(raw: bytes, http_status: int = 200) -> tuple[str, list[dict[str, str | None]]]:
    """(OverallStatus, rows as text) of a RetrieveResponseMsg; McApiError for a fault (pure)."""
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:
        raise McApiError(f"Marketing Cloud's SOAP endpoint answered HTTP {http_status} without XML",
                         status=http_status) from None
    fault = next((e for e in root.iter() if _local(e.tag) == "Fault"), None)
    if fault is not None:
        code = _child_text(fault, "faultcode") or "Fault"
        text = _child_text(fault, "faultstring") or ""
        raise McApiError(f"Marketing Cloud's SOAP endpoint refused the call: {code}: {' '.join(text.split())[:200]}",
                         status=http_status, code=code.split(":")[-1])
    msg = next((e for e in root.iter() if _local(e.tag) == "RetrieveResponseMsg"), None)
    if msg is None:
        raise McApiError(f"Marketing Cloud's SOAP answer holds no RetrieveResponseMsg (HTTP {http_status})",
                         status=http_status)
    status = _child_text(msg, "OverallStatus") or ""
    rows = []
    for result in msg:
        if _local(result.tag) != "Results":
            continue
        row: dict[str, str | None] = {}
        for field in result:
            nil = field.get(f"{{{NS_XSI}}}nil") == "true"
            row[_local(field.tag)] = None if nil else (field.text or "")
        rows.append(row)
    return status, rows


def parse_system_time(text: str | None) -> datetime | None:
    """A Marketing Cloud date (system time, no zone) as an aware UTC datetime (pure)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SYSTEM_TZ)
    return moment.astimezone(timezone.utc)


def _value(name: str, text: str | None) -> Any:
    if text is None:
        return None
    if name in _BOOL_FIELDS:
        return text.strip().lower() == "true"
    if name == "LastSuccessfulLogin":
        return parse_system_time(text)
    return text


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(parent: ET.Element, name: str) -> str | None:
    for child in parent:
        if _local(child.tag) == name:
            return child.text
    return None


# --------------------------------------------------------------------------- the user's own login

def user_login(conn: "Connection", username: str, password: str, source_ip: str | None = None) -> LoginResult | None:
    """Log in once as the integration user (demo stand-in); None where no API offers it.

    Sent through `probe_session` (never retried: a repeated failure would count twice
    towards the user's lockout). `source_ip` is the address the login comes from, e.g. a
    Data Cloud address (the stand-in's default) or this machine's.
    """
    if not can_log_in_as_user(conn):
        return None
    body: dict[str, Any] = {"username": username, "password": password}
    if source_ip:
        body["source_ip"] = source_ip
    resp = conn.probe_session.post(conn.base_url.rstrip("/") + USER_LOGIN_PATH, data=json.dumps(body),
                                   headers={"Content-Type": "application/json"})
    try:
        data = resp.json()
    except ValueError:
        data = None
    if not isinstance(data, dict) or "reason" not in data:
        raise McApiError(f"the user login answered HTTP {resp.status_code} without a result", status=resp.status_code)
    return LoginResult(ok=bool(data.get("ok")), reason=str(data.get("reason")), message=str(data.get("message") or ""),
                       source_ip=data.get("source_ip") or source_ip)

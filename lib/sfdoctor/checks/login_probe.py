"""At most two probe logins, as the failing integration logs in: SOAP partner `login()`.

1. the password alone, 2. the password with the security token appended. Salesforce only
answers LOGIN_MUST_USE_SECURITY_TOKEN when the password is right, so the pair tells a
missing token from a wrong token from a wrong password. Principle 7: never a third
attempt, no second attempt when the first already shows a token cannot help (a second
failed login only brings the user closer to lockout), nothing at all when `probe` is
false or there are no credentials. Secrets are never put in a finding, and the session
id of a successful probe is thrown away at once.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ..errors import CheckError
from .query import composite, soql

if TYPE_CHECKING:
    from ..clients import Connection

PASSWORD_ONLY = "password_only"
PASSWORD_AND_TOKEN = "password_and_token"

TOKEN_REQUIRED = "LOGIN_MUST_USE_SECURITY_TOKEN"
INVALID_LOGIN = "INVALID_LOGIN"
RESTRICTED_IP = "LOGIN_DURING_RESTRICTED_DOMAIN"
# How a refused SOAP login() shows: the simulator answers INVALID_OPERATION, as orgs with
# "SOAP API login() disabled" do; removed API versions answer UNSUPPORTED_API_VERSION.
SOAP_DISABLED = frozenset({"INVALID_OPERATION", "UNSUPPORTED_API_VERSION", "API_VERSION_REMOVED"})
API_DISABLED = frozenset({"API_CURRENTLY_DISABLED", "API_DISABLED_FOR_ORG"})


@dataclass
class Attempt:
    """One probe login, as the report states it (no secret, no session id)."""

    kind: str                   # PASSWORD_ONLY | PASSWORD_AND_TOKEN
    ok: bool
    fault: str | None = None    # Salesforce's exceptionCode
    message: str = ""           # Salesforce's exceptionMessage (never contains the secret)
    host: str = ""

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


@dataclass
class Verdict:
    """What the attempts mean: per attempt a status, a cause and a message key."""

    first: tuple[str, str | None, str]
    second: tuple[str, str | None, str]
    cause: str | None             # the cause the probes settle on (also for later checks)
    which: str | None = None      # for PASSWORD_INVALID: password | locked | frozen | inactive
    try_second: bool = False


def plan_second(first: Attempt, has_token: bool) -> bool:
    """Whether a second attempt can tell anything the first did not (pure)."""
    return first.fault == TOKEN_REQUIRED and has_token


def interpret(first: Attempt | None, second: Attempt | None, *, has_token: bool,
              state: str | None, row_status: str | None = None) -> Verdict:
    """The probes' meaning (pure: tested without a server).

    `state`: locked | frozen | inactive from User/UserLogin, or None; `row_status`: the
    LoginHistory Status our failed first attempt left, when it was read.
    """
    skip_second = ("skip", None, "probe_second_not_needed")
    if first is None:
        return Verdict(("skip", None, "probe_skipped"), ("skip", None, "probe_skipped"), None)
    if first.ok:
        return Verdict(("pass", None, "probe_trusted"), ("skip", None, "probe_second_not_needed"), None)
    fault = first.fault
    if fault == TOKEN_REQUIRED:
        if not has_token:
            return Verdict(("fail", "TOKEN_MISSING", "probe_token_required_no_token"),
                           ("skip", None, "probe_no_token"), "TOKEN_MISSING")
        if second is None:
            return Verdict(("fail", "TOKEN_MISSING", "probe_token_required"), skip_second, "TOKEN_MISSING")
        if second.ok:
            return Verdict(("fail", "TOKEN_MISSING", "probe_token_required"), ("pass", None, "probe_token_works"),
                           "TOKEN_MISSING")
        if second.fault == INVALID_LOGIN:
            return Verdict(("pass", None, "probe_password_right"), ("fail", "TOKEN_INVALID", "probe_token_wrong"),
                           "TOKEN_INVALID")
        cause, key = _other(second.fault)
        return Verdict(("pass", None, "probe_password_right"), ("fail", cause, key), cause)
    if fault == INVALID_LOGIN:
        which = state or which_from_row(row_status) or "password"
        return Verdict(("fail", "PASSWORD_INVALID", f"probe_invalid_{which}"), skip_second, "PASSWORD_INVALID", which)
    cause, key = _other(fault)
    return Verdict(("fail", cause, key), skip_second, cause)


def _other(fault: str | None) -> tuple[str | None, str]:
    if fault == RESTRICTED_IP:
        return "SOURCE_IP_UNTRUSTED", "probe_restricted_ip"
    if fault in SOAP_DISABLED:
        return "SOAP_LOGIN_DISABLED", "probe_soap_disabled"
    if fault in API_DISABLED:
        return "API_NOT_ENABLED", "probe_api_disabled"
    return None, "probe_other_fault"


def which_from_row(status: str | None) -> str | None:
    s = (status or "").casefold()
    if "lockout" in s:
        return "locked"
    if "frozen" in s:
        return "frozen"
    if "inactive" in s:
        return "inactive"
    if "invalid password" in s:
        return "password"
    return None


def _domain(host: str) -> str:
    host = host.lower().rstrip(".")
    return host[: -len(".salesforce.com")] if host.endswith(".salesforce.com") else host


def login_attempt(conn: "Connection", kind: str, username: str, password: str, token: str,
           on_session: Any = None) -> Attempt:
    """One SOAP login() attempt. `on_session(session_id, instance)`, when given, gets the session
    of a successful attempt to use at once (describe as that user); it is never kept here."""
    from simple_salesforce import SalesforceLogin
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed

    host = conn.login_host or "login.salesforce.com"
    try:
        session_id, _instance = SalesforceLogin(
            username=username, password=password, security_token=token,
            domain=_domain(host), session=conn.probe_session,
            sf_version=conn.api_version)
        if on_session is not None:
            on_session(session_id, _instance)
        del session_id  # a working session is proof enough; it is never kept or shown
        return Attempt(kind, True, host=host)
    except SalesforceAuthenticationFailed as exc:
        if isinstance(exc.code, int) and exc.code >= 500:
            # Not an answer about the credentials (503, a proxy's error page): the check errors.
            raise CheckError(f"the {kind} probe login answered HTTP {exc.code}") from None
        code = exc.code if isinstance(exc.code, str) else f"HTTP {exc.code}"
        message = " ".join(str(getattr(exc, "auth_message", None) or "").split())[:300]
        for secret in (password, token, password + token):
            if secret:
                message = message.replace(secret, "[redacted]")
        return Attempt(kind, False, fault=code, message=message, host=host)


def probe_row_statuses(conn: "Connection", user: dict[str, Any] | None, n: int) -> list[dict[str, Any]]:
    """The LoginHistory rows our own attempts just added (the user's latest n rows; one query)."""
    if not user:
        return []
    q = soql("SELECT LoginTime, Status, SourceIp, LoginType, ApiType FROM LoginHistory "
             "WHERE UserId = {} ORDER BY LoginTime DESC LIMIT {:literal}", user["Id"], str(int(n)))
    result = composite(conn, {"rows": q})["rows"]
    return [{k: v for k, v in r.items() if k != "attributes"} for r in result.records]

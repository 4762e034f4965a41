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
from typing import Any

from ..errors import CheckError
from ._base import Facts, composite, finding, msg, soql
from .org_info import load as load_org, user_state

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
        which = state or _which_from_row(row_status) or "password"
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


def _which_from_row(status: str | None) -> str | None:
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


def _login(conn: Any, kind: str, username: str, password: str, token: str,
           on_session: Any = None) -> Attempt:
    """One SOAP login() attempt. `on_session(session_id, instance)`, when given, gets the session
    of a successful attempt to use at once (describe as that user); it is never kept here."""
    from simple_salesforce import SalesforceLogin
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed

    host = getattr(conn, "login_host", None) or "login.salesforce.com"
    try:
        session_id, _instance = SalesforceLogin(
            username=username, password=password, security_token=token,
            domain=_domain(host), session=conn.probe_session,
            sf_version=getattr(conn, "api_version", None) or "59.0")
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


def _probe_row_statuses(conn: Any, facts: Facts, n: int) -> list[dict[str, Any]]:
    """The LoginHistory rows our own attempts just added (the user's latest n rows)."""
    if not facts.user:
        return []
    q = soql("SELECT LoginTime, Status, SourceIp, LoginType, ApiType FROM LoginHistory "
             "WHERE UserId = {} ORDER BY LoginTime DESC LIMIT {:literal}", facts.user["Id"], str(int(n)))
    result = composite(conn, {"rows": q})["rows"]
    return [{k: v for k, v in r.items() if k != "attributes"} for r in result.records]


def probe_logins(conn: Any, facts: Facts, lang: str = "en") -> list:
    """Probe 1 (password alone) and, only when it can tell more, probe 2 (password + token)."""
    ids = ("probe-login-password-only", "probe-login-with-token")
    reason = None
    creds = None
    if not facts.probe:
        reason = msg(lang, "probe_skip_off")
    elif not facts.username:
        reason = msg(lang, "probe_skip_no_username")
    else:
        load_org(conn, facts)
        if facts.user is None and facts.user_read:
            reason = msg(lang, "probe_skip_no_user", username=facts.username)
        elif user_state(facts):
            # Locked, frozen or inactive: no password logs in, and a failed try only adds to the count.
            reason = msg(lang, f"probe_skip_user_{user_state(facts)}", username=facts.username)
        else:
            from sfdoctor.credentials import probe_credentials

            try:
                creds = probe_credentials(conn, facts.username)
            except Exception as exc:  # noqa: BLE001 - a missing credential means: do not probe
                reason = msg(lang, "probe_skip_no_credentials",
                             detail=getattr(exc, "message", None) or type(exc).__name__)
            if creds is not None and not creds.password:
                reason, creds = msg(lang, "probe_skip_no_password", username=facts.username), None
    if reason:
        v = interpret(None, None, has_token=False, state=None)
        return [finding(i, "skip", lang, evidence={"reason": reason, "login_attempts": 0},
                        summary=msg(lang, "probe_skipped", reason=reason)) for i in ids]

    first = _login(conn, PASSWORD_ONLY, facts.username, creds.password, "")
    attempts = [first]
    second = None
    if plan_second(first, bool(creds.token)):
        second = _login(conn, PASSWORD_AND_TOKEN, facts.username, creds.password, creds.token)
        attempts.append(second)
    facts.probes = attempts
    row_status = None
    if first.fault == INVALID_LOGIN and user_state(facts) is None:
        # Tell a wrong password from lock-out by the row Salesforce just wrote (one query).
        facts.probe_rows = _probe_row_statuses(conn, facts, len(attempts))
        row_status = facts.probe_rows[-1].get("Status") if facts.probe_rows else None
    v = interpret(first, second, has_token=bool(creds.token), state=user_state(facts), row_status=row_status)
    facts.probe_verdict = v.cause
    edition = facts.edition
    shared = {"username": facts.username, "login_host": first.host, "login_attempts": len(attempts),
              "attempts": [a.to_json() for a in attempts]}
    if v.which:
        shared["which"] = v.which
    if row_status:
        shared["login_history_status"] = row_status
    out = []
    for check_id, (status, cause, key), attempt in ((ids[0], v.first, first), (ids[1], v.second, second)):
        evidence = dict(shared)
        if attempt is not None:
            evidence["fault"] = attempt.fault or "none"
        else:
            evidence["reason"] = msg(lang, key, fault=first.fault or "", username=facts.username)
        out.append(finding(check_id, status, lang, cause=cause, edition=edition, evidence=evidence,
                           summary=msg(lang, key, fault=(attempt or first).fault or "", username=facts.username)))
    return out

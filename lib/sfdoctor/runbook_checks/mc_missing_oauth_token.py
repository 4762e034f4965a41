"""Checks of mc-missing-oauth-token: Data Cloud cannot connect to Marketing Cloud.

Seed 003, in its order: (1) Marketing Cloud's Login IP Allowlist refuses Data Cloud's
addresses; (2) the integration user's password has expired (or its credentials are wrong,
or it is locked or inactive); then prevention: make it an API user and exclude API users
from password expiry. The fix order is the seed's: allowlist, then the password reset by
logging in as the user, then a re-check of Data Cloud's Marketing Cloud set-up (its wizard
may have to run again), then prevention. The checks run in that order, so the answer (the
summary, the report, the done line), which gives each fail's fix in check order and then each
warning's, gives the steps in it; each fix ends with Data Cloud's re-check.

In notebook order (API calls in brackets; sfdoctor's own Salesforce sign-in is 1 more):
    allowlist        operator's allowlist and Data Cloud addresses, computed   [0]
    user             installed package /v2/token + SOAP Retrieve AccountUser   [2]
    login            the user's own login: <= 2 attempts (demo stand-in;        [0 counted]
                     a real account's web login is the operator's answer)
    api_user, password_policy                                                  [0]

What no API exposes (the allowlist, Data Cloud's addresses, the password policy, a real
account's web login) comes from the parameters; in demo mode from the demo operator
(`conn.operator`) when a parameter is left at its default.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checks import mc_allowlist as al
from ..checks import mc_user as mu
from ..clients import Connection
from ..demo.info import DemoInfo
from ..errors import CheckError, problem_text
from ..findings import CHECK_METADATA, Finding
from ..params import field_ref
from ..registry import Runbook

MAX_LISTED = 20


# --------------------------------------------------------------------------- facts

@dataclass
class Facts:
    """The run's parameters and what has been read so far (each thing read once per run)."""

    mc_username: str = ""
    ip_allowlist_enabled: str = "unknown"       # on | off | unknown
    ip_allowlist: list[str] = field(default_factory=list)
    ip_allowlist_file: str = ""
    data_cloud_ips: list[str] = field(default_factory=list)
    password_expires_in: str = ""               # days, "never", or "" (not answered)
    exclude_api_users: str = "unknown"          # yes | no | unknown
    probe: bool = True
    web_login_result: str = "not_tried"
    answered_by: dict[str, str] = field(default_factory=dict)   # parameter -> "operator" (demo)
    # filled by the checks
    allowlist: list[al.Span] | None = None
    data_cloud: list[al.Span] | None = None
    rows: list[al.Row] = field(default_factory=list)
    input_error: Any = None               # the AllowlistError of a bad entry (said in the run's language)
    user: dict[str, Any] | None = None
    user_read: bool = False
    read_errors: dict[str, str] = field(default_factory=dict)
    attempts: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_params(cls, conn: Connection | None = None, **params: Any) -> "Facts":
        """From the notebook's parameters; the demo operator answers what was left at its default."""
        operator = dict(conn.operator) if conn is not None else {}
        answers = _operator_answers(operator)
        defaults = {p.name: p.papermill_default() for p in RUNBOOK.spec().parameters}
        answered: dict[str, str] = {}
        values: dict[str, Any] = {}
        for name, default in defaults.items():
            given = params.get(name, default)
            if (given in (default, None)) and name in answers:
                values[name] = answers[name]
                answered[name] = "operator"
            else:
                values[name] = default if given is None else given
        return cls(
            mc_username=str(values.get("mc_username") or "").strip(),
            ip_allowlist_enabled=_on_off(values.get("ip_allowlist_enabled")),
            ip_allowlist=[str(v) for v in values.get("ip_allowlist") or []],
            ip_allowlist_file=str(values.get("ip_allowlist_file") or "").strip(),
            data_cloud_ips=[str(v) for v in values.get("data_cloud_ips") or []],
            password_expires_in=str(values.get("password_expires_in") if values.get("password_expires_in")
                                    is not None else ""),
            exclude_api_users=_yes_no(values.get("exclude_api_users")),
            probe=bool(values.get("probe", True)),
            web_login_result=str(values.get("web_login_result") or "not_tried"),
            answered_by=answered,
        )


RUNBOOK = Runbook("mc-missing-oauth-token", Facts)


@RUNBOOK.demo_operator
def demo_operator(info: DemoInfo) -> dict[str, Any]:
    """What the demo operator reads off Setup pages no API shows: Marketing Cloud's Login IP
    Allowlist and password policy, Data Cloud's addresses and its Marketing Cloud user
    (`Facts.from_params` turns them into this runbook's parameters)."""
    out: dict[str, Any] = {}
    mc = info.marketing_cloud
    if mc is not None:
        out["mc_ip_allowlist"] = {"enabled": mc.ip_allowlist.enabled,
                                  "ranges": [{"start": r.start, "end": r.end, "description": r.description}
                                             for r in mc.ip_allowlist.ranges]}
        out["mc_password_policy"] = {"expire_days": mc.password_policy.expire_days,
                                     "exclude_api_users": mc.password_policy.exclude_api_users}
    dc = info.data_cloud
    if dc is not None:
        out["data_cloud_egress_ips"] = list(dc.egress_ips)
        out["data_cloud_mc_username"] = dc.marketing_cloud_username
    return out


def _on_off(value: Any) -> str:
    b = value if isinstance(value, bool) else mu.parse_choice(value)
    return "on" if b is True else "off" if b is False else "unknown"


def _yes_no(value: Any) -> str:
    b = value if isinstance(value, bool) else mu.parse_choice(value)
    return "yes" if b is True else "no" if b is False else "unknown"


def _operator_answers(operator: dict[str, Any]) -> dict[str, Any]:
    """The demo operator's answers as this runbook's parameters.

    The simulator answers in the world's shape (`mc_ip_allowlist`, `mc_password_policy`,
    `data_cloud_egress_ips`, `data_cloud_mc_username`); a scenario's `operator:` may also
    give a parameter by its own name (a mistaken or partial operator), which wins.
    """
    out: dict[str, Any] = {}
    allow = operator.get("mc_ip_allowlist")
    if isinstance(allow, dict):
        if "enabled" in allow:
            out["ip_allowlist_enabled"] = "on" if allow["enabled"] else "off"
        out["ip_allowlist"] = al.spans_from_world(allow.get("ranges") or [])
    policy = operator.get("mc_password_policy")
    if isinstance(policy, dict):
        days = policy.get("expire_days")
        out["password_expires_in"] = str(days) if days else mu.NEVER
        if "exclude_api_users" in policy:
            out["exclude_api_users"] = "yes" if policy["exclude_api_users"] else "no"
    if operator.get("data_cloud_egress_ips") is not None:
        out["data_cloud_ips"] = [str(ip) for ip in operator["data_cloud_egress_ips"]]
    if operator.get("data_cloud_mc_username"):
        out["mc_username"] = str(operator["data_cloud_mc_username"])
    for name in ("mc_username", "ip_allowlist_enabled", "ip_allowlist", "ip_allowlist_file", "data_cloud_ips",
                 "password_expires_in", "exclude_api_users", "web_login_result"):
        if name in operator and operator[name] is not None:
            value = operator[name]
            if name == "ip_allowlist_enabled" and isinstance(value, bool):
                value = "on" if value else "off"
            if name == "exclude_api_users" and isinstance(value, bool):
                value = "yes" if value else "no"
            out[name] = value
    return out


# --------------------------------------------------------------------------- 1. the allowlist

def load_lists(facts: Facts) -> None:
    """Parse the allowlist (pasted and/or file) and Data Cloud's addresses once; a bad entry is kept as input_error."""
    if facts.allowlist is not None or facts.input_error is not None:
        return
    try:
        spans = al.parse_entries(facts.ip_allowlist, name="ip_allowlist")
        if facts.ip_allowlist_file:
            path = Path(facts.ip_allowlist_file).expanduser()
            try:
                text = path.read_text(encoding="utf-8-sig")
            except OSError as exc:
                raise al.refusal("unreadable", "ip_allowlist_file", str(path),
                                 reason=exc.strerror or type(exc).__name__) from None
            spans += al.parse_file_text(text, name=f"{path.name}")
        dc = al.parse_entries(facts.data_cloud_ips, name="data_cloud_ips")
    except al.AllowlistError as exc:
        facts.input_error = exc
        return
    facts.allowlist, facts.data_cloud = spans, dc
    facts.rows = al.coverage(dc, spans)


@RUNBOOK.check("mc-allowlist")
def allowlist(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """MC_IP_NOT_ALLOWLISTED: Data Cloud addresses that no allowlist range covers (no API call)."""
    load_lists(facts)
    if facts.input_error is not None:
        said = problem_text(facts.input_error, lang)
        return [RUNBOOK.finding("error", lang, evidence={"input_error": said},
                        summary=RUNBOOK.msg(lang, "input_error", error=said))]
    spans, dc = facts.allowlist or [], facts.data_cloud or []
    evidence: dict[str, Any] = {
        "enabled": facts.ip_allowlist_enabled,
        "allowlist": [s.label() for s in spans][:MAX_LISTED],
        "data_cloud_ips": [s.label() for s in dc][:MAX_LISTED],
    }
    if facts.answered_by.get("ip_allowlist_enabled") or facts.answered_by.get("ip_allowlist"):
        evidence["answered_by"] = "operator"
    if facts.ip_allowlist_enabled == "off":
        return [RUNBOOK.finding("pass", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "allowlist_off"))]
    if not dc:
        return [RUNBOOK.finding("manual", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "allowlist_no_dc_ips"))]
    if facts.ip_allowlist_enabled == "unknown" and not spans:
        return [RUNBOOK.finding("manual", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "allowlist_unknown"))]
    rows = facts.rows
    evidence["coverage"] = [r.to_json() for r in rows][:MAX_LISTED]
    missing = [r for r in rows if r.uncovered]
    if not missing:
        return [RUNBOOK.finding("pass", lang, evidence=evidence,
                        summary=RUNBOOK.msg(lang, "allowlist_covered", n=len(rows)))]
    add = al.ranges_to_add(rows)
    evidence["ranges_to_add"] = add[:MAX_LISTED]
    values = dict(ips=", ".join(r.address.label() for r in missing[:MAX_LISTED]),
                  ranges="; ".join(_range_text(a) for a in add[:MAX_LISTED]), n=len(missing), total=len(rows))
    if facts.ip_allowlist_enabled == "on":
        return [RUNBOOK.finding("fail", lang, cause="MC_IP_NOT_ALLOWLISTED", evidence=evidence,
                        values={"ranges": values["ranges"]}, summary=RUNBOOK.msg(lang, "allowlist_missing", **values))]
    # The ranges are known but not whether the allowlist is on: the operator must look.
    return [RUNBOOK.finding("manual", lang, cause="MC_IP_NOT_ALLOWLISTED", evidence=evidence,
                    values={"ranges": values["ranges"]}, summary=RUNBOOK.msg(lang, "allowlist_missing_if_on", **values))]


def _ranges_missing(facts: Facts, lang: str) -> str:
    """The ranges the allowlist lacks, as the fixes name them (the Data Cloud addresses of the
    region when no address list was given)."""
    add = al.ranges_to_add(facts.rows) if facts.rows else []
    return "; ".join(_range_text(a) for a in add[:MAX_LISTED]) or RUNBOOK.msg(lang, "data_cloud_addresses")


def _range_text(r: dict[str, Any]) -> str:
    span = r["start"] if r["start"] == r["end"] else f"{r['start']} – {r['end']}"
    return f"{span} ({', '.join(r['cidrs'])})" if r["start"] != r["end"] else span


def show_allowlist(facts: Facts, lang: str = "en") -> None:
    """For the notebook: each Data Cloud address, covered or not, by which range, what to add;
    only where the mc-allowlist card's evidence does not already show them all (it lists the first
    MAX_LISTED), so that the report shows each address once."""
    if len(facts.rows or []) <= MAX_LISTED:
        return
    from IPython.display import HTML, display

    t = RUNBOOK.spec().texts(lang)
    labels = {k: t.msg(k) for k in ("col_address", "col_status", "col_by", "col_add",
                                    "status_covered", "status_partly", "status_not_covered")}
    display(HTML(al.table_html(facts.rows, labels)), metadata={CHECK_METADATA: "mc-allowlist"})


# --------------------------------------------------------------------------- 2. the user (AccountUser)

def load_user(conn: Connection, facts: Facts) -> dict[str, Any] | None:
    """The integration user's AccountUser row: /v2/token + one Retrieve (two API calls, once per run)."""
    if facts.user_read:
        return facts.user
    if "user" in facts.read_errors:
        raise CheckError(facts.read_errors["user"])
    from sfdoctor import mcloud

    try:
        token = mcloud.get_token(conn, mcloud.package(conn))
        rows = mcloud.retrieve_account_users(conn, token, [facts.mc_username])
    except Exception as exc:
        facts.read_errors["user"] = " ".join(str(exc).split())[:300]
        raise
    wanted = facts.mc_username.casefold()
    facts.user = next((r for r in rows if str(r.get("UserID") or "").casefold() == wanted), None)
    facts.user_read = True
    return facts.user


def _policy(facts: Facts) -> tuple[int | str, bool | None]:
    return mu.parse_expires_in(facts.password_expires_in), mu.parse_choice(facts.exclude_api_users)


def _exempt(facts: Facts, row: dict[str, Any] | None) -> bool | None:
    """Whether the policy spares this user's password from expiry (None: not known)."""
    try:
        expires_in, exclude = _policy(facts)
    except ValueError:
        expires_in, exclude = mu.UNKNOWN, None   # the policy check says what is wrong with the answer
    return mu.exempt_from_expiry(row.get("IsAPIUser") if row else None, expires_in, exclude)


def _user_evidence(user: dict[str, Any] | None) -> dict[str, Any]:
    if user is None:
        return {}
    from sfdoctor.findings import iso

    out = {k: user.get(k) for k in ("UserID", "ActiveFlag", "IsAPIUser", "IsLocked", "MustChangePassword")}
    last = user.get("LastSuccessfulLogin")
    out["LastSuccessfulLogin"] = iso(last) if last is not None else None
    return out


@RUNBOOK.check("mc-user")
def user(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """The integration user as Marketing Cloud holds it: active, unlocked, no password change pending."""
    if not facts.mc_username:
        return [RUNBOOK.finding("manual", lang, summary=RUNBOOK.msg(lang, "no_username"))]
    from sfdoctor import mcloud

    try:
        row = load_user(conn, facts)
    except mcloud.PackageRefused as exc:
        # sfdoctor's own access, not Data Cloud's: an error (inconclusive), never a cause.
        return [RUNBOOK.finding("error", lang,
                        evidence={"username": facts.mc_username, "which": "installed_package",
                                  "http_status": exc.status, "code": exc.code},
                        summary=RUNBOOK.msg(lang, "package_refused", status=exc.status or "?", code=exc.code or "-"))]
    verdict = mu.user_verdict(row, exempt=_exempt(facts, row))
    evidence = {"username": facts.mc_username, **_user_evidence(row)}
    if verdict.which:
        evidence["which"] = verdict.which
    key = {"unknown_user": "user_unknown", "inactive": "user_inactive", "locked": "user_locked",
           "must_change_password": "user_forced_change"}.get(verdict.which or "", "user_ok")
    if verdict.cause == "MC_PASSWORD_EXPIRED":
        key = "user_must_change"
    return [RUNBOOK.finding(verdict.status, lang, cause=verdict.cause, evidence=evidence,
                    summary=RUNBOOK.msg(lang, key, username=facts.mc_username))]


# --------------------------------------------------------------------------- 3. the user's own login

def probe_identity(conn: Connection, params: dict[str, Any]) -> tuple[str, str] | None:
    """Whose credentials this runbook's login probes test (runbooks/*.yml `probe_identity`): the
    integration user entered in Data Cloud, with the password Data Cloud holds, read as a run
    reads them. The scheduler fingerprints them (salted, never stored) so that a login that
    failed is not tried again with the same password (principle 7)."""
    from sfdoctor import mcloud

    operator = conn.operator
    username = str(params.get("mc_username") or operator.get("data_cloud_mc_username") or "").strip()
    if not username:
        return None
    password = mcloud.integration_password(conn, username)
    return (username, password) if password else None


def _try(conn: Connection, facts: Facts, password: str, source_ip: str | None, where: str) -> Any:
    from sfdoctor import mcloud

    result = mcloud.user_login(conn, facts.mc_username, password, source_ip)
    facts.attempts.append({"from": where, "source_ip": result.source_ip if result else source_ip,
                           "reason": result.reason if result else None, "ok": bool(result and result.ok)})
    return result


def _login_finding(lang: str, facts: Facts, result: Any, where: str, attempts: int,
                   check_id: str | None = None) -> Finding:
    user = facts.user if facts.user_read else {}
    verdict = mu.login_verdict(result.reason, user, exempt=_exempt(facts, user))
    evidence = {"username": facts.mc_username, "source_ip": result.source_ip, "from": where,
                "answer": result.reason, "data_cloud_message": result.message or None,
                "login_attempts": attempts,
                # this finding's own attempt, in the shape the scheduler's probe memory reads
                "attempts": facts.attempts[-1:]}
    if verdict.which:
        evidence["which"] = verdict.which
    key = {"OK": "login_ok", "IP_NOT_ALLOWLISTED": "login_ip_refused", "PASSWORD_EXPIRED": "login_expired",
           "LOCKED": "login_locked", "INACTIVE": "login_inactive"}.get(result.reason, "login_invalid")
    if verdict.which == "must_change_password":
        key = "login_forced_change"
    summary = RUNBOOK.msg(lang, key, username=facts.mc_username, ip=result.source_ip or "?",
                  message=result.message or "-")
    if result.reason == "IP_NOT_ALLOWLISTED" and facts.ip_allowlist_enabled == "off":
        summary += " " + RUNBOOK.msg(lang, "login_ip_contradicts_operator")
    return RUNBOOK.finding(verdict.status, lang, check_id=check_id, cause=verdict.cause, evidence=evidence,
                           summary=summary, values={"ranges": _ranges_missing(facts, lang)})


@RUNBOOK.check("mc-login")
def login(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """The login Data Cloud makes, at most twice: from a Data Cloud address, then (only when
    the first was refused for its address and this machine's address is allowlisted) from here,
    to see whether the credentials themselves also fail."""
    from sfdoctor import mcloud

    if not facts.mc_username:
        return [RUNBOOK.finding("skip", lang, evidence={"login_attempts": 0},
                        summary=RUNBOOK.msg(lang, "login_skipped", reason=RUNBOOK.msg(lang, "skip_no_username")))]
    try:
        load_user(conn, facts)
    except Exception:  # noqa: BLE001 - the user check already shows why; the login still tells
        pass
    if facts.user_read:
        reason = None
        if facts.user is None:
            reason = RUNBOOK.msg(lang, "skip_user_unknown", username=facts.mc_username)
        elif facts.user.get("IsLocked") is True or facts.user.get("ActiveFlag") is False:
            reason = RUNBOOK.msg(lang, "skip_user_blocked", username=facts.mc_username)
        if reason:
            return [RUNBOOK.finding("skip", lang, evidence={"login_attempts": 0},
                            summary=RUNBOOK.msg(lang, "login_skipped", reason=reason))]
    if not mcloud.can_log_in_as_user(conn):
        return [_web_login(facts, lang)]
    if not facts.probe:
        return [RUNBOOK.finding("skip", lang, evidence={"login_attempts": 0},
                        summary=RUNBOOK.msg(lang, "login_skipped", reason=RUNBOOK.msg(lang, "skip_probe_off")))]
    password = mcloud.integration_password(conn, facts.mc_username)
    if not password:
        # The password is the operator's to give: without it the likeliest cause (the credentials
        # Data Cloud holds) stays untested, which a nightly report must list as not checked.
        return [RUNBOOK.finding("manual", lang, evidence={"login_attempts": 0},
                        summary=RUNBOOK.msg(lang, "login_needs_password", username=facts.mc_username))]
    load_lists(facts)
    dc_ip = data_cloud_source(facts)
    first = _try(conn, facts, password, dc_ip, "data_cloud")
    out = [_login_finding(lang, facts, first, "data_cloud", 1)]
    own_ip = conn.info.client_ip if conn.info is not None else ""
    if first.reason == "IP_NOT_ALLOWLISTED" and own_ip and _allowlisted(own_ip, facts):
        second = _try(conn, facts, password, own_ip, "sfdoctor")
        out.append(_login_finding(lang, facts, second, "sfdoctor", 2, check_id="mc-login-here"))
    elif first.reason == "IP_NOT_ALLOWLISTED":
        out.append(RUNBOOK.finding("skip", lang, check_id="mc-login-here", evidence={"login_attempts": 1, "source_ip": own_ip or None},
                           summary=RUNBOOK.msg(lang, "login_here_skipped", ip=own_ip or "?")))
    return out


def data_cloud_source(facts: Facts) -> str | None:
    """The Data Cloud address the login comes from: the first one no allowlist range covers
    (Data Cloud may call from any of its addresses, and a partly covered block must be tried
    where it is refused), else the first Data Cloud address; None lets the stand-in choose."""
    for row in facts.rows:
        if row.uncovered:
            return str(row.uncovered[0][0])
    return str(facts.data_cloud[0].start) if facts.data_cloud else None


def _allowlisted(ip: str, facts: Facts) -> bool:
    try:
        span = al.parse_entry(ip)
    except al.AllowlistError:
        return False
    return span is not None and not al.coverage([span], facts.allowlist or [])[0].uncovered


def _web_login(facts: Facts, lang: str) -> Any:
    """A real account: the operator tried the web login as the user (the seed's own test)."""
    verdict = mu.WEB_LOGIN_VERDICTS.get(facts.web_login_result, mu.Verdict("manual"))
    if verdict.which == "wrong_password" and facts.user_read and facts.user is None:
        verdict = mu.Verdict("fail", "MC_CREDENTIALS_INVALID", "wrong_password_or_username")
    if facts.user_read:
        verdict = mu.not_expired_if_exempt(verdict, facts.user, _exempt(facts, facts.user))
    evidence = {"username": facts.mc_username, "web_login_result": facts.web_login_result, "login_attempts": 0,
                "answered_by": "operator"}
    if verdict.which:
        evidence["which"] = verdict.which
    key = {"manual": "web_login_ask", "pass": "web_login_ok"}.get(verdict.status, "web_login_" + facts.web_login_result)
    if verdict.which == "must_change_password":
        key = "web_login_forced_change"
    return RUNBOOK.finding(verdict.status, lang, cause=verdict.cause, evidence=evidence,
                   summary=RUNBOOK.msg(lang, key, username=facts.mc_username,
                                       field=field_ref(RUNBOOK.spec(), "web_login_result", lang)))


# --------------------------------------------------------------------------- 4. prevention

@RUNBOOK.check("mc-api-user")
def api_user(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """MC_USER_NOT_API_USER: the integration user should be an API user (AccountUser.IsAPIUser)."""
    if not facts.mc_username or "user" in facts.read_errors or not facts.user_read:
        reason = facts.read_errors.get("user") or RUNBOOK.msg(lang, "skip_no_username")
        return [RUNBOOK.finding("skip", lang, evidence={"reason": reason},
                        summary=RUNBOOK.msg(lang, "api_user_unknown"))]
    verdict = mu.api_user_verdict(facts.user)
    evidence = {"username": facts.mc_username, "IsAPIUser": (facts.user or {}).get("IsAPIUser")}
    key = {"pass": "api_user_ok", "warn": "api_user_not"}.get(verdict.status, "api_user_unknown")
    return [RUNBOOK.finding(verdict.status, lang, cause=verdict.cause, evidence=evidence,
                    summary=RUNBOOK.msg(lang, key, username=facts.mc_username))]


@RUNBOOK.check("mc-password-policy")
def password_policy(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """MC_API_USERS_NOT_EXEMPT_FROM_EXPIRY from the operator's reading of Security Settings."""
    try:
        expires_in, exclude = _policy(facts)
    except ValueError as exc:
        said = problem_text(exc, lang)
        return [RUNBOOK.finding("error", lang, evidence={"input_error": said},
                        summary=RUNBOOK.msg(lang, "input_error", error=said))]
    verdict = mu.policy_verdict(expires_in, exclude)
    is_api = (facts.user or {}).get("IsAPIUser") if facts.user_read else None
    evidence = {"user_passwords_expire_in": expires_in, "exclude_api_users_from_expiry": facts.exclude_api_users,
                "integration_user_is_api_user": is_api,
                "integration_password_can_expire": _can_expire(is_api, expires_in, exclude)}
    if facts.answered_by.get("password_expires_in") or facts.answered_by.get("exclude_api_users"):
        evidence["answered_by"] = "operator"
    days = expires_in if isinstance(expires_in, int) else "?"
    key = {"never_expire": "policy_never", "api_users_excluded": "policy_excluded"}.get(verdict.which or "", "")
    if verdict.status == "warn":
        key = "policy_not_excluded"
    elif verdict.status == "manual":
        key = "policy_unknown"
    summary = RUNBOOK.msg(lang, key, days=days)
    if verdict.which == "api_users_excluded" and is_api is False:
        summary += " " + RUNBOOK.msg(lang, "policy_excluded_but_not_api", username=facts.mc_username)
    return [RUNBOOK.finding(verdict.status, lang, cause=verdict.cause, evidence=evidence,
                    summary=summary)]


def _can_expire(is_api: bool | None, expires_in: int | str, exclude: bool | None) -> bool | None:
    exempt = mu.exempt_from_expiry(is_api, expires_in, exclude)
    return None if exempt is None else not exempt


# --------------------------------------------------------------------------- order

STEPS = RUNBOOK.steps


def run_all(run: Any, facts: Facts) -> None:
    """Every step of mc-missing-oauth-token through `run.check`, in order."""
    RUNBOOK.run_all(run, facts)

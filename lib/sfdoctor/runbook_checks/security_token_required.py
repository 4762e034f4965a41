"""security-token-required: a password login fails with "API security token required".

Seed 002. The checks, in notebook order (`RUNBOOK.steps`), and what each reads (principle 8:
each thing once per run, <= 6 API calls with sfdoctor's own sign-in):
    org_facts, user_status        one composite (org, user, UserLogin, API Enabled grants,
                                  the profile's login IP ranges: checks.org_info.queries)
    probe_logins                  <= 2 SOAP login() attempts (+1 query if a lock-out must be
                                  told from a wrong password: checks.login_probe)
    login_history, org_history    one composite of aggregates (checks.login_history.queries)
    source_ips                    one Metadata API readMetadata (SecuritySettings)
    reset_link_*                  why "Reset My Security Token" may be missing (reuses the above)
    soap_login_retiring           SOAP login() is being retired (reuses the above)
`Facts` carries the parameters and everything read so far from check to check. `show`
draws the login history's table and failures-over-time chart for the notebook.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ..checks import ip_ranges as ipr
from ..checks import login_history as lh
from ..checks import login_probe, org_info, permissions, soap_login, token_reset
from ..checks.query import composite, composite_once, plain_record, soql, soql_datetime
from ..clients import Connection
from ..dates import day_text, hour_text, instant_text
from ..errors import CheckError, problem_text
from ..findings import CHECK_METADATA, Finding
from ..i18n import t
from ..registry import Runbook


@dataclass
class Facts:
    """The run's parameters and what has been read so far; passed from check to check."""

    username: str = ""
    # False: no one was named (neither the run nor the demo scenario): the runbook finds the user
    # itself, the one whose logins failed most for a missing token in the window (`failing_users`).
    username_given: bool = True
    failing_users: dict[str, int] | None = None  # username -> token failures in the window (None: not looked)
    days: int = 7
    probe: bool = True
    source_ip: str = ""
    reset_link_missing: bool = False
    # filled by the checks
    org: dict[str, Any] | None = None            # Organization row
    user: dict[str, Any] | None = None           # User row (with Profile fields), None: not found
    user_read: bool = False                      # the user lookup ran (user may still be None)
    user_login: dict[str, Any] | None = None     # UserLogin row
    api_enabled_via: dict[str, Any] = field(default_factory=dict)  # ApiGrants.via: the profile / permission sets granting API Enabled
    profile_ranges: list[dict[str, Any]] | None = None        # the user's profile's LoginIpRange rows
    read_errors: dict[str, str] = field(default_factory=dict)  # what could not be read, and why
    probes: list[login_probe.Attempt] = field(default_factory=list)  # in order
    probe_verdict: str | None = None             # cause code the probes settled on, if any
    probe_rows: list[dict[str, Any]] = field(default_factory=list)  # LoginHistory rows our probes added
    history: lh.History | None = None
    security: dict[str, Any] | None = None       # readMetadata SecuritySettings record
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @classmethod
    def from_params(cls, conn: Connection | None = None, **params: Any) -> "Facts":
        """From the notebook's parameters; an empty username means the demo operator's probe user,
        and without one (the scenario names none) the user the login history points to."""
        operator = conn.operator if conn is not None else {}
        username = str(params.get("username") or "").strip() or str(operator.get("probe_username") or "")
        # The demo operator answers what the form asks when the run left it at its default
        # (spec/scenario-format.md: each operator key is a runbook parameter).
        for key, default in (("source_ip", ""), ("reset_link_missing", False)):
            if key in operator and params.get(key, default) in (default, None):
                params = {**params, key: operator[key]}
        return cls(
            username=username,
            username_given=bool(username),
            days=max(1, int(params.get("days") or 7)),
            probe=bool(params.get("probe", True)),
            source_ip=str(params.get("source_ip") or "").strip(),
            reset_link_missing=bool(params.get("reset_link_missing", False)),
            # the history window ends before sfdoctor's own login (clients.Connection.opened_at)
            started_at=(conn.opened_at if conn is not None and conn.opened_at else datetime.now(timezone.utc)),
        )

    @property
    def edition(self) -> str | None:
        return (self.org or {}).get("OrganizationType")

    @property
    def window_start(self) -> datetime:
        return self.started_at - timedelta(days=self.days)


RUNBOOK = Runbook("security-token-required", Facts)


# ------------------------------------------------------------------ reading the org
# How many of the other failing users the report names (with their counts).
OTHERS_SHOWN = 10


def find_failing_user(conn: Connection, facts: Facts) -> None:
    """No user named: the window's LoginHistory grouped by user and status (one aggregate
    query: Status cannot be filtered in SOQL), the users whose logins failed for a missing
    token ranked by how often (ties: the latest failure), then their usernames (one query).
    The first becomes the user under diagnosis. Once per run; a failed read is remembered in
    `read_errors["failing_users"]` (the `failing-users` check reports it) and leaves no user."""
    if facts.username_given or facts.failing_users is not None or "failing_users" in facts.read_errors:
        return
    start, end = soql_datetime(facts.window_start), soql_datetime(facts.started_at)
    try:
        answer = composite(conn, {"by_user": lh.failures_by_user_query(start, end)})["by_user"]
        if not answer.ok:
            raise CheckError(f"LoginHistory could not be read: {answer.error}")
        ranked = lh.token_failures_by_user(answer.records)
        names: dict[str, str] = {}
        if ranked:
            ids = [user_id for user_id, _, _ in ranked[:OTHERS_SHOWN + 1]]
            rows = conn.sf.query(soql("SELECT Id, Username FROM User WHERE Id IN {}", ids)).get("records", [])
            names = {str(r.get("Id")): str(r.get("Username")) for r in rows}
    except Exception as exc:  # noqa: BLE001 - said by the failing-users check, not by every later one
        facts.read_errors["failing_users"] = (getattr(exc, "reason", None)
                                              or f"LoginHistory could not be read: {type(exc).__name__}: {exc}")[:300]
        return
    if ranked and ranked[0][0] not in names:
        # The run-as user may not read that User row: a guessed name would be "unknown user".
        facts.read_errors["failing_users"] = f"User {ranked[0][0]} could not be read (its username is needed)"
        return
    facts.failing_users = {names.get(user_id, user_id): n for user_id, n, _ in ranked[:OTHERS_SHOWN + 1]}
    if facts.failing_users:
        facts.username = next(iter(facts.failing_users))


def load_org(conn: Connection, facts: Facts) -> Facts:
    """Read org and user facts once (one API call); later calls reuse them."""
    if facts.org is not None:
        return facts
    find_failing_user(conn, facts)
    answers = composite_once(conn, facts.read_errors, "org", org_info.queries(facts.username), "org and user facts")
    org = answers["org"]
    facts.org = plain_record(org.records[0]) if org.records else {}
    for ref in ("user", "userlogin", "apiperms", "ipranges"):
        if not answers[ref].ok:
            facts.read_errors[ref] = answers[ref].error
    users = answers["user"].records
    facts.user = plain_record(users[0]) if users else None
    facts.user_read = answers["user"].ok
    logins = answers["userlogin"].records
    facts.user_login = plain_record(logins[0]) if logins else None
    facts.api_enabled_via = permissions.ApiGrants.from_records(
        users[0] if users else None, answers["apiperms"].records).via
    facts.profile_ranges = ([plain_record(r) for r in answers["ipranges"].records]
                            if answers["ipranges"].ok else None)
    return facts


def user_missing(facts: Facts) -> bool:
    """True when the user does not exist; raises when it could not be read (the check errors)."""
    if "user" in facts.read_errors:
        raise CheckError(f"User could not be read: {facts.read_errors['user']}")
    return facts.user is None


def skip_unless_user(conn: Connection, facts: Facts, lang: str) -> list[Finding] | None:
    """The `skip` finding a check about the user returns when there is no user to look at
    (no username given, or none such in the org); None when the user is there (org facts loaded)."""
    load_org(conn, facts)
    if not facts.username:
        return [_no_user(facts, lang)]
    if user_missing(facts):
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "user not found"},
                        summary=RUNBOOK.msg(lang, "user_unknown", username=facts.username))]
    return None


def _no_user(facts: Facts, lang: str) -> Finding:
    """The `skip` of a check about the user when there is none: none named and none whose
    logins failed for a missing token (or the history that would say so could not be read)."""
    if facts.failing_users == {}:
        return RUNBOOK.finding("skip", lang, evidence={"reason": "no_user_named_none_failing"},
                               summary=RUNBOOK.msg(lang, "no_failing_user", days=facts.days))
    return RUNBOOK.finding("skip", lang, evidence={"reason": "no username given"},
                           summary=RUNBOOK.msg(lang, "no_username"))


def user_state(facts: Facts) -> str | None:
    """Why the user cannot log in whatever the password: locked, frozen, inactive, or None."""
    if facts.user is None:
        return None
    if facts.user.get("IsActive") is False:
        return "inactive"
    login = facts.user_login or {}
    if login.get("IsFrozen"):
        return "frozen"
    if login.get("IsPasswordLocked"):
        return "locked"
    return None


@RUNBOOK.check("failing-users")
def failing_users(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """No user named: whose logins failed for a missing token in the window, and which one the
    run diagnoses (the most failures); nothing to say when the run names its user."""
    if facts.username_given:
        return []
    find_failing_user(conn, facts)
    if "failing_users" in facts.read_errors:
        raise CheckError(facts.read_errors["failing_users"])
    found = facts.failing_users or {}
    evidence: dict[str, Any] = {"window_days": facts.days, "token_failures_by_user": dict(found)}
    if not found:
        return [RUNBOOK.finding("pass", lang, evidence=evidence,
                                summary=RUNBOOK.msg(lang, "failing_users_none", days=facts.days))]
    chosen, n = next(iter(found.items()))
    evidence["diagnosed"] = chosen
    others = [f"{user} ({count})" for user, count in list(found.items())[1:]]
    key = "failing_users_others" if others else "failing_users_one"
    return [RUNBOOK.finding("pass", lang, evidence=evidence,
                            summary=RUNBOOK.msg(lang, key, days=facts.days, username=chosen, n=n,
                                                others=", ".join(others)))]


@RUNBOOK.check("org-facts")
def org_facts(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """Edition and sandbox or not: the edition decides which Setup paths the fixes name."""
    load_org(conn, facts)
    org = facts.org or {}
    evidence = {
        "edition": org.get("OrganizationType"),
        "sandbox": bool(org.get("IsSandbox")),
        "instance": org.get("InstanceName"),
        "login_host": conn.login_host,
        "my_domain_host": conn.my_domain_host,
    }
    summary = RUNBOOK.msg(lang, "org_facts", edition=evidence["edition"] or "?",
                  kind=RUNBOOK.msg(lang, "sandbox" if evidence["sandbox"] else "production"))
    return [RUNBOOK.finding("pass", lang, evidence=evidence, summary=summary)]


@RUNBOOK.check("user-status")
def user_status(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """The user under diagnosis: exists, active, not frozen, not locked, API Enabled."""
    load_org(conn, facts)
    if not facts.username:
        return [_no_user(facts, lang)]
    if "user" in facts.read_errors:
        raise CheckError(f"User could not be read: {facts.read_errors['user']}")
    edition = facts.edition
    if facts.user is None:
        return [RUNBOOK.finding("fail", lang, cause="PASSWORD_INVALID", edition=edition,
                        evidence={"username": facts.username, "which": "unknown_username"},
                        summary=RUNBOOK.msg(lang, "user_unknown", username=facts.username))]
    user, login = facts.user, facts.user_login or {}
    evidence = {
        "username": user.get("Username"),
        "profile": user.get("Profile.Name"),
        "active": user.get("IsActive"),
        "frozen": login.get("IsFrozen") if facts.user_login else None,
        "password_locked": login.get("IsPasswordLocked") if facts.user_login else None,
        "api_enabled_via": facts.api_enabled_via,
        "last_login": user.get("LastLoginDate"),
        "profile_login_ip_ranges": len(facts.profile_ranges) if facts.profile_ranges is not None else None,
    }
    if "userlogin" in facts.read_errors:
        evidence["userlogin_unreadable"] = facts.read_errors["userlogin"]
    state = user_state(facts)
    if state:
        evidence["which"] = state
        return [RUNBOOK.finding("fail", lang, cause="PASSWORD_INVALID", edition=edition, evidence=evidence,
                        summary=RUNBOOK.msg(lang, f"user_{state}", username=user.get("Username")))]
    if not facts.api_enabled_via and "apiperms" not in facts.read_errors:
        return [RUNBOOK.finding("fail", lang, cause="API_NOT_ENABLED", edition=edition, evidence=evidence, case="user",
                        summary=RUNBOOK.msg(lang, "user_api_disabled", username=user.get("Username"),
                                    profile=user.get("Profile.Name")))]
    from sfdoctor import access

    for ref in ("userlogin", "apiperms"):
        refused = access.refused_read(None, facts.read_errors.get(ref, ""))
        if refused is not None:
            # Not a pass: what sfdoctor may not read (frozen / locked, or the API grant) is for a person to look at.
            return [RUNBOOK.finding("manual", lang, evidence={**evidence, "read": refused.id,
                                                               "permissions": list(refused.any_of)},
                                    summary=access.manual_step(refused, lang))]
        if ref in facts.read_errors:
            # Any other failed read: frozen / locked (or the API grant) was not seen, so no pass.
            what = {"userlogin": "UserLogin", "apiperms": "the API Enabled grants"}[ref]
            raise CheckError(f"{what} could not be read: {facts.read_errors[ref]}")
    return [RUNBOOK.finding("pass", lang, evidence=evidence,
                    summary=RUNBOOK.msg(lang, "user_ok", username=user.get("Username"), profile=user.get("Profile.Name")))]


@RUNBOOK.check("probe-login-password-only")
def probe_logins(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """Probe 1 (password alone) and, only when it can tell more, probe 2 (password + token)."""
    ids = ("probe-login-password-only", "probe-login-with-token")
    reason = None
    creds = None
    if facts.probe:
        load_org(conn, facts)
    if not facts.probe:
        reason = RUNBOOK.msg(lang, "probe_skip_off")
    elif not facts.username:
        reason = RUNBOOK.msg(lang, "probe_skip_no_failing_user" if facts.failing_users == {} else "probe_skip_no_username")
    else:
        if facts.user is None and facts.user_read:
            reason = RUNBOOK.msg(lang, "probe_skip_no_user", username=facts.username)
        elif user_state(facts):
            # Locked, frozen or inactive: no password logs in, and a failed try only adds to the count.
            reason = RUNBOOK.msg(lang, f"probe_skip_user_{user_state(facts)}", username=facts.username)
        else:
            from sfdoctor.credentials import probe_credentials

            try:
                creds = probe_credentials(conn, facts.username)
            except Exception as exc:  # noqa: BLE001 - a missing credential means: do not probe
                return _probe_needs_credentials(conn, facts, lang, exc)
            if creds is not None and not creds.password:
                return _probe_needs_credentials(conn, facts, lang, None)
    if reason:
        v = login_probe.interpret(None, None, has_token=False, state=None)
        return [RUNBOOK.finding("skip", lang, check_id=i, evidence={"reason": reason, "login_attempts": 0},
                        summary=RUNBOOK.msg(lang, "probe_skipped", reason=reason)) for i in ids]

    first = login_probe.login_attempt(conn, login_probe.PASSWORD_ONLY, facts.username, creds.password, "")
    attempts = [first]
    second = None
    if login_probe.plan_second(first, bool(creds.token)):
        second = login_probe.login_attempt(conn, login_probe.PASSWORD_AND_TOKEN, facts.username, creds.password, creds.token)
        attempts.append(second)
    facts.probes = attempts
    row_status = None
    if first.fault == login_probe.INVALID_LOGIN and user_state(facts) is None:
        # Tell a wrong password from lock-out by the row Salesforce just wrote (one query).
        facts.probe_rows = login_probe.probe_row_statuses(conn, facts.user, len(attempts))
        row_status = facts.probe_rows[-1].get("Status") if facts.probe_rows else None
    v = login_probe.interpret(first, second, has_token=bool(creds.token), state=user_state(facts), row_status=row_status)
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
            evidence["reason"] = RUNBOOK.msg(lang, key, fault=first.fault or "", username=facts.username)
        values = _probe_range_values(conn, facts) if cause == "SOURCE_IP_UNTRUSTED" else None
        out.append(RUNBOOK.finding(status, lang, check_id=check_id, cause=cause, edition=edition, evidence=evidence,
                           values=values,
                           summary=RUNBOOK.msg(lang, key, fault=(attempt or first).fault or "", username=facts.username)))
    return out


def _probe_needs_credentials(conn: Connection, facts: Facts, lang: str, problem: BaseException | None) -> list[Finding]:
    """No credentials given for the user under diagnosis: the probe is a step for a person (a
    `manual` finding, in `not_checked`); the diagnosis goes on from the history and setup.
    Another user's password is never tried on this one (a failed login counts towards its lockout)."""
    org = getattr(getattr(conn, "org_ref", None), "name", None) or "NAME"
    detail = problem_text(problem, lang) if isinstance(problem, Exception) else RUNBOOK.msg(
        lang, "probe_skip_no_password", username=facts.username)
    evidence = {"username": facts.username, "login_attempts": 0, "reason": detail,
                "username_given": facts.username_given}
    summary = RUNBOOK.msg(lang, "probe_needs_credentials", username=facts.username, org=org)
    return [RUNBOOK.finding("manual", lang, check_id="probe-login-password-only", evidence=evidence, summary=summary),
            RUNBOOK.finding("skip", lang, check_id="probe-login-with-token",
                            evidence={"reason": summary, "login_attempts": 0},
                            summary=RUNBOOK.msg(lang, "probe_skipped", reason=RUNBOOK.msg(lang, "probe_skip_first_not_made")))]


def load_history(conn: Connection, facts: Facts) -> lh.History:
    """Read the history composite once per run (one API call)."""
    if facts.history is not None:
        return facts.history
    if "history" in facts.read_errors:
        raise CheckError(facts.read_errors["history"])
    load_org(conn, facts)
    user_id = (facts.user or {}).get("Id")
    start, end = facts.window_start, facts.started_at
    try:
        answers = composite(conn, lh.queries(user_id, start, end))
    except Exception as exc:
        facts.read_errors["history"] = f"LoginHistory could not be read: {type(exc).__name__}: {exc}"[:300]
        raise
    for ref, ans in answers.items():
        if not ans.ok:
            facts.read_errors["history"] = f"LoginHistory ({ref}) could not be read: {ans.error}"
            raise CheckError(facts.read_errors["history"])
    h = lh.History(window_start=soql_datetime(start), window_end=soql_datetime(end))
    h.org_groups = lh.group_rows(answers["org"].records)
    h.complete = answers["org"].done
    if user_id:
        h.groups = lh.group_rows(answers["user"].records)
        h.complete = h.complete and answers["user"].done
        if not h.groups and not answers["recent"].records:
            # Nothing for this user: true, or only the run-as user's own rows are visible to it.
            from sfdoctor import access

            try:
                access.check_rows_visible(conn, "login-history")
            except access.ReadRefused as exc:
                facts.read_errors["history"] = str(exc)
                raise
        h.recent = [{"time": r.get("LoginTime"), "status": r.get("Status"), "category": lh.category(r.get("Status"))}
                    for r in answers["recent"].records]
    facts.history = h
    return h


@RUNBOOK.check("login-history")
def login_history(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """The user's logins over the window, grouped; the failure that matters most names a cause."""
    skipped = skip_unless_user(conn, facts, lang)
    if skipped:
        return skipped
    h = load_history(conn, facts)
    status, cause, key, extra = lh.verdict(h, facts.probe_verdict)
    evidence = {
        "username": facts.username,
        "window": f"{h.window_start} .. {h.window_end}", "logins": h.total(), "failures": h.total() - h.total(lh.SUCCESS),
        "by_status": _by(h.groups, "status"), "failing_source_ips": dict(list(h.failing_ips().items())[:10]),
        "complete": h.complete, **extra,
    }
    top = h.dominant_failure() or {}
    summary = RUNBOOK.msg(lang, key, n=h.total() - h.total(lh.SUCCESS), days=facts.days, status=top.get("status") or "",
                  ip=top.get("source_ip") or "?", logins=h.total())
    return [RUNBOOK.finding(status, lang, cause=cause, edition=facts.edition, evidence=evidence,
                    summary=summary, values=_restricted_range_values(h) if cause == "SOURCE_IP_UNTRUSTED" else None)]


def _probe_range_values(conn: Connection, facts: Facts) -> dict[str, str] | None:
    """The probe was refused for its address: the history (read once per run, and read by the
    login-history check anyway) gives the integration's refused addresses and so the range."""
    try:
        return _restricted_range_values(load_history(conn, facts))
    except Exception:  # noqa: BLE001 - the login-history check reports a failed read; the fix keeps its full text
        return None


def _restricted_range_values(h: lh.History | None) -> dict[str, str] | None:
    """The range a profile's login IP ranges must gain: the one covering the addresses whose
    logins Salesforce refused as Restricted IP in the window (None: the history shows none,
    and the fix then keeps its full text)."""
    ips = list(h.failing_ips({lh.RESTRICTED_IP})) if h is not None else []
    return {"ranges": _ranges_text(ipr.suggest_ranges(ips))} if ips else None


@RUNBOOK.check("login-history-org")
def org_history(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """Org-wide: how many logins failed, how, and for how many users (no cause: context)."""
    h = load_history(conn, facts)
    failing = [g for g in h.org_groups if g["category"] != lh.SUCCESS]
    token = sum(g["n"] for g in failing if g["category"] == lh.TOKEN_REQUIRED)
    evidence = {"window": f"{h.window_start} .. {h.window_end}", "logins": sum(g["n"] for g in h.org_groups),
                "failures": sum(g["n"] for g in failing), "by_status": _by(h.org_groups, "status"),
                "token_required": token, "complete": h.complete}
    # Context, not a cause: a warning only when users other than the one under diagnosis
    # fail for a missing token too (the same fix will be needed there).
    others = token - (h.total(lh.TOKEN_REQUIRED) if facts.user else 0)
    evidence["token_required_other_users"] = others
    # The symptom itself: logins refused for a missing token, or for any reason this runbook
    # diagnoses (a stale token logs as Invalid Password). With no user under diagnosis no
    # check explains them, so the run may not call the org healthy.
    diagnosable = sum(g["n"] for g in failing if g["category"] != lh.OTHER)
    unexplained = facts.user is None and (token > 0 or diagnosable > 0)
    status = "warn" if others > 0 or unexplained else "pass"
    key = "org_history_others" if others > 0 else ("org_history_token" if token else "org_history_ok")
    return [RUNBOOK.finding(status, lang, evidence=evidence, unexplained=unexplained,
                    summary=RUNBOOK.msg(lang, key, n=evidence["failures"], token=token, others=others, days=facts.days))]


def _by(groups: list[dict[str, Any]], key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for g in groups:
        out[g[key] or "-"] = out.get(g[key] or "-", 0) + g["n"]
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def table(facts: Facts, lang: str = "en", *, failures_only: bool = False) -> Any:
    """The user's grouped logins as a pandas DataFrame (columns in the run's language)."""
    import pandas as pd

    h = facts.history or lh.History()
    rows = h.failing if failures_only else h.groups
    cols = list(lh.COLUMNS)
    df = pd.DataFrame([{c: g.get(c) for c in cols} for g in rows], columns=cols)
    return df.rename(columns={c: t(f"login_history.column.{c}", lang) for c in cols})


def table_html(facts: Facts, lang: str = "en", *, failures_only: bool = False) -> str:
    """The same table as `table()`, as HTML without pandas (pure)."""
    from html import escape

    h = facts.history or lh.History()
    rows = h.failing if failures_only else h.groups
    head = "".join(f"<th>{escape(t(f'login_history.column.{c}', lang))}</th>" for c in lh.COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{escape(_cell_text(c, g.get(c), lang))}</td>"
                                    for c in lh.COLUMNS) + "</tr>" for g in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell_text(column: str, value: Any, lang: str) -> str:
    """A login-history table cell as a person reads it: the last login's time in words."""
    if value is None:
        return ""
    return instant_text(value, lang) if column == "last" else str(value)


def bucket_label(bucket: str, lang: str) -> str:
    """A chart bucket of `lh.failures_by_time` (`2026-12-03` or `2026-12-03 09:00`, UTC) as the
    axis says it: `Dec 3` / `12月3日`, or with the hour."""
    moment = datetime.fromisoformat(bucket).replace(tzinfo=timezone.utc)
    return hour_text(moment, lang) if " " in bucket else day_text(moment.date(), lang, year=False)


def failures_figure(facts: Facts, lang: str = "en") -> Any:
    """A stacked bar chart of the user's failed logins over time (a matplotlib Figure), or None.

    For interactive use (JupyterLab, scripts); the notebook shows `failures_svg` instead.
    """
    h = facts.history
    if h is None:
        return None
    unit, buckets = lh.failures_by_time(h.recent)
    if not buckets:
        return None
    from matplotlib.figure import Figure

    font = lh.cjk_font() if lang == "ja" else None
    if lang == "ja" and font is None:
        lang = "en"  # no Japanese glyphs here: English labels rather than empty boxes
    fig = Figure(figsize=(8, 3))
    ax = fig.subplots()
    statuses = sorted({s for _, b in buckets for s in b})
    bottom = [0] * len(buckets)
    labels = [bucket_label(k, lang) for k, _ in buckets]
    for s in statuses:
        values = [b.get(s, 0) for _, b in buckets]
        ax.bar(range(len(buckets)), values, bottom=bottom, label=s)
        bottom = [x + y for x, y in zip(bottom, values)]
    step = max(1, len(labels) // 12)
    fontdict = {"family": font} if font else None
    ax.set_xticks(range(0, len(labels), step), [labels[i] for i in range(0, len(labels), step)],
                  rotation=30, ha="right", fontsize=7, fontdict=fontdict)
    ax.set_ylabel(RUNBOOK.msg(lang, "plot_ylabel"), fontdict=fontdict)
    ax.set_title(RUNBOOK.msg(lang, "plot_title_hour" if unit == "hour" else "plot_title_day", n=len(h.recent)),
                 fontsize=9, fontdict=fontdict)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def failures_svg(facts: Facts, lang: str = "en") -> str | None:
    """The same stacked bar chart as `failures_figure`, as inline SVG text (pure).

    What the notebook shows: no matplotlib in the kernel (importing it and laying out one
    figure cost ~1.5 s here, a quarter of a headless run), Japanese labels drawn by the
    browser's fonts, and the report stays self-contained.
    """
    from html import escape

    h = facts.history
    unit, buckets = lh.failures_by_time(h.recent if h else [])
    if not buckets:
        return None
    statuses = sorted({s for _, b in buckets for s in b})
    color = {s: lh.PALETTE[i % len(lh.PALETTE)] for i, s in enumerate(statuses)}
    width, height, left, top, bottom = 760, 240, 50, 40, 60
    plot_w, plot_h = width - left - 10, height - top - bottom
    peak = max(sum(b.values()) for _, b in buckets)
    bar = plot_w / len(buckets)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="10" role="img">',
             f'<text x="{left}" y="14" font-size="12">{escape(RUNBOOK.msg(lang, "plot_title_hour" if unit == "hour" else "plot_title_day", n=len(h.recent)))}</text>',
             f'<text x="12" y="{top + plot_h / 2}" transform="rotate(-90 12 {top + plot_h / 2})" text-anchor="middle">'
             f'{escape(RUNBOOK.msg(lang, "plot_ylabel"))}</text>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{peak}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>']
    for i, s in enumerate(statuses):
        x = left + i * 190
        parts.append(f'<rect x="{x}" y="22" width="10" height="10" fill="{color[s]}"/>'
                     f'<text x="{x + 14}" y="31">{escape(s)}</text>')
    step = max(1, len(buckets) // 12)
    for i, (label, counts) in enumerate(buckets):
        x, y = left + i * bar, top + plot_h
        said = bucket_label(label, lang)
        for s in statuses:
            n = counts.get(s, 0)
            if n:
                hgt = plot_h * n / peak
                y -= hgt
                parts.append(f'<rect x="{x + bar * 0.1:.1f}" y="{y:.1f}" width="{bar * 0.8:.1f}" height="{hgt:.1f}" '
                             f'fill="{color[s]}"><title>{escape(said)}: {n} {escape(s)}</title></rect>')
        if i % step == 0:
            lx = x + bar / 2
            parts.append(f'<text x="{lx:.1f}" y="{top + plot_h + 12}" text-anchor="end" '
                         f'transform="rotate(-30 {lx:.1f} {top + plot_h + 12})">{escape(said)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def show(facts: Facts, lang: str = "en") -> None:
    """For the notebook: the grouped failures as a table and the failures-over-time plot."""
    from IPython.display import HTML, SVG, display

    if facts.history is None or not facts.history.groups:
        return
    # A plain HTML table: the grouping is done server-side, so pandas (~0.5 s to import in
    # every kernel) adds nothing here; `table()` gives the DataFrame for interactive use.
    mine = {CHECK_METADATA: "login-history"}  # the report shows them under that check's card
    display(HTML(table_html(facts, lang, failures_only=bool(facts.history.failing))), metadata=mine)
    svg = failures_svg(facts, lang)
    if svg:
        display(SVG(svg), metadata=mine)


def load_security(conn: Connection, facts: Facts) -> dict[str, Any]:
    """SecuritySettings via the Metadata API (one call per run); {} when the org returns none."""
    if facts.security is None:
        from sfdoctor.metadata import read_metadata

        if "security" in facts.read_errors:
            raise CheckError(facts.read_errors["security"])
        try:
            records = read_metadata(conn, "SecuritySettings", ["Security"])
        except Exception as exc:
            facts.read_errors["security"] = f"SecuritySettings could not be read: {type(exc).__name__}: {exc}"[:300]
            raise
        facts.security = dict(records[0]) if records else {}
    return facts.security


def relevant_ips(facts: Facts) -> dict[str, int]:
    """Addresses whose trust matters: where the token-related failures came from, plus `source_ip`."""
    cats = {lh.TOKEN_REQUIRED, lh.RESTRICTED_IP}
    if facts.probe_verdict == "TOKEN_INVALID":
        cats.add(lh.INVALID_PASSWORD)
    ips = facts.history.failing_ips(cats) if facts.history is not None else {}
    if facts.source_ip and ipr.parse_ip(facts.source_ip) is not None:
        ips = {facts.source_ip: ips.get(facts.source_ip, 0), **{k: v for k, v in ips.items() if k != facts.source_ip}}
    return ips


@RUNBOOK.check("source-ip-ranges")
def source_ips(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """SOURCE_IP_UNTRUSTED: failing addresses outside every range, with the range that would cover them."""
    load_org(conn, facts)
    if facts.user is not None:
        load_history(conn, facts)
    security = load_security(conn, facts)
    trusted = ipr.trusted_ranges(security)
    profile = facts.profile_ranges or []
    ips = relevant_ips(facts)
    evidence: dict[str, Any] = {
        "trusted_ranges": [f"{r['start']}-{r['end']}" for r in trusted][:20],
        "profile_login_ip_ranges": [f"{r.get('StartAddress')}-{r.get('EndAddress')}" for r in profile][:20],
        "source_ips": dict(list(ips.items())[:20]),
    }
    if not ips and facts.user is None:
        # No user under diagnosis (so no user's failing logins) and no address given: there was
        # nothing to look at, which is not "no untrusted address".
        return [RUNBOOK.finding("skip", lang, evidence={**evidence, "reason": "no user and no source address"},
                                summary=RUNBOOK.msg(lang, "ip_nothing_to_hold"))]
    if not ips:
        return [RUNBOOK.finding("pass", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "ip_none"))]
    groups = ipr.classify(ips, trusted, profile)
    evidence["classified"] = {k: v for k, v in groups.items() if v}
    # Addresses a profile's login IP ranges refuse come first: for them a token does not help.
    for group, restriction, key in (("restricted", "profile_login_ip_ranges", "ip_restricted"),
                                    ("untrusted", "not_trusted", "ip_untrusted")):
        if groups[group]:
            suggestion = ipr.suggest_ranges(groups[group])
            evidence.update(restriction=restriction, suggested_ranges=suggestion)
            profile_name = (facts.user or {}).get("Profile.Name") or RUNBOOK.msg(lang, "the_profile")
            return [RUNBOOK.finding("fail", lang, cause="SOURCE_IP_UNTRUSTED", edition=facts.edition,
                            evidence=evidence, case=restriction,
                            values={"ranges": _ranges_text(suggestion), "profile": profile_name},
                            summary=RUNBOOK.msg(lang, key, ips=", ".join(groups[group]),
                                                           ranges=_ranges_text(suggestion)))]
    return [RUNBOOK.finding("pass", lang, evidence=evidence,
                    summary=RUNBOOK.msg(lang, "ip_all_trusted", ips=", ".join(ips)))]


def _ranges_text(suggestion: list[dict[str, Any]]) -> str:
    return "; ".join(f"{s['start']} – {s['end']}" for s in suggestion)


@RUNBOOK.check("reset-link-ip-ranges")
def reset_link_ip_ranges(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """RESET_HIDDEN_BY_LOGIN_IP_RANGES: the user's profile has login IP ranges."""
    skipped = skip_unless_user(conn, facts, lang)
    if skipped:
        return skipped
    if facts.profile_ranges is None:
        raise CheckError(f"LoginIpRange could not be read: {facts.read_errors.get('ipranges', 'unknown')}")
    profile = facts.user.get("Profile.Name")
    ranges = [f"{r.get('StartAddress')}-{r.get('EndAddress')}" for r in facts.profile_ranges]
    evidence: dict[str, Any] = {"profile": profile, "login_ip_ranges": ranges[:20], "edition": facts.edition}
    if ranges:
        # Where the integration logs in from decides the answer: inside the ranges it needs no
        # token at all; outside them a token would not help, the range that covers it would.
        case, values = _where_the_integration_is(conn, facts, evidence)
        return [RUNBOOK.finding("warn", lang, cause="RESET_HIDDEN_BY_LOGIN_IP_RANGES",
                        edition=facts.edition, evidence=evidence, case=case,
                        values={"username": facts.username or RUNBOOK.msg(lang, "the_user"),
                                "profile": profile or RUNBOOK.msg(lang, "the_profile"), **values},
                        summary=RUNBOOK.msg(lang, "reset_hidden", profile=profile, n=len(ranges)))]
    return [RUNBOOK.finding("pass", lang, evidence=evidence,
                    summary=RUNBOOK.msg(lang, "reset_no_ranges", profile=profile))]


def _where_the_integration_is(conn: Connection, facts: Facts, evidence: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    """The case of RESET_HIDDEN_BY_LOGIN_IP_RANGES: the integration's addresses (its failing logins
    in the history, or the `source_ip` given) outside the profile's login IP ranges (`outside`,
    with the range to add), all inside them (`inside`), or none known (None: the cause's text)."""
    try:
        load_history(conn, facts)
    except Exception:  # noqa: BLE001 - the login-history check reports a failed read; the address stays unknown
        pass
    ips = relevant_ips(facts)
    groups = ipr.classify(ips, [], facts.profile_ranges or [])
    if groups["restricted"]:
        suggestion = ipr.suggest_ranges(groups["restricted"])
        evidence.update(source_ips=dict(list(ips.items())[:20]), classified={k: v for k, v in groups.items() if v},
                        suggested_ranges=suggestion)
        return "outside", {"ips": ", ".join(groups["restricted"]), "ranges": _ranges_text(suggestion)}
    if groups["profile"]:
        evidence.update(source_ips=dict(list(ips.items())[:20]), classified={k: v for k, v in groups.items() if v})
        return "inside", {"ips": ", ".join(groups["profile"])}
    return None, {}


@RUNBOOK.check("reset-link-network-access")
def reset_link_network_access(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """NETWORK_ACCESS_UNAVAILABLE: SecuritySettings has no Network Access section."""
    security = load_security(conn, facts)
    available = token_reset.network_access_available(security)
    evidence: dict[str, Any] = {"network_access": available, "trusted_ranges": len(ipr.trusted_ranges(security))}
    if not available:
        if facts.username:
            evidence["username"] = facts.username  # whose token is reset once the setting is back
        return [RUNBOOK.finding("warn", lang, cause="NETWORK_ACCESS_UNAVAILABLE",
                        edition=facts.edition, evidence=evidence, summary=RUNBOOK.msg(lang, "network_access_missing"),
                        values={"username": facts.username or RUNBOOK.msg(lang, "the_user")})]
    return [RUNBOOK.finding("pass", lang, evidence=evidence,
                    summary=RUNBOOK.msg(lang, "network_access_ok", n=evidence["trusted_ranges"]))]


@RUNBOOK.check("reset-link-profile")
def reset_link_profile(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """PROFILE_POSSIBLY_CORRUPTED: a manual step, only when the link is missing and unexplained."""
    if not facts.reset_link_missing:
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "reset_link_missing is false"},
                        summary=RUNBOOK.msg(lang, "reset_link_present"))]
    explained = []
    load_org(conn, facts)
    if facts.profile_ranges:
        explained.append("RESET_HIDDEN_BY_LOGIN_IP_RANGES")
    if not token_reset.network_access_available(load_security(conn, facts)):
        explained.append("NETWORK_ACCESS_UNAVAILABLE")
    profile = (facts.user or {}).get("Profile.Name") or "?"
    if explained:
        return [RUNBOOK.finding("skip", lang, evidence={"explained_by": explained, "profile": profile},
                        summary=RUNBOOK.msg(lang, "reset_link_explained", causes=", ".join(explained)))]
    return [RUNBOOK.finding("manual", lang, cause="PROFILE_POSSIBLY_CORRUPTED", edition=facts.edition,
                    evidence={"profile": profile, "reset_link_missing": True},
                    summary=RUNBOOK.msg(lang, "profile_corrupted", profile=profile))]


@RUNBOOK.check("soap-login-retiring")
def soap_login_retiring(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """SOAP_LOGIN_RETIRING when the user's (failing) logins are SOAP password logins."""
    if facts.probe_verdict == "SOAP_LOGIN_DISABLED":
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "soap_login_already_refused"},
                        summary=RUNBOOK.msg(lang, "soap_already_disabled"))]
    skipped = skip_unless_user(conn, facts, lang)
    if skipped:
        return skipped
    h = load_history(conn, facts)
    failing, ok, seen = soap_login.soap_groups(h.groups)
    evidence = {"soap_failures": failing, "soap_successes": ok, "seen": seen[:10]}
    if failing or ok:
        key = "soap_retiring_failing" if failing else "soap_retiring_ok"
        case, values = _soap_integrations(h.groups, lang)
        return [RUNBOOK.finding("warn", lang, cause="SOAP_LOGIN_RETIRING", edition=facts.edition, case=case,
                        evidence=evidence, values={**values, "username": facts.username},
                        summary=RUNBOOK.msg(lang, key, n=failing or ok))]
    return [RUNBOOK.finding("pass", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "soap_none"))]


# What LoginHistory's Application column holds when the login names no app (a SOAP client).
_NO_APPLICATION = frozenset({"", "n/a", "-"})


def _soap_integrations(groups: list[dict[str, Any]], lang: str) -> tuple[str | None, dict[str, str]]:
    """The fix's case and values for the SOAP logins' integrations: `seen` names the ones
    LoginHistory names by application ("SOAP Partner (Marketo)"); when it names none, the case
    "unnamed_app" says so and gives the API types and source addresses to find it by, rather
    than a vendor called "N/A"."""
    soap = [g for g in groups if lh.is_soap(g)]
    named = sorted({f"{g['api_type'] or g['login_type']} ({g['application']})" for g in soap
                    if str(g["application"]).casefold() not in _NO_APPLICATION})
    unnamed = [g for g in soap if str(g["application"]).casefold() in _NO_APPLICATION]
    apis = ", ".join(sorted({str(g["api_type"] or g["login_type"]) for g in unnamed})) or "SOAP"
    ips = ", ".join(sorted({str(g["source_ip"]) for g in unnamed if g.get("source_ip")})[:10])
    if not named:
        return "unnamed_app", {"api": apis, "ips": ips or RUNBOOK.msg(lang, "soap_unnamed_no_ip")}
    seen = ", ".join(named[:10])
    if unnamed:
        seen = RUNBOOK.msg(lang, "soap_seen_and_unnamed", seen=seen, api=apis)
    return None, {"seen": seen}


STEPS = RUNBOOK.steps


def run_all(run: Any, facts: Facts) -> None:
    """Every step of security-token-required through `run.check`, in order (the form cell)."""
    RUNBOOK.run_all(run, facts)

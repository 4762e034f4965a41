"""marketo-sync-setup: connecting Marketo to Salesforce (Professional edition) and verifying it.

Seed 001 (step 3 of 3). Before "Sync Fields", the point after which Marketo keeps every
field it was shown: the org has API access, the sync user logs in with password + token
as Marketo will, has API Enabled, sees step 1's fields and none of the fields the admin
does not want synced, and the Sandbox box matches the org. After "Start Sync": Marketo's
own API accepts its credentials, the status page (a manual answer) is not Failed, recent
Salesforce leads reached Marketo, and no two leads/contacts share an email (Marketo does
not dedupe them).

API cost (principle 8), in check order:
    org_api_access   ONE composite as sfdoctor: Organization, the sync user and its API
                     Enabled grants (permissions.queries), UserLogin, recent leads, lead and
                     contact emails, Lead and Contact describe
    sync_user_login  <= 2 SOAP login() attempts; after a successful one, ONE composite as
                     the sync user (Lead and Contact describe), its session used and dropped
                     (+1 LoginHistory query only when a wrong password and a lock-out must be told
                     apart, or when login IP ranges refused this machine and the sync user's logins
                     from other addresses say whether Marketo gets in)
    duplicates       + at most MAX_PAGES queryMore calls when there are more than 2,000 emails
    Marketo          identity + one leads.json (or describe.json) call: counted apart
So a run makes 1 OAuth token + <= 2 probes + 1-3 reads on Salesforce (<= 6), and 2 Marketo calls.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ..checks import fields as F
from ..checks import login_probe, permissions
from ..checks.query import composite, composite_get, query_url, soql
from ..clients import Connection
from ..demo.info import DemoInfo
from ..errors import CheckError
from ..findings import Finding, iso
from ..registry import Runbook

SAMPLE_SIZE = 20                 # recent leads looked up in Marketo
GRACE = timedelta(hours=1)       # a lead younger than this may not have synced yet
MAX_PAGES = 1                    # queryMore calls for the email lists, at most (keeps a run <= 6 calls)
NOT_ANSWERED = "not answered"
TICKED, NOT_TICKED = "ticked", "not ticked"
STATUSES = ("Last synced", "Sync in progress", "Failed")
MARKETO_PATHS = ("/identity/", "/rest/")
DENIED_CODES = frozenset({"600", "601", "602", "603", "614"})   # Marketo refusing the credentials


class MarketoNotAnswered(CheckError):
    """Marketo answered with a limit or outage code: the check could not run (an `error`
    finding whose evidence carries `code`; the message is in the run's language)."""

    def __init__(self, code: str, message: str):
        super().__init__(message, code=code)
        self.message = message


# --------------------------------------------------------------------------- facts

@dataclass
class Facts:
    """The run's parameters and what has been read so far (each thing read once)."""

    sync_username: str = ""
    fields_not_to_sync: list[str] = field(default_factory=list)
    marketo_sync_status: str = NOT_ANSWERED
    marketo_sync_sandbox: str = NOT_ANSWERED
    probe: bool = True
    days: int = 7
    answered_by: dict[str, str] = field(default_factory=dict)   # parameter -> "operator" | "form"
    # read by the checks
    own_refused: str | None = None       # sfdoctor's own sign-in or REST refused (and why)
    api_disabled: str | None = None      # where the wire said API_DISABLED_FOR_ORG: sfdoctor_rest_request | sync_user_login
    org: dict[str, Any] | None = None
    grants: permissions.ApiGrants | None = None
    user_login: dict[str, Any] | None = None
    recent_leads: list[dict[str, Any]] = field(default_factory=list)
    emails: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    emails_complete: bool = True
    own_fields: dict[str, list[str]] | None = None
    sync_fields: dict[str, list[str]] | None = None
    sync_fields_error: str | None = None
    read_errors: dict[str, str] = field(default_factory=dict)
    probed: bool = False
    attempts: list[Any] = field(default_factory=list)          # login_probe.Attempt
    login: dict[str, Any] = field(default_factory=dict)        # status, cause, which, key, extra
    marketo: Any = None                                        # marketo.MarketoClient
    marketo_error: dict[str, Any] | None = None
    marketo_leads: list[dict[str, Any]] | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @classmethod
    def from_params(cls, conn: Connection | None = None, **params: Any) -> "Facts":
        """From the notebook's parameters; a parameter left at its default takes the demo
        operator's answer (spec/scenario-format.md: each operator key is a parameter). The
        sync user is the `username` parameter, the name the scheduler's probe memory reads."""
        operator = dict(conn.operator) if conn is not None else {}
        answered: dict[str, str] = {}
        username = str(params.get("username") or "").strip()
        if not username:
            username = str(operator.get("probe_username") or "")
        unwanted = params.get("fields_not_to_sync") or []
        if isinstance(unwanted, str):
            unwanted = [u.strip() for u in unwanted.replace("\n", ",").split(",") if u.strip()]
        if not unwanted and operator.get("fields_not_to_sync"):
            unwanted = list(operator["fields_not_to_sync"])
            answered["fields_not_to_sync"] = "operator"
        status = str(params.get("marketo_sync_status") or NOT_ANSWERED)
        said = _operator_choice("marketo_sync_status", operator.get("marketo_sync_status"))
        if status == NOT_ANSWERED and said is not None:
            status = said
            answered["marketo_sync_status"] = "operator"
        elif status != NOT_ANSWERED:
            answered["marketo_sync_status"] = "form"
        sandbox = str(params.get("marketo_sync_sandbox") or NOT_ANSWERED)
        said = _operator_choice("marketo_sync_sandbox", operator.get("marketo_sync_sandbox"))
        if sandbox == NOT_ANSWERED and said is not None:
            sandbox = said
            answered["marketo_sync_sandbox"] = "operator"
        elif sandbox != NOT_ANSWERED:
            answered["marketo_sync_sandbox"] = "form"
        return cls(sync_username=username, fields_not_to_sync=[str(u) for u in unwanted],
                   marketo_sync_status=status, marketo_sync_sandbox=sandbox,
                   probe=bool(params.get("probe", True)), days=max(1, int(params.get("days") or 7)),
                   answered_by=answered)

    @property
    def edition(self) -> str | None:
        return (self.org or {}).get("OrganizationType")

    @property
    def user(self) -> dict[str, Any] | None:
        """The sync user's row (login_probe's row lookup reads `facts.user["Id"]`)."""
        return self.grants.user if self.grants is not None else None


def _operator_choice(name: str, value: Any) -> str | None:
    """An operator answer for a choice parameter, read as the form reads it (params.convert_value:
    one of the choice's own values, a label, or a boolean where the spec maps one). None when
    there is no answer; a value that fits none raises the parameter's one-line error instead
    of being dropped (a dropped answer would hide the world's own and read as "not answered")."""
    if value is None:
        return None
    from sfdoctor.errors import LocalizedValueError, SfdoctorError
    from sfdoctor.i18n import Text
    from sfdoctor.params import convert_value

    param = next(p for p in RUNBOOK.spec().parameters if p.name == name)
    try:
        converted = convert_value(param, value)
    except SfdoctorError as exc:
        raise LocalizedValueError(Text("params.bad", name=name, problem=exc.message)) from None
    return None if converted == NOT_ANSWERED else converted


RUNBOOK = Runbook("marketo-sync-setup", Facts)


@RUNBOOK.demo_operator
def demo_operator(info: DemoInfo) -> dict[str, Any]:
    """What Marketo's Admin > Salesforce page shows, as the demo operator reads it (no API
    exposes it): the sync status, when it last synced, and the Sandbox box."""
    if info.marketo is None:
        return {}
    sync = info.marketo.sync
    return {"marketo_sync_status": sync.status, "marketo_last_synced_at": sync.last_synced_at,
            "marketo_sync_sandbox": sync.sandbox}


# --------------------------------------------------------------------------- opening a run

def open_run(org: str, lang: str, params: dict[str, Any]) -> tuple[Any, Facts]:
    """RunSession + Facts. When the org refuses sfdoctor's own sign-in (an edition without
    API access refuses every API login: clients.OwnLoginRefused), the run keeps a probe-only
    connection: the sync user's login fault then says why (API_DISABLED_FOR_ORG), and Marketo
    is still checked."""
    from sfdoctor import clients
    from sfdoctor.session import RunSession

    run = RunSession.open(RUNBOOK.id, org, lang, params)
    refused = None
    refusal = run.connect_exception
    if run.conn is None and run.org_ref is not None and isinstance(refusal, clients.OwnLoginRefused):
        refused = str(run.findings[0].evidence.get("reason")) if run.findings else str(refusal)
        # the refused sign-in cost an API call too: the probe-only connection goes on counting
        run.conn = clients.probe_only(run.org_ref, counter=refusal.counter, runbook=run.spec)
        run.connect_error = None
    facts = Facts.from_params(run.conn, **params)
    facts.own_refused = refused
    return run, facts


# --------------------------------------------------------------------------- reading the org

def urls(conn: Connection, facts: Facts) -> dict[str, str]:
    """The first composite's subrequests (pure: tested without a server).

    Wire fidelity (V verified in Salesforce's docs, S seen in independent third-party code,
    I not confirmed):
    * composite accepts GET subrequests to the Query resource and to every sObject resource,
      sObject Describe included (REST API guide "Send Multiple Requests Using Composite"): V;
      at most 25 subrequests: I (from memory; this one has 11).
    * Organization.IsSandbox, InstanceName: V (sfdx-core's OrganizationInformation type);
      OrganizationType: S (used by many public selectors); its value "Professional Edition":
      I (only "Developer Edition" was seen spelled out). A scratch org also has IsSandbox
      true (V, sfdx-core) and logs in at test.salesforce.com, so the Sandbox box check holds.
    * UserLogin.IsFrozen / IsPasswordLocked: V (object reference); reading UserLogin needs
      Manage Users: V.
    * Profile.PermissionsApiEnabled / PermissionSet.PermissionsApiEnabled and the semi-join
      `AssigneeId IN (SELECT Id FROM User WHERE Username = ...)`: S (permissions.py).
    * Lead.IsConverted, Email, CreatedDate filters; LoginHistory filtered on UserId and
      LoginTime only (Status is not filterable): V (reference §4.1).
    """
    v = conn.api_version
    by_user = soql("SELECT Id FROM User WHERE Username = {}", facts.sync_username)
    end = facts.started_at - GRACE
    start = facts.started_at - timedelta(days=facts.days)
    queries = {
        "org": "SELECT Id, Name, OrganizationType, IsSandbox, InstanceName FROM Organization LIMIT 1",
        **permissions.queries(facts.sync_username, prefix="sync_"),
        "userlogin": soql("SELECT IsFrozen, IsPasswordLocked FROM UserLogin WHERE UserId IN ({:literal}) LIMIT 1",
                          by_user),
        "recent": soql("SELECT Id, Email, CreatedDate FROM Lead WHERE Email != null AND IsConverted = false "
                       "AND CreatedDate >= {:literal} AND CreatedDate <= {:literal} ORDER BY CreatedDate DESC "
                       "LIMIT {:literal}", iso(start), iso(end), str(SAMPLE_SIZE)),
        "lead_emails": "SELECT Id, Email FROM Lead WHERE Email != null AND IsConverted = false",
        "contact_emails": "SELECT Id, Email FROM Contact WHERE Email != null",
    }
    out = {ref: query_url(v, q) for ref, q in queries.items()}
    out.update({f"describe_{o}": f"/services/data/v{v}/sobjects/{o}/describe" for o in F.OBJECTS})
    return out


def _refusal_code(exc: BaseException) -> str | None:
    content = getattr(exc, "content", None)
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode") or "") or None
    return None


def load(conn: Connection, facts: Facts) -> Facts:
    """Read the org once (one API call); later calls reuse it. Raises when it cannot be read."""
    if facts.org is not None:
        return facts
    if "org" in facts.read_errors:
        raise CheckError(facts.read_errors["org"])
    if conn.sf is None:
        facts.read_errors["org"] = f"sfdoctor could not sign in to the org: {facts.own_refused or 'no connection'}"
        raise CheckError(facts.read_errors["org"])
    try:
        answers = composite_get(conn.sf, urls(conn, facts))
    except Exception as exc:
        code = _refusal_code(exc)
        if code == "API_DISABLED_FOR_ORG":
            facts.api_disabled = "sfdoctor_rest_request"
        facts.read_errors["org"] = f"the org could not be read: {type(exc).__name__}: {code or exc}"[:300]
        raise CheckError(facts.read_errors["org"]) from None
    org = answers["org"]
    if not org.ok:
        if "API_DISABLED_FOR_ORG" in org.error:
            facts.api_disabled = "sfdoctor_rest_request"
        facts.read_errors["org"] = f"Organization could not be read: {org.error}"
        raise CheckError(facts.read_errors["org"])
    facts.org = {k: v for k, v in (org.records[0] if org.records else {}).items() if k != "attributes"}
    try:
        facts.grants = permissions.from_answers(answers, prefix="sync_")
    except CheckError as exc:
        facts.read_errors["user"] = str(exc)
    for ref in ("userlogin", "recent", "lead_emails", "contact_emails"):
        if not answers[ref].ok:
            facts.read_errors[ref] = answers[ref].error
    logins = answers["userlogin"].records
    facts.user_login = {k: v for k, v in logins[0].items() if k != "attributes"} if logins else None
    facts.recent_leads = [{k: r.get(k) for k in ("Id", "Email", "CreatedDate")} for r in answers["recent"].records]
    facts.emails = {}
    pages = 0
    for obj, ref in (("Lead", "lead_emails"), ("Contact", "contact_emails")):
        body = answers[ref].body if answers[ref].ok else {}
        rows = list(answers[ref].records)
        while isinstance(body, dict) and not body.get("done", True) and body.get("nextRecordsUrl"):
            if pages >= MAX_PAGES:
                facts.emails_complete = False
                break
            pages += 1
            body = conn.sf.query_more(body["nextRecordsUrl"], identifier_is_url=True)
            rows.extend(body.get("records") or [])
        facts.emails[obj] = [{"Id": r.get("Id"), "Email": r.get("Email")} for r in rows]
    describes = {o: answers[f"describe_{o}"] for o in F.OBJECTS}
    if all(d.ok for d in describes.values()):
        facts.own_fields = {o: F.field_names(d.body) for o, d in describes.items()}
    else:
        facts.read_errors["describe"] = next(d.error for d in describes.values() if not d.ok)
    return facts


def _org_or_skip(conn: Connection, facts: Facts, lang: str) -> list[Finding] | None:
    """A `skip` finding when the org has no API (already the finding), else None; raises when
    the org could not be read for another reason (the check errors, naming it)."""
    if facts.api_disabled:
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "no_org_api_access"},
                        summary=RUNBOOK.msg(lang, "skip_no_api"))]
    try:
        load(conn, facts)
    except CheckError:
        if facts.api_disabled:
            return [RUNBOOK.finding("skip", lang, evidence={"reason": "no_org_api_access"},
                            summary=RUNBOOK.msg(lang, "skip_no_api"))]
        raise
    return None


def salesforce_calls(conn: Connection) -> int:
    """Requests sent to Salesforce (Marketo's are counted apart)."""
    by = conn.counter.by_endpoint
    return sum(n for key, n in by.items() if not key.split(" ", 1)[-1].startswith(MARKETO_PATHS))


# --------------------------------------------------------------------------- API access

@RUNBOOK.check("org-api-access")
def org_api_access(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """The org answers API calls at all (Professional edition needs the API add-on)."""
    try:
        load(conn, facts)
    except CheckError:
        if not facts.api_disabled and facts.own_refused:
            probe(conn, facts)        # the sync user's login fault tells why we were refused
        if not facts.api_disabled:
            raise
    if facts.api_disabled:
        evidence = {"signal": "API_DISABLED_FOR_ORG", "seen_in": facts.api_disabled,
                    "sfdoctor_sign_in": "refused" if facts.own_refused else "ok"}
        return [RUNBOOK.finding("fail", lang, cause="ORG_API_DISABLED", edition=facts.edition, evidence=evidence,
                        summary=RUNBOOK.msg(lang, "org_api_disabled", signal="API_DISABLED_FOR_ORG",
                                            seen_in=RUNBOOK.msg(lang, f"seen_in_{facts.api_disabled}")))]
    org = facts.org or {}
    evidence = {"edition": org.get("OrganizationType"), "sandbox": bool(org.get("IsSandbox")),
                "instance": org.get("InstanceName"), "login_host": conn.login_host}
    kind = RUNBOOK.msg(lang, "sandbox" if evidence["sandbox"] else "production")
    return [RUNBOOK.finding("pass", lang, evidence=evidence,
                    summary=RUNBOOK.msg(lang, "org_api_ok", edition=evidence["edition"] or "?", kind=kind))]


# --------------------------------------------------------------------------- the sync user's login

def _user_state(facts: Facts) -> str | None:
    user, login = facts.user or {}, facts.user_login or {}
    if user and user.get("IsActive") is False:
        return "inactive"
    if login.get("IsFrozen"):
        return "frozen"
    if login.get("IsPasswordLocked"):
        return "locked"
    return None


def _verdict(first: Any, second: Any, has_token: bool, row_status: str | None, state: str | None
             ) -> tuple[str, str | None, str | None]:
    """(status, cause, which) of the attempts, Marketo's order: password+token, then the
    password alone only to tell a wrong token from a wrong password (pure)."""
    fault = first.fault
    if first.ok:
        return ("pass", None, None) if has_token else ("manual", None, "token_not_needed_here")
    if fault == login_probe.TOKEN_REQUIRED:
        return "fail", "SYNC_USER_LOGIN_FAILED", "token_missing"
    if fault == "API_DISABLED_FOR_ORG":
        return "fail", "ORG_API_DISABLED", "api_disabled_for_org"
    if fault == "API_CURRENTLY_DISABLED":
        return "fail", "SYNC_USER_API_NOT_ENABLED", "api_disabled_for_user"
    if fault in login_probe.SOAP_DISABLED:
        return "fail", "SYNC_USER_LOGIN_FAILED", "soap_login_disabled"
    if fault == login_probe.RESTRICTED_IP:
        return "fail", "SYNC_USER_LOGIN_FAILED", "restricted_ip"
    if fault == login_probe.INVALID_LOGIN:
        if second is not None and (second.ok or second.fault == login_probe.TOKEN_REQUIRED):
            return "fail", "SYNC_USER_LOGIN_FAILED", "token_wrong"
        which = state or login_probe.which_from_row(row_status) or "password"
        return "fail", "SYNC_USER_LOGIN_FAILED", "password_wrong" if which == "password" else which
    return "fail", "SYNC_USER_LOGIN_FAILED", "other"


def probe(conn: Connection, facts: Facts) -> Facts:
    """The sync user's login as Marketo does it (once per run; at most two attempts)."""
    if facts.probed:
        return facts
    facts.probed = True
    if not facts.probe:
        facts.login = {"status": "skip", "key": "login_skip_off"}
        return facts
    if not facts.sync_username:
        facts.login = {"status": "skip", "key": "login_skip_no_username"}
        return facts
    if conn.sf is not None and facts.org is None and "org" not in facts.read_errors:
        try:
            load(conn, facts)
        except CheckError:
            pass
    if facts.grants is not None and facts.user is None:
        facts.login = {"status": "fail", "cause": "SYNC_USER_LOGIN_FAILED", "which": "unknown_username"}
        return facts
    state = _user_state(facts)
    if state:
        # Locked, frozen or inactive: no password logs in, a failed try only adds to the count.
        facts.login = {"status": "fail", "cause": "SYNC_USER_LOGIN_FAILED", "which": state}
        return facts
    from sfdoctor.credentials import probe_credentials

    try:
        creds = probe_credentials(conn, facts.sync_username)
    except Exception as exc:  # noqa: BLE001 - no credentials: nothing to probe with
        facts.login = {"status": "skip", "key": "login_skip_no_credentials",
                       "detail": getattr(exc, "message", None) or type(exc).__name__}
        return facts
    if not creds.password:
        facts.login = {"status": "skip", "key": "login_skip_no_credentials", "detail": "no password"}
        return facts
    kinds = (login_probe.PASSWORD_AND_TOKEN, login_probe.PASSWORD_ONLY)
    first = login_probe.login_attempt(conn, kinds[0] if creds.token else kinds[1], facts.sync_username, creds.password,
                               creds.token, on_session=lambda sid, inst: _describe_as(conn, facts, sid, inst))
    second = None
    if first.fault == login_probe.INVALID_LOGIN and creds.token:
        # Wrong token or wrong password? Salesforce answers LOGIN_MUST_USE_SECURITY_TOKEN (or,
        # from a trusted network, logs in) only when the password alone is right.
        second = login_probe.login_attempt(conn, kinds[1], facts.sync_username, creds.password, "",
                                    on_session=lambda sid, inst: _describe_as(conn, facts, sid, inst))
    facts.attempts = [a for a in (first, second) if a is not None]
    row_status = None
    if facts.attempts[-1].fault == login_probe.INVALID_LOGIN and facts.user and _user_state(facts) is None:
        # A wrong password, or did it just lock the user out? The row our last attempt left says.
        rows = login_probe.probe_row_statuses(conn, facts.user, len(facts.attempts))
        row_status = rows[0].get("Status") if rows else None
    status, cause, which = _verdict(first, second, bool(creds.token), row_status, _user_state(facts))
    elsewhere: list[dict[str, Any]] = []
    if which == "restricted_ip" and facts.user:
        # Refused from *this* address. Marketo logs in from its own: if the sync user's latest
        # login from another address succeeded, the ranges admit Marketo and only this machine
        # is shut out, so the credentials are untested here, not failing (one query).
        elsewhere = _logins_elsewhere(conn, facts)
        if elsewhere and elsewhere[0]["latest_status"] == "Success":
            status, cause, which = "manual", None, "restricted_ip_here_only"
    if status == "pass" and facts.sync_fields_error and "EXPIRED_PASSWORD" in facts.sync_fields_error:
        status, cause, which = "fail", "SYNC_USER_LOGIN_FAILED", "password_expired"
    if cause == "ORG_API_DISABLED":
        facts.api_disabled = "sync_user_login"
    facts.login = {"status": status, "cause": cause, "which": which, "row_status": row_status}
    if elsewhere:
        facts.login["elsewhere"] = elsewhere
    return facts


def _logins_elsewhere(conn: Connection, facts: Facts) -> list[dict[str, Any]]:
    """The sync user's recent logins from addresses other than the one our probe came from,
    one entry per address (newest first): {source_ip, latest_status, latest_at, attempts}.

    Our probe's own row is the newest one (the simulator writes it at once; a real org may
    write it a moment later [I], in which case the newest row is someone else's and the
    result only errs towards keeping the failure). LoginHistory.Status cannot be filtered
    in SOQL, so the rows are read by UserId and LoginTime and grouped here.
    """
    start = facts.started_at - timedelta(days=facts.days)
    q = soql("SELECT LoginTime, Status, SourceIp FROM LoginHistory WHERE UserId = {} AND LoginTime >= {:literal} "
             "ORDER BY LoginTime DESC LIMIT 200", facts.user["Id"], iso(start))
    answer = composite(conn, {"rows": q})["rows"]
    rows = answer.records if answer.ok else []
    if not rows:
        return []
    ours = rows[0].get("SourceIp")
    out: dict[str, dict[str, Any]] = {}
    for r in rows[1:]:
        ip = r.get("SourceIp")
        if not ip or ip == ours:
            continue
        entry = out.setdefault(ip, {"source_ip": ip, "latest_status": r.get("Status"),
                                    "latest_at": r.get("LoginTime"), "attempts": 0})
        entry["attempts"] += 1
    return list(out.values())[:10]


def _describe_as(conn: Connection, facts: Facts, session_id: str, instance: str) -> None:
    """Lead and Contact describe with the sync user's fresh session, in ONE composite call,
    through sfdoctor's routed read-only session. The session id lives only in this call."""
    if facts.sync_fields is not None:
        return
    from simple_salesforce import Salesforce

    v = conn.api_version
    sf = Salesforce(instance=instance, session_id=session_id, session=conn.session, version=v)
    try:
        answers = composite_get(sf, {o: f"/services/data/v{v}/sobjects/{o}/describe" for o in F.OBJECTS})
    except Exception as exc:  # noqa: BLE001 - recorded; the field checks say they could not look
        facts.sync_fields_error = f"{type(exc).__name__}: {_refusal_code(exc) or 'refused'}"
        return
    finally:
        del sf, session_id
    bad = [a.error for a in answers.values() if not a.ok]
    if bad:
        facts.sync_fields_error = bad[0]
        return
    facts.sync_fields = {o: F.field_names(a.body) for o, a in answers.items()}


# What the org's data said when no login was tried (the summaries name it in place of a fault).
NO_ATTEMPT_SIGNALS = {"frozen": "UserLogin.IsFrozen = true", "locked": "UserLogin.IsPasswordLocked = true",
                      "inactive": "User.IsActive = false", "unknown_username": "User WHERE Username: 0 rows"}


@RUNBOOK.check("sync-user-login")
def sync_user_login(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """Log in as the sync user with password + token, as Marketo's "Sync Fields" will."""
    probe(conn, facts)
    lg = facts.login
    evidence: dict[str, Any] = {"username": facts.sync_username, "login_attempts": len(facts.attempts),
                                "attempts": [a.to_json() for a in facts.attempts]}
    if lg.get("status") == "skip":
        reason = RUNBOOK.msg(lang, lg["key"], detail=lg.get("detail", ""))
        evidence["reason"] = reason
        return [RUNBOOK.finding("skip", lang, evidence=evidence,
                        summary=RUNBOOK.msg(lang, "login_skipped", reason=reason))]
    which = lg.get("which")
    if which:
        evidence["which"] = which
    if lg.get("row_status"):
        evidence["login_history_status"] = lg["row_status"]
    if lg.get("elsewhere"):
        evidence["logins_from_other_addresses"] = lg["elsewhere"]
    fault = facts.attempts[0].fault if facts.attempts else NO_ATTEMPT_SIGNALS.get(which or "")
    if not facts.attempts and fault:
        evidence["signal"] = fault          # no login was tried: what the org's data said instead
    key = f"login_{which}" if which else "login_ok"
    summary = RUNBOOK.msg(lang, key, fault=fault or "-", username=facts.sync_username,
                  elsewhere=", ".join(e["source_ip"] for e in lg.get("elsewhere", [])[:3]))
    return [RUNBOOK.finding(lg["status"], lang, cause=lg.get("cause"), edition=facts.edition,
                    evidence=evidence, summary=summary,
                    values={"fault": fault or "-", "profile": _profile_name(facts, lang)})]


def _profile_name(facts: Facts, lang: str) -> str:
    """The sync user's profile by name, as the fixes say it (else "the sync user's profile")."""
    return (facts.grants.profile if facts.grants is not None else None) or RUNBOOK.msg(lang, "the_profile")


@RUNBOOK.check("sync-user-api-enabled")
def sync_user_api_enabled(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """API Enabled from the profile or any permission set (Marketo's sync is an API client)."""
    skipped = _org_or_skip(conn, facts, lang)
    if skipped:
        return skipped
    if not facts.sync_username:
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "no sync username"},
                        summary=RUNBOOK.msg(lang, "login_skip_no_username"))]
    if facts.grants is None:
        raise CheckError(facts.read_errors.get("user", "the sync user could not be read"))
    if facts.user is None:
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "user not found"},
                        summary=RUNBOOK.msg(lang, "user_unknown", username=facts.sync_username))]
    g = facts.grants
    evidence = {"username": facts.sync_username, "profile": g.profile, "api_enabled_via": g.via}
    if g.enabled and facts.login.get("cause") != "SYNC_USER_API_NOT_ENABLED":
        return [RUNBOOK.finding("pass", lang, evidence=evidence,
                        summary=RUNBOOK.msg(lang, "api_enabled_ok", via=", ".join(
                            [RUNBOOK.msg(lang, "via_profile", name=g.profile)] * bool(g.from_profile)
                            + [RUNBOOK.msg(lang, "via_permission_set", name=n) for n in g.permission_sets])))]
    return [RUNBOOK.finding("fail", lang, cause="SYNC_USER_API_NOT_ENABLED", edition=facts.edition,
                    evidence=evidence, values={"profile": _profile_name(facts, lang)}, summary=RUNBOOK.msg(lang, "api_enabled_missing", profile=g.profile or "?",
                                                   username=facts.sync_username))]


# --------------------------------------------------------------------------- fields

@RUNBOOK.check("marketo-fields")
def marketo_fields(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """Step 1's fields exist on Lead and Contact and the sync user sees them."""
    skipped = _org_or_skip(conn, facts, lang)
    if skipped:
        return skipped
    probe(conn, facts)
    if facts.own_fields is None:
        raise CheckError(f"Lead/Contact describe could not be read: {facts.read_errors.get('describe')}")
    missing, as_sync_user = F.missing_fields(facts.own_fields, facts.sync_fields)
    evidence: dict[str, Any] = {"required": [f"{o}.{n}" for o in F.OBJECTS for n in F.REQUIRED_FIELDS],
                                "seen_as": "sync_user" if as_sync_user else "sfdoctor_admin"}
    if missing:
        evidence["missing"] = [{"field": f"{m['object']}.{m['field']}", "why": m["why"]} for m in missing]
        case, values = _fields_case(missing, lang)
        values["profile"] = _profile_name(facts, lang)
        return [RUNBOOK.finding("fail", lang, cause="MARKETO_FIELDS_MISSING", edition=facts.edition,
                        evidence=evidence, case=case, values=values,
                        summary=RUNBOOK.msg(lang, "fields_missing", fields=", ".join(
                            f"{m['object']}.{m['field']} ({RUNBOOK.msg(lang, 'field_why_' + m['why'])})" for m in missing)))]
    if not as_sync_user:
        evidence["reason"] = facts.sync_fields_error or "sync_user_not_signed_in"
        return [RUNBOOK.finding("skip", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "fields_exist_unseen"))]
    return [RUNBOOK.finding("pass", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "fields_ok"))]


def _fields_case(missing: list[dict[str, str]], lang: str) -> tuple[str, dict[str, str]]:
    """Which case of MARKETO_FIELDS_MISSING (fields to create, fields to show, or both) and the
    fields each step names: only those missing or hidden, never the whole list of three."""
    create = [RUNBOOK.msg(lang, "fields_create_on", object=RUNBOOK.msg(lang, f"object_{obj}"),
                          fields=", ".join(RUNBOOK.msg(lang, f"field_{m['field']}") for m in missing
                                           if m["object"] == obj and m["why"] == "missing"))
              for obj in F.OBJECTS if any(m["object"] == obj and m["why"] == "missing" for m in missing)]
    hidden = [f"{m['object']}.{m['field']}" for m in missing if m["why"] == "hidden"]
    case = "missing_and_hidden" if create and hidden else "missing" if create else "hidden"
    return case, {"create": "; ".join(create), "hidden": ", ".join(hidden)}


@RUNBOOK.check("unwanted-fields")
def unwanted_fields(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """Fields listed as not to sync are hidden from the sync user (Sync Fields keeps the rest)."""
    skipped = _org_or_skip(conn, facts, lang)
    if skipped:
        return skipped
    probe(conn, facts)
    unwanted = F.parse_unwanted(facts.fields_not_to_sync)
    evidence: dict[str, Any] = {"fields_not_to_sync": [f"{o}.{n}" for o, n in unwanted]}
    if facts.fields_not_to_sync and "fields_not_to_sync" in facts.answered_by:
        evidence["answered_by"] = facts.answered_by["fields_not_to_sync"]
    if facts.sync_fields is None:
        evidence["reason"] = facts.sync_fields_error or "sync_user_not_signed_in"
        return [RUNBOOK.finding("skip", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "unwanted_unseen"))]
    evidence["marketo_would_create"] = F.would_create(facts.sync_fields)
    total = sum(len(v) for v in facts.sync_fields.values())
    if not unwanted:
        return [RUNBOOK.finding("manual", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "unwanted_none_listed", n=total))]
    visible = F.visible_unwanted(facts.sync_fields, unwanted)
    unknown = F.unknown_unwanted(facts.fields_not_to_sync, facts.own_fields or facts.sync_fields)
    if unknown:
        evidence["not_found"] = unknown
    if visible:
        evidence["visible"] = visible
        return [RUNBOOK.finding("warn", lang, cause="UNWANTED_FIELDS_VISIBLE", edition=facts.edition,
                        evidence=evidence, values={"visible": ", ".join(visible), "profile": _profile_name(facts, lang)}, summary=RUNBOOK.msg(lang, "unwanted_visible", fields=", ".join(visible), n=total))]
    if unknown:
        # Not "hidden": a name that matches no field (a typo, most often) hides nothing.
        return [RUNBOOK.finding("manual", lang, evidence=evidence,
                        summary=RUNBOOK.msg(lang, "unwanted_not_found", n=total,
                                    fields=", ".join(u["field"] for u in unknown)))]
    return [RUNBOOK.finding("pass", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "unwanted_hidden", n=total))]


# --------------------------------------------------------------------------- Sandbox box

@RUNBOOK.check("sandbox-choice")
def sandbox_choice(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """Marketo's Sandbox box (a form answer) against Organization.IsSandbox."""
    skipped = _org_or_skip(conn, facts, lang)
    if skipped:
        return skipped
    is_sandbox = bool((facts.org or {}).get("IsSandbox"))
    evidence = {"org_is_sandbox": is_sandbox, "marketo_sandbox_box": facts.marketo_sync_sandbox,
                "answered_by": facts.answered_by.get("marketo_sync_sandbox", "nobody")}
    if facts.marketo_sync_sandbox == NOT_ANSWERED:
        return [RUNBOOK.finding("manual", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "sandbox_unanswered"))]
    kind = RUNBOOK.msg(lang, "sandbox" if is_sandbox else "production")
    if (facts.marketo_sync_sandbox == TICKED) != is_sandbox:
        key = "sandbox_ticked_for_production" if not is_sandbox else "sandbox_unticked_for_sandbox"
        return [RUNBOOK.finding("fail", lang, cause="SANDBOX_MISMATCH", evidence=evidence,
                        case=key.removeprefix("sandbox_"),
                        summary=RUNBOOK.msg(lang, key))]
    return [RUNBOOK.finding("pass", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "sandbox_ok", kind=kind))]


# --------------------------------------------------------------------------- Marketo

def _sample_emails(facts: Facts) -> list[str]:
    return [str(r["Email"]).strip() for r in facts.recent_leads if r.get("Email")]


@RUNBOOK.check("marketo-api-access")
def marketo_api_access(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """Identity with the instance's client id and secret, then one REST call (counted apart)."""
    from sfdoctor import marketo

    creds = marketo.credentials_for(conn)
    client = facts.marketo = marketo.MarketoClient.for_connection(conn, creds)
    if facts.org is None and conn.sf is not None and not facts.api_disabled:
        try:
            load(conn, facts)          # the sample of recent leads comes from the org
        except CheckError:
            pass
    evidence: dict[str, Any] = {"munchkin_id": creds.munchkin_id, "client_id": creds.client_id}
    try:
        client.token()
        evidence["api_user"] = client.scope
        emails = _sample_emails(facts)
        if emails:
            facts.marketo_leads = client.leads_by_email(emails)
            evidence["call"] = "leads.json?filterType=email"
        else:
            client.get("/rest/v1/leads/describe.json")
            evidence["call"] = "leads/describe.json"
    except marketo.MarketoIdentityError as exc:
        facts.marketo_error = {"http_status": exc.status, "error": exc.error, "error_description": exc.description}
        evidence.update(facts.marketo_error, marketo_api_calls=client.calls)
        return [RUNBOOK.finding("fail", lang, cause="MARKETO_API_ACCESS_DENIED", evidence=evidence, case="identity",
                        summary=RUNBOOK.msg(lang, "mkto_identity_refused", status=exc.status,
                                    description=exc.description or exc.error))]
    except marketo.MarketoApiError as exc:
        meaning = RUNBOOK.msg(lang, f"mkto_code_{exc.code}") if f"mkto_code_{exc.code}" in RUNBOOK.spec().messages else exc.message
        if exc.code not in DENIED_CODES:
            # 606/607/615 (limits), 604/608/611 (time-outs, outages), bad requests: not an
            # answer about the credentials, so no cause: the check errors and the run is
            # inconclusive (exit 3), as a Salesforce REQUEST_LIMIT_EXCEEDED is (findings.md).
            raise MarketoNotAnswered(exc.code, RUNBOOK.msg(lang, "mkto_not_an_answer", code=exc.code, meaning=meaning)) from None
        facts.marketo_error = {"code": exc.code, "message": exc.message, "meaning": meaning}
        evidence.update(facts.marketo_error, marketo_api_calls=client.calls)
        case = {"603": "role_or_ip", "614": "subscription"}.get(exc.code, "token")
        return [RUNBOOK.finding("fail", lang, cause="MARKETO_API_ACCESS_DENIED", evidence=evidence, case=case,
                        values={"api_user": client.scope or RUNBOOK.msg(lang, "the_api_user")},
                        summary=RUNBOOK.msg(lang, "mkto_code_refused", code=exc.code, meaning=meaning))]
    evidence["marketo_api_calls"] = client.calls
    return [RUNBOOK.finding("pass", lang, evidence=evidence,
                    summary=RUNBOOK.msg(lang, "mkto_ok", user=client.scope or "?", calls=client.calls))]


@RUNBOOK.check("sync-status")
def sync_status(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """What Admin > Salesforce shows (no API exposes it): the operator's answer, recorded."""
    status = facts.marketo_sync_status
    evidence = {"status": status, "answered_by": facts.answered_by.get("marketo_sync_status", "nobody")}
    last = conn.operator.get("marketo_last_synced_at")
    if last and evidence["answered_by"] == "operator":
        evidence["last_synced_at"] = last
    if status == NOT_ANSWERED:
        return [RUNBOOK.finding("manual", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "status_unanswered"))]
    if status == "Failed":
        return [RUNBOOK.finding("fail", lang, cause="SYNC_FAILED", evidence=evidence, case="status",
                        summary=RUNBOOK.msg(lang, "status_failed"))]
    return [RUNBOOK.finding("pass", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "status_ok", status=status))]


@RUNBOOK.check("sync-recent-leads")
def sync_recent_leads(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """A sample of recent Salesforce leads, looked up in Marketo by email (linked by the sync)."""
    skipped = _org_or_skip(conn, facts, lang)
    if skipped:
        return skipped
    if "recent" in facts.read_errors:
        raise CheckError(f"recent leads could not be read: {facts.read_errors['recent']}")
    evidence: dict[str, Any] = {"window_days": facts.days, "sampled": len(facts.recent_leads),
                                "grace_minutes": int(GRACE.total_seconds() // 60)}
    if not facts.recent_leads:
        return [RUNBOOK.finding("skip", lang, evidence=evidence,
                        summary=RUNBOOK.msg(lang, "sample_none", days=facts.days))]
    if facts.marketo_leads is None:
        evidence["reason"] = "marketo_api_no_answer"
        return [RUNBOOK.finding("skip", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "sample_no_marketo"))]
    linked = {str(r.get("email") or "").strip().casefold() for r in facts.marketo_leads
              if r.get("sfdcLeadId") or r.get("sfdcContactId")}
    present = {str(r.get("email") or "").strip().casefold() for r in facts.marketo_leads}
    missing = [{"email": r["Email"], "created": r.get("CreatedDate"),
                "in_marketo": str(r["Email"]).strip().casefold() in present}
               for r in facts.recent_leads if str(r.get("Email") or "").strip().casefold() not in linked]
    evidence["arrived"] = len(facts.recent_leads) - len(missing)
    if not missing:
        return [RUNBOOK.finding("pass", lang, evidence=evidence,
                        summary=RUNBOOK.msg(lang, "sample_ok", n=len(facts.recent_leads)))]
    evidence["not_arrived"] = missing
    if facts.marketo_sync_status in ("Sync in progress", NOT_ANSWERED):
        # The initial sync is still running, or nobody said the sync was started: expected.
        key = "sample_in_progress" if facts.marketo_sync_status != NOT_ANSWERED else "sample_not_started"
        return [RUNBOOK.finding("manual", lang, evidence=evidence,
                        summary=RUNBOOK.msg(lang, key, n=len(missing), total=len(facts.recent_leads)))]
    emails = ", ".join(list(dict.fromkeys(m["email"] for m in missing))[:5])
    return [RUNBOOK.finding("fail", lang, cause="SYNC_FAILED", evidence=evidence, case="leads", values={"emails": emails},
                    summary=RUNBOOK.msg(lang, "sample_missing", n=len(missing), total=len(facts.recent_leads),
                                emails=emails))]


# --------------------------------------------------------------------------- duplicates

def duplicate_groups(emails: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Email addresses shared by more than one Lead/Contact, trimmed and case-insensitive.

    pandas is imported here, not at module level: it costs a kernel ~0.6-1.6 s to import
    and no other check needs it.
    """
    import pandas as pd

    rows = [(obj, r.get("Id"), r.get("Email")) for obj, recs in emails.items() for r in recs if r.get("Email")]
    if not rows:
        return []
    df = pd.DataFrame(rows, columns=["object", "id", "email"])
    df["key"] = df["email"].astype(str).str.strip().str.casefold()
    df = df[df["key"] != ""]
    counts = df.groupby("key")["id"].transform("size")
    dup = df[counts > 1].sort_values(["key", "object", "id"])
    out = []
    for key, group in dup.groupby("key", sort=True):
        out.append({"email": key, "count": int(len(group)),
                    "records": [f"{o} {i}" for o, i in zip(group["object"], group["id"])],
                    "spellings": sorted(set(group["email"].astype(str)))})
    return sorted(out, key=lambda g: (-g["count"], g["email"]))


@RUNBOOK.check("duplicate-emails")
def duplicates(conn: Connection, facts: Facts, lang: str = "en") -> list[Finding]:
    """Leads and contacts that share an email address: Marketo will not merge them."""
    skipped = _org_or_skip(conn, facts, lang)
    if skipped:
        return skipped
    for ref in ("lead_emails", "contact_emails"):
        if ref in facts.read_errors:
            raise CheckError(f"{ref} could not be read: {facts.read_errors[ref]}")
    groups = duplicate_groups(facts.emails)
    evidence: dict[str, Any] = {"records_read": {o: len(r) for o, r in facts.emails.items()},
                                "complete": facts.emails_complete}
    if not groups:
        return [RUNBOOK.finding("pass", lang, evidence=evidence,
                        summary=RUNBOOK.msg(lang, "dupes_none", n=sum(evidence["records_read"].values())))]
    evidence["duplicate_emails"] = len(groups)
    evidence["groups"] = groups[:50]
    addresses = [RUNBOOK.msg(lang, "dupes_address", email=g["email"], n=g["count"]) for g in groups[:5]]
    if len(groups) > 5:
        addresses.append(RUNBOOK.msg(lang, "dupes_more", n=len(groups) - 5))
    return [RUNBOOK.finding("warn", lang, cause="DUPLICATE_RECORDS", evidence=evidence,
                    values={"addresses": ", ".join(addresses)},
                    summary=RUNBOOK.msg(lang, "dupes_found", n=len(groups),
                                records=sum(g["count"] for g in groups), example=groups[0]["email"]))]


# --------------------------------------------------------------------------- order


STEPS = RUNBOOK.steps
# "Sync Fields" keeps whatever it saw: these steps hold before it, the others after "Start Sync".
PREFLIGHT = tuple(STEPS[:6])
AFTER_START = tuple(STEPS[6:])


def run_all(run: Any, facts: Facts) -> None:
    """Every step of marketo-sync-setup through `run.check`, in order."""
    RUNBOOK.run_all(run, facts)


__all__ = ["Facts", "RUNBOOK", "STEPS", "PREFLIGHT", "AFTER_START", "MarketoNotAnswered", "open_run", "run_all",
           "duplicate_groups", "salesforce_calls"]

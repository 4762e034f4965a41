"""sia-auth-failure: Sales Insight Actions' "We were unable to authenticate your request".

The failure page's URL says which problem it is (seed 000): a login error on a restricted
domain, the OAuth app (ToutApp) blocked, or another error type. `checks.error_url.parse_error_url`
reads any form a browser shows (query string or fragment, encoded once, twice or not at all,
the description in any case and spacing) and never drops an unknown type: it is kept verbatim.

Then the org is read once, in ONE composite request (principle 8: two API calls per run
with sfdoctor's own OAuth sign-in): Organization, the connecting user and what grants it
API Enabled (checks.permissions), ToutApp's OAuth tokens and connected-app row, and the
user's login history grouped by status and login host (refused "Restricted Domain" logins
and the host they arrived at). Whether ToutApp is blocked is shown by no API, only on the
"Connected Apps OAuth Usage" page: that is a manual step answered in the form
(`oauth_usage_button`), and the URL's OAUTH_APP_BLOCKED alone makes it a fail.

Notebook order (`STEPS`): error_url, target_org, user_api_enabled, oauth_usage, app_block.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from .. import access
from ..checks import permissions
from ..checks.error_url import BLOCKED, NONE, OTHER, RESTRICTED, UrlError, compact, parse_error_url
from ..checks.query import SubResult, composite_once, plain_record, soql, soql_datetime
from ..clients import Connection
from ..dates import instant_text
from ..demo.info import DemoInfo
from ..errors import CheckError
from ..findings import Finding
from ..params import field_ref
from ..registry import Runbook

# The connected app's names in "Connected Apps OAuth Usage": ToutApp (reference §6.4), and
# the product's later names, which newer installs may show.
APP_NAMES = ("ToutApp", "Sales Insight Actions", "Marketo Sales Connect")
# Codes whose Salesforce meaning this runbook can explain (messages meaning_<code>).
_KNOWN_MEANINGS = ("oauth_app_access_denied", "oauth_ec_app_not_found", "access_denied", "redirect_uri_mismatch",
                   "invalid_client_id", "inactive_user", "inactive_org", "api_currently_disabled",
                   "api_disabled_for_org")


def access_denied(url: UrlError) -> bool:
    """The URL says OAUTH_APP_ACCESS_DENIED: the app admits admin-approved users only (pure)."""
    return url.kind == OTHER and compact(url.error) == compact("OAUTH_APP_ACCESS_DENIED")


def meaning(url: UrlError, lang: str) -> str:
    """What Salesforce means by the URL's error, when documented (else says so)."""
    if url.kind in (RESTRICTED, BLOCKED):
        return RUNBOOK.msg(lang, f"meaning_{url.kind}")
    code = compact(url.error)
    for known in _KNOWN_MEANINGS:
        if code == compact(known):
            return RUNBOOK.msg(lang, f"meaning_{known}")
    return RUNBOOK.msg(lang, "meaning_unknown")


# ------------------------------------------------------------------ facts
@dataclass
class SiaFacts:
    """The run's parameters and what the one composite read; passed from check to check."""

    error_url: str = ""
    username: str = ""
    login_host: str = ""
    oauth_usage_button: str = ""
    days: int = 30
    url: UrlError = field(default_factory=lambda: UrlError(NONE))
    loaded: bool = False
    org: dict[str, Any] | None = None
    instance_host: str | None = None
    grants: permissions.ApiGrants | None = None
    tokens: list[dict[str, Any]] = field(default_factory=list)
    apps: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    access: list[dict[str, Any]] = field(default_factory=list)
    read_errors: dict[str, str] = field(default_factory=dict)
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @classmethod
    def from_params(cls, conn: Connection | None = None, **params: Any) -> "SiaFacts":
        """From the notebook's parameters; what the run left at its default the demo operator answers."""
        operator = conn.operator if conn is not None else {}
        values = dict(params)
        for key, op_key in (("error_url", "error_url"), ("username", "probe_username"),
                            ("login_host", "login_host"), ("oauth_usage_button", "oauth_usage_button")):
            if not str(values.get(key) or "").strip() and operator.get(op_key):
                values[key] = operator[op_key]
        facts = cls(
            error_url=str(values.get("error_url") or "").strip(),
            username=str(values.get("username") or "").strip(),
            login_host=str(values.get("login_host") or "").strip(),
            oauth_usage_button=str(values.get("oauth_usage_button") or "").strip().casefold(),
            days=max(1, int(values.get("days") or 30)),
        )
        facts.url = parse_error_url(facts.error_url)
        return facts

    @property
    def edition(self) -> str | None:
        return (self.org or {}).get("OrganizationType")


RUNBOOK = Runbook("sia-auth-failure", SiaFacts)


@RUNBOOK.demo_operator
def demo_operator(info: DemoInfo) -> dict[str, Any]:
    """Setup > Connected Apps OAuth Usage, as the demo operator reads it (no API shows it): the
    button next to Sales Insight Actions' app reads "Unblock" when it is blocked, "Block" when
    not; an app never installed has no row."""
    blocked = {app.name: app.blocked for app in info.connected_apps}
    app = next((name for name in APP_NAMES if name in blocked), None)
    return {"oauth_usage_button": ("unblock" if blocked[app] else "block") if app else "not_listed"}


def queries(username: str, since: datetime) -> dict[str, str]:
    """The SOQL of the run's one composite (pure: tested without a server).

    Fidelity (checked against Salesforce's object reference; [S] = seen in public client code,
    [I] = inferred, not confirmed):
    - Organization: OrganizationType, IsSandbox, InstanceName.
    - OauthToken: AppName (the app's label), UserId, UseCount, LastUsedDate, CreatedDate; all
      users' tokens need Customize Application (older docs: Manage Users); `User.Username`
      through UserId [S]. Whether a block in Connected Apps OAuth Usage deletes the rows (it
      ends the sessions) is [I]: the tokens are evidence only, never the verdict.
    - ConnectedApplication: Name, OptionsAllowAdminApprovedUsersOnly.
    - LoginHistory: Status, LoginUrl, Application, LoginType are groupable, LoginTime
      filterable, Status not filterable (so grouped, filtered here); the semi-join on UserId
      [S]; aggregate aliases avoid SOQL's reserved words (LAST, FIRST, ... cannot be aliases).
    - The composite's subrequests are GET query URLs, allOrNone false (_base.composite).
    """
    out = {
        "org": "SELECT Id, Name, OrganizationType, IsSandbox, InstanceName FROM Organization LIMIT 1",
        "tokens": soql("SELECT AppName, UserId, User.Username, UseCount, LastUsedDate, CreatedDate FROM OauthToken "
                       "WHERE AppName IN {} ORDER BY LastUsedDate DESC LIMIT 200", list(APP_NAMES)),
        "apps": soql("SELECT Id, Name, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication "
                     "WHERE Name IN {}", list(APP_NAMES)),
    }
    if username:
        out.update(permissions.queries(username, prefix="p_"))
        # sfdoctor's own permissions: an empty LoginHistory or OauthToken answer proves nothing
        # without them (access.check_rows_visible), and asking here costs no call of its own.
        out["run_as"] = access.PERMISSIONS_QUERY
        # The connected apps assigned to the user's profile and permission sets (the profile's
        # own permission set is among the assignments), for an admin-approved-only app.
        out["access"] = soql("SELECT SetupEntityId, Parent.Label, Parent.IsOwnedByProfile FROM SetupEntityAccess "
                             "WHERE SetupEntityType = 'ConnectedApplication' AND ParentId IN "
                             "(SELECT PermissionSetId FROM PermissionSetAssignment WHERE Assignee.Username = {})",
                             username)
        by_user = soql("SELECT Id FROM User WHERE Username = {}", username)
        out["history"] = soql(
            "SELECT Status, LoginUrl, Application, LoginType, COUNT(Id) logins, MAX(LoginTime) lastLogin FROM LoginHistory "
            "WHERE UserId IN ({:literal}) AND LoginTime >= {:literal} GROUP BY Status, LoginUrl, Application, LoginType",
            by_user, soql_datetime(since))
    return out


def load(conn: Connection, facts: SiaFacts) -> SiaFacts:
    """Read everything once (one API call); a failed read makes every later check error alike."""
    if facts.loaded:
        return facts
    answers = composite_once(conn, facts.read_errors, "composite",
                             queries(facts.username, facts.started_at - timedelta(days=facts.days)), "the org")
    org = answers["org"]
    facts.org = plain_record(org.records[0]) if org.records else {}
    facts.instance_host = _host(conn.sf.sf_instance if conn.sf is not None else None) or _host(conn.my_domain_host)
    for ref in ("tokens", "apps", "history", "access"):
        sub: SubResult | None = answers.get(ref)
        if sub is not None and not sub.ok:
            facts.read_errors[ref] = sub.error
    if "run_as" in answers and answers["run_as"].ok:
        access.remember_permissions(conn, answers["run_as"].records)
    facts.tokens = [plain_record(r) for r in answers["tokens"].records]
    facts.apps = [plain_record(r) for r in answers["apps"].records]
    if "history" in answers:
        facts.history = [plain_record(r) for r in answers["history"].records]
    if "access" in answers:
        facts.access = [plain_record(r) for r in answers["access"].records]
    if facts.username:
        try:
            facts.grants = permissions.from_answers(answers, prefix="p_")
        except CheckError as exc:
            facts.read_errors["user"] = str(exc)
    facts.loaded = True
    return facts


def _host(value: str | None) -> str | None:
    """A bare lower-case host from a host, URL or host:port."""
    v = (value or "").strip().casefold()
    if not v:
        return None
    if "://" not in v:
        v = "//" + v
    host = urlsplit(v).hostname
    return host or None


def _found_name(facts: SiaFacts) -> str:
    """The username as Salesforce spells it (the operator may have typed another case:
    SOQL's `=` on a string compares case-insensitively), else as given."""
    user = facts.grants.user if facts.grants is not None else None
    return str((user or {}).get("Username") or facts.username)


# ------------------------------------------------------------------ checks
def _skip_branch(facts: SiaFacts, lang: str, wanted: tuple[str, ...]) -> list[Finding] | None:
    """The skip a check returns when the URL's kind is one it does not explain."""
    if facts.url.kind in wanted or facts.url.kind == NONE:
        return None
    return [RUNBOOK.finding("skip", lang, evidence={"reason": "url_kind", "url_kind": facts.url.kind},
                    summary=RUNBOOK.msg(lang, "skip_other_branch", kind=RUNBOOK.msg(lang, f"kind_{facts.url.kind}")))]


@RUNBOOK.check("error-url")
def error_url(conn: Connection, facts: SiaFacts, lang: str = "en") -> list[Finding]:
    """Classify the pasted URL, show the raw error and what Salesforce means by it (no API call)."""
    url = facts.url
    evidence = url.evidence()
    if url.kind == NONE:
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "no_url_given"}, summary=RUNBOOK.msg(lang, "url_missing"))]
    evidence["salesforce_meaning"] = meaning(url, lang)
    shown = url.error or url.description or ""
    if url.kind == RESTRICTED:
        # The org's own My Domain, as sfdoctor's connection knows it (no API call).
        host = _host(conn.sf.sf_instance if conn.sf is not None else None) or _host(conn.my_domain_host)
        return [RUNBOOK.finding("fail", lang, cause="RESTRICTED_DOMAIN", evidence=evidence,
                        case="url" if host else None, values={"host": host},
                        summary=RUNBOOK.msg(lang, "url_restricted", error=shown))]
    if url.kind == BLOCKED:
        return [RUNBOOK.finding("fail", lang, cause="OAUTH_APP_BLOCKED", evidence=evidence,
                        summary=RUNBOOK.msg(lang, "url_blocked", error=shown))]
    if access_denied(url):
        # Known: the admin-approval setting; the user check holds it against the org.
        return [RUNBOOK.finding("warn", lang, evidence=evidence, unexplained=True,
                                summary=RUNBOOK.msg(lang, "url_access_denied", error=shown))]
    # The pasted failure is the symptom itself: while no check explains it, the run is
    # inconclusive, never healthy (spec/causes.md UNRECOGNIZED_ERROR).
    if not url.error and not url.description:
        return [RUNBOOK.finding("warn", lang, cause="UNRECOGNIZED_ERROR", evidence=evidence, unexplained=True,
                        values={"error": url.url}, summary=RUNBOOK.msg(lang, "url_no_error", url=url.url))]
    return [RUNBOOK.finding("warn", lang, cause="UNRECOGNIZED_ERROR", evidence=evidence, unexplained=True,
                    values={"error": shown}, summary=RUNBOOK.msg(lang, "url_other", error=shown, meaning=evidence["salesforce_meaning"]))]


def wrong_host(aimed_at: str | None, my_domain_host: str | None, sandbox: bool) -> str | None:
    """Why the login host the connection used cannot lead to this org, or None (pure)."""
    if not aimed_at:
        return None
    if aimed_at == "login.salesforce.com":
        return "production_host" if sandbox else None
    if aimed_at == "test.salesforce.com":
        return None if sandbox else "sandbox_host"
    if not aimed_at.endswith((".salesforce.com", ".force.com")):
        return "not_salesforce"
    mine = (my_domain_host or "").split(".")[0]
    theirs = aimed_at.split(".")[0]
    if mine and theirs != mine:
        return "other_domain"
    return None


@RUNBOOK.check("target-org")
def target_org(conn: Connection, facts: SiaFacts, lang: str = "en") -> list[Finding]:
    """Restricted domain: the org behind the user (My Domain host, sandbox, edition) and whether
    the connection was aimed at a login host that cannot reach it."""
    skipped = _skip_branch(facts, lang, (RESTRICTED,))
    if skipped:
        return skipped
    load(conn, facts)
    org = facts.org or {}
    sandbox = bool(org.get("IsSandbox"))
    host = facts.instance_host or "?"
    edition = org.get("OrganizationType") or "?"
    aimed_at = _host(facts.login_host)
    why = wrong_host(aimed_at, facts.instance_host, sandbox)
    refused = [g for g in facts.history if str(g.get("Status") or "").casefold() == "restricted domain"]
    evidence: dict[str, Any] = {
        "my_domain_host": facts.instance_host, "sandbox": sandbox, "edition": org.get("OrganizationType"),
        "instance": org.get("InstanceName"),
        "expected_login_host": "test.salesforce.com" if sandbox else "login.salesforce.com",
        "aimed_at": aimed_at, "wrong_host": why,
        "restricted_domain_logins": [{"login_url": g.get("LoginUrl"), "application": g.get("Application"),
                                      "n": g.get("logins"), "last": g.get("lastLogin")} for g in refused],
    }
    if facts.username:
        grants = facts.grants
        evidence["user_found"] = None if grants is None else grants.user is not None
    if "history" in facts.read_errors and not why and not sandbox:
        # Only the history shows logins refused as "Restricted Domain": unread, nothing is known.
        raise CheckError(f"LoginHistory could not be read: {facts.read_errors['history']}")
    if "history" in facts.read_errors:
        evidence["history_unreadable"] = facts.read_errors["history"]
    elif not facts.history and not why and not sandbox:
        # Without Manage Users LoginHistory shows sfdoctor's run-as user its own rows only.
        access.check_rows_visible(conn, "login-history")
    kind = RUNBOOK.msg(lang, "sandbox" if sandbox else "production")
    if sandbox:
        if facts.url.kind == RESTRICTED or why:
            aimed = RUNBOOK.msg(lang, "aimed_at", aimed_at=aimed_at) if why else ""
            return [RUNBOOK.finding("fail", lang, cause="SANDBOX_NOT_CONFIGURED", evidence=evidence,
                            values={"aimed": aimed}, edition=facts.edition, summary=RUNBOOK.msg(lang, "org_sandbox", host=host, edition=edition,
                                                               aimed=aimed))]
        return [RUNBOOK.finding("manual", lang, cause="SANDBOX_NOT_CONFIGURED", evidence=evidence, values={"aimed": ""},
                        summary=RUNBOOK.msg(lang, "org_sandbox_unconfirmed", host=host, edition=edition))]
    if why:
        return [RUNBOOK.finding("fail", lang, cause="RESTRICTED_DOMAIN", evidence=evidence,
                        case="wrong_host", values={"why": RUNBOOK.msg(lang, f"why_{why}")},
                        summary=RUNBOOK.msg(lang, "org_wrong_host", aimed_at=aimed_at, kind=kind, host=host,
                                    why=RUNBOOK.msg(lang, f"why_{why}")))]
    if refused:
        n = sum(int(g.get("logins") or 0) for g in refused)
        last = max(str(g.get("lastLogin") or "") for g in refused)
        urls = ", ".join(sorted({str(g.get("LoginUrl") or "?") for g in refused}))
        return [RUNBOOK.finding("fail", lang, cause="RESTRICTED_DOMAIN", evidence=evidence,
                        case="refused_logins", values={"username": _found_name(facts), "login_urls": urls},
                        summary=RUNBOOK.msg(lang, "org_refused_logins", n=n, username=_found_name(facts), last=instant_text(last, lang),
                                    login_urls=urls))]
    if facts.username and facts.grants is not None and facts.grants.user is None:
        return [RUNBOOK.finding("pass", lang, evidence=evidence,
                        summary=RUNBOOK.msg(lang, "user_missing", username=facts.username))]
    return [RUNBOOK.finding("pass", lang, evidence=evidence,
                    summary=RUNBOOK.msg(lang, "org_ok" if facts.url.kind == RESTRICTED else "org_ok_no_url",
                                edition=edition, kind=kind, host=host))]


@RUNBOOK.check("user-api-enabled")
def user_api_enabled(conn: Connection, facts: SiaFacts, lang: str = "en") -> list[Finding]:
    """OAuth app blocked / another type: does anything (profile or any permission set) give the
    connecting user API Enabled? Sales Insight Actions works through the API as that user."""
    skipped = _skip_branch(facts, lang, (BLOCKED, OTHER))
    if skipped:
        return skipped
    if not facts.username:
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "no username given"},
                        summary=RUNBOOK.msg(lang, "no_username"))]
    load(conn, facts)
    if "user" in facts.read_errors:
        raise CheckError(facts.read_errors["user"])
    grants = facts.grants
    assert grants is not None
    if grants.user is None:
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "user not found",
                                                                    "username": facts.username},
                        summary=RUNBOOK.msg(lang, "user_missing", username=facts.username))]
    evidence = {"username": grants.user.get("Username"), "profile": grants.profile,
                "from_profile": grants.from_profile, "permission_sets": grants.permission_sets,
                "api_enabled_via": grants.via, "active": grants.user.get("IsActive")}
    if not grants.enabled:
        return [RUNBOOK.finding("fail", lang, cause="API_NOT_ENABLED_FOR_USER", evidence=evidence,
                        edition=facts.edition, summary=RUNBOOK.msg(lang, "api_disabled", profile=grants.profile,
                                                           username=_found_name(facts)))]
    if access_denied(facts.url):
        if "access" in facts.read_errors or "apps" in facts.read_errors:
            raise CheckError(f"SetupEntityAccess / ConnectedApplication could not be read: "
                             f"{facts.read_errors.get('access') or facts.read_errors.get('apps')}")
        admin_only = bool(facts.apps and facts.apps[0].get("OptionsAllowAdminApprovedUsersOnly"))
        app_ids = {str(a.get("Id")) for a in facts.apps}
        assigned = [str(r.get("Parent.Label") or "") for r in facts.access if str(r.get("SetupEntityId")) in app_ids]
        evidence |= {"admin_approved_users_only": admin_only, "assigned_through": assigned}
        if admin_only and not assigned:
            return [RUNBOOK.finding("fail", lang, cause="USER_NOT_APPROVED", evidence=evidence, edition=facts.edition,
                                    summary=RUNBOOK.msg(lang, "not_approved", username=_found_name(facts),
                                                        profile=grants.profile))]
    summary = RUNBOOK.msg(lang, "api_enabled", username=_found_name(facts), via=grants.via_text(lang))
    if access_denied(facts.url):
        summary += RUNBOOK.msg(lang, "approved_note" if evidence["admin_approved_users_only"] else "not_admin_only_note")
    if grants.user.get("IsActive") is False:
        summary += RUNBOOK.msg(lang, "user_inactive_note")
    return [RUNBOOK.finding("pass", lang, evidence=evidence, summary=summary)]


@RUNBOOK.check("toutapp-oauth-usage")
def oauth_usage(conn: Connection, facts: SiaFacts, lang: str = "en") -> list[Finding]:
    """ToutApp's OAuth usage (OauthToken) and connected-app row: evidence of whether and until
    when the app worked here (the block state itself is on no API)."""
    skipped = _skip_branch(facts, lang, (BLOCKED, OTHER))
    if skipped:
        return skipped
    load(conn, facts)
    for ref in ("tokens", "apps"):
        if ref in facts.read_errors:
            raise CheckError(f"{'OauthToken' if ref == 'tokens' else 'ConnectedApplication'} could not be read: "
                               f"{facts.read_errors[ref]}")
    tokens, apps = facts.tokens, facts.apps
    app = (apps[0].get("Name") if apps else None) or (tokens[0].get("AppName") if tokens else None) or APP_NAMES[0]
    users = sorted({str(t.get("User.Username") or t.get("UserId")) for t in tokens})
    last = max((str(t.get("LastUsedDate") or "") for t in tokens), default=None) or None
    mine = [t for t in tokens if str(t.get("User.Username") or "").casefold() == facts.username.casefold()] \
        if facts.username else []
    evidence = {
        "app": app, "connected_app_installed": bool(apps),
        "admin_approved_users_only": apps[0].get("OptionsAllowAdminApprovedUsersOnly") if apps else None,
        "tokens": len(tokens), "users": len(users), "use_count": sum(int(t.get("UseCount") or 0) for t in tokens),
        "last_used": last,
        "user_has_token": bool(mine) if facts.username else None,
        "user_last_used": max((str(t.get("LastUsedDate") or "") for t in mine), default=None) or None,
    }
    if not tokens:
        # Without Customize Application OauthToken shows the run-as user its own rows only.
        access.check_rows_visible(conn, "oauth-tokens")
        key = "usage_installed_only" if apps else "usage_none"
        return [RUNBOOK.finding("pass", lang, evidence=evidence, summary=RUNBOOK.msg(lang, key, app=app))]
    if facts.username:
        user_part = (RUNBOOK.msg(lang, "usage_user_has", username=_found_name(facts), last=instant_text(evidence["user_last_used"], lang))
                     if mine else RUNBOOK.msg(lang, "usage_user_none", username=_found_name(facts)))
    else:
        user_part = ""
    return [RUNBOOK.finding("pass", lang, evidence=evidence,
                    summary=RUNBOOK.msg(lang, "usage_some", app=app, users=len(users), uses=evidence["use_count"],
                                last=instant_text(last, lang), user_part=user_part).strip())]


@RUNBOOK.check("toutapp-block")
def app_block(conn: Connection, facts: SiaFacts, lang: str = "en") -> list[Finding]:
    """Is ToutApp blocked? No API shows it: the URL's OAUTH_APP_BLOCKED and the operator's
    answer from Connected Apps OAuth Usage decide (no API call)."""
    skipped = _skip_branch(facts, lang, (BLOCKED, OTHER))
    if skipped:
        return skipped
    answer = facts.oauth_usage_button if facts.oauth_usage_button in ("unblock", "block", "not_listed") else ""
    evidence = {"url_says_blocked": facts.url.kind == BLOCKED, "operator_answer": answer or None,
                "where": RUNBOOK.msg(lang, "where_oauth_usage")}
    if facts.url.kind == BLOCKED:
        suffix = RUNBOOK.msg(lang, f"block_answer_{answer or 'none'}")
        return [RUNBOOK.finding("fail", lang, cause="OAUTH_APP_BLOCKED", evidence=evidence,
                        summary=RUNBOOK.msg(lang, "block_url", answer=suffix))]
    if answer == "unblock":
        return [RUNBOOK.finding("fail", lang, cause="OAUTH_APP_BLOCKED", evidence=evidence,
                        summary=RUNBOOK.msg(lang, "block_unblock"))]
    if answer in ("block", "not_listed"):
        return [RUNBOOK.finding("pass", lang, evidence=evidence, summary=RUNBOOK.msg(lang, f"block_{answer}"))]
    return [RUNBOOK.finding("manual", lang, cause="OAUTH_APP_BLOCKED", evidence=evidence,
                    summary=RUNBOOK.msg(lang, "block_ask", field=field_ref(RUNBOOK.spec(), "oauth_usage_button", lang)))]


STEPS = RUNBOOK.steps


def run_all(run: Any, facts: SiaFacts) -> None:
    """Every step of sia-auth-failure through `run.check`, in order (the form cell)."""
    RUNBOOK.run_all(run, facts)


__all__ = ["APP_NAMES", "RUNBOOK", "STEPS", "SiaFacts", "UrlError", "app_block", "error_url", "load", "meaning",
           "oauth_usage", "parse_error_url", "queries", "run_all", "target_org", "user_api_enabled", "wrong_host"]

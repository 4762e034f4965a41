"""sia-auth-failure: Sales Insight Actions' "We were unable to authenticate your request".

The failure page's URL says which problem it is (seed 000): a login error on a restricted
domain, the OAuth app (ToutApp) blocked, or another error type. `parse_error_url` reads any
form a browser shows (query string or fragment, encoded once, twice or not at all, the
description in any case and spacing) and never drops an unknown type: it is kept verbatim.

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

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from . import permissions
from ._base import RunbookTexts, SubResult, composite_once, soql, soql_datetime

RUNBOOK = "sia-auth-failure"
# The connected app's names in "Connected Apps OAuth Usage": ToutApp (reference §6.4), and
# the product's later names, which newer installs may show.
APP_NAMES = ("ToutApp", "Sales Insight Actions", "Marketo Sales Connect")

RESTRICTED = "restricted_domain"
BLOCKED = "oauth_app_blocked"
OTHER = "other"
NONE = "none"

_ERROR_KEYS = ("error", "error_type", "errortype", "error_code", "errorcode", "login_error", "loginerror",
               "err", "reason", "type")
_DESCRIPTION_KEYS = ("error_description", "errordescription", "description", "error_message", "message", "msg")
# Never shown, even in a report: an authorisation code, tokens, the CSRF state.
_SECRET_KEYS = ("code", "state", "access_token", "refresh_token", "id_token", "token", "sid", "session",
                "assertion", "password", "client_secret", "signature")
_REMOVED = "[removed]"
# Codes whose Salesforce meaning this runbook can explain (messages meaning_<code>).
_KNOWN_MEANINGS = ("oauth_app_access_denied", "oauth_ec_app_not_found", "access_denied", "redirect_uri_mismatch",
                   "invalid_client_id", "inactive_user", "inactive_org", "api_currently_disabled",
                   "api_disabled_for_org")


_texts = RunbookTexts(RUNBOOK)
finding, msg = _texts.finding, _texts.msg


# ------------------------------------------------------------------ the failure URL (pure)
@dataclass
class UrlError:
    """What the pasted failure URL says."""

    kind: str                      # restricted_domain | oauth_app_blocked | other | none
    error: str | None = None       # the error type, verbatim (decoded)
    description: str | None = None
    where: str | None = None       # query | fragment | text
    url: str = ""                  # the URL as shown in reports: secret-bearing values removed

    def evidence(self) -> dict[str, Any]:
        return {"kind": self.kind, "error": self.error, "error_description": self.description,
                "found_in": self.where, "url": self.url}


def _compact(text: str | None) -> str:
    return re.sub(r"[^0-9a-z]", "", (text or "").casefold())


def _decode(value: str) -> str:
    """`+` as space, %-escapes undone until stable (pages often arrive encoded twice):
    the same decoding `sfdoctor diagnose` applies."""
    from ..runbooks import _decode as decode  # noqa: PLC0415

    return decode(value)


def _kind_of(text: str | None) -> str | None:
    c = _compact(text)
    if not c:
        return None
    if "restricteddomain" in c:
        return RESTRICTED
    if "oauthappblocked" in c or "appisblockedbyadmin" in c or c == "appblocked":
        return BLOCKED
    return None


def _pairs(part: str) -> list[tuple[str, str]]:
    """key=value pairs of a query string or fragment (`#/route?a=b` as well)."""
    if "=" not in part:
        return []
    if "?" in part:
        part = part.rsplit("?", 1)[1]
    return parse_qsl(part, keep_blank_values=True)


def parse_error_url(text: str) -> UrlError:
    """Classify a pasted failure URL (or query string, or bare error text); never raises."""
    raw = (text or "").strip()
    if not raw:
        return UrlError(NONE)
    # A whole URL pasted encoded (https%3A%2F%2F...): undo that layer first.
    outer = raw
    for _ in range(3):
        if re.search(r"%3[fF]|%23|%26|%3[dD]", outer) and not re.search(r"[?#&=]", outer):
            outer = unquote(outer)
        else:
            break
    parts = urlsplit(outer) if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", outer) else None
    sections = ([("query", parts.query), ("fragment", parts.fragment)] if parts
                else [("query", outer.lstrip("?#&"))])
    found: dict[str, tuple[str, str]] = {}
    for where, part in sections:
        for key, value in _pairs(part):
            k = key.strip().casefold()
            if k in _ERROR_KEYS and "error" not in found:
                found["error"] = (where, _decode(value).strip())
            elif k in _DESCRIPTION_KEYS and "description" not in found:
                found["description"] = (where, _decode(value).strip())
    shown = _redacted(parts, sections) if parts else _redacted_query(outer)
    error = found.get("error", (None, None))[1] or None
    description = found.get("description", (None, None))[1] or None
    where = (found.get("error") or found.get("description") or (None,))[0]
    kind = _kind_of(error) or _kind_of(description)
    if kind is None and not found:
        # No error field at all: the operator may have pasted the page's words or a bare code.
        kind = _kind_of(_decode(outer))
        if kind is not None:
            error, where = _decode(outer), "text"
    return UrlError(kind or OTHER, error, description, where, shown)


def _redact_pairs(part: str) -> str:
    prefix = ""
    if "?" in part and "=" in part.rsplit("?", 1)[1]:
        prefix, part = part.rsplit("?", 1)
        prefix += "?"
    if "=" not in part:
        return prefix + part
    pairs = [(k, _REMOVED if k.strip().casefold() in _SECRET_KEYS else _decode(v))
             for k, v in parse_qsl(part, keep_blank_values=True)]
    return prefix + urlencode(pairs, safe="[]/:")


def _redacted(parts: Any, sections: list[tuple[str, str]]) -> str:
    query, fragment = (_redact_pairs(p) for _, p in sections)
    url = f"{parts.scheme}://{parts.hostname or ''}{parts.path}"
    return url + (f"?{query}" if query else "") + (f"#{fragment}" if fragment else "")


def _redacted_query(text: str) -> str:
    return _redact_pairs(text.lstrip("?#&")) if "=" in text else text[:500]


def meaning(url: UrlError, lang: str) -> str:
    """What Salesforce means by the URL's error, when documented (else says so)."""
    if url.kind in (RESTRICTED, BLOCKED):
        return msg(lang, f"meaning_{url.kind}")
    code = _compact(url.error)
    for known in _KNOWN_MEANINGS:
        if code == _compact(known):
            return msg(lang, f"meaning_{known}")
    return msg(lang, "meaning_unknown")


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
    read_errors: dict[str, str] = field(default_factory=dict)
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @classmethod
    def from_params(cls, conn: Any = None, **params: Any) -> "SiaFacts":
        """From the notebook's parameters; what the run left at its default the demo operator answers."""
        operator = (getattr(conn, "operator", None) or {}) if conn is not None else {}
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


def queries(username: str, since: datetime) -> dict[str, str]:
    """The SOQL of the run's one composite (pure: tested without a server)."""
    out = {
        "org": "SELECT Id, Name, OrganizationType, IsSandbox, InstanceName FROM Organization LIMIT 1",
        "tokens": soql("SELECT AppName, UserId, User.Username, UseCount, LastUsedDate, CreatedDate FROM OauthToken "
                       "WHERE AppName IN {} ORDER BY LastUsedDate DESC LIMIT 200", list(APP_NAMES)),
        "apps": soql("SELECT Id, Name, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication "
                     "WHERE Name IN {}", list(APP_NAMES)),
    }
    if username:
        out.update(permissions.queries(username, prefix="p_"))
        by_user = soql("SELECT Id FROM User WHERE Username = {}", username)
        out["history"] = soql(
            "SELECT Status, LoginUrl, Application, LoginType, COUNT(Id) n, MAX(LoginTime) last FROM LoginHistory "
            "WHERE UserId IN ({:literal}) AND LoginTime >= {:literal} GROUP BY Status, LoginUrl, Application, LoginType",
            by_user, soql_datetime(since))
    return out


def load(conn: Any, facts: SiaFacts) -> SiaFacts:
    """Read everything once (one API call); a failed read makes every later check error alike."""
    if facts.loaded:
        return facts
    answers = composite_once(conn, facts.read_errors, "composite",
                             queries(facts.username, facts.started_at - timedelta(days=facts.days)), "the org")
    org = answers["org"]
    facts.org = _plain(org.records[0]) if org.records else {}
    facts.instance_host = _host(getattr(getattr(conn, "sf", None), "sf_instance", None)) or \
        _host(getattr(conn, "my_domain_host", None))
    for ref in ("tokens", "apps", "history"):
        sub: SubResult | None = answers.get(ref)
        if sub is not None and not sub.ok:
            facts.read_errors[ref] = sub.error
    facts.tokens = [_plain(r) for r in answers["tokens"].records]
    facts.apps = [_plain(r) for r in answers["apps"].records]
    if "history" in answers:
        facts.history = [_plain(r) for r in answers["history"].records]
    if facts.username:
        try:
            facts.grants = permissions.from_answers(answers, prefix="p_")
        except RuntimeError as exc:
            facts.read_errors["user"] = str(exc)
    facts.loaded = True
    return facts


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    from .org_info import _plain as plain  # noqa: PLC0415

    return plain(record)


def _host(value: str | None) -> str | None:
    """A bare lower-case host from a host, URL or host:port."""
    v = (value or "").strip().casefold()
    if not v:
        return None
    if "://" not in v:
        v = "//" + v
    host = urlsplit(v).hostname
    return host or None


# ------------------------------------------------------------------ checks
def _skip_branch(check_id: str, facts: SiaFacts, lang: str, wanted: tuple[str, ...]) -> list | None:
    """The skip a check returns when the URL's kind is one it does not explain."""
    if facts.url.kind in wanted or facts.url.kind == NONE:
        return None
    return [finding(check_id, "skip", lang, evidence={"reason": "url_kind", "url_kind": facts.url.kind},
                    summary=msg(lang, "skip_other_branch", kind=msg(lang, f"kind_{facts.url.kind}")))]


def error_url(conn: Any, facts: SiaFacts, lang: str = "en") -> list:
    """Classify the pasted URL, show the raw error and what Salesforce means by it (no API call)."""
    url = facts.url
    evidence = url.evidence()
    if url.kind == NONE:
        return [finding("error-url", "skip", lang, evidence={"reason": "no URL given"}, summary=msg(lang, "url_missing"))]
    evidence["salesforce_meaning"] = meaning(url, lang)
    shown = url.error or url.description or ""
    if url.kind == RESTRICTED:
        return [finding("error-url", "fail", lang, cause="RESTRICTED_DOMAIN", evidence=evidence,
                        summary=msg(lang, "url_restricted", error=shown))]
    if url.kind == BLOCKED:
        return [finding("error-url", "fail", lang, cause="OAUTH_APP_BLOCKED", evidence=evidence,
                        summary=msg(lang, "url_blocked", error=shown))]
    if not url.error and not url.description:
        return [finding("error-url", "warn", lang, cause="UNRECOGNIZED_ERROR", evidence=evidence,
                        summary=msg(lang, "url_no_error", url=url.url))]
    return [finding("error-url", "warn", lang, cause="UNRECOGNIZED_ERROR", evidence=evidence,
                    summary=msg(lang, "url_other", error=shown, meaning=evidence["salesforce_meaning"]))]


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


def target_org(conn: Any, facts: SiaFacts, lang: str = "en") -> list:
    """Restricted domain: the org behind the user (My Domain host, sandbox, edition) and whether
    the connection was aimed at a login host that cannot reach it."""
    skipped = _skip_branch("target-org", facts, lang, (RESTRICTED,))
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
                                      "n": g.get("n"), "last": g.get("last")} for g in refused],
    }
    if facts.username:
        grants = facts.grants
        evidence["user_found"] = None if grants is None else grants.user is not None
    if "history" in facts.read_errors:
        evidence["history_unreadable"] = facts.read_errors["history"]
    kind = msg(lang, "sandbox" if sandbox else "production")
    if sandbox:
        if facts.url.kind == RESTRICTED or why:
            aimed = msg(lang, "aimed_at", aimed_at=aimed_at) if why else ""
            return [finding("target-org", "fail", lang, cause="SANDBOX_NOT_CONFIGURED", evidence=evidence,
                            edition=facts.edition, summary=msg(lang, "org_sandbox", host=host, edition=edition,
                                                               aimed=aimed))]
        return [finding("target-org", "manual", lang, cause="SANDBOX_NOT_CONFIGURED", evidence=evidence,
                        summary=msg(lang, "org_sandbox_unconfirmed", host=host, edition=edition))]
    if why:
        return [finding("target-org", "fail", lang, cause="RESTRICTED_DOMAIN", evidence=evidence,
                        summary=msg(lang, "org_wrong_host", aimed_at=aimed_at, kind=kind, host=host,
                                    why=msg(lang, f"why_{why}")))]
    if refused:
        n = sum(int(g.get("n") or 0) for g in refused)
        last = max(str(g.get("last") or "") for g in refused)
        urls = ", ".join(sorted({str(g.get("LoginUrl") or "?") for g in refused}))
        return [finding("target-org", "fail", lang, cause="RESTRICTED_DOMAIN", evidence=evidence,
                        summary=msg(lang, "org_refused_logins", n=n, username=facts.username, last=last,
                                    login_urls=urls))]
    if facts.username and facts.grants is not None and facts.grants.user is None:
        return [finding("target-org", "pass", lang, evidence=evidence,
                        summary=msg(lang, "user_missing", username=facts.username))]
    return [finding("target-org", "pass", lang, evidence=evidence,
                    summary=msg(lang, "org_ok" if facts.url.kind == RESTRICTED else "org_ok_no_url",
                                edition=edition, kind=kind, host=host))]


def user_api_enabled(conn: Any, facts: SiaFacts, lang: str = "en") -> list:
    """OAuth app blocked / another type: does anything (profile or any permission set) give the
    connecting user API Enabled? Sales Insight Actions works through the API as that user."""
    skipped = _skip_branch("user-api-enabled", facts, lang, (BLOCKED, OTHER))
    if skipped:
        return skipped
    if not facts.username:
        return [finding("user-api-enabled", "skip", lang, evidence={"reason": "no username given"},
                        summary=msg(lang, "no_username"))]
    load(conn, facts)
    if "user" in facts.read_errors:
        raise RuntimeError(facts.read_errors["user"])
    grants = facts.grants
    assert grants is not None
    if grants.user is None:
        return [finding("user-api-enabled", "skip", lang, evidence={"reason": "user not found",
                                                                    "username": facts.username},
                        summary=msg(lang, "user_missing", username=facts.username))]
    evidence = {"username": grants.user.get("Username"), "profile": grants.profile,
                "from_profile": grants.from_profile, "permission_sets": grants.permission_sets,
                "api_enabled_via": grants.via, "active": grants.user.get("IsActive")}
    if not grants.enabled:
        return [finding("user-api-enabled", "fail", lang, cause="API_NOT_ENABLED_FOR_USER", evidence=evidence,
                        edition=facts.edition, summary=msg(lang, "api_disabled", profile=grants.profile,
                                                           username=facts.username))]
    summary = msg(lang, "api_enabled", username=facts.username, via=", ".join(grants.via))
    if grants.user.get("IsActive") is False:
        summary += msg(lang, "user_inactive_note")
    return [finding("user-api-enabled", "pass", lang, evidence=evidence, summary=summary)]


def oauth_usage(conn: Any, facts: SiaFacts, lang: str = "en") -> list:
    """ToutApp's OAuth usage (OauthToken) and connected-app row: evidence of whether and until
    when the app worked here (the block state itself is on no API)."""
    skipped = _skip_branch("toutapp-oauth-usage", facts, lang, (BLOCKED, OTHER))
    if skipped:
        return skipped
    load(conn, facts)
    for ref in ("tokens", "apps"):
        if ref in facts.read_errors:
            raise RuntimeError(f"{'OauthToken' if ref == 'tokens' else 'ConnectedApplication'} could not be read: "
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
        key = "usage_installed_only" if apps else "usage_none"
        return [finding("toutapp-oauth-usage", "pass", lang, evidence=evidence, summary=msg(lang, key, app=app))]
    if facts.username:
        user_part = (msg(lang, "usage_user_has", username=facts.username, last=evidence["user_last_used"]) if mine
                     else msg(lang, "usage_user_none", username=facts.username))
    else:
        user_part = ""
    return [finding("toutapp-oauth-usage", "pass", lang, evidence=evidence,
                    summary=msg(lang, "usage_some", app=app, users=len(users), uses=evidence["use_count"],
                                last=last, user_part=user_part).strip())]


def app_block(conn: Any, facts: SiaFacts, lang: str = "en") -> list:
    """Is ToutApp blocked? No API shows it: the URL's OAUTH_APP_BLOCKED and the operator's
    answer from Connected Apps OAuth Usage decide (no API call)."""
    skipped = _skip_branch("toutapp-block", facts, lang, (BLOCKED, OTHER))
    if skipped:
        return skipped
    answer = facts.oauth_usage_button if facts.oauth_usage_button in ("unblock", "block", "not_listed") else ""
    evidence = {"url_says_blocked": facts.url.kind == BLOCKED, "operator_answer": answer or None,
                "where": "Setup > Connected Apps OAuth Usage > ToutApp"}
    if facts.url.kind == BLOCKED:
        suffix = msg(lang, f"block_answer_{answer or 'none'}")
        return [finding("toutapp-block", "fail", lang, cause="OAUTH_APP_BLOCKED", evidence=evidence,
                        summary=msg(lang, "block_url", answer=suffix))]
    if answer == "unblock":
        return [finding("toutapp-block", "fail", lang, cause="OAUTH_APP_BLOCKED", evidence=evidence,
                        summary=msg(lang, "block_unblock"))]
    if answer in ("block", "not_listed"):
        return [finding("toutapp-block", "pass", lang, evidence=evidence, summary=msg(lang, f"block_{answer}"))]
    return [finding("toutapp-block", "manual", lang, cause="OAUTH_APP_BLOCKED", evidence=evidence,
                    summary=msg(lang, "block_ask"))]


# The check id RunSession records when a function raises.
for _fn, _id in (
    (error_url, "error-url"),
    (target_org, "target-org"),
    (user_api_enabled, "user-api-enabled"),
    (oauth_usage, "toutapp-oauth-usage"),
    (app_block, "toutapp-block"),
):
    _fn.check_id = _id  # type: ignore[attr-defined]

STEPS = (error_url, target_org, user_api_enabled, oauth_usage, app_block)


def run_all(run: Any, facts: SiaFacts) -> None:
    """Every step of sia-auth-failure through `run.check`, in order (the form cell)."""
    for step in STEPS:
        run.check(step, facts)


__all__ = ["APP_NAMES", "STEPS", "SiaFacts", "UrlError", "app_block", "error_url", "load", "meaning",
           "oauth_usage", "parse_error_url", "queries", "run_all", "target_org", "user_api_enabled", "wrong_host"]

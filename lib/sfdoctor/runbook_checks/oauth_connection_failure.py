"""oauth-connection-failure: an integration signing in with OAuth (connected app or External
Client App) is refused.

The pasted error says which causes to look at; the org's state decides among them. The error
is read in any form an admin has it (`read_pasted_error`): the token endpoint's JSON body (on
one line or several, or as a client library prints it), a redirect URL with `error=` in its
query or fragment (sia-auth-failure's URL reader, encoded or not), or a log line
(`invalid_grant: authentication failure`). Values that are secrets in such a paste (codes,
tokens, assertions, secrets) are never kept.

The org is read through sfdoctor's own connection, at most six API calls in all:
1. one composite: Organization, ConnectedApplication (policies SOQL shows), the integration
   user and what grants it API Enabled (checks.permissions), UserLogin (frozen, locked), the
   profile's LoginIpRange rows, the SetupEntityAccess rows that assign apps to the user's
   profile and permission sets, the user's OauthToken rows, its LoginHistory grouped by
   application and status;
2. one Metadata API readMetadata of the app (ConnectedApp; for an External Client App its
   ExtlClntAppOauthConfigurablePolicies): callback URLs, consumer key, run-as user, client
   credentials enabled, IP relaxation, refresh token policy, assigned profiles;
3. only where the error needs them, while calls remain: the profile's metadata (login hours
   and "Approve Uninstalled Connected Apps"), the org's OauthOidcSettings (is the
   username-password flow blocked), and for the client credentials flow one token request
   with the app's credentials (the probe; never a password flow, never more than one).
What no API shows (whether an app is blocked in Connected Apps OAuth Usage, which host and
secret the integration sends) is a manual step or comes from the error text.

Fidelity: object and field names are from Salesforce's object reference and the Metadata
WSDL bundled with simple-salesforce [V]; the metadata full names of External Client App
policies (`NAME_oauthPlcy`) and the spellings of IP relaxation and refresh token policy
values are [I]; "Approve Uninstalled Connected Apps" has no PermissionSet field
(PermissionsCanApproveUninstalledApps does not exist [S]), so it is read from the profile's
metadata `userPermissions` (CanApproveUninstalledApps) [S].
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote_plus

from .. import access
from ..checks import permissions
from ..checks.error_url import parse_error_url
from ..checks.query import composite_once, plain_record, soql, soql_datetime
from ..clients import Connection
from ..dates import instant_text
from ..demo.info import DemoInfo
from ..errors import CheckError
from ..findings import Finding
from ..params import field_ref
from ..registry import Runbook

MAX_API_CALLS = 6
FLOWS = ("client_credentials", "jwt_bearer", "refresh_token", "web_server", "password")


# --------------------------------------------------------------------------- the pasted error
# (error, description or None) -> the causes it points to, in the order the org decides among
# them. Texts: reference/salesforce-wire.md §2.1-2.2.
_KNOWN: list[tuple[str, str | None, tuple[str, ...], str]] = [
    ("invalid_grant", "authentication failure",
     ("USER_CANNOT_LOG_IN", "PASSWORD_FLOW_BLOCKED", "PASSWORD_OR_TOKEN_REFUSED"), "authentication_failure"),
    ("invalid_grant", "expired access/refresh token", ("USER_CANNOT_LOG_IN", "REFRESH_TOKEN_EXPIRED"),
     "refresh_expired"),
    ("invalid_grant", "ip restricted or invalid login hours", ("IP_OR_HOURS_RESTRICTED",), "ip_or_hours"),
    ("invalid_grant", "user hasn't approved this consumer",
     ("USER_CANNOT_LOG_IN", "UNINSTALLED_APP_BLOCKED", "USER_NOT_APPROVED"), "not_approved_jwt"),
    ("invalid_grant", "request not supported on this domain", ("WRONG_HOST_FOR_FLOW",), "wrong_domain"),
    ("invalid_grant", "audience validation failed", ("WRONG_HOST_FOR_FLOW",), "audience"),
    ("invalid_grant", "no client credentials user enabled", ("NO_RUN_AS_USER",), "no_run_as"),
    ("invalid_app_access", None, ("USER_NOT_APPROVED",), "not_admin_approved"),
    ("oauth_app_access_denied", None, ("USER_NOT_APPROVED",), "not_admin_approved"),
    ("invalid_client_id", None, ("APP_NOT_FOUND", "WRONG_HOST_FOR_FLOW"), "unknown_client"),
    ("oauth_ec_app_not_found", None, ("APP_NOT_FOUND", "WRONG_HOST_FOR_FLOW"), "eca_not_found"),
    ("invalid_client", "app must be installed into org", ("UNINSTALLED_APP_BLOCKED",), "uninstalled"),
    ("invalid_client", None, ("CLIENT_SECRET_INVALID",), "bad_secret"),
    ("oauth_app_blocked", None, ("APP_BLOCKED",), "blocked"),
    ("redirect_uri_mismatch", None, ("REDIRECT_URI_MISMATCH",), "redirect_mismatch"),
    ("inactive_user", None, ("USER_CANNOT_LOG_IN",), "inactive_user"),
]
_ERROR_CODES = sorted({e for e, *_ in _KNOWN} | {"invalid_request", "unsupported_grant_type", "invalid_scope",
                                                 "inactive_org", "rate_limit_exceeded", "access_denied",
                                                 "oauth_approval_error_generic", "oauth_authorization_blocked",
                                                 "unsupported_response_type", "redirect_uri_missing"},
                      key=len, reverse=True)
_SECRET_VALUE_RE = re.compile(
    r"(?i)\b(code|state|access_token|refresh_token|id_token|assertion|client_secret|password|sid|token)"
    r"(\s*[=:]\s*|%3D)[^&#\s\"',}]+")


@dataclass
class PastedError:
    """What the paste says: `error` and `description` verbatim (decoded), where they were found
    (json | query | fragment | text), the redirect_uri a pasted URL named, and the paste as shown
    in reports (secret values removed)."""

    error: str | None = None
    description: str | None = None
    found_in: str | None = None
    redirect_uri: str | None = None
    shown: str = ""

    @property
    def given(self) -> bool:
        return bool(self.error or self.description or self.shown)

    def evidence(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description, "found_in": self.found_in,
                "pasted": self.shown}


def _shown(text: str) -> str:
    return _SECRET_VALUE_RE.sub(lambda m: f"{m[1]}{m[2]}[redacted]", text.strip())[:600]


def _from_json(text: str) -> tuple[str | None, str | None]:
    """error / error_description of a JSON body, or of a JS/Python printout of one
    (`{ error: 'invalid_app_access', error_description: '...' }`)."""
    start = text.find("{")
    end = text.rfind("}")
    if start >= 0 and end > start:
        try:
            data = json.loads(text[start:end + 1])
            if isinstance(data, dict) and ("error" in data or "error_description" in data):
                return (str(data["error"]) if data.get("error") is not None else None,
                        str(data["error_description"]) if data.get("error_description") is not None else None)
        except ValueError:
            pass
    err = re.search(r"""["']?\berror["']?\s*[:=]\s*(["'])(.*?)\1""", text)
    desc = re.search(r"""["']?\berror_description["']?\s*[:=]\s*(["'])(.*?)\1""", text, re.S)
    return (err[2] if err else None, desc[2].replace("\\'", "'") if desc else None)


def read_pasted_error(text: str) -> PastedError:
    """Read a pasted OAuth error in any form (never raises; unknown texts are kept verbatim)."""

    raw = (text or "").strip()
    if not raw:
        return PastedError()
    shown = _shown(raw)
    error, description = _from_json(raw) if "{" in raw else (None, None)
    if error or description:
        return PastedError(error, description, "json", None, shown)
    if "=" in raw or "%3d" in raw.lower():
        url = parse_error_url(raw)
        if url.error or url.description:
            redirect = re.search(r"(?i)redirect_uri=([^&#\s]+)", raw)
            return PastedError(url.error, url.description, url.where, unquote_plus(redirect[1]) if redirect else None,
                               url.url)
    # A log line: `invalid_grant: authentication failure`, `(code: invalid_grant): ...`, or a bare code.
    lowered = raw.lower()
    for code in _ERROR_CODES:
        at = lowered.find(code)
        if at >= 0:
            rest = raw[at + len(code):].lstrip(" \t)\"':-–—=|,")
            return PastedError(raw[at:at + len(code)], rest.strip().strip("\"'") or None, "text", None, shown)
    for err, desc, _, _ in _KNOWN:
        if desc and desc in lowered:
            return PastedError(None, desc, "text", None, shown)
    return PastedError(None, raw[:300], "text", None, shown)


def classify(pasted: PastedError) -> tuple[str, tuple[str, ...]]:
    """(meaning key, candidate causes) of a pasted error; ("unknown", ()) when not known."""
    err = (pasted.error or "").strip().lower()
    desc = " ".join((pasted.description or "").lower().replace("+", " ").split())
    for code, text, causes, key in _KNOWN:
        if err and err != code:
            continue
        if text is None and err == code:
            return key, causes
        if text is not None and text in desc and (err == code or not err):
            return key, causes
    return "unknown", ()


# --------------------------------------------------------------------------- facts
@dataclass
class OauthFacts:
    """The run's parameters and what was read; passed from check to check."""

    oauth_error: str = ""
    oauth_app: str = ""
    oauth_flow: str = ""
    username: str = ""
    oauth_usage_button: str = ""
    days: int = 30
    pasted: PastedError = field(default_factory=PastedError)
    meaning: str = "none"
    candidates: tuple[str, ...] = ()
    my_domain: str | None = None
    consumer_key: str | None = None
    consumer_secret: str | None = None
    loaded: bool = False
    org: dict[str, Any] = field(default_factory=dict)
    apps: list[dict[str, Any]] = field(default_factory=list)
    app_row: dict[str, Any] | None = None
    app_meta: dict[str, Any] | None = None
    app_kind: str | None = None            # connected_app | external_client_app | None (not found)
    grants: permissions.ApiGrants | None = None
    user_login: dict[str, Any] = field(default_factory=dict)
    ip_ranges: list[dict[str, Any]] = field(default_factory=list)
    access: list[dict[str, Any]] = field(default_factory=list)
    tokens: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    app_tokens: dict[str, Any] = field(default_factory=dict)
    assigned_sets: list[str] = field(default_factory=list)    # the user's PermissionSetAssignment ids
    profile_meta: dict[str, Any] | None = None
    password_flow_blocked: bool | None = None
    probe: dict[str, Any] | None = None
    read_errors: dict[str, str] = field(default_factory=dict)
    found: set[str] = field(default_factory=set)     # fail causes the checks established
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @classmethod
    def from_params(cls, conn: Connection | None = None, **params: Any) -> "OauthFacts":
        """From the notebook's parameters; what the run left empty the demo operator answers,
        and the app's credentials come from the orgs file's [orgs.NAME.oauth_app] (demo: the world)."""
        operator = conn.operator if conn is not None else {}
        values = dict(params)
        for key, op_key in (("oauth_error", "oauth_error"), ("oauth_app", "oauth_app"), ("oauth_flow", "oauth_flow"),
                            ("username", "probe_username"), ("oauth_usage_button", "oauth_usage_button")):
            if not str(values.get(key) or "").strip() and operator.get(op_key):
                values[key] = operator[op_key]
        facts = cls(oauth_error=str(values.get("oauth_error") or "").strip(),
                    oauth_app=str(values.get("oauth_app") or "").strip(),
                    oauth_flow=str(values.get("oauth_flow") or "").strip().lower(),
                    username=str(values.get("username") or "").strip(),
                    oauth_usage_button=str(values.get("oauth_usage_button") or "").strip().casefold(),
                    days=max(1, int(values.get("days") or 30)))
        if facts.oauth_flow not in FLOWS:
            facts.oauth_flow = ""
        facts.my_domain = (conn.my_domain_host if conn is not None else None) or None
        facts.pasted = read_pasted_error(facts.oauth_error)
        facts.meaning, facts.candidates = classify(facts.pasted) if facts.pasted.given else ("none", ())
        facts.consumer_key, facts.consumer_secret = app_credentials(conn, operator)
        if facts.consumer_secret and conn is not None:
            conn.secrets.add(facts.consumer_secret)
        return facts

    @property
    def by_key(self) -> bool:
        """The operator named the app by its consumer key (`3MVG9…`) rather than its name."""
        return bool(re.fullmatch(r"3MVG9[A-Za-z0-9._]{4,}", self.oauth_app))

    @property
    def user(self) -> dict[str, Any] | None:
        return self.grants.user if self.grants is not None else None


RUNBOOK = Runbook("oauth-connection-failure", OauthFacts)


@RUNBOOK.demo_operator
def demo_operator(info: DemoInfo) -> dict[str, Any]:
    """The app the operator names (`oauth_app`: its name or consumer key) as the admin sees it:
    its Connected Apps OAuth Usage button (no API shows it) and its consumer key and secret,
    as the orgs file's `[orgs.NAME.oauth_app]` would give them for a real org."""
    named = str(info.operator_overrides.get("oauth_app") or "").strip()
    declared = [a for a in info.connected_apps if a.consumer_key]
    app = next((a for a in declared if a.name.lower() == named.lower()), None) or \
        next((a for a in declared if a.consumer_key == named), None) if named else None
    if app is None:
        # An app this org does not have has no row in Connected Apps OAuth Usage.
        return {"oauth_usage_button": "not_listed"} if named else {}
    return {"oauth_usage_button": "unblock" if app.blocked else ("block" if app.installed else "not_listed"),
            "oauth_consumer_key": app.consumer_key, "oauth_consumer_secret": app.consumer_secret}


def app_credentials(conn: Connection, operator: dict[str, Any]) -> tuple[str | None, str | None]:
    """(consumer key, consumer secret) of the integration's app: demo, the operator's answers;
    a real org, `[orgs.NAME.oauth_app]` (`consumer_key`, `consumer_secret_env` / `_keyring`)."""
    org_ref = conn.org_ref if conn is not None else None
    if org_ref is None or org_ref.is_demo:
        return (operator.get("oauth_consumer_key") or None, operator.get("oauth_consumer_secret") or None)
    from sfdoctor.credentials import read_ref  # noqa: PLC0415

    table = (org_ref.config or {}).get("oauth_app") or {}
    if not table:
        return None, None
    where = f"orgs.{org_ref.name}.oauth_app"
    return (read_ref(table, "consumer_key", where=where, required=False),
            read_ref(table, "consumer_secret", where=where, required=False))


def probe_identity(conn: Connection, params: dict[str, Any]) -> tuple[str, str] | None:
    """Whose credentials the probe tests (runbooks/*.yml `probe_identity`): the app's consumer
    key and secret, and only for the client credentials flow (no other flow is ever probed). The
    scheduler fingerprints them (salted, never stored) so a refused probe is not repeated with
    the same secret. The scheduler passes a stand-in with `org_ref` and `operator` only."""
    operator = getattr(conn, "operator", None) or {}
    flow = str(params.get("oauth_flow") or operator.get("oauth_flow") or "").strip().lower()
    if flow != "client_credentials":
        return None
    key, secret = app_credentials(conn, operator)
    return (key, secret) if key and secret else None


def _calls_left(conn: Connection) -> int:
    return MAX_API_CALLS - conn.counter.total


def queries(username: str, app_name: str, since: datetime) -> dict[str, str]:
    """The SOQL of the run's composite (pure: tested without a server)."""
    out = {
        "org": "SELECT Id, Name, OrganizationType, IsSandbox, InstanceName FROM Organization LIMIT 1",
        "apps": "SELECT Id, Name, OptionsAllowAdminApprovedUsersOnly, OptionsRefreshTokenValidityMetric, "
                "RefreshTokenValidityPeriod FROM ConnectedApplication ORDER BY Name LIMIT 200",
    }
    if app_name:
        out["app_tokens"] = soql("SELECT COUNT(Id) grants, SUM(UseCount) uses, MAX(LastUsedDate) lastUsed "
                                 "FROM OauthToken WHERE AppName = {}", app_name)
    if username:
        by_user = soql("SELECT Id FROM User WHERE Username = {}", username)
        out.update(permissions.queries(username, prefix="p_"))
        # sfdoctor's own permissions, for LoginHistory's and OauthToken's own-rows-only answers.
        out["run_as"] = access.PERMISSIONS_QUERY
        out["user_login"] = soql("SELECT IsFrozen, IsPasswordLocked FROM UserLogin WHERE UserId IN ({:literal})",
                                 by_user)
        out["ranges"] = soql("SELECT StartAddress, EndAddress, Description FROM LoginIpRange WHERE ProfileId IN "
                             "(SELECT ProfileId FROM User WHERE Username = {})", username)
        out["access"] = soql("SELECT SetupEntityId, Parent.Label, Parent.IsOwnedByProfile FROM SetupEntityAccess "
                             "WHERE SetupEntityType = 'ConnectedApplication' AND ParentId IN "
                             "(SELECT PermissionSetId FROM PermissionSetAssignment WHERE Assignee.Username = {})",
                             username)
        out["assigned_sets"] = soql("SELECT PermissionSetId FROM PermissionSetAssignment "
                                    "WHERE Assignee.Username = {}", username)
        out["tokens"] = soql("SELECT AppName, UseCount, LastUsedDate, CreatedDate FROM OauthToken "
                             "WHERE UserId IN ({:literal}) ORDER BY LastUsedDate DESC LIMIT 200", by_user)
        out["history"] = soql(
            "SELECT Application, Status, LoginType, COUNT(Id) logins, MAX(LoginTime) lastLogin FROM LoginHistory "
            "WHERE UserId IN ({:literal}) AND LoginTime >= {:literal} GROUP BY Application, Status, LoginType",
            by_user, soql_datetime(since))
    return out


def api_name(label: str) -> str:
    """A metadata full name from a label (`Acme ETL` -> `Acme_ETL`) [I]."""
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]", "_", label)).strip("_")


_PROFILE_API_NAMES = {"System Administrator": "Admin", "Standard User": "Standard"}


def load(conn: Connection, facts: OauthFacts) -> OauthFacts:
    """Read the org once (composite + the app's metadata); later checks reuse it."""
    if facts.loaded:
        return facts
    from sfdoctor.metadata import read_metadata  # noqa: PLC0415

    since = facts.started_at - timedelta(days=facts.days)
    name_hint = "" if facts.by_key else facts.oauth_app
    answers = composite_once(conn, facts.read_errors, "composite", queries(facts.username, name_hint, since),
                             "the org")
    facts.org = plain_record(answers["org"].records[0]) if answers["org"].records else {}
    for ref, sub in answers.items():
        if not sub.ok:
            facts.read_errors[ref] = sub.error
    facts.apps = [plain_record(r) for r in answers["apps"].records]
    if "run_as" in answers and answers["run_as"].ok:
        access.remember_permissions(conn, answers["run_as"].records)
    if facts.username:
        try:
            facts.grants = permissions.from_answers(answers, prefix="p_")
        except CheckError as exc:
            facts.read_errors["user"] = str(exc)
        facts.user_login = plain_record(answers["user_login"].records[0]) if answers["user_login"].records else {}
        facts.ip_ranges = [plain_record(r) for r in answers["ranges"].records]
        facts.access = [plain_record(r) for r in answers["access"].records]
        facts.tokens = [plain_record(r) for r in answers["tokens"].records]
        facts.history = [plain_record(r) for r in answers["history"].records]
        facts.assigned_sets = [str(r.get("PermissionSetId")) for r in answers["assigned_sets"].records]
    if "app_tokens" in answers and answers["app_tokens"].records:
        facts.app_tokens = plain_record(answers["app_tokens"].records[0])
    # The app: a connected app's row and metadata, else an External Client App's policies.
    wanted = facts.oauth_app.casefold()
    facts.app_row = next((a for a in facts.apps if str(a.get("Name") or "").casefold() == wanted), None)
    try:
        if facts.by_key or (not facts.oauth_app and facts.consumer_key):
            key = facts.oauth_app if facts.by_key else facts.consumer_key
            names = [api_name(str(a["Name"])) for a in facts.apps][:10]
            metas = read_metadata(conn, "ConnectedApp", names) if names else []
            facts.app_meta = next((m for m in metas if (m.get("oauthConfig") or {}).get("consumerKey") == key), None)
            if facts.app_meta is not None:
                facts.app_kind = "connected_app"
                label = str(facts.app_meta.get("label") or "")
                facts.app_row = next((a for a in facts.apps if a.get("Name") == label), None)
                facts.oauth_app = facts.oauth_app if not label else label
        elif facts.app_row is not None:
            metas = read_metadata(conn, "ConnectedApp", [api_name(facts.oauth_app)])
            facts.app_meta = metas[0] if metas else {}
            facts.app_kind = "connected_app"
        elif facts.oauth_app:
            metas = read_metadata(conn, "ExtlClntAppOauthConfigurablePolicies",
                                  [api_name(facts.oauth_app) + "_oauthPlcy"])
            if metas:
                facts.app_meta = metas[0]
                facts.app_kind = "external_client_app"
    except Exception as exc:  # noqa: BLE001 - the app checks say the metadata could not be read
        facts.read_errors["app_meta"] = f"{type(exc).__name__}: {exc}"[:300]
    if not facts.username and facts.oauth_flow == "client_credentials" and facts.app_meta:
        run_as = _run_as(facts)
        if run_as and _calls_left(conn) > 2:
            facts.username = run_as
            more = composite_once(conn, facts.read_errors, "composite_user", {
                k: v for k, v in queries(run_as, "", since).items() if k not in ("org", "apps")} | {
                "org": queries("", "", since)["org"]}, "the run-as user")
            for ref, sub in more.items():
                if not sub.ok:
                    facts.read_errors[ref] = sub.error
            if "run_as" in more and more["run_as"].ok:
                access.remember_permissions(conn, more["run_as"].records)
            facts.grants = permissions.from_answers(more, prefix="p_")
            facts.user_login = plain_record(more["user_login"].records[0]) if more["user_login"].records else {}
            facts.ip_ranges = [plain_record(r) for r in more["ranges"].records]
            facts.access = [plain_record(r) for r in more["access"].records]
            facts.tokens = [plain_record(r) for r in more["tokens"].records]
            facts.history = [plain_record(r) for r in more["history"].records]
            facts.assigned_sets = [str(r.get("PermissionSetId")) for r in more["assigned_sets"].records]
    facts.loaded = True
    return facts


# What each read of the composite is, as the error a check raises names it.
_READS = {"apps": "ConnectedApplication", "user_login": "UserLogin", "ranges": "LoginIpRange",
          "access": "SetupEntityAccess", "assigned_sets": "PermissionSetAssignment", "tokens": "OauthToken",
          "history": "LoginHistory"}


def _needs(facts: OauthFacts, *refs: str) -> None:
    """Raise CheckError when a read this check's verdict rests on failed: an empty answer from
    a refused read is not "nothing there" (the session makes a refused read a manual step)."""
    for ref in refs:
        if ref in facts.read_errors:
            raise CheckError(f"{_READS[ref]} could not be read: {facts.read_errors[ref]}")


def _run_as(facts: OauthFacts) -> str | None:
    meta = facts.app_meta or {}
    if facts.app_kind == "external_client_app":
        return meta.get("clientCredentialsFlowUser") or None
    return (meta.get("oauthConfig") or {}).get("oauthClientCredentialUser") or None


def _cc_enabled(facts: OauthFacts) -> bool:
    meta = facts.app_meta or {}
    if facts.app_kind == "external_client_app":
        return bool(meta.get("isClientCredentialsFlowEnabled"))
    return bool((meta.get("oauthConfig") or {}).get("isClientCredentialEnabled"))


def _consumer_key(facts: OauthFacts) -> str | None:
    """The app's consumer key as this org shows it (not a secret)."""
    meta = facts.app_meta or {}
    key = meta.get("consumerKey") if facts.app_kind == "external_client_app" else \
        (meta.get("oauthConfig") or {}).get("consumerKey")
    return str(key) if key else None


def _callbacks(facts: OauthFacts) -> list[str]:
    meta = facts.app_meta or {}
    text = (meta.get("oauthConfig") or {}).get("callbackUrl") if facts.app_kind == "connected_app" \
        else meta.get("callbackUrl")
    return [u.strip() for u in re.split(r"[\n,]", str(text or "")) if u.strip()]


def _admin_approved(facts: OauthFacts) -> bool | None:
    if facts.app_kind == "external_client_app":
        return (facts.app_meta or {}).get("permittedUsersPolicyType") == "AdminApprovedPreAuthorized"
    if facts.app_row is not None:
        return bool(facts.app_row.get("OptionsAllowAdminApprovedUsersOnly"))
    return None


def _ip_relaxation(facts: OauthFacts) -> str | None:
    meta = facts.app_meta or {}
    value = meta.get("ipRelaxationPolicyType") if facts.app_kind == "external_client_app" \
        else (meta.get("oauthPolicy") or {}).get("ipRelaxation")
    return str(value) if value else None


def _refresh_policy(facts: OauthFacts) -> str | None:
    meta = facts.app_meta or {}
    if facts.app_kind == "external_client_app":
        kind = meta.get("refreshTokenPolicyType")
        period = meta.get("refreshTokenValidityPeriod")
        return f"{kind}:{period}:{meta.get('refreshTokenValidityUnit')}" if period else (str(kind) if kind else None)
    value = (meta.get("oauthPolicy") or {}).get("refreshTokenPolicy")
    return str(value) if value else None


_POLICY_SPAN = re.compile(r"^(specific_?lifetime|specific_?inactivity):(\d+):(hours|days|weeks)$", re.I)


def policy_words(policy: str, lang: str) -> str:
    """A refresh token policy as Setup says it (`specific_lifetime:90:DAYS`, an External Client
    App's `SpecificLifetime:90:Days`, `infinite`, `zero`), in `lang`; a spelling it does not know
    stays as the metadata gives it."""
    plain = policy.strip().lower()
    if plain == "infinite":
        return RUNBOOK.msg(lang, "policy_until_revoked")
    if plain in ("zero", "immediately"):
        return RUNBOOK.msg(lang, "policy_immediately")
    m = _POLICY_SPAN.match(policy.strip())
    if not m:
        return policy
    kind = "inactivity" if "inactivity" in m[1].lower() else "lifetime"
    return RUNBOOK.msg(lang, f"policy_{kind}", n=int(m[2]), unit=RUNBOOK.msg(lang, f"unit_{m[3].lower()}"))


def _user_assigned(facts: OauthFacts) -> bool | None:
    """The user's profile or permission sets are assigned to the app (None: cannot tell)."""
    if facts.app_kind == "connected_app" and facts.app_row is not None:
        return any(a.get("SetupEntityId") == facts.app_row.get("Id") for a in facts.access)
    if facts.app_kind == "external_client_app" and facts.user is not None:
        meta = facts.app_meta or {}
        ids = {i.strip()[:15] for key in ("commaSeparatedProfile", "commaSeparatedPermissionSet")
               for i in str(meta.get(key) or "").split(",") if i.strip()}
        mine = {str(facts.user.get("ProfileId") or "")[:15]} | {str(i)[:15] for i in facts.assigned_sets}
        return bool(ids & mine)
    return None


def _app_tokens_for_user(facts: OauthFacts) -> list[dict[str, Any]]:
    name = facts.oauth_app.casefold()
    return [t for t in facts.tokens if str(t.get("AppName") or "").casefold() == name]


def _found_name(facts: OauthFacts) -> str:
    return str((facts.user or {}).get("Username") or facts.username)


def _fail(facts: OauthFacts, lang: str, cause: str, evidence: dict, summary: str,
          **values: Any) -> list[Finding]:
    """A `fail` finding of the running check, its fix filled with this case's values."""
    facts.found.add(cause)
    found = RUNBOOK.finding("fail", lang, cause=cause, evidence=evidence, summary=summary,
                    edition=facts.org.get("OrganizationType"))
    found.fix = fill(found.fix, _fix_values(facts) | values)
    return [found]


def fill(text: str, values: dict[str, Any]) -> str:
    """The fix with this case's values in place of its `{name}` placeholders (names without a
    value stay as written, so a text never breaks on a missing one)."""
    for key, value in values.items():
        if value not in (None, ""):
            text = text.replace("{" + key + "}", str(value))
    return text


def _fix_values(facts: OauthFacts) -> dict[str, Any]:
    """The values every fix may name: the app, the user, the profile, the hosts."""
    return {"app": facts.oauth_app or facts.consumer_key, "username": _found_name(facts) or None,
            "profile": facts.grants.profile if facts.grants else None, "run_as": _run_as(facts),
            "my_domain": facts.my_domain, "flow": facts.oauth_flow or None,
            "callbacks": ", ".join(_callbacks(facts)) or None, "redirect_uri": facts.pasted.redirect_uri,
            "policy": _refresh_policy(facts), "kind": facts.app_kind}


def _looks_at(facts: OauthFacts, *causes: str) -> bool:
    """Whether the pasted error points at any of `causes` (nothing pasted: everything is looked at)."""
    return not facts.pasted.given or any(c in facts.candidates for c in causes)


# --------------------------------------------------------------------------- checks
@RUNBOOK.check("pasted-error")
def pasted_error(conn: Connection, facts: OauthFacts, lang: str = "en") -> list[Finding]:
    """What the pasted error says and what Salesforce means by it (no API call). Errors whose
    text alone decides (a wrong secret, the wrong host, a blocked app) fail here."""
    p = facts.pasted
    if not p.given:
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "nothing pasted"},
                        summary=RUNBOOK.msg(lang, "paste_none"))]
    evidence = p.evidence() | {"meaning": RUNBOOK.msg(lang, f"meaning_{facts.meaning}"), "points_to": list(facts.candidates)}
    shown = " / ".join(x for x in (p.error, p.description) if x)
    if facts.meaning == "unknown":
        return [RUNBOOK.finding("warn", lang, cause="UNRECOGNIZED_ERROR", evidence=evidence,
                        summary=RUNBOOK.msg(lang, "paste_unknown", error=shown or p.shown))]
    decided = {"bad_secret": "CLIENT_SECRET_INVALID", "wrong_domain": "WRONG_HOST_FOR_FLOW",
               "audience": "WRONG_HOST_FOR_FLOW", "blocked": "APP_BLOCKED"}.get(facts.meaning)
    if decided:
        evidence["audience_for_this_org"] = ("https://test.salesforce.com" if conn.is_sandbox
                                             else "https://login.salesforce.com")
        return _fail(facts, lang, decided, evidence,
                     RUNBOOK.msg(lang, f"paste_decides_{facts.meaning}", error=shown, host=_my_domain(conn, facts),
                                 audience=evidence["audience_for_this_org"]))
    return [RUNBOOK.finding("pass", lang, evidence=evidence,
                    summary=RUNBOOK.msg(lang, "paste_read", error=shown, meaning=evidence["meaning"]))]


def _my_domain(conn: Connection, facts: OauthFacts) -> str:
    return str(conn.my_domain_host or (conn.sf.sf_instance if conn.sf is not None else "") or "?")


@RUNBOOK.check("app")
def app(conn: Connection, facts: OauthFacts, lang: str = "en") -> list[Finding]:
    """The app by name or consumer key: connected app or External Client App, installed or not,
    and the policies its error points at (run-as user, client credentials, callback URLs)."""
    if not facts.oauth_app and not facts.consumer_key:
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "no app named"}, summary=RUNBOOK.msg(lang, "app_unnamed", field=field_ref(RUNBOOK.spec(), "oauth_app", lang)))]
    load(conn, facts)
    _needs(facts, "apps")
    if "app_meta" in facts.read_errors and facts.app_row is not None:
        raise CheckError(f"the app's settings could not be read: {facts.read_errors['app_meta']}")
    name = facts.oauth_app or facts.consumer_key or "?"
    used_by_user = bool(_app_tokens_for_user(facts)) or any(
        str(h.get("Application") or "").casefold() == name.casefold() for h in facts.history)
    evidence: dict[str, Any] = {
        "app": name, "kind": facts.app_kind, "installed": facts.app_kind is not None,
        "admin_approved_users_only": _admin_approved(facts), "run_as": _run_as(facts),
        "client_credentials_enabled": _cc_enabled(facts) if facts.app_meta else None,
        "callback_urls": _callbacks(facts), "refresh_token_policy": _refresh_policy(facts),
        "ip_relaxation": _ip_relaxation(facts), "seen_in_user_tokens_or_logins": used_by_user,
        "connected_apps_in_org": len(facts.apps),
    }
    if facts.app_kind is None:
        if used_by_user or "UNINSTALLED_APP_BLOCKED" in facts.candidates:
            # Known to the org through its users' tokens and logins, but not installed.
            return _uninstalled(conn, facts, lang, evidence)
        if _looks_at(facts, "APP_NOT_FOUND"):
            return _fail(facts, lang, "APP_NOT_FOUND", evidence,
                         RUNBOOK.msg(lang, "app_not_found", app=name, host=_my_domain(conn, facts)))
        return [RUNBOOK.finding("warn", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "app_not_found_other", app=name))]
    kind = RUNBOOK.msg(lang, f"kind_{facts.app_kind}")
    if facts.oauth_flow == "client_credentials" or "NO_RUN_AS_USER" in facts.candidates:
        if not _cc_enabled(facts) or not _run_as(facts):
            return _fail(facts, lang, "NO_RUN_AS_USER", evidence,
                         RUNBOOK.msg(lang, "app_no_run_as", app=name, kind=kind))
    if "REDIRECT_URI_MISMATCH" in facts.candidates:
        sent = facts.pasted.redirect_uri
        evidence["redirect_uri_sent"] = sent
        if not sent or sent not in _callbacks(facts):
            return _fail(facts, lang, "REDIRECT_URI_MISMATCH", evidence,
                         RUNBOOK.msg(lang, "app_redirect_mismatch", app=name, sent=sent or RUNBOOK.msg(lang, "unknown_uri"),
                             callbacks=", ".join(_callbacks(facts)) or RUNBOOK.msg(lang, "none")))
    if facts.meaning == "eca_not_found":
        # The app is installed here, so the sign-in reached another org or the generic host. [S] §2.2
        return _fail(facts, lang, "WRONG_HOST_FOR_FLOW", evidence,
                     RUNBOOK.msg(lang, "app_eca_elsewhere", app=name, kind=kind, host=_my_domain(conn, facts)))
    if facts.meaning == "unknown_client":
        key = _consumer_key(facts)
        evidence["consumer_key_here"] = key
        return _fail(facts, lang, "APP_NOT_FOUND", evidence,
                     RUNBOOK.msg(lang, "app_key_elsewhere", app=name, kind=kind, key=key or "?"))
    return [RUNBOOK.finding("pass", lang, evidence=evidence,
                    summary=RUNBOOK.msg(lang, "app_ok", app=name, kind=kind, run_as=_run_as(facts) or RUNBOOK.msg(lang, "none"),
                                callbacks=", ".join(_callbacks(facts)) or RUNBOOK.msg(lang, "none")))]


def _uninstalled(conn: Connection, facts: OauthFacts, lang: str, evidence: dict) -> list:
    """An app used in the org without being installed: allowed only to users with "Approve
    Uninstalled Connected Apps" (or who approved it before September 2025)."""
    name = facts.oauth_app
    allowed = _profile_permission(conn, facts, "CanApproveUninstalledApps")
    evidence["user_may_use_uninstalled_apps"] = allowed
    evidence["where"] = RUNBOOK.msg(lang, "where_install", app=name)
    if allowed is False or (allowed is None and "UNINSTALLED_APP_BLOCKED" in facts.candidates):
        return _fail(facts, lang, "UNINSTALLED_APP_BLOCKED", evidence,
                     RUNBOOK.msg(lang, "app_uninstalled", app=name, username=_found_name(facts) or "?",
                         profile=(facts.grants.profile if facts.grants else None) or "?"))
    return [RUNBOOK.finding("warn", lang, evidence=evidence,
                    summary=RUNBOOK.msg(lang, "app_uninstalled_allowed", app=name, username=_found_name(facts)))]


def _profile_permission(conn: Connection, facts: OauthFacts, permission: str) -> bool | None:
    """A profile user permission from the profile's metadata (one readMetadata, remembered), or
    None when it could not be read (no user, no calls left)."""
    meta = _profile_meta(conn, facts)
    if meta is None:
        return None
    perms = meta.get("userPermissions") or []
    perms = perms if isinstance(perms, list) else [perms]
    return any(p.get("name") == permission and p.get("enabled") for p in perms if isinstance(p, dict))


def _profile_meta(conn: Connection, facts: OauthFacts) -> dict[str, Any] | None:
    if facts.profile_meta is not None:
        return facts.profile_meta
    profile = facts.grants.profile if facts.grants is not None else None
    if not profile or _calls_left(conn) < 2 or "profile_meta" in facts.read_errors:
        return None
    from sfdoctor.metadata import read_metadata  # noqa: PLC0415

    try:
        found = read_metadata(conn, "Profile", [_PROFILE_API_NAMES.get(profile, api_name(profile))])
    except Exception as exc:  # noqa: BLE001
        facts.read_errors["profile_meta"] = f"{type(exc).__name__}: {exc}"[:300]
        return None
    facts.profile_meta = found[0] if found else {}
    return facts.profile_meta


@RUNBOOK.check("app-block")
def app_block(conn: Connection, facts: OauthFacts, lang: str = "en") -> list[Finding]:
    """Is the app blocked? No API shows it: the error's OAUTH_APP_BLOCKED and the operator's answer
    from Connected Apps OAuth Usage decide (no API call)."""
    if not facts.oauth_app:
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "no app named"}, summary=RUNBOOK.msg(lang, "app_unnamed", field=field_ref(RUNBOOK.spec(), "oauth_app", lang)))]
    answer = facts.oauth_usage_button if facts.oauth_usage_button in ("unblock", "block", "not_listed") else ""
    evidence = {"error_says_blocked": facts.meaning == "blocked", "operator_answer": answer or None,
                "where": RUNBOOK.msg(lang, "where_oauth_usage", app=facts.oauth_app)}
    if facts.meaning == "blocked" or answer == "unblock":
        return _fail(facts, lang, "APP_BLOCKED", evidence, RUNBOOK.msg(lang, "block_yes", app=facts.oauth_app))
    if answer in ("block", "not_listed"):
        return [RUNBOOK.finding("pass", lang, evidence=evidence,
                        summary=RUNBOOK.msg(lang, f"block_{answer}", app=facts.oauth_app))]
    if not _looks_at(facts, "APP_BLOCKED") and facts.pasted.given:
        return [RUNBOOK.finding("skip", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "block_not_needed"))]
    found = RUNBOOK.finding("manual", lang, cause="APP_BLOCKED", evidence=evidence,
                    summary=RUNBOOK.msg(lang, "block_ask", app=facts.oauth_app, field=field_ref(RUNBOOK.spec(), "oauth_usage_button", lang)))
    found.fix = fill(found.fix, _fix_values(facts))
    return [found]


@RUNBOOK.check("integration-user")
def integration_user(conn: Connection, facts: OauthFacts, lang: str = "en") -> list[Finding]:
    """The integration user: active, frozen, locked, API Enabled, assigned to the app."""
    if not facts.username and not (facts.oauth_flow == "client_credentials" and facts.oauth_app):
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "no username"},
                        summary=RUNBOOK.msg(lang, "user_unnamed", field=field_ref(RUNBOOK.spec(), "username", lang)))]
    load(conn, facts)
    if not facts.username:
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "no run-as user"},
                        summary=RUNBOOK.msg(lang, "user_unnamed", field=field_ref(RUNBOOK.spec(), "username", lang)))]
    if "user" in facts.read_errors:
        raise CheckError(facts.read_errors["user"])
    user = facts.user
    if user is not None:
        _needs(facts, "user_login", "access", "assigned_sets", "apps")
    if user is None:
        return _cannot_log_in(facts, lang, {"username": facts.username, "exists": False}, ["missing"],
                              RUNBOOK.msg(lang, "user_missing", username=facts.username))
    frozen = bool(facts.user_login.get("IsFrozen"))
    locked = bool(facts.user_login.get("IsPasswordLocked"))
    grants = facts.grants
    assert grants is not None
    assigned = _user_assigned(facts)
    evidence = {"username": user.get("Username"), "active": user.get("IsActive"), "frozen": frozen, "locked": locked,
                "profile": grants.profile, "api_enabled_via": grants.via, "assigned_to_app": assigned,
                "app_admin_approved_only": _admin_approved(facts)}
    problems = [w for w, bad in (("inactive", user.get("IsActive") is False), ("frozen", frozen),
                                 ("locked", locked), ("no_api", not grants.enabled)) if bad]
    if problems:
        why = ", ".join(RUNBOOK.msg(lang, f"why_{p}") for p in problems)
        return _cannot_log_in(facts, lang, evidence | {"problems": problems}, problems,
                              RUNBOOK.msg(lang, "user_cannot", username=_found_name(facts), why=why))
    cc = facts.oauth_flow == "client_credentials"
    if not cc and _admin_approved(facts) and assigned is False and _looks_at(facts, "USER_NOT_APPROVED"):
        return _fail(facts, lang, "USER_NOT_APPROVED", evidence,
                     RUNBOOK.msg(lang, "user_not_assigned", username=_found_name(facts), profile=grants.profile,
                         app=facts.oauth_app))
    if not cc and "USER_NOT_APPROVED" in facts.candidates and not _admin_approved(facts) \
            and not _app_tokens_for_user(facts) and facts.app_kind is not None:
        return _fail(facts, lang, "USER_NOT_APPROVED", evidence,
                     RUNBOOK.msg(lang, "user_never_approved", username=_found_name(facts), app=facts.oauth_app))
    return [RUNBOOK.finding("pass", lang, evidence=evidence,
                    summary=RUNBOOK.msg(lang, "user_ok", username=_found_name(facts), via=grants.via_text(lang)))]


def _cannot_log_in(facts: OauthFacts, lang: str, evidence: dict, problems: list[str], summary: str) -> list[Finding]:
    """USER_CANNOT_LOG_IN with the steps for exactly what keeps this user out (one or more of
    inactive, frozen, locked, no API Enabled; or no such user), not the cause's whole list."""
    found = _fail(facts, lang, "USER_CANNOT_LOG_IN", evidence, summary)
    username = _found_name(facts) or facts.username
    profile = (facts.grants.profile if facts.grants else None) or "?"
    steps = [RUNBOOK.msg(lang, f"user_cannot_fix_{p}", username=username, profile=profile) for p in problems]
    head = [] if problems == ["missing"] else [RUNBOOK.msg(lang, "user_cannot_fix_head", username=username,
                                                            profile=profile)]
    found[0].fix = "\n".join(head + [f"{i}. {step}" for i, step in enumerate(steps, 1)])
    return found


@RUNBOOK.check("login-restrictions")
def login_restrictions(conn: Connection, facts: OauthFacts, lang: str = "en") -> list[Finding]:
    """The profile's login IP ranges and login hours, and whether the app relaxes IP limits."""
    if not facts.username or not _looks_at(facts, "IP_OR_HOURS_RESTRICTED"):
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "not pointed at"},
                        summary=RUNBOOK.msg(lang, "restrict_not_needed"))]
    load(conn, facts)
    if facts.user is None:
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "user not found"},
                        summary=RUNBOOK.msg(lang, "user_missing", username=facts.username))]
    _needs(facts, "ranges", "history")
    relax = (_ip_relaxation(facts) or "").lower()
    relaxed = relax in ("bypass", "relax")
    hours = (_profile_meta(conn, facts) or {}).get("loginHours") or {}
    closed_days = sorted({k[:-5] for k, v in hours.items() if k.endswith("Start") and str(v) == str(
        hours.get(k[:-5] + "End"))})
    refused = [h for h in facts.history if str(h.get("Status") or "") in ("Restricted IP", "Restricted Time")]
    ranges = [f"{r.get('StartAddress')}-{r.get('EndAddress')}" for r in facts.ip_ranges]
    evidence = {"profile": facts.grants.profile if facts.grants else None, "login_ip_ranges": ranges,
                "login_hours": hours or None, "ip_relaxation": _ip_relaxation(facts),
                "refused_logins": [{"application": h.get("Application"), "status": h.get("Status"),
                                    "n": h.get("logins"), "last": h.get("lastLogin")} for h in refused]}
    if (ranges and not relaxed) or closed_days or refused:
        if "IP_OR_HOURS_RESTRICTED" in facts.candidates or refused:
            return _fail(facts, lang, "IP_OR_HOURS_RESTRICTED", evidence,
                         RUNBOOK.msg(lang, "restricted", profile=evidence["profile"], ranges=", ".join(ranges) or
                             RUNBOOK.msg(lang, "none"), days=", ".join(closed_days) or RUNBOOK.msg(lang, "none"),
                             relax=_ip_relaxation(facts) or "?"))
        return [RUNBOOK.finding("warn", lang, evidence=evidence,
                        summary=RUNBOOK.msg(lang, "restricted_maybe", profile=evidence["profile"],
                                    ranges=", ".join(ranges) or RUNBOOK.msg(lang, "none")))]
    return [RUNBOOK.finding("pass", lang, evidence=evidence,
                    summary=RUNBOOK.msg(lang, "restrict_none", profile=evidence["profile"]))]


@RUNBOOK.check("password-flow")
def password_flow(conn: Connection, facts: OauthFacts, lang: str = "en") -> list[Finding]:
    """The org's username-password flow setting, when the flow or `authentication failure`
    points at it; with the flow allowed, `authentication failure` is the password and token."""
    if facts.oauth_flow != "password" and facts.meaning != "authentication_failure":
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "not pointed at"},
                        summary=RUNBOOK.msg(lang, "pwflow_not_needed"))]
    load(conn, facts)
    if "USER_CANNOT_LOG_IN" in facts.found:
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "the user cannot log in"},
                        summary=RUNBOOK.msg(lang, "pwflow_user_first"))]
    if facts.password_flow_blocked is None and _calls_left(conn) >= 1:
        from sfdoctor.metadata import read_metadata  # noqa: PLC0415

        found = read_metadata(conn, "OauthOidcSettings", ["OauthOidc"])
        # No OauthOidcSettings record at all says nothing about the setting (the operator looks).
        facts.password_flow_blocked = bool(found[0].get("blockOAuthUnPwFlow")) if found else None
    evidence = {"blocked": facts.password_flow_blocked, "flow": facts.oauth_flow or None,
                "where": RUNBOOK.msg(lang, "where_password_flow")}
    if facts.password_flow_blocked is None:
        return [RUNBOOK.finding("manual", lang, cause="PASSWORD_FLOW_BLOCKED", evidence=evidence,
                        summary=RUNBOOK.msg(lang, "pwflow_ask"))]
    if facts.password_flow_blocked:
        return _fail(facts, lang, "PASSWORD_FLOW_BLOCKED", evidence, RUNBOOK.msg(lang, "pwflow_blocked"))
    if facts.meaning == "authentication_failure":
        return _fail(facts, lang, "PASSWORD_OR_TOKEN_REFUSED", evidence,
                     RUNBOOK.msg(lang, "pwflow_password", username=_found_name(facts) or "?"))
    return [RUNBOOK.finding("pass", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "pwflow_allowed"))]


@RUNBOOK.check("oauth-tokens")
def refresh_tokens(conn: Connection, facts: OauthFacts, lang: str = "en") -> list[Finding]:
    """The user's OAuth tokens for the app (use count, last used, issued) and the app's refresh
    token policy."""
    if not facts.username or not facts.oauth_app:
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "no user or app"},
                        summary=RUNBOOK.msg(lang, "tokens_unnamed"))]
    load(conn, facts)
    _needs(facts, "tokens")
    mine = _app_tokens_for_user(facts)
    evidence = {"tokens": len(mine), "use_count": sum(int(t.get("UseCount") or 0) for t in mine),
                "last_used": max((str(t.get("LastUsedDate") or "") for t in mine), default=None) or None,
                "issued": min((str(t.get("CreatedDate") or "") for t in mine), default=None) or None,
                "refresh_token_policy": _refresh_policy(facts)}
    if facts.meaning == "refresh_expired" and "USER_CANNOT_LOG_IN" not in facts.found:
        key = "tokens_expired" if mine else "tokens_revoked"
        return _fail(facts, lang, "REFRESH_TOKEN_EXPIRED", evidence,
                     RUNBOOK.msg(lang, key, username=_found_name(facts), app=facts.oauth_app,
                         policy=policy_words(evidence["refresh_token_policy"] or "?", lang), last=instant_text(evidence["last_used"] or "?", lang),
                         issued=instant_text(evidence["issued"] or "?", lang)),
                     policy=policy_words(evidence["refresh_token_policy"] or "?", lang))
    if not facts.tokens:
        # OauthToken shows sfdoctor's run-as user its own rows only without Customize Application.
        access.check_rows_visible(conn, "oauth-tokens")
    if not mine:
        return [RUNBOOK.finding("pass", lang, evidence=evidence,
                        summary=RUNBOOK.msg(lang, "tokens_none", username=_found_name(facts), app=facts.oauth_app))]
    return [RUNBOOK.finding("pass", lang, evidence=evidence,
                    summary=RUNBOOK.msg(lang, "tokens_some", username=_found_name(facts), app=facts.oauth_app,
                                n=evidence["use_count"], last=instant_text(evidence["last_used"], lang)))]


@RUNBOOK.check("probe")
def probe(conn: Connection, facts: OauthFacts, lang: str = "en") -> list[Finding]:
    """Client credentials only: ONE token request with the app's own credentials on the My
    Domain host (never a password flow, never a second attempt)."""
    if facts.oauth_flow != "client_credentials":
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "not the client credentials flow"},
                        summary=RUNBOOK.msg(lang, "probe_not_cc"))]
    if not (facts.consumer_key and facts.consumer_secret):
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "no app credentials"},
                        summary=RUNBOOK.msg(lang, "probe_no_creds"))]
    if _calls_left(conn) < 1:
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "API call budget spent"},
                        summary=RUNBOOK.msg(lang, "probe_no_budget"))]
    host = _my_domain(conn, facts)
    url = f"https://{host}/services/oauth2/token"
    resp = conn.probe_session.post(url, data={"grant_type": "client_credentials"},
                                   auth=(facts.consumer_key, facts.consumer_secret), timeout=30)
    conn.counter.add_probe_login()
    try:
        body = resp.json()
    except ValueError:
        body = {}
    ok = resp.status_code == 200 and "access_token" in body
    if ok and hasattr(conn, "secrets"):
        conn.secrets.add(str(body.get("access_token")))
    result = {"status": resp.status_code, "ok": ok, "host": host, "error": body.get("error"),
              "error_description": body.get("error_description"),
              "attempts": [{"flow": "client_credentials", "host": host, "ok": ok}]}
    facts.probe = result
    if ok:
        return [RUNBOOK.finding("pass", lang, evidence=result, summary=RUNBOOK.msg(lang, "probe_ok", host=host))]
    pasted = PastedError(str(body.get("error") or ""), str(body.get("error_description") or ""), "json")
    meaning, causes = classify(pasted)
    cause = next((c for c in causes if c in ("CLIENT_SECRET_INVALID", "NO_RUN_AS_USER", "APP_NOT_FOUND",
                                              "WRONG_HOST_FOR_FLOW", "USER_CANNOT_LOG_IN", "APP_BLOCKED",
                                              "IP_OR_HOURS_RESTRICTED")), None)
    text = RUNBOOK.msg(lang, "probe_refused", host=host, error=f"{body.get('error')}: {body.get('error_description')}")
    if cause is None or (cause == "USER_CANNOT_LOG_IN" and "USER_CANNOT_LOG_IN" in facts.found):
        return [RUNBOOK.finding("warn" if cause is None else "pass", lang,
                        cause="UNRECOGNIZED_ERROR" if cause is None else None, evidence=result, summary=text)]
    return _fail(facts, lang, cause, result, text)


# LoginHistory's LoginType of OAuth sign-ins: SOQL returns the label ("Remote Access 2.0" for
# OAuth 2.0 flows, "Remote Access Client" for OAuth 1.0), the API reference names the values
# (Oauth2, Oauth); every OAuth flow's LoginSubType starts with "Oauth" (OauthJwtBearer...).
OAUTH_LOGIN_TYPES = frozenset({"remote access 2.0", "remote access client", "oauth2", "oauth"})


def is_oauth_sign_in(row: dict[str, Any]) -> bool:
    """True for a LoginHistory row (or group) of an OAuth sign-in: a SOAP or UI login of the same
    user belongs to another integration and is not this runbook's symptom."""
    return (str(row.get("LoginType") or "").casefold() in OAUTH_LOGIN_TYPES
            or str(row.get("LoginSubType") or "").casefold().startswith("oauth"))


@RUNBOOK.check("login-history")
def login_history(conn: Connection, facts: OauthFacts, lang: str = "en") -> list[Finding]:
    """The user's OAuth sign-ins in the window (through the app when one is named), by status.
    Refused ones are the symptom: unexplained, they keep the run from being healthy."""
    if not facts.username:
        return [RUNBOOK.finding("skip", lang, evidence={"reason": "no username"},
                        summary=RUNBOOK.msg(lang, "user_unnamed", field=field_ref(RUNBOOK.spec(), "username", lang)))]
    load(conn, facts)
    _needs(facts, "history")
    if not facts.history:
        # LoginHistory shows a run-as user without Manage Users its own rows only: empty proves nothing.
        access.check_rows_visible(conn, "login-history")
    name = facts.oauth_app.casefold()
    rows = [h for h in facts.history if is_oauth_sign_in(h)
            and (not name or str(h.get("Application") or "").casefold() == name)]
    evidence = {"days": facts.days, "by_status": [{"status": h.get("Status"), "n": h.get("logins"),
                                                   "last": h.get("lastLogin"), "application": h.get("Application")}
                                                  for h in rows]}
    failed = [h for h in rows if str(h.get("Status") or "") != "Success"]
    key = "history_failed" if failed else ("history_ok" if rows else "history_none")
    statuses = ", ".join(sorted({str(h.get("Status")) for h in failed}))
    # Refused sign-ins are the symptom itself: with nothing pasted and no check explaining them,
    # the run may not call the integration healthy (findings.outcome).
    return [RUNBOOK.finding("warn" if failed else "pass", lang, evidence=evidence, unexplained=bool(failed),
                    summary=RUNBOOK.msg(lang, key if facts.oauth_app else f"{key}_any_app",
                                        username=_found_name(facts), app=facts.oauth_app,
                                        days=facts.days, statuses=statuses))]


@RUNBOOK.check("explained")
def explained(conn: Connection, facts: OauthFacts, lang: str = "en") -> list[Finding]:
    """Does what the checks found explain the pasted error? An error left unexplained (an
    unknown one above all) makes the run inconclusive, never healthy."""
    if not facts.pasted.given:
        return [RUNBOOK.finding("pass", lang, evidence={"pasted": False}, summary=RUNBOOK.msg(lang, "explained_none"))]
    found = sorted(facts.found)
    evidence = {"error": facts.pasted.error, "error_description": facts.pasted.description, "causes_found": found}
    if found:
        return [RUNBOOK.finding("pass", lang, evidence=evidence,
                        summary=RUNBOOK.msg(lang, "explained_yes", causes=", ".join(found)))]
    if facts.probe and facts.probe.get("ok"):
        return [RUNBOOK.finding("pass", lang, evidence=evidence, summary=RUNBOOK.msg(lang, "explained_probe_ok"))]
    # The check ran; what it found is that the symptom stands unexplained (not an `error`,
    # which says a check could not run): the outcome rule makes the run inconclusive.
    return [RUNBOOK.finding("warn", lang, evidence=evidence, unexplained=True,
                    summary=RUNBOOK.msg(lang, "explained_no" if facts.meaning != "unknown" else "explained_unknown"))]


STEPS = RUNBOOK.steps


def run_all(run: Any, facts: OauthFacts) -> None:
    """Every step of oauth-connection-failure through `run.check`, in order (the form cell)."""
    RUNBOOK.run_all(run, facts)


__all__ = ["FLOWS", "MAX_API_CALLS", "OauthFacts", "PastedError", "RUNBOOK", "STEPS", "probe_identity", "app", "app_block", "app_credentials",
           "classify", "explained", "integration_user", "is_oauth_sign_in", "load", "login_history", "login_restrictions",
           "password_flow", "probe", "queries", "read_pasted_error", "refresh_tokens", "run_all"]

"""OAuth as the world's connected apps and External Client Apps decide it.

The token endpoint and the authorize redirects (sf_oauth) ask `decide(...)` whether an app-based
request succeeds; it answers with a reason, never with wire text. The order of the checks and
what each refusal is called follow what Salesforce documents or integrations have captured
(reference/salesforce-wire.md §2.1-2.2); where no source shows the order, the one here is the
plain one: the app first (does the org know the consumer key, is the secret right, is the app
usable here), then the host the flow needs, then the user (state, admin approval, IP ranges and
login hours unless the app relaxes them), then the flow's own material (password, refresh token,
callback URL).

Reasons (sf_oauth turns them into Salesforce's bodies):
UNKNOWN_CLIENT, EC_APP_NOT_INSTALLED, BAD_CLIENT_SECRET, WRONG_HOST, NO_RUN_AS_USER, APP_BLOCKED,
UNINSTALLED_BLOCKED, FLOW_DISABLED, BAD_ASSERTION, AUDIENCE, ASSERTION_EXPIRED, UNKNOWN_USER,
INACTIVE, FROZEN, LOCKED, NOT_APPROVED, RESTRICTED_IP, RESTRICTED_TIME, PASSWORD_FLOW_BLOCKED,
INVALID_PASSWORD (and the other password_login reasons), REFRESH_EXPIRED, REDIRECT_MISMATCH, OK.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .scenario import ConnectedApp, ip_in_ranges

__all__ = ["AppDecision", "app_by_key", "app_by_name", "consumer_key_for", "consumer_secret_for", "decide",
           "login_hours_allow", "verify_assertion"]

# The org's default time zone (Organization.TimeZoneSidKey in the demo world): login hours are
# read in it, as Salesforce reads a profile's login hours in the org's default time zone.
ORG_TIME_ZONE = ZoneInfo("Asia/Tokyo")
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SPAN_RE = re.compile(r"^(unused\s+)?(\d+)([hdw])$")
_UNITS = {"h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class AppDecision:
    """`reason` as in the module docstring; `app` the app's scenario entry; `user` the World's user
    dict when one is known; `status` the LoginHistory.Status recorded (None: no row)."""

    ok: bool
    reason: str
    app: ConnectedApp | None = None
    user: dict | None = None
    status: str | None = None


def consumer_key_for(app: ConnectedApp) -> str:
    """The app's consumer key: the scenario's, or a stable `3MVG9…` one derived from its name."""
    if app.consumer_key:
        return app.consumer_key
    return "3MVG9" + hashlib.sha256(("key:" + app.name).encode()).hexdigest()[:40]


def consumer_secret_for(app: ConnectedApp) -> str:
    """The app's consumer secret: the scenario's, or a stable one derived from its name."""
    if app.consumer_secret:
        return app.consumer_secret
    return hashlib.sha256(("secret:" + app.name).encode()).hexdigest()[:32].upper()


def app_by_key(world: Any, client_id: str) -> ConnectedApp | None:
    """The declared app whose consumer key this is (Salesforce matches keys exactly)."""
    return next((a for a in world.scenario.salesforce.connected_apps if consumer_key_for(a) == client_id), None)


def app_by_name(world: Any, name: str) -> ConnectedApp | None:
    lower = (name or "").strip().lower()
    return next((a for a in world.scenario.salesforce.connected_apps if a.name.lower() == lower), None)


def login_hours_allow(hours: dict[str, str], when: datetime) -> bool:
    """True when the profile's login hours admit `when` (no hours set: always)."""
    if not hours:
        return True
    local = when.astimezone(ORG_TIME_ZONE)
    window = hours.get(_DAYS[local.weekday()])
    if window is None:
        return True
    if window == "none":
        return False
    start, end = ((int(t[:2]) * 60 + int(t[3:])) for t in window.split("-"))
    minute = local.hour * 60 + local.minute
    return start <= minute < end


def refresh_expired(policy: str, created: datetime, last_used: datetime, now: datetime) -> bool:
    """Whether a refresh token issued at `created` and last used at `last_used` has expired
    under the app's refresh token policy (scenario spelling: until_revoked, immediately, 90d,
    unused 90d)."""
    if policy == "until_revoked":
        return False
    if policy == "immediately":
        return True
    m = _SPAN_RE.match(policy)
    if not m:
        return False
    span = timedelta(seconds=int(m[2]) * _UNITS[m[3]])
    return now - (last_used if m[1] else created) > span


def verify_assertion(app: ConnectedApp, assertion: str) -> dict[str, Any] | None:
    """The claims of a JWT bearer assertion whose RS256 signature the app's certificate
    verifies (PyJWT over `cryptography`, exactly as a real org checks the uploaded
    certificate), else None. Audience and expiry are the caller's to judge."""
    import jwt  # noqa: PLC0415
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives.serialization import load_pem_public_key  # noqa: PLC0415

    if not app.certificate:
        return None
    pem = app.certificate.encode()
    try:
        key = (x509.load_pem_x509_certificate(pem).public_key() if b"CERTIFICATE" in pem
               else load_pem_public_key(pem))
        return jwt.decode(assertion, key, algorithms=["RS256"],
                          options={"verify_aud": False, "verify_exp": False, "verify_iat": False,
                                   "verify_nbf": False})
    except (jwt.PyJWTError, ValueError):
        return None


def _is_my_domain(world: Any, host: str) -> bool:
    h = (host or "").strip().lower().removesuffix(":443")
    return h == world.my_domain_host or h.split(":")[0] in ("127.0.0.1", "localhost", "[::1]")


def _assigned(world: Any, app: ConnectedApp, user: dict) -> bool:
    """The user's profile or one of its permission sets is assigned to the app."""
    sf = world.scenario.salesforce
    u = sf.user(user["Username"])
    return bool(u and (u.profile in app.profiles or set(u.permission_sets) & set(app.permission_sets)))


def _may_use_uninstalled(world: Any, user: dict) -> bool:
    """"Approve Uninstalled Connected Apps" from the profile (System Administrator by default,
    as Salesforce assigns it) or a permission set."""
    sf = world.scenario.salesforce
    u = sf.user(user["Username"])
    if u is None:
        return False
    profile = sf.profile(u.profile)
    granted = profile.approve_uninstalled_apps if profile and profile.approve_uninstalled_apps is not None \
        else bool(profile and profile.is_admin_profile)
    return granted or any(ps.approve_uninstalled_apps for ps in sf.permission_sets if ps.name in u.permission_sets)


def _user_gate(world: Any, app: ConnectedApp, user: dict, flow: str, *, source_ip: str) -> str | None:
    """The reason a known user may not use the app now, or None."""
    if not world.scenario.salesforce.api_enabled:
        return "API_DISABLED_FOR_ORG"
    if not user["IsActive"]:
        return "INACTIVE"
    if user.get("IsFrozen"):
        return "FROZEN"
    if user.get("IsPasswordLocked"):
        return "LOCKED"
    if flow != "client_credentials":
        if not app.installed and app.kind == "connected_app" and not world.has_grant(app.name, user["Id"]) \
                and not _may_use_uninstalled(world, user):
            return "UNINSTALLED_BLOCKED"
        if app.admin_approved_only and not _assigned(world, app, user):
            return "NOT_APPROVED"
        if not app.admin_approved_only and flow == "jwt_bearer" and not world.has_grant(app.name, user["Id"]):
            # "All users may self-authorize": the JWT flow needs an earlier approval by the user.
            return "NOT_APPROVED"
    sf = world.scenario.salesforce
    u = sf.user(user["Username"])
    profile = sf.profile(u.profile) if u else None
    if profile is not None:
        if profile.login_ip_ranges and app.ip_relaxation != "relax" and not ip_in_ranges(source_ip,
                                                                                        profile.login_ip_ranges):
            return "RESTRICTED_IP"
        if not login_hours_allow(dict(profile.login_hours), world.now()):
            return "RESTRICTED_TIME"
    return None


def decide(world: Any, flow: str, *, client_id: str, host: str, client_secret: str | None = None,
           username: str | None = None, refresh_token: str | None = None, claims: dict | None = None,
           assertion_ok: bool = True, redirect_uri: str | None = None, source_ip: str | None = None,
           check_secret: bool = True) -> AppDecision:
    """Decide an app-based request; `flow` is client_credentials, jwt_bearer, refresh_token,
    web_server (authorize or code exchange) or password (the caller then checks the password
    with World.password_login). Nothing is recorded here; `World.record_app_login` does that."""
    app = app_by_key(world, client_id)
    if app is None:
        return AppDecision(False, "UNKNOWN_CLIENT")
    if app.kind == "external_client_app" and not app.installed:
        return AppDecision(False, "EC_APP_NOT_INSTALLED", app)
    if check_secret and client_secret is not None and client_secret != consumer_secret_for(app):
        return AppDecision(False, "BAD_CLIENT_SECRET", app)
    if check_secret and client_secret is None and flow in ("client_credentials", "password"):
        return AppDecision(False, "BAD_CLIENT_SECRET", app)
    if flow == "client_credentials" and not _is_my_domain(world, host):
        return AppDecision(False, "WRONG_HOST", app)
    if flow == "password" and world.scenario.salesforce.password_flow_blocked:
        user = world.user_by_username(username or "")
        return AppDecision(False, "PASSWORD_FLOW_BLOCKED", app, user)
    if app.blocked:
        return AppDecision(False, "APP_BLOCKED", app)
    if flow == "web_server" and redirect_uri is not None and redirect_uri not in app.callback_urls:
        return AppDecision(False, "REDIRECT_MISMATCH", app)
    if flow == "client_credentials":
        if "client_credentials" not in app.flows or not app.run_as:
            return AppDecision(False, "NO_RUN_AS_USER", app)
        username = app.run_as
    elif flow not in app.flows:
        return AppDecision(False, "FLOW_DISABLED", app)
    if flow == "jwt_bearer":
        if not assertion_ok or claims is None:
            return AppDecision(False, "BAD_ASSERTION", app)
        username = str(claims.get("sub") or "")
    user = world.user_by_username(username or "") if username else None
    if flow == "refresh_token":
        grant = world.grant_by_refresh_token(app.name, refresh_token or "")
        if grant is None:
            return AppDecision(False, "REFRESH_EXPIRED", app)
        user = world.user(grant["user_id"])
        if refresh_expired(app.refresh_token_policy, grant["created"], grant["last_used"], world.now()):
            return AppDecision(False, "REFRESH_EXPIRED", app, user)
    if user is None:
        return AppDecision(False, "UNKNOWN_USER", app)
    refusal = _user_gate(world, app, user, flow, source_ip=source_ip or world.client_ip)
    if refusal:
        return AppDecision(False, refusal, app, user)
    return AppDecision(True, "OK", app, user)


# --------------------------------------------------------------------------- Metadata API reads
# What readMetadata answers for the app-side settings no SOQL object carries. Element names are
# the WSDL's (simple-salesforce's bundled metadata.wsdl: ConnectedApp, ConnectedAppOauthConfig,
# ConnectedAppOauthPolicy, ExtlClntAppGlobalOauthSettings, ExtlClntAppOauthConfigurablePolicies,
# Profile/ProfileLoginHours, OauthOidcSettings) [V]; the values' spellings below are [I].
_IP_RELAXATION_CA = {"enforce": "ENFORCE", "relax_with_activation": "ENFORCE_ACTIVATED_DEVICES", "relax": "BYPASS"}
_IP_RELAXATION_ECA = {"enforce": "Enforce", "relax_with_activation": "Bypass_2factor", "relax": "Bypass"}
_PROFILE_API_NAMES = {"System Administrator": "Admin", "Standard User": "Standard"}


def api_name(label: str) -> str:
    """A metadata full name from a label (`Acme ETL` -> `Acme_ETL`)."""
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]", "_", label)).strip("_")


def profile_api_name(name: str) -> str:
    """A profile's metadata full name (the standard ones have their own: Admin, Standard)."""
    return _PROFILE_API_NAMES.get(name, api_name(name))


def _x(text: Any) -> str:
    from xml.sax.saxutils import escape  # noqa: PLC0415

    return escape(str(text))


def _refresh_ca(policy: str) -> str:
    if policy == "until_revoked":
        return "infinite"
    if policy == "immediately":
        return "zero"
    m = _SPAN_RE.match(policy)
    unit = {"h": "HOURS", "d": "DAYS", "w": "WEEKS"}[m[3]] if m else "DAYS"
    return f"{'specific_inactivity' if m and m[1] else 'specific_lifetime'}:{m[2] if m else 0}:{unit}"


def _refresh_eca(policy: str) -> tuple[str, str]:
    if policy == "until_revoked":
        return "<refreshTokenPolicyType>Infinite</refreshTokenPolicyType>", ""
    if policy == "immediately":
        return "<refreshTokenPolicyType>Zero</refreshTokenPolicyType>", ""
    m = _SPAN_RE.match(policy)
    kind = "SpecificInactivity" if m and m[1] else "SpecificLifetime"
    unit = {"h": "Hours", "d": "Days", "w": "Weeks"}[m[3]] if m else "Days"
    return (f"<refreshTokenPolicyType>{kind}</refreshTokenPolicyType>"
            f"<refreshTokenValidityPeriod>{m[2] if m else 0}</refreshTokenValidityPeriod>",
            f"<refreshTokenValidityUnit>{unit}</refreshTokenValidityUnit>")


def metadata_record(world: Any, type_name: str, full_name: str) -> str | None:
    """`<records xsi:type=...>` for one readMetadata name, or None when the world has none."""
    sf = world.scenario.salesforce
    if type_name == "OauthOidcSettings" and full_name == "OauthOidc":
        blocked = "true" if sf.password_flow_blocked else "false"
        return (f'<records xsi:type="OauthOidcSettings"><fullName>OauthOidc</fullName>'
                f"<blockOAuthUnPwFlow>{blocked}</blockOAuthUnPwFlow><blockOAuthUsrAgtFlow>true</blockOAuthUsrAgtFlow>"
                "</records>")
    if type_name == "Profile":
        profile = next((p for p in sf.profiles if profile_api_name(p.name) == full_name), None)
        if profile is None:
            return None
        hours = ""
        if profile.login_hours:
            parts = []
            for day in sorted(profile.login_hours):
                window = profile.login_hours[day]
                start, end = (0, 0) if window == "none" else (
                    int(t[:2]) * 60 + int(t[3:]) for t in window.split("-"))
                parts.append(f"<{day}End>{end}</{day}End><{day}Start>{start}</{day}Start>")
            hours = "<loginHours>" + "".join(sorted(parts)) + "</loginHours>"
        ranges = "".join(f"<loginIpRanges>{'<description>' + _x(r.description) + '</description>' if r.description else ''}"
                         f"<endAddress>{r.end}</endAddress><startAddress>{r.start}</startAddress></loginIpRanges>"
                         for r in profile.login_ip_ranges)
        approve = profile.approve_uninstalled_apps if profile.approve_uninstalled_apps is not None \
            else profile.is_admin_profile
        perms = "".join(f"<userPermissions><enabled>true</enabled><name>{n}</name></userPermissions>"
                        for n, on in (("ApiEnabled", profile.api_enabled), ("CanApproveUninstalledApps", approve))
                        if on)
        return (f'<records xsi:type="Profile"><fullName>{_x(full_name)}</fullName><custom>'
                f"{'false' if profile.name in _PROFILE_API_NAMES else 'true'}</custom>{hours}{ranges}"
                f"<userLicense>{_x(profile.user_license)}</userLicense>{perms}</records>")
    if type_name == "ConnectedApp":
        app = next((a for a in sf.connected_apps if a.kind == "connected_app" and a.installed
                    and api_name(a.name) == full_name), None)
        if app is None:
            return None
        cert = f"<certificate>{_x(app.certificate)}</certificate>" if app.certificate else ""
        run_as = f"<oauthClientCredentialUser>{_x(app.run_as)}</oauthClientCredentialUser>" if app.run_as else ""
        return (f'<records xsi:type="ConnectedApp"><fullName>{_x(full_name)}</fullName>'
                f"<contactEmail>admin@{world.my_domain_host}</contactEmail><label>{_x(app.name)}</label>"
                f"<oauthConfig><callbackUrl>{_x(chr(10).join(app.callback_urls))}</callbackUrl>{cert}"
                f"<consumerKey>{_x(consumer_key_for(app))}</consumerKey>"
                f"<isAdminApproved>{'true' if app.admin_approved_only else 'false'}</isAdminApproved>"
                f"<isClientCredentialEnabled>{'true' if 'client_credentials' in app.flows else 'false'}"
                f"</isClientCredentialEnabled>{run_as}<scopes>Api</scopes><scopes>RefreshToken</scopes></oauthConfig>"
                f"<oauthPolicy><ipRelaxation>{_IP_RELAXATION_CA[app.ip_relaxation]}</ipRelaxation>"
                f"<refreshTokenPolicy>{_refresh_ca(app.refresh_token_policy)}</refreshTokenPolicy></oauthPolicy>"
                + "".join(f"<permissionSetName>{_x(api_name(p))}</permissionSetName>" for p in app.permission_sets)
                + "".join(f"<profileName>{_x(p)}</profileName>" for p in app.profiles) + "</records>")
    eca = {"ExternalClientApplication": "", "ExtlClntAppGlobalOauthSettings": "_glbloauth",
           "ExtlClntAppOauthConfigurablePolicies": "_oauthPlcy"}
    if type_name in eca:
        app = next((a for a in sf.connected_apps if a.kind == "external_client_app" and a.installed
                    and api_name(a.name) + eca[type_name] == full_name), None)
        if app is None:
            return None
        head = f'<records xsi:type="{type_name}"><fullName>{_x(full_name)}</fullName>'
        if type_name == "ExternalClientApplication":
            return head + f"<distributionState>Local</distributionState><label>{_x(app.name)}</label></records>"
        if type_name == "ExtlClntAppGlobalOauthSettings":
            cert = f"<certificate>{_x(app.certificate)}</certificate>" if app.certificate else ""
            return (head + f"<callbackUrl>{_x(chr(10).join(app.callback_urls))}</callbackUrl>{cert}"
                    f"<consumerKey>{_x(consumer_key_for(app))}</consumerKey>"
                    f"<externalClientApplication>{_x(api_name(app.name))}</externalClientApplication>"
                    f"<isClientCredentialsFlowEnabled>{'true' if 'client_credentials' in app.flows else 'false'}"
                    f"</isClientCredentialsFlowEnabled><label>{_x(app.name)}</label></records>")
        refresh, unit = _refresh_eca(app.refresh_token_policy)
        run_as = f"<clientCredentialsFlowUser>{_x(app.run_as)}</clientCredentialsFlowUser>" if app.run_as else ""
        # Both lists hold ids (ExtlClntAppOauthConfigurablePolicies doc) [V].
        set_ids = world.setup_ids([], app.permission_sets)
        profile_ids = world.setup_ids(app.profiles, [])
        sets = f"<commaSeparatedPermissionSet>{','.join(set_ids)}</commaSeparatedPermissionSet>" if set_ids else ""
        profs = f"<commaSeparatedProfile>{','.join(profile_ids)}</commaSeparatedProfile>" if profile_ids else ""
        permitted = "AdminApprovedPreAuthorized" if app.admin_approved_only else "AllSelfAuthorized"
        return (head + run_as + sets + profs
                + f"<externalClientApplication>{_x(api_name(app.name))}</externalClientApplication>"
                f"<ipRelaxationPolicyType>{_IP_RELAXATION_ECA[app.ip_relaxation]}</ipRelaxationPolicyType>"
                f"<isClientCredentialsFlowEnabled>{'true' if 'client_credentials' in app.flows else 'false'}"
                f"</isClientCredentialsFlowEnabled><label>{_x(app.name)}</label>"
                f"<permittedUsersPolicyType>{permitted}</permittedUsersPolicyType>{refresh}{unit}</records>")
    return None

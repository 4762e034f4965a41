"""Salesforce OAuth 2.0 token endpoint: client credentials, username-password, JWT bearer.

sfdoctor's own connection uses the client-credentials flow on the My Domain host (as
Salesforce requires for that flow); the username-password and JWT flows are what other
integrations use and what a runbook may probe. Bodies and statuses follow
reference/salesforce-wire.md §2.1: success is a JSON object with `issued_at` as a *string* of
epoch millis; every error is HTTP 400 with `{"error", "error_description"}` (simple-salesforce
raises `SalesforceAuthenticationFailed(error, error_description)` from exactly those keys).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import unquote_plus

from .wire import SimRequest, SimResponse

__all__ = ["handle", "token_error", "OAUTH_PASSWORD_ERRORS"]

# Headers Salesforce sends on token responses (real recording, reference §2.1).
_NO_CACHE = {
    "Cache-Control": "no-cache, no-store",
    "Pragma": "no-cache",
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
}

_AUTH_FAILURE = ("invalid_grant", "authentication failure")

# World LoginDecision.reason -> (error, error_description) for the token endpoint.
OAUTH_PASSWORD_ERRORS: dict[str, tuple[str, str]] = {
    "TOKEN_REQUIRED": _AUTH_FAILURE,            # [V] generic failure; modern orgs no longer append the status
    "INVALID_PASSWORD": _AUTH_FAILURE,          # [V]
    "INVALID_TOKEN": _AUTH_FAILURE,             # [V]
    "UNKNOWN_USER": _AUTH_FAILURE,              # [V]
    "LOCKED": _AUTH_FAILURE,                    # [I]
    "FROZEN": _AUTH_FAILURE,                    # [I]
    "WRONG_HOST": _AUTH_FAILURE,                # [I]
    "INACTIVE": ("inactive_user", "user is inactive"),                          # [V-doc list]
    "RESTRICTED_IP": ("invalid_grant", "IP restricted or invalid login hours"),  # [V-doc list]
    "API_DISABLED_FOR_ORG": _AUTH_FAILURE,      # [I] no captured body found
    "API_DISABLED_FOR_USER": _AUTH_FAILURE,     # [I]
    "UNKNOWN_CLIENT": ("invalid_client_id", "client identifier invalid"),      # [V]
    "BAD_CLIENT_SECRET": ("invalid_client", "invalid client credentials"),     # [V]
    "RESTRICTED_TIME": ("invalid_grant", "IP restricted or invalid login hours"),  # [V-doc list]
}

# oauth_apps.decide reasons -> the token endpoint's (error, error_description), HTTP 400.
APP_TOKEN_ERRORS: dict[str, tuple[str, str]] = {
    **OAUTH_PASSWORD_ERRORS,
    "EC_APP_NOT_INSTALLED": ("invalid_client_id", "client identifier invalid"),      # [I] the org knows no such key
    "WRONG_HOST": ("invalid_grant", "request not supported on this domain"),         # [S] §2.1
    "NO_RUN_AS_USER": ("invalid_grant", "no client credentials user enabled"),       # [S] §2.1
    "APP_BLOCKED": ("OAUTH_APP_BLOCKED", "this app is blocked by admin"),            # [I] the redirect's pair, as JSON
    "UNINSTALLED_BLOCKED": ("invalid_client", "app must be installed into org"),     # [S] docs.movedata.io capture
    "FLOW_DISABLED": ("invalid_grant", "authentication failure"),                    # [I]
    "PASSWORD_FLOW_BLOCKED": _AUTH_FAILURE,         # [V] kafka-docker-playground#4178: the blocked flow answers this
    "BAD_ASSERTION": ("invalid_grant", "invalid assertion"),                         # [I]
    "AUDIENCE": ("invalid_grant", "Audience validation failed"),                     # [V] help doc example
    "ASSERTION_EXPIRED": ("invalid_grant", "expired authorization code"),            # [I]
    "REFRESH_EXPIRED": ("invalid_grant", "expired access/refresh token"),            # [V] help "OAuth 2.0 Authorization Errors"
    "REDIRECT_MISMATCH": ("redirect_uri_mismatch", "redirect_uri must match configuration"),  # [V] §2.2
    "BAD_CODE": ("invalid_grant", "invalid authorization code"),                     # [I]
}
# JWT bearer: a user the app does not admit answers the one string simple-salesforce special-cases. [V]
_JWT_NOT_APPROVED = ("invalid_grant", "user hasn't approved this consumer")
# Password flow against an admin-approved app the user is not assigned to. [S] §2.1
_PASSWORD_NOT_APPROVED = ("invalid_app_access", "user is not admin approved to access this app")

# oauth_apps.decide reasons -> the authorize endpoint's redirect (error, error_description). [V]/[S] §2.2
AUTHORIZE_ERRORS: dict[str, tuple[str, str]] = {
    "APP_BLOCKED": ("OAUTH_APP_BLOCKED", "this app is blocked by admin"),                            # [V]
    "NOT_APPROVED": ("OAUTH_APP_ACCESS_DENIED", "user is not admin approved to access this app"),    # [V]
    "EC_APP_NOT_INSTALLED": ("OAUTH_EC_APP_NOT_FOUND", "External client app is not installed in this org"),  # [S]
    "INACTIVE": ("inactive_user", "user is inactive"),                                               # [V-doc]
    "RESTRICTED_IP": ("invalid_grant", "IP restricted or invalid login hours"),                      # [V-doc]
    "RESTRICTED_TIME": ("invalid_grant", "IP restricted or invalid login hours"),                    # [V-doc]
    "FLOW_DISABLED": ("unsupported_response_type", "response type not supported"),                   # [V-doc] [I] when
}
# Sub types LoginHistory shows per flow (reference §4.1).
_SUB_TYPES = {"client_credentials": "OauthClientCredentials", "password": "OauthUsernamePassword",
              "web_server": "OauthWebServer", "refresh_token": "OauthRefreshToken", "jwt_bearer": "OauthJwtBearer"}

_GRANT_JWT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def token_error(error: str, description: str, status: int = 400) -> SimResponse:
    """`{"error", "error_description"}` with Salesforce's no-cache headers."""
    return SimResponse.json({"error": error, "error_description": description}, status, _NO_CACHE)


def handle(req: SimRequest, world: Any) -> SimResponse | None:
    """/services/oauth2/token (POST) and /services/oauth2/userinfo; None for other paths."""
    path = req.path.rstrip("/")
    if path == "/services/oauth2/token":
        if req.method != "POST":
            return token_error("invalid_request", "must use HTTP POST")  # [V-doc list]
        return _token(req, world)
    if path == "/services/oauth2/userinfo":
        return _userinfo(req, world)
    if path == "/services/oauth2/authorize":
        return _authorize(req, world)
    return None


# --------------------------------------------------------------------------- token

def _client_from_request(req: SimRequest, form: dict[str, str]) -> tuple[str | None, str | None]:
    """client_id/secret from HTTP Basic auth (what simple-salesforce sends for client
    credentials) or from the form body."""
    auth = req.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            raw = base64.b64decode(auth.split(None, 1)[1]).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, IndexError):
            return None, None
        client_id, _, secret = raw.partition(":")
        return unquote_plus(client_id), unquote_plus(secret)
    return form.get("client_id"), form.get("client_secret")


def _token(req: SimRequest, world: Any) -> SimResponse:
    content_type = req.headers.get("content-type", "")
    if req.body and "json" in content_type:
        return token_error("unsupported_grant_type", "grant type not supported")  # [I] Salesforce reads forms only
    form = req.form()
    grant = form.get("grant_type")
    if not grant:
        return token_error("invalid_request", "grant type is missing")  # [V-doc list]
    client_id, _ = _client_from_request(req, form)
    from .store import DEMO_CLIENT_ID  # noqa: PLC0415

    if grant == _GRANT_JWT:
        iss = _jwt_issuer(form.get("assertion", ""))
        if iss is not None and iss != DEMO_CLIENT_ID and _app_known(world, iss):
            return _app_token(req, world, form, "jwt_bearer", iss)
        return _jwt_bearer(req, world, form)
    if client_id and client_id != DEMO_CLIENT_ID and _app_known(world, client_id) and grant in _APP_GRANTS:
        return _app_token(req, world, form, _APP_GRANTS[grant], client_id)
    if grant == "client_credentials":
        return _client_credentials(req, world, form)
    if grant == "password":
        return _password(req, world, form)
    if grant in ("refresh_token", "authorization_code"):
        return token_error("invalid_client_id", "client identifier invalid")  # [V] no such app here
    return token_error("unsupported_grant_type", "grant type not supported")  # [S]


_APP_GRANTS = {"client_credentials": "client_credentials", "password": "password",
               "refresh_token": "refresh_token", "authorization_code": "web_server"}


def _app_known(world: Any, client_id: str) -> bool:
    """Any client id other than sfdoctor's own goes to the world's apps (an unknown one
    included: the app path answers invalid_client_id as Salesforce does)."""
    return bool(client_id)


def _jwt_issuer(assertion: str) -> str | None:
    parts = assertion.split(".")
    if len(parts) != 3:
        return None
    try:
        iss = _b64url_json(parts[1]).get("iss")
    except (ValueError, binascii.Error, AttributeError):
        return None
    return iss if isinstance(iss, str) else None


def _app_token(req: SimRequest, world: Any, form: dict[str, str], flow: str, client_id: str) -> SimResponse:
    """A token request for one of the world's connected apps / External Client Apps."""
    from . import oauth_apps  # noqa: PLC0415

    _, secret = _client_from_request(req, form)
    claims: dict | None = None
    assertion_ok = True
    if flow == "jwt_bearer":
        app = oauth_apps.app_by_key(world, client_id)
        claims = oauth_apps.verify_assertion(app, form.get("assertion", "")) if app else None
        assertion_ok = claims is not None
        if claims is not None:
            problem = _assertion_problem(req, world, claims)
            if problem:
                return token_error(*APP_TOKEN_ERRORS[problem])
    code_user = None
    if flow == "web_server":
        code_user = world.redeem_code(form.get("code", ""), client_id, form.get("redirect_uri", ""))
        if code_user is None:
            return token_error(*APP_TOKEN_ERRORS["BAD_CODE"])
        if code_user == "REDIRECT_MISMATCH":
            return token_error(*APP_TOKEN_ERRORS["REDIRECT_MISMATCH"])
    decision = oauth_apps.decide(world, flow, client_id=client_id, host=req.host, client_secret=secret,
                                 username=form.get("username") or (code_user or {}).get("Username"),
                                 refresh_token=form.get("refresh_token"), claims=claims, assertion_ok=assertion_ok,
                                 check_secret=flow != "jwt_bearer" and (flow != "refresh_token" or secret is not None))
    app_name = decision.app.name if decision.app else ""
    if decision.ok and flow == "password":
        login = world.password_login(form.get("username", ""), form.get("password", ""), host=req.host,
                                     channel="oauth_password", application=app_name)
        if not login.ok:
            return token_error(*APP_TOKEN_ERRORS.get(login.reason, _AUTH_FAILURE))
        return _success(req, world, login.user, scope=None, client_secret=secret or "")
    if decision.user is not None and decision.reason not in ("UNKNOWN_CLIENT", "BAD_CLIENT_SECRET"):
        from .store import STATUS  # noqa: PLC0415

        status = STATUS.get(decision.reason, "Failed: Not approved for access" if decision.reason == "NOT_APPROVED"
                            else "Failed: OAuth App Access Denied")   # [I] statuses for app-level refusals
        world.record_app_login(decision.user["Id"], app_name=app_name, sub_type=_SUB_TYPES[flow], host=req.host,
                               status=status)
    if not decision.ok:
        if decision.reason == "NOT_APPROVED":
            return token_error(*(_JWT_NOT_APPROVED if flow == "jwt_bearer" else _PASSWORD_NOT_APPROVED))
        return token_error(*APP_TOKEN_ERRORS.get(decision.reason, _AUTH_FAILURE))
    scope = "api refresh_token" if flow in ("web_server",) else "api"
    return _success(req, world, decision.user, scope=scope, client_secret=secret or "")


def _assertion_problem(req: SimRequest, world: Any, claims: dict) -> str | None:
    audiences = claims.get("aud")
    audiences = audiences if isinstance(audiences, list) else [audiences]
    accepted = {"https://login.salesforce.com", "https://test.salesforce.com",
                f"https://{world.my_domain_host}", req.base_url}
    if not any(isinstance(a, str) and a.rstrip("/") in accepted for a in audiences):
        return "AUDIENCE"
    try:
        if float(claims.get("exp")) < time.time():
            return "ASSERTION_EXPIRED"
    except (TypeError, ValueError):
        return "BAD_ASSERTION"
    return None


def _authorize(req: SimRequest, world: Any) -> SimResponse:
    """GET /services/oauth2/authorize: web-server (`response_type=code`) and user-agent
    (`token`) flows. Errors go back to the callback in the query (web server) or the fragment
    (user agent) as `error=` / `error_description=` with `state` echoed (help
    remoteaccess_oauth_flow_errors, reference §2.2); an unknown client or a callback the app
    does not list cannot be redirected to, so Salesforce's own error page carries them.

    Who signs in is a browser matter; the simulator takes `login_hint` as the user who
    signed in on the login page (a simulator convention: there is no page to fill in)."""
    from urllib.parse import urlencode  # noqa: PLC0415

    from . import oauth_apps  # noqa: PLC0415

    client_id = req.arg("client_id") or ""
    redirect_uri = req.arg("redirect_uri") or ""
    response_type = req.arg("response_type") or "code"
    state = req.arg("state")

    def error_page(error: str, description: str, *, with_state: bool = False) -> SimResponse:
        # Salesforce's own error page ([S] captured URLs of /setup/secur/RemoteAccessErrorPage.apexp
        # with error=invalid_client&error_description=app+must+be+installed+into+org&state=...).
        params = {"error": error, "error_description": description}
        if with_state and state is not None:
            params["state"] = state
        location = f"{req.base_url}/setup/secur/RemoteAccessErrorPage.apexp?" + urlencode(params)
        return SimResponse(302, b"", {"Location": location})

    def back(params: dict[str, str]) -> SimResponse:
        if state is not None:
            params["state"] = state
        sep = "#" if response_type == "token" else ("&" if "?" in redirect_uri else "?")
        return SimResponse(302, b"", {"Location": redirect_uri + sep + urlencode(params)})

    app = oauth_apps.app_by_key(world, client_id)
    if app is None:
        return error_page("invalid_client_id", "client identifier invalid")        # [V-doc list]
    if not redirect_uri:
        return error_page("redirect_uri_missing", "redirect_uri not provided")      # [V-doc list]
    if redirect_uri not in app.callback_urls:
        return error_page("redirect_uri_mismatch", "redirect_uri must match configuration")  # [V]
    user = world.user_by_username(req.arg("login_hint") or "")
    if user is None:
        return back({"error": "access_denied", "error_description": "end-user denied authorization"})
    decision = oauth_apps.decide(world, "web_server", client_id=client_id, host=req.host,
                                 username=user["Username"], check_secret=False)
    if not decision.ok and decision.reason == "UNINSTALLED_BLOCKED":
        # An uninstalled app is refused on Salesforce's page, not sent back to the app. [S]
        if decision.user is not None:
            from .store import STATUS  # noqa: PLC0415

            world.record_app_login(decision.user["Id"], app_name=app.name, sub_type="OauthWebServer", host=req.host,
                                   status=STATUS.get(decision.reason, "Failed: OAuth App Access Denied"))
        return error_page("invalid_client", "app must be installed into org", with_state=True)
    if not decision.ok:
        error, description = AUTHORIZE_ERRORS.get(decision.reason, ("OAUTH_APPROVAL_ERROR_GENERIC",
                                                  "An unexpected error has occured during authentication. "
                                                  "Please try again."))   # [S] code; text [I] (sic)
        from .store import STATUS  # noqa: PLC0415

        if decision.user is not None:
            world.record_app_login(decision.user["Id"], app_name=app.name, sub_type="OauthWebServer", host=req.host,
                                   status=STATUS.get(decision.reason, "Failed: OAuth App Access Denied"))
        return back({"error": error, "error_description": description})
    if response_type == "token":
        token = world.issue_session(user["Id"])
        return back({"access_token": token, "instance_url": req.base_url, "token_type": "Bearer"})
    return back({"code": world.issue_code(client_id, redirect_uri, user["Id"])})


def _is_login_host(host: str) -> bool:
    name = host.split(":")[0].lower()
    return name in ("login.salesforce.com", "test.salesforce.com")


def _client_credentials(req: SimRequest, world: Any, form: dict[str, str]) -> SimResponse:
    client_id, secret = _client_from_request(req, form)
    if _is_login_host(req.host):
        # Salesforce only runs this flow on the My Domain host. [S] many captures.
        return token_error("invalid_grant", "request not supported on this domain")
    decision = world.client_credentials_login(client_id or "", secret or "", host=req.host)
    if not decision.ok:
        if decision.reason == "WRONG_HOST":
            return token_error("invalid_grant", "request not supported on this domain")
        return token_error(*OAUTH_PASSWORD_ERRORS.get(decision.reason, _AUTH_FAILURE))
    return _success(req, world, decision.user, scope="api", client_secret=secret or "")


def _password(req: SimRequest, world: Any, form: dict[str, str]) -> SimResponse:
    from .store import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET  # noqa: PLC0415

    client_id, secret = _client_from_request(req, form)
    if client_id != DEMO_CLIENT_ID:
        return token_error(*OAUTH_PASSWORD_ERRORS["UNKNOWN_CLIENT"])
    if not hmac.compare_digest((secret or "").encode(), DEMO_CLIENT_SECRET.encode()):
        return token_error(*OAUTH_PASSWORD_ERRORS["BAD_CLIENT_SECRET"])
    decision = world.password_login(form.get("username", ""), form.get("password", ""),
                                    host=req.host, channel="oauth_password")
    if not decision.ok:
        return token_error(*OAUTH_PASSWORD_ERRORS.get(decision.reason, _AUTH_FAILURE))
    # Username-password flow: no scope, no refresh token (help remoteaccess_oauth_username_password_flow).
    return _success(req, world, decision.user, scope=None, client_secret=secret or "")


def _b64url_json(segment: str) -> dict[str, Any]:
    import json  # noqa: PLC0415

    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def _jwt_bearer(req: SimRequest, world: Any, form: dict[str, str]) -> SimResponse:
    """JWT bearer: checks iss (the demo app), aud (a login host or this host), exp, sub.

    The signature is NOT verified: the demo connected app has no uploaded certificate, so
    any RS256-signed assertion with the right claims is accepted. The error texts for a bad
    assertion are [I] except `Audience validation failed` and `user hasn't approved this
    consumer` ([V], reference §2.1)."""
    from .store import DEMO_CLIENT_ID  # noqa: PLC0415

    assertion = form.get("assertion", "")
    parts = assertion.split(".")
    if len(parts) != 3:
        return token_error("invalid_grant", "invalid assertion")
    try:
        claims = _b64url_json(parts[1])
    except (ValueError, binascii.Error):
        return token_error("invalid_grant", "invalid assertion")
    if claims.get("iss") != DEMO_CLIENT_ID:
        return token_error("invalid_client_id", "client identifier invalid")
    audiences = claims.get("aud")
    audiences = audiences if isinstance(audiences, list) else [audiences]
    accepted = {"https://login.salesforce.com", "https://test.salesforce.com",
                f"https://{world.my_domain_host}", req.base_url}
    if not any(isinstance(a, str) and a.rstrip("/") in accepted for a in audiences):
        return token_error("invalid_grant", "Audience validation failed")
    try:
        expires = float(claims.get("exp"))
    except (TypeError, ValueError):
        return token_error("invalid_grant", "invalid assertion")
    if expires < time.time():
        return token_error("invalid_grant", "expired authorization code")  # [I]
    user = _user_by_username(world, str(claims.get("sub", "")))
    if user is None or not user.get("IsActive", True):
        return token_error("invalid_grant", "user hasn't approved this consumer")
    return _success(req, world, user, scope="api", client_secret="")


def _user_by_username(world: Any, username: str) -> dict[str, Any] | None:
    """The World's user record for a JWT `sub` (Salesforce matches usernames exactly)."""
    return world.user_by_username(username) if username else None


def _success(req: SimRequest, world: Any, user: dict[str, Any] | None, *, scope: str | None,
             client_secret: str) -> SimResponse:
    """Token response (§2.1); instance_url is the org's My Domain when the client came
    through a re-routed Salesforce host, the simulator itself when reached directly."""
    from .sf_soap import instance_base, user_value  # noqa: PLC0415

    user = user or {}
    user_id = user_value(user, "Id", "id")
    access_token = world.issue_session(user_id)
    issued_at = str(int(time.time() * 1000))
    identity = f"{req.base_url}/id/{world.org_id}/{user_id}"
    # Salesforce signs id + issued_at with the consumer secret (HMAC-SHA256, base64).
    signature = base64.b64encode(hmac.new(client_secret.encode(), (identity + issued_at).encode(),
                                          hashlib.sha256).digest()).decode()
    body: dict[str, Any] = {"access_token": access_token}
    if scope:
        body["scope"] = scope
    body.update({
        "instance_url": instance_base(req, world),
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature,
    })
    return SimResponse.json(body, 200, _NO_CACHE)


# --------------------------------------------------------------------------- userinfo

def _userinfo(req: SimRequest, world: Any) -> SimResponse:
    """OpenID userinfo for a Bearer token (a small subset of the documented claims)."""
    from .sf_soap import user_value  # noqa: PLC0415

    auth = req.headers.get("authorization", "")
    token = auth.split(None, 1)[1] if auth.lower().startswith(("bearer ", "oauth ")) else ""
    user = world.session_user(token) if token else None
    if user is None:
        # [I] Salesforce answers a bad token on userinfo with 403 and a plain body.
        return SimResponse(403, b"Bad_OAuth_Token", {"Content-Type": "text/plain;charset=UTF-8"})
    user_id = user_value(user, "Id", "id")
    return SimResponse.json({
        "sub": f"{req.base_url}/id/{world.org_id}/{user_id}",
        "user_id": user_id,
        "organization_id": world.org_id,
        "preferred_username": user_value(user, "Username", "username"),
        "email": user_value(user, "Email", "email"),
        "name": user_value(user, "Name", "name"),
        "active": True,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": -28800000,
        "is_app_installed": True,
    }, 200, _NO_CACHE)

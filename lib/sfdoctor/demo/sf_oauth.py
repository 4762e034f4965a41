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
}

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
    if grant == "client_credentials":
        return _client_credentials(req, world, form)
    if grant == "password":
        return _password(req, world, form)
    if grant == _GRANT_JWT:
        return _jwt_bearer(req, world, form)
    return token_error("unsupported_grant_type", "grant type not supported")  # [S]


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

"""The integration user's side of mc-missing-oauth-token: pure decisions, no I/O.

What the wire says (AccountUser's flags, the login's answer) and what the operator says
(the password policy) go in; a status, a cause code and "which" case come out. Kept apart
from the checks so each rule is testable on its own and reads as the seed does:

* inactive, locked, unknown or wrong → MC_CREDENTIALS_INVALID, naming which;
* a password Marketing Cloud wants changed → MC_PASSWORD_EXPIRED — unless the user is an
  API user the policy exempts from expiry: such a password does not expire however old it
  is, so a forced change there was an admin's reset (MC_CREDENTIALS_INVALID, which
  "must_change_password");
* prevention: an integration user that is not an API user (MC_USER_NOT_API_USER), and a
  policy that lets API users' passwords expire (MC_API_USERS_NOT_EXEMPT_FROM_EXPIRY).
"""
from __future__ import annotations

import re
from typing import Any, NamedTuple

from ..errors import LocalizedValueError

NEVER = "never"
UNKNOWN = "unknown"


class Verdict(NamedTuple):
    status: str              # pass | fail | warn | manual | skip
    cause: str | None = None
    which: str | None = None


# The demo stand-in's login reasons (demo/mcloud.py) -> what they mean for the runbook.
LOGIN_VERDICTS: dict[str, Verdict] = {
    "OK": Verdict("pass"),
    "IP_NOT_ALLOWLISTED": Verdict("fail", "MC_IP_NOT_ALLOWLISTED"),
    "PASSWORD_EXPIRED": Verdict("fail", "MC_PASSWORD_EXPIRED"),
    "INVALID_CREDENTIALS": Verdict("fail", "MC_CREDENTIALS_INVALID", "wrong_password"),
    "LOCKED": Verdict("fail", "MC_CREDENTIALS_INVALID", "locked"),
    "INACTIVE": Verdict("fail", "MC_CREDENTIALS_INVALID", "inactive"),
}

# The operator's answer after trying the web login as the user (real accounts: no API does it).
WEB_LOGIN_VERDICTS: dict[str, Verdict] = {
    "not_tried": Verdict("manual"),
    "logged_in": Verdict("pass"),
    "asked_to_change_password": Verdict("fail", "MC_PASSWORD_EXPIRED"),
    "refused": Verdict("fail", "MC_CREDENTIALS_INVALID", "wrong_password"),
}


def parse_expires_in(value: Any) -> int | str:
    """The policy's "User Passwords Expire In": days (int), NEVER, or UNKNOWN (not answered).

    Accepts what people type: "90", "90 days", "90日", "never", "0", "無期限". Anything else
    is a ValueError with one line saying what to enter.
    """
    text = str(value if value is not None else "").strip().casefold()
    if text in ("", UNKNOWN, "?", "不明"):
        return UNKNOWN
    if text in (NEVER, "0", "none", "no", "off", "無期限", "なし", "期限なし"):
        return NEVER
    m = re.fullmatch(r"(\d{1,4})\s*(days?|日)?", text)
    if m and int(m.group(1)) > 0:
        return int(m.group(1))
    raise LocalizedValueError("mc_user.expiry_bad", value=value)


def parse_choice(value: Any) -> bool | None:
    """yes/no/unknown (also on/off, true/false) as True/False/None."""
    text = str(value if value is not None else "").strip().casefold()
    if text in ("yes", "on", "true", "1", "enabled", "はい", "有効"):
        return True
    if text in ("no", "off", "false", "0", "disabled", "いいえ", "無効"):
        return False
    return None


def exempt_from_expiry(is_api_user: bool | None, expires_in: int | str, exclude_api_users: bool | None) -> bool | None:
    """Whether the policy can expire this user's password: False/True, None when unknown."""
    if expires_in == NEVER:
        return True
    if is_api_user is False:
        return False if expires_in != UNKNOWN else None
    if is_api_user and exclude_api_users is True:
        return True
    if expires_in == UNKNOWN or exclude_api_users is None or is_api_user is None:
        return None
    return False


def user_verdict(user: dict[str, Any] | None, *, exempt: bool | None) -> Verdict:
    """AccountUser's flags (None: no such user) -> the verdict on Data Cloud's login."""
    if user is None:
        return Verdict("fail", "MC_CREDENTIALS_INVALID", "unknown_user")
    if user.get("ActiveFlag") is False:
        return Verdict("fail", "MC_CREDENTIALS_INVALID", "inactive")
    if user.get("IsLocked") is True:
        return Verdict("fail", "MC_CREDENTIALS_INVALID", "locked")
    if user.get("MustChangePassword") is True:
        if exempt is True and user.get("IsAPIUser") is True:
            return Verdict("fail", "MC_CREDENTIALS_INVALID", "must_change_password")
        return Verdict("fail", "MC_PASSWORD_EXPIRED")
    return Verdict("pass")


def login_verdict(reason: str, user: dict[str, Any] | None = None, *, exempt: bool | None = None) -> Verdict:
    """A login's answer -> verdict; a wrong password for a user AccountUser does not know is `unknown_user`.

    A login asked for a new password (PASSWORD_EXPIRED) of an API user the policy exempts from
    expiry: that password cannot have expired, so an admin reset it (as in `user_verdict`).
    """
    verdict = LOGIN_VERDICTS.get(reason)
    if verdict is None:
        return Verdict("fail", "MC_CREDENTIALS_INVALID", "other")
    if verdict.which == "wrong_password" and user is None:
        return Verdict("fail", "MC_CREDENTIALS_INVALID", "wrong_password_or_username")
    return not_expired_if_exempt(verdict, user, exempt)


def not_expired_if_exempt(verdict: Verdict, user: dict[str, Any] | None, exempt: bool | None) -> Verdict:
    """MC_PASSWORD_EXPIRED becomes a forced change (MC_CREDENTIALS_INVALID, must_change_password)
    for an API user exempt from expiry: however old, its password does not expire."""
    if verdict.cause == "MC_PASSWORD_EXPIRED" and exempt is True and (user or {}).get("IsAPIUser") is True:
        return Verdict("fail", "MC_CREDENTIALS_INVALID", "must_change_password")
    return verdict


def api_user_verdict(user: dict[str, Any] | None) -> Verdict:
    """MC_USER_NOT_API_USER when AccountUser says IsAPIUser false."""
    if user is None or user.get("IsAPIUser") is None:
        return Verdict("skip")
    return Verdict("pass") if user["IsAPIUser"] else Verdict("warn", "MC_USER_NOT_API_USER")


def policy_verdict(expires_in: int | str, exclude_api_users: bool | None) -> Verdict:
    """MC_API_USERS_NOT_EXEMPT_FROM_EXPIRY when passwords expire and API users are not excluded."""
    if expires_in == NEVER:
        return Verdict("pass", which="never_expire")
    if exclude_api_users is True:
        return Verdict("pass", which="api_users_excluded")
    if exclude_api_users is False:
        return Verdict("warn", "MC_API_USERS_NOT_EXEMPT_FROM_EXPIRY",
                       "unknown_days" if expires_in == UNKNOWN else "expire")
    return Verdict("manual")

"""The org and the user under diagnosis: one composite request for both.

Organization (edition, sandbox), the User with its profile's API Enabled, UserLogin
(frozen, password-locked), permission sets granting API Enabled, and the profile's login IP
ranges: five queries, one API call. Semi-joins on the username keep them independent of
each other, so an unknown username simply gives empty answers.
"""
from __future__ import annotations

from typing import Any

from ..errors import CheckError
from . import permissions
from ._base import Facts, composite_once, finding, msg, soql


def queries(username: str) -> dict[str, str]:
    """The SOQL of the org-and-user composite (pure: tested without a server)."""
    by_user = soql("SELECT Id FROM User WHERE Username = {}", username)
    profile_of_user = soql("SELECT ProfileId FROM User WHERE Username = {}", username)
    return {
        "org": "SELECT Id, Name, OrganizationType, IsSandbox, InstanceName FROM Organization LIMIT 1",
        "user": soql(
            "SELECT Id, Username, IsActive, UserType, LastLoginDate, ProfileId, Profile.Name, "
            "Profile.PermissionsApiEnabled FROM User WHERE Username = {} LIMIT 1", username),
        "userlogin": soql("SELECT IsFrozen, IsPasswordLocked FROM UserLogin WHERE UserId IN ({:literal}) LIMIT 1",
                          by_user),
        "apiperms": permissions.assignments_query(username),
        "ipranges": soql(
            "SELECT StartAddress, EndAddress, Description FROM LoginIpRange WHERE ProfileId IN ({:literal})",
            profile_of_user),
    }


def load(conn: Any, facts: Facts) -> Facts:
    """Read org and user facts once (one API call); later calls reuse them."""
    if facts.org is not None:
        return facts
    answers = composite_once(conn, facts.read_errors, "org", queries(facts.username), "org and user facts")
    org = answers["org"]
    facts.org = _plain(org.records[0]) if org.records else {}
    for ref in ("user", "userlogin", "apiperms", "ipranges"):
        if not answers[ref].ok:
            facts.read_errors[ref] = answers[ref].error
    users = answers["user"].records
    facts.user = _plain(users[0]) if users else None
    facts.user_read = answers["user"].ok
    logins = answers["userlogin"].records
    facts.user_login = _plain(logins[0]) if logins else None
    facts.api_enabled_via = permissions.ApiGrants.from_records(
        users[0] if users else None, answers["apiperms"].records).via
    facts.profile_ranges = ([_plain(r) for r in answers["ipranges"].records]
                            if answers["ipranges"].ok else None)
    return facts


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """A query record without `attributes`, parent fields flattened to `Parent.Field`."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            for sub, subval in _plain(value).items():
                out[f"{key}.{sub}"] = subval
        else:
            out[key] = value
    return out


def user_missing(facts: Facts) -> bool:
    """True when the user does not exist; raises when it could not be read (the check errors)."""
    if "user" in facts.read_errors:
        raise CheckError(f"User could not be read: {facts.read_errors['user']}")
    return facts.user is None


def skip_unless_user(check_id: str, conn: Any, facts: Facts, lang: str) -> list | None:
    """The `skip` finding a check about the user returns when there is no user to look at
    (no username given, or none such in the org); None when the user is there (org facts loaded)."""
    if not facts.username:
        return [finding(check_id, "skip", lang, evidence={"reason": "no username given"},
                        summary=msg(lang, "no_username"))]
    load(conn, facts)
    if user_missing(facts):
        return [finding(check_id, "skip", lang, evidence={"reason": "user not found"},
                        summary=msg(lang, "user_unknown", username=facts.username))]
    return None


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


def org_facts(conn: Any, facts: Facts, lang: str = "en") -> list:
    """Edition and sandbox or not: the edition decides which Setup paths the fixes name."""
    load(conn, facts)
    org = facts.org or {}
    evidence = {
        "edition": org.get("OrganizationType"),
        "sandbox": bool(org.get("IsSandbox")),
        "instance": org.get("InstanceName"),
        "login_host": getattr(conn, "login_host", None),
        "my_domain_host": getattr(conn, "my_domain_host", None),
    }
    summary = msg(lang, "org_facts", edition=evidence["edition"] or "?",
                  kind=msg(lang, "sandbox" if evidence["sandbox"] else "production"))
    return [finding("org-facts", "pass", lang, evidence=evidence, summary=summary)]


def user_status(conn: Any, facts: Facts, lang: str = "en") -> list:
    """The user under diagnosis: exists, active, not frozen, not locked, API Enabled."""
    if not facts.username:
        return [finding("user-status", "skip", lang, evidence={"reason": "no username given"},
                        summary=msg(lang, "no_username"))]
    load(conn, facts)
    if "user" in facts.read_errors:
        raise CheckError(f"User could not be read: {facts.read_errors['user']}")
    edition = facts.edition
    if facts.user is None:
        return [finding("user-status", "fail", lang, cause="PASSWORD_INVALID", edition=edition,
                        evidence={"username": facts.username, "which": "unknown_username"},
                        summary=msg(lang, "user_unknown", username=facts.username))]
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
        return [finding("user-status", "fail", lang, cause="PASSWORD_INVALID", edition=edition, evidence=evidence,
                        summary=msg(lang, f"user_{state}", username=user.get("Username")))]
    if not facts.api_enabled_via and "apiperms" not in facts.read_errors:
        return [finding("user-status", "fail", lang, cause="API_NOT_ENABLED", edition=edition, evidence=evidence,
                        summary=msg(lang, "user_api_disabled", username=user.get("Username"),
                                    profile=user.get("Profile.Name")))]
    return [finding("user-status", "pass", lang, evidence=evidence,
                    summary=msg(lang, "user_ok", username=user.get("Username"), profile=user.get("Profile.Name")))]

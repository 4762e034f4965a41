"""SOAP API login(): refused by the org (SOAP_LOGIN_DISABLED, found by the probes) or still
used by the failing integration, which Salesforce is retiring (SOAP_LOGIN_RETIRING).

SOAP login() is off by default in new orgs, gone from API 65.0, and retired for API 31.0-64.0
in Summer '27: a password+token integration must move to an OAuth flow either way.
"""
from __future__ import annotations

from typing import Any

from ._base import Facts, finding, msg
from .login_history import SUCCESS, is_soap, load as load_history
from .org_info import skip_unless_user


def soap_groups(groups: list[dict[str, Any]]) -> tuple[int, int, list[str]]:
    """(failing SOAP logins, successful SOAP logins, API types/applications seen) (pure)."""
    failing = sum(g["n"] for g in groups if is_soap(g) and g["category"] != SUCCESS)
    ok = sum(g["n"] for g in groups if is_soap(g) and g["category"] == SUCCESS)
    seen = sorted({f"{g['api_type'] or g['login_type']} ({g['application'] or '-'})" for g in groups if is_soap(g)})
    return failing, ok, seen


def soap_login_retiring(conn: Any, facts: Facts, lang: str = "en") -> list:
    """SOAP_LOGIN_RETIRING when the user's (failing) logins are SOAP password logins."""
    if facts.probe_verdict == "SOAP_LOGIN_DISABLED":
        return [finding("soap-login-retiring", "skip", lang, evidence={"reason": "SOAP login() is already refused"},
                        summary=msg(lang, "soap_already_disabled"))]
    skipped = skip_unless_user("soap-login-retiring", conn, facts, lang)
    if skipped:
        return skipped
    h = load_history(conn, facts)
    failing, ok, seen = soap_groups(h.groups)
    evidence = {"soap_failures": failing, "soap_successes": ok, "seen": seen[:10]}
    if failing or ok:
        key = "soap_retiring_failing" if failing else "soap_retiring_ok"
        return [finding("soap-login-retiring", "warn", lang, cause="SOAP_LOGIN_RETIRING", edition=facts.edition,
                        evidence=evidence, summary=msg(lang, key, n=failing or ok))]
    return [finding("soap-login-retiring", "pass", lang, evidence=evidence, summary=msg(lang, "soap_none"))]

"""SOAP API login(): refused by the org (SOAP_LOGIN_DISABLED, found by the probes) or still
used by the failing integration, which Salesforce is retiring (SOAP_LOGIN_RETIRING).

SOAP login() is off by default in new orgs, gone from API 65.0, and retired for API 31.0-64.0
in Summer '27: a password+token integration must move to an OAuth flow either way.
"""
from __future__ import annotations

from typing import Any

from .login_history import SUCCESS, is_soap


def soap_groups(groups: list[dict[str, Any]]) -> tuple[int, int, list[str]]:
    """(failing SOAP logins, successful SOAP logins, API types/applications seen) (pure)."""
    failing = sum(g["n"] for g in groups if is_soap(g) and g["category"] != SUCCESS)
    ok = sum(g["n"] for g in groups if is_soap(g) and g["category"] == SUCCESS)
    seen = sorted({f"{g['api_type'] or g['login_type']} ({g['application'] or '-'})" for g in groups if is_soap(g)})
    return failing, ok, seen



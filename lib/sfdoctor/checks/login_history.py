"""LoginHistory over the last `days`: what the failing logins were, from where, by what.

Counts come from GROUP BY aggregate queries, so the API calls and the kernel's memory do
not grow with the number of rows (200,000 rows cost what 20 do). `LoginHistory.Status`
cannot be filtered in SOQL, so queries filter on UserId/LoginTime and the grouping by
Status happens server-side (GROUP BY) and its reading client-side. One composite request
holds the user's grouped logins, the org-wide grouped logins and the user's latest logins
(at most 2,000, for the time plot: our SOQL engine cannot GROUP BY DAY_ONLY(LoginTime)).

The window ends where this run began, so the probe logins this run made are not counted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .query import soql, soql_datetime

RECENT_LIMIT = 2000
SUCCESS = "success"
TOKEN_REQUIRED = "token_required"
INVALID_PASSWORD = "invalid_password"
LOCKED = "locked"
FROZEN = "frozen"
INACTIVE = "inactive"
RESTRICTED_IP = "restricted_ip"
OTHER = "other_failure"

SOAP_LOGIN_TYPES = frozenset({"other apex api", "partner product"})


def category(status: str | None) -> str:
    """Salesforce's free-text LoginHistory.Status → a category (pure)."""
    s = " ".join((status or "").split()).casefold()
    if s == "success":
        return SUCCESS
    if "security token required" in s or "api token required" in s:
        return TOKEN_REQUIRED
    if s == "invalid password":
        return INVALID_PASSWORD
    if "lockout" in s:
        return LOCKED
    if "frozen" in s:
        return FROZEN
    if "inactive" in s:
        return INACTIVE
    if s == "restricted ip":
        return RESTRICTED_IP
    return OTHER


def is_soap(group: dict[str, Any]) -> bool:
    """A SOAP API login() row: ApiType "SOAP Partner"/"SOAP Enterprise", or its LoginType."""
    api = str(group.get("api_type") or "").casefold()
    return api.startswith("soap") or str(group.get("login_type") or "").casefold() in SOAP_LOGIN_TYPES


@dataclass
class History:
    """Grouped LoginHistory of one user, org-wide groups, and the user's latest rows."""

    groups: list[dict[str, Any]] = field(default_factory=list)      # the user's, one per Status/IP/app/API/type
    org_groups: list[dict[str, Any]] = field(default_factory=list)  # org-wide, one per Status/LoginType
    recent: list[dict[str, Any]] = field(default_factory=list)      # the user's latest rows: time + status
    complete: bool = True          # False: an aggregate answer was cut (more than 2,000 groups)
    window_start: str = ""
    window_end: str = ""

    @property
    def failing(self) -> list[dict[str, Any]]:
        return [g for g in self.groups if g["category"] != SUCCESS]

    def total(self, which: str | None = None) -> int:
        return sum(g["n"] for g in self.groups if which is None or g["category"] == which)

    def failing_ips(self, categories: set[str] | None = None) -> dict[str, int]:
        out: dict[str, int] = {}
        for g in self.failing:
            if categories is None or g["category"] in categories:
                ip = g.get("source_ip") or ""
                if ip:
                    out[ip] = out.get(ip, 0) + g["n"]
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def dominant_failure(self) -> dict[str, Any] | None:
        """The failing group that matters most: the latest one (ties: the most frequent)."""
        failing = self.failing
        if not failing:
            return None
        return max(failing, key=lambda g: (str(g.get("last") or ""), g["n"]))


def queries(user_id: str | None, start: datetime, end: datetime) -> dict[str, str]:
    """The SOQL of the history composite (pure)."""
    t0, t1 = soql_datetime(start), soql_datetime(end)
    out = {
        "org": soql("SELECT Status, LoginType, COUNT(Id) n, COUNT_DISTINCT(UserId) users FROM LoginHistory "
                    "WHERE LoginTime >= {:literal} AND LoginTime < {:literal} GROUP BY Status, LoginType", t0, t1),
    }
    if user_id:
        out["user"] = soql(
            "SELECT Status, SourceIp, Application, ApiType, LoginType, COUNT(Id) n, MAX(LoginTime) lastLogin "
            "FROM LoginHistory WHERE UserId = {} AND LoginTime >= {:literal} AND LoginTime < {:literal} "
            "GROUP BY Status, SourceIp, Application, ApiType, LoginType", user_id, t0, t1)
        out["recent"] = soql(
            "SELECT LoginTime, Status FROM LoginHistory WHERE UserId = {} AND LoginTime >= {:literal} "
            "AND LoginTime < {:literal} ORDER BY LoginTime DESC LIMIT {:literal}", user_id, t0, t1, str(RECENT_LIMIT))
    return out


def failures_by_user_query(start: str, end: str) -> str:
    """Every user's logins in the window grouped by status (pure): which users fail, and how.
    `start`, `end`: SOQL dateTime literals."""
    return soql("SELECT UserId, Status, COUNT(Id) n, MAX(LoginTime) lastLogin FROM LoginHistory "
                "WHERE LoginTime >= {:literal} AND LoginTime < {:literal} GROUP BY UserId, Status", start, end)


def token_failures_by_user(records: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    """(user id, logins refused for a missing token, latest such login) per user who has any,
    the most first; ties: the latest failure first, then the id (pure)."""
    users: dict[str, list[Any]] = {}
    for r in records:
        if category(r.get("Status")) != TOKEN_REQUIRED or not r.get("UserId"):
            continue
        entry = users.setdefault(str(r["UserId"]), [0, ""])
        entry[0] += int(r.get("n") or r.get("expr0") or 0)
        entry[1] = max(entry[1], str(r.get("lastLogin") or ""))
    ranked = sorted(users.items(), key=lambda kv: (-kv[1][0], _negated(kv[1][1]), kv[0]))
    return [(user_id, n, last) for user_id, (n, last) in ranked]


def _negated(text: str) -> tuple[int, ...]:
    """A sort key that orders ISO times latest first."""
    return tuple(-ord(c) for c in text)


def group_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """AggregateResult records → plain groups with a category (pure)."""
    out = []
    for r in records:
        status = r.get("Status")
        out.append({
            "status": status, "category": category(status), "source_ip": r.get("SourceIp") or "",
            "application": r.get("Application") or "", "api_type": r.get("ApiType") or "",
            "login_type": r.get("LoginType") or "", "n": int(r.get("n") or r.get("expr0") or 0),
            "last": r.get("lastLogin"), "users": r.get("users"),
        })
    return sorted(out, key=lambda g: -g["n"])


# ------------------------------------------------------------------ the verdict (pure)
_CAUSE = {TOKEN_REQUIRED: "TOKEN_MISSING", LOCKED: "PASSWORD_INVALID", FROZEN: "PASSWORD_INVALID",
          INACTIVE: "PASSWORD_INVALID", RESTRICTED_IP: "SOURCE_IP_UNTRUSTED"}


def verdict(h: History, probe_verdict: str | None) -> tuple[str, str | None, str, dict[str, Any]]:
    """(status, cause, message key, extra evidence) for the user's history."""
    if not h.groups:
        if probe_verdict == "SOAP_LOGIN_DISABLED":
            return "pass", None, "history_none_soap", {}   # refused login() calls leave no row
        return "manual", None, "history_none", {}
    top = h.dominant_failure()
    if top is None:
        return "pass", None, "history_ok", {}
    cat = top["category"]
    extra: dict[str, Any] = {"latest_failure": top["status"]}
    if cat in _CAUSE:
        if _CAUSE[cat] == "PASSWORD_INVALID":
            extra["which"] = cat
        return "fail", _CAUSE[cat], f"history_{cat}", extra
    if cat == INVALID_PASSWORD:
        # Salesforce writes "Invalid Password" for a wrong token too: the probes tell which.
        if probe_verdict == "TOKEN_INVALID":
            return "fail", "TOKEN_INVALID", "history_invalid_token", extra
        extra["which"] = "password" if probe_verdict == "PASSWORD_INVALID" else "password_or_token"
        return "fail", "PASSWORD_INVALID", "history_invalid_password", extra
    return "fail", None, "history_other", extra


# ------------------------------------------------------------------ for people: table and plot
COLUMNS = ("status", "source_ip", "application", "api_type", "login_type", "n", "last")  # titles: texts/login_history.toml


def failures_by_time(recent: list[dict[str, Any]]) -> tuple[str, list[tuple[str, dict[str, int]]]]:
    """Failing rows bucketed per hour (span <= 2 days) or per day: (unit, [(bucket, {status: n})]) (pure)."""
    times = []
    for r in recent:
        if r["category"] == SUCCESS or not r.get("time"):
            continue
        times.append((datetime.fromisoformat(str(r["time"]).replace("Z", "+00:00").replace("+0000", "+00:00")),
                      r["status"]))
    if not times:
        return "day", []
    span = max(t for t, _ in times) - min(t for t, _ in times)
    unit = "hour" if span.total_seconds() <= 2 * 86400 else "day"
    fmt = "%Y-%m-%d %H:00" if unit == "hour" else "%Y-%m-%d"
    buckets: dict[str, dict[str, int]] = {}
    for t, status in times:
        b = buckets.setdefault(t.strftime(fmt), {})
        b[status] = b.get(status, 0) + 1
    return unit, sorted(buckets.items())


PALETTE = ("#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def cjk_font() -> str | None:
    """A font with Japanese glyphs, if this machine has one (Noto CJK, IPA, Takao...)."""
    from matplotlib import font_manager

    for f in font_manager.fontManager.ttflist:
        if any(k in f.name for k in ("CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic", "TakaoGothic")):
            return f.name
    return None



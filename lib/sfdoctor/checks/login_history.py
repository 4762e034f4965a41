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

from ..errors import CheckError
from ._base import Facts, composite, finding, msg, soql, soql_datetime
from .org_info import load as load_org, skip_unless_user

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


def load(conn: Any, facts: Facts) -> History:
    """Read the history composite once per run (one API call)."""
    if facts.history is not None:
        return facts.history
    if "history" in facts.read_errors:
        raise CheckError(facts.read_errors["history"])
    load_org(conn, facts)
    user_id = (facts.user or {}).get("Id")
    start, end = facts.window_start, facts.started_at
    try:
        answers = composite(conn, queries(user_id, start, end))
    except Exception as exc:
        facts.read_errors["history"] = f"LoginHistory could not be read: {type(exc).__name__}: {exc}"[:300]
        raise
    for ref, ans in answers.items():
        if not ans.ok:
            facts.read_errors["history"] = f"LoginHistory ({ref}) could not be read: {ans.error}"
            raise CheckError(facts.read_errors["history"])
    h = History(window_start=soql_datetime(start), window_end=soql_datetime(end))
    h.org_groups = group_rows(answers["org"].records)
    h.complete = answers["org"].done
    if user_id:
        h.groups = group_rows(answers["user"].records)
        h.complete = h.complete and answers["user"].done
        h.recent = [{"time": r.get("LoginTime"), "status": r.get("Status"), "category": category(r.get("Status"))}
                    for r in answers["recent"].records]
    facts.history = h
    return h


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


def login_history(conn: Any, facts: Facts, lang: str = "en") -> list:
    """The user's logins over the window, grouped; the failure that matters most names a cause."""
    skipped = skip_unless_user("login-history", conn, facts, lang)
    if skipped:
        return skipped
    h = load(conn, facts)
    status, cause, key, extra = verdict(h, facts.probe_verdict)
    evidence = {
        "window": f"{h.window_start} .. {h.window_end}", "logins": h.total(), "failures": h.total() - h.total(SUCCESS),
        "by_status": _by(h.groups, "status"), "failing_source_ips": dict(list(h.failing_ips().items())[:10]),
        "complete": h.complete, **extra,
    }
    top = h.dominant_failure() or {}
    summary = msg(lang, key, n=h.total() - h.total(SUCCESS), days=facts.days, status=top.get("status") or "",
                  ip=top.get("source_ip") or "?", logins=h.total())
    return [finding("login-history", status, lang, cause=cause, edition=facts.edition, evidence=evidence,
                    summary=summary)]


def org_history(conn: Any, facts: Facts, lang: str = "en") -> list:
    """Org-wide: how many logins failed, how, and for how many users (no cause: context)."""
    h = load(conn, facts)
    failing = [g for g in h.org_groups if g["category"] != SUCCESS]
    token = sum(g["n"] for g in failing if g["category"] == TOKEN_REQUIRED)
    evidence = {"window": f"{h.window_start} .. {h.window_end}", "logins": sum(g["n"] for g in h.org_groups),
                "failures": sum(g["n"] for g in failing), "by_status": _by(h.org_groups, "status"),
                "token_required": token, "complete": h.complete}
    # Context, not a cause: a warning only when users other than the one under diagnosis
    # fail for a missing token too (the same fix will be needed there).
    others = token - (h.total(TOKEN_REQUIRED) if facts.user else 0)
    evidence["token_required_other_users"] = others
    status = "warn" if others > 0 else "pass"
    key = "org_history_others" if others > 0 else ("org_history_token" if token else "org_history_ok")
    return [finding("login-history-org", status, lang, evidence=evidence,
                    summary=msg(lang, key, n=evidence["failures"], token=token, others=others, days=facts.days))]


def _by(groups: list[dict[str, Any]], key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for g in groups:
        out[g[key] or "-"] = out.get(g[key] or "-", 0) + g["n"]
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


# ------------------------------------------------------------------ for people: table and plot
COLUMNS = {
    "status": {"en": "Status", "ja": "ステータス"}, "source_ip": {"en": "Source IP", "ja": "送信元 IP"},
    "application": {"en": "Application", "ja": "アプリケーション"}, "api_type": {"en": "API type", "ja": "API 種別"},
    "login_type": {"en": "Login type", "ja": "ログイン種別"}, "n": {"en": "Logins", "ja": "件数"},
    "last": {"en": "Latest", "ja": "最終"},
}


def table(facts: Facts, lang: str = "en", *, failures_only: bool = False) -> Any:
    """The user's grouped logins as a pandas DataFrame (columns in the run's language)."""
    import pandas as pd

    h = facts.history or History()
    rows = h.failing if failures_only else h.groups
    cols = list(COLUMNS)
    df = pd.DataFrame([{c: g.get(c) for c in cols} for g in rows], columns=cols)
    return df.rename(columns={c: COLUMNS[c].get(lang, COLUMNS[c]["en"]) for c in cols})


def table_html(facts: Facts, lang: str = "en", *, failures_only: bool = False) -> str:
    """The same table as `table()`, as HTML without pandas (pure)."""
    from html import escape

    h = facts.history or History()
    rows = h.failing if failures_only else h.groups
    head = "".join(f"<th>{escape(COLUMNS[c].get(lang, COLUMNS[c]['en']))}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(g.get(c) if g.get(c) is not None else ''))}</td>"
                                    for c in COLUMNS) + "</tr>" for g in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


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


def failures_figure(facts: Facts, lang: str = "en") -> Any:
    """A stacked bar chart of the user's failed logins over time (a matplotlib Figure), or None.

    For interactive use (JupyterLab, scripts); the notebook shows `failures_svg` instead.
    """
    h = facts.history
    if h is None:
        return None
    unit, buckets = failures_by_time(h.recent)
    if not buckets:
        return None
    from matplotlib.figure import Figure

    font = _cjk_font() if lang == "ja" else None
    if lang == "ja" and font is None:
        lang = "en"  # no Japanese glyphs here: English labels rather than empty boxes
    fig = Figure(figsize=(8, 3))
    ax = fig.subplots()
    statuses = sorted({s for _, b in buckets for s in b})
    bottom = [0] * len(buckets)
    labels = [k for k, _ in buckets]
    for s in statuses:
        values = [b.get(s, 0) for _, b in buckets]
        ax.bar(range(len(buckets)), values, bottom=bottom, label=s)
        bottom = [x + y for x, y in zip(bottom, values)]
    step = max(1, len(labels) // 12)
    ax.set_xticks(range(0, len(labels), step), [labels[i] for i in range(0, len(labels), step)],
                  rotation=30, ha="right", fontsize=7)
    fontdict = {"family": font} if font else None
    ax.set_ylabel(msg(lang, "plot_ylabel"), fontdict=fontdict)
    ax.set_title(msg(lang, "plot_title_hour" if unit == "hour" else "plot_title_day", n=len(h.recent)),
                 fontsize=9, fontdict=fontdict)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


_PALETTE = ("#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def failures_svg(facts: Facts, lang: str = "en") -> str | None:
    """The same stacked bar chart as `failures_figure`, as inline SVG text (pure).

    What the notebook shows: no matplotlib in the kernel (importing it and laying out one
    figure cost ~1.5 s here, a quarter of a headless run), Japanese labels drawn by the
    browser's fonts, and the report stays self-contained.
    """
    from html import escape

    h = facts.history
    unit, buckets = failures_by_time(h.recent if h else [])
    if not buckets:
        return None
    statuses = sorted({s for _, b in buckets for s in b})
    color = {s: _PALETTE[i % len(_PALETTE)] for i, s in enumerate(statuses)}
    width, height, left, top, bottom = 760, 240, 50, 40, 60
    plot_w, plot_h = width - left - 10, height - top - bottom
    peak = max(sum(b.values()) for _, b in buckets)
    bar = plot_w / len(buckets)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="10" role="img">',
             f'<text x="{left}" y="14" font-size="12">{escape(msg(lang, "plot_title_hour" if unit == "hour" else "plot_title_day", n=len(h.recent)))}</text>',
             f'<text x="12" y="{top + plot_h / 2}" transform="rotate(-90 12 {top + plot_h / 2})" text-anchor="middle">'
             f'{escape(msg(lang, "plot_ylabel"))}</text>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{peak}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>']
    for i, s in enumerate(statuses):
        x = left + i * 190
        parts.append(f'<rect x="{x}" y="22" width="10" height="10" fill="{color[s]}"/>'
                     f'<text x="{x + 14}" y="31">{escape(s)}</text>')
    step = max(1, len(buckets) // 12)
    for i, (label, counts) in enumerate(buckets):
        x, y = left + i * bar, top + plot_h
        for s in statuses:
            n = counts.get(s, 0)
            if n:
                hgt = plot_h * n / peak
                y -= hgt
                parts.append(f'<rect x="{x + bar * 0.1:.1f}" y="{y:.1f}" width="{bar * 0.8:.1f}" height="{hgt:.1f}" '
                             f'fill="{color[s]}"><title>{escape(label)}: {n} {escape(s)}</title></rect>')
        if i % step == 0:
            lx = x + bar / 2
            parts.append(f'<text x="{lx:.1f}" y="{top + plot_h + 12}" text-anchor="end" '
                         f'transform="rotate(-30 {lx:.1f} {top + plot_h + 12})">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _cjk_font() -> str | None:
    """A font with Japanese glyphs, if this machine has one (Noto CJK, IPA, Takao...)."""
    from matplotlib import font_manager

    for f in font_manager.fontManager.ttflist:
        if any(k in f.name for k in ("CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic", "TakaoGothic")):
            return f.name
    return None


def show(facts: Facts, lang: str = "en") -> None:
    """For the notebook: the grouped failures as a table and the failures-over-time plot."""
    from IPython.display import HTML, SVG, display

    if facts.history is None or not facts.history.groups:
        return
    # A plain HTML table: the grouping is done server-side, so pandas (~0.5 s to import in
    # every kernel) adds nothing here; `table()` gives the DataFrame for interactive use.
    display(HTML(table_html(facts, lang, failures_only=bool(facts.history.failing))))
    svg = failures_svg(facts, lang)
    if svg:
        display(SVG(svg))

"""What every check module of security-token-required shares.

* `Facts`: the run's parameters plus everything read so far. A check that needs org,
  user or login-history data takes it from here, and only reads it from the org when no
  earlier check did: one run reads each thing once (principle 8, <= 6 API calls).
* `composite()`: several read-only SOQL queries in one `POST .../composite` request
  (every subrequest a GET, which the read-only guard lets through).
* `soql()`: the only way checks build SOQL (simple-salesforce's `format_soql`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from ..errors import CheckError
from ..findings import iso

RUNBOOK = "security-token-required"


class RunbookTexts:
    """One runbook's findings and messages, for the check modules written for it.

    The spec is loaded on each use (runbooks.load caches it by file mtime), so a check module
    can bind these at import time without reading any YAML then.
    """

    def __init__(self, runbook: str) -> None:
        self.runbook = runbook

    def spec(self) -> Any:
        from sfdoctor import runbooks

        return runbooks.load(self.runbook)

    def finding(self, check_id: str, status: str, lang: str, **kw: Any) -> Any:
        """A Finding whose title and fix come from the runbook's YAML."""
        return self.spec().finding(check_id, status, lang, **kw)

    def msg(self, lang: str, key: str, **values: Any) -> str:
        return self.spec().texts(lang).msg(key, **values)


def finding_for(runbook: str, check_id: str, status: str, lang: str, **kw: Any) -> Any:
    """`finding` for any runbook (title and fix from that runbook's YAML)."""
    return RunbookTexts(runbook).finding(check_id, status, lang, **kw)


def msg_for(runbook: str, lang: str, key: str, **values: Any) -> str:
    """`msg` for any runbook."""
    return RunbookTexts(runbook).msg(lang, key, **values)


# security-token-required's own (its check modules import these from here).
_texts = RunbookTexts(RUNBOOK)
spec, finding, msg = _texts.spec, _texts.finding, _texts.msg


def soql(template: str, *args: Any, **kwargs: Any) -> str:
    from simple_salesforce import format_soql

    return format_soql(template, *args, **kwargs)


# A SOQL dateTime literal (UTC, no quotes) for `format_soql`'s `{:literal}` is the same
# ISO-8601 'Z' form findings.json uses.
soql_datetime = iso


@dataclass
class SubResult:
    """One composite subrequest's answer."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def records(self) -> list[dict[str, Any]]:
        if self.ok and isinstance(self.body, dict):
            return list(self.body.get("records") or [])
        return []

    @property
    def done(self) -> bool:
        return bool(self.ok and isinstance(self.body, dict) and self.body.get("done", True))

    @property
    def error(self) -> str:
        """`errorCode: message` of a failed subrequest (bodies are Salesforce's error lists)."""
        if self.ok:
            return ""
        body = self.body
        if isinstance(body, list) and body and isinstance(body[0], dict):
            return f"{body[0].get('errorCode', self.status)}: {str(body[0].get('message', '')).strip()}"[:300]
        return f"HTTP {self.status}"


def composite(conn: Any, queries: dict[str, str]) -> dict[str, SubResult]:
    """Run up to 25 SOQL queries in ONE API call; answers keyed by reference id.

    Subrequests may refer to earlier answers (`@{ref.records[0].Id}`), as Salesforce's
    composite resource allows; `allOrNone` stays false so one unreadable object (missing
    permission) does not hide the others.
    """
    if not queries:
        return {}
    if len(queries) > 25:
        raise ValueError("a composite request holds at most 25 subrequests")
    version = getattr(conn, "api_version", None) or getattr(conn.sf, "sf_version", "59.0")
    subrequests = [
        {"method": "GET", "referenceId": ref,
         "url": f"/services/data/v{version}/query?q={quote(q, safe='@{}[]._')}"}
        for ref, q in queries.items()
    ]
    answer = conn.sf.restful("composite", method="POST", json={"allOrNone": False, "compositeRequest": subrequests})
    results: dict[str, SubResult] = {}
    for item in (answer or {}).get("compositeResponse", []):
        results[str(item.get("referenceId"))] = SubResult(int(item.get("httpStatusCode", 0)), item.get("body"))
    for ref in queries:
        results.setdefault(ref, SubResult(0, [{"errorCode": "NO_ANSWER", "message": "no answer in the composite response"}]))
    return results


def composite_once(conn: Any, read_errors: dict[str, str], key: str, queries: dict[str, str],
                   what: str, *, first: str = "org") -> dict[str, SubResult]:
    """`composite`, remembering a failure under `read_errors[key]`: every later caller gets the
    same reason raised again instead of spending another API call (API limit, timeout...).
    Without the `first` answer (the Organization row) nothing is trustworthy: that raises too."""
    if key in read_errors:
        raise CheckError(read_errors[key])
    try:
        answers = composite(conn, queries)
    except Exception as exc:
        read_errors[key] = f"{what} could not be read: {type(exc).__name__}: {exc}"[:300]
        raise
    if first in answers and not answers[first].ok:
        read_errors[key] = f"Organization could not be read: {answers[first].error}"
        raise CheckError(read_errors[key])
    return answers


@dataclass
class Facts:
    """The run's parameters and what has been read so far; passed from check to check."""

    username: str = ""
    days: int = 7
    probe: bool = True
    source_ip: str = ""
    reset_link_missing: bool = False
    # filled by the checks
    org: dict[str, Any] | None = None            # Organization row
    user: dict[str, Any] | None = None           # User row (with Profile fields), None: not found
    user_read: bool = False                      # the user lookup ran (user may still be None)
    user_login: dict[str, Any] | None = None     # UserLogin row
    api_enabled_via: list[str] = field(default_factory=list)  # profile / permission set names granting API Enabled
    profile_ranges: list[dict[str, Any]] | None = None        # the user's profile's LoginIpRange rows
    read_errors: dict[str, str] = field(default_factory=dict)  # what could not be read, and why
    probes: list[Any] = field(default_factory=list)            # login_probe.Attempt, in order
    probe_verdict: str | None = None             # cause code the probes settled on, if any
    probe_rows: list[dict[str, Any]] = field(default_factory=list)  # LoginHistory rows our probes added
    history: Any = None                          # login_history.History
    security: dict[str, Any] | None = None       # readMetadata SecuritySettings record
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @classmethod
    def from_params(cls, conn: Any = None, **params: Any) -> "Facts":
        """From the notebook's parameters; an empty username means the demo operator's probe user."""
        operator = (getattr(conn, "operator", None) or {}) if conn is not None else {}
        username = str(params.get("username") or "").strip() or str(operator.get("probe_username") or "")
        # The demo operator answers what the form asks when the run left it at its default
        # (spec/scenario-format.md: each operator key is a runbook parameter).
        for key, default in (("source_ip", ""), ("reset_link_missing", False)):
            if key in operator and params.get(key, default) in (default, None):
                params = {**params, key: operator[key]}
        return cls(
            username=username,
            days=max(1, int(params.get("days") or 7)),
            probe=bool(params.get("probe", True)),
            source_ip=str(params.get("source_ip") or "").strip(),
            reset_link_missing=bool(params.get("reset_link_missing", False)),
        )

    @property
    def edition(self) -> str | None:
        return (self.org or {}).get("OrganizationType")

    @property
    def window_start(self) -> datetime:
        return self.started_at - timedelta(days=self.days)

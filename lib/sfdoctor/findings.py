"""The result model of spec/findings.md, and how a run's outcome follows from it.

A run's outcome is computed from the findings our own code recorded, never from
papermill's cell metadata (papermill marks cells "completed" even after a timeout).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Literal

SCHEMA = "sfdoctor.findings/1"
# The notebook publishes each check's finding as a display output of this mimetype
# (alongside text/html for people); the runner collects them from the executed notebook.
MIMETYPE = "application/vnd.sfdoctor.finding+json"
RUN_MIMETYPE = "application/vnd.sfdoctor.run+json"
# Key in each finding output's metadata: the API calls spent up to that finding, so that a run
# that breaks before its summary still reports its cost.
API_CALLS_METADATA = "sfdoctor.api_calls"
# Key in the metadata of an output a check shows beside its card (a table, a chart): the check's
# id, so that the report places the output under that check's card.
CHECK_METADATA = "sfdoctor.check"

Status = Literal["pass", "fail", "warn", "manual", "skip", "error"]
STATUSES: tuple[str, ...] = ("pass", "fail", "warn", "manual", "skip", "error")
Outcome = Literal["healthy", "problems_found", "inconclusive", "error"]

EXIT_CODES = {"healthy": 0, "problems_found": 1, "inconclusive": 3, "error": 3}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: Any) -> datetime | None:
    """An `iso()` time read back (index lines, findings.json); None for anything else, a time
    without a zone included: such a line was not written by sfdoctor."""
    if not isinstance(text, str):
        return None
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return ts if ts.tzinfo else None


@dataclass
class Finding:
    """One check's result. `title`, `summary` and `fix` are already in the run's language."""

    id: str
    title: str
    status: str
    cause: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str = ""
    summary: str = ""
    duration_ms: int = 0
    # The finding shows the runbook's symptom itself (a refused login, failing history rows, an
    # error type in a pasted URL, a Failed sync status) without saying why: while no `fail`
    # explains it, the run cannot be `healthy` (spec/findings.md outcome rules).
    unexplained: bool = False

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown check status {self.status!r}")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        # Evidence must be JSON-native: round-trip now so a bad value fails at the check, not at the writer.
        data["evidence"] = json.loads(json.dumps(self.evidence, default=str))
        if not self.unexplained:
            del data["unexplained"]  # written only where it holds, so a plain finding reads as before
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Finding":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def root_causes(checks: Iterable[Finding]) -> list[str]:
    return _distinct(c.cause for c in checks if c.status == "fail" and c.cause)


def warnings(checks: Iterable[Finding]) -> list[str]:
    return _distinct(c.cause for c in checks if c.status == "warn" and c.cause)


def outcome(checks: Iterable[Finding], *, run_broke: bool = False) -> str:
    """THE outcome rule (spec/findings.md), for every runbook: a fail explains the symptom;
    without one, a check that could not run or symptom evidence left unexplained makes the run
    `inconclusive`; `healthy` only when neither is left."""
    checks = list(checks)
    if run_broke:
        return "error"
    if any(c.status == "fail" for c in checks):
        return "problems_found"
    if any(c.status == "error" or c.unexplained for c in checks):
        return "inconclusive"
    return "healthy"


def reasons_of(findings: dict[str, Any]) -> list[str]:
    """Why a run is inconclusive or broke, one line each (spec/findings.md `reasons`): the run's
    own `reasons` when it states them, else what each `error` check says (its summary)."""
    if findings.get("outcome") not in ("inconclusive", "error"):
        return []
    stated = [str(r) for r in findings.get("reasons") or [] if r]
    if stated:
        return stated
    out = []
    for check in findings.get("checks") or []:
        if check.get("status") == "error":
            text = " ".join(str(check.get("summary") or (check.get("evidence") or {}).get("reason")
                                or check.get("title") or check.get("id")).split())
            out.append(f"{check.get('id')}: {text}")
    return _distinct(out)


def not_checked(checks: Iterable[Finding]) -> list[str]:
    """Ids of the `manual` steps left for the operator (spec/findings.md `not_checked`)."""
    return _distinct(c.id for c in checks if c.status == "manual")


def reasons(checks: Iterable[Finding], lang: str, *, run_broke: bool = False) -> list[str]:
    """One line per reason the run is `inconclusive` or `error`, in `lang`: each check that could
    not run and each piece of the symptom left unexplained. Empty for any other outcome."""
    from .i18n import t

    checks = list(checks)
    if outcome(checks, run_broke=run_broke) not in ("inconclusive", "error"):
        return []
    lines: list[str] = []
    for c in checks:
        said = " ".join((c.summary or str(c.evidence.get("reason") or "")).split())
        if c.status == "error":
            lines.append(t("outcome.reason.error", lang, title=c.title, reason=said or "-"))
        elif c.unexplained and c.status == "manual":
            # The run could not look (its summary says why), not: it looked and nothing explains it.
            lines.append(t("outcome.reason.not_looked", lang, title=c.title, reason=said or "-"))
        elif c.unexplained:
            lines.append(t("outcome.reason.unexplained", lang, title=c.title, reason=said or "-"))
    return _distinct(lines)


_CASE_CHARS = 120


def done_line(findings: dict[str, Any], lang: str) -> str:
    """The terminal's one line for a finished run: the outcome and what it rests on (the causes
    found, the reasons a run is inconclusive); the outcome alone when there is nothing to add."""
    outcome = findings["outcome"]
    from .i18n import t

    said = t("outcome." + outcome, lang)
    if outcome == "problems_found":
        # Each cause with the case its first failing check found (`PASSWORD_INVALID (x is locked out)`).
        first = {}
        for check in findings.get("checks") or []:
            if check.get("status") == "fail" and check.get("cause"):
                first.setdefault(check["cause"], " ".join(str(check.get("summary") or "").split()))
        named = []
        for cause in findings.get("root_causes", []):
            case = first.get(cause, "").rstrip(".。")
            if len(case) > _CASE_CHARS:
                case = case[: _CASE_CHARS - 1] + "…"
            named.append(f"{cause} ({case})" if case else cause)
        detail = ", ".join(named)
    elif outcome in ("inconclusive", "error"):
        detail = "; ".join(reasons_of(findings))
    elif findings.get("not_checked"):
        # healthy with manual steps left: the line says what was not looked at, by its title.
        titles = {c.get("id"): c.get("title") or c.get("id") for c in findings.get("checks") or []}
        left = ", ".join(str(titles.get(i, i)) for i in findings["not_checked"])
        return t("run.progress.done_not_checked", lang, outcome=said, checks=left)
    else:
        detail = ""
    return t("run.progress.done", lang, outcome=said, causes=detail) if detail else said


def version() -> str:
    """The sfdoctor that wrote a findings.json: a change of wording or rules between two runs
    is then not read as the org changing."""
    from . import __version__

    return __version__


def _distinct(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


@dataclass
class RunResult:
    """Everything findings.json holds for one run."""

    runbook: str
    org: str
    lang: str
    started_at: datetime
    finished_at: datetime | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    api_calls: int = 0
    checks: list[Finding] = field(default_factory=list)
    run_broke: bool = False

    @property
    def outcome(self) -> str:
        return outcome(self.checks, run_broke=self.run_broke)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "runbook": self.runbook,
            "org": self.org,
            "lang": self.lang,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at or utcnow()),
            "sfdoctor_version": version(),
            "outcome": self.outcome,
            "root_causes": root_causes(self.checks),
            "warnings": warnings(self.checks),
            "api_calls": self.api_calls,
            "not_checked": not_checked(self.checks),
            "reasons": reasons(self.checks, self.lang, run_broke=self.run_broke),
            "parameters": self.parameters,
            "checks": [c.to_json() for c in self.checks],
        }

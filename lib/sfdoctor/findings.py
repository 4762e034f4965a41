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

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown check status {self.status!r}")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        # Evidence must be JSON-native: round-trip now so a bad value fails at the check, not at the writer.
        data["evidence"] = json.loads(json.dumps(self.evidence, default=str))
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
    checks = list(checks)
    if run_broke:
        return "error"
    if any(c.status == "fail" for c in checks):
        return "problems_found"
    if any(c.status == "error" for c in checks):
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
            "outcome": self.outcome,
            "root_causes": root_causes(self.checks),
            "warnings": warnings(self.checks),
            "api_calls": self.api_calls,
            "parameters": self.parameters,
            "checks": [c.to_json() for c in self.checks],
        }

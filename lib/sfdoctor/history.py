"""The report history: `sfdoctor reports list` and `sfdoctor reports diff A B`.

The index (`reports/index.jsonl`, one line per run, appended under a lock by the runner)
is the list; each report's `findings.json` is the truth a diff compares. A diff answers
the question after a fix: which causes are new, which are fixed, which are still there.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BadInput
from .runner import INDEX


def list_reports(out_dir: str | os.PathLike[str] = "reports") -> list[dict[str, Any]]:
    """Every run in the index, oldest first; a damaged line is skipped, not fatal."""
    path = Path(out_dir) / INDEX
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a half-written line from a crashed writer must not hide the others
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def resolve_report(ref: str, out_dir: str | os.PathLike[str] = "reports") -> Path:
    """A report folder from a path (absolute, relative to cwd or to the out dir) or an index position.

    Positions count like Python's: `-1` is the latest run, `0` the first.
    """
    out = Path(out_dir)
    text = str(ref).strip()
    try:
        pos = int(text)
    except ValueError:
        pos = None
    if pos is not None:
        entries = list_reports(out)
        if not entries:
            raise BadInput(f"no reports in {out}", hint="run `sfdoctor run` first or pass --out")
        try:
            entry = entries[pos]
        except IndexError:
            raise BadInput(f"no report at position {pos}", hint=f"{len(entries)} reports in {out}; -1 is the latest") from None
        return (out / entry["folder"]).resolve()
    for candidate in (Path(text), out / text):
        if (candidate / "findings.json").is_file():
            return candidate.resolve()
        if candidate.name == "findings.json" and candidate.is_file():
            return candidate.parent.resolve()
    raise BadInput(f"no report at {text}", hint="pass a report folder (with findings.json) or a position like -1")


def load_findings(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / "findings.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BadInput(f"{folder / 'findings.json'}: unreadable ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise BadInput(f"{folder / 'findings.json'}: not a findings object")
    return data


@dataclass
class Diff:
    """What changed from report `a` to report `b` (causes of fail and warn checks)."""

    a: Path
    b: Path
    new: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    outcome_a: str = ""
    outcome_b: str = ""
    status_changes: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "a": str(self.a), "b": str(self.b),
            "outcome": {"a": self.outcome_a, "b": self.outcome_b},
            "new": self.new, "fixed": self.fixed, "unchanged": self.unchanged,
            "status_changes": self.status_changes,
        }


def _causes(findings: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys([*findings.get("root_causes", []), *findings.get("warnings", [])]))


def diff(a: str | os.PathLike[str], b: str | os.PathLike[str], out_dir: str | os.PathLike[str] = "reports") -> Diff:
    """Compare two reports (folders or index positions such as -2 and -1)."""
    fa, fb = resolve_report(str(a), out_dir), resolve_report(str(b), out_dir)
    da, db = load_findings(fa), load_findings(fb)
    ca, cb = _causes(da), _causes(db)
    status_a = {c.get("id"): c.get("status") for c in da.get("checks", [])}
    changes = [
        {"check": c.get("id"), "a": status_a[c.get("id")], "b": c.get("status")}
        for c in db.get("checks", [])
        if c.get("id") in status_a and status_a[c.get("id")] != c.get("status")
    ]
    return Diff(
        a=fa, b=fb,
        new=[c for c in cb if c not in ca],
        fixed=[c for c in ca if c not in cb],
        unchanged=[c for c in cb if c in ca],
        outcome_a=str(da.get("outcome", "")), outcome_b=str(db.get("outcome", "")),
        status_changes=changes,
    )

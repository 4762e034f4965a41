"""The report history: `sfdoctor reports list`, `reports diff A B` and `reports prune`.

The index (`reports/index.jsonl`, one line per run, appended under a lock by the runner)
is the list; each report's `findings.json` is the truth a diff compares. A diff answers
the question after a fix: which causes are new, which are fixed, which are still there;
it compares two runs of ONE runbook on ONE org (anything else would list every cause of
one runbook as "fixed").

Retention (`prune`): the index and the folders change together under the index's lock
(`report_index.index_lock`, the one a run's append takes), so a run finishing meanwhile
waits and loses no line. A folder is first renamed out of the report tree into
`OUT/.pruned/` (one atomic rename: the report is there whole or not at all), and only
then deleted; its index line goes only if the rename worked. A leftover in `.pruned/`
(a delete that failed) is retried by the next prune. The index is rewritten whole
(`report_index.rewrite_index`), damaged lines kept as they were.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from .errors import BadInput
from .findings import parse_iso, utcnow
from .i18n import Text
from .index_page import write_locked as write_index_page
from .report_index import INDEX, causes, cause_changes, index_lock, list_reports, read_lines, rewrite_index

PRUNED = ".pruned"
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)


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
            raise BadInput(Text("history.no_reports", out=str(out)), hint=Text("history.no_reports_hint"))
        try:
            entry = entries[pos]
        except IndexError:
            raise BadInput(Text("history.no_report_at_position", pos=pos),
                           hint=Text("history.no_report_at_position_hint", n=len(entries), out=str(out))) from None
        return (out / entry["folder"]).resolve()
    for candidate in (Path(text), out / text):
        if (candidate / "findings.json").is_file():
            return candidate.resolve()
        if candidate.name == "findings.json" and candidate.is_file():
            return candidate.parent.resolve()
    raise BadInput(Text("history.no_report_at", text=text), hint=Text("history.no_report_at_hint"))


def load_findings(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / "findings.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BadInput(Text("history.findings_unreadable", path=str(folder / "findings.json"),
                            why=exc.__class__.__name__)) from None
    if not isinstance(data, dict):
        raise BadInput(Text("history.findings_not_object", path=str(folder / "findings.json")))
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
    # The sfdoctor that wrote each findings.json (None: written before it was recorded). When
    # they differ, a change may be sfdoctor's wording or rules, not the org.
    version_a: str | None = None
    version_b: str | None = None

    @property
    def versions_differ(self) -> bool:
        return self.version_a != self.version_b

    def to_json(self) -> dict[str, Any]:
        return {
            "a": str(self.a), "b": str(self.b),
            "outcome": {"a": self.outcome_a, "b": self.outcome_b},
            "sfdoctor_version": {"a": self.version_a, "b": self.version_b},
            "versions_differ": self.versions_differ,
            "new": self.new, "fixed": self.fixed, "unchanged": self.unchanged,
            "status_changes": self.status_changes,
        }


def diff(a: str | os.PathLike[str], b: str | os.PathLike[str], out_dir: str | os.PathLike[str] = "reports") -> Diff:
    """Compare two reports (folders or index positions such as -2 and -1) of one runbook and org."""
    fa, fb = resolve_report(str(a), out_dir), resolve_report(str(b), out_dir)
    da, db = load_findings(fa), load_findings(fb)
    ka, kb = (da.get("runbook"), da.get("org")), (db.get("runbook"), db.get("org"))
    if None not in ka + kb and ka != kb:
        raise BadInput(Text("history.diff_other_run", runbook_a=ka[0], org_a=ka[1], runbook_b=kb[0], org_b=kb[1]),
                       hint=Text("history.diff_hint"))
    ca, cb = causes(da), causes(db)
    new, fixed, unchanged = cause_changes(ca, cb)
    status_a = {c.get("id"): c.get("status") for c in da.get("checks", [])}
    changes = [
        {"check": c.get("id"), "a": status_a[c.get("id")], "b": c.get("status")}
        for c in db.get("checks", [])
        if c.get("id") in status_a and status_a[c.get("id")] != c.get("status")
    ]
    return Diff(
        a=fa, b=fb,
        new=new, fixed=fixed, unchanged=unchanged,
        outcome_a=str(da.get("outcome", "")), outcome_b=str(db.get("outcome", "")),
        status_changes=changes,
        version_a=da.get("sfdoctor_version"), version_b=db.get("sfdoctor_version"),
    )


# --------------------------------------------------------------------------------------
# Retention
# --------------------------------------------------------------------------------------
def parse_duration(text: str) -> timedelta:
    """`90d`, `12h`, `2w`, `30m` (minutes): a positive whole number and one unit; BadInput otherwise."""
    match = _DURATION.match(str(text))
    if not match or int(match.group(1)) == 0:
        raise BadInput(Text("history.duration_bad", text=text), hint=Text("history.duration_hint"))
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2).lower()])


@dataclass
class Prune:
    """What a prune removed (or, dry, would remove), what it kept, and what failed."""

    cutoff: datetime
    dry_run: bool
    removed: list[dict[str, Any]] = field(default_factory=list)
    kept: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        from .findings import iso

        return {"cutoff": iso(self.cutoff), "dry_run": self.dry_run, "kept": self.kept,
                "removed": [{"time": e.get("time"), "runbook": e.get("runbook"), "org": e.get("org"),
                             "folder": e.get("folder")} for e in self.removed],
                "failed": self.failed}


def _inside(out: Path, folder: Any) -> Path | None:
    """The report folder an index line names, only if it lies inside the out dir (never `..`)."""
    if not isinstance(folder, str) or not folder.strip():
        return None
    path = (out / folder).resolve()
    try:
        rel = path.relative_to(out)
    except ValueError:
        return None
    return path if rel.parts and rel.parts[0] != PRUNED else None


def _empty_parents(folder: Path, out: Path) -> None:
    """Remove the date and runbook folders a pruned report leaves empty (never the out dir)."""
    for parent in folder.parents:
        if parent == out or out not in parent.parents:
            return
        try:
            parent.rmdir()
        except OSError:
            return


def prune(
    out_dir: str | os.PathLike[str],
    older_than: timedelta,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    rmtree: Callable[[Path], None] = shutil.rmtree,
    rename: Callable[[Path, Path], None] = os.rename,
) -> Prune:
    """Remove the runs older than `older_than` (by their index time): folder and line together.

    `rename` and `rmtree` are injectable so tests can make a removal fail. Lines whose time
    cannot be read, or whose folder lies outside the out dir, are kept untouched.
    """
    out = Path(out_dir).resolve()
    result = Prune(cutoff=(now or utcnow()) - older_than, dry_run=dry_run)
    if not (out / INDEX).is_file():
        return result
    with index_lock(out):
        lines = read_lines(out)
        keep: list[str] = []
        for raw in lines:
            try:
                entry = json.loads(raw)
            except json.JSONDecodeError:
                entry = None
            ts = parse_iso(entry.get("time")) if isinstance(entry, dict) else None
            if not isinstance(entry, dict) or ts is None or ts >= result.cutoff:
                keep.append(raw)
                continue
            folder = _inside(out, entry.get("folder"))
            if folder is None:
                keep.append(raw)
                continue
            if dry_run:
                result.removed.append(entry)
                keep.append(raw)
                continue
            if folder.exists():
                trash = out / PRUNED / f"{folder.name}-{secrets.token_hex(4)}"
                try:
                    trash.parent.mkdir(exist_ok=True)
                    rename(folder, trash)
                except OSError as exc:
                    result.failed.append({"folder": str(entry.get("folder")), "reason": exc.strerror or type(exc).__name__})
                    keep.append(raw)
                    continue
                _empty_parents(folder, out)
            result.removed.append(entry)
        result.kept = len(keep) - (len(result.removed) if dry_run else 0)
        if not dry_run and len(keep) != len(lines):
            rewrite_index(out, keep)
        if not dry_run:
            _empty_trash(out, rmtree, result)
            if result.removed:
                write_index_page(out, None)
    return result


def _empty_trash(out: Path, rmtree: Callable[[Path], None], result: Prune) -> None:
    trash = out / PRUNED
    if not trash.is_dir():
        return
    for item in sorted(trash.iterdir()):
        try:
            rmtree(item)
        except OSError as exc:  # out of the report tree already; the next prune tries again
            result.failed.append({"folder": str(item.relative_to(out)), "reason": exc.strerror or type(exc).__name__})
    try:
        trash.rmdir()
    except OSError:
        pass

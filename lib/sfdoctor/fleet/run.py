"""`sfdoctor fleet run`: many orgs' runbooks at once, written as `sfdoctor run` would write them.

The workers return results; this process alone writes: each org-runbook's report folder
(built in `OUT/.fleet-tmp/` and renamed into place, so no half-written folder is ever in the
report tree), its index line, and a journal line in the fleet's own folder. The journal is
what `--resume` reads: an org-runbook recorded there is never run again, and one killed
between its rename and its index line is finished, not redone. At the end: `fleet.json`,
the history page (rebuilt once), the fleet page and the notification.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import BadInput
from ..findings import EXIT_CODES, iso, parse_iso, utcnow
from .. import probe_memory
from . import plan as planning
from ..i18n import t

OUTCOMES = ("healthy", "problems_found", "inconclusive", "error", "skipped")
FLEET_DIR = "fleet"
TMP_DIR = ".fleet-tmp"
JOURNAL = "journal.jsonl"
FLEET_JSON = "fleet.json"


@dataclass
class FleetOptions:
    orgs_file: Path
    selects: Sequence[str] = ()
    runbooks: Sequence[str] | None = None
    executor: str = "local"
    scheduler: str | None = None
    workers: int = 0
    out: Path = Path("reports")
    resume: bool = False
    notify: Sequence[str] = ()
    lang: str = "en"
    runbook_timeout: float = 120
    progress: bool = True
    index_extra: Mapping[str, Any] | None = None   # more keys for each index line (the scheduler's)
    first_page_lang: str | None = None   # OUT/index.html's language if this fleet creates it (an explicit --lang)


@dataclass
class _State:
    folder: Path
    journal: Path
    started_at: str
    done: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # What each org-runbook's login probe left for the probe memory (principle 7); journaled.
    probes: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


def exit_code(entries: Sequence[Mapping[str, Any]]) -> int:
    """spec/cli.md: 1 if any found problems; else 3 if any inconclusive or error; else 0."""
    outcomes = {e["outcome"] for e in entries}
    if "problems_found" in outcomes:
        return 1
    if outcomes & {"inconclusive", "error"}:
        return 3
    return 0


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


# --------------------------------------------------------------------------------------
# The fleet's folder and journal
# --------------------------------------------------------------------------------------
def _unfinished(out: Path) -> Path | None:
    """The newest fleet folder with a journal and no fleet.json: the run `--resume` finishes."""
    root = out / FLEET_DIR
    if not root.is_dir():
        return None
    for folder in sorted(root.glob("*/*"), reverse=True):
        if (folder / JOURNAL).is_file() and not (folder / FLEET_JSON).is_file():
            return folder
    return None


def _read_journal(path: Path) -> list[dict[str, Any]]:
    lines = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue  # a line cut by a kill: that org-runbook was not recorded
    return lines


def _append(path: Path, record: Mapping[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _indexed_folders(out: Path) -> set[str]:
    from ..report_index import INDEX

    path = out / INDEX
    if not path.is_file():
        return set()
    found = set()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                found.add(json.loads(line).get("folder"))
            except ValueError:
                continue
    return found


def _open_state(out: Path, resume: bool, lang: str) -> _State:
    now = utcnow()
    if resume:
        folder = _unfinished(out)
        if folder is None:
            raise BadInput(t("fleet.bad.resume", lang, path=out / FLEET_DIR), hint=t("fleet.bad.resume_hint", lang))
        state = _State(folder=folder, journal=folder / JOURNAL, started_at="")
        records = _read_journal(state.journal)
        commits: dict[tuple[str, str], dict[str, Any]] = {}
        indexed = None
        for rec in records:
            if rec.get("state") == "start":
                state.started_at = rec["started_at"]
            elif rec.get("state") == "commit":
                commits[(rec["org"], rec["runbook"])] = rec
            elif rec.get("state") == "done":
                state.done[(rec["entry"]["org"], rec["entry"]["runbook"])] = rec["entry"]
            if rec.get("state") in ("commit", "done") and rec.get("probe"):
                state.probes[(rec["entry"]["org"], rec["entry"]["runbook"])] = rec["probe"]
        for key, rec in commits.items():
            if key in state.done:
                continue
            # Killed between the commit line and the done line: finish what that entry began.
            final, tmp = out / rec["entry"]["folder"], Path(rec["tmp"])
            if not final.exists() and tmp.is_dir():
                final.parent.mkdir(parents=True, exist_ok=True)
                os.rename(tmp, final)
            if not final.exists():
                continue  # never renamed and its files are gone: run it again
            indexed = _indexed_folders(out) if indexed is None else indexed
            if rec["entry"]["folder"] not in indexed:
                _append_index(out, rec["index"])
            _append(state.journal, {"state": "done", "entry": rec["entry"]})
            state.done[key] = rec["entry"]
        shutil.rmtree(out / TMP_DIR / folder.name, ignore_errors=True)
        state.started_at = state.started_at or iso(now)
        return state
    base = out / FLEET_DIR / now.strftime("%Y-%m-%d")
    base.mkdir(parents=True, exist_ok=True)
    stem = now.strftime("%H%M%S") + "Z"
    for n in range(1, 1000):
        folder = base / (stem if n == 1 else f"{stem}-{n}")
        try:
            folder.mkdir()
            break
        except FileExistsError:
            continue
    state = _State(folder=folder, journal=folder / JOURNAL, started_at=iso(now))
    _append(state.journal, {"state": "start", "started_at": state.started_at})
    return state


def _append_index(out: Path, line: Mapping[str, Any]) -> None:
    from ..report_index import append_index

    append_index(out, line)


# --------------------------------------------------------------------------------------
# Writing what the workers return
# --------------------------------------------------------------------------------------
class _Writer:
    def __init__(self, out: Path, state: _State, lang: str, fleet_id: str,
                 index_extra: Mapping[str, Any] | None = None) -> None:
        self.index_extra = dict(index_extra or {})
        self.out = out
        self.state = state
        self.lang = lang
        self.fleet_id = fleet_id
        self.tmp_root = out / TMP_DIR / state.folder.name
        self.tmp_root.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def entry(self, org: str, result: Mapping[str, Any], worker_name: str | None, budget: Any) -> dict[str, Any]:
        findings = result.get("findings") or {}
        reason = result.get("reason")
        entry = {
            "org": org,
            "runbook": result["runbook"],
            "outcome": result["outcome"],
            "root_causes": list(findings.get("root_causes") or []),
            "warnings": list(findings.get("warnings") or []),
            "not_checked": list(findings.get("not_checked") or []),
            "folder": None,
            "reason": reason,
            "api_calls": int(result.get("api_calls") or 0),
            "duration_s": result.get("duration_s", 0.0),
            "worker": worker_name,
            # The API budget guard's warning (usage over 70 %), in the run's language; not a
            # reason, which says why an org-runbook ended as it did.
            "budget_warning": result.get("budget_warning"),
        }
        if budget:
            entry["api_budget"] = budget
        return entry

    def write(self, org: str, result: Mapping[str, Any], worker_name: str | None = None, budget: Any = None) -> dict[str, Any]:
        entry = self.entry(org, result, worker_name, budget)
        findings = result.get("findings")
        probe = {"probe": result["probe"]} if result.get("probe") else {}
        if probe:
            self.state.probes[(org, entry["runbook"])] = result["probe"]
        if findings is None:
            _append(self.state.journal, {"state": "done", "entry": entry})
            self.state.done[(org, entry["runbook"])] = entry
            return entry
        from ..orgs import slugify

        self.count += 1
        tmp = self.tmp_root / str(self.count)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        (tmp / "report.ipynb").write_text(result["notebook"], encoding="utf-8")
        (tmp / "report.html").write_text(result["html"], encoding="utf-8")
        (tmp / "findings.json").write_text(json.dumps(findings, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        started = parse_iso(findings.get("started_at")) or utcnow()
        final = self._free_folder(entry["runbook"], slugify(org), started)
        entry["folder"] = final.relative_to(self.out).as_posix()
        index_line = {
            "time": findings.get("started_at") or iso(started),
            "runbook": entry["runbook"],
            "org": org,
            "outcome": findings["outcome"],
            "root_causes": findings.get("root_causes", []),
            "warnings": findings.get("warnings", []),
            "folder": entry["folder"],
            "exit_code": EXIT_CODES[findings["outcome"]],
            "sfdoctor_version": findings.get("sfdoctor_version"),
            "fleet": self.fleet_id,
            **{k: v for k, v in self.index_extra.items() if k not in ("time", "runbook", "org", "outcome", "folder")},
        }
        _append(self.state.journal, {"state": "commit", "org": org, "runbook": entry["runbook"], "tmp": str(tmp),
                                     "entry": entry, "index": index_line, **probe})
        os.rename(tmp, final)
        _append_index(self.out, index_line)
        _append(self.state.journal, {"state": "done", "entry": entry, **probe})
        self.state.done[(org, entry["runbook"])] = entry
        return entry

    def _free_folder(self, runbook: str, slug: str, when: datetime) -> Path:
        """`OUT/YYYY-MM-DD/RUNBOOK/SLUG-HHMMSSZ[-N]`, a name no folder has yet (the rename
        then moves the finished folder there in one step)."""
        base = self.out / when.strftime("%Y-%m-%d") / runbook
        base.mkdir(parents=True, exist_ok=True)
        stem = f"{slug}-{when.strftime('%H%M%S')}Z"
        for n in range(1, 10_000):
            folder = base / (stem if n == 1 else f"{stem}-{n}")
            if not folder.exists():
                return folder
        raise RuntimeError(f"no free report folder name under {base}")  # pragma: no cover

    def close(self) -> None:
        shutil.rmtree(self.tmp_root, ignore_errors=True)
        with_parent = self.tmp_root.parent
        if with_parent.is_dir() and not any(with_parent.iterdir()):
            with_parent.rmdir()


# --------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------
class _Progress:
    """done / failed / rate / time left on stderr (tqdm), or nothing."""

    def __init__(self, total: int, initial: int, lang: str, enabled: bool) -> None:
        self.failed = 0
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, desc=t("fleet.progress.desc", lang), unit="",
                            file=sys.stderr, dynamic_ncols=True, mininterval=0.5, smoothing=0.1,
                            bar_format="{desc}: {n_fmt}/{total_fmt} {bar} [{elapsed}<{remaining}, {rate_fmt}]{postfix}")
            self.failed_label = t("fleet.progress.failed", lang)
            self.bar.set_postfix_str(f"{self.failed_label} 0", refresh=False)

    def add(self, entries: Sequence[Mapping[str, Any]]) -> None:
        self.failed += sum(1 for e in entries if e["outcome"] in ("inconclusive", "error"))
        if self.bar is not None:
            self.bar.set_postfix_str(f"{self.failed_label} {self.failed}", refresh=False)
            self.bar.update(len(entries))

    def say(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(f"sfdoctor: {line}", file=sys.stderr)
        else:
            print(f"sfdoctor: {line}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------
def previous_fleet(out: Path, before: Path | None) -> dict[str, Any] | None:
    """The newest finished fleet.json other than `before`'s."""
    root = out / FLEET_DIR
    if not root.is_dir():
        return None
    for folder in sorted(root.glob("*/*"), reverse=True):
        if before is not None and folder == before:
            continue
        path = folder / FLEET_JSON
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                continue
    return None


def _lost(org: str, item: Mapping[str, Any], lang: str, reason: str) -> dict[str, Any]:
    """An org-runbook whose worker hung or was lost: `inconclusive` with the reason, and a
    report folder like any run's (`worker.lost_result`), so that nothing ends without one."""
    from .worker import lost_result

    try:
        return lost_result(item["runbook"], org, item.get("params") or {}, lang, reason)
    except Exception:  # noqa: BLE001 - the entry must still be written; it says why it ended
        return {"runbook": item["runbook"], "outcome": "inconclusive", "reason": reason, "findings": None}


def _with_probe_memory(org: str, item: Mapping[str, Any], memory: Any) -> dict[str, Any]:
    """The task's runbook item, with what the probe memory holds for it when it would probe:
    the salt to fingerprint the credentials with (new if none) and the last probe's outcome.
    Never a secret: the worker reads the credentials and decides (`worker._probe_memory`)."""
    params = item.get("params") or {}
    if not probe_memory.probing(item["runbook"], params):
        return dict(item)
    from ..credentials import new_salt

    rec = memory.get(probe_memory.probe_key(item["runbook"], org, params)) or {}
    return {**item, "probe_memory": {"salt": str(rec.get("salt") or "") or new_salt(),
                                     "fingerprint": rec.get("fingerprint"), "failed": bool(rec.get("failed")),
                                     "failed_at": rec.get("updated") if rec.get("failed") else None}}


def _remember_probes(memory: Any, plan: planning.Plan, state: _State) -> None:
    """Store what this run's probes left (one write, for the whole fleet) in the memory that
    `schedule run-due` keeps too (`OUT/.schedule-state.json`)."""
    now = utcnow()
    params = {(task["org"], r["runbook"]): r.get("params") or {} for task in plan.tasks for r in task["runbooks"]}
    memory.put_many({
        probe_memory.probe_key(runbook, org, params.get((org, runbook), {})):
            memory.record(runbook, org, str(rec["salt"]), rec.get("fingerprint"), bool(rec.get("failed")), now)
        for (org, runbook), rec in state.probes.items()
    })


def run_fleet(opts: FleetOptions) -> tuple[dict[str, Any], int, Path]:
    """Run the fleet; returns fleet.json's object, the exit code and the fleet page's path.

    Raises BadInput (exit 2) before anything runs for a bad orgs file, a `--select` or
    `--runbooks` that matches nothing known, a bad `--notify` URL or an unreachable scheduler.
    """
    from ..errors import check_lang
    from . import executors

    lang = check_lang(opts.lang)
    plan = planning.build(opts.orgs_file, opts.selects, opts.runbooks, lang, opts.runbook_timeout)
    from . import notify

    notifier = notify.Notifier(opts.notify, lang) if opts.notify else None
    workers = opts.workers or default_workers()
    executor = executors.make(opts.executor, workers, opts.scheduler, lang)
    progress: _Progress | None = None
    try:
        out = Path(opts.out).resolve()
        out.mkdir(parents=True, exist_ok=True)
        state = _open_state(out, opts.resume, lang)
        fleet_id = state.folder.relative_to(out).as_posix()
        writer = _Writer(out, state, lang, fleet_id, opts.index_extra)
        memory = probe_memory.State(out, None, lang)
        todo = []
        for task in plan.tasks:
            left = [_with_probe_memory(task["org"], r, memory) for r in task["runbooks"]
                    if (task["org"], r["runbook"]) not in state.done]
            if left:
                todo.append({**task, "runbooks": left})
        held: dict[str, int] = {}
        total = len(plan.pairs)
        progress = _Progress(total, total - sum(len(x["runbooks"]) for x in todo), lang, opts.progress)
        progress.say(t("fleet.progress.start", lang, orgs=len(plan.tasks), tasks=total, executor=executor.name,
                       workers=executor.workers))
        if opts.resume:
            progress.say(t("fleet.progress.resume", lang, folder=fleet_id, done=len(state.done)))
        t0 = time.monotonic()

        def on_result(task: Mapping[str, Any], result: Mapping[str, Any]) -> None:
            written = [writer.write(task["org"], r, result.get("worker"), result.get("budget"))
                       for r in result["results"]]
            for r in result["results"]:
                if r.get("probe_held"):
                    held[r["probe_held"]] = held.get(r["probe_held"], 0) + 1
            progress.add(written)  # type: ignore[union-attr]

        def on_lost(task: Mapping[str, Any], reason: str) -> None:
            written = [writer.write(task["org"], _lost(task["org"], r, lang, reason))
                       for r in task["runbooks"] if (task["org"], r["runbook"]) not in state.done]
            progress.add(written)  # type: ignore[union-attr]

        executor.run(todo, on_result, on_lost, progress.say)
        elapsed = time.monotonic() - t0
        progress.close()
        writer.close()
    finally:
        if progress is not None:
            progress.close()
        executor.close()
    entries = [state.done[key] for key in plan.pairs if key in state.done]
    # The probe memory before fleet.json: a run killed in between is resumed, and remembers.
    _remember_probes(memory, plan, state)
    fleet = {
        "schema": "sfdoctor.fleet/1",
        "started_at": state.started_at,
        "finished_at": iso(utcnow()),
        "executor": executor.name,
        "workers": executor.workers,
        "orgs_file": str(plan.orgs_file),
        "lang": lang,
        "entries": entries,
    }
    path = state.folder / FLEET_JSON
    tmp = path.with_name(f".{FLEET_JSON}.tmp")
    tmp.write_text(json.dumps(fleet, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    code = exit_code(entries)
    from ..index_page import refresh
    from . import page

    refresh(out, first=opts.first_page_lang)  # the history page (in its own language), once for the whole fleet
    previous = previous_fleet(out, state.folder)
    page_path = page.write(out, fleet, previous, lang)
    counts = ", ".join(f"{t(f'fleet.outcome.{o}', lang)} {n}" for o in OUTCOMES
                       if (n := sum(1 for e in entries if e["outcome"] == o)))
    say = (lambda line: print(f"sfdoctor: {line}", file=sys.stderr, flush=True))
    say(t("fleet.summary", lang, n=len(entries), seconds=elapsed, rate=60 * len(entries) / max(elapsed, 1e-6),
          counts=counts or "-"))
    if held:
        say(t("fleet.probe_held", lang, same=held.get("same", 0), unknown=held.get("unknown", 0), state=memory.path))
    if notifier is not None:
        say(notifier.send(fleet, previous))
    say(t("fleet.summary_json", lang, path=path))
    say(t("fleet.summary_page", lang, path=page_path))
    return fleet, code, page_path

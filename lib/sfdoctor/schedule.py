"""`sfdoctor schedule`: run the entries of a schedule file that are due (spec/cli.md).

Meant for ONE crontab line that calls `sfdoctor schedule run-due` every 15 minutes (or any
scheduler): each call works out, per entry, the latest slot of its cron expression at or
before now and compares it with the slot its last scheduled run covered. Why this shape:
a machine that was off, or a cron tick that came late, must not cause a burst of catch-up
runs (each one probes logins and spends the customer's API calls), so an entry runs ONCE
however many slots it missed, and a second call right after runs nothing.

The record of a run is the line the runner appends to `OUT/index.jsonl`, which carries a
`schedule` key: `{"params": <the entry's validated params>, "slot": <UTC ISO time>}`.
An entry's last run is the newest line with the same runbook, org and params. Runs made
by hand (`sfdoctor run`) carry no `schedule` key and do not count.

Principle 7 (gentle probes): an entry whose last probe failed with the same credentials
runs with `probe=false`; the memory (`OUT/.schedule-state.json`, salted fingerprints, never a
secret) and its limits are `probe_memory`'s, shared with `fleet run`.
"""
from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from . import project_root
from .cron import CronError, CronExpr, latest_fire_at_or_before, next_fire_after, parse, zone
from .errors import BadInput, SfdoctorError
from .findings import iso, parse_iso, utcnow
from .i18n import LANGS, t
from .probe_memory import STATE, State, probe_failed, probe_fingerprint, probe_hold, probe_key, probe_ran, probing
from .runner import RunOutcome, notebook_path, validate_params

__all__ = ["STATE", "State", "probe_failed", "probe_fingerprint", "probe_ran", "run_due", "load_schedule", "describe"]

LOCK = ".schedule.lock"
LOG = "schedule.log"
KEYS = ("runbook", "org", "cron", "params", "lang", "tz", "fleet")
# A fleet entry's own keys (`sfdoctor fleet run`'s options): `fleet: {orgs: FILE, ...}`.
FLEET_KEYS = ("orgs", "select", "runbooks", "executor", "scheduler", "workers", "notify")
REQUIRED = ("runbook", "org", "cron")
CRON_TICK = "*/15 * * * *"
# Worst first: a run that could not even start (2) outranks inconclusive (3), then fail (1).
SEVERITY = {0: 0, 1: 1, 3: 2, 2: 3}

Progress = Callable[[str], None]
Runner = Callable[..., RunOutcome]

def _stderr(line: str) -> None:
    print(f"sfdoctor: {line}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# The schedule file
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    """One validated schedule entry. `params` are the runner's validated, JSON-native values."""

    index: int
    runbook: str
    org: str
    cron: CronExpr
    tz: str
    params: dict[str, Any] = field(default_factory=dict)
    lang: str | None = None   # None: the language `run-due` was called with
    fleet: dict[str, Any] | None = None   # a fleet run's options instead of one runbook and org

    @property
    def key(self) -> str:
        """What identifies the entry's runs: runbook, org and params (spec/cli.md); a fleet
        entry's runs carry its options instead."""
        if self.fleet is not None:
            return fleet_key(self.fleet)
        return probe_key(self.runbook, self.org, self.params)

    @property
    def label(self) -> str:
        if self.fleet is not None:
            return f"[{self.index}] fleet run --orgs {self.fleet['orgs']}"
        return f"[{self.index}] {self.runbook} --org {self.org}"

    def latest_slot(self, now: datetime) -> datetime | None:
        return latest_fire_at_or_before(self.cron, now, self.tz)

    def next_slot(self, now: datetime) -> datetime | None:
        return next_fire_after(self.cron, now, self.tz)


def fleet_key(options: Mapping[str, Any]) -> str:
    return json.dumps(["fleet", dict(options)], sort_keys=True, ensure_ascii=False)


def default_file() -> Path:
    """`runbooks/schedule.yml` of the project ($SFDOCTOR_HOME aware), as spec/cli.md says."""
    return project_root() / "runbooks" / "schedule.yml"


def load_schedule(file: str | os.PathLike[str] | None = None, lang: str = "en") -> list[Entry]:
    """Read and validate the whole file; the first problem is BadInput `FILE: [i].key: problem`.

    Everything a run would refuse (runbook, org, params) is refused here, before anything
    runs, so a typo in one entry is found when the file is written, not at 2 a.m.
    """
    path = Path(file) if file else default_file()
    if not path.is_file():
        raise BadInput(t("schedule.not_found", lang, file=path))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(t("schedule.unreadable", lang, file=path, reason=exc.strerror or type(exc).__name__)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = t("schedule.yaml_line", lang, line=mark.line + 1) if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise BadInput(t("schedule.yaml", lang, file=path, where=where, problem=problem)) from None
    if data is None:
        data = []
    if not isinstance(data, list):
        raise BadInput(t("schedule.not_list", lang, file=path))
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(data):
        entry = _entry(path, i, raw, lang)
        if entry.key in seen:
            raise BadInput(t("schedule.entry", lang, file=path, i=i, key="", problem=t("schedule.duplicate", lang, j=seen[entry.key])))
        seen[entry.key] = i
        entries.append(entry)
    return entries


def _entry(path: Path, i: int, raw: Any, lang: str) -> Entry:
    def bad(key: str | None, problem: str) -> BadInput:
        return BadInput(t("schedule.entry", lang, file=path, i=i, key=f".{key}" if key else "", problem=problem))

    if not isinstance(raw, dict):
        raise bad(None, t("schedule.not_mapping", lang))
    for key in raw:
        if key not in KEYS:
            raise bad(str(key), t("schedule.unknown_key", lang, known=", ".join(KEYS)))
    if "fleet" in raw:
        return _fleet_entry(path, i, raw, lang, bad)
    for key in REQUIRED:
        if key not in raw or raw[key] in (None, ""):
            raise bad(key, t("schedule.missing", lang))
    for key in ("runbook", "org", "cron", "tz"):
        if key in raw and raw[key] is not None and not isinstance(raw[key], str):
            raise bad(key, t("schedule.not_text", lang))

    from . import orgs
    from .runbooks import load

    try:
        spec = load(raw["runbook"])
        notebook_path(spec)   # a runbook without its notebook cannot run either: say so now
    except SfdoctorError as exc:
        raise bad("runbook", exc.one_line(lang)) from None
    try:
        orgs.resolve(raw["org"], runbook=spec)   # configuration only: no network
    except SfdoctorError as exc:
        raise bad("org", exc.one_line(lang)) from None
    expr, tz, entry_lang = _when_and_language(raw, lang, bad)
    params = raw.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise bad("params", t("schedule.params_mapping", lang))
    try:
        given = validate_params(spec, {str(k): v for k, v in params.items()}, lang)
    except SfdoctorError as exc:
        raise bad("params", exc.one_line(lang)) from None
    return Entry(index=i, runbook=spec.id, org=raw["org"].strip(), cron=expr, tz=tz, params=given, lang=entry_lang)


def _when_and_language(raw: Mapping[str, Any], lang: str,
                       bad: Callable[[str | None, str], BadInput]) -> tuple[CronExpr, str, str | None]:
    """An entry's `cron`, `tz` (UTC when absent) and `lang`, checked alike for runbook and fleet entries."""
    try:
        expr = parse(raw["cron"])
    except CronError as exc:
        raise bad("cron", exc.text(lang)) from None
    tz = raw.get("tz") or "UTC"
    try:
        zone(tz)
    except CronError as exc:
        raise bad("tz", exc.text(lang)) from None
    entry_lang = raw.get("lang")
    if entry_lang is not None and entry_lang not in LANGS:
        raise bad("lang", t("schedule.lang", lang, langs=", ".join(LANGS)))
    return expr, tz, entry_lang


def _fleet_entry(path: Path, i: int, raw: Mapping[str, Any], lang: str, bad: Callable[[str | None, str], BadInput]) -> Entry:
    """`- fleet: {orgs: FILE, select: [...], runbooks: [...], ...}` with `cron` (and `tz`, `lang`):
    a `sfdoctor fleet run`, its orgs file read and checked now like a runbook entry's org."""
    if any(k in raw for k in ("runbook", "org", "params")):
        raise bad("fleet", t("schedule.fleet_alone", lang))
    options = raw["fleet"]
    known = ", ".join(FLEET_KEYS)
    if not isinstance(options, dict) or not options.get("orgs") or any(k not in FLEET_KEYS for k in options):
        raise bad("fleet", t("schedule.fleet_mapping", lang, known=known))
    options = dict(options)
    orgs_file = Path(str(options["orgs"])).expanduser()
    options["orgs"] = str(orgs_file if orgs_file.is_absolute() else (path.parent / orgs_file).resolve())
    for key in ("select", "runbooks", "notify"):
        if isinstance(options.get(key), str):
            options[key] = [options[key]]
    from .fleet.plan import build

    try:
        build(Path(options["orgs"]), options.get("select") or [], options.get("runbooks"), lang)
    except SfdoctorError as exc:
        raise bad("fleet", exc.one_line(lang)) from None
    if "cron" not in raw or not isinstance(raw["cron"], str) or not raw["cron"]:
        raise bad("cron", t("schedule.missing", lang))
    expr, tz, entry_lang = _when_and_language(raw, lang, bad)
    return Entry(index=i, runbook="fleet", org=options["orgs"], cron=expr, tz=tz, lang=entry_lang, fleet=options)


# --------------------------------------------------------------------------------------
# What is due
# --------------------------------------------------------------------------------------
def last_runs(out_dir: str | os.PathLike[str]) -> dict[str, datetime]:
    """Per entry key, the newest slot a scheduled run covered, from the index's `schedule` lines."""
    from .report_index import list_reports

    last: dict[str, datetime] = {}
    for line in list_reports(out_dir):
        sched = line.get("schedule")
        if isinstance(sched, dict) and isinstance(sched.get("fleet"), dict):
            key = fleet_key(sched["fleet"])
        elif isinstance(sched, dict) and isinstance(sched.get("params"), dict):
            key = json.dumps([line.get("runbook"), line.get("org"), sched["params"]], sort_keys=True, ensure_ascii=False)
        else:
            continue
        slot = parse_iso(sched.get("slot")) or parse_iso(line.get("time"))
        if slot is not None and (key not in last or slot > last[key]):
            last[key] = slot
    return last


@dataclass(frozen=True)
class Plan:
    """One entry's state at `now`: the slot it would run for, its last run, whether it is due."""

    entry: Entry
    slot: datetime | None
    last: datetime | None
    next: datetime | None

    @property
    def due(self) -> bool:
        """Due when a slot has come since the last run; never run counts as due."""
        return self.slot is not None and (self.last is None or self.slot > self.last)


def plan(entries: list[Entry], out_dir: str | os.PathLike[str], now: datetime) -> list[Plan]:
    last = last_runs(out_dir)
    return [Plan(e, e.latest_slot(now), last.get(e.key), e.next_slot(now)) for e in entries]


# --------------------------------------------------------------------------------------
# run-due
# --------------------------------------------------------------------------------------
# What `probe_hold` says, as a line of run-due's log.
PROBE_HOLD_TEXT = {"same": "schedule.probe_same", "unknown": "schedule.probe_unknown"}


def worst(a: int, b: int) -> int:
    """The worse of two exit codes: 0 < 1 < 3 < 2 (a run that could not start at all)."""
    return a if SEVERITY.get(a, 3) >= SEVERITY.get(b, 3) else b


def run_due(
    file: str | os.PathLike[str] | None,
    out_dir: str | os.PathLike[str] = "reports",
    now: datetime | None = None,
    *,
    lang: str = "en",
    runner: Runner | None = None,
    progress: Progress | None = _stderr,
    wait: float = 0,
) -> int:
    """Run each due entry once, sequentially; return the worst exit code of the runs.

    A bad file raises BadInput (exit 2) before anything runs. `now` and `runner` are
    injectable for tests; the default runner is `runner.run_runbook`. Two overlapping
    calls on one out dir never both run: the second finds the lock taken and either skips
    (`wait` 0, the default: the next cron tick will look again) or waits up to `wait`
    seconds and then plans afresh from the index, so what the first ran is not due any
    more. Either way it says which in one line, and a skip returns 0.
    """
    from filelock import FileLock, Timeout

    if runner is None:
        from .runner import run_runbook as runner
    path = Path(file).resolve() if file else default_file()
    entries = load_schedule(path, lang)
    now_given, now = now, now or utcnow()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda _line: None)
    lock = FileLock(str(out / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        try:
            if wait <= 0:
                raise
            say(t("schedule.waiting", lang, out=out, wait=wait))
            lock.acquire(timeout=wait)
        except Timeout:
            say(t("schedule.busy", lang, out=out))
            return 0
        if now_given is None:
            now = utcnow()   # the wait took time: slots that came meanwhile count
    try:
        say(t("schedule.entries", lang, n=len(entries), file=path, now=iso(now)))
        state = State(out, progress, lang)
        code, ran = 0, 0
        for p in plan(entries, out, now):
            last = iso(p.last) if p.last else t("schedule.never", lang)
            if p.slot is None:
                say(t("schedule.no_slot", lang, label=p.entry.label))
                continue
            if not p.due:
                say(t("schedule.not_due", lang, label=p.entry.label, last=last, next=iso(p.next) if p.next else "-"))
                continue
            say(t("schedule.due", lang, label=p.entry.label, slot=iso(p.slot), last=last))
            result = _run_entry(p, out, now, state, lang, runner, progress)
            say(t("schedule.exit", lang, label=p.entry.label, code=result))
            code, ran = worst(code, result), ran + 1
        say(t("schedule.done", lang, ran=ran, n=len(entries), code=code))
        return code
    finally:
        lock.release()


def _run_entry(p: Plan, out: Path, now: datetime, state: State, lang: str, runner: Runner,
               progress: Progress | None) -> int:
    """One run of one entry, with principle 7 applied; errors become an exit code and one line."""
    entry = p.entry
    say = progress or (lambda _line: None)
    if entry.fleet is not None:
        return _run_fleet_entry(p, out, lang, say)
    params = dict(entry.params)
    will_probe = False
    salt, fp = "", None
    try:
        if probing(entry.runbook, params):
            will_probe = True
            rec = state.get(entry.key)
            from .credentials import new_salt

            salt = str(rec.get("salt") or "") if rec else ""
            salt = salt or new_salt()
            fp = probe_fingerprint(entry.org, entry.runbook, params, salt)
            hold = probe_hold(rec, fp)
            if hold is not None:
                say(t(PROBE_HOLD_TEXT[hold], lang, label=entry.label, state=state.path))
                # Off, and said so: the run reports that it could not look (session._probe_held).
                params["probe"], will_probe = False, False
                params["probe_held"] = str(rec.get("updated") or "unknown") if rec else "unknown"
        outcome = runner(entry.runbook, entry.org, params, out, entry.lang or lang, progress=progress,
                         index_extra={"schedule": {"params": entry.params, "slot": iso(p.slot)}})  # type: ignore[arg-type]
    except SfdoctorError as exc:
        from .scrub import scrub_text

        say(t("schedule.failed", lang, label=entry.label, reason=scrub_text(exc.one_line(lang))))
        return 3 if exc.exit_code == 3 else 2
    except Exception as exc:  # one entry's bug must not stop the others; still one line
        from .scrub import scrub_text

        say(t("schedule.failed", lang, label=entry.label,
               reason=scrub_text(f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}")))
        return 3
    if will_probe and probe_ran(outcome.findings):
        state.put(entry, salt, fp, probe_failed(outcome.findings), now)
    return outcome.exit_code


def _run_fleet_entry(p: Plan, out: Path, lang: str, say: Progress) -> int:
    """A fleet entry: `sfdoctor fleet run` with its options; each index line it writes carries
    `schedule: {fleet: options, slot}`, which is how its last run is found again."""
    from .fleet.run import FleetOptions, run_fleet

    options = p.entry.fleet or {}
    try:
        _fleet, code, _page = run_fleet(FleetOptions(
            orgs_file=Path(options["orgs"]), selects=options.get("select") or [], runbooks=options.get("runbooks"),
            executor=options.get("executor", "local"), scheduler=options.get("scheduler"),
            workers=int(options.get("workers") or 0), out=out, notify=options.get("notify") or [],
            lang=p.entry.lang or lang, progress=False,
            index_extra={"schedule": {"fleet": options, "slot": iso(p.slot)}}))
    except SfdoctorError as exc:
        from .scrub import scrub_text

        say(t("schedule.failed", lang, label=p.entry.label, reason=scrub_text(exc.one_line(lang))))
        return 3 if exc.exit_code == 3 else 2
    return code


# --------------------------------------------------------------------------------------
# show
# --------------------------------------------------------------------------------------
def _cron_quote(text: str) -> str:
    """Shell-quoted, with `%` escaped: cron turns a bare `%` into a newline."""
    return shlex.quote(text).replace("%", "\\%")


def crontab_line(file: str | os.PathLike[str] | None, out_dir: str | os.PathLike[str] = "reports") -> str:
    """The one line to install: every 15 minutes, run-due with absolute paths, output to the log."""
    path = Path(file).resolve() if file else default_file()
    out = Path(out_dir).resolve()
    exe = Path(sys.prefix) / "bin" / "sfdoctor"
    q = _cron_quote
    return (f"{CRON_TICK} cd {q(str(project_root()))} && {q(str(exe))} schedule run-due"
            f" --file {q(str(path))} --out {q(str(out))} >> {q(str(out / LOG))} 2>&1")


def describe(file: str | os.PathLike[str] | None, out_dir: str | os.PathLike[str] = "reports",
             now: datetime | None = None, lang: str = "en") -> dict[str, Any]:
    """What `schedule show` prints: the crontab line and each entry with its next firing."""
    entries = load_schedule(Path(file).resolve() if file else None, lang)
    now = now or utcnow()
    rows = []
    for p in plan(entries, Path(out_dir).resolve(), now):
        e = p.entry
        following = next_fire_after(e.cron, p.next, e.tz) if p.next else None
        rows.append({
            "index": e.index, "runbook": e.runbook, "org": e.org, "cron": e.cron.text, "tz": e.tz,
            "params": e.params, "lang": e.lang, "next": iso(p.next) if p.next else None,
            "next_local": p.next.astimezone(zone(e.tz)).isoformat() if p.next else None,
            "last_run": iso(p.last) if p.last else None, "due": p.due,
            "finer_than_tick": bool(p.next and following and (following - p.next).total_seconds() < 15 * 60),
        })
    return {"crontab": crontab_line(file, out_dir), "now": iso(now), "entries": rows}

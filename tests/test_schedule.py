"""`sfdoctor schedule`: the schedule file, what is due, principle 7, show (cron itself: test_cron.py).

Most tests inject `now` and a fake runner that appends the index line as the real runner
does, so the due logic is exercised against a real index file without a kernel; one test
runs `schedule run-due` end to end (one real notebook run) and calls it again.
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from sfdoctor import schedule
from sfdoctor.cli import main
from sfdoctor.cron import next_fire_after
from sfdoctor.index_page import data_of, report_folders
from sfdoctor.errors import BadInput
from sfdoctor.findings import iso
from sfdoctor.report_index import append_index
from sfdoctor.runner import RunOutcome

UTC = timezone.utc
RUNBOOK = "security-token-required"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    monkeypatch.delenv("SFDOCTOR_HOME", raising=False)
    monkeypatch.delenv("SFDOCTOR_DEMO_URL", raising=False)
    monkeypatch.setenv("SFDOCTOR_ORGS", str(tmp_path / "orgs.toml"))
    monkeypatch.setenv("SFDOCTOR_LANG", "en")


# --------------------------------------------------------------------------------------
# the schedule file
# --------------------------------------------------------------------------------------
def write(tmp_path: Path, text: str, name: str = "schedule.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
- runbook: security-token-required
  org: demo:token-missing
  cron: "0 2 * * *"
  params: {days: "7"}
  lang: ja
- runbook: security-token-required
  org: demo
  cron: "*/30 9-18 * * MON-FRI"
  tz: Asia/Tokyo
"""


def test_the_example_schedule_loads():
    entries = schedule.load_schedule(schedule.default_file())
    assert entries and all(e.org.startswith("demo") for e in entries if e.fleet is None)
    fleets = [e for e in entries if e.fleet is not None]
    assert len(fleets) == 1 and fleets[0].fleet["orgs"].endswith("runbooks/fleet-orgs.toml")


def test_load_validates_and_converts(tmp_path):
    a, b = schedule.load_schedule(write(tmp_path, GOOD))
    assert (a.index, a.runbook, a.org, a.params, a.lang, a.tz) == (0, RUNBOOK, "demo:token-missing", {"days": 7}, "ja", "UTC")
    assert (b.index, b.params, b.lang, b.tz, b.cron.text) == (1, {}, None, "Asia/Tokyo", "*/30 9-18 * * MON-FRI")
    assert a.key != b.key


ENTRY = '- runbook: security-token-required\n  org: demo\n  cron: "0 2 * * *"\n'


@pytest.mark.parametrize("text, where, problem", [
    (ENTRY + '- runbook: nope\n  org: demo\n  cron: "0 2 * * *"\n', "[1].runbook", "unknown runbook 'nope'"),
    (ENTRY + "  color: blue\n", "[0].color", "unknown key"),
    (ENTRY + '- runbook: security-token-required\n  org: demo:healthy\n  cron: "0 24 * * *"\n', "[1].cron",
     "hour: '24' is not valid"),
    (ENTRY + "  params: {bogus: 1}\n", "[0].params", "has no parameter 'bogus'"),
    (ENTRY + "  params: {days: soon}\n", "[0].params", "parameter days"),
    (ENTRY + "  params: [days]\n", "[0].params", "must be a mapping"),
    ('- runbook: marketo-sync-setup\n  org: demo\n  cron: "0 2 * * *"\n  params: {marketo_sync_sandbox: tickd}\n',
     "[0].params", "parameter marketo_sync_sandbox: 'tickd' is not one of its choices; it takes 'not answered'"),
    (ENTRY + "  tz: Mars/Olympus\n", "[0].tz", "unknown time zone 'Mars/Olympus'"),
    (ENTRY + "  lang: fr\n", "[0].lang", "must be one of en, ja"),
    ("- runbook: security-token-required\n  org: demo\n", "[0].cron", "missing"),
    ("- runbook: security-token-required\n  org: nowhere\n  cron: '0 2 * * *'\n", "[0].org", "unknown org 'nowhere'"),
    (ENTRY + ENTRY.replace("0 2", "0 3"), "[1]", "same runbook, org and params as entry [0]"),
    ("- just text\n", "[0]", "must be a mapping"),
    ("runbook: security-token-required\n", "", "must be a list of entries"),
    ("- runbook: [unclosed\n", "line ", "not valid YAML"),
])
def test_bad_file_is_one_line_exit_2(tmp_path, capsys, text, where, problem):
    path = write(tmp_path, text)
    out = tmp_path / "out"
    assert main(["schedule", "run-due", "--file", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith(f"sfdoctor: {path}: {where}")
    assert problem in lines[0]
    assert not (out / "index.jsonl").exists()    # nothing ran


def test_runbook_without_its_notebook_is_refused_before_anything_runs(tmp_path, capsys, monkeypatch):
    home = tmp_path / "home"
    (home / "runbooks").mkdir(parents=True)
    (home / "notebooks").mkdir()
    src = schedule.project_root() / "runbooks" / f"{RUNBOOK}.yml"
    (home / "runbooks" / f"{RUNBOOK}.yml").write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("SFDOCTOR_HOME", str(home))
    path, out = write(tmp_path, ENTRY), tmp_path / "out"
    fake = FakeRunner()
    with pytest.raises(BadInput) as info:
        schedule.run_due(path, out, at(2030, 1, 1), runner=fake, progress=None)
    assert f"{path}: [0].runbook: runbook {RUNBOOK} has no notebook at" in info.value.one_line()
    assert fake.calls == [] and not (out / "index.jsonl").exists()


def test_an_entrys_params_are_read_as_p_reads_them(tmp_path, capsys):
    """A label the form shows, in either language, or a boolean for a yes/no choice."""
    path = write(tmp_path, '- runbook: marketo-sync-setup\n  org: demo\n  cron: "0 2 * * *"\n'
                           '  params: {marketo_sync_sandbox: チェックあり, marketo_sync_status: 同期中}\n'
                           '- runbook: marketo-sync-setup\n  org: demo\n  cron: "0 3 * * *"\n'
                           '  params: {marketo_sync_sandbox: false}\n')
    a, b = schedule.load_schedule(path)
    assert a.params == {"marketo_sync_sandbox": "ticked", "marketo_sync_status": "Sync in progress"}
    assert b.params == {"marketo_sync_sandbox": "not ticked"}
    bad = write(tmp_path, '- runbook: marketo-sync-setup\n  org: demo\n  cron: "0 2 * * *"\n'
                          '  params: {marketo_sync_sandbox: tickd}\n')
    assert main(["schedule", "show", "--file", str(bad), "--lang", "ja"]) == 2
    assert "パラメーター marketo_sync_sandbox: 'tickd' は選択肢にありません" in capsys.readouterr().err


def test_bad_file_in_japanese_and_missing_file(tmp_path, capsys):
    path = write(tmp_path, ENTRY + "  cron2: x\n")
    assert main(["schedule", "show", "--file", str(path), "--lang", "ja"]) == 2
    assert "不明なキーです" in capsys.readouterr().err
    path = write(tmp_path, '- {runbook: security-token-required, org: demo, cron: "0 2 * 13 *"}\n')
    assert main(["schedule", "show", "--file", str(path), "--lang", "ja"]) == 2
    assert f"{path}: [0].cron: 月: '13' は正しくありません" in capsys.readouterr().err
    assert main(["schedule", "run-due", "--file", str(tmp_path / "none.yml")]) == 2
    assert "no such schedule file" in capsys.readouterr().err


# --------------------------------------------------------------------------------------
# due logic: injected now, a real index, a fake runner that writes the index as run_runbook does
# --------------------------------------------------------------------------------------
class FakeRunner:
    """Records its calls and appends the index line the real runner would (with index_extra)."""

    def __init__(self, codes: list[int] | None = None, probe_fails: bool = False):
        self.calls: list[dict[str, Any]] = []
        self.codes = list(codes or [])
        self.probe_fails = probe_fails

    def __call__(self, runbook: str, org: str, params: dict[str, Any], out_dir: Path, lang: str, *,
                 progress: Any = None, index_extra: dict[str, Any] | None = None) -> RunOutcome:
        self.calls.append({"runbook": runbook, "org": org, "params": dict(params), "lang": lang})
        code = self.codes.pop(0) if self.codes else 0
        probing = params.get("probe", True)
        attempts = [{"kind": "password_only", "ok": not self.probe_fails}] if probing else []
        findings = {"outcome": {0: "healthy", 1: "problems_found", 3: "inconclusive"}[code],
                    "checks": [{"id": "probe-login-password-only", "status": "fail" if self.probe_fails else "pass",
                                "evidence": {"attempts": attempts} if probing else {"reason": "probe parameter is false"}}]}
        append_index(Path(out_dir), {"time": iso(datetime.now(UTC)), "runbook": runbook, "org": org,
                                     "outcome": findings["outcome"], "folder": f"fake/{len(self.calls)}",
                                     "exit_code": code, **(index_extra or {})})
        return RunOutcome(folder=Path(out_dir), result=None, findings=findings, exit_code=code)  # type: ignore[arg-type]


HOURLY = '- runbook: security-token-required\n  org: demo\n  cron: "0 * * * *"\n  params: {probe: false}\n'


def run(path: Path, out: Path, now: datetime, runner: FakeRunner, lines: list[str] | None = None) -> int:
    return schedule.run_due(path, out, now, runner=runner, progress=(lines.append if lines is not None else None))


def test_never_run_is_due_then_not_due_until_the_next_slot(tmp_path):
    path, out, fake = write(tmp_path, HOURLY), tmp_path / "out", FakeRunner()
    log: list[str] = []
    assert run(path, out, at(2030, 1, 1, 10, 20), fake, log) == 0
    assert len(fake.calls) == 1 and "due (slot 2030-01-01T10:00:00Z, last run never)" in "\n".join(log)
    line = json.loads((out / "index.jsonl").read_text().splitlines()[-1])
    assert line["schedule"] == {"params": {"probe": False}, "slot": "2030-01-01T10:00:00Z"}
    log.clear()
    assert run(path, out, at(2030, 1, 1, 10, 59), fake, log) == 0           # same slot: nothing
    assert len(fake.calls) == 1 and "not due (last run 2030-01-01T10:00:00Z, next 2030-01-01T11:00:00Z)" in log[1]
    run(path, out, at(2030, 1, 1, 11, 0), fake)                           # the next slot, exactly
    assert len(fake.calls) == 2


def test_ran_after_latest_slot_is_not_due_and_other_lines_do_not_count(tmp_path):
    path, out, fake = write(tmp_path, HOURLY), tmp_path / "out", FakeRunner()
    base = {"time": "2030-01-01T10:05:00Z", "runbook": RUNBOOK, "org": "demo", "outcome": "healthy", "folder": "x"}
    append_index(out, base)                                                                 # by hand: no schedule key
    append_index(out, {**base, "schedule": {"params": {"probe": False, "days": 3}, "slot": "2030-01-01T10:00:00Z"}})
    append_index(out, {**base, "org": "demo:healthy", "schedule": {"params": {"probe": False}, "slot": "2030-01-01T10:00:00Z"}})
    [p] = schedule.plan(schedule.load_schedule(path), out, at(2030, 1, 1, 10, 30))
    assert p.due and p.last is None
    append_index(out, {**base, "schedule": {"params": {"probe": False}, "slot": "2030-01-01T10:00:00Z"}})
    [p] = schedule.plan(schedule.load_schedule(path), out, at(2030, 1, 1, 10, 30))
    assert not p.due and p.last == at(2030, 1, 1, 10)
    assert run(path, out, at(2030, 1, 1, 10, 30), fake) == 0 and fake.calls == []


def test_missed_slots_run_once(tmp_path):
    path, out, fake = write(tmp_path, HOURLY), tmp_path / "out", FakeRunner()
    append_index(out, {"time": "2030-01-01T10:00:01Z", "runbook": RUNBOOK, "org": "demo", "outcome": "healthy",
                       "folder": "x", "schedule": {"params": {"probe": False}, "slot": "2030-01-01T10:00:00Z"}})
    now = at(2030, 1, 4, 7, 45)                                  # 69 hourly slots missed
    assert run(path, out, now, fake) == 0
    assert len(fake.calls) == 1
    assert json.loads((out / "index.jsonl").read_text().splitlines()[-1])["schedule"]["slot"] == "2030-01-04T07:00:00Z"
    assert run(path, out, now, fake) == 0 and len(fake.calls) == 1    # right after: nothing


def test_exit_code_is_the_worst_and_a_broken_entry_does_not_stop_the_others(tmp_path, monkeypatch):
    text = "".join(HOURLY.replace("org: demo", f"org: demo:{n}") for n in ("healthy", "token-missing", "user-locked"))
    path, out = write(tmp_path, text), tmp_path / "out"
    fake = FakeRunner(codes=[1, 3, 0])
    assert run(path, out, at(2030, 1, 1, 10, 20), fake) == 3
    assert [c["org"] for c in fake.calls] == ["demo:healthy", "demo:token-missing", "demo:user-locked"]
    assert [schedule.worst(0, 1), schedule.worst(3, 1), schedule.worst(3, 2), schedule.worst(0, 0)] == [1, 3, 2, 0]

    def broken(*args: Any, **kw: Any) -> RunOutcome:
        raise BadInput("scenario file vanished")

    log: list[str] = []
    assert schedule.run_due(path, tmp_path / "out2", at(2030, 1, 1, 10, 20), runner=broken, progress=log.append) == 2
    assert sum("could not run: scenario file vanished" in line for line in log) == 3


def test_overlapping_calls_run_nothing_twice(tmp_path):
    from filelock import FileLock

    path, out, fake = write(tmp_path, HOURLY), tmp_path / "out", FakeRunner()
    out.mkdir()
    log: list[str] = []
    with FileLock(str(out / schedule.LOCK)):
        assert run(path, out, at(2030, 1, 1, 10, 20), fake, log) == 0
    assert fake.calls == [] and len(log) == 1 and "still running" in log[0] and "skipped" in log[0]


def test_overlapping_call_that_waits_plans_afresh(tmp_path):
    """`wait`: the second call says it waits; once the first is done, what it ran is not due."""
    from filelock import FileLock

    path, out = write(tmp_path, HOURLY), tmp_path / "out"
    out.mkdir()
    first, second = FakeRunner(), FakeRunner()
    held = FileLock(str(out / schedule.LOCK))
    held.acquire()
    log: list[str] = []

    def progress(line: str) -> None:
        log.append(line)
        if "waiting up to 30 s" in line:          # the first call finishes its run, then lets go
            first("security-token-required", "demo", {"probe": False}, out, "en",
                  index_extra={"schedule": {"params": {"probe": False}, "slot": "2030-01-01T10:00:00Z"}})
            held.release()

    now = at(2030, 1, 1, 10, 20)
    assert schedule.run_due(path, out, now, runner=second, progress=progress, wait=30) == 0
    assert len(first.calls) == 1 and second.calls == []
    assert "waiting up to 30 s" in log[0] and any("not due (last run 2030-01-01T10:00:00Z" in x for x in log)


def test_entry_lang_else_callers_lang(tmp_path):
    path = write(tmp_path, HOURLY + HOURLY.replace("org: demo", "org: demo:healthy") + "  lang: ja\n")
    fake = FakeRunner()
    schedule.run_due(path, tmp_path / "out", at(2030, 1, 1), runner=fake, progress=None, lang="en")
    assert [c["lang"] for c in fake.calls] == ["en", "ja"]


# --------------------------------------------------------------------------------------
# principle 7: a failed probe is not repeated with the same credentials
# --------------------------------------------------------------------------------------
PROBING = '- runbook: security-token-required\n  org: demo:token-missing\n  cron: "0 * * * *"\n'


def test_demo_fingerprint_follows_the_credentials_and_the_salt():
    fp = schedule.probe_fingerprint("demo:token-missing", RUNBOOK, {}, "salt-1")
    assert fp and fp.startswith("hmac-sha256:")
    assert schedule.probe_fingerprint("demo:token-missing", RUNBOOK, {}, "salt-1") == fp
    assert schedule.probe_fingerprint("demo:token-missing", RUNBOOK, {}, "salt-2") != fp
    # Another world, other operator credentials: another fingerprint.
    assert schedule.probe_fingerprint("demo:password-invalid", RUNBOOK, {}, "salt-1") not in (None, fp)


def test_failed_probe_is_not_repeated_with_the_same_credentials(tmp_path, monkeypatch):
    path, out = write(tmp_path, PROBING), tmp_path / "out"
    fake = FakeRunner(probe_fails=True)
    log: list[str] = []
    run(path, out, at(2030, 1, 1, 10, 5), fake, log)
    assert "probe" not in fake.calls[0]["params"]                         # first time: probes
    state = json.loads((out / schedule.STATE).read_text())
    [rec] = state["entries"].values()
    assert rec["failed"] is True and rec["fingerprint"].startswith("hmac-sha256:") and len(rec["salt"]) >= 16
    # The state holds no secret: the operator's password for this world is nowhere in it.
    import requests

    from sfdoctor import demo_operator
    from sfdoctor.clients import demo_info
    from sfdoctor.demo.runtime import ensure_simulator

    with requests.Session() as session:
        operator = demo_operator.answers(demo_info(session, ensure_simulator("token-missing")), "security-token-required")
    secret = operator["probe_password"]
    assert secret and secret not in (out / schedule.STATE).read_text()

    run(path, out, at(2030, 1, 1, 11, 5), fake, log)                     # same credentials: probe off
    assert fake.calls[1]["params"] == {"probe": False, "probe_held": "2030-01-01T10:05:00Z"}   # said in the run
    assert any("probe off (probe=false): the last probe failed with these same credentials" in x for x in log)
    assert json.loads((out / schedule.STATE).read_text()) == state        # a skipped probe changes nothing

    real = schedule.probe_fingerprint
    monkeypatch.setattr(schedule, "probe_fingerprint", lambda *a: real(*a[:3], "x" + a[3]))   # credentials changed
    fake.probe_fails = False
    run(path, out, at(2030, 1, 1, 12, 5), fake, log)
    assert "probe" not in fake.calls[2]["params"]                         # probes again, succeeds
    [rec] = json.loads((out / schedule.STATE).read_text())["entries"].values()
    assert rec["failed"] is False


REAL_ORG = ('[orgs.acme]\nauth = "sf_cli"\nalias = "acme"\n[orgs.acme.probe]\nusername = "etl@acme.example"\n'
            'password_env = "SCHED_ETL_PASSWORD"\ntoken_env = "SCHED_ETL_TOKEN"\n')


def _real_org_whose_probe_failed(tmp_path, monkeypatch):
    """A schedule probing the real org `acme` (credentials from variables), run once at 10:05
    with the probe refused: (schedule file, OUT, the runner, the log)."""
    (tmp_path / "orgs.toml").write_text(REAL_ORG, encoding="utf-8")
    path, out = write(tmp_path, PROBING.replace("demo:token-missing", "acme")), tmp_path / "out"
    monkeypatch.setenv("SCHED_ETL_PASSWORD", "Old-pass-2025")
    monkeypatch.setenv("SCHED_ETL_TOKEN", "TOKENtoken1")
    fake = FakeRunner(probe_fails=True)
    log: list[str] = []
    run(path, out, at(2030, 1, 1, 10, 5), fake, log)
    return path, out, fake, log


def test_a_real_orgs_probe_is_held_only_while_its_credentials_stay_the_same(tmp_path, monkeypatch):
    """A real org's probe credentials are read (from the variables its entry names) to fingerprint
    them, as its run reads them: a fixed password probes again, with no state file to edit."""
    path, out, fake, log = _real_org_whose_probe_failed(tmp_path, monkeypatch)
    assert "probe" not in fake.calls[0]["params"]
    [rec] = json.loads((out / schedule.STATE).read_text())["entries"].values()
    assert rec["failed"] is True and rec["fingerprint"].startswith("hmac-sha256:")
    run(path, out, at(2030, 1, 1, 11, 5), fake, log)                     # the same password: held
    assert fake.calls[1]["params"] == {"probe": False, "probe_held": "2030-01-01T10:05:00Z"}
    assert any("failed with these same credentials" in x for x in log)

    monkeypatch.setenv("SCHED_ETL_PASSWORD", "New-pass-2026")            # the admin fixed it
    fake.probe_fails = False
    run(path, out, at(2030, 1, 1, 12, 5), fake, log)
    assert "probe" not in fake.calls[2]["params"]
    [renewed] = json.loads((out / schedule.STATE).read_text())["entries"].values()
    assert renewed["failed"] is False and renewed["fingerprint"] != rec["fingerprint"] and renewed["salt"] == rec["salt"]
    text = (out / schedule.STATE).read_text()
    assert not any(secret in text for secret in ("Old-pass-2025", "New-pass-2026", "TOKENtoken1"))


def test_a_real_org_whose_credentials_cannot_be_read_keeps_a_failed_probe_off(tmp_path, monkeypatch):
    path, out, fake, log = _real_org_whose_probe_failed(tmp_path, monkeypatch)
    monkeypatch.delenv("SCHED_ETL_PASSWORD")                                # unset since: cannot compare
    run(path, out, at(2030, 1, 1, 11, 5), fake, log)
    assert "probe" not in fake.calls[0]["params"] and fake.calls[1]["params"] == {"probe": False, "probe_held": "2030-01-01T10:05:00Z"}
    assert any("cannot be read now" in x and schedule.STATE in x for x in log)


def test_a_real_orgs_fingerprint_is_of_the_credentials_its_run_would_probe(tmp_path, monkeypatch):
    (tmp_path / "orgs.toml").write_text(
        REAL_ORG + '[orgs.acme.oauth_app]\nconsumer_key = "3MVG9key"\nconsumer_secret_env = "SCHED_APP_SECRET"\n',
        encoding="utf-8")
    monkeypatch.setenv("SCHED_ETL_PASSWORD", "Old-pass-2025")
    monkeypatch.delenv("SCHED_ETL_TOKEN", raising=False)
    fp = schedule.probe_fingerprint
    assert fp("acme", RUNBOOK, {}, "s") is None                              # a referenced token unset
    monkeypatch.setenv("SCHED_ETL_TOKEN", "TOKENtoken1")
    default = fp("acme", RUNBOOK, {}, "s")                                   # no username: the probe's owner
    assert default and default == fp("acme", RUNBOOK, {"username": "ETL@acme.example"}, "s")
    assert fp("acme", RUNBOOK, {"username": "admin@acme.example"}, "s") is None   # never another user's
    monkeypatch.setenv("SCHED_ETL_TOKEN", "TOKENtoken2")
    assert fp("acme", RUNBOOK, {}, "s") not in (None, default)
    oauth = "oauth-connection-failure"                                      # its probe_identity: the app's secret
    assert fp("acme", oauth, {"oauth_flow": "client_credentials"}, "s") is None
    monkeypatch.setenv("SCHED_APP_SECRET", "app-secret-1")
    first = fp("acme", oauth, {"oauth_flow": "client_credentials"}, "s")
    monkeypatch.setenv("SCHED_APP_SECRET", "app-secret-2")
    assert first and fp("acme", oauth, {"oauth_flow": "client_credentials"}, "s") not in (None, first)


def test_probe_false_in_params_leaves_no_state(tmp_path):
    path, out, fake = write(tmp_path, HOURLY), tmp_path / "out", FakeRunner(probe_fails=True)
    run(path, out, at(2030, 1, 1, 10, 5), fake)
    assert fake.calls[0]["params"] == {"probe": False} and not (out / schedule.STATE).exists()


# --------------------------------------------------------------------------------------
# end to end: one real notebook run through the CLI, then a second call that runs nothing
# --------------------------------------------------------------------------------------
def test_run_due_end_to_end_then_nothing(tmp_path, capsys):
    path = write(tmp_path, '- runbook: security-token-required\n  org: demo:token-missing\n'
                           '  cron: "0 0 1 1 *"\n  params: {days: 3}\n')
    out = tmp_path / "reports"
    argv = ["schedule", "run-due", "--file", str(path), "--out", str(out)]
    year = datetime.now(UTC).year
    assert main(argv) == 1                                          # TOKEN_MISSING: a fail finding
    err = capsys.readouterr().err
    assert f"[0] {RUNBOOK} --org demo:token-missing: due" in err and "exit 1" in err and "Traceback" not in err
    [line] = [json.loads(x) for x in (out / "index.jsonl").read_text().splitlines()]
    assert line["schedule"] == {"params": {"days": 3}, "slot": f"{year}-01-01T00:00:00Z"}
    assert "TOKEN_MISSING" in line["root_causes"] and (out / line["folder"] / "findings.json").is_file()
    page = (out / "index.html").read_text(encoding="utf-8")            # the runner rewrote the history page
    assert report_folders(data_of(page)) == [line["folder"]] and "TOKEN_MISSING" in page
    rec = json.loads((out / schedule.STATE).read_text())["entries"]
    assert [r["failed"] for r in rec.values()] == [True]            # its first login attempt was refused

    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "not due" in err and "ran 0 of 1 entries, exit 0" in err
    assert len((out / "index.jsonl").read_text().splitlines()) == 1


# --------------------------------------------------------------------------------------
# show
# --------------------------------------------------------------------------------------
def test_show_prints_the_crontab_line_and_next_times(tmp_path, capsys):
    path = write(tmp_path, GOOD)
    out = tmp_path / "rep"
    assert main(["schedule", "show", "--file", str(path), "--out", str(out)]) == 0
    cap = capsys.readouterr()
    venv = Path(sys.prefix)
    assert cap.out.strip() == (f"*/15 * * * * cd {schedule.project_root()} && {venv}/bin/sfdoctor schedule run-due"
                               f" --file {path} --out {out} >> {out}/schedule.log 2>&1")
    assert "[0] security-token-required --org demo:token-missing -p days=7" in cap.err
    assert "(Asia/Tokyo)" in cap.err and "+09:00" in cap.err

    assert main(["schedule", "show", "--file", str(path), "--out", str(out), "--json", "--lang", "ja"]) == 0
    shown = json.loads(capsys.readouterr().out)
    a, b = shown["entries"]
    now = datetime.fromisoformat(shown["now"].replace("Z", "+00:00"))
    assert a["next"] == iso(next_fire_after("0 2 * * *", now))
    assert b["next"] == iso(next_fire_after("*/30 9-18 * * MON-FRI", now, "Asia/Tokyo"))
    assert a["last_run"] is None and a["due"] is True and b["finer_than_tick"] is False


def test_crontab_line_quotes_spaces_and_escapes_percent(tmp_path):
    odd = tmp_path / "a b%c"
    line = schedule.crontab_line(odd / "s.yml", odd / "out")
    assert f"--file '{tmp_path}/a b\\%c/s.yml'" in line and line.count("\\%") == 3
    assert "%" not in line.replace("\\%", "")


def test_show_notes_entries_finer_than_the_tick(tmp_path, capsys):
    path = write(tmp_path, '- {runbook: security-token-required, org: demo, cron: "*/5 * * * *"}\n')
    assert main(["schedule", "show", "--file", str(path), "--out", str(tmp_path)]) == 0
    assert "fires more often than every 15 minutes" in capsys.readouterr().err


def test_marketo_sync_probes_are_remembered_by_the_sync_users_credentials():
    """marketo-sync-setup probes the sync user (its `username`) with password and token, the
    Salesforce default: the stale token its world plays gives another fingerprint than the right one."""
    stale = schedule.probe_fingerprint("demo:marketo-sync-failed", "marketo-sync-setup", {}, "salt-1")
    right = schedule.probe_fingerprint("demo:marketo-healthy", "marketo-sync-setup", {}, "salt-1")
    assert stale and right and stale != right


# --------------------------------------------------------------------------------------
# a fleet entry
# --------------------------------------------------------------------------------------
FLEET = """\
- fleet: {orgs: fleet.toml, runbooks: sia-auth-failure, workers: 1}
  cron: "0 3 * * *"
"""


def test_a_fleet_entry_runs_a_fleet_once_per_slot(tmp_path):
    (tmp_path / "fleet.toml").write_text('[orgs.east]\ndemo = "sia-healthy"\n\n[orgs.west]\ndemo = "sia-oauth-blocked"\n',
                                         encoding="utf-8")
    path = write(tmp_path, FLEET)
    [entry] = schedule.load_schedule(path)
    assert entry.fleet is not None and entry.label == f"[0] fleet run --orgs {tmp_path / 'fleet.toml'}"
    out = tmp_path / "out"
    lines: list[str] = []
    assert schedule.run_due(path, out, now=at(2026, 11, 23, 3, 5), progress=lines.append) == 1  # west has a problem
    fleets = list((out / "fleet").glob("*/*/fleet.json"))
    assert len(fleets) == 1
    index = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    assert {i["org"] for i in index} == {"east", "west"}
    assert all(i["schedule"]["fleet"]["orgs"] == str(tmp_path / "fleet.toml") for i in index)
    assert schedule.run_due(path, out, now=at(2026, 11, 23, 3, 20), progress=lines.append) == 0
    assert len(list((out / "fleet").glob("*/*/fleet.json"))) == 1
    assert any("not due" in line for line in lines)


def test_a_fleet_entry_with_a_bad_orgs_file_is_refused_when_loaded(tmp_path):
    (tmp_path / "fleet.toml").write_text("[orgs.x\n", encoding="utf-8")
    with pytest.raises(BadInput, match=r"\[0\]\.fleet: .*not valid TOML"):
        schedule.load_schedule(write(tmp_path, FLEET))
    with pytest.raises(BadInput, match="no runbook, org or params"):
        schedule.load_schedule(write(tmp_path, FLEET.replace("- fleet:", "- runbook: sia-auth-failure\n  fleet:")))

"""`sfdoctor fleet run` over a dozen demo orgs: local processes, a LocalCluster and a real
`dask scheduler` with two `dask worker` processes on loopback give the same outcomes and
causes; a worker killed mid-run loses no org; every org-runbook is written as `sfdoctor run`
writes it; bad input is one line and exit 2 before anything runs."""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from config_errors import JAPANESE

from sfdoctor.cli import main
from sfdoctor.fleet.demo_worlds import write_fleet
from sfdoctor.fleet.run import FleetOptions, run_fleet

BIN = Path(sys.executable).parent
SEED = 7


# The runs compared with the local one cover two of the four runbooks: the same twelve orgs,
# half the suite's time.
SOME = ["security-token-required", "sia-auth-failure"]


def outcomes(fleet: dict, runbooks: list[str] | None = None) -> dict[tuple[str, str], tuple[str, tuple[str, ...]]]:
    return {(e["org"], e["runbook"]): (e["outcome"], tuple(e["root_causes"])) for e in fleet["entries"]
            if runbooks is None or e["runbook"] in runbooks}


@pytest.fixture(scope="module")
def demo12(tmp_path_factory):
    return write_fleet(12, tmp_path_factory.mktemp("demo12"), seed=SEED)


@pytest.fixture(scope="module")
def local_run(demo12, tmp_path_factory):
    out = tmp_path_factory.mktemp("local-out")
    fleet, code, page = run_fleet(FleetOptions(orgs_file=demo12, executor="local", workers=2, out=out, progress=False))
    return fleet, code, out, page


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_fleet_is_deterministic_for_a_seed(tmp_path):
    a = write_fleet(5, tmp_path / "a", seed=3)
    b = write_fleet(5, tmp_path / "b", seed=3)
    c = write_fleet(5, tmp_path / "c", seed=4)
    assert a.read_text() == b.read_text()
    worlds = sorted(p.name for p in (tmp_path / "a" / "worlds").iterdir())
    assert worlds == [f"client-00{i}.yml" for i in range(1, 6)]
    assert [(tmp_path / "a" / "worlds" / w).read_text() for w in worlds] == \
        [(tmp_path / "b" / "worlds" / w).read_text() for w in worlds]
    assert [(tmp_path / "a" / "worlds" / w).read_text() for w in worlds] != \
        [(tmp_path / "c" / "worlds" / w).read_text() for w in worlds]
    text = (tmp_path / "a" / "worlds" / "client-001.yml").read_text()
    assert "my_domain: client-001" in text


def test_local_fleet_writes_every_org_runbook_as_sfdoctor_run_does(local_run, demo12):
    fleet, code, out, page = local_run
    entries = fleet["entries"]
    from sfdoctor.runbooks import all_specs

    assert len(entries) == 12 * len(all_specs()) and fleet["executor"] == "local" and fleet["workers"] == 2
    assert {e["outcome"] for e in entries} >= {"healthy", "problems_found"}
    assert code == 1  # some org found problems
    index = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    with_folder = [e for e in entries if e["folder"]]
    assert sorted(i["folder"] for i in index) == sorted(e["folder"] for e in with_folder)
    for e in with_folder:
        folder = out / e["folder"]
        assert sorted(p.name for p in folder.iterdir()) == ["findings.json", "report.html", "report.ipynb"]
        findings = json.loads((folder / "findings.json").read_text())
        assert (findings["org"], findings["runbook"], findings["outcome"]) == (e["org"], e["runbook"], e["outcome"])
        assert findings["root_causes"] == e["root_causes"]
    # the budget guard: the seed puts orgs past 90 % (skipped, with the reason) and past 70 %
    skipped = [e for e in entries if e["outcome"] == "skipped"]
    assert skipped and all("90 %" in e["reason"] and e["folder"] is None for e in skipped)
    warned = [e for e in entries if e["budget_warning"]]
    assert warned and all("70 %" in e["budget_warning"] and e["outcome"] != "skipped" for e in warned)
    assert all("70 %" not in (e["reason"] or "") for e in entries)
    assert page == out / "fleet.html" and page.is_file() and (out / "index.html").is_file()
    assert not (out / ".fleet-tmp").exists()
    saved = json.loads(next((out / "fleet").glob("*/*/fleet.json")).read_text())
    assert saved["entries"] == entries


def test_localcluster_gives_the_same_outcomes_and_causes(local_run, demo12, tmp_path):
    fleet, code, _page = run_fleet(FleetOptions(orgs_file=demo12, executor="dask", workers=2, out=tmp_path,
                                                runbooks=SOME, progress=False))
    assert fleet["executor"] == "dask" and fleet["workers"] == 2
    assert outcomes(fleet) == outcomes(local_run[0], SOME)


def _start(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _wait_workers(address: str, n: int, timeout: float = 120) -> None:
    from distributed import Client

    with Client(address, timeout="30s", set_as_default=False) as client:
        client.wait_for_workers(n, timeout=timeout)


def _journal_done(out: Path) -> int:
    journals = list((out / "fleet").glob("*/*/journal.jsonl"))
    if not journals:
        return 0
    return sum(1 for line in journals[0].read_text().splitlines() if '"state": "done"' in line)


def _journal_committed_only(out: Path) -> int:
    """Entries whose folder was committed but whose done line the kill cut off."""
    journals = list((out / "fleet").glob("*/*/journal.jsonl"))
    if not journals:
        return 0
    records = [json.loads(line) for line in journals[0].read_text().splitlines() if line.strip()]
    done = {(r["entry"]["org"], r["entry"]["runbook"]) for r in records if r.get("state") == "done"}
    return sum(1 for r in records if r.get("state") == "commit" and (r["org"], r["runbook"]) not in done)


def test_real_scheduler_and_two_workers_same_results_even_when_one_is_killed(local_run, demo12, tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_start([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                     "--no-dashboard"])]
    try:
        for _ in range(2):
            procs.append(_start([str(BIN / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1",
                                 "--no-dashboard", "--host", "127.0.0.1"]))
        _wait_workers(address, 2)
        result: dict = {}

        def go() -> None:
            result["run"] = run_fleet(FleetOptions(orgs_file=demo12, executor="dask", scheduler=address,
                                                   runbooks=SOME, out=tmp_path, progress=False))

        thread = threading.Thread(target=go)
        thread.start()
        deadline = time.monotonic() + 300
        while _journal_done(tmp_path) < 4 and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(procs[2].pid, signal.SIGKILL)  # the second worker, mid-run
        thread.join(600)
        fleet, code, _page = result["run"]
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(10)
    assert fleet["executor"] == "dask"
    got, want = outcomes(fleet), outcomes(local_run[0], SOME)
    # Dask ran the lost worker's orgs again on the other one: nothing is lost or different.
    assert got == want


def test_a_local_worker_killed_mid_run_loses_no_org(local_run, demo12, tmp_path):
    result: dict = {}

    def go() -> None:
        result["run"] = run_fleet(FleetOptions(orgs_file=demo12, executor="local", workers=2, out=tmp_path,
                                               runbooks=SOME, progress=False))

    thread = threading.Thread(target=go)
    thread.start()
    deadline = time.monotonic() + 300
    while _journal_done(tmp_path) < 4 and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    victims = [p for p in multiprocessing.active_children() if p.pid]
    assert victims, "no worker process to kill"
    os.kill(victims[0].pid, signal.SIGKILL)
    thread.join(600)
    fleet, code, _page = result["run"]
    got, want = outcomes(fleet), outcomes(local_run[0], SOME)
    assert set(got) == set(want)  # every org-runbook has its entry
    for key, value in got.items():
        if value != want[key]:  # given up after losing its worker twice: said so
            entry = next(e for e in fleet["entries"] if (e["org"], e["runbook"]) == key)
            assert entry["outcome"] == "inconclusive" and entry["reason"]
    assert sum(got[k] == want[k] for k in got) >= 20


def test_an_org_given_up_still_writes_its_reports(tmp_path, monkeypatch):
    """Principle 6: an org-runbook whose worker hung or was lost ends `inconclusive` with the
    reason, and with a report folder and index line like any run's (the notebook unexecuted)."""
    from sfdoctor.fleet import executors
    from sfdoctor.i18n import t

    reason = t("fleet.lost.timeout", "en", seconds=270)

    def give_up_every_org(self, tasks, on_result, on_lost, say):
        for task in tasks:
            on_lost(task, reason)

    monkeypatch.setattr(executors.LocalExecutor, "run", give_up_every_org)
    orgs = tmp_path / "orgs.toml"
    orgs.write_text('[orgs.hung]\ndemo = "healthy"\n', encoding="utf-8")
    out = tmp_path / "out"
    fleet, code, _page = run_fleet(FleetOptions(orgs_file=orgs, runbooks=SOME, workers=1, out=out, progress=False))
    assert code == 3 and len(fleet["entries"]) == len(SOME)
    index = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    assert sorted(i["folder"] for i in index) == sorted(e["folder"] for e in fleet["entries"])
    for e in fleet["entries"]:
        assert e["outcome"] == "inconclusive" and e["reason"] == reason and e["folder"]
        folder = out / e["folder"]
        assert sorted(p.name for p in folder.iterdir()) == ["findings.json", "report.html", "report.ipynb"]
        findings = json.loads((folder / "findings.json").read_text())
        assert findings["outcome"] == "inconclusive" and findings["org"] == "hung"
        [run_check] = [c for c in findings["checks"] if c["id"] == "run"]
        assert run_check["status"] == "error" and run_check["evidence"]["reason"] == reason
        assert reason in (folder / "report.html").read_text(encoding="utf-8")


def test_killed_fleet_resumes_without_half_written_folders_or_repeats(demo12, tmp_path):
    cmd = [str(BIN / "sfdoctor"), "fleet", "run", "--orgs", str(demo12), "--out", str(tmp_path),
           "--workers", "1", "--no-progress", "--runbooks", ",".join(SOME)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 300
    while _journal_done(tmp_path) < 5 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    done_before = _journal_done(tmp_path)
    committed_only = _journal_committed_only(tmp_path)
    assert 5 <= done_before < 24
    assert not list((tmp_path / "fleet").glob("*/*/fleet.json"))
    # whatever is in the report tree is complete
    for folder in tmp_path.glob("20*/*/*"):
        assert sorted(p.name for p in folder.iterdir()) == ["findings.json", "report.html", "report.ipynb"], folder
    resumed = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode in (0, 1, 3), resumed.stderr
    # An entry killed between its commit line and its done line is finished by the resume, so the
    # resume may count it as done too.
    assert any(f"{n}" in resumed.stderr for n in (done_before, done_before + committed_only))
    fleet = json.loads(next((tmp_path / "fleet").glob("*/*/fleet.json")).read_text())
    keys = [(e["org"], e["runbook"]) for e in fleet["entries"]]
    assert len(keys) == 24 and len(set(keys)) == 24
    index = [json.loads(line) for line in (tmp_path / "index.jsonl").read_text().splitlines()]
    folders = [i["folder"] for i in index]
    assert len(folders) == len(set(folders)) == sum(1 for e in fleet["entries"] if e["folder"])
    assert sorted(folders) == sorted(e["folder"] for e in fleet["entries"] if e["folder"])
    for folder in tmp_path.glob("20*/*/*"):
        assert sorted(p.name for p in folder.iterdir()) == ["findings.json", "report.html", "report.ipynb"], folder
    assert not (tmp_path / ".fleet-tmp").exists()


def test_org_over_its_api_budget_is_skipped_and_one_near_it_warned(tmp_path, monkeypatch):
    worlds = tmp_path / "worlds"
    worlds.mkdir()
    (worlds / "over.yml").write_text("runbook: sia-auth-failure\nsalesforce:\n  my_domain: over\n"
                                     "  api_requests_today: 14500\n", encoding="utf-8")
    (worlds / "near.yml").write_text("runbook: sia-auth-failure\nsalesforce:\n  my_domain: near\n"
                                     "  api_requests_today: 12000\n", encoding="utf-8")
    (worlds / "mkto.yml").write_text("runbook: marketo-sync-setup\nsalesforce:\n  my_domain: mkto\n"
                                     "marketo:\n  api_calls_today: 48000\n", encoding="utf-8")
    orgs = tmp_path / "orgs.toml"
    orgs.write_text('[orgs.over]\ndemo = "worlds/over.yml"\n\n[orgs.near]\ndemo = "worlds/near.yml"\n\n'
                    '[orgs.mkto]\ndemo = "worlds/mkto.yml"\n', encoding="utf-8")
    fleet, _code, _ = run_fleet(FleetOptions(orgs_file=orgs, runbooks=["sia-auth-failure", "marketo-sync-setup"],
                                             workers=1, out=tmp_path / "out", progress=False))
    by = {(e["org"], e["runbook"]): e for e in fleet["entries"]}
    for rb in ("sia-auth-failure", "marketo-sync-setup"):
        over = by[("over", rb)]
        assert over["outcome"] == "skipped" and over["folder"] is None
        assert "97 %" in over["reason"] and "15000" in over["reason"]
        near = by[("near", rb)]
        assert near["outcome"] != "skipped" and "80 %" in near["budget_warning"] and near["folder"]
    assert by[("mkto", "marketo-sync-setup")]["outcome"] == "skipped"
    assert "Marketo" in by[("mkto", "marketo-sync-setup")]["reason"]
    assert by[("mkto", "sia-auth-failure")]["outcome"] != "skipped"


def test_a_misconfigured_org_ends_error_and_the_others_run(tmp_path, monkeypatch):
    monkeypatch.delenv("BROKEN_CLIENT_ID", raising=False)
    orgs = tmp_path / "orgs.toml"
    orgs.write_text('[orgs.good]\ndemo = "sia-healthy"\n\n[orgs.broken]\nmy_domain = "broken.my.salesforce.com"\n'
                    'client_id_env = "BROKEN_CLIENT_ID"\nclient_secret_env = "BROKEN_SECRET"\n'
                    'runbooks = ["sia-auth-failure"]\n', encoding="utf-8")
    fleet, code, _ = run_fleet(FleetOptions(orgs_file=orgs, runbooks=["sia-auth-failure"], workers=1,
                                            out=tmp_path / "out", progress=False))
    by = {e["org"]: e for e in fleet["entries"]}
    assert by["broken"]["outcome"] == "error" and "BROKEN_CLIENT_ID" in by["broken"]["reason"]
    assert by["broken"]["folder"] is None
    assert by["good"]["outcome"] == "healthy" and by["good"]["folder"]
    assert code == 3


@pytest.mark.parametrize("args,says", [
    (["--orgs", "{bad}"], "not valid TOML"),
    (["--orgs", "{good}", "--select", "nobody-*"], "matches no org"),
    (["--orgs", "{good}", "--runbooks", "no-such-runbook"], "unknown runbook 'no-such-runbook'"),
    (["--orgs", "{good}", "--executor", "dask", "--scheduler", "tcp://127.0.0.1:{port}"], "cannot reach the Dask scheduler"),
    (["--orgs", "{missing}"], "orgs file not found"),
    (["--orgs", "{bad_param}"], "orgs.a.params.sia-auth-failure: parameter oauth_usage_button: 'blocked' is not one"),
])
def test_bad_input_is_one_line_exit_2_before_anything_runs(args, says, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[orgs.x\n", encoding="utf-8")
    good = tmp_path / "good.toml"
    good.write_text('[orgs.a]\ndemo = "sia-healthy"\n', encoding="utf-8")
    bad_param = tmp_path / "bad-param.toml"
    bad_param.write_text('[orgs.a]\ndemo = "sia-healthy"\n[orgs.a.params.sia-auth-failure]\noauth_usage_button = "blocked"\n',
                         encoding="utf-8")
    values = {"bad": bad, "good": good, "missing": tmp_path / "nope.toml", "port": _free_port(), "bad_param": bad_param}
    out = tmp_path / "out"
    code = main(["fleet", "run", *[a.format(**values) for a in args], "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and says in err and "Traceback" not in err
    assert not (out / "fleet").exists() and not (out / "index.jsonl").exists()


def test_japanese_bad_input(tmp_path, capsys):
    code = main(["fleet", "run", "--orgs", str(tmp_path / "nope.toml"), "--lang", "ja", "--no-progress"])
    assert code == 2 and "orgs ファイルがありません" in capsys.readouterr().err


@pytest.mark.parametrize("text,ja", [
    ("[orgs.x\n", "TOML として正しくありません"),
    ('orgs = "x"\n', "orgs は [orgs.production] のようなテーブルで書いてください"),
    ('[orgs.a]\ndemo = "sia-healthy"\nrunbooks = "sia-auth-failure"\n', "orgs.a.runbooks はランブック ID のリストで"),
    ('[orgs.a]\ndemo = "sia-healthy"\nrunbooks = ["nope"]\n', "orgs.a: "),
    ('[orgs.a]\ndemo = "sia-healthy"\nparams = "x"\n', "orgs.a.params は [orgs.a.params.RUNBOOK] のようなテーブル"),
])
def test_a_bad_orgs_file_is_one_japanese_line(text, ja, tmp_path, capsys):
    orgs = tmp_path / "orgs.toml"
    orgs.write_text(text, encoding="utf-8")
    code = main(["fleet", "run", "--orgs", str(orgs), "--lang", "ja", "--no-progress", "--out", str(tmp_path / "out")])
    [line] = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and line.startswith(f"sfdoctor: {orgs}: ") and ja in line, line
    assert JAPANESE.search(line.split(" — ")[-1]), line                 # the hint too, where there is one
    orgs = tmp_path / "orgs.toml"
    orgs.write_text('[orgs.a]\ndemo = "sia-healthy"\n[orgs.a.params.sia-auth-failure]\noauth_usage_button = "blocked"\n',
                    encoding="utf-8")
    code = main(["fleet", "run", "--orgs", str(orgs), "--lang", "ja", "--no-progress", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "パラメーター oauth_usage_button: 'blocked' は選択肢にありません" in err
    assert not (tmp_path / "out").exists()


def test_the_plan_carries_each_orgs_params_read_as_run_reads_them(tmp_path):
    """`[orgs.NAME.params.RUNBOOK]`: a label the form shows (either language) becomes the value."""
    from sfdoctor.fleet.plan import build

    orgs = tmp_path / "orgs.toml"
    orgs.write_text('[orgs.a]\ndemo = "sia-healthy"\n[orgs.a.params.sia-auth-failure]\n'
                    'oauth_usage_button = "アプリの行がない"\ndays = "3"\n', encoding="utf-8")
    plan = build(orgs, [], ["sia-auth-failure"], "en")
    assert plan.tasks[0]["runbooks"] == [{"runbook": "sia-auth-failure",
                                          "params": {"oauth_usage_button": "not_listed", "days": 3}}]


def test_help_answers(capsys):
    assert main(["fleet", "run", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--orgs", "--select", "--runbooks", "--executor", "--scheduler", "--workers", "--resume", "--notify"):
        assert option in text


def test_demo_fleet_command_writes_the_orgs_file_and_says_how_to_run_it(tmp_path, capsys):
    assert main(["demo", "fleet", "--orgs", "3", "--seed", "5", "--out", str(tmp_path), "--lang", "ja"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(tmp_path / "orgs.toml")
    assert "デモ組織 3 件" in captured.err and "sfdoctor fleet run --orgs" in captured.err
    assert main(["demo", "fleet", "--orgs", "0", "--out", str(tmp_path), "--lang", "ja"]) == 2
    assert "--orgs は 1 から" in capsys.readouterr().err

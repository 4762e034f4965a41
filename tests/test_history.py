"""Report history: the index list and the diff between two runs."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sfdoctor.errors import BadInput
from sfdoctor.history import diff, resolve_report
from sfdoctor.index_page import data_of, report_folders
from sfdoctor.report_index import append_index


def _report(out: Path, name: str, outcome: str, causes: list[str], warnings: list[str], statuses: dict[str, str]) -> None:
    folder = out / "2026-11-23" / "rb" / name
    folder.mkdir(parents=True)
    checks = [{"id": cid, "status": st} for cid, st in statuses.items()]
    (folder / "findings.json").write_text(json.dumps({"outcome": outcome, "root_causes": causes, "warnings": warnings,
                                                      "checks": checks}), encoding="utf-8")
    append_index(out, {"time": name, "runbook": "rb", "org": "demo", "outcome": outcome, "root_causes": causes,
                       "warnings": warnings, "folder": f"2026-11-23/rb/{name}", "exit_code": 1})


@pytest.fixture()
def out(tmp_path):
    _report(tmp_path, "a", "problems_found", ["TOKEN_MISSING", "SOURCE_IP_UNTRUSTED"], ["SOAP_LOGIN_RETIRING"],
            {"probe": "fail", "ip": "fail"})
    _report(tmp_path, "b", "problems_found", ["SOURCE_IP_UNTRUSTED"], ["SOAP_LOGIN_RETIRING", "NETWORK_ACCESS_UNAVAILABLE"],
            {"probe": "pass", "ip": "fail"})
    return tmp_path


def test_diff_by_position_and_by_folder(out):
    d = diff("-2", "-1", out)
    assert d.new == ["NETWORK_ACCESS_UNAVAILABLE"]
    assert d.fixed == ["TOKEN_MISSING"]
    assert d.unchanged == ["SOURCE_IP_UNTRUSTED", "SOAP_LOGIN_RETIRING"]
    assert d.status_changes == [{"check": "probe", "a": "fail", "b": "pass"}]
    same = diff(str(out / "2026-11-23/rb/a"), "2026-11-23/rb/b", out)
    assert same.to_json()["new"] == d.new
    assert resolve_report("0", out) == (out / "2026-11-23/rb/a").resolve()


def test_diff_bad_refs(out, tmp_path):
    with pytest.raises(BadInput, match="no report at position 5"):
        diff("5", "-1", out)
    with pytest.raises(BadInput, match="no report at"):
        diff("/nowhere", "-1", out)
    with pytest.raises(BadInput, match="no reports in"):
        resolve_report("-1", tmp_path / "empty")


def test_diff_refuses_two_different_runbooks_or_orgs(out):
    folder = out / "2026-11-23" / "rb" / "b"
    data = json.loads((folder / "findings.json").read_text())
    (folder / "findings.json").write_text(json.dumps({**data, "runbook": "rb", "org": "demo:other"}))
    a = out / "2026-11-23" / "rb" / "a"
    (a / "findings.json").write_text(json.dumps({**json.loads((a / "findings.json").read_text()), "runbook": "rb", "org": "demo"}))
    with pytest.raises(BadInput) as exc:
        diff("-2", "-1", out)
    assert "A is rb on demo, B is rb on demo:other: a diff compares two runs of one runbook on one org" in exc.value.one_line("en")
    assert "同じランブック・同じ組織" in exc.value.one_line("ja") and "reports list" in exc.value.one_line("ja")


def test_diff_cli_text_and_json(out, capsys):
    from sfdoctor.cli import main

    assert main(["reports", "diff", "-2", "-1", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "new:       NETWORK_ACCESS_UNAVAILABLE" in err and "fixed:     TOKEN_MISSING" in err
    assert main(["reports", "diff", "-2", "-1", "--out", str(out), "--lang", "ja"]) == 0
    assert "解消:     TOKEN_MISSING" in capsys.readouterr().err
    assert main(["reports", "diff", "7", "-1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no report at position 7" in err and "Traceback" not in err


def test_diff_says_when_two_runs_differ_in_sfdoctor_version(out, capsys):
    from sfdoctor.cli import main

    for name, version in (("a", "0.1.0"), ("b", "0.2.0")):
        path = out / "2026-11-23" / "rb" / name / "findings.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "sfdoctor_version": version}))
    d = diff("-2", "-1", out)
    assert d.versions_differ and d.to_json()["sfdoctor_version"] == {"a": "0.1.0", "b": "0.2.0"}
    assert main(["reports", "diff", "-2", "-1", "--out", str(out)]) == 0
    assert "different sfdoctor versions (0.1.0 and 0.2.0)" in capsys.readouterr().err
    path = out / "2026-11-23" / "rb" / "b" / "findings.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "sfdoctor_version": "0.1.0"}))
    assert main(["reports", "diff", "-2", "-1", "--out", str(out)]) == 0
    assert "versions" not in capsys.readouterr().err


# ------------------------------------------------------------------------------ list
def test_reports_list_narrows_a_fleets_history_and_keeps_the_positions(tmp_path, capsys):
    from history_gen import write_history

    from sfdoctor.cli import main

    lines = write_history(tmp_path, 2000, 50)
    assert main(["reports", "list", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2000 and err[-1].split()[:4] == ["-1", lines[-1]["time"], lines[-1]["runbook"], lines[-1]["org"]]
    starts = {(line.index(x["runbook"]), line.index(x["org"], line.index(x["runbook"]) + 1)) for line, x in zip(err, lines)}
    assert len(starts) == 1                                                        # columns line up
    argv = ["reports", "list", "--out", str(tmp_path), "--org", "client-00*", "--runbook", "sia-auth-failure", "--last", "3"]
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    mine = [(i - 2000, x) for i, x in enumerate(lines) if x["org"].startswith("client-00") and x["runbook"] == "sia-auth-failure"]
    assert [int(line.split()[0]) for line in err[:-1]] == [pos for pos, _ in mine[-3:]]
    assert err[-1] == "3 of 2,000 runs listed; the positions are those `sfdoctor reports diff` takes"
    pos, x = mine[-1]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["position"] for d in data] == [p for p, _ in mine[-3:]] and data[-1]["folder"] == x["folder"]
    assert main([*argv[:4], "--org", "nobody", "--lang", "ja"]) == 0
    assert capsys.readouterr().err.strip() == "2,000 件中 0 件を表示。位置はそのまま `sfdoctor reports diff` に渡せます"



@pytest.mark.parametrize("extra, said", [
    (["--last", "-3"], "--last -3: give a number of runs from 1"),
    (["--last", "0", "--lang", "ja"], "--last 0: 1 以上の件数を指定してください"),
    (["--runbook", "nosuch"], "unknown runbook 'nosuch'"),
])
def test_reports_list_refuses_what_can_list_nothing_in_one_line(tmp_path, capsys, extra, said):
    from history_gen import write_history

    from sfdoctor.cli import main

    write_history(tmp_path, 20, 5)
    assert main(["reports", "list", "--out", str(tmp_path), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0]

# ------------------------------------------------------------------------------ prune
from datetime import datetime, timedelta, timezone  # noqa: E402

from sfdoctor.history import PRUNED, parse_duration, prune  # noqa: E402

NOW = datetime(2027, 3, 1, tzinfo=timezone.utc)


def _run(out: Path, day: str, name: str, org: str = "demo") -> str:
    folder = f"{day}/rb/{name}"
    (out / folder).mkdir(parents=True)
    (out / folder / "findings.json").write_text("{}", encoding="utf-8")
    (out / folder / "report.html").write_text("<p>r</p>", encoding="utf-8")
    append_index(out, {"time": f"{day}T01:00:00Z", "runbook": "rb", "org": org, "outcome": "healthy",
                       "root_causes": [], "warnings": [], "folder": folder, "exit_code": 0})
    return folder


@pytest.fixture()
def aged(tmp_path):
    out = tmp_path / "reports"
    old1 = _run(out, "2026-10-01", "demo-010000Z")
    old2 = _run(out, "2026-11-15", "demo-010000Z")
    new = _run(out, "2027-02-20", "demo-010000Z")
    with open(out / "index.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"half a line\n')                                             # damaged: kept as it is
        fh.write(json.dumps({"time": "2026-01-01T00:00:00Z", "runbook": "rb", "org": "demo",
                             "folder": "../outside"}) + "\n")                  # outside the out dir: kept
    (tmp_path / "outside").mkdir()
    return out, [old1, old2, new]


def test_parse_duration():
    assert parse_duration("90d") == timedelta(days=90)
    assert parse_duration(" 12H ") == timedelta(hours=12)
    assert parse_duration("2w") == timedelta(weeks=2) and parse_duration("30m") == timedelta(minutes=30)
    for bad in ("90", "d", "0d", "-3d", "1.5d", "3y", ""):
        with pytest.raises(BadInput, match="not a duration"):
            parse_duration(bad)
    with pytest.raises(BadInput) as exc:
        parse_duration("x")
    assert exc.value.one_line("ja").startswith("--older-than 'x': 期間として読めません — 整数と単位で")


def test_prune_removes_folders_and_lines_together(aged):
    out, (old1, old2, new) = aged
    lines_before = (out / "index.jsonl").read_text().splitlines()
    result = prune(out, timedelta(days=90), now=NOW)
    assert [e["folder"] for e in result.removed] == [old1, old2] and result.failed == [] and result.kept == 3
    lines = (out / "index.jsonl").read_text().splitlines()
    assert lines == [lines_before[2], lines_before[3], lines_before[4]]     # the new run, damaged, outside
    assert not (out / old1).exists() and not (out / "2026-10-01").exists()  # empty date folders go too
    assert (out / new / "report.html").is_file() and (out.parent / "outside").is_dir()
    assert not (out / PRUNED).exists()
    shown = report_folders(data_of((out / "index.html").read_text()))
    assert new in shown and old1 not in shown and old2 not in shown
    assert prune(out, timedelta(days=90), now=NOW).removed == []           # again: nothing


def test_prune_dry_run_changes_nothing(aged):
    out, (old1, old2, _new) = aged
    before = (out / "index.jsonl").read_bytes()
    result = prune(out, timedelta(days=90), now=NOW, dry_run=True)
    assert [e["folder"] for e in result.removed] == [old1, old2] and result.kept == 3
    assert (out / "index.jsonl").read_bytes() == before and (out / old1).is_dir() and not (out / "index.html").exists()


def test_a_folder_that_cannot_be_moved_keeps_its_line(aged):
    out, (old1, old2, _new) = aged

    def rename(src, dst):
        if src == (out / old1).resolve():
            raise PermissionError(13, "Permission denied")
        os.rename(src, dst)

    result = prune(out, timedelta(days=90), now=NOW, rename=rename)
    assert [e["folder"] for e in result.removed] == [old2]
    assert result.failed == [{"folder": old1, "reason": "Permission denied"}]
    assert (out / old1 / "report.html").is_file()                           # whole, not partial
    assert [json.loads(x)["folder"] for x in (out / "index.jsonl").read_text().splitlines()[:1]] == [old1]


def test_a_delete_that_fails_is_retried_next_time(aged):
    out, (old1, old2, _new) = aged

    def rmtree(path):
        raise OSError(16, "Device or resource busy")

    result = prune(out, timedelta(days=90), now=NOW, rmtree=rmtree)
    assert [e["folder"] for e in result.removed] == [old1, old2]            # out of the tree: lines gone
    assert len(result.failed) == 2 and all(f["folder"].startswith(PRUNED + "/") for f in result.failed)
    assert old1 not in (out / "index.jsonl").read_text() and len(list((out / PRUNED).iterdir())) == 2
    result = prune(out, timedelta(days=90), now=NOW)
    assert result.removed == [] and result.failed == [] and not (out / PRUNED).exists()


def test_prune_cli(aged, capsys):
    from sfdoctor.cli import main

    out, (old1, _old2, _new) = aged
    assert main(["reports", "prune", "--older-than", "soon", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--older-than 'soon': not a duration" in err and "Traceback" not in err
    assert main(["reports", "prune", "--older-than", "soon", "--out", str(out), "--lang", "ja"]) == 2
    assert "期間として読めません" in capsys.readouterr().err
    assert main(["reports", "prune", "--older-than", "1d", "--out", str(out), "--dry-run", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["dry_run"] is True and [r["folder"] for r in shown["removed"]][:1] == [old1]
    assert (out / old1).is_dir()
    assert main(["reports", "prune", "--older-than", "100000d", "--out", str(out)]) == 0
    assert "removed 0 runs older than" in capsys.readouterr().err


@pytest.mark.parametrize("lang, words", [
    ("en", {"prune": "older than", "index": "index.html", "diff": "-1 is the latest run", "run-due": "--wait"}),
    ("ja", {"prune": "より古い", "index": "作り直します", "diff": "-1 が最新", "run-due": "待つ"}),
])
def test_new_commands_have_help_in_both_languages(monkeypatch, capsys, lang, words):
    from sfdoctor import cli

    monkeypatch.setattr(cli, "LANG", lang)
    for command, word in words.items():
        argv = ["schedule", command, "--help"] if command == "run-due" else ["reports", command, "--help"]
        assert cli.main(argv) == 0
        assert word in capsys.readouterr().out, (lang, command)


def test_a_missing_report_is_said_in_the_commands_language(tmp_path) -> None:
    from sfdoctor.history import resolve_report

    with pytest.raises(BadInput) as info:
        resolve_report(str(tmp_path / "nothing-here"), tmp_path)
    assert info.value.one_line("ja").startswith(f"{tmp_path / 'nothing-here'} にレポートはありません")
    assert "no report at" in info.value.one_line("en")

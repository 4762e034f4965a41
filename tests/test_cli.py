"""The `sfdoctor` command: help everywhere, one-line errors with exit 2, run's exit codes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sfdoctor.cli import main

HOME = Path(__file__).parent / "fixtures" / "home"
SFDOCTOR = Path(sys.executable).parent / "sfdoctor"


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    monkeypatch.setenv("SFDOCTOR_HOME", str(HOME))
    monkeypatch.setenv("SFDOCTOR_ORGS", str(tmp_path / "orgs.toml"))
    monkeypatch.setenv("SFDOCTOR_LANG", "en")
    monkeypatch.delenv("SFDOCTOR_DEMO_URL", raising=False)


@pytest.mark.parametrize("argv", [[], ["list"], ["diagnose"], ["run"], ["demo"], ["demo", "list"], ["demo", "serve"],
                                  ["reports"], ["reports", "list"], ["reports", "diff"], ["schedule"],
                                  ["schedule", "run-due"], ["schedule", "show"], ["orgs"], ["orgs", "list"],
                                  ["orgs", "check"], ["orgs", "add"]])
def test_every_subcommand_answers_help(argv, capsys):
    assert main([*argv, "--help"]) == 0
    assert "usage: sfdoctor" in capsys.readouterr().out


def test_help_in_japanese(monkeypatch):
    env = {**os.environ, "SFDOCTOR_LANG": "ja"}
    res = subprocess.run([str(SFDOCTOR), "run", "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0 and "ランブック" in res.stdout


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "nope", "--org", "demo"], "unknown runbook 'nope'"),
        (["run", "fixture-probe", "--org", "nowhere"], "unknown org 'nowhere'"),
        (["run", "fixture-probe", "--org", "demo", "-p", "days"], "malformed parameter 'days'"),
        (["run", "fixture-probe", "--org", "demo", "-p", "days=soon"], "expected a whole number"),
        (["run", "fixture-probe", "--org", "demo", "-p", "password=x"], "is a secret"),
        (["run", "fixture-probe", "--org", "demo:no-such-scenario"], "unknown demo scenario"),
        (["diagnose", " "], "nothing to diagnose"),
        (["reports", "diff", "-2", "-1", "--out", "/nonexistent-sfdoctor"], "no reports in"),
        (["schedule", "show"], "no such schedule file"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_folder(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert message in last and last.startswith("sfdoctor: ")
    assert "Traceback" not in err
    assert not (tmp_path / "reports").exists()


def test_bad_input_in_japanese(capsys):
    assert main(["run", "fixture-probe", "--org", "demo", "-p", "bogus=1", "--lang", "ja"]) == 2
    assert "パラメーター 'bogus' はありません" in capsys.readouterr().err
    assert main(["run", "nope", "--org", "demo", "--lang", "ja"]) == 2
    assert "sfdoctor: ランブック 'nope' はありません — 使えるランブック: " in capsys.readouterr().err


@pytest.mark.parametrize("lang, says", [
    ("en", "parameter {name}: {value} is not one of its choices; it takes {first}"),
    ("ja", "パラメーター {name}: {value} は選択肢にありません。使える値: {first}")])
@pytest.mark.parametrize("argv, name, value, first", [
    (["run", "marketo-sync-setup", "--org", "demo:marketo-healthy", "-p", "marketo_sync_sandbox=tickd"],
     "marketo_sync_sandbox", "'tickd'", "'not answered', 'ticked', 'not ticked'"),
    (["triage", "Missing_OAuth_Token", "--org", "demo", "-p", "exclude_api_users=maybe"],
     "exclude_api_users", "'maybe'", "'unknown', 'yes', 'no'"),
    (["run", "sia-auth-failure", "--org", "acme"], "oauth_usage_button", "'blocked'", "'', 'unblock'"),
])
def test_a_value_that_fits_no_choice_is_one_line_exit_2_naming_what_it_takes(
        argv, name, value, first, lang, says, capsys, tmp_path, monkeypatch):
    """`run -p`, `triage -p` and the orgs file's [orgs.NAME.params.RUNBOOK] read a value as the
    form does, and refuse one that fits nothing before any folder or login."""
    monkeypatch.delenv("SFDOCTOR_HOME")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "orgs.toml").write_text('[orgs.acme]\ndemo = "sia-healthy"\n[orgs.acme.params.sia-auth-failure]\n'
                                        'oauth_usage_button = "blocked"\n', encoding="utf-8")
    assert main([*argv, "--lang", lang]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert says.format(name=name, value=value, first=first) in last and "Traceback" not in err
    assert not (tmp_path / "reports").exists()


def test_usage_error_is_exit_2(capsys):
    assert main(["run", "fixture-probe"]) == 2  # --org missing
    assert "--org" in capsys.readouterr().err


def test_list_one_runbook_shows_what_run_p_takes(capsys):
    """`sfdoctor list RUNBOOK`: its parameters with type, default, label and help (never a
    secret one); --json carries them too; an unknown id is one line, exit 2."""
    assert main(["list", "fixture-probe", "--lang", "ja"]) == 0
    err = capsys.readouterr().err
    assert "パラメーター (-p 名前=値)" in err and "days = 7  [int]" in err and "password" not in err.split("パラメーター")[1]
    assert main(["list", "fixture-probe", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    names = [p["name"] for p in listed["parameters"]]
    assert "days" in names and "password" not in names
    assert {"name": "days", "type": "int", "default": 7} == {k: v for k, v in listed["parameters"][names.index("days")].items()
                                                              if k in ("name", "type", "default")}
    assert main(["list", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown runbook 'nope'" in err


def test_list_and_diagnose_json(capsys):
    assert main(["list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["id"] == "fixture-probe" and "Fixture probe exploded" in listed[0]["symptoms"]
    assert main(["diagnose", "ﾌｨｸｽﾁｬが爆発しました", "--json"]) == 0
    ranked = json.loads(capsys.readouterr().out)
    assert ranked[0]["runbook"] == "fixture-probe" and 0 < ranked[0]["score"] <= 1
    assert main(["diagnose", "Fixture probe exploded"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "fixture-probe" in captured.err  # people's output on stderr


def test_unexpected_error_is_one_line(monkeypatch, capsys):
    import sfdoctor.runbooks as rb

    def boom(*a, **k):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(rb, "all_specs", boom)
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ZeroDivisionError" in err and "Traceback" not in err


@pytest.mark.notebook
def test_run_exit_codes_and_index_with_concurrent_processes(tmp_path):
    """Two `sfdoctor run` processes at once: both reports written, two index lines, exit 1 and 0."""
    env = {**os.environ}
    out = tmp_path / "reports"
    common = ["--org", "demo", "--out", str(out)]
    fail = subprocess.Popen([str(SFDOCTOR), "run", "fixture-probe", *common, "-p", "mode=fail"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    ok = subprocess.Popen([str(SFDOCTOR), "run", "fixture-probe", *common, "--json"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    fail_out, fail_err = fail.communicate(timeout=180)
    ok_out, ok_err = ok.communicate(timeout=180)
    assert fail.returncode == 1, fail_err
    assert ok.returncode == 0, ok_err
    folder = Path(fail_out.strip())
    assert (folder / "findings.json").is_file() and folder.is_absolute()
    assert json.loads(ok_out)["outcome"] == "healthy"
    for err in (fail_err, ok_err):
        assert "Traceback" not in err and "cell 1 of" in err
    lines = [json.loads(line) for line in (out / "index.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(e["exit_code"] for e in lines) == [0, 1]
    assert len({e["folder"] for e in lines}) == 2
    assert main(["reports", "diff", "-2", "-1", "--out", str(out), "--json"]) in (0,)


def test_diagnose_exits_1_with_one_line_when_nothing_fits(capsys):
    assert main(["diagnose", "the coffee machine is empty"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sfdoctor list" in err[0]
    assert main(["diagnose", "the coffee machine is empty", "--json"]) == 1

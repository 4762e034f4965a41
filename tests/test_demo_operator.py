"""The demo operator: a scenario's `operator:` answers are read as the form and `-p` read the
parameter they name (one converter, params.convert_answers), and one that fits nothing stops
the run with exit 2 before any report folder, kernel or login."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from sfdoctor import demo_operator
from sfdoctor.clients import demo_info
from sfdoctor.demo.runtime import ensure_simulator, running_simulator
from sfdoctor.errors import BadInput, LocalizedValueError

SCENARIOS = Path(__file__).resolve().parents[1] / "lib" / "sfdoctor" / "demo" / "scenarios"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("SFDOCTOR_ORGS", str(tmp_path / "orgs.toml"))
    monkeypatch.delenv("SFDOCTOR_DEMO_URL", raising=False)


def _world(tmp_path: Path, answers: str, name: str = "marketo-healthy") -> str:
    """A built-in world with more `operator:` answers (YAML lines under `operator:`)."""
    text = (SCENARIOS / f"{name}.yml").read_text(encoding="utf-8")
    assert text.count("\noperator:\n") == 1
    path = tmp_path / f"{name}-answers-{abs(hash(answers))}.yml"
    path.write_text(text.replace("\noperator:\n", "\noperator:\n" + answers), encoding="utf-8")
    return str(path)


def _answers(scenario_ref: str, runbook: str) -> dict:
    with requests.Session() as session:
        return demo_operator.answers(demo_info(session, ensure_simulator(scenario_ref)), runbook)


@pytest.mark.parametrize("said, means", [("ticked", "ticked"), ("Ticked", "ticked"), ("チェックあり", "ticked"),
                                         ("yes", "ticked"), ("'no'", "not ticked"), ("チェックなし", "not ticked")])
def test_an_operator_answer_in_either_language_or_a_boolean_is_the_choices_value(tmp_path, said, means):
    answers = _answers(_world(tmp_path, f"  marketo_sync_sandbox: {said}\n"), "marketo-sync-setup")
    assert answers["marketo_sync_sandbox"] == means


def test_the_worlds_own_readings_go_through_the_same_converter():
    """marketo's world states the Sandbox box as a boolean; the form's value is `not ticked`."""
    answers = _answers("marketo-healthy", "marketo-sync-setup")
    assert answers["marketo_sync_sandbox"] == "not ticked"
    assert answers["marketo_sync_status"] == "Last synced"


def test_a_bad_answer_is_refused_naming_the_parameter_not_dropped(tmp_path):
    with pytest.raises(LocalizedValueError) as exc:
        _answers(_world(tmp_path, "  marketo_sync_sandbox: maybe\n"), "marketo-sync-setup")
    for lang in ("en", "ja"):
        line = exc.value.one_line(lang)
        assert "marketo_sync_sandbox" in line and "'maybe'" in line and "'ticked'" in line


@pytest.mark.parametrize("lang, words", [("en", "operator.marketo_sync_sandbox (the operator's answer"),
                                         ("ja", "operator.marketo_sync_sandbox (そのパラメーターへのオペレーターの回答)")])
def test_run_refuses_a_bad_answer_with_exit_2_before_any_folder_or_login(tmp_path, lang, words):
    from sfdoctor.runner import run_runbook

    world = _world(tmp_path, "  marketo_sync_sandbox: maybe\n")
    reports = tmp_path / "reports"
    with pytest.raises(BadInput) as exc:
        run_runbook("marketo-sync-setup", f"demo:{world}", {}, reports, lang, progress=None)
    line = exc.value.one_line(lang)
    assert words in line and "'maybe'" in line and "\n" not in line
    assert f"{world}: operator.marketo_sync_sandbox" in line          # the file, then the key path
    assert not reports.exists()
    sim = running_simulator(str(Path(world).resolve())) or running_simulator(world)
    assert sim is not None and not any("token" in k or "Soap" in k for k in sim.stats), dict(sim.stats)


def test_cli_run_says_it_in_one_line_with_exit_2(tmp_path, capsys, monkeypatch):
    from sfdoctor.cli import main

    monkeypatch.chdir(tmp_path)
    world = _world(tmp_path, "  marketo_sync_status: broken\n")
    assert main(["run", "marketo-sync-setup", "--org", f"demo:{world}", "--lang", "ja"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "marketo_sync_status" in err[-1] and "'broken'" in err[-1] and "'Last synced'" in err[-1]
    assert not (tmp_path / "reports").exists()


def test_the_operator_names_no_user_the_scenario_does_not_name():
    """No `probe_username` in the world: no probe user, no credentials offered up front; a
    runbook that finds a user itself gets that user's own credentials from the operator."""
    from types import SimpleNamespace

    from sfdoctor.credentials import probe_credentials

    with requests.Session() as session:
        info = demo_info(session, ensure_simulator("token-unnamed-user"))
    answers = demo_operator.answers(info, "security-token-required")
    assert not {"probe_username", "probe_password", "probe_token"} & set(answers)
    conn = SimpleNamespace(org_ref=None, operator=answers, info=info)
    creds = probe_credentials(conn, "reports@acme.example")
    assert (creds.password, creds.token) == ("Rep-pass-77", "RRRRtokenRRRR")

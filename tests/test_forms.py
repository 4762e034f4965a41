"""The ipywidgets form: one field per parameter, secrets cleared, attempts stated, Run calls back."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import ipywidgets as widgets
import pytest

from sfdoctor.forms import build_form
from sfdoctor.runbooks import load

FIXTURE_RUNBOOKS = Path(__file__).parent / "fixtures" / "home" / "runbooks"


@pytest.fixture()
def spec():
    return load("fixture-probe", FIXTURE_RUNBOOKS)


def test_widget_per_type(spec):
    form = build_form(spec, "en", lambda v: None)
    f = form.fields
    assert isinstance(f["mode"], widgets.Dropdown) and f["mode"].value == "healthy"
    assert isinstance(f["days"], widgets.IntText) and f["days"].value == 7
    assert isinstance(f["strict"], widgets.Checkbox)
    assert isinstance(f["since"], widgets.DatePicker)
    assert isinstance(f["tags"], widgets.Textarea)
    assert isinstance(f["note"], widgets.Text) and not isinstance(f["note"], widgets.Password)
    assert isinstance(f["password"], widgets.Password) and f["password"].value == ""
    assert "at most 1 login attempt" in form.note.value


def test_run_reads_values_then_clears_the_secret(spec):
    got = []
    form = build_form(spec, "ja", got.append)
    form.fields["password"].value = "hunter22"
    form.fields["days"].value = 3
    form.fields["tags"].value = "a\nb"
    form.fields["since"].value = dt.date(2026, 1, 2)
    form.run()
    assert got[0]["password"] == "hunter22" and got[0]["days"] == 3
    assert got[0]["tags"] == ["a", "b"] and str(got[0]["since"]) == "2026-01-02"
    assert form.fields["password"].value == ""  # nothing left for the saved widget state
    assert "hunter22" not in repr(form.get_state())
    assert "最大 1 回" in form.note.value and form.run_button.description == "チェックを実行"


def test_form_by_id_and_no_attempts_note(monkeypatch, spec):
    monkeypatch.setenv("SFDOCTOR_HOME", str(FIXTURE_RUNBOOKS.parent))
    form = build_form("fixture-probe", "en", lambda v: None)
    assert form.spec.id == "fixture-probe"
    bare = spec.model_copy(update={"parameters": [p for p in spec.parameters if not p.login_attempts and not p.secret]})
    assert "no login attempts" in build_form(bare, "en", lambda v: None).note.value

"""The ipywidgets form: one field per parameter, secrets cleared, attempts stated, Run calls back."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import ipywidgets as widgets
import pytest

from sfdoctor.errors import BadInput
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


def test_typed_secret_leaves_the_widget_state_before_run(spec):
    """Saving before Run (autosave does) must not find the secret: the kernel takes it on arrival."""
    got = []
    form = build_form(spec, "en", got.append)
    field = form.fields["password"]
    assert field.continuous_update is False  # one sync when the person leaves the field, not per keystroke
    field.value = "Canary-1234"  # what a browser sends on blur / Enter
    assert field.value == "" and "Canary-1234" not in repr(form.get_state())
    assert not any("Canary-1234" in repr(w.get_state()) for w in form.fields.values())
    assert "entered" in field.placeholder
    form.run()
    assert got[0]["password"] == "Canary-1234"
    assert field.placeholder == ""
    form.run()  # used once: a second run has no secret unless it is typed again
    assert got[1]["password"] == ""


def test_run_button_says_running_and_comes_back(spec):
    seen = []
    form = build_form(spec, "ja", lambda v: seen.append((form.run_button.description, form.run_button.disabled)))
    form.run()
    assert seen == [("実行中…", True)]
    assert form.run_button.description == "チェックを実行" and not form.run_button.disabled

    def boom(values):
        raise RuntimeError("check crashed")

    form.on_run = boom
    form.fields["password"].value = "Canary-5678"
    with pytest.raises(RuntimeError):
        form.run()  # outside a kernel the Output widget does not swallow it
    assert form.run_button.description == "チェックを実行" and not form.run_button.disabled
    assert "Canary-5678" not in repr(form.fields["password"].get_state()) and not form._secrets


def test_fields_are_wide_enough_for_a_username(spec):
    form = build_form(spec, "ja", lambda v: None)
    for w in form.fields.values():
        assert w.layout.width == "100%"
    widths = {w.style.description_width for w in form.fields.values() if not isinstance(w, widgets.Checkbox)}
    assert len(widths) == 1 and widths.pop().endswith("em")  # one label column: inputs line up


@pytest.mark.parametrize("runbook", ["security-token-required", "sia-auth-failure", "marketo-sync-setup",
                                     "mc-missing-oauth-token"])
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_runbook_has_a_field_per_parameter(runbook, lang):
    spec = load(runbook)
    form = build_form(spec, lang, lambda v: None)
    assert set(form.fields) == {p.name for p in spec.parameters if p.on_form}
    values = form.values()  # the defaults are valid values
    assert set(values) == {p.name for p in spec.parameters}


def test_a_malformed_allowlist_is_refused_in_the_form_without_running():
    ran = []
    form = build_form("mc-missing-oauth-token", "en", ran.append)
    form.fields["ip_allowlist"].value = "198.51.100.0 - 198.51.100.255 Head office, Tokyo\n192.0.2.1 - 192.0.2.999"
    with pytest.raises(BadInput) as exc:
        form.values()
    assert "192.0.2.999" in exc.value.one_line()
    assert form.run() is None and ran == []
    form.fields["ip_allowlist"].value = "198.51.100.0 - 198.51.100.255 Head office, Tokyo\n192.0.2.0/24"
    assert form.values()["ip_allowlist"] == ["198.51.100.0 - 198.51.100.255 Head office, Tokyo", "192.0.2.0/24"]


def test_org_field_offers_the_orgs_file_and_the_runbooks_demo_worlds(tmp_path, monkeypatch):
    orgs_file = tmp_path / "orgs.toml"
    orgs_file.write_text('[orgs.acme]\nmy_domain = "acme.my.salesforce.com"\nauth = "sf_cli"\nalias = "acme"\n',
                         encoding="utf-8")
    monkeypatch.setenv("SFDOCTOR_ORGS", str(orgs_file))
    got = []
    form = build_form("sia-auth-failure", "ja", lambda values, org, lang: got.append((values, org)), org="demo")
    assert form.children[2] is form.org_field and form.org_field.description == "組織"
    options = list(form.org_field.options)
    assert options[:2] == ["acme", "demo"]
    assert "demo:sia-oauth-blocked" in options and not any("token-missing" in o for o in options)
    form.org_field.value = "demo:my-own-world.yml"  # free text: not one of the options
    form.run()
    assert got and got[0][1] == "demo:my-own-world.yml" and "org" not in got[0][0]


def test_without_org_no_org_field_and_on_run_takes_values_only(spec):
    got = []
    form = build_form(spec, "en", got.append)
    assert form.org_field is None
    form.run()
    assert len(got) == 1 and isinstance(got[0], dict)


def test_the_summary_shows_above_the_cards_when_the_run_finishes(spec):
    from sfdoctor.session import RunSession

    def on_run(values, org, lang):
        run = RunSession.open(spec, org, lang, values, connect=False, display=False)
        run.check(lambda conn, spec, *, lang: [spec.finding("probe", "fail", lang, cause="FIXTURE_BROKEN")], spec)
        return run.finish()

    form = build_form(spec, "ja", on_run, org="demo")
    assert form.summary.value == ""
    children = list(form.children)
    assert children.index(form.summary) == children.index(form.output) - 1
    result = form.run()
    assert result.outcome == "problems_found"
    assert "フィクスチャが壊れています" in form.summary.value


@pytest.mark.parametrize("lang, shown", [("en", ["Not answered", "Ticked", "Not ticked"]),
                                         ("ja", ["未回答", "チェックあり", "チェックなし"])])
def test_a_choice_shows_its_labels_in_the_runs_language_and_gives_back_the_value(lang, shown):
    """The labels the form shows are words `-p`, the orgs file and a demo operator may give too
    (params.convert_value reads them back); Run hands the value itself to the runbook."""
    from sfdoctor.params import convert_value

    spec = load("marketo-sync-setup")
    got = []
    form = build_form(spec, lang, got.append)
    field = form.fields["marketo_sync_sandbox"]
    assert [label for label, _ in field.options] == shown and field.value == "not answered"
    field.value = "ticked"
    form.run()
    assert got[0]["marketo_sync_sandbox"] == "ticked"
    param = spec.parameter("marketo_sync_sandbox")
    assert [convert_value(param, label) for label in shown] == ["not answered", "ticked", "not ticked"]


def test_choosing_the_other_language_relabels_the_form_and_runs_in_it():
    """A Japanese-speaking admin picks 日本語 on the form instead of editing `lang` in a cell:
    every label turns Japanese, what was typed and chosen stays, and Run passes lang="ja"."""
    got = []
    form = build_form("marketo-sync-setup", "en", lambda values, org, lang: got.append((values, org, lang)),
                      org="demo")
    assert form.children[1] is form.language and form.language.value == "en"
    form.fields["marketo_sync_sandbox"].value = "ticked"
    form.fields["days"].value = 3
    before = {name: field.description for name, field in form.fields.items()}
    form.language.value = "ja"
    spec = load("marketo-sync-setup")
    from sfdoctor.i18n import pick
    assert {name: field.description for name, field in form.fields.items()} == {
        p.name: pick(p.label, "ja") for p in spec.parameters if p.on_form} != before
    assert form.language.description == "言語" and form.org_field.description == "組織"
    assert form.run_button.description == "チェックを実行" and spec.texts("ja").runbook_title in form.header.value
    assert [label for label, _ in form.fields["marketo_sync_sandbox"].options] == ["未回答", "チェックあり", "チェックなし"]
    assert "ログイン" in form.note.value and "login" not in form.note.value
    form.run()
    values, org, lang = got[0]
    assert (values["marketo_sync_sandbox"], values["days"], org, lang) == ("ticked", 3, "demo", "ja")


def test_a_parameter_that_schedules_set_is_not_a_field_and_keeps_its_default():
    """probe_held is set by `schedule run-due` and `fleet run` (on_form: false): a person never
    types it, so the form shows no field for it and Run passes its default, empty."""
    got = []
    form = build_form("security-token-required", "en", got.append)
    assert "probe_held" not in form.fields and "probe" in form.fields
    form.run()
    assert got[0]["probe_held"] == ""

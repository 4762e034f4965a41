"""Parameter values: conversion per type, a spec's validator, refusals in the run's language."""
from __future__ import annotations

import pytest

from sfdoctor import runbooks
from sfdoctor.errors import BadInput
from sfdoctor.params import convert_value
from spec_files import FIXTURE_HOME, fixture_data, write_spec


def test_convert_value_per_type():
    spec = runbooks.load("fixture-probe", FIXTURE_HOME / "runbooks")
    conv = convert_value
    assert conv(spec.parameter("days"), " 14 ") == 14
    assert conv(spec.parameter("strict"), "yes") is True and conv(spec.parameter("strict"), "0") is False
    assert conv(spec.parameter("tags"), "a, b\nc") == ["a", "b", "c"]
    assert str(conv(spec.parameter("since"), "2026-01-31")) == "2026-01-31"
    for name, bad in (("days", "1.5"), ("strict", "maybe"), ("since", "31/01/2026"), ("mode", "loud")):
        with pytest.raises(ValueError):
            conv(spec.parameter(name), bad)


def test_a_parameter_validator_refuses_a_malformed_value_before_anything_runs(tmp_path, monkeypatch):
    """A parameter may name a pure function that holds a converted value to its shape; `run`
    turns its ValueError into one line with exit 2, before any folder or kernel exists."""
    import sys
    import types

    from sfdoctor.runner import validate_params

    module = types.ModuleType("sfdoctor._validator_fixture")

    def no_blank_tags(values):
        for v in values:
            if v == "bad":
                raise ValueError(f"{v!r} is not a tag")

    module.no_blank_tags = no_blank_tags
    monkeypatch.setitem(sys.modules, module.__name__, module)
    data = fixture_data()
    tags = next(p for p in data["parameters"] if p["name"] == "tags")
    tags["validator"] = "sfdoctor._validator_fixture:no_blank_tags"
    spec = runbooks.load_file(write_spec(tmp_path, data))
    assert convert_value(spec.parameter("tags"), "a, b") == ["a", "b"]
    with pytest.raises(ValueError, match="'bad' is not a tag"):
        convert_value(spec.parameter("tags"), "a, bad")
    with pytest.raises(BadInput) as exc:
        validate_params(spec, {"tags": "a,bad"})
    assert "'bad' is not a tag" in exc.value.one_line() and "\n" not in exc.value.one_line()

    tags["validator"] = "os:system"  # only sfdoctor's own functions may be named
    with pytest.raises(BadInput) as exc:
        runbooks.load_file(write_spec(tmp_path, data))
    assert "sfdoctor.MODULE:FUNCTION" in exc.value.one_line()


def test_the_mc_allowlist_is_held_to_its_shape_before_any_run():
    """mc-missing-oauth-token's pasted allowlist: a typo is bad input (exit 2, no folder), and
    a description may hold commas (its items are split at newlines; the runbook's own parser
    splits at a comma only where an address follows)."""
    from sfdoctor.runner import validate_params

    spec = runbooks.load("mc-missing-oauth-token")
    given = validate_params(spec, {"ip_allowlist": "198.51.100.0 - 198.51.100.255 Head office, Tokyo\n192.0.2.0/24",
                                   "data_cloud_ips": "203.0.113.40, 203.0.113.41"})
    assert given == {"ip_allowlist": ["198.51.100.0 - 198.51.100.255 Head office, Tokyo", "192.0.2.0/24"],
                     "data_cloud_ips": ["203.0.113.40", "203.0.113.41"]}
    for name, bad in (("ip_allowlist", "192.0.2.1 - 192.0.2.999"), ("data_cloud_ips", "203.0.113.400")):
        with pytest.raises(BadInput) as exc:
            validate_params(spec, {name: bad})
        line = exc.value.one_line()
        assert name in line and bad in line and "\n" not in line



def test_a_refused_value_is_said_in_the_runs_language():
    """Type mismatches and validators speak Japanese in a Japanese run (CLI, form, report)."""
    from sfdoctor.runner import validate_params

    spec = runbooks.load("mc-missing-oauth-token")
    with pytest.raises(BadInput) as exc:
        validate_params(spec, {"ip_allowlist": "192.0.2.1 - 192.0.2.999"}, "ja")
    assert "パラメーター ip_allowlist" in exc.value.one_line() and "項目 1" in exc.value.one_line()
    assert "2 つの IP アドレスの範囲ではありません" in exc.value.one_line()
    with pytest.raises(BadInput) as exc:
        validate_params(spec, {"probe": "maybe"}, "ja")
    assert "true か false を指定してください" in exc.value.one_line()
    with pytest.raises(BadInput) as exc:
        validate_params(spec, {"probe": "maybe"}, "en")
    assert "expected true or false, got 'maybe'" in exc.value.one_line()


# ---------------------------------------------------------------- one reading for every path
def test_a_choice_takes_its_values_its_labels_in_both_languages_and_booleans():
    """What the form shows (a label, in en or ja), the value itself in any case, and for a
    yes/no choice a boolean or a boolean word: all read as the one value."""
    sandbox = runbooks.load("marketo-sync-setup").parameter("marketo_sync_sandbox")
    for given in ("ticked", "Ticked", " TICKED ", "チェックあり", True, "yes", "true", "はい"):
        assert convert_value(sandbox, given) == "ticked", given
    for given in ("not ticked", "Not ticked", "チェックなし", False, "no", "false", "いいえ"):
        assert convert_value(sandbox, given) == "not ticked", given
    assert convert_value(sandbox, "未回答") == "not answered"
    # a choice whose own values are yes/no: YAML's unquoted `yes` arrives as True
    exclude = runbooks.load("mc-missing-oauth-token").parameter("exclude_api_users")
    assert [convert_value(exclude, v) for v in (True, False, "yes", "no", "チェックあり", "不明")] == \
        ["yes", "no", "yes", "no", "yes", "unknown"]
    allowlist = runbooks.load("mc-missing-oauth-token").parameter("ip_allowlist_enabled")
    assert [convert_value(allowlist, v) for v in (True, "off", "有効", "Disabled")] == ["on", "off", "on", "off"]
    # an empty value is a choice of its own where the spec has one ("not looked at")
    button = runbooks.load("sia-auth-failure").parameter("oauth_usage_button")
    assert [convert_value(button, v) for v in ("", "未確認", "No row for the app", "Unblock")] == \
        ["", "", "not_listed", "unblock"]


@pytest.mark.parametrize("lang, words", [("en", "is not one of its choices"), ("ja", "は選択肢にありません")])
def test_a_value_no_choice_takes_is_refused_naming_the_parameter_the_value_and_what_it_takes(lang, words):
    from sfdoctor.runner import validate_params

    spec = runbooks.load("marketo-sync-setup")
    with pytest.raises(BadInput) as exc:
        validate_params(spec, {"marketo_sync_sandbox": "tickd"}, lang)
    line = exc.value.one_line(lang)
    assert "\n" not in line and words in line
    for part in ("marketo_sync_sandbox", "'tickd'", "'ticked'", "'not ticked'", "Ticked / チェックあり", "true/false"):
        assert part in line, (part, line)
    # a choice without a yes/no meaning refuses a boolean rather than guess one
    button = runbooks.load("sia-auth-failure")
    with pytest.raises(BadInput) as exc:
        validate_params(button, {"oauth_usage_button": True}, lang)
    assert "oauth_usage_button" in exc.value.one_line(lang) and "true/false" not in exc.value.one_line(lang)


def test_a_spec_may_label_only_its_own_choices_and_map_booleans_to_two_of_them(tmp_path):
    data = fixture_data()
    mode = next(p for p in data["parameters"] if p["name"] == "mode")
    mode["choice_labels"] = {"nope": {"en": "Nope", "ja": "いいえ"}}
    with pytest.raises(BadInput, match="choice_labels"):
        runbooks.load_file(write_spec(tmp_path, data))
    mode["choice_labels"] = {}
    mode["boolean_choices"] = [mode["choices"][0]]
    with pytest.raises(BadInput, match="boolean_choices"):
        runbooks.load_file(write_spec(tmp_path, data))
    del mode["boolean_choices"]
    days = next(p for p in data["parameters"] if p["name"] == "days")
    days["boolean_choices"] = ["1", "0"]
    with pytest.raises(BadInput, match="only for type choice"):
        runbooks.load_file(write_spec(tmp_path, data))


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_orgs_files_params_are_read_as_p_is_and_a_bad_one_names_the_file_and_org(lang):
    from sfdoctor.params import orgs_file_params

    spec = runbooks.load("marketo-sync-setup")
    entry = {"params": {"marketo-sync-setup": {"marketo_sync_sandbox": "チェックなし", "days": "3"}}}
    assert orgs_file_params(spec, entry, "acme", "/x/orgs.toml", lang) == {"marketo_sync_sandbox": "not ticked", "days": 3}
    assert orgs_file_params(spec, {}, "acme", "/x/orgs.toml", lang) == {}
    entry = {"params": {"marketo-sync-setup": {"marketo_sync_sandbox": "maybe"}}}
    with pytest.raises(BadInput) as exc:
        orgs_file_params(spec, entry, "acme", "/x/orgs.toml", lang)
    line = exc.value.one_line(lang)
    assert "/x/orgs.toml: orgs.acme.params.marketo-sync-setup" in line and "marketo_sync_sandbox" in line
    assert "'maybe'" in line and "'ticked'" in line and "\n" not in line
    with pytest.raises(BadInput, match=r"orgs\.acme\.params"):
        orgs_file_params(spec, {"params": {"marketo-sync-setup": "ticked"}}, "acme", "/x/orgs.toml", lang)


@pytest.mark.parametrize("lang, words", [("en", "operator.marketo_sync_sandbox (the operator's answer"),
                                         ("ja", "operator.marketo_sync_sandbox (そのパラメーターへのオペレーターの回答)")])
def test_operator_answers_are_converted_by_parameter_and_a_bad_one_is_never_dropped(lang, words):
    from sfdoctor.errors import LocalizedValueError
    from sfdoctor.params import convert_answers

    spec = runbooks.load("marketo-sync-setup")
    got = convert_answers(spec, {"marketo_sync_sandbox": True, "marketo_sync_status": "同期中", "days": "5",
                                 "probe_token": "KEEP", "marketo_last_synced_at": None})
    assert got == {"marketo_sync_sandbox": "ticked", "marketo_sync_status": "Sync in progress", "days": 5,
                   "probe_token": "KEEP", "marketo_last_synced_at": None}
    with pytest.raises(LocalizedValueError) as exc:
        convert_answers(spec, {"marketo_sync_sandbox": "maybe"})
    line = exc.value.one_line(lang)
    assert words in line and "'maybe'" in line and "'not ticked'" in line


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_a_sentence_names_a_parameter_by_its_forms_label_and_the_command_lines_name(lang):
    from sfdoctor.params import field_ref
    from sfdoctor.i18n import pick

    spec = runbooks.load("oauth-connection-failure")
    said = field_ref(spec, "oauth_usage_button", lang)
    assert pick(spec.parameter("oauth_usage_button").label, lang) in said
    assert "-p oauth_usage_button=" in said and "(oauth_usage_button)" not in said

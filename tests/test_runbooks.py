"""Runbook specs: validation with one-line messages, texts per language and edition."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from sfdoctor import runbooks
from sfdoctor.errors import BadInput
from spec_files import FIXTURE_HOME, fixture_data, minimal_sia, write_spec

def test_fixture_spec_loads_and_has_typed_defaults():
    spec = runbooks.load("fixture-probe", FIXTURE_HOME / "runbooks")
    assert spec.parameter("days").default == 7
    assert spec.parameter("mode").choices[0] == "healthy"
    assert spec.parameter("password").secret and spec.parameter("password").default is None
    assert spec.login_attempts() == 1


def test_unknown_runbook_names_the_known_ones():
    with pytest.raises(BadInput) as exc:
        runbooks.load("nope", FIXTURE_HOME / "runbooks")
    assert "unknown runbook 'nope'" in exc.value.one_line("en")
    assert "fixture-probe" in exc.value.one_line("en")
    assert exc.value.one_line("ja").startswith("ランブック 'nope' はありません — 使えるランブック: ")
    assert "fixture-probe" in exc.value.one_line("ja")
    spec = runbooks.load("fixture-probe", FIXTURE_HOME / "runbooks")
    with pytest.raises(BadInput) as exc:
        spec.parameter("colour")
    assert exc.value.one_line("en").startswith("runbook fixture-probe has no parameter 'colour' — known parameters: mode")
    assert exc.value.one_line("ja").startswith("ランブック fixture-probe にパラメーター 'colour' はありません — 使えるパラメーター: mode")


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda d: d["title"].pop("ja"), "title: needs a non-empty text for ja"),
        (lambda d: d["causes"]["FIXTURE_BROKEN"]["fix"].update(ja=""), "causes.FIXTURE_BROKEN.fix"),
        (lambda d: d["parameters"][1].update(type="float"), "parameters.1.type"),
        (lambda d: d["parameters"][0].update(default="nope"), "not one of"),
        (lambda d: d["parameters"][1].update(default="seven"), "expected a whole number"),
        (lambda d: d["parameters"][7].update(default="hunter2"), "must not have a default"),
        (lambda d: d.update(colour="red"), "colour"),
        (lambda d: d["messages"]["probed"].update(ja="{mode} だけ"), "different placeholders"),
        (lambda d: d["causes"]["FIXTURE_BROKEN"].update(level="fatal"), "causes.FIXTURE_BROKEN.level"),
        (lambda d: d["parameters"].append(copy.deepcopy(d["parameters"][0])), "duplicate name(s) mode"),
    ],
)
def test_malformed_spec_fails_with_one_clear_line(tmp_path, mutate, expected):
    data = fixture_data()
    mutate(data)
    path = write_spec(tmp_path, data)
    with pytest.raises(BadInput) as exc:
        runbooks.load_file(path)
    line = exc.value.one_line("en")
    assert expected in line
    assert str(path) in line and "\n" not in line


def test_stable_causes_are_the_ones_marked_stable(tmp_path):
    """spec/causes.md's codes are marked `stable: true` in the runbook's own YAML; others are its own."""
    data = minimal_sia()
    data["causes"]["SIA_OWN_CODE"] = {"level": "warn", "title": {"en": "t", "ja": "t"}, "fix": {"en": "f", "ja": "f"}}
    for code in data["causes"]:
        data["causes"][code]["stable"] = code != "SIA_OWN_CODE"
    spec = runbooks.load_file(write_spec(tmp_path, data))
    assert "SIA_OWN_CODE" not in spec.stable_causes()
    assert spec.stable_causes()["UNRECOGNIZED_ERROR"] == "warn"


def test_file_name_must_match_id(tmp_path):
    with pytest.raises(BadInput, match="differs from the file name"):
        runbooks.load_file(write_spec(tmp_path, fixture_data(), name="other"))


def test_invalid_yaml_is_one_line(tmp_path):
    d = tmp_path / "runbooks"
    d.mkdir()
    (d / "broken.yml").write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(BadInput, match="not valid YAML"):
        runbooks.load("broken", d)


def test_project_runbooks_are_valid():
    """Every spec shipped in runbooks/ passes the same validation (a malformed one fails here)."""
    specs = runbooks.all_specs(Path(__file__).resolve().parents[1] / "runbooks")
    for spec in specs:
        for cause in spec.stable_causes():
            assert spec.texts("ja").fix(cause)
        for param in spec.parameters:
            if param.secret:
                assert param.default in (None, "")


@pytest.mark.parametrize(
    "edition, family",
    [("Enterprise Edition", "enterprise"), ("Unlimited Edition", "enterprise"), ("Performance Edition", "enterprise"),
     ("Developer Edition", "enterprise"), ("Professional Edition", "professional"), ("Group Edition", "professional"),
     ("Team Edition", "professional"), ("Contact Manager Edition", "professional"), ("Personal Edition", "professional"),
     ("Base Edition", "professional"), (None, None), ("Something Else", None)],
)
def test_edition_family(edition, family):
    assert runbooks.edition_family(edition) == family


def test_texts_and_finding_in_both_languages():
    spec = runbooks.load("fixture-probe", FIXTURE_HOME / "runbooks")
    en, ja = spec.texts("en"), spec.texts("ja")
    assert en.title("probe") == "Probe the fixture" and ja.title("probe") == "フィクスチャを検査"
    assert en.fix("FIXTURE_BROKEN").startswith("1. Open")
    assert en.fix("FIXTURE_BROKEN", "Professional Edition") == "Mend it the Professional way."
    assert en.fix("FIXTURE_BROKEN", "Enterprise Edition").startswith("1. Open")  # no enterprise variant: default
    assert ja.msg("probed", mode="fail", days=3) == "モード fail で 3 日間を検査しました。"
    f = spec.finding("probe", "fail", "ja", cause="FIXTURE_BROKEN", evidence={"n": 1}, edition="Group Edition")
    assert f.title == "フィクスチャを検査" and f.fix == "Professional の方法で直します。" and f.cause == "FIXTURE_BROKEN"
    assert spec.finding("probe", "pass", "en").fix == ""
    with pytest.raises(ValueError, match="declares no cause"):
        spec.finding("probe", "fail", "en", cause="NOT_A_CODE")
    with pytest.raises(BadInput, match="unknown language"):
        spec.texts("fr")

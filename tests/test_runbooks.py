"""Runbook specs: validation with one-line messages, texts per language and edition, diagnose."""
from __future__ import annotations

import copy
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from sfdoctor import runbooks
from sfdoctor.errors import BadInput

FIXTURE_HOME = Path(__file__).parent / "fixtures" / "home"
FIXTURE_SPEC = FIXTURE_HOME / "runbooks" / "fixture-probe.yml"


def _fixture_data() -> dict:
    return yaml.safe_load(FIXTURE_SPEC.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict, name: str | None = None) -> Path:
    d = tmp_path / "runbooks"
    d.mkdir(exist_ok=True)
    p = d / f"{name or data['id']}.yml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def _minimal_sia() -> dict:
    """A spec for a real runbook id: every cause of spec/causes.md must be there."""
    causes = {code: {"level": level, "title": {"en": code, "ja": code}, "fix": {"en": "do it", "ja": "やる"}}
              for code, level in runbooks.REQUIRED_CAUSES["sia-auth-failure"].items()}
    return {"id": "sia-auth-failure", "title": {"en": "SIA", "ja": "SIA"}, "summary": {"en": "s", "ja": "s"},
            "symptoms": [{"text": "We were unable to authenticate your request"},
                         {"text": "リクエストを認証できませんでした"}],
            "causes": causes}


def test_fixture_spec_loads_and_has_typed_defaults():
    spec = runbooks.load("fixture-probe", FIXTURE_HOME / "runbooks")
    assert spec.parameter("days").default == 7
    assert spec.parameter("mode").choices[0] == "healthy"
    assert spec.parameter("password").secret and spec.parameter("password").default is None
    assert spec.login_attempts() == 1


def test_unknown_runbook_names_the_known_ones():
    with pytest.raises(BadInput) as exc:
        runbooks.load("nope", FIXTURE_HOME / "runbooks")
    assert "unknown runbook 'nope'" in exc.value.one_line()
    assert "fixture-probe" in exc.value.one_line()


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
    data = _fixture_data()
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(BadInput) as exc:
        runbooks.load_file(path)
    line = exc.value.one_line()
    assert expected in line
    assert str(path) in line and "\n" not in line


def test_known_runbook_must_carry_every_cause_of_the_spec(tmp_path):
    data = _minimal_sia()
    assert runbooks.load_file(_write(tmp_path, data)).id == "sia-auth-failure"
    del data["causes"]["OAUTH_APP_BLOCKED"]
    with pytest.raises(BadInput, match="missing OAUTH_APP_BLOCKED"):
        runbooks.load_file(_write(tmp_path, data))
    data = _minimal_sia()
    data["causes"]["UNRECOGNIZED_ERROR"]["level"] = "fail"
    with pytest.raises(BadInput, match="spec/causes.md says warn"):
        runbooks.load_file(_write(tmp_path, data))


def test_file_name_must_match_id(tmp_path):
    with pytest.raises(BadInput, match="differs from the file name"):
        runbooks.load_file(_write(tmp_path, _fixture_data(), name="other"))


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
        for cause in runbooks.REQUIRED_CAUSES.get(spec.id, {}):
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


def test_every_engine_text_has_both_languages():
    for key, text in runbooks.UI.items():
        assert text.get("en") and text.get("ja"), key
    for text in runbooks.ENGINE_CHECKS.values():
        assert text.get("en") and text.get("ja")


def test_convert_value_per_type():
    spec = runbooks.load("fixture-probe", FIXTURE_HOME / "runbooks")
    conv = runbooks.convert_value
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
    data = _fixture_data()
    tags = next(p for p in data["parameters"] if p["name"] == "tags")
    tags["validator"] = "sfdoctor._validator_fixture:no_blank_tags"
    spec = runbooks.load_file(_write(tmp_path, data))
    assert runbooks.convert_value(spec.parameter("tags"), "a, b") == ["a", "b"]
    with pytest.raises(ValueError, match="'bad' is not a tag"):
        runbooks.convert_value(spec.parameter("tags"), "a, bad")
    with pytest.raises(BadInput) as exc:
        validate_params(spec, {"tags": "a,bad"})
    assert "'bad' is not a tag" in exc.value.one_line() and "\n" not in exc.value.one_line()

    tags["validator"] = "os:system"  # only sfdoctor's own functions may be named
    with pytest.raises(BadInput) as exc:
        runbooks.load_file(_write(tmp_path, data))
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


# ------------------------------------------------------------------ diagnose
@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("specs")
    _write(tmp, _minimal_sia())
    _write(tmp, _fixture_data())
    token = {
        "id": "security-token-required", "title": {"en": "t", "ja": "t"}, "summary": {"en": "s", "ja": "s"},
        "symptoms": [{"text": "API security token required"}, {"text": "セキュリティトークンが必要です"},
                     {"text": "LOGIN_MUST_USE_SECURITY_TOKEN"}],
        "causes": {code: {"level": level, "title": {"en": code, "ja": code}, "fix": {"en": "f", "ja": "f"}}
                   for code, level in runbooks.REQUIRED_CAUSES["security-token-required"].items()},
    }
    _write(tmp, token)
    return runbooks.all_specs(tmp / "runbooks")


def _best(specs, text):
    ranked = runbooks.diagnose(text, specs)
    assert ranked, text
    assert all(0 < m.score <= 1 for m in ranked)
    assert [m.score for m in ranked] == sorted((m.score for m in ranked), reverse=True)
    return ranked[0]


def test_diagnose_english(specs):
    best = _best(specs, "Login failed: api SECURITY token required!!")
    assert best.spec.id == "security-token-required" and best.score >= 0.9
    spec, score, matched = best  # unpacks like the contract's (spec, score, matched)
    assert matched[0] == "API security token required" and score == best.score


def test_diagnose_japanese_full_and_half_width(specs):
    assert _best(specs, "エラー：セキュリティトークンが必要です。").spec.id == "security-token-required"
    # half-width katakana and full-width Latin letters fold to the same text (NFKC)
    assert _best(specs, "ｾｷｭﾘﾃｨﾄｰｸﾝが必要です").spec.id == "security-token-required"
    assert _best(specs, "ＡＰＩ ｓｅｃｕｒｉｔｙ ｔｏｋｅｎ ｒｅｑｕｉｒｅｄ").spec.id == "security-token-required"
    assert _best(specs, "リクエストを認証できませんでした").spec.id == "sia-auth-failure"


def test_diagnose_url_encoded_error_pages(specs):
    url = "https://app.example.com/auth/error?error=OAUTH_APP_BLOCKED&msg=We+were+unable+to+authenticate+your+request"
    best = _best(specs, url)
    assert best.spec.id == "sia-auth-failure" and "OAUTH_APP_BLOCKED" in best.matched
    # encoded twice, as error pages passed through redirects often are
    twice = quote(quote(url, safe=""), safe="")
    assert _best(specs, twice).spec.id == "sia-auth-failure"
    ja = "https://x.example/e?msg=" + quote("リクエストを認証できませんでした")
    assert _best(specs, ja).spec.id == "sia-auth-failure"


def test_diagnose_cause_code_in_text_and_token_overlap(specs):
    assert _best(specs, "the sync says LOGIN_MUST_USE_SECURITY_TOKEN").spec.id == "security-token-required"
    partial = _best(specs, "security token required when logging in via API")  # words, not the phrase
    assert partial.spec.id == "security-token-required" and partial.score < 1


def test_diagnose_no_match_and_empty(specs):
    assert runbooks.diagnose("the coffee machine is out of beans", specs) == []
    with pytest.raises(BadInput):
        runbooks.diagnose("   ", specs)


def test_a_refused_value_is_said_in_the_runs_language():
    """Type mismatches and validators speak Japanese in a Japanese run (CLI, form, report)."""
    from sfdoctor.runner import validate_params

    spec = runbooks.load("mc-missing-oauth-token")
    with pytest.raises(BadInput) as exc:
        validate_params(spec, {"ip_allowlist": "192.0.2.1 - 192.0.2.999"}, "ja")
    assert "パラメータ ip_allowlist" in exc.value.one_line() and "項目 1" in exc.value.one_line()
    assert "2 つの IP アドレスの範囲ではありません" in exc.value.one_line()
    with pytest.raises(BadInput) as exc:
        validate_params(spec, {"probe": "maybe"}, "ja")
    assert "true か false を指定してください" in exc.value.one_line()
    with pytest.raises(BadInput) as exc:
        validate_params(spec, {"probe": "maybe"}, "en")
    assert "expected true or false, got 'maybe'" in exc.value.one_line()

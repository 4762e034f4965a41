"""The symptom router: which runbook fits an error message or URL, in both languages."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from sfdoctor import runbooks
from sfdoctor.errors import BadInput
from sfdoctor.router import decode_url, diagnose
from spec_files import fixture_data, minimal_sia, write_spec


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("specs")
    write_spec(tmp, minimal_sia())
    write_spec(tmp, fixture_data())
    token = {
        "id": "security-token-required", "title": {"en": "t", "ja": "t"}, "summary": {"en": "s", "ja": "s"},
        "symptoms": [{"text": "API security token required"}, {"text": "セキュリティトークンが必要です"},
                     {"text": "LOGIN_MUST_USE_SECURITY_TOKEN"}],
        "causes": {code: {"level": level, "title": {"en": code, "ja": code}, "fix": {"en": "f", "ja": "f"}}
                   for code, level in runbooks.load("security-token-required").stable_causes().items()},
    }
    write_spec(tmp, token)
    return runbooks.all_specs(tmp / "runbooks")


def _best(specs, text):
    ranked = diagnose(text, specs)
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
    assert diagnose("the coffee machine is out of beans", specs) == []
    with pytest.raises(BadInput):
        diagnose("   ", specs)


def test_decode_url_undoes_every_layer_of_encoding():
    assert decode_url("a%2520b+c") == "a b c"


def test_a_match_names_only_words_found_in_the_text():
    """`Missing_OAuth_Token` shares one word ("token") with "security token": that is no match,
    and no listed phrase is absent from the text."""
    from sfdoctor.router import _compact, diagnose

    text = "Missing_OAuth_Token"
    ids = [m.spec.id for m in diagnose(text)]
    assert "security-token-required" not in ids
    for m in diagnose(text):
        for phrase in m.matched:
            assert all(_compact(part) in _compact(text) for part in phrase.split(" … "))

"""Every built-in scenario's report, in English and Japanese, says its evidence in words and in
one language.

- Every evidence key a check records (and every field key inside it) has a label, and every
  machine value (`not_trusted`, `none`, `wrong_password`) words, in texts/evidence.toml: a
  new key cannot reach a report unlabelled.
- report.html's visible text names no evidence key (`restriction`, `ranges_to_add`, `IsAPIUser`).
- An English report holds no Japanese; in a Japanese report every heading, paragraph, label,
  step and case is Japanese.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import builtin_runs
import runbook_harness as H
from sfdoctor.evidence_words import is_field_key, missing_value_words, missing_words

KEYS = builtin_runs.all_keys()
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")


@pytest.fixture(scope="module")
def runs(builtin_runs):
    return builtin_runs.get_many(KEYS)


def _keys(value, out: set[str]) -> set[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            if is_field_key(k) or k[:1].isupper():
                out.add(k)
            _keys(v, out)
    elif isinstance(value, list):
        for v in value:
            _keys(v, out)
    return out


def _visible(page: str) -> BeautifulSoup:
    soup = BeautifulSoup(page, "html.parser")
    for tag in soup(["style", "script", "head"]):
        tag.decompose()
    return soup


@pytest.mark.parametrize("scenario,lang", KEYS, ids=[f"{s}-{lang}" for s, lang in KEYS])
def test_every_evidence_key_and_machine_value_has_words(runs, scenario, lang):
    findings = runs[(scenario, lang)]["findings"]
    missing = [m for c in findings["checks"] for m in missing_words(c.get("evidence") or {}, findings["runbook"])]
    missing += [m for k, v in findings["parameters"].items() for m in missing_value_words(v, k)]
    assert not missing, f"add to lib/sfdoctor/texts/evidence.toml: {sorted(set(missing))}"


@pytest.mark.parametrize("scenario,lang", KEYS, ids=[f"{s}-{lang}" for s, lang in KEYS])
def test_the_report_names_no_evidence_key_and_speaks_the_runs_language(runs, scenario, lang):
    result = runs[(scenario, lang)]
    findings = result["findings"]
    page = (H.report_folder(result) / "report.html").read_text(encoding="utf-8")
    soup = _visible(page)
    text = soup.get_text(" ")
    keys = set()
    for c in findings["checks"]:
        _keys(c.get("evidence") or {}, keys)
    # A key that reads as a plain word ("active", "status") is not told apart from prose here;
    # a key with _ or an inner capital is a key wherever it shows.
    named = sorted(k for k in keys if ("_" in k or re.search(r"[a-z][A-Z]", k)) and k not in _OTHERS_FIELDS
                   and re.search(rf"(?<![\w./-]){re.escape(k)}(?![\w/-])", text))
    assert not named, f"evidence keys in {scenario}.{lang}'s report.html: {named}"
    if lang == "en":
        assert not _JAPANESE.search(text), _JAPANESE.search(text) and text[max(0, _JAPANESE.search(text).start() - 80):][:160]
    else:
        ours = soup.select("h1, h2, h3, p, .sfd-label, .sfd-step, .sfd-case, .sfd-summary-text, .sfd-word, .sfd-badge")
        english = [" ".join(e.get_text(" ").split()) for e in ours
                   if e.get_text().strip() and not _JAPANESE.search(e.get_text())
                   and not (e.name == "span" and "sfd-word" in e.get("class", []) and _names_only(e.get_text()))]
        assert not english, f"English in {scenario}.ja's report.html: {english[:8]}"


# Keys named after a field another system shows people as it is (OAuth's error response).
_OTHERS_FIELDS = {"error_description"}


def _names_only(text: str) -> bool:
    """Words that are the same in both languages: product and system names (Data Cloud, JSON)."""
    return bool(re.fullmatch(r"(sfdoctor|Data Cloud|JSON|CIDR|URL|Sandbox|Munchkin ID)", text.strip()))

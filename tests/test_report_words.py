"""Every built-in scenario's report, in English and Japanese, says its evidence in words and in
one language.

- Every evidence key a check records (and every field key inside it) has a label, and every
  machine value (`not_trusted`, `none`, `wrong_password`) words, in texts/evidence.toml: a
  new key cannot reach a report unlabelled.
- report.html's visible text names no evidence key (`restriction`, `ranges_to_add`, `IsAPIUser`).
- An English report holds no Japanese; in a Japanese report every heading, paragraph, label,
  step and case is Japanese.
- What a person reads says no ISO timestamp and no unfilled `{placeholder}` (dates.py says them as the history page does), names
  no parameter by its id in brackets (`(oauth_usage_button)`: the form's label, or `-p name=…`
  for the command line), and a Japanese report no English Setup path (`Setup > …`) nor an English
  phrase of our own: other systems' words (an OAuth error's description, a login status, an API's
  message) are shown as written, in quotes or as the values findings.json records them.
"""
from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import builtin_runs
import runbook_harness as H
from sfdoctor import runbooks
from sfdoctor.evidence_words import AS_IS_KEYS, is_field_key, missing_value_words, missing_words

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


# ------------------------------------------------------------------ words a person reads, by page
_ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d\d:")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_SNAKE_IN_BRACKETS = re.compile(r"\(([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\)")
# Three or more lowercase English words in a row (an apostrophe inside a word allowed): prose.
_ENGLISH_PHRASE = re.compile(r"(?<![\w'’./@:=-])[a-z]+(?:['’][a-z]+)?(?: [a-z]+(?:['’][a-z]+)?){2,}(?![\w'’/@=-])")
# Quoted words are another system's, cited as written: 「…」, “…”, "…".
_QUOTED = re.compile(r"「[^」]*」|“[^”]*”|\"[^\"]*\"")


# A parameter named as the unit its label gives ("Window (days)") is a word, not an id.
_UNIT_WORDS = {"days"}


def _parameter_names() -> set[str]:
    return {p.name for spec in runbooks.all_specs() for p in spec.parameters} - _UNIT_WORDS


def _their_words(findings: dict) -> list[str]:
    """Texts findings.json records as other systems wrote them: values of the keys shown as they
    are (an OAuth error's description, an API's message, a pasted error) and data keys (a login
    status with its count)."""
    out: list[str] = []

    def walk(value, key):
        if isinstance(value, dict):
            for k, v in value.items():
                if not is_field_key(k):
                    out.append(str(k))
                walk(v, str(k) if is_field_key(k) else key)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key in AS_IS_KEYS:
            out.append(value)

    for c in findings["checks"]:
        walk(c.get("evidence") or {}, None)
    return out


def chart_texts(page: str) -> list[str]:
    """The words drawn in the page's SVG charts (inline, or embedded as data: images as nbconvert
    embeds a notebook's SVG output): axis labels, legends, tooltips."""
    soup = BeautifulSoup(page, "html.parser")
    charts = [str(svg) for svg in soup.find_all("svg")]
    charts += [base64.b64decode(img["src"].split(",", 1)[1]).decode("utf-8", "replace")
               for img in soup.find_all("img", src=True) if img["src"].startswith("data:image/svg+xml;base64,")]
    return [str(s) for svg in charts for s in BeautifulSoup(svg, "html.parser").find_all(string=True) if str(s).strip()]


def readable_texts(page: str) -> list[str]:
    """Every text of report.html a person reads: the visible text, each piece on its own, the
    tooltips and image descriptions (title, alt, aria-label), and the charts' words."""
    soup = _visible(page)
    texts = [str(s) for s in soup.find_all(string=True) if str(s).strip()]
    texts += [tag[a] for tag in soup.find_all(True) for a in ("title", "alt", "aria-label") if tag.get(a)]
    return texts + chart_texts(page)


def words_problems(page: str, findings: dict, lang: str) -> list[str]:
    """What report.html says that no person should read: ISO timestamps, parameter ids in
    brackets, and in Japanese English Setup paths and English phrases of our own."""
    texts = readable_texts(page)
    whole = " ".join(texts)
    problems = [f"ISO timestamp: {whole[max(0, m.start() - 50):m.end() + 20]!r}" for m in _ISO_TIMESTAMP.finditer(whole)]
    # A chart's axis says its days as the history page's chart does, never `2026-12-03`.
    problems += [f"ISO date in a chart: {text!r}" for text in chart_texts(page) if _ISO_DATE.search(text)]
    # A text's placeholder left unfilled (`find {app}`): the value was never passed.
    problems += [f"unfilled placeholder: {whole[max(0, m.start() - 60):m.end() + 10]!r}"
                 for m in re.finditer(r"\{[a-z_]+\}", whole)]
    names = _parameter_names()
    problems += [f"parameter id: {whole[max(0, m.start() - 60):m.end()]!r}"
                 for m in re.finditer(r"\(([A-Za-z0-9_]+)\)", whole)
                 if _SNAKE_IN_BRACKETS.fullmatch(m.group(0)) or m.group(1) in names]
    if lang != "ja":
        return problems
    problems += [f"English Setup path: {whole[m.start():m.end() + 50]!r}" for m in re.finditer(r"Setup >", whole)]
    theirs = _their_words(findings)
    for text in texts:
        plain = " ".join(text.split())
        if any(plain in w or " ".join(w.split()).find(plain) >= 0 for w in theirs):
            continue
        unquoted = _QUOTED.sub("「」", plain)
        for w in theirs:  # another system's words inside our sentence, as recorded
            if len(w) > 8:
                unquoted = unquoted.replace(" ".join(w.split()), "「」")
        problems += [f"English phrase {m.group(0)!r} in {plain[:120]!r}" for m in _ENGLISH_PHRASE.finditer(unquoted)]
    return problems


@pytest.mark.parametrize("scenario,lang", KEYS, ids=[f"{s}-{lang}" for s, lang in KEYS])
def test_the_report_says_dates_fields_and_paths_in_the_runs_language(runs, scenario, lang):
    result = runs[(scenario, lang)]
    page = (H.report_folder(result) / "report.html").read_text(encoding="utf-8")
    problems = sorted(set(words_problems(page, result["findings"], lang)))
    assert not problems, f"{scenario}.{lang}'s report.html: " + "\n".join(problems[:12])


def test_the_words_check_finds_what_it_is_for():
    """The check above on a page made to hold each kind of problem (and on one holding none)."""
    findings = {"checks": [{"evidence": {"error_description": "user hasn't approved this consumer",
                                         "by_status": {"Failed: API security token required": 3}}}]}
    good = ("<html><body><p>最終利用は 2026年12月6日 09:37 UTC です。</p>"
            "<p>Salesforce の応答は「invalid_grant / user hasn't approved this consumer」です。</p>"
            "<div>説明: user hasn't approved this consumer</div>"
            "<div>状態: Failed: API security token required</div>"
            "<p>「接続済みアプリケーションの OAuth 使用状況: アプリの横のボタン」の欄に入力します "
            "(コマンドラインでは -p oauth_usage_button=…)。</p></body></html>")
    assert words_problems(good, findings, "ja") == []
    for bad in ("<p>最終 2026-12-06T11:42:26.060+0000、</p>",
                "<p>ボタンを記録してください (oauth_usage_button)。</p>",
                "<p>ユーザー (username) が指定されていません。</p>",
                "<div>場所: Setup > Connected Apps OAuth Usage > ToutApp</div>",
                "<div>理由: the sync user did not log in</div>",
                "<p>1. 設定 > クイック検索「接続済みアプリケーションの OAuth 使用状況」で {app} を探します。</p>",
                '<svg><text>12月3日</text><rect><title>2026-12-03T09:00:00Z: 3</title></rect></svg>',
                '<img src="data:image/svg+xml;base64,'
                + base64.b64encode('<svg><text>2026-12-03</text></svg>'.encode()).decode() + '">'):
        assert words_problems(f"<html><body>{bad}</body></html>", findings, "ja"), bad
    assert words_problems("<p>last used 2026-12-06T11:42:26Z</p>", findings, "en")
    assert not words_problems("<p>the sync user did not log in</p>", findings, "en")

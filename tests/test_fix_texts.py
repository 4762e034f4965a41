"""Every built-in scenario of every runbook, in English and Japanese: the texts a person reads
give the answer, not a menu (DESIGN principle 10, spec/findings.md `fix`).

- A fail's fix names the values its evidence holds (the user, the profile, the host, the app, the
  ranges to add, the missing fields), and where the runbook's YAML splits the cause into cases
  (messages `fix_<cause>_<case>`), it is exactly one case's text and carries no step of another.
- No evidence key name (`suggested_ranges`, `my_domain_host`, `which`, ...) appears in a title,
  summary, fix, reason or the terminal's done line: a person reads values, not the JSON's keys.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterator

import pytest

import test_outcome_honesty as honesty
from sfdoctor import findings as sf_findings
from sfdoctor import runbooks
from sfdoctor.i18n import pick

RUNS = [(p, lang) for p in honesty.SCENARIOS for lang in ("en", "ja")]
IDS = [f"{p.stem}-{lang}" for p, lang in RUNS]


@lru_cache(maxsize=None)
def _run(path, lang) -> dict[str, Any]:
    return honesty._run(path, lang)


# --------------------------------------------------------------------- the values a fix must name
def _fields(evidence: dict) -> list[str]:
    """`missing`: [{"field": "Lead.mkto71_Acquisition_Program__c", "why": "missing"}, ...] -> the fields' own names."""
    return [str(m["field"]).split(".")[-1].removesuffix("__c") for m in evidence.get("missing") or []]


def _ranges(evidence: dict) -> list[str]:
    out = []
    for key in ("suggested_ranges", "ranges_to_add"):
        for r in evidence.get(key) or []:
            out += [str(r["start"]), str(r["end"])]
    return out


# evidence key -> the strings of its value that the fix must contain
VALUES = {
    "username": lambda e: [e["username"]] if isinstance(e.get("username"), str) else [],
    "profile": lambda e: [e["profile"]] if isinstance(e.get("profile"), str) else [],
    "my_domain_host": lambda e: [e["my_domain_host"]] if e.get("my_domain_host") else [],
    "aimed_at": lambda e: [e["aimed_at"]] if e.get("aimed_at") else [],
    "app": lambda e: [e["app"]] if isinstance(e.get("app"), str) else [],
    "api_user": lambda e: [e["api_user"]] if e.get("api_user") else [],
    "redirect_uri_sent": lambda e: [e["redirect_uri_sent"]] if e.get("redirect_uri_sent") else [],
    "missing": _fields,
    "suggested_ranges": _ranges,
    "ranges_to_add": _ranges,
}
# (cause, evidence key) where the value is not the fix's business, each with why.
NOT_THE_FIX = {
    # Marketing Cloud's allowlist is the account's: the failing login's user changes nothing in it.
    ("MC_IP_NOT_ALLOWLISTED", "username"),
    # The org has no API access: no user's setting helps, the edition decides.
    ("ORG_API_DISABLED", "username"),
    # Unlocking, unfreezing or activating acts on the user; the profile stays as it is.
    ("PASSWORD_INVALID", "profile"),
}


def _fails(data: dict) -> Iterator[dict]:
    return (c for c in data["checks"] if c["status"] == "fail")


def _fails_and_warns(data: dict) -> Iterator[dict]:
    """Findings that give a fix to act on: a fail, and a warn with a cause (DESIGN 10 holds for both)."""
    return (c for c in data["checks"] if c["status"] == "fail" or (c["status"] == "warn" and c.get("cause")))


@pytest.mark.parametrize(("path", "lang"), RUNS, ids=IDS)
def test_every_fail_and_warn_names_the_values_of_its_evidence(path, lang):
    data = _run(path, lang)
    for check in _fails_and_warns(data):
        for key, values_of in VALUES.items():
            if key not in check["evidence"] or (check["cause"], key) in NOT_THE_FIX:
                continue
            for value in values_of(check["evidence"]):
                assert value in check["fix"], (check["id"], check["cause"], key, value, check["fix"])


# A fix that sends the reader to the evidence (or "the summary above") for its case or values
# leaves the last step to them: it names them itself.
POINTS_AWAY = re.compile(r"\bevidence\b|根拠|summary above|上の要約|which of these|which case|the check of failing addresses|チェックが示す範囲|the range that the check")


@pytest.mark.parametrize(("path", "lang"), RUNS, ids=IDS)
def test_a_fix_names_its_case_itself(path, lang):
    data = _run(path, lang)
    for check in data["checks"]:
        if check["status"] in ("fail", "warn") and check["fix"]:
            assert not POINTS_AWAY.search(check["fix"]), (check["id"], check["cause"], check["fix"])


# --------------------------------------------------------------------- one case, not the menu
EDITIONS = ("_enterprise", "_professional")


def _case_texts(runbook: str, cause: str, lang: str) -> dict[str, list[str]]:
    """The cause's own texts with values (messages `fix_<cause>_<case>`, and `fix_<cause>` for a
    cause said as one case), by case: an edition's wording of a case is the same case."""
    spec = runbooks.load(runbook)
    base = f"fix_{cause.lower()}"
    out: dict[str, list[str]] = {}
    for key in spec.messages:
        if key == base or key.startswith(base + "_"):
            case = key[len(base):]
            for suffix in EDITIONS:
                case = case.removesuffix(suffix)
            out.setdefault(case, []).append(pick(spec.messages[key], lang))
    return out


def _pattern(template: str) -> re.Pattern[str]:
    """A case's text with its `{values}` as wildcards."""
    parts = re.split(r"\{[a-z_]+\}", template)
    return re.compile(".*?".join(re.escape(p) for p in parts), re.S)


def _steps(template: str) -> list[str]:
    """A case's own fixed words, step by step (runs of 24+ characters between its values)."""
    return [s.strip() for s in re.split(r"\{[a-z_]+\}|\n", template) if len(s.strip()) >= 24]


@pytest.mark.parametrize(("path", "lang"), RUNS, ids=IDS)
def test_a_fail_gives_one_case_and_no_step_of_another(path, lang):
    data = _run(path, lang)
    for check in _fails(data):
        cases = _case_texts(data["runbook"], check["cause"], lang)
        if not cases:
            continue
        full = runbooks.load(data["runbook"]).texts(lang).fix(check["cause"])
        assert check["fix"] != full, (check["id"], "the cause's whole menu")
        chosen = [case for case, texts in cases.items() if any(_pattern(t).fullmatch(check["fix"]) for t in texts)]
        assert len(chosen) == 1, (check["id"], check["cause"], chosen, check["fix"])
        mine = "\n".join(cases[chosen[0]])
        for case, texts in cases.items():
            if case == chosen[0]:
                continue
            for step in (s for text in texts for s in _steps(text)):
                assert step in mine or step not in check["fix"], (check["id"], chosen[0], case, step)


# --------------------------------------------------------------------- no evidence key names
def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            # A key that is data (a login status, an address: `by_status`'s keys) is not a name.
            if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", str(key)):
                yield str(key)
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


def _is_identifier(key: str) -> bool:
    """A key that reads as a program's name, not a word: snake_case or CamelCase."""
    return "_" in key or bool(re.search(r"[a-z][A-Z]", key))


def _says_key(text: str, key: str) -> bool:
    if _is_identifier(key):
        return re.search(rf"(?<![A-Za-z0-9_]){re.escape(key)}(?![A-Za-z0-9_])", text) is not None
    # A plain word ("which", "missing") is a key name only where the text quotes it as one.
    return any(q.format(key) in text for q in ('"{}"', "「{}」", "`{}`", "“{}”"))


def _texts(check: dict) -> Iterator[tuple[str, str]]:
    for field in ("title", "summary", "fix"):
        yield field, str(check.get(field) or "")
    for step in check["evidence"].get("steps") or []:
        yield "evidence steps", str(step)


@pytest.mark.parametrize(("path", "lang"), RUNS, ids=IDS)
def test_no_text_a_person_reads_names_an_evidence_key(path, lang):
    data = _run(path, lang)
    every_key = {k for check in data["checks"] for k in _keys(check["evidence"])}
    run_texts = [("reasons", r) for r in data.get("reasons") or []]
    run_texts.append(("done line", sf_findings.done_line(data, lang)))
    for check in data["checks"]:
        for field, text in [*_texts(check), *run_texts]:
            for key in every_key:
                assert not _says_key(text, key), (check["id"], field, key, text)


# A placeholder where a value was not known ("N/A" from LoginHistory's Application column, "?"
# for an app nobody named) reads as a name: say plainly what is not known instead.
PLACEHOLDER = re.compile(r"\(N/A\)|(?<!\S)\?(?!\S)")


@pytest.mark.parametrize(("path", "lang"), RUNS, ids=IDS)
def test_no_text_a_person_reads_shows_a_placeholder_for_an_unknown_value(path, lang):
    data = _run(path, lang)
    run_texts = [("reasons", r) for r in data.get("reasons") or []]
    for check in data["checks"]:
        for field, text in [*_texts(check), *run_texts]:
            assert not PLACEHOLDER.search(text), (check["id"], field, text)


def test_japanese_texts_call_a_runbook_a_runbook_in_japanese():
    """ja texts say ランブック, as every page does, never the English word (REVIEW 14:15)."""
    for spec in runbooks.all_specs():
        texts = [pick(m, "ja") for m in spec.messages.values()]
        texts += [pick(c.fix, "ja") for c in spec.causes.values()]
        texts += [pick(t, "ja") for c in spec.causes.values() for t in c.fix_by_edition.values()]
        for text in texts:
            assert not re.search(r"runbook", text, re.IGNORECASE), (spec.id, text)

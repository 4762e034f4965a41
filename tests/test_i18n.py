"""The text catalog (sfdoctor/texts/*.toml), its one lookup `t`, and the localized error type."""
from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from sfdoctor import i18n
from sfdoctor.errors import BadInput, LocalizedValueError, SfdoctorError, problem_text
from sfdoctor.i18n import LANGS, Text, TextError, catalog, placeholders, t

LIB = Path(__file__).resolve().parents[1] / "lib" / "sfdoctor"


def test_every_text_has_every_language_and_the_same_placeholders():
    texts = catalog()
    assert len(texts) > 50
    for key, by_lang in texts.items():
        assert set(by_lang) == set(LANGS), key
        assert all(by_lang[lang].strip() for lang in LANGS), key
        names = {lang: placeholders(by_lang[lang]) for lang in LANGS}
        assert names["en"] == names["ja"], f"{key}: placeholders differ between languages: {names}"


def test_every_key_the_code_names_is_in_the_catalog():
    """A literal key in t("...") or Text("...") anywhere in the package resolves (a typo fails here, not in a run)."""
    known = catalog()
    used: set[str] = set()
    for path in LIB.rglob("*.py"):
        used |= set(re.findall(r"""\b(?:t|Text|LocalizedValueError)\(\s*f?["']([a-z_]+\.[a-z0-9_.-]+)["']""",
                               path.read_text(encoding="utf-8")))
    assert used, "no t(...) call found: the scan is broken"
    assert not sorted(k for k in used if k not in known and "{" not in k)


def test_t_formats_in_the_language_asked():
    assert t("report.looked.window_days", "en", days=7) == "last 7 days"
    assert t("report.looked.window_days", "ja", days=7) == "直近 7 日間"
    assert t("cron.zone", "en", name="Mars/Base") == "unknown time zone 'Mars/Base' (use an IANA name like Asia/Tokyo)"
    assert "Mars/Base" in t("cron.zone", "ja", name="Mars/Base") and "IANA" in t("cron.zone", "ja", name="x")


def test_a_text_value_is_said_in_the_same_language():
    said = {lang: t("cron.problem", lang, field=Text("cron.field.tz"), problem=Text("cron.zone", name="X"))
            for lang in LANGS}
    assert said["en"].startswith("tz: unknown time zone 'X'")
    assert said["ja"].startswith("タイムゾーン: タイムゾーン 'X' は不明です")


@pytest.mark.parametrize("call, said", [
    (lambda: t("cron.no_such_text", "en"), "no text 'cron.no_such_text' in texts/cron.toml"),
    (lambda: t("nowhere.text", "en"), "no text area 'nowhere'"),
    (lambda: t("cron.zone", "fr", name="x"), "no language 'fr'"),
    (lambda: t("cron.zone", "ja"), "text 'cron.zone' needs the value 'name'"),
])
def test_what_cannot_be_said_is_a_clear_error(call, said):
    with pytest.raises(TextError, match=re.escape(said)):
        call()


def test_a_catalog_text_without_a_language_names_file_and_key():
    with pytest.raises(TextError, match=re.escape("texts/demo.toml: text 'demo.group.hello' has no ja text")):
        i18n.parse_area("demo", '[group.hello]\nen = "hello"\n')
    with pytest.raises(TextError, match="no language: fr"):
        i18n.parse_area("demo", '[hello]\nen = "hello"\nja = "こんにちは"\nfr = "salut"\n')
    assert i18n.parse_area("demo", '[a.b]\nen = "x {n}"\nja = "y {n}"\n') == {"demo.a.b": {"en": "x {n}", "ja": "y {n}"}}


def test_placeholders_are_names_whatever_their_conversion():
    assert placeholders("{part!r} in {months} at {when:%H} {{literal}}") == {"part", "months", "when"}


def test_pick_reads_a_bilingual_value_without_falling_back():
    assert i18n.pick({"en": "a", "ja": "あ"}, "ja") == "あ"
    with pytest.raises(TextError, match="no 'ja' text"):
        i18n.pick({"en": "only English"}, "ja")


def test_the_error_type_says_itself_in_the_language_asked():
    err = BadInput(Text("cron.zone", name="X"), hint=Text("cron.problem", field="f", problem="p"))
    assert err.one_line("en") == "unknown time zone 'X' (use an IANA name like Asia/Tokyo) — f: p"
    assert err.one_line("ja").startswith("タイムゾーン 'X' は不明です")
    assert str(err) == err.one_line("en")     # for logs and tracebacks
    with pytest.raises(TextError, match="which language"):
        err.one_line()                          # a person's line always names its language
    assert BadInput("plain words", hint="do this").one_line() == "plain words — do this"


def test_a_localized_value_error_is_a_value_error_and_bad_input():
    err = LocalizedValueError("cron.zone", name="X")
    assert isinstance(err, ValueError) and isinstance(err, BadInput) and err.exit_code == 2
    assert problem_text(err, "ja") == t("cron.zone", "ja", name="X")
    assert problem_text(ValueError("theirs"), "ja") == "theirs"
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is LocalizedValueError and back.one_line("ja") == err.one_line("ja")


def test_every_error_we_raise_is_the_one_type():
    from sfdoctor.cron import CronError

    assert issubclass(CronError, LocalizedValueError) and issubclass(LocalizedValueError, SfdoctorError)


def test_no_bilingual_text_lives_outside_the_catalog():
    """A {"en": "...", "ja": "..."} literal or a two-language call in the package is a text the
    catalog does not hold: one lookup, no English fallback. (Runbook specs keep their own texts.)"""
    pair = re.compile(r"""["']ja["']\s*:\s*f?["']|\bja\s*=\s*f?["']|\bT\(\s*f?["']""")
    found = [f"{path.relative_to(LIB)}:{n}" for path in sorted(LIB.rglob("*.py")) if "demo" not in path.parts and path.name != "i18n.py"  # it shows the catalog's format
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if pair.search(line)]
    assert not found, found

"""Every text a person reads, in every language sfdoctor speaks, and the one way to look one up.

The engine's texts live in `sfdoctor/texts/<area>.toml`, one file per area (the report, the
history page, the schedule, the CLI...). Each text is a TOML table holding one string per
language, side by side, so whoever writes one language sees the other:

    [busy]                        # in texts/schedule.toml: key "schedule.busy"
    en = "another run-due is still running on {out}"
    ja = "{out} で別の run-due が実行中です"

A key is the file's name and the table's path in it. `t(key, lang, **values)` formats the
text with `str.format` placeholders. There is no fallback to another language: a text that
lacks a language, an unknown key or a missing value is a `TextError` naming the key and the
file, and `tests/test_i18n.py` holds every text to both languages and the same placeholders.
A runbook's own texts (titles, causes, fixes, messages) stay in its `runbooks/<id>.yml`;
`pick` reads such a bilingual value, equally strictly.

`Text(key, **values)` is a text not yet said: an error raised deep in a parser carries one, and
whoever shows it renders it in the run's language (`errors.SfdoctorError`). A value may itself
be a `Text`; it is rendered in the same language.

Why TOML files and not gettext/Babel catalogs: gettext keys a text by its English wording and
keeps each language in its own .po file, made for translators working after the writer; here
one writer writes both languages of every text together, and the runbook specs already hold
them side by side. gettext also answers a missing translation with the English msgid, the
silent fallback this module refuses, and its .mo files add a compile step to the build. The
standard library's tomllib reads the catalogs with no new dependency, in about a millisecond.
"""
from __future__ import annotations

import string
import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

LANGS = ("en", "ja")


class TextError(LookupError):
    """A text that cannot be said: unknown key or language, a language missing, a value missing."""


class Text:
    """A text by key and values, said in a language only when someone reads it."""

    __slots__ = ("key", "values")

    def __init__(self, key: str, /, **values: Any):
        self.key = key
        self.values = values

    def render(self, lang: str) -> str:
        return t(self.key, lang, **self.values)

    def __repr__(self) -> str:
        return f"Text({self.key!r}, **{self.values!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and (self.key, self.values) == (other.key, other.values)

    __hash__ = None  # type: ignore[assignment]  # values may be unhashable


def _catalog_file(area: str) -> Any:
    return resources.files("sfdoctor").joinpath("texts", f"{area}.toml")


@lru_cache(maxsize=None)
def area_texts(area: str) -> dict[str, dict[str, str]]:
    """Every text of one area (texts/<area>.toml), keyed by its full key; read once."""
    try:
        source = _catalog_file(area).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TextError(f"no text area {area!r} (texts/{area}.toml)") from None
    return parse_area(area, source)


def parse_area(area: str, source: str) -> dict[str, dict[str, str]]:
    """A catalog file's texts by full key; TextError names the file and the key of a text without
    every language (or with a key that is no language)."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise TextError(f"texts/{area}.toml: {exc}") from None
    out: dict[str, dict[str, str]] = {}

    def walk(key: str, table: Mapping[str, Any]) -> None:
        if any(isinstance(v, str) for v in table.values()):
            missing = [lang for lang in LANGS if not (isinstance(table.get(lang), str) and table[lang].strip())]
            if missing:
                raise TextError(f"texts/{area}.toml: text {key!r} has no {', '.join(missing)} text")
            extra = sorted(set(table) - set(LANGS))
            if extra:
                raise TextError(f"texts/{area}.toml: text {key!r} has key(s) that are no language: {', '.join(extra)}")
            out[key] = {lang: table[lang] for lang in LANGS}
            return
        for name, value in table.items():
            if not isinstance(value, dict):
                raise TextError(f"texts/{area}.toml: {key}.{name} is neither a text nor a group of texts")
            walk(f"{key}.{name}", value)

    walk(area, data)
    return out


def areas() -> list[str]:
    """The names of every text area (the files in texts/)."""
    folder = resources.files("sfdoctor").joinpath("texts")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def catalog() -> dict[str, dict[str, str]]:
    """Every engine text: key -> {lang: text}."""
    out: dict[str, dict[str, str]] = {}
    for area in areas():
        out.update(area_texts(area))
    return out


def texts(key: str) -> dict[str, str]:
    """One text in every language, {lang: unformatted text}."""
    area = key.partition(".")[0]
    found = area_texts(area).get(key)
    if found is None:
        raise TextError(f"no text {key!r} in texts/{area}.toml")
    return found


def t(key: str, lang: str, /, **values: Any) -> str:
    """The text `key` in `lang`, its placeholders filled from `values` (a `Text` value is said in `lang` too)."""
    if lang not in LANGS:
        raise TextError(f"no language {lang!r} (sfdoctor speaks {', '.join(LANGS)})")
    text = texts(key)[lang]
    said = {k: (v.render(lang) if isinstance(v, Text) else v) for k, v in values.items()}
    try:
        return text.format(**said)
    except KeyError as exc:
        raise TextError(f"text {key!r} needs the value {exc.args[0]!r}") from None
    except (IndexError, ValueError) as exc:
        raise TextError(f"text {key!r} ({lang}) cannot be formatted: {exc}") from None


def placeholders(text: str) -> set[str]:
    """The names of a text's `str.format` fields (`{name!r:>4}` -> "name")."""
    names = set()
    for _, field, _, _ in string.Formatter().parse(text):
        if field is not None:
            names.add(field.split(".")[0].split("[")[0])
    return names


def pick(text: Mapping[str, str], lang: str) -> str:
    """One language of a bilingual value a runbook spec holds ({"en": ..., "ja": ...}); no fallback."""
    said = text.get(lang) if isinstance(text, Mapping) else None
    if not isinstance(said, str):
        raise TextError(f"no {lang!r} text in {dict(text) if isinstance(text, Mapping) else text!r}")
    return said

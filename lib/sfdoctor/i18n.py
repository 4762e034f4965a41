"""Both languages for every text a person reads.

Texts are dicts keyed by language code ("en", "ja"). `pick` falls back to English so a
missing translation shows English rather than nothing; tests make sure none is missing.
"""
from __future__ import annotations

from typing import Mapping

LANGS = ("en", "ja")


def pick(text: Mapping[str, str] | str | None, lang: str) -> str:
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    return text.get(lang) or text.get("en") or next(iter(text.values()), "")


def check_lang(lang: str) -> str:
    from .errors import BadInput

    if lang not in LANGS:
        raise BadInput(f"unknown language {lang!r}", hint="use --lang en or --lang ja")
    return lang

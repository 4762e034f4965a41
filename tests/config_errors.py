"""What every configuration error (orgs.py, credentials.py, preflight.py) must be: said in both languages."""
from __future__ import annotations

import re

from sfdoctor.errors import SfdoctorError
from sfdoctor.i18n import Text

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def said_in_both_languages(err: BaseException) -> None:
    """Message and hint are catalog texts (texts/orgs.toml), so `--lang ja` reads Japanese: each
    part says itself in both languages, in Japanese words, with the same values (file, key path,
    name) the English names."""
    assert isinstance(err, SfdoctorError)
    for part in (err.message, err.hint):
        if part is None:
            continue
        assert isinstance(part, Text), f"English-only text: {part!r}"
        en, ja = part.render("en"), part.render("ja")
        assert JAPANESE.search(ja) and not JAPANESE.search(en) and en != ja, (en, ja)
        for value in part.values.values():
            if isinstance(value, str) and value:
                assert value in en and value in ja, (value, en, ja)
    assert "\n" not in err.one_line("ja")

"""How a date and a time read in each language sfdoctor speaks (`texts/dates.toml`).

A page in Japanese shows 2026年11月21日, one in English Nov 21, 2026: an ISO date is exact but
reads as neither language, and `strftime('%b')` follows the machine's locale, not the page's.
Times stay 24-hour and UTC, as every report folder's name is; the history page says UTC once,
a sentence or a value in a report says it with each time (`instant_text`).

findings.json keeps the timestamps the APIs gave (`2026-12-06T09:37:33.061+0000`: a script
reads them); what a person reads says them through this module.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

from .i18n import t

# An ISO 8601 timestamp as the APIs write them: Salesforce `2026-12-06T09:37:33.061+0000`,
# `…Z`, `…+00:00`, with or without seconds and fraction. A time without a zone is not one.
_ISO_INSTANT = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)")


def _month(d: date, lang: str) -> str:
    return t("dates.months", lang).split()[d.month - 1]


def day_text(d: date, lang: str, *, year: bool = True) -> str:
    """`Nov 21, 2026` / `2026年11月21日`; without the year `Nov 21` / `11月21日`."""
    key = "dates.day" if year else "dates.day_no_year"
    return t(key, lang, mon=_month(d, lang), day=d.day, year=d.year)


def _utc(ts: datetime) -> datetime:
    return ts.astimezone(timezone.utc) if ts.tzinfo is not None else ts


def when_text(ts: datetime, lang: str) -> str:
    """A run's time: `Nov 21, 2026 02:00` / `2026年11月21日 02:00` (UTC, to the minute)."""
    ts = _utc(ts)
    return t("dates.when", lang, date=day_text(ts, lang), hm=ts.strftime("%H:%M"))


def hour_text(ts: datetime, lang: str) -> str:
    """An hour of a day, as a chart's axis says it: `Nov 21 02:00` / `11月21日 02:00` (UTC)."""
    ts = _utc(ts)
    return t("dates.when", lang, date=day_text(ts, lang, year=False), hm=ts.strftime("%H:%M"))


def parse_instant(value: str) -> datetime | None:
    """The moment an API's ISO 8601 timestamp names (any zone, made UTC), or None for a text
    that is not one whole timestamp."""
    text = value.strip()
    if not _ISO_INSTANT.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return None


def instant_text(value: str | datetime | None, lang: str) -> str:
    """A timestamp in a sentence or a value a person reads: `Dec 6, 2026 09:37 UTC` /
    `2026年12月6日 09:37 UTC`. A text that is not a timestamp comes back as it is (None as "")."""
    if value is None:
        return ""
    moment = value if isinstance(value, datetime) else parse_instant(str(value))
    if moment is None:
        return str(value)
    return t("dates.when_utc", lang, when=when_text(moment, lang))


def times_in_text(text: str, lang: str) -> str:
    """`text` with every ISO timestamp in it said as `instant_text` says it (a window
    `… .. …`, a pasted log line)."""
    return _ISO_INSTANT.sub(lambda m: instant_text(m.group(0), lang), text)

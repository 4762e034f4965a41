"""How a date and a time read in each language sfdoctor speaks (`texts/dates.toml`).

A page in Japanese shows 2026年11月21日, one in English Nov 21, 2026: an ISO date is exact but
reads as neither language, and `strftime('%b')` follows the machine's locale, not the page's.
Times stay 24-hour and UTC, as every report folder's name is; the page says UTC once.
"""
from __future__ import annotations

from datetime import date, datetime

from .i18n import t


def _month(d: date, lang: str) -> str:
    return t("dates.months", lang).split()[d.month - 1]


def day_text(d: date, lang: str, *, year: bool = True) -> str:
    """`Nov 21, 2026` / `2026年11月21日`; without the year `Nov 21` / `11月21日`."""
    key = "dates.day" if year else "dates.day_no_year"
    return t(key, lang, mon=_month(d, lang), day=d.day, year=d.year)


def when_text(ts: datetime, lang: str) -> str:
    """A run's time: `Nov 21, 2026 02:00` / `2026年11月21日 02:00` (UTC, to the minute)."""
    return t("dates.when", lang, date=day_text(ts, lang), hm=ts.strftime("%H:%M"))

"""A 5-field cron expression parser of our own, for `sfdoctor schedule` (spec/cli.md).

Why our own: the schedule only needs two questions answered — "when was the latest slot
at or before now?" (is an entry due) and "when is the next one?" (`schedule show`) — in a
named time zone, with Vixie cron's meaning. That is a page of code, easier to test and to
explain in our one-line bilingual errors than a dependency's exceptions.

Syntax (Vixie cron): `minute hour day-of-month month day-of-week`; each field a list of
`*`, `N`, `A-B`, any of those with `/STEP`, and `N/STEP` (N to the field's end); months
JAN-DEC and days SUN-SAT by name (any case), day-of-week `7` is Sunday too. When both
day fields are restricted (neither starts with `*`), a day matches if EITHER matches,
as in every classic cron; otherwise both must.

Time zones (`zoneinfo`): the expression is read on the zone's wall clock. A wall time the
clock skips (spring forward) fires at the instant that wall time would have been on the
old offset, i.e. right after the jump (Vixie cron also runs such jobs after the change);
a wall time the clock repeats (fall back) fires once, at its first occurrence.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .i18n import pick

MONTHS = {name: i for i, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
DAYS = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}

# (name, low, high, names); day-of-week accepts 7 and folds it onto 0 (Sunday).
FIELDS: tuple[tuple[str, int, int, dict[str, int] | None], ...] = (
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day-of-month", 1, 31, None),
    ("month", 1, 12, MONTHS),
    ("day-of-week", 0, 7, DAYS),
)

FIELD_NAMES: dict[str, dict[str, str]] = {
    "expression": {"en": "expression", "ja": "式"},
    "minute": {"en": "minute", "ja": "分"},
    "hour": {"en": "hour", "ja": "時"},
    "day-of-month": {"en": "day-of-month", "ja": "日"},
    "month": {"en": "month", "ja": "月"},
    "day-of-week": {"en": "day-of-week", "ja": "曜日"},
    "tz": {"en": "tz", "ja": "タイムゾーン"},
}

MESSAGES: dict[str, dict[str, str]] = {
    "not_text": {"en": "must be text like \"0 2 * * *\"", "ja": "\"0 2 * * *\" のような文字列で指定してください"},
    "fields": {
        "en": "needs 5 fields (minute hour day-of-month month day-of-week), got {n}",
        "ja": "5 つのフィールド (分 時 日 月 曜日) が必要ですが {n} 個です",
    },
    "empty": {"en": "empty item in {text!r}", "ja": "{text!r} に空の項目があります"},
    "value": {"en": "{value!r} is not a number{names}", "ja": "{value!r} は数値ではありません{names}"},
    "names": {"en": " or a name ({first}..{last})", "ja": " (名前なら {first}..{last})"},
    "range": {"en": "{value} is out of range {low}-{high}", "ja": "{value} は範囲 {low}-{high} の外です"},
    "backwards": {"en": "range {a}-{b} goes backwards", "ja": "範囲 {a}-{b} が逆順です"},
    "step": {"en": "step {step!r} must be a whole number from 1", "ja": "間隔 {step!r} は 1 以上の整数で指定してください"},
    "never": {
        "en": "day {days} never occurs in month(s) {months}, so this never fires",
        "ja": "{months} 月に {days} 日はないため、一度も実行されません",
    },
    "zone": {"en": "unknown time zone {name!r} (use an IANA name like Asia/Tokyo)",
             "ja": "タイムゾーン {name!r} は不明です (Asia/Tokyo のような IANA 名で指定してください)"},
}


class CronError(ValueError):
    """A bad expression or zone: which field, and the problem, in either language."""

    def __init__(self, field: str, key: str, **values: object):
        self.field = field
        self.key = key
        self.values = values
        super().__init__(self.text("en"))

    def text(self, lang: str = "en") -> str:
        """`field: problem` in `lang` (the caller adds file and entry)."""
        values = dict(self.values)
        if self.key == "value":
            names = values.get("names")
            values["names"] = pick(MESSAGES["names"], lang).format(**names) if isinstance(names, dict) else ""
        return f"{pick(FIELD_NAMES[self.field], lang)}: {pick(MESSAGES[self.key], lang).format(**values)}"


@dataclass(frozen=True)
class CronExpr:
    """A parsed expression: the matching values of each field, and Vixie's day-field flags."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]   # 0 = Sunday .. 6 = Saturday
    dom_star: bool                 # the day-of-month field starts with `*`
    dow_star: bool                 # the day-of-week field starts with `*`

    def matches_day(self, day: date) -> bool:
        """Month, then the dom/dow rule: OR when both are restricted, else AND."""
        if day.month not in self.months:
            return False
        dom = day.day in self.days_of_month
        dow = (day.isoweekday() % 7) in self.days_of_week
        if not self.dom_star and not self.dow_star:
            return dom or dow
        return dom and dow


def _number(text: str, field: str, low: int, high: int, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        hint = {"first": next(iter(names)), "last": list(names)[-1]} if names else None
        raise CronError(field, "value", value=text, names=hint)
    value = int(text)
    if not low <= value <= high:
        raise CronError(field, "range", value=value, low=low, high=high)
    return value


def _parse_field(text: str, field: str, low: int, high: int, names: dict[str, int] | None) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(field, "empty", text=text)
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) < 1:
                raise CronError(field, "step", step=step_text)
            step = int(step_text)
        if base == "*":
            a, b = low, high
        elif "-" in base:
            a_text, _, b_text = base.partition("-")
            a = _number(a_text, field, low, high, names)
            b = _number(b_text, field, low, high, names)
            if a > b:
                raise CronError(field, "backwards", a=a_text, b=b_text)
        else:
            a = _number(base, field, low, high, names)
            b = high if slash else a   # `N/STEP`: from N to the field's end
        values.update(range(a, b + 1, step))
    return values


def parse(text: str) -> CronExpr:
    """Parse a 5-field expression; CronError names the field and the problem."""
    if not isinstance(text, str):
        raise CronError("expression", "not_text")
    parts = text.split()
    if len(parts) != 5:
        raise CronError("expression", "fields", n=len(parts))
    sets = [_parse_field(part, name, low, high, names) for part, (name, low, high, names) in zip(parts, FIELDS)]
    minutes, hours, doms, months, dows = sets
    dows = {d % 7 for d in dows}
    expr = CronExpr(
        text=" ".join(parts), minutes=tuple(sorted(minutes)), hours=tuple(sorted(hours)),
        days_of_month=frozenset(doms), months=frozenset(months), days_of_week=frozenset(dows),
        dom_star=parts[2].startswith("*"), dow_star=parts[4].startswith("*"),
    )
    # With day-of-week unrestricted only the day of month decides: "30 2" never comes.
    # (29 February counts: it comes every leap year.)
    if expr.dow_star and not any(d <= calendar.monthrange(2024, m)[1] for m in months for d in doms):
        raise CronError("day-of-month", "never", days=",".join(map(str, sorted(doms))),
                        months=",".join(map(str, sorted(months))))
    return expr


def zone(name: str | None) -> ZoneInfo:
    """The zone `tz:` names (default UTC); CronError for a name zoneinfo does not know."""
    if name is None or name == "":
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError("tz", "zone", name=name) from None


# Longest gap between two firings: 29 February with day-of-week unrestricted (8 years
# across a century that skips a leap year), plus a margin.
_MAX_DAYS = 366 * 8 + 7


def _as_expr(expr: str | CronExpr) -> CronExpr:
    return expr if isinstance(expr, CronExpr) else parse(expr)


def _as_zone(tz: str | ZoneInfo | None) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else zone(tz)


def _instants(expr: CronExpr, day: date, tz: ZoneInfo) -> list[datetime]:
    """The day's firings as UTC instants (fold=0: skipped wall times land after the jump)."""
    return [datetime(day.year, day.month, day.day, h, m, tzinfo=tz).astimezone(timezone.utc)
            for h in expr.hours for m in expr.minutes]


def _check_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (a naive time would silently mean the machine's zone)")


def latest_fire_at_or_before(expr: str | CronExpr, now: datetime, tz: str | ZoneInfo | None = None) -> datetime | None:
    """The latest firing at or before `now` (UTC, aware), or None if none within 8 years.

    Walks back day by day on the zone's calendar; once a day has a firing, the day before
    is looked at too, since a skipped wall time late that day may land after it.
    """
    _check_aware(now)
    e, z = _as_expr(expr), _as_zone(tz)
    start = now.astimezone(z).date() + timedelta(days=1)
    best: datetime | None = None
    for i in range(_MAX_DAYS):
        day = start - timedelta(days=i)
        if not e.matches_day(day):
            continue
        found = [t for t in _instants(e, day, z) if t <= now]
        if found:
            if best is not None:
                return max(best, max(found))
            best = max(found)
        elif best is not None:
            return best
    return best


def next_fire_after(expr: str | CronExpr, now: datetime, tz: str | ZoneInfo | None = None) -> datetime | None:
    """The first firing strictly after `now` (UTC, aware), or None if none within 8 years."""
    _check_aware(now)
    e, z = _as_expr(expr), _as_zone(tz)
    start = now.astimezone(z).date() - timedelta(days=1)
    best: datetime | None = None
    for i in range(_MAX_DAYS):
        day = start + timedelta(days=i)
        if not e.matches_day(day):
            continue
        found = [t for t in _instants(e, day, z) if t > now]
        if found:
            if best is not None:
                return min(best, min(found))
            best = min(found)
        elif best is not None:
            return best
    return best

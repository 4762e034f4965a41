"""Cron expressions for `sfdoctor schedule` (spec/cli.md), on top of the `cronsim` library.

Why a library: parsing cron and walking a calendar across DST changes is exactly the kind
of code that looks like a page and keeps a bug for years; a maintained library that is
tested against Debian's cron does it better than our own parser did.

Why cronsim rather than croniter: cronsim is small, pure Python, has no dependencies, is
typed, and states its DST rule as Debian cron's (a job at a fixed wall time that the clock
skips runs right after the jump; one at a wall time the clock repeats runs once). It is
what healthchecks.io uses to decide when a cron job is late, i.e. our question exactly.
croniter's DST handling has changed several times between releases and its maintenance
changed hands after its authors announced its end in 2024.

What stays here is what the library does not do for us:
- the two questions the schedule asks, answered in UTC for an aware `now`:
  "the latest slot at or before now" (is an entry due) and "the next one" (`schedule show`);
- the 5-field rule of spec/cli.md (cronsim also accepts a 6th, seconds, field);
- time zone names (`zoneinfo`), and errors as one line naming the field, in the run's language.

Syntax and meaning are cronsim's (Debian cron's): `minute hour day-of-month month
day-of-week`, lists, ranges, `*/STEP` and `N/STEP`, JAN-DEC and SUN-SAT in any case,
day-of-week 7 = Sunday, and the day fields OR-ed when neither starts with `*`. cronsim's
extensions `L`, `LW` and `N#K` are accepted too.

DST (zones other than UTC), as cronsim implements Debian cron: an entry at a fixed minute
and hour whose wall time is skipped (spring forward) fires at the first instant after the
jump (America/New_York, "30 2 * * *" on 2024-03-10: 03:00 EDT); one whose wall time
repeats (fall back) fires once, at the first occurrence. Entries with `*` in the minute
or hour field are interval jobs and follow real elapsed time across the change.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from .errors import LocalizedValueError
from .i18n import Text

FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")

# What each field allows, for the message that names a bad one.
ALLOWED: dict[str, str] = {
    "minute": "0-59", "hour": "0-23", "day-of-month": "1-31, L, LW",
    "month": "1-12, JAN-DEC", "day-of-week": "0-7, SUN-SAT",
}


class CronError(LocalizedValueError):
    """A bad expression or zone: `field: problem` in the run's language (the caller adds file and entry).

    `key` names the problem in texts/cron.toml, `values` fill it.
    """

    def __init__(self, field: str, key: str, **values: object):
        self.field = field
        self.key = key
        self.values = values
        super().__init__("cron.problem", field=Text(f"cron.field.{field}"), problem=Text(f"cron.{key}", **values))


@dataclass(frozen=True)
class CronExpr:
    """A validated 5-field expression (whitespace normalised); cronsim evaluates it."""

    text: str


# cronsim's messages are "Bad <field>" and "Wrong number of fields".
_BAD = {f"Bad {name}": name for name in FIELDS}


def parse(text: object) -> CronExpr:
    """Validate a 5-field expression; CronError names the field and the problem."""
    if not isinstance(text, str):
        raise CronError("expression", "not_text")
    parts = text.split()
    if len(parts) != 5:
        raise CronError("expression", "fields", n=len(parts))
    expr = " ".join(parts)
    try:
        CronSim(expr, datetime(2000, 1, 1, tzinfo=timezone.utc))
    except CronSimError as exc:
        field = _BAD.get(str(exc))
        if field is None:  # pragma: no cover - a message cronsim does not give today
            raise CronError("expression", "bad", part=expr, allowed="5 fields") from None
        part = parts[FIELDS.index(field)]
        if field == "day-of-month" and _valid_days(part):
            raise CronError(field, "never", part=part, months=parts[3]) from None
        raise CronError(field, "bad", part=part, allowed=ALLOWED[field]) from None
    return CronExpr(expr)


def _valid_days(part: str) -> bool:
    """Whether the day-of-month field is fine on its own (so the months made it fail)."""
    try:
        CronSim(f"0 0 {part} * *", datetime(2000, 1, 1, tzinfo=timezone.utc))
    except CronSimError:
        return False
    return True


def zone(name: str | None) -> ZoneInfo:
    """The zone `tz:` names (default UTC); CronError for a name zoneinfo does not know."""
    if name is None or name == "":
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError("tz", "zone", name=name) from None


def _as_text(expr: str | CronExpr) -> str:
    return expr.text if isinstance(expr, CronExpr) else parse(expr).text


def _as_zone(tz: str | ZoneInfo | None) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else zone(tz)


def _check_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (a naive time would silently mean the machine's zone)")


def _first(it: CronSim) -> datetime | None:
    try:
        return next(it).astimezone(timezone.utc)
    except StopIteration:  # cronsim gives up after 50 years without a firing
        return None


def next_fire_after(expr: str | CronExpr, now: datetime, tz: str | ZoneInfo | None = None) -> datetime | None:
    """The first firing strictly after `now` (UTC, aware), or None if none within 50 years."""
    _check_aware(now)
    z = _as_zone(tz)
    start = now.astimezone(z).replace(microsecond=0)   # cronsim steps one second, then searches
    return _first(CronSim(_as_text(expr), start))


def latest_fire_at_or_before(expr: str | CronExpr, now: datetime, tz: str | ZoneInfo | None = None) -> datetime | None:
    """The latest firing at or before `now` (UTC, aware), or None if none within 50 years.

    cronsim searches backwards on the zone's wall clock, which in the repeated hour of a
    fall-back night can land one firing early (the wall clock forgets which of the two
    01:15s it is). So the answer is walked forward while the next firing is still at or
    before `now`: at most a step or two, and never past `now`.
    """
    _check_aware(now)
    text, z = _as_text(expr), _as_zone(tz)
    start = (now.astimezone(z).replace(microsecond=0) + timedelta(seconds=1))
    best = _first(CronSim(text, start, reverse=True))
    if best is None:
        return None
    for _ in range(100):
        following = next_fire_after(text, best, z)
        if following is None or following > now:
            break
        best = following
    return best if best <= now else None

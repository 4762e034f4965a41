"""`sfdoctor.cron`: our questions to cronsim (latest slot, next slot) and the rules we pin.

The library parses and walks the calendar; these tests pin what the schedule relies on:
UTC by default, the zone's wall clock otherwise, Debian cron's DST rule (a skipped wall
time fires once right after the jump, a repeated one once, at its first occurrence), the
"at or before" / "strictly after" edges, the 5-field rule and one bilingual line per error.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sfdoctor.cron import CronError, latest_fire_at_or_before, next_fire_after, parse

UTC = timezone.utc
NY = "America/New_York"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_lists_ranges_steps_and_names_in_any_case():
    expr = "*/15 1-10/3,22 5/10 jan-MAR,Dec *"
    # 2024-01-05: 01:00 fires, then 01:15.
    assert next_fire_after(expr, at(2024, 1, 5, 0, 59)) == at(2024, 1, 5, 1, 0)
    assert next_fire_after(expr, at(2024, 1, 5, 1, 0)) == at(2024, 1, 5, 1, 15)
    assert next_fire_after(expr, at(2024, 1, 5, 1, 45)) == at(2024, 1, 5, 4, 0)    # hours 1,4,7,10,22
    assert next_fire_after(expr, at(2024, 1, 5, 22, 45)) == at(2024, 1, 15, 1, 0)  # 5/10: 5, 15, 25
    assert next_fire_after(expr, at(2024, 3, 25, 22, 45)) == at(2024, 12, 5, 1, 0)  # Apr-Nov skipped
    # Day-of-week by name, lower case: weekdays only (2024-01-06 is a Saturday).
    assert next_fire_after("0 9 * * mon-fri", at(2024, 1, 5, 10)) == at(2024, 1, 8, 9)
    assert parse("  0   2 * *  *  ").text == "0 2 * * *"


def test_seven_is_sunday():
    # 2024-03-10 is a Sunday
    assert latest_fire_at_or_before("0 12 * * 7", at(2024, 3, 13)) == at(2024, 3, 10, 12)
    assert latest_fire_at_or_before("0 12 * * SUN", at(2024, 3, 13)) == at(2024, 3, 10, 12)
    assert latest_fire_at_or_before("0 12 * * 5-7", at(2024, 3, 11)) == at(2024, 3, 10, 12)


def test_day_fields_or_when_both_restricted_and_when_one_is_a_star():
    # "13 * FRI": the 13th OR a Friday. 2024-03-08 is a Friday, 2024-03-13 a Wednesday.
    assert latest_fire_at_or_before("0 0 13 * FRI", at(2024, 3, 12)) == at(2024, 3, 8)
    assert next_fire_after("0 0 13 * FRI", at(2024, 3, 8)) == at(2024, 3, 13)
    # "*/2 * FRI": day of month starts with * -> both must match: odd days that are Fridays.
    assert next_fire_after("0 0 */2 * FRI", at(2024, 2, 28)) == at(2024, 3, 1)
    assert next_fire_after("0 0 */2 * FRI", at(2024, 3, 1)) == at(2024, 3, 15)


def test_latest_is_at_or_before_and_next_strictly_after():
    expr = "30 2 * * *"
    assert latest_fire_at_or_before(expr, at(2024, 5, 1, 2, 30)) == at(2024, 5, 1, 2, 30)   # at: included
    assert latest_fire_at_or_before(expr, at(2024, 5, 1, 2, 29, 59, 999999)) == at(2024, 4, 30, 2, 30)
    assert latest_fire_at_or_before(expr, at(2024, 5, 1, 2, 30, 0, 1)) == at(2024, 5, 1, 2, 30)
    assert next_fire_after(expr, at(2024, 5, 1, 2, 30)) == at(2024, 5, 2, 2, 30)            # after: strictly
    assert next_fire_after(expr, at(2024, 5, 1, 2, 29, 59, 5)) == at(2024, 5, 1, 2, 30)
    assert latest_fire_at_or_before("0 0 29 2 *", at(2027, 1, 1)) == at(2024, 2, 29)
    assert next_fire_after("0 0 29 2 *", at(2024, 3, 1)) == at(2028, 2, 29)
    # An aware `now` in another zone means the same instant.
    tokyo = datetime(2024, 5, 1, 11, 30, tzinfo=timezone(timedelta(hours=9)))
    assert latest_fire_at_or_before(expr, tokyo) == at(2024, 5, 1, 2, 30)
    with pytest.raises(ValueError, match="timezone-aware"):
        latest_fire_at_or_before(expr, datetime(2024, 5, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire_after(expr, datetime(2024, 5, 1))


def test_wall_clock_of_the_zone():
    # Winter (EST, -5) and summer (EDT, -4): the wall clock wins.
    assert latest_fire_at_or_before("30 2 * * *", at(2024, 1, 15, 12), NY) == at(2024, 1, 15, 7, 30)
    assert latest_fire_at_or_before("30 2 * * *", at(2024, 7, 15, 12), NY) == at(2024, 7, 15, 6, 30)
    # Tokyo has no DST: 09:00 JST is midnight UTC; Friday 23:00 UTC is Saturday in Tokyo.
    assert next_fire_after("0 9 * * MON-FRI", at(2024, 3, 8, 23, 0), "Asia/Tokyo") == at(2024, 3, 11, 0, 0)
    assert next_fire_after("0 9 * * MON-FRI", at(2024, 3, 8, 23, 0)) == at(2024, 3, 11, 9, 0)   # default UTC


def test_spring_forward_fires_once_right_after_the_jump():
    # 2024-03-10 in New York: 02:00 EST jumps to 03:00 EDT (07:00Z); 02:30 does not exist.
    assert latest_fire_at_or_before("30 2 * * *", at(2024, 3, 10, 12), NY) == at(2024, 3, 10, 7, 0)
    assert next_fire_after("30 2 * * *", at(2024, 3, 10, 6, 0), NY) == at(2024, 3, 10, 7, 0)
    assert next_fire_after("30 2 * * *", at(2024, 3, 10, 7, 0), NY) == at(2024, 3, 11, 6, 30)   # once
    assert latest_fire_at_or_before("30 2 * * *", at(2024, 3, 10, 6, 59), NY) == at(2024, 3, 9, 7, 30)


def test_fall_back_fires_once_at_the_first_occurrence():
    # 2024-11-03 in New York: 01:30 happens twice (EDT 05:30Z, EST 06:30Z).
    assert latest_fire_at_or_before("30 1 * * *", at(2024, 11, 3, 7, 0), NY) == at(2024, 11, 3, 5, 30)
    assert next_fire_after("30 1 * * *", at(2024, 11, 3, 5, 30), NY) == at(2024, 11, 4, 6, 30)
    # Inside the repeated hour (01:15 EST = 06:15Z) the latest slot is still today's first 01:30.
    assert latest_fire_at_or_before("30 1 * * *", at(2024, 11, 3, 6, 15), NY) == at(2024, 11, 3, 5, 30)
    # An interval job follows real time: every 15 minutes through both 01:00 hours.
    assert latest_fire_at_or_before("*/15 * * * *", at(2024, 11, 3, 6, 7), NY) == at(2024, 11, 3, 6, 0)
    assert next_fire_after("*/15 * * * *", at(2024, 11, 3, 5, 45), NY) == at(2024, 11, 3, 6, 0)


def test_latest_never_returns_a_slot_after_now():
    for now in (at(2024, 11, 3, 5) + timedelta(minutes=m) for m in range(0, 120, 7)):
        for expr in ("30 1 * * *", "0 1 * * *", "45 1 * * *", "*/20 1 * * *"):
            got = latest_fire_at_or_before(expr, now, NY)
            assert got is not None and got <= now
            assert next_fire_after(expr, got, NY) > now     # and it is the latest one


@pytest.mark.parametrize("expr, field, en, ja", [
    ("0 24 * * *", "hour", "hour: '24' is not valid (use 0-23", "時: '24' は正しくありません"),
    ("* * *", "expression", "needs 5 fields (minute hour day-of-month month day-of-week), got 3", "5 つのフィールド"),
    ("0 0 * * * *", "expression", "got 6", "6 個"),
    ("*/0 * * * *", "minute", "'*/0' is not valid", "分: '*/0'"),
    ("0 0 * FOO *", "month", "'FOO' is not valid (use 1-12, JAN-DEC", "JAN-DEC"),
    ("0 0 * * MON-XYZ", "day-of-week", "'MON-XYZ' is not valid (use 0-7, SUN-SAT", "曜日"),
    ("10-5 * * * *", "minute", "'10-5' is not valid", "分"),
    ("1,,2 * * * *", "minute", "'1,,2' is not valid", "分"),
    ("0 0 0 * *", "day-of-month", "'0' is not valid (use 1-31", "日: '0'"),
    ("0 0 31 4,6 *", "day-of-month", "'31' never occurs in month(s) 4,6", "一度も実行されません"),
    ("0 0 30 2 *", "day-of-month", "'30' never occurs in month(s) 2", "2 月に 30 日はない"),
    ("0 0 * * 8", "day-of-week", "'8' is not valid", "曜日: '8'"),
])
def test_bad_expressions_name_the_field(expr, field, en, ja):
    with pytest.raises(CronError) as info:
        parse(expr)
    assert info.value.field == field
    assert info.value.text("en").startswith(f"{field}: ") and en in info.value.text("en")
    assert ja in info.value.text("ja")
    assert "\n" not in info.value.text("en") + info.value.text("ja")


def test_not_text_and_unknown_zone():
    with pytest.raises(CronError, match="must be text"):
        parse(15)  # type: ignore[arg-type]
    with pytest.raises(CronError) as info:
        latest_fire_at_or_before("0 2 * * *", at(2024, 1, 1), "Mars/Olympus")
    assert info.value.field == "tz" and "Asia/Tokyo" in info.value.text("en") and "IANA" in info.value.text("ja")

"""dates.py: one way per language to say a day and a moment, on every page a person reads."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from sfdoctor.dates import day_text, hour_text, instant_text, parse_instant, times_in_text, when_text


def test_a_day_and_a_run_time_read_as_each_language_writes_them():
    assert day_text(date(2026, 11, 21), "en") == "Nov 21, 2026"
    assert day_text(date(2026, 11, 21), "ja") == "2026年11月21日"
    assert day_text(date(2026, 11, 21), "ja", year=False) == "11月21日"
    assert when_text(datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc), "en") == "Nov 21, 2026 02:00"


@pytest.mark.parametrize("text", ["2026-12-06T09:37:33.061+0000", "2026-12-06T09:37:33Z",
                                  "2026-12-06T18:37:33+09:00", "2026-12-06T09:37Z"])
def test_every_form_the_apis_write_names_the_same_utc_moment(text):
    assert parse_instant(text) == datetime(2026, 12, 6, 9, 37, 33 if ":33" in text else 0, 61000 if ".061" in text else 0,
                                           tzinfo=timezone.utc)
    assert instant_text(text, "en") == "Dec 6, 2026 09:37 UTC"
    assert instant_text(text, "ja") == "2026年12月6日 09:37 UTC"


@pytest.mark.parametrize("text", ["?", "", "2026-12-06", "2026-12-06T09:37", "not 2026-12-06T09:37Z"])
def test_a_text_that_is_not_one_timestamp_comes_back_as_it_is(text):
    assert parse_instant(text) is None
    assert instant_text(text, "ja") == text
    assert instant_text(None, "ja") == ""


def test_timestamps_inside_a_text_are_said_in_its_language():
    window = "2026-11-29T09:00:00.000+0000 .. 2026-12-06T09:00:00.000+0000"
    assert times_in_text(window, "ja") == "2026年11月29日 09:00 UTC .. 2026年12月6日 09:00 UTC"
    line = "2026-12-06T10:15:00Z ERROR SalesforceAuth - invalid_grant"
    assert times_in_text(line, "en") == "Dec 6, 2026 10:15 UTC ERROR SalesforceAuth - invalid_grant"


def test_a_moment_in_another_zone_is_said_in_utc():
    tokyo = datetime(2026, 12, 6, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    assert when_text(tokyo, "en") == "Dec 6, 2026 00:00"
    assert hour_text(tokyo, "ja") == "12月6日 00:00"

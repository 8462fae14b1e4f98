from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.digest_time import local_date, next_occurrence, parse_timezone

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def _daily(hhmm: str, tz: str, start: datetime, days: int) -> list[datetime]:
    out, moment = [], start
    for _ in range(days):
        moment = next_occurrence(hhmm, tz, moment)
        out.append(moment)
    return out


@pytest.mark.parametrize(
    ("tz", "start"),
    [
        ("Europe/Berlin", datetime(2026, 3, 20, tzinfo=UTC)),  # spring forward 2026-03-29
        ("Europe/Berlin", datetime(2026, 10, 18, tzinfo=UTC)),  # fall back 2026-10-25
        ("America/New_York", datetime(2026, 3, 1, tzinfo=UTC)),  # 2026-03-08
        ("America/New_York", datetime(2026, 10, 25, tzinfo=UTC)),  # 2026-11-01
    ],
)
def test_eight_oclock_stays_eight_oclock_local_across_dst(tz: str, start: datetime) -> None:
    times = _daily("08:00", tz, start, 20)
    zone = ZoneInfo(tz)
    locals_ = [t.astimezone(zone) for t in times]
    assert all((t.hour, t.minute) == (8, 0) for t in locals_)
    # One per local day, no gaps, no doubles.
    days = [t.date() for t in locals_]
    assert days == [days[0] + timedelta(days=i) for i in range(20)]
    # The UTC time really moved by an hour over the switch.
    assert len({t.astimezone(UTC).hour for t in times}) == 2


def test_nonexistent_time_is_sent_once_at_gap_end() -> None:
    # Berlin, 2026-03-29: 02:00 CET -> 03:00 CEST, so 02:30 does not exist that day.
    times = _daily("02:30", "Europe/Berlin", datetime(2026, 3, 27, 12, tzinfo=UTC), 4)
    local = [t.astimezone(BERLIN) for t in times]
    assert [t.date() for t in local] == [date(2026, 3, d) for d in (28, 29, 30, 31)]
    assert local[1].strftime("%H:%M") == "03:00"  # the gap end, once
    assert times[1] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert [t.strftime("%H:%M") for t in (local[0], local[2], local[3])] == ["02:30"] * 3


def test_nonexistent_time_new_york() -> None:
    # New York, 2026-03-08: 02:00 EST -> 03:00 EDT.
    times = _daily("02:15", "America/New_York", datetime(2026, 3, 7, 12, tzinfo=UTC), 2)
    assert times[0] == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT, the gap end
    assert times[0].astimezone(NEW_YORK).date() == date(2026, 3, 8)
    assert times[1].astimezone(NEW_YORK).strftime("%m-%d %H:%M") == "03-09 02:15"


@pytest.mark.parametrize(
    ("tz", "day", "first_utc"),
    [
        ("Europe/Berlin", date(2026, 10, 25), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        ("America/New_York", date(2026, 11, 1), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
    ],
)
def test_ambiguous_time_is_sent_once_at_first_occurrence(
    tz: str, day: date, first_utc: datetime
) -> None:
    hhmm = "02:30" if tz == "Europe/Berlin" else "01:30"
    before = datetime.combine(day, datetime.min.time(), tzinfo=UTC) - timedelta(hours=12)
    first = next_occurrence(hhmm, tz, before)
    assert first == first_utc
    second = next_occurrence(hhmm, tz, first)
    # Not again an hour later (the repeated wall time): next local day.
    assert second - first > timedelta(hours=23)
    assert second.astimezone(ZoneInfo(tz)).date() == day + timedelta(days=1)


def test_strictly_after() -> None:
    at = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # 08:00 in Berlin
    assert next_occurrence("08:00", "Europe/Berlin", at) == at + timedelta(days=1)
    assert next_occurrence("08:00", "Europe/Berlin", at - timedelta(seconds=1)) == at


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_occurrence("08:00", "UTC", datetime(2026, 1, 1))


def test_fixed_offsets_and_parse_timezone() -> None:
    assert parse_timezone("Asia/Shanghai") == "Asia/Shanghai"
    assert parse_timezone("UTC+8") == "UTC+08:00"
    assert parse_timezone("utc-03:30") == "UTC-03:30"
    assert parse_timezone("+05:45") == "UTC+05:45"
    assert parse_timezone("UTC") == "UTC"
    assert parse_timezone("UTC+00:00") == "UTC"
    assert parse_timezone("Mars/Olympus") is None
    assert parse_timezone("UTC+15") is None
    assert parse_timezone("") is None
    at = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert next_occurrence("08:00", "UTC+08:00", at) == datetime(2026, 1, 1, 0, 0, tzinfo=UTC) + (
        timedelta(days=1)
    )
    assert next_occurrence("08:00", "UTC-03:30", at) == datetime(2026, 1, 1, 11, 30, tzinfo=UTC)
    assert local_date(datetime(2026, 1, 1, 20, tzinfo=UTC), "Asia/Shanghai") == date(2026, 1, 2)


ZONES = ["Europe/Berlin", "America/New_York", "Asia/Shanghai", "Australia/Lord_Howe", "UTC"]


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45, 59]),
    start=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
)
def test_one_digest_per_local_day_over_many_dates(
    zone: str, hour: int, minute: int, start: datetime
) -> None:
    hhmm = f"{hour:02d}:{minute:02d}"
    times = _daily(hhmm, zone, start, 8)
    tz = ZoneInfo(zone)
    days = [t.astimezone(tz).date() for t in times]
    assert days == [days[0] + timedelta(days=i) for i in range(8)]  # once per local day
    assert times[0] > start
    for t in times:
        wall = t.astimezone(tz)
        if (wall.hour, wall.minute) != (hour, minute):
            # Only allowed when hh:mm does not exist that day: then it is the gap end, and
            # one minute earlier the clock showed a time before hh:mm.
            before = (t - timedelta(minutes=1)).astimezone(tz)
            assert (before.hour, before.minute) < (hour, minute) < (wall.hour, wall.minute) or (
                before.hour > wall.hour
            )

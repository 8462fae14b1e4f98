"""Pure local-time arithmetic for digest scheduling: "08:00 in Europe/Berlin" → UTC instants.

DST policy (tested in tests/bot/test_digest_time.py):
* a local time that does not exist that day (spring-forward gap, e.g. 02:30 in Berlin on the last
  Sunday of March) is sent once, at the instant the gap ends (03:00 local);
* a local time that happens twice (fall back) is sent once, at its first occurrence (fold=0).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import parse_hhmm

_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])([0-9]{1,2})(?::?([0-9]{2}))?$", re.IGNORECASE)


def parse_timezone(text: str) -> str | None:
    """Normalise user input to a zone name ``get_zone`` accepts, or None if it is not one.

    IANA names are returned in their canonical spelling; ``UTC+08:00``, ``+8``, ``GMT-03:30``
    become ``UTC+08:00`` style fixed offsets (whole hours could be ``Etc/GMT-8``, but that
    notation has the sign inverted, which confuses users reading it back).
    """
    value = text.strip()
    if not value:
        return None
    if value.upper() in {"UTC", "GMT", "Z"}:
        return "UTC"
    match = _OFFSET.match(value)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes >= 60 or (hours == 14 and minutes):
            return None
        if hours == 0 and minutes == 0:
            return "UTC"
        return f"UTC{sign}{hours:02d}:{minutes:02d}"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return value


@lru_cache(maxsize=4096)
def get_zone(name: str) -> tzinfo:
    """The tzinfo for an IANA name or a ``UTC±hh:mm`` fixed offset; KeyError if unknown."""
    match = _OFFSET.match(name) if name[:1] in "+-UuGg" and name.upper() != "UTC" else None
    if match:
        sign = -1 if match.group(1) == "-" else 1
        delta = timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0))
        return timezone(sign * delta, name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise KeyError(name) from exc


def local_instant(day: date, at: time, tz: tzinfo) -> datetime:
    """The UTC instant when the clock in ``tz`` shows ``at`` on ``day``, with the DST policy."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    # A non-existent wall time (spring-forward gap) does not round-trip: fold=0 resolves it with
    # the pre-gap offset, fold=1 with the post-gap one. The two instants bracket the transition,
    # and the transition itself (the gap end) is when the digest goes out.
    if first.astimezone(tz).replace(tzinfo=None) != naive:
        second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
        return _gap_end(min(first, second), max(first, second), naive, tz)
    return first


def _gap_end(lo: datetime, hi: datetime, naive: datetime, tz: tzinfo) -> datetime:
    """First whole minute in (lo, hi] whose wall time in ``tz`` is >= ``naive``."""
    minute = timedelta(minutes=1)
    while hi - lo > minute:
        mid = lo + minute * (((hi - lo) // minute) // 2)
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi


def next_occurrence(hhmm: str, tz: str, after: datetime) -> datetime:
    """The first UTC instant strictly after ``after`` when the local clock in ``tz`` shows hhmm.

    ``after`` must be aware. The result is aware UTC. See the module docstring for DST.
    """
    if after.tzinfo is None:
        raise ValueError("after must be an aware datetime")
    zone = get_zone(tz)
    at = parse_hhmm(hhmm)
    local_day = after.astimezone(zone).date()
    # Yesterday covers zones where the previous local day's slot is still ahead in UTC terms
    # (never in practice, but cheap); tomorrow and the day after cover the common cases.
    for offset in (-1, 0, 1, 2):
        candidate = local_instant(local_day + timedelta(days=offset), at, zone)
        if candidate > after:
            return candidate
    raise AssertionError("unreachable: a digest time occurs every local day")


def local_date(instant: datetime, tz: str) -> date:
    """The calendar date in ``tz`` at ``instant`` (the digest's "local digest date")."""
    return instant.astimezone(get_zone(tz)).date()


def digest_date(due_at: datetime, hhmm: str, tz: str) -> date:
    """The local date a digest due at ``due_at`` belongs to.

    Usually ``local_date(due_at)``; a gap-shifted slot (02:30 → 03:00) is still that day's.
    """
    return local_date(due_at, tz)

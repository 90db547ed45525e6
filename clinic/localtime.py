"""Due times in a site's own time zone.

Clinical follow-up times are wall-clock times where the clinic is: "the day after the last
session at 09:00" is 09:00 local whether or not the clocks changed overnight, and "24 h after
a session" lands at the same local time the next day. Arithmetic is done on the local wall
clock and converted back to an aware instant (a time that does not exist in a spring-forward
gap moves forward by the gap).
"""

import calendar
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings

from clinic.models import Site


def site_zone(site: Site | None) -> zoneinfo.ZoneInfo:
    return zone_named(site.time_zone if site is not None else None)


def zone_named(time_zone: str | None) -> zoneinfo.ZoneInfo:
    """A site's zone from its `time_zone` (none or blank: the clinic's, `settings.TIME_ZONE`)."""
    return zoneinfo.ZoneInfo(time_zone or settings.TIME_ZONE)


def _aware(naive_local: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    """The instant of a local wall-clock time (fold=0: the first of an ambiguous hour)."""
    aware = naive_local.replace(tzinfo=tz, fold=0)
    # Round trip through UTC normalises a time inside a spring-forward gap.
    return aware.astimezone(UTC)


def local_shift(instant: datetime, tz: zoneinfo.ZoneInfo, *, days: int = 0, hours: int = 0) -> datetime:
    """`instant` moved by days and hours of local wall-clock time."""
    local = instant.astimezone(tz).replace(tzinfo=None)
    return _aware(local + timedelta(days=days, hours=hours), tz)


def local_at(day: date, hour: int, tz: zoneinfo.ZoneInfo, minute: int = 0) -> datetime:
    """The instant of `hour:minute` local time on `day`."""
    return _aware(datetime.combine(day, time(hour, minute)), tz)


def local_date(instant: datetime, tz: zoneinfo.ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def add_months(instant: datetime, tz: zoneinfo.ZoneInfo, months: int) -> datetime:
    """Same local time `months` later (the last day of a shorter month when needed)."""
    local = instant.astimezone(tz).replace(tzinfo=None)
    month0 = local.month - 1 + months
    year, month = local.year + month0 // 12, month0 % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return _aware(local.replace(year=year, month=month, day=day), tz)

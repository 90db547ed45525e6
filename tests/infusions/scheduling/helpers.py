"""Helpers for the scheduling tests: future weekdays in the site's time zone."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from clinic.models import Site


def next_weekday(site: Site, weekday: int = 0, weeks_ahead: int = 1) -> date:
    """A local date `weeks_ahead` weeks from now falling on `weekday` (0 = Monday)."""
    today = timezone.now().astimezone(site.tz).date()
    return today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)


def local(site: Site, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=site.tz)

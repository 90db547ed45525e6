"""Reads about sites: the calendar the availability engine works from."""

from datetime import date

from clinic.availability import SiteCalendar
from clinic.models import Site


def site_calendar(*, site: Site, first: date, last: date) -> SiteCalendar:
    """A site's opening hours, closed days and nurse roster between two local dates
    (three queries, whatever the range)."""
    weekly = {row.weekday: (None if row.closed else (row.opens_at, row.closes_at)) for row in site.opening_hours.all()}
    closed = frozenset(site.closures.filter(date__range=(first, last)).values_list("date", flat=True))
    nurses = dict(site.rosters.filter(date__range=(first, last)).values_list("date", "nurses_on_duty"))
    return SiteCalendar(
        tz=site.tz,
        default_hours=(site.opens_at, site.closes_at),
        infusions_per_nurse=site.infusions_per_nurse,
        default_nurses=site.default_nurses_on_duty,
        weekly=weekly,
        closed_dates=closed,
        nurses=nurses,
    )

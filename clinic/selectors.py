"""Reads about sites: the calendar the availability engine works from."""

from datetime import date, time

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef
from django.db.models.functions import JSONObject

from clinic.availability import SiteCalendar
from clinic.models import NurseRoster, Site, SiteClosure, SiteOpeningHours


def site_calendar(*, site: Site, first: date, last: date) -> SiteCalendar:
    """A site's opening hours, closed days and nurse roster between two local dates, in one
    query whatever the range (the availability search runs this on every request)."""
    row = (
        Site.objects.filter(pk=site.pk)
        .annotate(
            weekly=ArraySubquery(
                SiteOpeningHours.objects.filter(site=OuterRef("pk")).values(
                    json=JSONObject(weekday="weekday", opens="opens_at", closes="closes_at", closed="closed")
                )
            ),
            closed_dates=ArraySubquery(
                SiteClosure.objects.filter(site=OuterRef("pk"), date__range=(first, last)).values("date")
            ),
            roster=ArraySubquery(
                NurseRoster.objects.filter(site=OuterRef("pk"), date__range=(first, last)).values(
                    json=JSONObject(date="date", nurses="nurses_on_duty")
                )
            ),
        )
        .values(
            "opens_at", "closes_at", "infusions_per_nurse", "default_nurses_on_duty", "weekly", "closed_dates", "roster"
        )
        .get()
    )
    weekly = {
        entry["weekday"]: None
        if entry["closed"]
        else (time.fromisoformat(entry["opens"]), time.fromisoformat(entry["closes"]))
        for entry in row["weekly"]
    }
    return SiteCalendar(
        tz=site.tz,
        default_hours=(row["opens_at"], row["closes_at"]),
        infusions_per_nurse=row["infusions_per_nurse"],
        default_nurses=row["default_nurses_on_duty"],
        weekly=weekly,
        closed_dates=frozenset(row["closed_dates"]),
        nurses={date.fromisoformat(entry["date"]): entry["nurses"] for entry in row["roster"]},
    )

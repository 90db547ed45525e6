"""Reads about sites: a staff member's site, the time zone a user's pages show, and the
calendar the availability engine works from."""

from datetime import date, time

from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils import timezone

from clinic.availability import SiteCalendar
from clinic.core.roles import Role
from clinic.models import Chair, NurseRoster, Site, SiteClosure, SiteOpeningHours, StaffMember, User

# One round trip, written out in SQL: the availability search runs this on every request and
# the ORM's compilation of three correlated subqueries cost more than the query itself.
_CALENDAR_SQL = f"""
SELECT s.opens_at, s.closes_at, s.infusions_per_nurse, s.default_nurses_on_duty,
  (SELECT coalesce(json_agg(json_build_array(h.weekday, h.opens_at, h.closes_at, h.closed)), '[]'::json)
     FROM {SiteOpeningHours._meta.db_table} h WHERE h.site_id = s.id),
  (SELECT coalesce(array_agg(c.date), '{{}}'::date[])
     FROM {SiteClosure._meta.db_table} c WHERE c.site_id = s.id AND c.date BETWEEN %(first)s AND %(last)s),
  (SELECT coalesce(json_agg(json_build_array(r.date, r.nurses_on_duty)), '[]'::json)
     FROM {NurseRoster._meta.db_table} r WHERE r.site_id = s.id AND r.date BETWEEN %(first)s AND %(last)s)
FROM {Site._meta.db_table} s WHERE s.id = %(site)s
"""  # noqa: S608 - table names from the models, values bound as parameters


def site_calendar(*, site: Site, first: date, last: date) -> SiteCalendar:
    """A site's opening hours, closed days and nurse roster between two local dates, in one
    query whatever the range."""
    with connection.cursor() as cursor:
        cursor.execute(_CALENDAR_SQL, {"site": site.pk, "first": first, "last": last})
        opens_at, closes_at, per_nurse, nurses_default, weekly, closed, roster = cursor.fetchone()
    return SiteCalendar(
        tz=site.tz,
        default_hours=(opens_at, closes_at),
        infusions_per_nurse=per_nurse,
        default_nurses=nurses_default,
        weekly={
            weekday: None if is_closed else (time.fromisoformat(opens), time.fromisoformat(closes))
            for weekday, opens, closes, is_closed in weekly
        },
        closed_dates=frozenset(closed),
        nurses={date.fromisoformat(day): count for day, count in roster},
    )


def staff_site(user: User) -> Site | None:
    """The site a staff member works at: their placement (StaffMember), or, for an account
    placed nowhere, the clinic's only site (none when there are several). The one home of
    "which site is this staff member's"; pages and the API default to it. Remembered on the
    user object for the rest of the request."""
    if not hasattr(user, "_page_site"):
        # One query: the placement first, then the first two sites (to tell "the only one").
        placed = Exists(StaffMember.objects.filter(user_id=user.pk, site=OuterRef("pk")))
        sites = list(Site.objects.annotate(placed=placed).order_by("-placed", "pk")[:2])
        site = sites[0] if sites and (sites[0].placed or len(sites) == 1) else None
        user._page_site = site  # type: ignore[attr-defined]
    return user._page_site  # type: ignore[attr-defined]


def user_time_zone(user: User) -> str:
    """Pages show times in the site's time zone: the patient's site for a patient, the staff
    member's site for staff, else the server's."""
    if user.role == Role.PATIENT:
        zone = Site.objects.filter(patients__user=user).values_list("time_zone", flat=True).first()
    else:
        site = staff_site(user)
        zone = site.time_zone if site is not None else None
    return zone or timezone.get_default_timezone_name()


def site_list(*, user: User) -> list[Site]:
    """The sites a user may choose from on a page, by name."""
    return list(Site.objects.order_by("name"))


def site_get(*, user: User, site_id: int) -> Site | None:
    return Site.objects.filter(pk=site_id).first()


def chair_list(*, site: Site) -> list[Chair]:
    """A site's chairs in use, by name."""
    return list(site.chairs.filter(is_active=True).order_by("name", "id"))


def user_get(*, user_id: int) -> User | None:
    return User.objects.filter(pk=user_id).first()

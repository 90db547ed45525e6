"""Sites: time zone, opening hours per weekday, closed days, nurses on duty (issue 3 item 1)."""

from datetime import date, time

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from clinic.models import Chair, NurseRoster, SiteClosure, SiteOpeningHours
from clinic.selectors import site_calendar
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db

MONDAY = date(2031, 3, 3)


def test_calendar_reads_hours_closures_and_roster_in_one_query(django_assert_num_queries):
    site = SiteFactory(time_zone="America/New_York", opens_at=time(7), closes_at=time(19), infusions_per_nurse=3)
    SiteOpeningHours.objects.create(site=site, weekday=5, opens_at=time(9), closes_at=time(13))
    SiteOpeningHours.objects.create(site=site, weekday=6, closed=True)
    SiteClosure.objects.create(site=site, date=date(2031, 3, 5), reason="Staff training")
    SiteClosure.objects.create(site=site, date=date(2031, 6, 1), reason="outside the range")
    NurseRoster.objects.create(site=site, date=date(2031, 3, 4), nurses_on_duty=3)
    with django_assert_num_queries(1):
        calendar = site_calendar(site=site, first=MONDAY, last=date(2031, 3, 9))
    assert calendar.window(MONDAY)[0].isoformat() == "2031-03-03T07:00:00-05:00"
    assert calendar.window(date(2031, 3, 8))[1].hour == 13  # Saturday 9-13
    assert calendar.window(date(2031, 3, 9)) is None  # Sundays closed
    assert calendar.window(date(2031, 3, 5)) is None  # closure
    assert calendar.closed_dates == frozenset({date(2031, 3, 5)})
    assert calendar.capacity(date(2031, 3, 4)) == 9  # 3 per nurse x 3 nurses
    assert calendar.capacity(MONDAY) == 3  # the default: 1 nurse


def test_time_zone_must_be_iana():
    site = SiteFactory.build(code="tz", time_zone="Mars/Olympus")
    with pytest.raises(ValidationError, match="time_zone"):
        site.full_clean()


def test_one_row_per_weekday_and_date():
    site = SiteFactory()
    SiteOpeningHours.objects.create(site=site, weekday=0)
    with pytest.raises(IntegrityError):
        SiteOpeningHours.objects.create(site=site, weekday=0)


def test_hours_order_is_a_database_constraint():
    site = SiteFactory()
    with pytest.raises(IntegrityError):
        SiteOpeningHours.objects.create(site=site, weekday=1, opens_at=time(18), closes_at=time(8))


def test_chairs_belong_to_a_site():
    site = SiteFactory()
    Chair.objects.create(site=site, name="Chair 1")
    assert list(site.chairs.values_list("name", flat=True)) == ["Chair 1"]


@pytest.mark.parametrize(
    "url",
    [
        "/admin/clinic/siteopeninghours/",
        "/admin/clinic/siteclosure/",
        "/admin/clinic/nurseroster/",
        "/admin/clinic/site/add/",
    ],
)
def test_admin_pages(client, users, url):
    users["admin"].is_staff = True
    users["admin"].save()
    client.force_login(users["admin"])
    assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/admin/infusions/appointment/",
        "/admin/infusions/appointmentevent/",
        "/admin/infusions/appointmentseries/",
        "/admin/infusions/calendarfeed/",
    ],
)
def test_appointment_admin_pages_are_read_only(client, users, url):
    users["admin"].is_staff = True
    users["admin"].save()
    client.force_login(users["admin"])
    assert client.get(url).status_code == 200
    assert client.get(url + "add/").status_code == 403


def test_sites_api_shows_weekday_hours(api, users, site, django_assert_num_queries):
    SiteOpeningHours.objects.create(site=site, weekday=6, closed=True)
    client = api(users["frontdesk"])
    client.get("/api/v1/sites/")
    SiteFactory(code="second")
    with django_assert_num_queries(4):  # token+user, count, sites, their opening hours
        body = client.get("/api/v1/sites/").json()
    main = next(s for s in body if s["id"] == site.pk)
    assert main["opening_hours"] == [{"weekday": 6, "opens_at": "08:00:00", "closes_at": "18:00:00", "closed": True}]
    assert main["time_zone"] == "Europe/London"

"""The calendar feed as calendar apps read it (issue 17): the feed is imported with `icalendar`
and expanded with `recurring-ical-events` before and after a move and a cancellation. Stable
UIDs whatever the Host, SEQUENCE raised by every move and cancellation, `Accept: text/calendar`,
ETag / Last-Modified with 304, a VTIMEZONE for the site's zone and the zone beside every local
time in the description."""

from datetime import datetime, timedelta

import pytest
import recurring_ical_events
from django.conf import settings
from icalendar import Calendar

from infusions.protocols.models import Protocol
from tests.factories import AppointmentFactory, ChairFactory
from tests.infusions.scheduling.helpers import local, next_weekday

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(own_patient, site):
    """Two infusions of the patient's, next Monday and Wednesday at 09:00 (the site's time,
    Europe/London)."""
    chair = ChairFactory(site=site, name="Chair 1")
    protocol = Protocol.objects.get(code="ket-iv-dep")
    monday, wednesday = next_weekday(site, 0), next_weekday(site, 2)
    return {
        "chair": chair,
        "first": AppointmentFactory(
            patient=own_patient, chair=chair, site=site, protocol=protocol, starts_at=local(site, monday, 9)
        ),
        "second": AppointmentFactory(
            patient=own_patient, chair=chair, site=site, protocol=protocol, starts_at=local(site, wednesday, 9)
        ),
    }


def _feed(client, **headers):
    response = client.get("/api/v1/me/appointments.ics", HTTP_ACCEPT="text/calendar", **headers)
    return response


def _import(body: bytes, site) -> tuple[Calendar, dict[str, object]]:
    """Parse with icalendar and expand with recurring-ical-events over the next 30 days."""
    calendar = Calendar.from_ical(body)
    start = datetime.now(site.tz)
    occurrences = recurring_ical_events.of(calendar).between(start, start + timedelta(days=30))
    return calendar, {str(event["UID"]): event for event in occurrences}


def test_feed_before_and_after_a_move_and_a_cancellation(api, users, booked, site):
    patient, frontdesk = api(users["patient"]), api(users["frontdesk"])
    first, second = booked["first"], booked["second"]
    domain = settings.CALENDAR_UID_DOMAIN
    uid_first, uid_second = f"appointment-{first.pk}@{domain}", f"appointment-{second.pk}@{domain}"

    response = _feed(patient)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar, events = _import(response.content, site)
    assert set(events) == {uid_first, uid_second}
    event = events[uid_first]
    assert event["SEQUENCE"] == 0
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert event.decoded("DTSTART") == first.starts_at
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]
    zone = first.starts_at.astimezone(site.tz).strftime("%Z")  # GMT or BST
    assert f"Arrive by 08:45 {zone}." in str(event["DESCRIPTION"])  # ket-iv-dep: 15 min early [U]
    assert f"({zone})" not in str(event["DESCRIPTION"])

    # The same feed through another name of the server: the same UIDs (no doubled events).
    other_host = _feed(patient, HTTP_HOST="127.0.0.1")
    assert set(_import(other_host.content, site)[1]) == {uid_first, uid_second}
    assert other_host.content == response.content

    # Unchanged: 304, by ETag or by date.
    etag, modified = response["ETag"], response["Last-Modified"]
    assert _feed(patient, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert _feed(patient, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    assert response["Cache-Control"] == "private, no-cache"

    # Moved to 11:00 the same day: SEQUENCE 1, the new time, a new ETag.
    new_start = local(site, first.starts_at.astimezone(site.tz).date(), 11)
    moved = frontdesk.post(
        f"/api/v1/appointments/{first.pk}/move/", {"starts_at": new_start.isoformat(), "reason": "Chair needed"}
    )
    assert moved.status_code == 200, moved.content
    after_move = _feed(patient, HTTP_IF_NONE_MATCH=etag)
    assert after_move.status_code == 200
    assert after_move["ETag"] != etag
    _, events = _import(after_move.content, site)
    assert events[uid_first]["SEQUENCE"] == 1
    assert events[uid_first].decoded("DTSTART") == new_start
    assert events[uid_second]["SEQUENCE"] == 0

    # Cancelled: still in the feed, CANCELLED, SEQUENCE 1; the moved one is unchanged.
    cancelled = frontdesk.post(f"/api/v1/appointments/{second.pk}/cancel/", {"reason": "Patient unwell"})
    assert cancelled.status_code == 200, cancelled.content
    _, events = _import(_feed(patient, HTTP_IF_NONE_MATCH=after_move["ETag"]).content, site)
    assert (str(events[uid_second]["STATUS"]), events[uid_second]["SEQUENCE"]) == ("CANCELLED", 1)
    assert (str(events[uid_first]["STATUS"]), events[uid_first]["SEQUENCE"]) == ("CONFIRMED", 1)
    # Moved again: SEQUENCE 2.
    again = local(site, first.starts_at.astimezone(site.tz).date(), 13)
    frontdesk.post(f"/api/v1/appointments/{first.pk}/move/", {"starts_at": again.isoformat(), "reason": "Again"})
    _, events = _import(_feed(patient).content, site)
    assert events[uid_first]["SEQUENCE"] == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.sequence, second.sequence) == (2, 1)


def test_a_refused_move_changes_no_sequence(api, users, booked, site):
    first = booked["first"]
    r = api(users["frontdesk"]).post(
        f"/api/v1/appointments/{first.pk}/move/", {"starts_at": "2001-01-01T09:00:00+00:00", "reason": "x"}
    )
    assert r.status_code == 409
    first.refresh_from_db()
    assert first.sequence == 0


@pytest.mark.parametrize("accept", ["text/calendar", "text/calendar; charset=utf-8", "text/*", "*/*", ""])
def test_calendar_accept_headers_are_honoured(api, users, booked, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = api(users["patient"]).get("/api/v1/me/appointments.ics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")


def test_the_private_link_has_the_same_feed_and_conditional_get(api, users, booked, site):
    token = api(users["patient"]).post("/api/v1/me/calendar-link/").json()["token"]
    anonymous = api(None)
    feed = anonymous.get(f"/api/v1/calendar/{token}.ics", HTTP_ACCEPT="text/calendar")
    assert feed.status_code == 200
    assert feed.content == _feed(api(users["patient"])).content
    assert anonymous.get(f"/api/v1/calendar/{token}.ics", HTTP_IF_NONE_MATCH=feed["ETag"]).status_code == 304
    refused = anonymous.get(f"/api/v1/calendar/{token}.ics", HTTP_ACCEPT="application/json")
    assert refused.status_code == 406
    assert refused.json()["detail"]
    missing = anonymous.get("/api/v1/calendar/nope.ics", HTTP_ACCEPT="text/calendar")
    assert missing.status_code == 404
    assert missing["Content-Type"].startswith("application/json")

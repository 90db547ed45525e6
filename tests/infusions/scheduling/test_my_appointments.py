"""The patient's own appointments (issue 3 item 9): JSON with preparation, iCalendar when signed
in, and a private, revocable subscription link."""

from datetime import timedelta

import pytest
from django.utils import timezone
from icalendar import Calendar

from infusions.protocols.models import Protocol
from infusions.scheduling.models import CalendarFeed
from tests.factories import AppointmentFactory, ChairFactory
from tests.infusions.scheduling.helpers import local, next_weekday

pytestmark = pytest.mark.django_db


@pytest.fixture
def chair(site):
    return ChairFactory(site=site, name="Chair 1")


@pytest.fixture
def mine(own_patient, chair, site):
    monday = next_weekday(site, 0)
    upcoming = AppointmentFactory(patient=own_patient, chair=chair, site=site, starts_at=local(site, monday, 9))
    past_start = timezone.now() - timedelta(days=10)
    past = AppointmentFactory(patient=own_patient, chair=chair, site=site, starts_at=past_start, status="completed")
    return {"upcoming": upcoming, "past": past}


@pytest.fixture
def theirs(other_patient, chair, site):
    return AppointmentFactory(
        patient=other_patient, chair=chair, site=site, starts_at=local(site, next_weekday(site, 1), 9)
    )


def test_patient_sees_only_their_own_past_and_upcoming(api, users, mine, theirs):
    response = api(users["patient"]).get("/api/v1/me/appointments/")
    assert response.status_code == 200
    ids = [a["id"] for a in response.json()]
    assert ids == [mine["past"].pk, mine["upcoming"].pk]
    assert theirs.pk not in ids


def test_preparation_from_the_protocol(api, users, mine, site):
    body = {a["id"]: a for a in api(users["patient"]).get("/api/v1/me/appointments/").json()}
    upcoming = body[mine["upcoming"].pk]
    prep = upcoming["preparation"]
    starts_at = mine["upcoming"].starts_at
    # ket-iv-dep (CLINICAL.md §1 library): nothing to eat 4 h before [U], arrive 15 min early [U],
    # an escort, no driving until the next day (Spravato label; CLINICAL.md §4).
    assert prep["fasting_hours"] == 4
    assert prep["no_food_after"].startswith((starts_at - timedelta(hours=4)).astimezone(site.tz).isoformat()[:16])
    assert prep["arrive_by"].startswith((starts_at - timedelta(minutes=15)).astimezone(site.tz).isoformat()[:16])
    assert prep["escort_required"] is True
    assert prep["no_driving_until_next_day"] is True
    assert "escort" in prep["instructions"]
    assert any("Do not drive until the next day" in line for line in prep["summary"])
    assert upcoming["time_zone"] == site.time_zone
    assert "dose" not in upcoming


def test_esketamine_preparation_spravato_label(api, users, own_patient, chair, site):
    esk = Protocol.objects.get(code="esk-in-trd")
    appointment = AppointmentFactory(
        patient=own_patient, chair=chair, site=site, protocol=esk, starts_at=local(site, next_weekday(site, 2), 9)
    )
    body = api(users["patient"]).get("/api/v1/me/appointments/").json()
    prep = next(a for a in body if a["id"] == appointment.pk)["preparation"]
    assert prep["fasting_hours"] == 2  # Spravato label: no food 2 h before
    assert prep["escort_required"] is True


@pytest.mark.parametrize("role", ["admin", "clinician", "nurse", "frontdesk"])
def test_staff_have_no_me_endpoints(api, users, role):
    for url in ("/api/v1/me/appointments/", "/api/v1/me/appointments.ics"):
        assert api(users[role]).get(url).status_code == 403
    assert api(users[role]).post("/api/v1/me/calendar-link/").status_code == 403
    assert api(users[role]).delete("/api/v1/me/calendar-link/").status_code == 403


def _events(body: bytes):
    calendar = Calendar.from_ical(body)
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def test_ics_signed_in(api, users, mine, theirs):
    response = api(users["patient"]).get("/api/v1/me/appointments.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    events = _events(response.content)
    assert set(events) == {
        f"appointment-{mine['past'].pk}@infusion-clinic.invalid",
        f"appointment-{mine['upcoming'].pk}@infusion-clinic.invalid",
    }
    event = events[f"appointment-{mine['upcoming'].pk}@infusion-clinic.invalid"]
    assert event.decoded("dtstart") == mine["upcoming"].starts_at
    assert event.decoded("dtend") == mine["upcoming"].ends_at
    assert "escort" in str(event["description"])
    assert str(event["status"]) == "CONFIRMED"


def test_cancelled_appointment_stays_in_the_feed_as_cancelled(api, users, mine):
    mine["upcoming"].status = "cancelled"
    mine["upcoming"].save()
    events = _events(api(users["patient"]).get("/api/v1/me/appointments.ics").content)
    assert str(events[f"appointment-{mine['upcoming'].pk}@infusion-clinic.invalid"]["status"]) == "CANCELLED"


def test_private_link_works_without_sign_in_and_is_revocable(api, users, mine, own_patient):
    created = api(users["patient"]).post("/api/v1/me/calendar-link/")
    assert created.status_code == 201
    url = created.json()["url"]
    token = created.json()["token"]
    assert url.endswith(f"/api/v1/calendar/{token}.ics")
    assert token not in CalendarFeed.objects.get().token_sha256  # only the hash is stored
    feed = api(None).get(f"/api/v1/calendar/{token}.ics")
    assert feed.status_code == 200
    assert len(_events(feed.content)) == 2
    # a new link replaces the old one
    newer = api(users["patient"]).post("/api/v1/me/calendar-link/").json()["token"]
    assert api(None).get(f"/api/v1/calendar/{token}.ics").status_code == 404
    assert api(None).get(f"/api/v1/calendar/{newer}.ics").status_code == 200
    # revoke
    assert api(users["patient"]).delete("/api/v1/me/calendar-link/").status_code == 204
    assert api(None).get(f"/api/v1/calendar/{newer}.ics").status_code == 404


def test_unknown_link_is_404(api, db):
    assert api(None).get("/api/v1/calendar/not-a-real-token.ics").status_code == 404


def test_patient_cannot_reach_another_patients_appointment(api, users, theirs):
    assert api(users["patient"]).get(f"/api/v1/appointments/{theirs.pk}/").status_code == 404
    assert api(users["patient"]).post(f"/api/v1/appointments/{theirs.pk}/cancel/", {"reason": "x"}).status_code == 404


def test_my_appointments_query_count_does_not_grow(api, users, own_patient, chair, site, django_assert_num_queries):
    client = api(users["patient"])
    monday = next_weekday(site, 0)

    def add(n, offset):
        for i in range(n):
            AppointmentFactory(
                patient=own_patient,
                chair=chair,
                site=site,
                starts_at=local(site, monday + timedelta(days=offset + i), 9),
            )

    add(2, 0)
    client.get("/api/v1/me/appointments/")  # warm the token/user caches
    with django_assert_num_queries(2) as small:  # the token (with its user), the appointments
        assert len(client.get("/api/v1/me/appointments/").json()) == 2
    add(20, 10)
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(client.get("/api/v1/me/appointments/").json()) == 22

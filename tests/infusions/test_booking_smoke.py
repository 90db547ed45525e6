from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from infusions.booking import appointment_book, availability_search
from tests.factories import ChairFactory


def _next_monday_at(site, hour: int) -> datetime:
    today = timezone.now().astimezone(site.tz).date()
    day = today + timedelta(days=7 - today.weekday())
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=site.tz)


@pytest.mark.django_db
def test_book_then_conflict(users, own_patient, other_patient, protocol, site):
    chair = ChairFactory(site=site)
    at = _next_monday_at(site, 9)
    appt = appointment_book(
        actor=users["frontdesk"], patient=own_patient, chair=chair, starts_at=at, kind="infusion", protocol=protocol
    )
    assert appt.ends_at - appt.starts_at == timedelta(minutes=15 + 40 + 60)
    with pytest.raises(ApplicationError) as err:
        appointment_book(
            actor=users["frontdesk"],
            patient=other_patient,
            chair=chair,
            starts_at=at + timedelta(minutes=30),
            kind="infusion",
            protocol=protocol,
        )
    assert err.value.rule == "chair_conflict"
    slots = availability_search(site=site, protocol=protocol, start=at, end=at + timedelta(days=1), limit=3)
    assert slots[0][1] == appt.ends_at

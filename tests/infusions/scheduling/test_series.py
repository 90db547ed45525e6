"""Induction series (issue 3, CLINICAL.md §1 schedule): proposed from availability following the
protocol's induction schedule, booked all-or-nothing."""

from datetime import timedelta

import pytest

from clinic.core.exceptions import ApplicationError
from clinic.models import SiteOpeningHours
from infusions.protocols.models import Protocol
from infusions.scheduling.models import Appointment, AppointmentEvent, AppointmentSeries
from infusions.scheduling.services import appointment_book, appointment_series_book, series_propose
from tests.factories import ChairFactory
from tests.infusions.scheduling.helpers import local, next_weekday

pytestmark = pytest.mark.django_db


@pytest.fixture
def chairs(site):
    return [ChairFactory(site=site, name=f"Chair {n}") for n in range(1, 4)]


def _days(proposal, site, monday):
    return [(starts_at.astimezone(site.tz).date() - monday).days for _, starts_at, _ in proposal.slots]


# CLINICAL.md §1: ket-iv-dep induction 6 sessions, 3 a week over ~2 weeks (Murrough 2013; Phillips 2019).
def test_ketamine_iv_induction_six_sessions_three_a_week_murrough_2013(own_patient, chairs, site):
    monday = next_weekday(site, 0)
    protocol = Protocol.objects.get(code="ket-iv-dep")
    proposal = series_propose(site=site, protocol=protocol, patient=own_patient, start=local(site, monday, 0))
    assert proposal.complete
    assert (proposal.sessions, proposal.per_week) == (6, 3)
    assert _days(proposal, site, monday) == [0, 2, 4, 7, 9, 11]  # Mon Wed Fri, Mon Wed Fri
    assert all(starts_at.astimezone(site.tz).hour == 8 for _, starts_at, _ in proposal.slots)


# CLINICAL.md §1: esk-in-trd weeks 1-4 twice weekly (Spravato label).
def test_esketamine_induction_twice_weekly_spravato_label(own_patient, chairs, site):
    monday = next_weekday(site, 0)
    protocol = Protocol.objects.get(code="esk-in-trd")
    proposal = series_propose(site=site, protocol=protocol, patient=own_patient, start=local(site, monday, 0))
    days = _days(proposal, site, monday)
    assert proposal.complete
    assert len(days) == protocol.induction_sessions == 8
    assert days == [0, 3, 7, 10, 14, 17, 21, 24]
    for week in range(4):
        assert sum(1 for d in days if 7 * week <= d < 7 * (week + 1)) == 2


def test_proposal_skips_closed_weekdays_and_the_patients_other_bookings(users, own_patient, chairs, site):
    monday = next_weekday(site, 0)
    SiteOpeningHours.objects.create(site=site, weekday=2, closed=True)  # Wednesdays closed
    protocol = Protocol.objects.get(code="ket-iv-dep")
    appointment_book(
        actor=users["frontdesk"], patient=own_patient, chair=None, starts_at=local(site, monday, 8), kind="consult"
    )
    proposal = series_propose(site=site, protocol=protocol, patient=own_patient, start=local(site, monday, 0))
    first = proposal.slots[0][1]
    assert first >= local(site, monday, 8, 30)
    assert all(starts_at.astimezone(site.tz).weekday() != 2 for _, starts_at, _ in proposal.slots)


def test_series_books_every_slot_with_one_series(users, own_patient, chairs, site):
    monday = next_weekday(site, 0)
    protocol = Protocol.objects.get(code="ket-iv-dep")
    proposal = series_propose(site=site, protocol=protocol, patient=own_patient, start=local(site, monday, 0))
    series = appointment_series_book(
        actor=users["frontdesk"],
        patient=own_patient,
        protocol=protocol,
        slots=[(chair, starts_at) for chair, starts_at, _ in proposal.slots],
    )
    booked = list(series.appointments.order_by("starts_at"))
    assert len(booked) == 6
    assert [a.starts_at for a in booked] == [s for _, s, _ in proposal.slots]
    assert {a.status for a in booked} == {"booked"}


def test_one_conflict_and_nothing_is_booked(users, own_patient, other_patient, chairs, site):
    monday = next_weekday(site, 0)
    protocol = Protocol.objects.get(code="ket-iv-dep")
    # someone else already has chair 1 on Friday at 9:00
    appointment_book(
        actor=users["frontdesk"],
        patient=other_patient,
        chair=chairs[0],
        starts_at=local(site, monday + timedelta(days=4), 9),
        kind="infusion",
        protocol=protocol,
    )
    before = (Appointment.objects.count(), AppointmentEvent.objects.count(), AppointmentSeries.objects.count())
    slots = [(chairs[0], local(site, monday + timedelta(days=d), 9)) for d in (0, 2, 4, 7, 9, 11)]
    with pytest.raises(ApplicationError) as error:
        appointment_series_book(actor=users["frontdesk"], patient=own_patient, protocol=protocol, slots=slots)
    assert error.value.rule == "chair_conflict"
    assert error.value.extra["slot"] == 2
    assert (Appointment.objects.count(), AppointmentEvent.objects.count(), AppointmentSeries.objects.count()) == before


def test_slots_that_overlap_each_other_are_refused_whole(users, own_patient, chairs, site):
    monday = next_weekday(site, 0)
    protocol = Protocol.objects.get(code="ket-iv-dep")
    slots = [(chairs[0], local(site, monday, 9)), (chairs[1], local(site, monday, 9, 30))]
    with pytest.raises(ApplicationError) as error:
        appointment_series_book(actor=users["frontdesk"], patient=own_patient, protocol=protocol, slots=slots)
    assert error.value.rule == "patient_conflict"
    assert Appointment.objects.count() == 0

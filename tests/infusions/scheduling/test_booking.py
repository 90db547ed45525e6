"""Booking rules (issue 3): chair hold, conflicts, nurse capacity, hours, the screening gate."""

from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from clinic.models import NurseRoster, SiteClosure, SiteOpeningHours
from infusions.protocols.models import Protocol
from infusions.scheduling import services as booking
from infusions.scheduling.models import Appointment, AppointmentEvent
from infusions.scheduling.services import appointment_book, chair_hold
from tests.factories import ChairFactory, PatientFactory, ScreeningFactory, clear_answers
from tests.infusions.scheduling.helpers import local, next_weekday

pytestmark = pytest.mark.django_db


@pytest.fixture
def chairs(site):
    return [ChairFactory(site=site, name=f"Chair {n}") for n in range(1, 7)]


@pytest.fixture
def monday(site):
    return next_weekday(site, 0)


def _screened_patient(site, **answers):
    patient = PatientFactory(site=site)
    ScreeningFactory(patient=patient)
    return patient


def book(users, patient, chair, starts_at, protocol, role="frontdesk", **kwargs):
    return appointment_book(
        actor=users[role],
        patient=patient,
        chair=chair,
        starts_at=starts_at,
        kind="infusion",
        protocol=protocol,
        **kwargs,
    )


def refused(rule, fn, *args, **kwargs):
    before = (Appointment.objects.count(), AppointmentEvent.objects.count())
    with pytest.raises(ApplicationError) as error:
        fn(*args, **kwargs)
    assert error.value.rule == rule
    assert error.value.status == 409
    assert (Appointment.objects.count(), AppointmentEvent.objects.count()) == before  # nothing written
    return error.value


# CLINICAL.md §1 protocol library: duration + observation; site prep 15 min [U].
@pytest.mark.parametrize(
    ("code", "minutes"),
    [
        ("ket-iv-dep", 15 + 40 + 60),
        ("ket-im-dep", 15 + 5 + 60),
        ("esk-in-trd", 15 + 15 + 120),
        ("ket-iv-crps", 15 + 240 + 60),
        ("ket-iv-sci", 15 + 300 + 60),
        ("ket-po", 15 + 0 + 60),
    ],
    ids=lambda v: str(v),
)
def test_chair_hold_is_prep_plus_duration_plus_observation_clinical_md_s1(site, code, minutes):
    assert chair_hold(site=site, protocol=Protocol.objects.get(code=code)) == timedelta(minutes=minutes)


def test_booking_holds_the_chair_for_the_whole_hold_and_records_history(
    users, own_patient, chairs, protocol, monday, site
):
    appointment = book(users, own_patient, chairs[0], local(site, monday, 9), protocol)
    assert appointment.status == "booked"
    assert appointment.ends_at == local(site, monday, 10, 55)
    assert appointment.during.lower == appointment.starts_at
    assert appointment.during.upper == appointment.ends_at
    assert appointment.site == site
    assert appointment.booked_by == users["frontdesk"]
    assert list(appointment.events.values_list("kind", flat=True)) == ["booked"]


def test_same_chair_overlap_is_chair_conflict(users, own_patient, other_patient, chairs, protocol, monday, site):
    book(users, own_patient, chairs[0], local(site, monday, 9), protocol)
    refused("chair_conflict", book, users, other_patient, chairs[0], local(site, monday, 10, 54), protocol)
    # adjacent [) ranges are fine
    book(users, other_patient, chairs[0], local(site, monday, 10, 55), protocol)


def test_patient_in_two_chairs_at_once_is_patient_conflict(users, own_patient, chairs, protocol, monday, site):
    book(users, own_patient, chairs[0], local(site, monday, 9), protocol)
    refused("patient_conflict", book, users, own_patient, chairs[1], local(site, monday, 10), protocol)


def test_patient_conflict_also_counts_a_consult(users, own_patient, chairs, protocol, monday, site):
    appointment_book(
        actor=users["frontdesk"], patient=own_patient, chair=None, starts_at=local(site, monday, 9), kind="consult"
    )
    refused("patient_conflict", book, users, own_patient, chairs[0], local(site, monday, 9, 15), protocol)


def test_cancelled_appointment_frees_chair_and_patient(
    users, own_patient, other_patient, chairs, protocol, monday, site
):
    first = book(users, own_patient, chairs[0], local(site, monday, 9), protocol)
    booking.appointment_cancel(actor=users["frontdesk"], appointment=first, reason="Patient asked")
    book(users, other_patient, chairs[0], local(site, monday, 9), protocol)
    book(users, own_patient, chairs[1], local(site, monday, 9), protocol)


def test_nurse_capacity_ratio_times_nurses_on_duty(users, chairs, protocol, monday, site):
    # site default: 4 concurrent infusions per nurse [U], 1 nurse on duty.
    for chair in chairs[:4]:
        book(users, _screened_patient(site), chair, local(site, monday, 9), protocol)
    error = refused(
        "nurse_capacity", book, users, _screened_patient(site), chairs[4], local(site, monday, 10), protocol
    )
    assert error.extra["capacity"] == 4
    # after the first four end (10:55), the fifth chair may run
    book(users, _screened_patient(site), chairs[4], local(site, monday, 10, 55), protocol)


def test_a_second_nurse_on_the_roster_doubles_capacity(users, chairs, protocol, monday, site):
    NurseRoster.objects.create(site=site, date=monday, nurses_on_duty=2)
    for chair in chairs[:6]:
        book(users, _screened_patient(site), chair, local(site, monday, 9), protocol)
    assert Appointment.objects.filter(site=site).count() == 6


def test_consults_and_calls_do_not_count_against_nurse_capacity(users, chairs, protocol, monday, site):
    for chair in chairs[:4]:
        book(users, _screened_patient(site), chair, local(site, monday, 9), protocol)
    call = appointment_book(
        actor=users["frontdesk"],
        patient=_screened_patient(site),
        chair=None,
        starts_at=local(site, monday, 9),
        kind="call",
    )
    assert call.ends_at - call.starts_at == timedelta(minutes=15)


def test_outside_opening_hours(users, own_patient, chairs, protocol, monday, site):
    refused("outside_opening_hours", book, users, own_patient, chairs[0], local(site, monday, 7, 45), protocol)
    # 16:30 + 1 h 55 ends after 18:00
    refused("outside_opening_hours", book, users, own_patient, chairs[0], local(site, monday, 16, 30), protocol)
    book(users, own_patient, chairs[0], local(site, monday, 16, 5), protocol)


def test_weekday_hours_and_closed_weekday(users, own_patient, chairs, protocol, site):
    SiteOpeningHours.objects.create(site=site, weekday=5, opens_at=time(9), closes_at=time(13))
    SiteOpeningHours.objects.create(site=site, weekday=6, closed=True)
    saturday, sunday = next_weekday(site, 5), next_weekday(site, 6)
    refused("outside_opening_hours", book, users, own_patient, chairs[0], local(site, saturday, 8), protocol)
    refused("site_closed", book, users, own_patient, chairs[0], local(site, sunday, 9), protocol)
    book(users, own_patient, chairs[0], local(site, saturday, 9), protocol)


def test_closed_day(users, own_patient, chairs, protocol, monday, site):
    SiteClosure.objects.create(site=site, date=monday, reason="Bank holiday")
    refused("site_closed", book, users, own_patient, chairs[0], local(site, monday, 9), protocol)


def test_past_and_inactive_chair(users, own_patient, chairs, protocol, site):
    refused("appointment_in_past", book, users, own_patient, chairs[0], timezone.now() - timedelta(hours=1), protocol)
    chairs[0].is_active = False
    chairs[0].save()
    refused("chair_inactive", book, users, own_patient, chairs[0], local(site, next_weekday(site), 9), protocol)


# CLINICAL.md §2 screening gate.
def test_no_screening_refuses_an_infusion(users, chairs, protocol, monday, site):
    patient = PatientFactory(site=site)
    refused("screening_missing", book, users, patient, chairs[0], local(site, monday, 9), protocol)


def test_expired_screening_refuses_an_infusion(users, chairs, protocol, monday, site):
    patient = PatientFactory(site=site)
    screened = timezone.now() - timedelta(days=400)
    ScreeningFactory(patient=patient, screened_at=screened, valid_until=screened + timedelta(days=365))
    refused("screening_expired", book, users, patient, chairs[0], local(site, monday, 9), protocol)


def test_absolute_contraindication_refuses_even_a_clinician(users, chairs, protocol, monday, site):
    patient = PatientFactory(site=site)
    ScreeningFactory(
        patient=patient, answers=clear_answers(aneurysm_or_avm=True), outcome="absolute", reasons=["aneurysm_or_avm"]
    )
    refused(
        "contraindication_absolute",
        book,
        users,
        patient,
        chairs[0],
        local(site, monday, 9),
        protocol,
        role="clinician",
        override_reason="I accept",
    )


@pytest.fixture
def relative_patient(site):
    patient = PatientFactory(site=site)
    ScreeningFactory(
        patient=patient,
        answers=clear_answers(substance_use_disorder=True),
        outcome="relative",
        reasons=["substance_use_disorder"],
    )
    return patient


def test_relative_contraindication_front_desk_is_refused(users, relative_patient, chairs, protocol, monday, site):
    error = refused(
        "contraindication_relative",
        book,
        users,
        relative_patient,
        chairs[0],
        local(site, monday, 9),
        protocol,
        override_reason="please",
    )
    assert "reasons" not in error.extra  # front desk reads no clinical detail (DESIGN.md roles)
    assert "substance" not in error.message


def test_relative_contraindication_clinician_without_reason_is_refused(
    users, relative_patient, chairs, protocol, monday, site
):
    error = refused(
        "contraindication_relative",
        book,
        users,
        relative_patient,
        chairs[0],
        local(site, monday, 9),
        protocol,
        role="clinician",
    )
    assert error.extra["reasons"] == ["substance_use_disorder"]


def test_relative_contraindication_clinician_override_with_reason(
    users, relative_patient, chairs, protocol, monday, site
):
    appointment = book(
        users,
        relative_patient,
        chairs[0],
        local(site, monday, 9),
        protocol,
        role="clinician",
        override_reason="Abstinent 5 years; benefits outweigh risk.",
    )
    assert appointment.override_reason == "Abstinent 5 years; benefits outweigh risk."
    assert appointment.override_by == users["clinician"]
    assert appointment.events.get().reason == appointment.override_reason


def test_consult_needs_no_screening_and_no_chair(users, chairs, monday, site):
    patient = PatientFactory(site=site)
    consult = appointment_book(
        actor=users["frontdesk"], patient=patient, chair=None, starts_at=local(site, monday, 9), kind="consult"
    )
    assert consult.chair is None
    assert consult.ends_at == local(site, monday, 9, 30)


def test_bad_input_is_a_400_validation_error(users, own_patient, other_patient, chairs, protocol, course, monday, site):
    with pytest.raises(ValidationError, match="chair"):
        appointment_book(
            actor=users["frontdesk"],
            patient=own_patient,
            chair=chairs[0],
            starts_at=local(site, monday, 9),
            kind="consult",
        )
    with pytest.raises(ValidationError, match="chair"):
        appointment_book(
            actor=users["frontdesk"],
            patient=own_patient,
            chair=None,
            starts_at=local(site, monday, 9),
            kind="infusion",
            protocol=protocol,
        )
    with pytest.raises(ValidationError, match="course"):
        book(users, own_patient, chairs[0], local(site, monday, 9), protocol, course=course)  # other patient's course
    assert Appointment.objects.count() == 0


def test_course_gives_the_protocol(users, other_patient, chairs, course, monday, site):
    appointment = appointment_book(
        actor=users["frontdesk"],
        patient=other_patient,
        chair=chairs[0],
        starts_at=local(site, monday, 9),
        kind="infusion",
        course=course,
    )
    assert appointment.protocol == course.protocol


def test_a_race_lost_after_the_checks_is_the_same_409(
    users, own_patient, other_patient, chairs, protocol, monday, site, monkeypatch
):
    """The checks pass (as when two requests check at once) but the exclusion constraint
    refuses the insert: the caller gets chair_conflict, never a 500."""
    book(users, own_patient, chairs[0], local(site, monday, 9), protocol)
    monkeypatch.setattr(booking, "_check_conflicts", lambda **kwargs: None)
    refused("chair_conflict", book, users, other_patient, chairs[0], local(site, monday, 9, 30), protocol)
    refused("patient_conflict", book, users, own_patient, chairs[1], local(site, monday, 9, 30), protocol)

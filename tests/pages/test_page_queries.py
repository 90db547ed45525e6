"""Query counts of the pages that list rows (STYLE.md: django_assert_num_queries at two
sizes): the nurse's board, the bedside page, the clinician's patient page, the portal, the
booking page and the approvals page. The count must not grow with the rows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from infusions.scheduling.services import appointment_book
from infusions.sessions.services import session_create
from patients.services import assessment_record
from tests.factories import (
    ChairFactory,
    CourseFactory,
    MeasurementFactory,
    PatientFactory,
    ScreeningFactory,
)
from tests.monitoring.bedside_helpers import record, start
from tests.monitoring.outcome_helpers import items_for

pytestmark = pytest.mark.django_db


def running_sessions(count, *, users, site, protocol):
    """`count` patients in chairs, each session started with a baseline and a set that
    raises alerts (CLINICAL.md §3: systolic 185 is high; +63 from baseline is medium)."""
    sessions = []
    for index in range(count):
        chair = ChairFactory(site=site, name=f"Chair {index + 1:02d}")
        patient = PatientFactory(site=site)
        MeasurementFactory(patient=patient)
        ScreeningFactory(patient=patient)
        course = CourseFactory(patient=patient, protocol=protocol, created_by=users["clinician"])
        appointment = appointment_book(
            actor=users["frontdesk"],
            patient=patient,
            chair=chair,
            starts_at=timezone.now() + timedelta(minutes=5),
            protocol=protocol,
        )
        session = session_create(actor=users["nurse"], course=course, dose=Decimal("0.5"), appointment=appointment)
        session = start(session, users["nurse"])
        record(session, users["nurse"], systolic=185, diastolic=95)
        sessions.append(session)
    return sessions


# The exact counts: they are the same at both sizes.
BOARD_QUERIES = 8  # + who is on call (clinic.oncall)
BEDSIDE_QUERIES = 16
PATIENT_QUERIES = 24
PORTAL_QUERIES = 6
BOOK_QUERIES = 8
APPROVALS_QUERIES = 4


@pytest.mark.parametrize("count", [1, 4])
def test_board_queries_do_not_grow(clinic_day, client, staff_at_site, site, protocol, count, django_assert_num_queries):
    running_sessions(count, users=staff_at_site, site=site, protocol=protocol)
    client.force_login(staff_at_site["nurse"])
    with django_assert_num_queries(BOARD_QUERIES):
        response = client.get(reverse("monitoring:board"))
    assert response.status_code == 200
    assert response.content.decode().count('class="chair-session"') == count


@pytest.mark.parametrize("sets", [1, 8])
def test_bedside_queries_do_not_grow(
    clinic_day, client, staff_at_site, site, protocol, sets, django_assert_num_queries
):
    (session,) = running_sessions(1, users=staff_at_site, site=site, protocol=protocol)
    for minute in range(sets - 1):
        clinic_day.shift(timedelta(minutes=1))
        record(session, staff_at_site["nurse"], systolic=120 + minute)
    client.force_login(staff_at_site["nurse"])
    with django_assert_num_queries(BEDSIDE_QUERIES):
        response = client.get(reverse("monitoring:bedside", args=[session.pk]))
    assert response.status_code == 200
    assert response.content.decode().count("<tr>") - 1 == sets + 1  # header row + baseline + sets


def scored_course(*, users, patient, protocol, sessions: int, scores: int):
    """A course with `sessions` sessions given and `scores` PHQ-9s (through the service)."""
    from tests.factories import SessionFactory

    course = CourseFactory(patient=patient, protocol=protocol, created_by=users["clinician"])
    now = timezone.now()
    for index in range(sessions):
        at = now - timedelta(days=2 * (sessions - index))
        SessionFactory(course=course, created_by=users["nurse"], status="discharged", started_at=at)
    for index in range(scores):
        assessment_record(
            actor=users["nurse"],
            patient=patient,
            instrument="PHQ9",
            items=items_for("PHQ9", 20 - index),
            administered_at=now - timedelta(days=2 * sessions + 1 - index),
        )
    return course


@pytest.mark.parametrize(("sessions", "scores"), [(1, 1), (6, 8)])
def test_patient_page_queries_do_not_grow(
    client, users, other_patient, protocol, site, sessions, scores, django_assert_num_queries
):
    scored_course(users=users, patient=other_patient, protocol=protocol, sessions=sessions, scores=scores)
    client.force_login(users["clinician"])
    url = reverse("monitoring:patient", args=[other_patient.pk])
    client.get(url)  # the first visit stores the recommendation; count a revisit
    with django_assert_num_queries(PATIENT_QUERIES):
        response = client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("count", [1, 5])
def test_portal_queries_do_not_grow(
    clinic_day, client, users, own_patient, protocol, site, count, django_assert_num_queries
):
    chair = ChairFactory(site=site)
    for index in range(count):
        appointment_book(
            actor=users["frontdesk"],
            patient=own_patient,
            chair=chair,
            starts_at=timezone.now() + timedelta(days=index + 1),
            protocol=protocol,
        )
        assessment_record(actor=users["patient"], patient=own_patient, instrument="PHQ9", items=items_for("PHQ9", 9))
    client.force_login(users["patient"])
    with django_assert_num_queries(PORTAL_QUERIES):
        response = client.get(reverse("infusions:portal"))
    assert response.status_code == 200
    assert response.content.decode().count("Arrive by") == count


@pytest.mark.parametrize("count", [1, 5])
def test_booking_page_queries_do_not_grow(
    clinic_day, client, staff_at_site, own_patient, protocol, site, count, django_assert_num_queries
):
    chair = ChairFactory(site=site)
    for index in range(count):
        appointment_book(
            actor=staff_at_site["frontdesk"],
            patient=own_patient,
            chair=chair,
            starts_at=timezone.now() + timedelta(days=index + 1),
            protocol=protocol,
        )
    client.force_login(staff_at_site["frontdesk"])
    with django_assert_num_queries(BOOK_QUERIES):
        response = client.get(reverse("infusions:book", args=[own_patient.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("count", [1, 5])
def test_approvals_page_queries_do_not_grow(client, users, protocol, count, django_assert_num_queries):
    for _ in range(count):
        patient = PatientFactory()
        MeasurementFactory(patient=patient)
        ScreeningFactory(patient=patient)
        course = CourseFactory(patient=patient, protocol=protocol, created_by=users["clinician"])
        session_create(actor=users["nurse"], course=course, dose=Decimal("0.9"))  # above the soft max 0.75
    client.force_login(users["clinician"])
    with django_assert_num_queries(APPROVALS_QUERIES):
        response = client.get(reverse("infusions:approvals"))
    assert response.status_code == 200
    assert response.content.decode().count("Approve dose") == count

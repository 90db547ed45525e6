"""`POST /api/v1/sessions/` takes an optional `appointment`, which must be the course's patient's."""

import pytest

from tests.factories import AppointmentFactory, ChairFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chair(site):
    return ChairFactory(site=site)


def test_session_links_the_course_patients_appointment(api, users, course, chair, site):
    appointment = AppointmentFactory(patient=course.patient, chair=chair, site=site)
    response = api(users["nurse"]).post(
        "/api/v1/sessions/", {"course": course.pk, "dose": "0.5", "appointment": appointment.pk}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["appointment"] == appointment.pk
    again = api(users["nurse"]).post(
        "/api/v1/sessions/", {"course": course.pk, "dose": "0.5", "appointment": appointment.pk}, format="json"
    )
    assert again.status_code == 409
    assert again.json()["rule"] == "appointment_has_session"


def test_another_patients_appointment_is_refused(api, users, course, own_patient, chair, site):
    appointment = AppointmentFactory(patient=own_patient, chair=chair, site=site)
    response = api(users["nurse"]).post(
        "/api/v1/sessions/", {"course": course.pk, "dose": "0.5", "appointment": appointment.pk}, format="json"
    )
    assert response.status_code == 400
    assert "appointment" in response.json()


def test_cancelled_appointment_is_refused(api, users, course, chair, site):
    appointment = AppointmentFactory(patient=course.patient, chair=chair, site=site, status="cancelled")
    response = api(users["nurse"]).post(
        "/api/v1/sessions/", {"course": course.pk, "dose": "0.5", "appointment": appointment.pk}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["rule"] == "appointment_status"


def test_unknown_appointment_is_400(api, users, course):
    response = api(users["nurse"]).post(
        "/api/v1/sessions/", {"course": course.pk, "dose": "0.5", "appointment": 999999}, format="json"
    )
    assert response.status_code == 400
    assert "appointment" in response.json()

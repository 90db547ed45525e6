"""Sessions: the dose is computed by the service, refused when unsafe, approved when outside
the soft range (CLINICAL.md §1-2), and nothing is written on a refusal."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from infusions.protocols.models import Protocol
from infusions.sessions.models import InfusionSession
from tests.factories import CourseFactory, MeasurementFactory, PatientFactory, ScreeningFactory, clear_answers

pytestmark = pytest.mark.django_db


def post_session(api, user, **body):
    return api(user).post("/api/v1/sessions/", body, format="json")


def test_session_figures_and_snapshot(api, users, course):
    r = post_session(api, users["nurse"], course=course.id, dose=0.5)
    assert r.status_code == 201, r.content
    s = r.json()
    # CLINICAL.md §1 worked example.
    assert (s["weight_kg"], s["dose"], s["total_dose_mg"], s["rate_mg_per_h"], s["volume_ml"], s["rate_ml_per_h"]) == (
        82.4,
        0.5,
        41.2,
        61.8,
        41.2,
        61.8,
    )
    assert (s["status"], s["requires_approval"]) == ("planned", False)


def test_dose_preview_saves_nothing(api, users, course):
    r = api(users["clinician"]).get(
        f"/api/v1/sessions/dose-preview/?course={course.id}&dose=0.5&concentration_mg_per_ml=2"
    )
    assert r.status_code == 200
    assert (r.json()["volume_ml"], r.json()["rate_ml_per_h"]) == (20.6, 30.9)
    assert InfusionSession.objects.count() == 0


def _patient_for(setup: str, site, now):
    """A patient whose record triggers the refusal under test."""
    patient = PatientFactory(site=site)
    if setup != "no_weight":
        age = timedelta(days=31) if setup == "stale_weight" else timedelta(days=1)
        MeasurementFactory(
            patient=patient, measured_at=now - age, weight_kg=D("160") if setup == "heavy" else D("82.4")
        )
    if setup == "expired_screening":
        ScreeningFactory(patient=patient, screened_at=now - timedelta(days=400), valid_until=now - timedelta(days=35))
    elif setup == "absolute":
        ScreeningFactory(
            patient=patient,
            answers=clear_answers(pregnant_or_breastfeeding=True),
            outcome="absolute",
            reasons=["pregnant_or_breastfeeding"],
        )
    elif setup != "no_screening":
        ScreeningFactory(patient=patient)
    return patient


@pytest.mark.parametrize(
    ("setup", "body", "rule"),
    [
        pytest.param("none", {"dose": 1.2}, "dose_above_hard_max", id="CLINICAL.md-1-hard-max-1.0mg/kg"),
        pytest.param(
            "none", {"dose": 0.5, "concentration_mg_per_ml": 11}, "iv_concentration_above_max", id="Ketalar-10mg/mL"
        ),
        pytest.param("stale_weight", {"dose": 0.5}, "weight_stale", id="CLINICAL.md-1-weight-older-than-30-days"),
        pytest.param("no_weight", {"dose": 0.5}, "weight_missing", id="CLINICAL.md-1-weight-missing"),
        pytest.param("no_screening", {"dose": 0.5}, "screening_missing", id="CLINICAL.md-2-screening-missing"),
        pytest.param("expired_screening", {"dose": 0.5}, "screening_expired", id="CLINICAL.md-2-valid-12-months"),
        pytest.param("absolute", {"dose": 0.5}, "contraindication_absolute", id="CLINICAL.md-2-absolute"),
        pytest.param("heavy", {"dose": 1.0}, "total_above_cap", id="total-cap-150mg[U]"),
    ],
)
def test_refusals_are_409_with_the_rule_and_write_nothing(api, users, protocol, site, setup, body, rule):
    now = timezone.now()
    course = CourseFactory(patient=_patient_for(setup, site, now), protocol=protocol, created_by=users["clinician"])
    for user in (users["nurse"], users["clinician"]):
        r = post_session(api, user, course=course.id, override_reason="because", **body)
        assert r.status_code == 409, r.content
        assert r.json()["rule"] == rule
        assert r.json()["detail"]
        preview = api(user).get("/api/v1/sessions/dose-preview/", {"course": course.id, **body})
        assert preview.status_code == 409
        assert preview.json()["rule"] == rule
    assert InfusionSession.objects.count() == 0


def test_weight_30_days_old_is_still_fresh(api, users, protocol, site):
    """CLINICAL.md §1: the latest measurement no older than 30 days [U]."""
    now = timezone.now()
    patient = PatientFactory(site=site)
    MeasurementFactory(patient=patient, measured_at=now - timedelta(days=30) + timedelta(minutes=5))
    ScreeningFactory(patient=patient)
    course = CourseFactory(patient=patient, protocol=protocol, created_by=users["clinician"])
    assert post_session(api, users["nurse"], course=course.id, dose=0.5).status_code == 201


def test_site_override_changes_the_weight_window(api, users, protocol, site):
    """Clinical numbers are configuration: a site may shorten the 30-day window."""
    site.clinical_overrides = {"weight_valid_days": 7}
    site.save()
    now = timezone.now()
    patient = PatientFactory(site=site)
    MeasurementFactory(patient=patient, measured_at=now - timedelta(days=8))
    ScreeningFactory(patient=patient)
    course = CourseFactory(patient=patient, protocol=protocol, created_by=users["clinician"])
    r = post_session(api, users["nurse"], course=course.id, dose=0.5)
    assert (r.status_code, r.json()["rule"]) == (409, "weight_stale")


def test_soft_range_by_a_nurse_waits_for_a_prescriber(api, users, course):
    """CLINICAL.md §1: outside the soft range (0.1-0.75 mg/kg) needs a clinician's approval with a reason."""
    r = post_session(api, users["nurse"], course=course.id, dose=0.8)
    assert r.status_code == 201
    s = r.json()
    assert s["requires_approval"] is True
    assert s["approval_reasons"] == ["dose_outside_soft_range"]
    url = f"/api/v1/sessions/{s['id']}/approve/"
    assert api(users["nurse"]).post(url, {"reason": "x"}, format="json").status_code == 403
    r = api(users["clinician"]).post(url, {"reason": ""}, format="json")
    assert r.status_code == 400
    assert "reason" in r.json()
    r = api(users["clinician"]).post(url, {"reason": "Partial response at 0.75 mg/kg"}, format="json")
    assert r.status_code == 200
    assert r.json()["requires_approval"] is False
    assert r.json()["approved_by"] == users["clinician"].id
    assert r.json()["override_reason"] == "Partial response at 0.75 mg/kg"
    again = api(users["clinician"]).post(url, {"reason": "again"}, format="json")
    assert (again.status_code, again.json()["rule"]) == (409, "approval_not_needed")


def test_soft_range_by_a_prescriber_needs_a_reason(api, users, course):
    r = post_session(api, users["clinician"], course=course.id, dose=0.05)
    assert r.status_code == 400
    assert "override_reason" in r.json()
    assert InfusionSession.objects.count() == 0
    r = post_session(api, users["clinician"], course=course.id, dose=0.05, override_reason="Elderly, start low")
    assert r.status_code == 201
    s = InfusionSession.objects.get()
    assert (s.requires_approval, s.approved_by, s.override_reason) == (False, users["clinician"], "Elderly, start low")


def test_relative_contraindication_needs_approval(api, users, protocol, site):
    """CLINICAL.md §2: a relative contraindication needs a clinician's override with a reason."""
    patient = PatientFactory(site=site)
    MeasurementFactory(patient=patient)
    ScreeningFactory(
        patient=patient,
        answers=clear_answers(substance_use_disorder=True),
        outcome="relative",
        reasons=["substance_use_disorder"],
    )
    course = CourseFactory(patient=patient, protocol=protocol, created_by=users["clinician"])
    s = post_session(api, users["nurse"], course=course.id, dose=0.5).json()
    assert s["requires_approval"] is True
    assert s["approval_reasons"] == ["relative_contraindication:substance_use_disorder"]


def test_esketamine_fixed_dose_in_device_steps(api, users, site):
    """Spravato label: 56 or 84 mg in 28 mg devices; no weight needed; 70 mg refused."""
    patient = PatientFactory(site=site)
    ScreeningFactory(patient=patient)
    course = CourseFactory(
        patient=patient, protocol=Protocol.objects.get(code="esk-in-trd"), created_by=users["clinician"]
    )
    r = post_session(api, users["nurse"], course=course.id, dose=84)
    assert r.status_code == 201, r.content
    assert (r.json()["total_dose_mg"], r.json()["devices"], r.json()["volume_ml"]) == (84.0, 3, None)
    r = post_session(api, users["nurse"], course=course.id, dose=70)
    assert (r.status_code, r.json()["rule"]) == (409, "dose_step")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dose": "abc"}, "dose"),
        ({"dose": -1}, "dose"),
        ({}, "dose"),
        ({"dose": 0.5, "concentration_mg_per_ml": 0}, "concentration_mg_per_ml"),
    ],
)
def test_bad_input_is_400_naming_the_field(api, users, course, body, field):
    r = post_session(api, users["nurse"], course=course.id, **body)
    assert r.status_code == 400
    assert field in r.json()


def test_unknown_course_is_a_field_error(api, users):
    r = post_session(api, users["nurse"], course=999999, dose=0.5)
    assert r.status_code == 400
    assert "course" in r.json()


def test_course_creation_is_gated_by_screening(api, users, protocol, site):
    patient = PatientFactory(site=site)
    r = api(users["clinician"]).post(
        "/api/v1/courses/", {"patient": patient.id, "protocol": protocol.id, "indication": "trd"}, format="json"
    )
    assert (r.status_code, r.json()["rule"]) == (409, "screening_missing")
    assert not patient.courses.exists()

"""Outcome assessments (CLINICAL.md §5): scored by the service from the items, attributed,
append-only; staff record them for any patient, patients submit their own PHQ-9 / GAD-7;
PHQ-9 item 9 above 0 creates an urgent clinician review at once, whatever the total."""

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from monitoring.followups.models import FollowUp
from patients.models import Assessment
from patients.services import assessment_record

pytestmark = pytest.mark.django_db

PHQ9_MILD = [1, 1, 1, 1, 1, 1, 1, 0, 0]  # 7, mild (Kroenke 2001)
PHQ9_ITEM9 = [0, 0, 0, 0, 0, 0, 0, 0, 1]  # 1, minimal, item 9 = 1


def test_staff_records_an_assessment_and_gets_the_computed_score(api, users, other_patient):
    r = api(users["nurse"]).post(
        f"/api/v1/patients/{other_patient.id}/assessments/", {"instrument": "PHQ9", "items": PHQ9_MILD}, format="json"
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["total"], body["severity"], body["flags"]) == (7, "mild", [])
    assert (body["source"], body["recorded_by"], body["items"]) == ("staff", users["nurse"].id, PHQ9_MILD)
    stored = Assessment.objects.get(pk=body["id"])
    assert (stored.total, stored.severity, stored.recorded_by, stored.source) == (7, "mild", users["nurse"], "staff")


@pytest.mark.parametrize(
    ("instrument", "items", "total", "severity"),
    [
        ("GAD7", [3, 3, 3, 3, 3, 0, 0], 15, "severe"),  # Spitzer 2006
        ("MADRS", [2, 2, 2, 2, 2, 2, 2, 2, 2, 2], 20, "moderate"),  # Snaith
        ("PAIN_NRS", [6], 6, None),
    ],
)
def test_clinician_records_every_instrument(api, users, other_patient, instrument, items, total, severity):
    r = api(users["clinician"]).post(
        f"/api/v1/patients/{other_patient.id}/assessments/", {"instrument": instrument, "items": items}, format="json"
    )
    assert r.status_code == 201, r.content
    assert (r.json()["total"], r.json()["severity"]) == (total, severity)


@pytest.mark.parametrize("field", ["total", "severity", "flags"])
def test_a_client_cannot_send_a_total(api, users, other_patient, field):
    r = api(users["nurse"]).post(
        f"/api/v1/patients/{other_patient.id}/assessments/",
        {"instrument": "PHQ9", "items": PHQ9_MILD, field: 0},
        format="json",
    )
    assert r.status_code == 400
    assert field in r.json()
    assert not Assessment.objects.exists()


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([0, 0, 0, 0, 0, 0, 0, 0, 4], "items.9"),
        ([0, 0, 0, 0, 0, 0, 0, 0], "items.9"),
        ([0, 0, 5, 0, 0, 0, 0, 0, 0], "items.3"),
        ({"1": 0}, "items.2"),
    ],
)
def test_out_of_range_or_missing_items_are_refused_naming_the_item(api, users, other_patient, items, field):
    r = api(users["nurse"]).post(
        f"/api/v1/patients/{other_patient.id}/assessments/", {"instrument": "PHQ9", "items": items}, format="json"
    )
    assert r.status_code == 400
    assert field in r.json(), r.json()
    assert f"item {field.split('.')[1]}" in r.json()[field][0]
    assert not Assessment.objects.exists()


def test_administered_in_the_future_is_refused(api, users, other_patient):
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    r = api(users["nurse"]).post(
        f"/api/v1/patients/{other_patient.id}/assessments/",
        {"instrument": "PHQ9", "items": PHQ9_MILD, "administered_at": later},
        format="json",
    )
    assert r.status_code == 400
    assert "administered_at" in r.json()


def test_administered_at_in_the_past_is_kept(api, users, other_patient):
    earlier = timezone.now() - timedelta(days=3)
    r = api(users["nurse"]).post(
        f"/api/v1/patients/{other_patient.id}/assessments/",
        {"instrument": "PHQ9", "items": PHQ9_MILD, "administered_at": earlier.isoformat()},
        format="json",
    )
    assert r.status_code == 201
    assert Assessment.objects.get().administered_at == earlier


def test_staff_list_newest_first_and_filtered(api, users, other_patient):
    for days, items in ((3, PHQ9_MILD), (1, [0] * 9)):
        assessment_record(
            actor=users["nurse"],
            patient=other_patient,
            instrument="PHQ9",
            items=items,
            administered_at=timezone.now() - timedelta(days=days),
        )
    assessment_record(actor=users["nurse"], patient=other_patient, instrument="GAD7", items=[1] * 7)
    r = api(users["clinician"]).get(f"/api/v1/patients/{other_patient.id}/assessments/?instrument=PHQ9")
    assert r.status_code == 200
    assert [row["total"] for row in r.json()] == [0, 7]
    assert r["X-Total-Count"] == "2"
    assert len(api(users["clinician"]).get(f"/api/v1/patients/{other_patient.id}/assessments/").json()) == 3


def test_patient_submits_their_own_phq9_through_the_portal(api, users, own_patient):
    r = api(users["patient"]).post("/api/v1/me/assessments/", {"instrument": "PHQ9", "items": PHQ9_MILD}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["patient"], body["source"], body["recorded_by"], body["total"]) == (
        own_patient.id,
        "patient",
        users["patient"].id,
        7,
    )
    r = api(users["patient"]).post("/api/v1/me/assessments/", {"instrument": "GAD7", "items": [0] * 7}, format="json")
    assert r.status_code == 201
    listed = api(users["patient"]).get("/api/v1/me/assessments/").json()
    assert {row["instrument"] for row in listed} == {"PHQ9", "GAD7"}


@pytest.mark.parametrize(("instrument", "items"), [("MADRS", [0] * 10), ("PAIN_NRS", [3])])
def test_patient_may_not_submit_clinician_instruments(api, users, own_patient, instrument, items):
    r = api(users["patient"]).post("/api/v1/me/assessments/", {"instrument": instrument, "items": items}, format="json")
    assert r.status_code == 400
    assert "instrument" in r.json()
    assert not Assessment.objects.exists()


def test_patient_sees_only_their_own_history(api, users, own_patient, other_patient):
    assessment_record(actor=users["nurse"], patient=other_patient, instrument="PHQ9", items=PHQ9_MILD)
    assessment_record(actor=users["nurse"], patient=own_patient, instrument="PHQ9", items=[0] * 9)
    rows = api(users["patient"]).get("/api/v1/me/assessments/").json()
    assert [row["patient"] for row in rows] == [own_patient.id]


def test_service_refuses_a_patient_recording_for_someone_else(users, own_patient, other_patient):
    from clinic.core.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as caught:
        assessment_record(actor=users["patient"], patient=other_patient, instrument="PHQ9", items=PHQ9_MILD)
    assert caught.value.status == 404
    with pytest.raises(ApplicationError) as caught:
        assessment_record(actor=users["frontdesk"], patient=other_patient, instrument="PHQ9", items=PHQ9_MILD)
    assert caught.value.status == 403
    assert not Assessment.objects.exists()


def test_assessments_are_append_only(users, other_patient):
    assessment = assessment_record(actor=users["nurse"], patient=other_patient, instrument="PHQ9", items=PHQ9_MILD)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.filter(pk=assessment.pk).update(total=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.filter(pk=assessment.pk).delete()
    assert Assessment.objects.get(pk=assessment.pk).total == 7


# ---- PHQ-9 item 9 (CLINICAL.md §5, §7) ----------------------------------------------------


@pytest.mark.parametrize("via", ["staff", "portal"])
def test_item9_creates_an_urgent_clinician_review_at_once_whatever_the_total(api, users, own_patient, via):
    """CLINICAL.md §5: PHQ-9 item 9 > 0 -> urgent suicide-risk review, due at once (total 1, minimal)."""
    with time_machine.travel(timezone.now(), tick=False):
        if via == "staff":
            client, path = api(users["nurse"]), f"/api/v1/patients/{own_patient.id}/assessments/"
        else:
            client, path = api(users["patient"]), "/api/v1/me/assessments/"
        r = client.post(path, {"instrument": "PHQ9", "items": PHQ9_ITEM9}, format="json")
        assert r.status_code == 201, r.content
        assert (r.json()["total"], r.json()["severity"], r.json()["flags"]) == (1, "minimal", ["suicide_risk"])
        review = FollowUp.objects.get(kind="suicide_risk_review")
        assert (review.patient_id, review.assignee_role, review.due_at) == (own_patient.id, "clinician", timezone.now())
        assert review.subject_type == "patients.assessment"
        assert review.subject_id == r.json()["id"]
        assert "item 9 = 1" in review.note


def test_no_review_without_item9_even_when_severe(users, other_patient):
    assessment_record(actor=users["nurse"], patient=other_patient, instrument="PHQ9", items=[3, 3, 3, 3, 3, 3, 3, 3, 0])
    assert not FollowUp.objects.filter(kind="suicide_risk_review").exists()


def test_the_review_is_written_in_the_assessments_transaction(users, other_patient, monkeypatch):
    """A failing hook rolls the assessment back: nothing half-written."""
    from patients import hooks

    def boom(assessment):
        raise RuntimeError("hook failed")

    monkeypatch.setitem(hooks._assessment_hooks, "test.boom", boom)
    with pytest.raises(RuntimeError):
        assessment_record(actor=users["nurse"], patient=other_patient, instrument="PHQ9", items=PHQ9_ITEM9)
    assert not Assessment.objects.exists()
    assert not FollowUp.objects.exists()


def test_the_monitoring_hook_is_registered_at_startup():
    from monitoring.outcomes.services import paused_check_schedule, suicide_risk_review_ensure
    from patients.hooks import assessment_hooks

    assert {suicide_risk_review_ensure, paused_check_schedule} <= set(assessment_hooks())


# ---- permission matrix ----------------------------------------------------------------------

ROLES = ("admin", "clinician", "nurse", "frontdesk", "patient")
BODY = {"instrument": "PHQ9", "items": PHQ9_MILD}


@pytest.mark.parametrize("owner", ["own", "other"])
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("role", ROLES)
def test_matrix_patient_assessments(api, users, own_patient, other_patient, role, method, owner):
    """Clinical staff only; front desk (and admin) never read assessments: 403; a patient on the
    staff route gets 404, own record or not (they use me/assessments/)."""
    patient = own_patient if owner == "own" else other_patient
    response = getattr(api(users[role]), method)(f"/api/v1/patients/{patient.id}/assessments/", BODY, format="json")
    expected = {"clinician": (200, 201), "nurse": (200, 201), "patient": (404,)}.get(role, (403,))
    assert response.status_code in expected, (response.status_code, response.content[:200])


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("role", ROLES)
def test_matrix_my_assessments(api, users, own_patient, role, method):
    response = getattr(api(users[role]), method)("/api/v1/me/assessments/", BODY, format="json")
    if role == "patient":
        assert response.status_code in (200, 201)
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("path", ["/api/v1/me/assessments/", "/api/v1/patients/1/assessments/"])
def test_anonymous_is_401(api, path):
    assert api(None).get(path).status_code == 401


def test_unknown_patient_is_404(api, users):
    assert api(users["nurse"]).get("/api/v1/patients/999999/assessments/").status_code == 404


def test_patient_without_a_record_gets_404(api, users, db):
    from tests.factories import UserFactory

    orphan = UserFactory(username="orphan", role="patient")
    assert api(orphan).get("/api/v1/me/assessments/").status_code == 404


@pytest.mark.parametrize("size", [3, 12])
def test_list_query_count_is_constant(api, users, other_patient, django_assert_num_queries, size):
    for _ in range(size):
        assessment_record(actor=users["nurse"], patient=other_patient, instrument="PHQ9", items=PHQ9_MILD)
    client = api(users["clinician"])
    client.get(f"/api/v1/patients/{other_patient.id}/assessments/")  # warm the token cache
    # token + user, patient, count, rows, the patient access log (issue 8)
    with django_assert_num_queries(5):
        r = client.get(f"/api/v1/patients/{other_patient.id}/assessments/")
    assert len(r.json()) == size

"""The clinician's patient page (issue 7, item 3): the score trajectory with baseline, response
and remission lines; the maintenance recommendation with its reasoning; accept, change or
reject through monitoring.outcomes.services.recommendation_decide."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from monitoring.outcomes.models import MaintenanceDecision, MaintenanceRecommendation
from tests.factories import ChairFactory
from tests.pages.scenarios import responder_course

pytestmark = pytest.mark.django_db


@pytest.fixture
def responder(users, other_patient, protocol, site):
    ChairFactory(site=site)
    return responder_course(patient=other_patient, users=users, protocol=protocol)


def _chart(response):
    html = response.content.decode()
    start = html.index('id="score-chart-data"')
    body = html[html.index(">", start) + 1 : html.index("</script>", start)]
    return json.loads(body)


def test_score_chart_lines_come_from_the_course_and_the_policy(client, users, responder, other_patient):
    client.force_login(users["clinician"])
    response = client.get(reverse("monitoring:patient", args=[other_patient.pk]))
    assert response.status_code == 200
    chart = _chart(response)
    assert [p["y"] for p in chart["series"][0]["points"]] == [20, 14, 9, 8]
    # CLINICAL.md §5: baseline = the last score before the first session; response = 50 %
    # below it; remission = PHQ-9 < 5 (CMS159).
    assert [(line["label"], line["y"]) for line in chart["lines"]] == [
        ("Baseline (20)", 20),
        ("Response (50 % below baseline: 10)", 10),
        ("Remission (PHQ-9 < 5)", 5),
    ]


def test_recommendation_shows_its_reasoning_and_accept_books_the_booster(client, users, responder, other_patient):
    client.force_login(users["clinician"])
    url = reverse("monitoring:patient", args=[other_patient.pk])
    html = client.get(url).content.decode()
    rec = MaintenanceRecommendation.objects.get(course=responder, status="proposed")
    # CLINICAL.md §6 rule 1: an induction responder moves to maintenance at the minimum interval (7 days).
    assert (rec.rule, rec.action, rec.interval_days) == ("induction_responder", "book", 7)
    assert rec.rationale in html.replace("&#x27;", "'")
    assert "Accept and book the booster" in html
    response = client.post(url, {"form": "accept", "accept-recommendation": rec.pk})
    assert response.status_code == 302
    decision = MaintenanceDecision.objects.get(course=responder)
    assert (decision.decision, decision.decided_by_id) == ("accepted", users["clinician"].pk)
    assert decision.appointment_id is not None or decision.followup_id is not None
    assert "Recommendation accepted." in client.get(url).content.decode()


def test_change_and_reject_need_a_reason(client, users, responder, other_patient):
    client.force_login(users["clinician"])
    url = reverse("monitoring:patient", args=[other_patient.pk])
    client.get(url)
    rec = MaintenanceRecommendation.objects.get(course=responder, status="proposed")
    response = client.post(url, {"form": "reject", "reject-recommendation": rec.pk, "reject-reason": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    response = client.post(url, {"form": "change", "change-recommendation": rec.pk, "change-interval_days": 14})
    assert response.status_code == 400
    assert not MaintenanceDecision.objects.exists()
    response = client.post(
        url, {"form": "reject", "reject-recommendation": rec.pk, "reject-reason": "Wants to wait for the review"}
    )
    assert response.status_code == 302
    assert MaintenanceDecision.objects.get().decision == "rejected"


def test_a_stale_recommendation_is_refused(client, users, responder, other_patient):
    client.force_login(users["clinician"])
    url = reverse("monitoring:patient", args=[other_patient.pk])
    client.get(url)
    response = client.post(url, {"form": "accept", "accept-recommendation": 999999})
    assert response.status_code == 400
    assert "The recommendation changed since it was shown" in response.content.decode()
    assert not MaintenanceDecision.objects.exists()


def test_nurse_sees_the_recommendation_but_cannot_decide(client, users, responder, other_patient):
    client.force_login(users["clinician"])
    client.get(reverse("monitoring:patient", args=[other_patient.pk]))
    rec = MaintenanceRecommendation.objects.get(course=responder, status="proposed")
    client.force_login(users["nurse"])
    url = reverse("monitoring:patient", args=[other_patient.pk])
    html = client.get(url).content.decode()
    assert "induction responder" in html
    assert "Accept" not in html
    assert client.post(url, {"form": "accept", "accept-recommendation": rec.pk}).status_code == 403
    assert not MaintenanceDecision.objects.exists()


def test_weight_screening_course_and_a_planned_session_from_the_patient_page(client, users, own_patient, protocol):
    from infusions.sessions.models import InfusionSession, TreatmentCourse

    client.force_login(users["clinician"])
    url = reverse("monitoring:patient", args=[own_patient.pk])
    # CLINICAL.md §1: a change of more than 10 % from the previous weight (82.4 kg) asks for confirmation.
    response = client.post(url, {"form": "weight", "weight-weight_kg": "95.0"})
    assert response.status_code == 400
    assert "re-weigh or confirm" in response.content.decode()
    response = client.post(url, {"form": "weight", "weight-weight_kg": "95.0", "weight-confirm_change": "on"})
    assert response.status_code == 302
    assert own_patient.measurements.first().weight_kg == Decimal("95.0")

    # CLINICAL.md §2: substance use disorder is a relative contraindication.
    response = client.post(
        url, {"form": "screening", "screening-substance_use_disorder": "on", "screening-medications": "sertraline"}
    )
    assert response.status_code == 302
    latest = own_patient.screenings.first()
    assert (latest.outcome, latest.reasons, latest.answers["medications"]) == (
        "relative",
        ["substance_use_disorder"],
        ["sertraline"],
    )
    client.post(url, {"form": "screening"})  # all clear again

    response = client.post(url, {"form": "course", "course-protocol": protocol.pk, "course-indication": "trd"})
    assert response.status_code == 302
    course = TreatmentCourse.objects.get(patient=own_patient)

    # CLINICAL.md §1: 0.5 mg/kg x 95.0 kg = 47.5 mg.
    client.force_login(users["nurse"])
    response = client.post(
        url,
        {
            "form": "plan",
            "form_course": course.pk,
            f"plan-{course.pk}-course": course.pk,
            f"plan-{course.pk}-dose": "0.5",
        },
    )
    session = InfusionSession.objects.get(course=course)
    assert response.status_code == 302
    assert response["Location"] == reverse("monitoring:bedside", args=[session.pk])
    assert (session.total_dose_mg, session.requires_approval) == (Decimal("47.5"), False)
    # Above the hard max 1.0 mg/kg: refused for everyone, nothing saved.
    response = client.post(
        url,
        {
            "form": "plan",
            "form_course": course.pk,
            f"plan-{course.pk}-course": course.pk,
            f"plan-{course.pk}-dose": "1.2",
        },
    )
    assert response.status_code == 400
    assert InfusionSession.objects.filter(course=course).count() == 1


def test_only_a_prescriber_starts_a_course(client, users, own_patient, protocol):
    client.force_login(users["nurse"])
    url = reverse("monitoring:patient", args=[own_patient.pk])
    assert "Start a course" not in client.get(url).content.decode()
    response = client.post(url, {"form": "course", "course-protocol": protocol.pk, "course-indication": "trd"})
    assert response.status_code == 403
    assert not own_patient.courses.exists()

"""The maintenance recommendation API: a clinician accepts (books the next booster at the
earliest slot of the due date, or the nearest day before it; a booster-due follow-up when
there is none), changes or rejects it with a reason, in one transaction; who may do what."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from clinic.models import SiteClosure
from infusions.scheduling.models import Appointment
from monitoring.followups.models import FollowUp
from monitoring.outcomes.models import MaintenanceDecision, MaintenanceRecommendation
from patients.services import assessment_record
from tests.factories import ChairFactory, CourseFactory, ScreeningFactory, SessionFactory, clear_answers
from tests.monitoring.outcome_helpers import client_for, items_for

pytestmark = pytest.mark.django_db
INDUCTION = [0, 2, 4, 7, 9, 11]  # ket-iv-dep: 6 sessions, 3 a week


def through_induction(course, nurse, *, last_days_ago: int = 1, latest: int = 8, baseline: int = 20) -> datetime:
    """A finished induction (the last session `last_days_ago` days ago at 10:00 local)."""
    tz = course.patient.site.tz
    last_day = timezone.localdate(timezone.now(), tz) - timedelta(days=last_days_ago)
    last = datetime.combine(last_day, time(10), tzinfo=tz)
    first = last - timedelta(days=INDUCTION[-1])
    patient = course.patient
    assessment_record(
        actor=nurse,
        patient=patient,
        instrument="PHQ9",
        items=items_for("PHQ9", baseline),
        administered_at=first - timedelta(days=1),
    )
    for d in INDUCTION:
        SessionFactory(course=course, status="discharged", started_at=first + timedelta(days=d))
    assessment_record(
        actor=nurse,
        patient=patient,
        instrument="PHQ9",
        items=items_for("PHQ9", latest),
        administered_at=last - timedelta(hours=2),
    )
    return last


@pytest.fixture
def chairs(site):
    return [ChairFactory(site=site, name=f"Chair {n}") for n in (1, 2)]


def url(course, tail=""):
    return f"/api/v1/courses/{course.id}/maintenance-recommendation/{tail}"


def test_get_returns_the_contract_fields_and_stores_the_recommendation(users, course, chairs):
    last = through_induction(course, users["nurse"])
    body = client_for(users["clinician"]).get(url(course)).json()
    due = last.astimezone(course.patient.site.tz).date() + timedelta(days=7)
    assert {"interval_days", "next_due", "rationale", "status"} <= set(body)
    assert (body["interval_days"], body["next_due"], body["status"], body["rule"]) == (
        7,
        str(due),
        "proposed",
        "induction_responder",
    )
    assert body["rationale"].startswith("Rule 1 (induction responder)")
    assert MaintenanceRecommendation.objects.filter(course=course).count() == 1
    # Asking again stores nothing new.
    assert client_for(users["nurse"]).get(url(course)).json()["id"] == body["id"]
    assert MaintenanceRecommendation.objects.filter(course=course).count() == 1


def test_accept_books_the_earliest_slot_on_the_due_date_in_one_step(users, course, chairs):
    last = through_induction(course, users["nurse"])
    tz = course.patient.site.tz
    due = last.astimezone(tz).date() + timedelta(days=7)
    rec = client_for(users["clinician"]).get(url(course)).json()
    r = client_for(users["clinician"]).post(url(course, "accept/"), {"recommendation": rec["id"]}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["status"], body["interval_days"], body["next_due"]) == ("accepted", 7, str(due))
    decision = MaintenanceDecision.objects.get(recommendation_id=rec["id"])
    assert (decision.decided_by, decision.decision, decision.phase_before, decision.phase_after) == (
        users["clinician"],
        "accepted",
        "induction",
        "maintenance",
    )
    appointment = Appointment.objects.get(pk=body["decision"]["appointment"])
    local = appointment.starts_at.astimezone(tz)
    assert (local.date(), local.time()) == (due, course.patient.site.opens_at)  # the earliest slot that day
    assert (appointment.course_id, appointment.kind, appointment.booked_by) == (
        course.id,
        "infusion",
        users["clinician"],
    )
    course.refresh_from_db()
    assert course.phase == "maintenance"


def test_accept_locks_the_course_once_and_runs_the_recommender_once(users, course, chairs, monkeypatch):
    """Issue 13: accepting refreshes once, reads the history once and locks the course once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from monitoring.outcomes import services

    through_induction(course, users["nurse"])
    rec = client_for(users["clinician"]).get(url(course)).json()
    calls = {"compute": 0, "history": 0}
    compute, history = services.recommendation_compute, services.course_history

    def counted(name, real):
        def wrapper(**kwargs):
            calls[name] += 1
            return real(**kwargs)

        return wrapper

    monkeypatch.setattr(services, "recommendation_compute", counted("compute", compute))
    monkeypatch.setattr(services, "course_history", counted("history", history))
    with CaptureQueriesContext(connection) as queries:
        r = client_for(users["clinician"]).post(url(course, "accept/"), {"recommendation": rec["id"]}, format="json")
    assert r.status_code == 200, r.json()
    assert calls == {"compute": 1, "history": 1}
    course_locks = [
        q["sql"]
        for q in queries.captured_queries
        if "FOR UPDATE" in q["sql"] and '"infusions_treatmentcourse"' in q["sql"]
    ]
    assert len(course_locks) == 1, course_locks


def test_a_full_due_date_books_the_nearest_day_before(users, course, chairs):
    last = through_induction(course, users["nurse"])
    tz = course.patient.site.tz
    due = last.astimezone(tz).date() + timedelta(days=14)
    SiteClosure.objects.create(site=course.patient.site, date=due, reason="training day")
    r = client_for(users["clinician"]).post(
        url(course, "modify/"), {"interval_days": 14, "reason": "Lives far away: every 2 weeks."}, format="json"
    )
    assert r.status_code == 200, r.content
    assert r.json()["decision"]["next_due"] == str(due)
    appointment = Appointment.objects.get(pk=r.json()["decision"]["appointment"])
    assert appointment.starts_at.astimezone(tz).date() == due - timedelta(days=1)


def test_no_slot_creates_a_booster_due_follow_up(users, course, chairs):
    last = through_induction(course, users["nurse"])
    tz = course.patient.site.tz
    due = last.astimezone(tz).date() + timedelta(days=7)
    # The window runs from the minimum interval (7 days after the last session) to the due date.
    SiteClosure.objects.create(site=course.patient.site, date=due, reason="holiday")
    r = client_for(users["clinician"]).post(url(course, "accept/"), {}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()["decision"]
    assert body["appointment"] is None
    followup = FollowUp.objects.get(pk=body["followup"])
    assert (followup.kind, followup.assignee_role, followup.patient_id) == (
        "booster_due",
        "frontdesk",
        course.patient_id,
    )
    assert followup.due_at.astimezone(tz).date() == due
    assert followup.escalate_role == "clinician"
    assert followup.key == f"booster_due:course:{course.id}:{due.isoformat()}"
    assert not Appointment.objects.filter(course=course).exists()


def test_a_booster_already_booked_by_the_due_date_stands(users, course, chairs):
    from infusions.scheduling.services import appointment_book

    last = through_induction(course, users["nurse"])
    tz = course.patient.site.tz
    due = last.astimezone(tz).date() + timedelta(days=7)
    existing = appointment_book(
        actor=users["frontdesk"],
        patient=course.patient,
        chair=chairs[1],
        starts_at=datetime.combine(due - timedelta(days=1), time(13), tzinfo=tz),
        protocol=course.protocol,
        course=course,
    )
    r = client_for(users["clinician"]).post(url(course, "accept/"), {}, format="json")
    assert r.json()["decision"]["appointment"] == existing.id
    assert Appointment.objects.filter(course=course).count() == 1


def test_a_refused_booking_writes_nothing(users, course, chairs):
    """An absolute contraindication found since: 409, no decision, no booking, no phase change."""
    through_induction(course, users["nurse"])
    rec = client_for(users["clinician"]).get(url(course)).json()
    ScreeningFactory(
        patient=course.patient,
        answers=clear_answers(pregnant_or_breastfeeding=True),
        outcome="absolute",
        reasons=["pregnant_or_breastfeeding"],
        screened_at=timezone.now(),
    )
    r = client_for(users["clinician"]).post(url(course, "accept/"), {}, format="json")
    assert (r.status_code, r.json()["rule"]) == (409, "contraindication_absolute")
    assert not MaintenanceDecision.objects.exists()
    assert MaintenanceRecommendation.objects.get(pk=rec["id"]).status == "proposed"
    course.refresh_from_db()
    assert course.phase == "induction"
    assert not Appointment.objects.filter(course=course).exists()


def test_reject_needs_a_reason_and_books_nothing(users, course, chairs):
    through_induction(course, users["nurse"])
    client = client_for(users["clinician"])
    r = client.post(url(course, "reject/"), {}, format="json")
    assert r.status_code == 400
    assert "reason" in r.json()
    r = client.post(url(course, "reject/"), {"reason": "Patient travelling; will call to book."}, format="json")
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["decision"]["reason"]) == (
        "rejected",
        "Patient travelling; will call to book.",
    )
    assert not Appointment.objects.exists()
    # Decided: a second decision is refused.
    r = client.post(url(course, "accept/"), {}, format="json")
    assert (r.status_code, r.json()["rule"]) == (409, "recommendation_decided")


@pytest.mark.parametrize(
    ("body", "status", "key"),
    [
        ({"interval_days": 14}, 400, "reason"),
        ({"reason": "x"}, 400, "interval_days"),
        ({"interval_days": 3, "reason": "x"}, 409, "interval_outside_protocol"),  # below min 7
        ({"interval_days": 120, "reason": "x"}, 409, "interval_outside_protocol"),  # above max 112
    ],
)
def test_modify_is_validated(users, course, chairs, body, status, key):
    through_induction(course, users["nurse"])
    r = client_for(users["clinician"]).post(url(course, "modify/"), body, format="json")
    assert r.status_code == status
    assert key in r.json() or r.json().get("rule") == key
    assert not MaintenanceDecision.objects.exists()


def test_a_stale_recommendation_is_refused(users, course, chairs):
    through_induction(course, users["nurse"])
    client = client_for(users["clinician"])
    shown = client.get(url(course)).json()
    assessment_record(actor=users["nurse"], patient=course.patient, instrument="PHQ9", items=items_for("PHQ9", 4))
    r = client.post(url(course, "accept/"), {"recommendation": shown["id"]}, format="json")
    assert (r.status_code, r.json()["rule"]) == (409, "recommendation_stale")
    assert r.json()["current"] != shown["id"]
    assert MaintenanceRecommendation.objects.get(pk=shown["id"]).status == "superseded"


def test_nothing_to_decide_during_induction(users, course):
    SessionFactory(course=course, status="discharged", started_at=timezone.now() - timedelta(days=1))
    r = client_for(users["clinician"]).post(url(course, "accept/"), {}, format="json")
    assert (r.status_code, r.json()["rule"]) == (409, "recommendation_not_decidable")


def test_an_ended_course_has_no_recommendation(users, course):
    course.phase = "ended"
    course.save()
    r = client_for(users["clinician"]).get(url(course))
    assert (r.status_code, r.json()["rule"]) == (409, "course_not_active")


def test_history_lists_every_recommendation_with_its_decision(users, course, chairs):
    through_induction(course, users["nurse"])
    client = client_for(users["clinician"])
    client.post(url(course, "accept/"), {}, format="json")
    rows = client.get(f"/api/v1/courses/{course.id}/maintenance-recommendations/").json()
    assert [(r["status"], r["decision"]["decision"]) for r in rows] == [("accepted", "accepted")]


@pytest.mark.parametrize("size", [1, 6])
def test_get_recommendation_query_count_is_constant(users, course, chairs, django_assert_num_queries, size):
    through_induction(course, users["nurse"])
    for n in range(size):  # more scores, more decisions' worth of history
        assessment_record(
            actor=users["nurse"],
            patient=course.patient,
            instrument="PHQ9",
            items=items_for("PHQ9", 8),
            administered_at=timezone.now() - timedelta(hours=12 + n),
        )
    client = client_for(users["clinician"])
    client.get(url(course))
    # course, lock, 4 history reads, latest stored recommendation, (its decision), access log (issue 8)
    with django_assert_num_queries(10):
        client.get(url(course))


# ---- permission matrix -------------------------------------------------------------------------

ROLES = ("admin", "clinician", "nurse", "frontdesk", "patient")
ENDPOINTS = [
    ("get", "maintenance-recommendation/", {}, {"clinician", "nurse"}),
    ("get", "maintenance-recommendations/", {}, {"clinician", "nurse"}),
    ("get", "outcomes/", {}, {"clinician", "nurse"}),
    ("post", "maintenance-recommendation/accept/", {}, {"clinician"}),
    ("post", "maintenance-recommendation/modify/", {"interval_days": 14, "reason": "r"}, {"clinician"}),
    ("post", "maintenance-recommendation/reject/", {"reason": "r"}, {"clinician"}),
]


@pytest.mark.parametrize("owner", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "tail", "body", "allowed"), ENDPOINTS, ids=[f"{m}-{t}" for m, t, _, _ in ENDPOINTS])
def test_matrix(users, own_patient, other_patient, chairs, role, owner, method, tail, body, allowed):
    """Front desk never reads scores (403); a patient asking about any course gets 404."""
    patient = own_patient if owner == "own" else other_patient
    course = CourseFactory(patient=patient, created_by=users["clinician"])
    through_induction(course, users["nurse"])
    r = getattr(client_for(users[role]), method)(f"/api/v1/courses/{course.id}/{tail}", body, format="json")
    if role in allowed:
        assert r.status_code == 200, r.content
    elif role == "patient":
        assert r.status_code == 404
    else:
        assert r.status_code == 403


@pytest.mark.parametrize("tail", [t for _, t, _, _ in ENDPOINTS])
def test_anonymous_is_401(api, course, tail):
    assert api(None).get(f"/api/v1/courses/{course.id}/{tail}").status_code == 401


def test_unknown_course_is_404(users):
    assert client_for(users["clinician"]).get("/api/v1/courses/999999/maintenance-recommendation/").status_code == 404

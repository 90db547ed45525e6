"""Synthetic histories for the page tests, written through the services where a service
exists (assessments) and with factories for history that no service writes backwards in
time (sessions given in the past)."""

from datetime import timedelta

from django.utils import timezone

from infusions.sessions.models import TreatmentCourse
from patients.services import assessment_record
from tests.factories import CourseFactory, SessionFactory
from tests.monitoring.outcome_helpers import items_for


def responder_course(*, patient, users, protocol, sessions: int = 6, scores=(20, 14, 9, 8)) -> TreatmentCourse:
    """An induction course of `sessions` sessions, three a week, ending yesterday, with a
    PHQ-9 baseline the day before the first session and later scores spread over it.
    CLINICAL.md §5: a response is a total >= 50 % below the baseline (20 -> 10 or less)."""
    course = CourseFactory(patient=patient, protocol=protocol, created_by=users["clinician"])
    now = timezone.now()
    first = now - timedelta(days=1 + (sessions - 1) * 7 // 3)
    times = [first + timedelta(days=i * 7 // 3) for i in range(sessions)]
    for at in times:
        SessionFactory(
            course=course,
            created_by=users["nurse"],
            status="discharged",
            started_at=at,
            dosing_ended_at=at + timedelta(minutes=40),
            actual_dose_mg=41.2,
        )
    score_times = [first - timedelta(days=1)] + [
        times[min(len(times) - 1, i * 2 + 1)] + timedelta(hours=3) for i in range(len(scores) - 1)
    ]
    for total, at in zip(scores, score_times, strict=True):
        assessment_record(
            actor=users["nurse"], patient=patient, instrument="PHQ9", items=items_for("PHQ9", total), administered_at=at
        )
    return course

"""Demo PHQ-9 histories (monitoring/demo.py): every demo patient with a course has a score
trajectory from a baseline before the first session; a second run adds nothing."""

import pytest
from django.core.management import call_command

from monitoring.outcomes.selectors import course_history
from patients.models import Assessment, Patient
from patients.scoring import score

pytestmark = pytest.mark.django_db


def test_demo_has_phq9_trajectories_and_is_idempotent():
    call_command("seed_demo", "--password", "first-pass-1")
    first = Assessment.objects.count()
    me = Patient.objects.get(user__username="patient")
    phq9 = list(me.assessments.filter(instrument="PHQ9").order_by("administered_at"))
    assert len(phq9) >= 3
    for row in Assessment.objects.all():
        result = score(row.instrument, row.items)
        assert (row.total, row.severity, row.flags) == (result.total, result.severity, list(result.flags))
    for patient in Patient.objects.filter(courses__isnull=False).distinct():
        course = patient.courses.select_related("protocol", "patient__site").first()
        outcome = course_history(course=course).outcome()
        assert outcome.baseline is not None, patient
        assert outcome.baseline.at < outcome.first_session_at
    responders = [
        course_history(course=c).outcome().ever_responded
        for c in (
            p.courses.select_related("protocol", "patient__site").first()
            for p in Patient.objects.filter(courses__isnull=False).distinct()
        )
    ]
    assert any(responders)
    assert not all(responders)
    call_command("seed_demo", "--password", "second-pass-2")
    assert Assessment.objects.count() == first

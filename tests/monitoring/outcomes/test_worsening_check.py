"""The proactive check (issue 15.6): a worsening score becomes a clinician follow-up the same day
without anyone opening the patient page — the beat task runs the maintenance recommender
(monitoring.outcomes.recommender, the one home of the rules) over courses with new scores."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from monitoring.followups.models import FollowUp
from monitoring.outcomes.models import MaintenanceRecommendation
from monitoring.outcomes.services import worsening_check
from monitoring.outcomes.tasks import outcomes_worsening_check_task
from patients.services import assessment_record
from tests.factories import ChairFactory
from tests.monitoring.outcome_helpers import client_for, items_for
from tests.monitoring.outcomes.test_maintenance_api import through_induction, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def maintained(users, course, site):
    """A responder accepted into maintenance (CLINICAL.md §6 rule 1: 20 -> 8 is a response)."""
    for n in (1, 2):
        ChairFactory(site=site, name=f"Chair {n}")
    through_induction(course, users["nurse"], last_days_ago=3)
    client = client_for(users["clinician"])
    rec = client.get(url(course)).json()
    assert rec["rule"] == "induction_responder"
    assert client.post(url(course, "accept/"), {"recommendation": rec["id"]}, format="json").status_code == 200
    course.refresh_from_db()
    assert course.phase == "maintenance"
    return course


@pytest.mark.parametrize(
    ("total", "worse"),
    # CLINICAL.md §5-6: 18 is no longer 50 % below the baseline of 20 (a loss of response) and a
    # rise of 10 points (>= 5 [U]); 9 is a rise of 1 and still a response.
    [(18, True), (9, False)],
    ids=["loss-of-response", "stable"],
)
def test_a_worsening_score_becomes_a_clinician_followup_the_same_day(users, maintained, total, worse):
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        assessment_record(
            actor=users["nurse"],
            patient=maintained.patient,
            instrument="PHQ9",
            items=items_for("PHQ9", total),
            administered_at=timezone.now(),
        )
        before = MaintenanceRecommendation.objects.filter(course=maintained).count()
        ids = worsening_check()
        again = worsening_check()  # the next tick adds nothing
        now = timezone.now()
    assert again == ids
    followups = list(FollowUp.objects.filter(kind="worsening_review"))
    if not worse:
        assert (ids, followups) == ([], [])
        return
    latest = MaintenanceRecommendation.objects.filter(course=maintained).latest("computed_at")
    assert MaintenanceRecommendation.objects.filter(course=maintained).count() == before + 1
    assert latest.rule == "worse_shorten"
    (followup,) = followups
    assert ids == [followup.pk]
    assert (followup.patient, followup.assignee_role, followup.due_at, followup.status) == (
        maintained.patient,
        "clinician",
        now,
        "pending",
    )
    assert followup.note.startswith("Rule 3 (worse shorten)")


def test_the_beat_runs_the_check(users, maintained):
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == outcomes_worsening_check_task.name)
    assert entry["schedule"] == settings.WORSENING_CHECK_SECONDS
    assert (outcomes_worsening_check_task.acks_late, outcomes_worsening_check_task.reject_on_worker_lost) == (
        True,
        True,
    )
    assert outcomes_worsening_check_task.run() == 0  # nothing worse yet

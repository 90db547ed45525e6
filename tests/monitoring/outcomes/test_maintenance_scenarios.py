"""Scenarios: synthetic patients through induction and a year of maintenance, in frozen time,
through the API (CLINICAL.md §5-6; the treat-and-extend rules of §6 numbered in each test).

PHQ-9 response = >= 50 % below baseline, remission < 5 (Kroenke 2001 scoring; CMS159).
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from infusions.protocols.models import Protocol
from infusions.scheduling.models import Appointment
from monitoring.alerts.models import Alert
from monitoring.followups.models import FollowUp
from monitoring.outcomes.models import MaintenanceDecision
from tests.monitoring.outcome_helpers import Journey

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
START = datetime(2027, 1, 4, 9, 0, tzinfo=LONDON)  # a Monday
IV_INDUCTION_DAYS = [0, 2, 4, 7, 9, 11]  # ket-iv-dep: 6 sessions, 3 a week (Murrough 2013)


def local(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


@pytest.fixture
def site(db):
    from tests.factories import SiteFactory

    return SiteFactory(code="main", name="Main Site", time_zone="Europe/London")


def test_responder_extends_to_the_maximum_and_exits_to_monitoring(site, users, time_machine):
    """Rules 1, 2, 3, 5, 7 with per-protocol parameters (an admin set step 14 and max 56 days
    on this protocol; exit after 3 stable visits at the maximum)."""
    protocol = Protocol.objects.get(code="ket-iv-dep")
    protocol.extend_step_days, protocol.max_interval_days = 14, 56
    protocol.save()
    j = Journey.start(site=site, users=users, clock=time_machine, protocol=protocol, start=START)

    rec = j.induction(START, IV_INDUCTION_DAYS, {2: 14, 4: 9, 5: 7}, baseline=20)
    # Rule 1: a responder (7 is 65 % below 20) moves to maintenance at the minimum interval.
    assert (rec["rule"], rec["action"], rec["interval_days"]) == ("induction_responder", "book", 7)
    assert rec["next_due"] == str(local(START) + timedelta(days=11 + 7))
    assert rec["status"] == "proposed"
    done = j.decide("accept")
    assert done["status"] == "accepted"
    appointment = j.booked(done)
    assert local(appointment.starts_at) == local(START) + timedelta(days=18)  # on the due date
    j.course.refresh_from_db()
    assert j.course.phase == "maintenance"

    # Rules 2-3: stable at each visit -> min(current + 14, 56); at 56 it stays (rule 3).
    expected = [
        ("stable_extend", 21),
        ("stable_extend", 35),
        ("stable_extend", 49),
        ("stable_extend", 56),
        ("stable_at_maximum", 56),
        ("stable_at_maximum", 56),
    ]
    for rule, interval in expected:
        visit_at = appointment.starts_at
        rec = j.visit(visit_at, 6)
        assert (rec["rule"], rec["interval_days"]) == (rule, interval), rec["rationale"]
        assert rec["next_due"] == str(local(visit_at) + timedelta(days=interval))
        assert f"-> {interval} days" in rec["rationale"] or "stays 56 days" in rec["rationale"]
        appointment = j.booked(j.decide("accept"))
        assert local(appointment.starts_at) == date.fromisoformat(rec["next_due"])

    # Rule 5: the third stable visit at the maximum suggests a pause with a PHQ-9 every 4 weeks.
    last_visit = appointment.starts_at
    rec = j.visit(last_visit, 5)
    assert (rec["rule"], rec["rule_number"], rec["action"], rec["interval_days"]) == (
        "pause_suggested",
        5,
        "pause",
        None,
    )
    assert rec["details"]["stable_at_max_visits"] == 3
    assert rec["next_due"] == str(local(last_visit) + timedelta(days=28))
    done = j.decide("accept")
    j.course.refresh_from_db()
    assert j.course.phase == "paused"
    check = FollowUp.objects.get(pk=done["decision"]["followup"])
    assert (check.kind, check.assignee_role, local(check.due_at)) == (
        "mid_interval_phq9",
        "nurse",
        local(last_visit) + timedelta(days=28),
    )
    assert (local(last_visit) - local(START)).days > 280

    # Paused: a PHQ-9 every 4 weeks until the year is out; nothing is booked.
    when = last_visit
    booked_before = Appointment.objects.filter(course=j.course).count()
    while local(when) - local(START) < timedelta(days=365):
        when = when + timedelta(days=28)
        j.at(when)
        j.score(4)
        rec = j.recommendation()
        assert (rec["rule"], rec["action"]) == ("paused_monitoring", "monitor")
        assert rec["next_due"] == str(local(when) + timedelta(days=28))
        # Each PHQ-9 closes the open check and asks for the next one, 4 weeks on [U].
        checks = FollowUp.objects.filter(kind="mid_interval_phq9", subject_type="infusions.treatmentcourse")
        open_check = checks.get(status="pending")
        assert local(open_check.due_at) == local(when) + timedelta(days=28)
        assert checks.filter(status="cancelled").count() >= 1
    assert Appointment.objects.filter(course=j.course).count() == booked_before
    # Rule 7: the reasoning shows scores, intervals and durability.
    assert "PHQ-9 scores: baseline 20" in rec["rationale"]
    assert rec["details"]["intervals"][-1]["interval_days"] == 56


def test_relapse_shortens_and_a_relapse_while_paused_reopens(site, users, time_machine):
    """Rules 2-3 (worse: back to the last stable interval, clinician told) with the default
    protocol (min 7, step 7, max 112); a mid-interval PHQ-9 that shows a relapse moves the
    booked booster earlier."""
    protocol = Protocol.objects.get(code="ket-iv-dep")
    j = Journey.start(site=site, users=users, clock=time_machine, protocol=protocol, start=START)
    rec = j.induction(START, IV_INDUCTION_DAYS, {3: 12, 5: 8}, baseline=22)
    assert rec["rule"] == "induction_responder"
    appointment = j.booked(j.decide("accept"))

    for interval in (14, 21):  # stable visits extend 7 -> 14 -> 21
        rec = j.visit(appointment.starts_at, 7)
        assert (rec["rule"], rec["interval_days"]) == ("stable_extend", interval)
        appointment = j.booked(j.decide("accept"))

    # At the visit after 21 days: 13 is only 41 % below 22 (no response) and 6 points up.
    visit_at = appointment.starts_at
    rec = j.visit(visit_at, 13)
    assert (rec["rule"], rec["rule_number"], rec["interval_days"]) == ("worse_shorten", 3, 14)
    assert rec["needs_clinician"] is True
    assert "back to the last stable interval of 14 days" in rec["rationale"]
    assert "a rise of 6 points" in rec["rationale"]
    assert rec["next_due"] == str(local(visit_at) + timedelta(days=14))
    appointment = j.booked(j.decide("accept"))
    assert local(appointment.starts_at) == local(visit_at) + timedelta(days=14)

    # Stable again at 14 -> 21; then a mid-interval PHQ-9 shows a relapse.
    rec = j.visit(appointment.starts_at, 8)
    assert (rec["rule"], rec["interval_days"]) == ("stable_extend", 21)
    visit_at = appointment.starts_at
    late = j.booked(j.decide("accept"))
    assert local(late.starts_at) == local(visit_at) + timedelta(days=21)
    j.at(visit_at + timedelta(days=10))
    j.score(14)
    rec = j.recommendation()
    assert (rec["rule"], rec["interval_days"]) == ("worse_shorten", 14)
    assert rec["next_due"] == str(local(visit_at) + timedelta(days=14))
    done = j.decide("accept")
    earlier = j.booked(done)
    late.refresh_from_db()
    assert late.status == "cancelled"
    assert local(earlier.starts_at) == local(visit_at) + timedelta(days=14)

    # The rest of the year: stable, extending by 7 each visit.
    appointment = earlier
    intervals = []
    while local(appointment.starts_at) - local(START) < timedelta(days=365):
        rec = j.visit(appointment.starts_at, 6)
        intervals.append(rec["interval_days"])
        appointment = j.booked(j.decide("accept"))
    assert intervals[:4] == [21, 28, 35, 42]
    assert all(b - a == 7 for a, b in zip(intervals, intervals[1:], strict=False))
    # Rule 7: durability was observed (the relapse 10 days after a session).
    durability = rec["details"]["durability"]
    assert durability["losses_observed"] >= 1
    assert "Estimated durability" in rec["rationale"]


def test_non_responder_gets_a_review_not_a_booking(site, users, time_machine):
    """Rule 1: no response after the induction series -> a clinician review, nothing booked."""
    protocol = Protocol.objects.get(code="ket-iv-dep")
    j = Journey.start(site=site, users=users, clock=time_machine, protocol=protocol, start=START)
    rec = j.induction(START, IV_INDUCTION_DAYS, {2: 21, 4: 19, 5: 16}, baseline=22)
    # 16 is 27 % below 22: no response (needs >= 50 %).
    assert (rec["rule"], rec["rule_number"], rec["action"]) == ("induction_nonresponder", 1, "review")
    assert (rec["interval_days"], rec["next_due"], rec["needs_clinician"]) == (None, None, True)
    assert "no response after the induction series (6 sessions)" in rec["rationale"]
    done = j.decide("accept", reason="Reviewed: discuss alternatives at the next consult.")
    assert done["status"] == "accepted"
    assert done["decision"]["appointment"] is None
    assert not Appointment.objects.filter(course=j.course).exists()
    j.course.refresh_from_db()
    assert j.course.phase == "induction"
    # Asking again changes nothing.
    assert j.recommendation()["id"] == done["id"]


def test_oxford_review_after_three_sessions(site, users, time_machine):
    """Rule 1, Oxford variant (the site sets `nonresponse_review_after_sessions` = 3)."""
    site.clinical_overrides = {"nonresponse_review_after_sessions": 3}
    site.save()
    protocol = Protocol.objects.get(code="ket-iv-dep")
    j = Journey.start(site=site, users=users, clock=time_machine, protocol=protocol, start=START)
    rec = j.induction(START, IV_INDUCTION_DAYS[:2], {1: 20}, baseline=22)
    assert (rec["rule"], rec["action"]) == ("induction_in_progress", "continue_induction")
    j.at(START + timedelta(days=4))
    j.session()
    rec = j.recommendation()
    assert (rec["rule"], rec["action"]) == ("induction_nonresponder", "review")
    assert "review after 3, Oxford" in rec["rationale"]


def test_safety_flag_stops_automatic_change(site, users, time_machine):
    """Rule 4: PHQ-9 item 9 > 0 (or a high alert in the last session): the interval does not
    change automatically; a clinician decides. The item 9 answer also opens an urgent review."""
    protocol = Protocol.objects.get(code="ket-iv-dep")
    j = Journey.start(site=site, users=users, clock=time_machine, protocol=protocol, start=START)
    j.induction(START, IV_INDUCTION_DAYS, {5: 8}, baseline=20)
    appointment = j.booked(j.decide("accept"))
    rec = j.visit(appointment.starts_at, 6)
    assert rec["interval_days"] == 14
    appointment = j.booked(j.decide("accept"))

    # A good total (5, 75 % below baseline) but item 9 = 1.
    visit_at = appointment.starts_at
    rec = j.visit(visit_at, 5, item9=1)
    assert (rec["rule"], rec["rule_number"], rec["interval_days"]) == ("safety_hold", 4, 14)
    assert (rec["needs_clinician"], rec["automatic_change"]) == (True, False)
    assert "PHQ-9 item 9 = 1" in rec["rationale"]
    review = FollowUp.objects.get(kind="suicide_risk_review", patient=j.course.patient)
    assert review.assignee_role == "clinician"
    # The clinician keeps 14 days (accept), and the next clean visit extends again.
    appointment = j.booked(j.decide("accept"))
    assert local(appointment.starts_at) == local(visit_at) + timedelta(days=14)
    rec = j.visit(appointment.starts_at, 5)
    assert (rec["rule"], rec["interval_days"]) == ("stable_extend", 21)
    appointment = j.booked(j.decide("accept"))

    # A high alert in the last session holds the interval too.
    visit_at = appointment.starts_at
    j.at(visit_at - timedelta(hours=2))
    j.score(5)
    j.at(visit_at)
    session = j.session()
    Alert.objects.create(
        session=session, rule="bp_high", severity="high", message="BP 184/96", raised_at=visit_at, status="resolved"
    )
    j.at(visit_at + timedelta(hours=3))
    rec = j.recommendation()
    assert (rec["rule"], rec["interval_days"]) == ("safety_hold", 21)
    assert "high or emergency alert in the last session" in rec["rationale"]
    # The clinician changes it, with a reason.
    done = j.decide("modify", interval_days=14, reason="BP spike: shorter interval, re-check BP.")
    assert done["status"] == "modified"
    assert (done["decision"]["interval_days"], done["decision"]["previous_interval_days"]) == (14, 21)
    assert local(j.booked(done).starts_at) == local(visit_at) + timedelta(days=14)


def test_esketamine_weekly_then_weekly_or_every_two_weeks_from_week_9(site, users, time_machine):
    """Rule 6 (Spravato label): weeks 1-4 twice weekly (induction, 8 sessions), weeks 5-8
    weekly, from week 9 only weekly or every 2 weeks: a stable patient is never extended
    beyond 14 days, for a whole year."""
    protocol = Protocol.objects.get(code="esk-in-trd")
    j = Journey.start(site=site, users=users, clock=time_machine, protocol=protocol, start=START)
    rec = j.induction(START, [0, 3, 7, 10, 14, 17, 21, 24], {3: 15, 7: 8}, baseline=21)
    assert (rec["rule"], rec["interval_days"]) == ("induction_responder", 7)
    appointment = j.booked(j.decide("accept"))
    seen = []
    while local(appointment.starts_at) - local(START) < timedelta(days=365):
        visit_at = appointment.starts_at
        rec = j.visit(visit_at, 6)
        week = (local(visit_at) - local(START)).days // 7 + 1
        seen.append((week, rec["interval_days"], rec["rule"]))
        appointment = j.booked(j.decide("accept"))
    assert all(interval in (7, 14) for _, interval, _ in seen)
    assert all(interval == 7 for week, interval, _ in seen if week < 9), seen
    assert any(interval == 14 for week, interval, _ in seen if week >= 9), seen
    assert {rule for week, interval, rule in seen if week >= 9 and interval == 14} >= {"esketamine_label"}
    label = [r for r in j.log if r["rule"] == "esketamine_label"]
    assert any("only weekly or every 2 weeks" in r["rationale"] for r in label)
    assert any("weeks 5-8 are weekly" in r["rationale"] for r in label)
    # A clinician cannot choose 21 days either.
    j.at(appointment.starts_at - timedelta(hours=2))
    j.score(6)
    j.at(appointment.starts_at)
    j.session()
    j.at(appointment.starts_at + timedelta(hours=3))
    r = j.clinician.post(
        f"/api/v1/courses/{j.course.id}/maintenance-recommendation/modify/",
        {"interval_days": 21, "reason": "longer"},
        format="json",
    )
    assert (r.status_code, r.json()["rule"]) == (409, "esketamine_label_interval")
    assert MaintenanceDecision.objects.filter(course=j.course).count() == len(seen) + 1

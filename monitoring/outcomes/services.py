"""Writes for outcomes and maintenance: the PHQ-9 item 9 review, stored recommendations and a
clinician's decision on them (accept books the next booster, in one transaction).
"""

import hashlib
import json
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from clinic.core.roles import Role
from clinic.localtime import site_zone
from clinic.models import User
from clinic.policy import site_policy
from infusions.protocols.models import Drug
from infusions.scheduling.models import Appointment
from infusions.scheduling.services import booster_book
from infusions.sessions.models import CoursePhase, TreatmentCourse
from infusions.sessions.services import course_phase_change
from monitoring.audit.history import history_snapshot
from monitoring.bedside.models import OPEN_FOLLOWUP_STATUSES
from monitoring.followups.keys import booster_due_key, paused_phq9_key, record_key, suicide_risk_review_key
from monitoring.followups.models import AssigneeRole, FollowUp, FollowUpKind
from monitoring.followups.services import followup_ensure, followups_cancel
from monitoring.outcomes.models import MaintenanceDecision, MaintenanceRecommendation, RecommendationStatus
from monitoring.outcomes.recommender import (
    DECIDABLE_ACTIONS,
    Action,
    DecisionKind,
    MaintenanceInput,
    Recommendation,
    is_worsening,
    recommend,
)
from monitoring.outcomes.selectors import (
    CourseHistory,
    course_history,
    maintenance_params,
    outcome_rules,
    recommendation_latest,
)
from patients.models import Assessment
from patients.scoring import FLAG_SUICIDE_RISK, PHQ9_SUICIDE_ITEM, Instrument

# ---- PHQ-9 item 9 (CLINICAL.md §5 and §7) ---------------------------------------------------


def suicide_risk_review_ensure(assessment: Assessment) -> FollowUp | None:
    """PHQ-9 item 9 > 0: an urgent suicide-risk review for a clinician, due at once, whatever
    the total. Registered with `patients.hooks` (runs inside the assessment's transaction);
    idempotent by key."""
    if assessment.instrument != Instrument.PHQ9 or FLAG_SUICIDE_RISK not in (assessment.flags or []):
        return None
    item9 = assessment.items[PHQ9_SUICIDE_ITEM - 1]
    who = "the patient (portal)" if assessment.source == "patient" else "staff"
    return followup_ensure(
        kind=FollowUpKind.SUICIDE_RISK_REVIEW,
        key=suicide_risk_review_key(assessment.pk),
        patient=assessment.patient,
        due_at=timezone.now(),
        assignee_role=AssigneeRole.CLINICIAN,
        note=(
            f"PHQ-9 item 9 = {item9} (total {assessment.total}, {assessment.severity}) recorded by {who} on "
            f"{assessment.administered_at:%Y-%m-%d %H:%M}: urgent suicide-risk review."
        ),
        subject=assessment,
    )


# ---- recommendations --------------------------------------------------------------------------


def recommendation_compute(*, history: CourseHistory, now: datetime | None = None) -> Recommendation:
    """The recommender's answer for a course, nothing saved."""
    course = history.course
    outcome = history.outcome()
    instrument = outcome.instrument
    scores = [s for s in history.scores if s.instrument == instrument]
    phq9 = [s for s in history.scores if s.instrument == Instrument.PHQ9]
    return recommend(
        MaintenanceInput(
            phase=course.phase,
            now=now or timezone.now(),
            tz=history.tz,
            visits=history.visits,
            scores=scores,
            phq9=phq9,
            instrument=instrument,
            baseline=outcome.baseline,
            decisions=history.decisions,
            params=maintenance_params(course, history.policy),
            rules=outcome_rules(history.policy),
        )
    )


def _fingerprint(result: Recommendation) -> str:
    body = json.dumps(
        [
            result.rule,
            result.action,
            result.interval_days,
            result.next_due.isoformat() if result.next_due else None,
            result.needs_clinician,
            result.rationale,
        ]
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _same_plan(row: MaintenanceRecommendation, result: Recommendation) -> bool:
    """A decided recommendation still stands when the new answer plans the same thing."""
    decision = getattr(row, "decision", None)
    interval = decision.interval_days if decision is not None else row.interval_days
    next_due = decision.next_due if decision is not None else row.next_due
    return (
        row.status in (RecommendationStatus.ACCEPTED, RecommendationStatus.MODIFIED)
        and result.action == Action.BOOK
        and result.interval_days == interval
        and result.next_due == next_due
        and not result.needs_clinician
    )


def _lock_course(course: TreatmentCourse) -> TreatmentCourse:
    return (
        TreatmentCourse.objects.select_for_update(of=("self",))
        .select_related("protocol", "patient__site")
        .get(pk=course.pk)
    )


@transaction.atomic
def recommendation_refresh(*, course: TreatmentCourse) -> MaintenanceRecommendation:
    """The current recommendation for a course, stored when it differs from the last one (the
    older proposal is superseded). Runs under the course's row lock: one answer at a time."""
    course = _lock_course(course)
    return _refreshed(history=course_history(course=course))


def _refreshed(*, history: CourseHistory) -> MaintenanceRecommendation:
    """The stored recommendation for the history's course (whose row the caller has locked):
    the recommender runs once; a new row only when its answer changed."""
    course = history.course
    if course.phase == CoursePhase.ENDED:
        raise ApplicationError("The course has ended; there is nothing to recommend.", rule="course_not_active")
    now = timezone.now()
    result = recommendation_compute(history=history, now=now)
    fingerprint = _fingerprint(result)
    latest = recommendation_latest(course=course)
    if latest is not None and (latest.fingerprint == fingerprint or _same_plan(latest, result)):
        return latest
    superseded = list(
        MaintenanceRecommendation.objects.filter(course=course, status=RecommendationStatus.PROPOSED).values_list(
            "pk", flat=True
        )
    )
    MaintenanceRecommendation.objects.filter(pk__in=superseded).update(
        status=RecommendationStatus.SUPERSEDED, updated_at=now
    )
    history_snapshot(MaintenanceRecommendation, superseded, rule="recommendation_superseded", at=now)
    row = MaintenanceRecommendation(
        course=course,
        rule=result.rule,
        rule_number=result.rule_number,
        action=result.action,
        interval_days=result.interval_days,
        next_due=result.next_due,
        needs_clinician=result.needs_clinician,
        automatic_change=result.automatic_change,
        rationale=result.rationale,
        details=result.details,
        status=RecommendationStatus.PROPOSED,
        fingerprint=fingerprint,
        computed_at=now,
    )
    row.full_clean()
    row.save()
    return row


# ---- booking the next booster ------------------------------------------------------------------


def booster_plan(
    *,
    actor: User,
    history: CourseHistory,
    due: date,
    override_reason: str = "",
) -> tuple[Appointment | None, FollowUp | None]:
    """Book the next booster by `due` (infusions.scheduling.services.booster_book), never
    earlier than the protocol's minimum interval after the last session (CLINICAL.md §6 rule
    3) nor in the past. With no free slot: a booster-due follow-up for the front desk
    (escalating to the clinician after the overdue days of CLINICAL.md §7)."""
    course, tz = history.course, history.tz
    earliest = timezone.now()
    if history.visits:
        floor_day = history.visits[-1].at.astimezone(tz).date() + timedelta(days=course.protocol.min_interval_days)
        earliest = max(earliest, datetime.combine(floor_day, time.min, tzinfo=tz))
    booking = booster_book(actor=actor, course=course, due=due, earliest=earliest, override_reason=override_reason)
    if booking.booked:
        return booking.appointment, None
    site = course.patient.site
    hour = site_policy(site).followup_review_local_hour
    followup = followup_ensure(
        kind=FollowUpKind.BOOSTER_DUE,
        key=booster_due_key(course.pk, due),
        patient=course.patient,
        due_at=max(timezone.now(), datetime.combine(due, time(hour), tzinfo=tz)),
        assignee_role=AssigneeRole.FRONTDESK,
        note=f"No free chair found for the maintenance booster due {due:%Y-%m-%d} ({course.protocol.code}); book it.",
        subject=course,
    )  # followup_ensure sets the escalation to the clinician after the overdue days (§7)
    return booking.appointment, followup


# ---- a clinician's decision ------------------------------------------------------------------------


def _check_interval(*, history: CourseHistory, interval_days: int) -> None:
    """A clinician's interval stays within the protocol's and, for esketamine, the label's."""
    course = history.course
    protocol = course.protocol
    if not protocol.min_interval_days <= interval_days <= protocol.max_interval_days:
        raise ApplicationError(
            f"{interval_days} days is outside the protocol's {protocol.min_interval_days}-"
            f"{protocol.max_interval_days} days (CLINICAL.md §6).",
            rule="interval_outside_protocol",
        )
    if protocol.drug == Drug.ESKETAMINE and history.visits:
        params = maintenance_params(course, history.policy)
        first, last = (
            history.visits[0].at.astimezone(history.tz).date(),
            history.visits[-1].at.astimezone(history.tz).date(),
        )
        allowed: tuple[int, ...]
        if (last - first).days < params.esketamine_flexible_from_day:
            allowed, when = (params.esketamine_weekly_days,), "in weeks 5-8 weekly"
        else:
            allowed = (params.esketamine_weekly_days, params.esketamine_fortnightly_days)
            when = "from week 9 only weekly or every 2 weeks"
        if interval_days not in allowed:
            raise ApplicationError(
                f"Esketamine is {when} (Spravato label; CLINICAL.md §6 rule 6).",
                rule="esketamine_label_interval",
            )


def recommendation_decide(
    *,
    actor: User,
    course: TreatmentCourse,
    decision: str,
    reason: str = "",
    interval_days: int | None = None,
    next_due: date | None = None,
    recommendation_id: int | None = None,
    override_reason: str = "",
) -> MaintenanceDecision:
    """A clinician accepts, changes (with a reason) or rejects (with a reason) the current
    recommendation. Accepting or changing a booster books it (or creates a booster-due
    follow-up); accepting a pause pauses the course.

    One lock of the course, one read of its history, one run of the recommender: the current
    recommendation is stored first, and stays stored when the decision is refused (a stale
    id, a refused booking); the decision and what it books are all or nothing."""
    reason = _check_decision(actor=actor, decision=decision, reason=reason)
    refused: Exception | None = None
    with transaction.atomic():
        history = course_history(course=_lock_course(course))
        row = _refreshed(history=history)
        try:
            with transaction.atomic():
                record = _decision_record(
                    actor=actor,
                    history=history,
                    row=row,
                    decision=decision,
                    reason=reason,
                    interval_days=interval_days,
                    next_due=next_due,
                    recommendation_id=recommendation_id,
                    override_reason=override_reason,
                )
        except (ApplicationError, ValidationError) as error:
            refused = error  # the refresh above is kept; the decision's savepoint is rolled back
    if refused is not None:
        raise refused
    return record


def _check_decision(*, actor: User, decision: str, reason: str) -> str:
    if actor.role != Role.CLINICIAN:
        raise ApplicationError("Only a prescriber decides on maintenance.", rule="prescriber_required", status=403)
    if decision not in DecisionKind.values:
        raise ValidationError({"decision": f"One of {', '.join(DecisionKind.values)}."})
    reason = reason.strip()
    if decision != DecisionKind.ACCEPTED and not reason:
        raise ValidationError({"reason": "Say why (a change or a rejection needs a reason)."})
    return reason


def _check_decidable(row: MaintenanceRecommendation, recommendation_id: int | None) -> None:
    if recommendation_id is not None and row.pk != recommendation_id:
        raise ApplicationError(
            "The recommendation changed since it was shown; review the current one.",
            rule="recommendation_stale",
            extra={"current": row.pk},
        )
    if row.status != RecommendationStatus.PROPOSED:
        raise ApplicationError(f"This recommendation was already {row.status}.", rule="recommendation_decided")
    if row.action not in DECIDABLE_ACTIONS:
        raise ApplicationError(f"Nothing to decide: {row.rule.replace('_', ' ')}.", rule="recommendation_not_decidable")


def _decided_plan(
    *,
    history: CourseHistory,
    row: MaintenanceRecommendation,
    decision: str,
    interval_days: int | None,
    next_due: date | None,
) -> tuple[str, int | None, date | None]:
    """(action, interval, due) as decided: the recommendation's, the clinician's own interval
    (and due date) for a change, nothing for a rejection."""
    if decision == DecisionKind.REJECTED:
        return row.action, None, None
    if decision != DecisionKind.MODIFIED:
        return row.action, row.interval_days, row.next_due
    if interval_days is None:
        raise ValidationError({"interval_days": "Give the interval you choose."})
    _check_interval(history=history, interval_days=interval_days)
    tz = history.tz
    today = timezone.now().astimezone(tz).date()
    if next_due is None:
        start = history.visits[-1].at.astimezone(tz).date() if history.visits else today
        next_due = start + timedelta(days=interval_days)
    return Action.BOOK, interval_days, max(next_due, today)


def _decision_record(
    *,
    actor: User,
    history: CourseHistory,
    row: MaintenanceRecommendation,
    decision: str,
    reason: str,
    interval_days: int | None,
    next_due: date | None,
    recommendation_id: int | None,
    override_reason: str,
) -> MaintenanceDecision:
    _check_decidable(row, recommendation_id)
    action, interval, due = _decided_plan(
        history=history, row=row, decision=decision, interval_days=interval_days, next_due=next_due
    )
    course = history.course
    phase_before = course.phase
    appointment: Appointment | None = None
    followup: FollowUp | None = None
    if decision != DecisionKind.REJECTED and action == Action.BOOK and due is not None:
        if course.phase in (CoursePhase.INDUCTION, CoursePhase.PAUSED):
            course = course_phase_change(actor=actor, course=course, phase=CoursePhase.MAINTENANCE, locked=True)
        appointment, followup = booster_plan(actor=actor, history=history, due=due, override_reason=override_reason)
    elif decision != DecisionKind.REJECTED and action == Action.PAUSE:
        course = course_phase_change(actor=actor, course=course, phase=CoursePhase.PAUSED, locked=True)
        if due is not None:
            followup = _paused_check_ensure(course=course, due=due, tz=history.tz)
    record = MaintenanceDecision(
        recommendation=row,
        course=course,
        decision=decision,
        action=action,
        interval_days=interval,
        next_due=due,
        previous_interval_days=(row.details or {}).get("current_interval_days"),
        phase_before=phase_before,
        phase_after=course.phase,
        reason=reason,
        decided_by=actor,
        decided_at=timezone.now(),
        appointment=appointment,
        followup=followup,
    )
    record.full_clean()
    record.save()
    row.status = decision
    row.save(update_fields=["status", "updated_at"])
    return record


def _paused_check_ensure(*, course: TreatmentCourse, due: date, tz: Any) -> FollowUp:
    """Paused boosters: a PHQ-9 every 4 weeks [U] (CLINICAL.md §6 rule 5), asked of a nurse."""
    site = course.patient.site
    hour = site_policy(site).followup_review_local_hour
    return followup_ensure(
        kind=FollowUpKind.MID_INTERVAL_PHQ9,
        key=paused_phq9_key(course.pk, due),
        patient=course.patient,
        due_at=datetime.combine(due, time(hour), tzinfo=tz),
        assignee_role=AssigneeRole.NURSE,
        note="Maintenance paused: PHQ-9 check (every 4 weeks); a relapse reopens boosters.",
        subject=course,
    )


def paused_check_schedule(assessment: Assessment) -> None:
    """Paused boosters (CLINICAL.md §6 rule 5): each PHQ-9 closes the open check of the
    patient's paused course and asks for the next one 4 weeks [U] later. Registered with
    `patients.hooks` (runs inside the assessment's transaction)."""
    if assessment.instrument != Instrument.PHQ9:
        return
    courses = TreatmentCourse.objects.filter(patient_id=assessment.patient_id, phase=CoursePhase.PAUSED).select_related(
        "patient__site"
    )
    for course in courses:
        open_checks = FollowUp.objects.filter(
            kind=FollowUpKind.MID_INTERVAL_PHQ9,
            subject_type="infusions.treatmentcourse",
            subject_id=course.pk,
            status__in=OPEN_FOLLOWUP_STATUSES,
        ).values_list("id", flat=True)
        followups_cancel(followup_ids=list(open_checks), reason="PHQ-9 received")
        site = course.patient.site
        tz = site_zone(site)
        days = site_policy(site).maintenance_pause_check_days
        due = assessment.administered_at.astimezone(tz).date() + timedelta(days=days)
        _paused_check_ensure(course=course, due=due, tz=tz)


# ---- the proactive check (beat): a worsening score reaches a clinician the same day ------------


def worsening_check(*, now: datetime | None = None, lookback_hours: int = 24) -> list[int]:
    """Every active course (maintenance or paused) with a score recorded in the last
    `lookback_hours` goes through the recommender exactly as when a clinician opens the
    patient page (`recommendation_refresh`: stored when the answer changed); an answer the rules
    call a worsening (`recommender.is_worsening`: a loss of response or a rise of >= 5 points in
    maintenance, a relapse while paused) becomes a clinician follow-up due at once, one per
    recommendation (its key), so a second run adds nothing. Returns the follow-up ids."""
    now = now or timezone.now()
    since = now - timedelta(hours=lookback_hours)
    courses = list(
        TreatmentCourse.objects.filter(
            phase__in=(CoursePhase.MAINTENANCE, CoursePhase.PAUSED),
            patient__assessments__created_at__gte=since,
        )
        .select_related("patient__site")
        .distinct()
        .order_by("pk")
    )
    out = []
    for course in courses:
        recommendation = recommendation_refresh(course=course)
        if not is_worsening(recommendation):
            continue
        followup = followup_ensure(
            kind=FollowUpKind.WORSENING_REVIEW,
            key=record_key(FollowUpKind.WORSENING_REVIEW, recommendation),
            patient=course.patient,
            due_at=now,
            assignee_role=AssigneeRole.CLINICIAN,
            note=recommendation.rationale[:2000],
            subject=recommendation,
        )
        out.append(followup.pk)
    return out

"""Reads for response tracking, the maintenance recommender and the outcomes report.

Every function runs a fixed number of queries, whatever the number of sessions, scores or
courses (tests assert it with django_assert_num_queries at two sizes).
"""

import statistics
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.utils import timezone

from clinic.core.roles import Role
from clinic.localtime import site_zone
from clinic.models import User
from clinic.policy import ClinicalPolicy
from infusions.protocols.models import Drug
from infusions.sessions.models import CoursePhase, InfusionSession, TreatmentCourse
from infusions.sessions.selectors import course_policy
from monitoring.alerts.models import Alert, AlertSeverity
from monitoring.outcomes.measures import CourseOutcome, OutcomeRules, ScorePoint, course_outcome
from monitoring.outcomes.models import MaintenanceDecision, MaintenanceRecommendation, RecommendationStatus
from monitoring.outcomes.recommender import MaintenanceParams, PastDecision, Visit
from patients.models import Assessment
from patients.scoring import Instrument

HIGH_SEVERITIES = (AlertSeverity.HIGH, AlertSeverity.EMERGENCY)


def outcome_rules(policy: ClinicalPolicy) -> OutcomeRules:
    return OutcomeRules(
        response_percent=policy.response_percent,
        pain_response_percent=policy.pain_response_percent,
        phq9_remission_below=policy.phq9_remission_below,
        madrs_remission_max=policy.madrs_remission_max,
    )


def maintenance_params(course: TreatmentCourse, policy: ClinicalPolicy) -> MaintenanceParams:
    protocol = course.protocol
    return MaintenanceParams(
        min_interval_days=protocol.min_interval_days,
        extend_step_days=protocol.extend_step_days,
        max_interval_days=protocol.max_interval_days,
        exit_after_stable_at_max=protocol.exit_after_stable_at_max,
        induction_sessions=protocol.induction_sessions,
        esketamine=protocol.drug == Drug.ESKETAMINE,
        worse_rise_points=policy.maintenance_worse_rise_points,
        nonresponse_review_after_sessions=policy.nonresponse_review_after_sessions,
        pause_check_days=policy.maintenance_pause_check_days,
        esketamine_flexible_from_day=(policy.esketamine_flexible_from_week - 1) * 7,
    )


def course_for_outcomes(*, user: User, course_id: int | str) -> TreatmentCourse:
    """The course (with protocol, patient and site), or 404. Patients never see this."""
    if user.role == Role.PATIENT:
        raise Http404
    try:
        return TreatmentCourse.objects.select_related("protocol", "patient__site").get(pk=int(course_id))
    except (TreatmentCourse.DoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error


def _point(row: tuple[Any, ...]) -> ScorePoint:
    pk, instrument, total, items, at = row
    return ScorePoint(at=at, instrument=instrument, total=total, items=tuple(items or ()), id=pk)


@dataclass(frozen=True)
class CourseHistory:
    """What the recommender reads about one course."""

    course: TreatmentCourse
    visits: list[Visit]
    scores: list[ScorePoint]  # every instrument, within the course's time
    decisions: list[PastDecision]
    policy: ClinicalPolicy

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return site_zone(self.course.patient.site)

    def outcome(self) -> CourseOutcome:
        return course_outcome(
            indication=self.course.indication,
            session_times=[v.at for v in self.visits],
            scores=self.scores,
            rules=outcome_rules(self.policy),
        )


def course_history(*, course: TreatmentCourse) -> CourseHistory:
    """Sessions given (with a high-alert flag), the patient's scores up to the next course's
    first session, and the clinicians' decisions. Four queries."""
    high_alert = Exists(Alert.objects.filter(session=OuterRef("pk"), severity__in=HIGH_SEVERITIES))
    rows = (
        InfusionSession.objects.filter(course=course, started_at__isnull=False)
        .annotate(high_alert=high_alert)
        .order_by("started_at", "id")
        .values_list("id", "started_at", "high_alert")
    )
    visits = [Visit(at=at, high_alert=bool(flag), session_id=pk) for pk, at, flag in rows if at is not None]
    next_start = (
        InfusionSession.objects.filter(
            course__patient_id=course.patient_id, course__created_at__gt=course.created_at, started_at__isnull=False
        )
        .order_by("started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    scores_qs = Assessment.objects.filter(patient_id=course.patient_id)
    if next_start is not None:
        scores_qs = scores_qs.filter(administered_at__lt=next_start)
    scores = [
        _point(row)
        for row in scores_qs.order_by("administered_at", "id").values_list(
            "id", "instrument", "total", "items", "administered_at"
        )
    ]
    decisions = [
        PastDecision(at=at, kind=kind, action=action, interval_days=interval, next_due=due)
        for at, kind, action, interval, due in MaintenanceDecision.objects.filter(course=course)
        .order_by("decided_at", "id")
        .values_list("decided_at", "decision", "action", "interval_days", "next_due")
    ]
    return CourseHistory(course=course, visits=visits, scores=scores, decisions=decisions, policy=course_policy(course))


def recommendation_latest(*, course: TreatmentCourse) -> MaintenanceRecommendation | None:
    return (
        MaintenanceRecommendation.objects.filter(course=course)
        .exclude(status=RecommendationStatus.SUPERSEDED)
        .select_related("decision__decided_by", "decision__appointment", "decision__followup")
        .order_by("-computed_at", "-id")
        .first()
    )


def recommendation_get(*, recommendation_id: int) -> MaintenanceRecommendation:
    return MaintenanceRecommendation.objects.select_related("decision").get(pk=recommendation_id)


def recommendation_list(*, course: TreatmentCourse) -> QuerySet[MaintenanceRecommendation]:
    return (
        MaintenanceRecommendation.objects.filter(course=course)
        .select_related("decision__decided_by", "decision__appointment", "decision__followup")
        .order_by("-computed_at", "-id")
    )


# ---- the outcomes report ------------------------------------------------------------------


@dataclass
class _Group:
    protocol: str
    indication: str
    courses: int = 0
    evaluable: int = 0
    responders: int = 0
    remission_evaluable: int = 0
    remitters: int = 0
    stopped_after_first: int = 0
    sessions_to_response: list[int] | None = None


REPORT_COLUMNS = (
    "protocol",
    "indication",
    "courses",
    "evaluable",
    "responders",
    "response_rate",
    "remitters",
    "remission_rate",
    "median_sessions_to_response",
    "stopped_after_first_session",
    "stopped_after_first_session_share",
)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def outcomes_report(
    *,
    user: User,
    site_id: int | None = None,
    lapsed_after_days: int = 28,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Per protocol and indication: courses, response rate, remission rate, median sessions to
    response, and the share who stopped after the first session. Three queries, whatever
    the number of courses.

    - Response and remission: ever reached during the course (CLINICAL.md §5 thresholds of
      the patient's site), among courses with a baseline and a later score ("evaluable");
      remission only for PHQ-9 and MADRS courses.
    - Stopped after the first session: exactly one session given, and the course has ended or
      paused, or nothing followed it for `lapsed_after_days` (28 days by default) [U].
    """
    now = now or timezone.now()
    courses = TreatmentCourse.objects.select_related("protocol", "patient__site").order_by("id")
    if user.role == Role.PATIENT:
        return []
    if site_id is not None:
        courses = courses.filter(patient__site_id=site_id)
    course_list = list(courses)
    ids = [c.pk for c in course_list]
    sessions: dict[int, list[datetime]] = defaultdict(list)
    for course_id, started_at in (
        InfusionSession.objects.filter(course_id__in=ids, started_at__isnull=False)
        .order_by("started_at")
        .values_list("course_id", "started_at")
    ):
        if started_at is not None:
            sessions[course_id].append(started_at)
    patient_ids = {c.patient_id for c in course_list}
    scores: dict[int, list[ScorePoint]] = defaultdict(list)
    for patient_id, pk, instrument, total, at in (
        Assessment.objects.filter(patient_id__in=patient_ids)
        .order_by("administered_at", "id")
        .values_list("patient_id", "id", "instrument", "total", "administered_at")
    ):  # the report needs no items (most of the decoding time at scale)
        scores[patient_id].append(ScorePoint(at=at, instrument=instrument, total=total, id=pk))
    starts: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for course in course_list:
        if sessions[course.pk]:
            starts[course.patient_id].append((sessions[course.pk][0], course.pk))
    groups: dict[tuple[str, str], _Group] = {}
    for course in course_list:
        key = (course.protocol.code, course.indication)
        group = groups.setdefault(key, _Group(protocol=key[0], indication=key[1], sessions_to_response=[]))
        group.courses += 1
        times = sessions[course.pk]
        until = _next_start(starts[course.patient_id], course.pk, times[0] if times else None)
        points = [s for s in scores[course.patient_id] if until is None or s.at < until]
        outcome = course_outcome(
            indication=course.indication,
            session_times=times,
            scores=points,
            rules=outcome_rules(course_policy(course)),
        )
        if outcome.baseline is not None and outcome.current is not None:
            group.evaluable += 1
            if outcome.ever_responded:
                group.responders += 1
                if outcome.sessions_to_first_response is not None and group.sessions_to_response is not None:
                    group.sessions_to_response.append(outcome.sessions_to_first_response)
            if outcome.instrument in (Instrument.PHQ9, Instrument.MADRS):
                group.remission_evaluable += 1
                group.remitters += int(outcome.ever_remitted)
        if len(times) == 1 and (
            course.phase in (CoursePhase.ENDED, CoursePhase.PAUSED)
            or times[0] < now - timedelta(days=lapsed_after_days)
        ):
            group.stopped_after_first += 1
    return [_row(group) for _, group in sorted(groups.items())]


def _next_start(starts: Iterable[tuple[datetime, int]], course_id: int, first: datetime | None) -> datetime | None:
    """The first session of the patient's next course: scores after it belong to that one."""
    if first is None:
        return None
    later = [at for at, other in starts if other != course_id and at > first]
    return min(later) if later else None


def _row(group: _Group) -> dict[str, Any]:
    to_response = group.sessions_to_response or []
    return {
        "protocol": group.protocol,
        "indication": group.indication,
        "courses": group.courses,
        "evaluable": group.evaluable,
        "responders": group.responders,
        "response_rate": _rate(group.responders, group.evaluable),
        "remitters": group.remitters,
        "remission_rate": _rate(group.remitters, group.remission_evaluable),
        "median_sessions_to_response": statistics.median(to_response) if to_response else None,
        "stopped_after_first_session": group.stopped_after_first,
        "stopped_after_first_session_share": _rate(group.stopped_after_first, group.courses),
    }

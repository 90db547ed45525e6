"""Reads composed for the web pages (the nurse's board, the bedside page, the clinician's
patient page). Each is built from the apps' selectors with a fixed number of queries,
whatever the number of rows; each takes the acting user and shows only what they may see."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet

from clinic.models import Role, Site, User
from clinic.policy import ClinicalPolicy
from infusions.models import CoursePhase, InfusionSession, SessionStatus, TreatmentCourse
from infusions.selectors import course_list, session_get, session_list
from monitoring.models import Alert, AlertStatus, VitalSign
from monitoring.outcome_selectors import course_history, policy_of
from monitoring.outcomes import CourseOutcome
from monitoring.selectors import alert_list, vitals_list
from patients.models import Assessment, BodyMeasurement, Patient, Screening
from patients.selectors import assessment_list, patient_get
from patients.services import patient_policy

# The order alerts are shown in: the most dangerous first.
SEVERITY_ORDER = {"emergency": 0, "high": 1, "medium": 2}
MEASUREMENTS_SHOWN = 5


def alerts_sorted(alerts: list[Alert]) -> list[Alert]:
    """Open before acknowledged, then by severity, then newest first."""
    return sorted(
        alerts,
        key=lambda a: (
            a.status != AlertStatus.OPEN,
            SEVERITY_ORDER.get(a.severity, 9),
            -a.raised_at.timestamp(),
        ),
    )


@dataclass
class BedsideView:
    session: InfusionSession
    patient: Patient
    policy: ClinicalPolicy
    vitals: list[VitalSign]
    alerts: list[Alert]

    @property
    def current_vitals(self) -> list[VitalSign]:
        """The sets that count: a corrected set is replaced by its correction."""
        superseded = {v.supersedes_id for v in self.vitals if v.supersedes_id}
        return [v for v in self.vitals if v.pk not in superseded]

    @property
    def open_alerts(self) -> list[Alert]:
        return [a for a in self.alerts if a.status != AlertStatus.RESOLVED]


def bedside_get(*, user: User, session_id: int) -> BedsideView:
    """Everything the bedside page shows about one session (5 queries)."""
    session = session_get(user=user, session_id=session_id)
    patient = session.course.patient
    vitals = list(vitals_list(session=session))
    alerts = alerts_sorted(list(alert_list(user=user, session_id=session.pk)))
    return BedsideView(session=session, patient=patient, policy=patient_policy(patient), vitals=vitals, alerts=alerts)


@dataclass
class PatientChart:
    patient: Patient
    screening: Screening | None
    measurements: list[BodyMeasurement]
    courses: Sequence[TreatmentCourse]
    assessments: list[Assessment]
    focus: TreatmentCourse | None = None  # the course the scores and the recommendation are about
    outcome: CourseOutcome | None = None
    policy: ClinicalPolicy | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def patient_chart_get(*, user: User, patient_id: int) -> PatientChart:
    """The clinician's patient page: demographics, the latest screening, recent weights, every
    course with its sessions and doses, the scores, and the current course's outcome (baseline,
    response, remission). A fixed number of queries, whatever the sessions and scores."""
    patient = patient_get(user=user, patient_id=patient_id)
    screenings = list(patient.screenings.select_related("screened_by")[:1])
    measurements = list(patient.measurements.all()[:MEASUREMENTS_SHOWN])
    sessions = session_list(user=user).order_by("created_at", "id")
    courses = list(
        course_list(user=user, patient_id=patient.pk)
        .select_related("patient__site")
        .prefetch_related(Prefetch("sessions", queryset=sessions, to_attr="session_rows"))
    )
    chart = PatientChart(
        patient=patient,
        screening=screenings[0] if screenings else None,
        measurements=measurements,
        courses=courses,
        assessments=list(assessment_list(patient=patient)),
    )
    active = [c for c in courses if c.phase != CoursePhase.ENDED]
    chart.focus = active[0] if active else (courses[0] if courses else None)
    if chart.focus is not None:
        chart.outcome = course_history(course=chart.focus).outcome()
        chart.policy = policy_of(chart.focus)
    return chart


ACTIVE_STATUSES = (
    SessionStatus.PLANNED,
    SessionStatus.PRECHECKED,
    SessionStatus.RUNNING,
    SessionStatus.PAUSED,
    SessionStatus.COMPLETED,
    SessionStatus.STOPPED,
)


def active_sessions(*, user: User, site: Site | None) -> QuerySet[InfusionSession]:
    """Sessions not yet discharged at the site, with their open alerts and vitals prefetched."""
    qs = session_list(user=user).filter(status__in=ACTIVE_STATUSES).order_by("created_at", "id")
    if user.role == Role.PATIENT:
        return qs.none()
    if site is not None:
        qs = qs.filter(course__patient__site=site)
    open_alerts = Alert.objects.exclude(status=AlertStatus.RESOLVED)
    current = VitalSign.objects.filter(superseded_by__isnull=True).order_by("recorded_at", "id")
    return qs.prefetch_related(
        Prefetch("alerts", queryset=open_alerts, to_attr="open_alert_rows"),
        Prefetch("vitals", queryset=current, to_attr="vital_rows"),
    )

"""Reads composed for the web pages (the nurse's board, the bedside page, the clinician's
patient page). Each is built from the apps' selectors with a fixed number of queries,
whatever the number of rows; each takes the acting user and shows only what they may see."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet

from clinic.core.roles import Role
from clinic.models import Site, User
from clinic.policy import ClinicalPolicy
from infusions.scheduling.models import Appointment, AppointmentKind, AppointmentStatus
from infusions.scheduling.selectors import appointment_list
from infusions.sessions.models import CoursePhase, TreatmentCourse
from infusions.sessions.selectors import course_list, course_policy, session_list
from monitoring.outcomes.measures import CourseOutcome
from monitoring.outcomes.selectors import course_history
from patients.models import Assessment, BodyMeasurement, Patient, Screening
from patients.selectors import assessment_list, patient_get

MEASUREMENTS_SHOWN = 5


@dataclass
class PatientChart:
    patient: Patient
    screening: Screening | None
    measurements: list[BodyMeasurement]
    courses: Sequence[TreatmentCourse]
    assessments: list[Assessment]
    open_appointments: list[Appointment] = field(default_factory=list)  # infusions with no session yet
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
    chart.open_appointments = list(
        appointment_list(user=user, patient_id=patient.pk)
        .filter(
            kind=AppointmentKind.INFUSION,
            status__in=(AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN),
            session__isnull=True,
        )
        .order_by("starts_at", "id")
    )
    active = [c for c in courses if c.phase != CoursePhase.ENDED]
    chart.focus = active[0] if active else (courses[0] if courses else None)
    if chart.focus is not None:
        chart.outcome = course_history(course=chart.focus).outcome()
        chart.policy = course_policy(chart.focus)
    return chart


def site_clinicians(*, site: Site) -> QuerySet[User]:
    """The active clinicians placed at a site (who can be put on call there), by name."""
    return User.objects.filter(role=Role.CLINICIAN, is_active=True, staff__site=site).order_by(
        "last_name", "first_name", "pk"
    )

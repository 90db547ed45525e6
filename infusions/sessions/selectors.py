"""Reads about treatment courses and sessions, scoped to what the acting user may see, and
the clinical policy that governs a course or a session (its patient's site's)."""

from django.db.models import QuerySet
from django.http import Http404

from clinic.core.roles import Role
from clinic.models import Site, User
from clinic.policy import ClinicalPolicy
from infusions.sessions.models import InfusionSession, TreatmentCourse
from patients.selectors import patient_policy


def course_policy(course: TreatmentCourse) -> ClinicalPolicy:
    return patient_policy(course.patient)


def session_policy(session: InfusionSession) -> ClinicalPolicy:
    return patient_policy(session.course.patient)


def session_site(session: InfusionSession) -> Site | None:
    """The site a session is given at: its appointment's, else its patient's."""
    if session.appointment_id is not None and session.appointment is not None:
        return session.appointment.site
    return session.course.patient.site


def course_list(*, user: User, patient_id: int | None = None) -> QuerySet[TreatmentCourse]:
    qs = TreatmentCourse.objects.select_related("protocol", "patient", "created_by")
    if user.role == Role.PATIENT:
        qs = qs.filter(patient__user=user)
    if patient_id is not None:
        qs = qs.filter(patient_id=patient_id)
    return qs


def course_get(*, user: User, course_id: int | str) -> TreatmentCourse:
    try:
        return course_list(user=user).get(pk=int(course_id))
    except (TreatmentCourse.DoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error


def session_list(*, user: User, course_id: int | None = None) -> QuerySet[InfusionSession]:
    qs = InfusionSession.objects.select_related("course__protocol", "course__patient", "approved_by", "created_by")
    if user.role == Role.PATIENT:
        qs = qs.filter(course__patient__user=user)
    if course_id is not None:
        qs = qs.filter(course_id=course_id)
    return qs


def session_get(*, user: User, session_id: int | str) -> InfusionSession:
    try:
        return session_list(user=user).get(pk=int(session_id))
    except (InfusionSession.DoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error

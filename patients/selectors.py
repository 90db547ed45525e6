"""Reads about patients, scoped to what the acting user may see."""

from datetime import datetime

from django.db.models import Q, QuerySet
from django.http import Http404

from clinic.core.roles import Role
from clinic.models import User
from clinic.policy import ClinicalPolicy, site_policy
from patients.models import Assessment, BodyMeasurement, Patient, Screening


def patient_policy(patient: Patient) -> ClinicalPolicy:
    """The clinical policy of a patient: their site's (CLINICAL.md defaults without one)."""
    return site_policy(patient.site if patient.site_id else None)


def patient_of_user(*, user: User) -> Patient | None:
    """The patient record of a portal account (None for staff)."""
    return Patient.objects.filter(user=user).first()


def patient_list(*, user: User, search: str | None = None) -> QuerySet[Patient]:
    qs = Patient.objects.select_related("site")
    if user.role == Role.PATIENT:
        qs = qs.filter(user=user)
    if search:
        for term in search.split():
            qs = qs.filter(Q(mrn__iexact=term) | Q(family_name__icontains=term) | Q(given_name__icontains=term))
    return qs


def patient_get(*, user: User, patient_id: int | str) -> Patient:
    """The patient, or 404 when it does not exist or is not the user's to see."""
    try:
        return patient_list(user=user).get(pk=int(patient_id))
    except (Patient.DoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error


def measurement_list(*, patient: Patient) -> QuerySet[BodyMeasurement]:
    return patient.measurements.select_related("recorded_by")


def measurement_latest(*, patient: Patient, at: datetime) -> BodyMeasurement | None:
    return patient.measurements.filter(measured_at__lte=at).first()


def screening_list(*, patient: Patient) -> QuerySet[Screening]:
    return patient.screenings.select_related("screened_by")


def screening_current(*, patient: Patient, at: datetime) -> Screening | None:
    """The latest screening; older ones are void (any change of answers makes a new one)."""
    return patient.screenings.filter(screened_at__lte=at).first()


def assessment_list(*, patient: Patient, instrument: str | None = None) -> QuerySet[Assessment]:
    qs = patient.assessments.select_related("recorded_by")
    if instrument:
        qs = qs.filter(instrument=instrument)
    return qs

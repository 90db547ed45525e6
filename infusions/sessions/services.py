"""Every write about what is planned and given: courses, sessions and their doses."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from clinic.core.roles import Role
from clinic.models import User
from clinic.policy import ClinicalPolicy
from infusions.dosing import DoseLimits, DoseRefused, DoseResult, dose_calculate
from infusions.protocols.models import Protocol
from infusions.scheduling.models import Appointment, AppointmentKind, AppointmentStatus
from infusions.sessions.models import CoursePhase, InfusionSession, TreatmentCourse
from patients.models import BodyMeasurement, Patient, Screening
from patients.selectors import measurement_latest, patient_policy, screening_current

ACTIVE_PHASES = (CoursePhase.INDUCTION, CoursePhase.MAINTENANCE)


def screening_gate(*, patient: Patient, at: datetime) -> Screening:
    """A valid screening without an absolute contraindication (CLINICAL.md §2)."""
    screening = screening_current(patient=patient, at=at)
    if screening is None:
        raise ApplicationError("No contraindication screening is on record.", rule="screening_missing")
    if screening.valid_until <= at:
        raise ApplicationError(
            f"The screening expired on {screening.valid_until:%Y-%m-%d}; screen again.",
            rule="screening_expired",
        )
    if screening.outcome == "absolute":
        raise ApplicationError(
            "Absolute contraindication: " + ", ".join(screening.reasons) + ".",
            rule="contraindication_absolute",
            extra={"reasons": screening.reasons},
        )
    return screening


def protocol_limits(protocol: Protocol, policy: ClinicalPolicy) -> DoseLimits:
    return DoseLimits(
        dosing_mode=protocol.dosing_mode,
        unit=protocol.unit,
        soft_min=protocol.soft_min,
        soft_max=protocol.soft_max,
        hard_max=protocol.hard_max,
        max_total_mg=protocol.max_total_mg,
        dose_step_mg=protocol.dose_step_mg,
        duration_minutes=protocol.duration_minutes,
        infused=protocol.is_infused,
        max_iv_concentration_mg_per_ml=Decimal(policy.max_iv_concentration_mg_per_ml),
    )


@dataclass(frozen=True)
class DosePlan:
    result: DoseResult
    measurement: BodyMeasurement | None
    approval_reasons: list[str] = field(default_factory=list)


def dose_plan(
    *,
    course: TreatmentCourse,
    dose: Decimal,
    concentration_mg_per_ml: Decimal | None = None,
    at: datetime | None = None,
) -> DosePlan:
    """Every check and figure for a dose, nothing saved (also the dose preview)."""
    at = at or timezone.now()
    protocol, patient = course.protocol, course.patient
    policy = patient_policy(patient)
    if course.phase not in ACTIVE_PHASES:
        raise ApplicationError(f"The course is {course.phase}.", rule="course_not_active")
    screening = screening_gate(patient=patient, at=at)
    measurement = measurement_latest(patient=patient, at=at)
    weight_based = protocol.dosing_mode in ("mg_per_kg", "mg_per_kg_per_h")
    if weight_based:
        if measurement is None:
            raise ApplicationError("No weight is on record; weigh the patient.", rule="weight_missing")
        if measurement.measured_at < at - timedelta(days=policy.weight_valid_days):
            raise ApplicationError(
                f"The last weight ({measurement.measured_at:%Y-%m-%d}) is older than "
                f"{policy.weight_valid_days} days; weigh the patient.",
                rule="weight_stale",
            )
    if concentration_mg_per_ml is None and protocol.route in ("iv", "im"):
        concentration_mg_per_ml = protocol.default_concentration_mg_per_ml
    try:
        result = dose_calculate(
            limits=protocol_limits(protocol, policy),
            dose=dose,
            weight_kg=measurement.weight_kg if (weight_based and measurement) else None,
            concentration_mg_per_ml=concentration_mg_per_ml,
        )
    except DoseRefused as refusal:
        raise ApplicationError(refusal.message, rule=refusal.rule) from refusal
    reasons: list[str] = []
    if result.outside_soft_range:
        reasons.append("dose_outside_soft_range")
    if screening.outcome == "relative":
        reasons.extend(f"relative_contraindication:{reason}" for reason in screening.reasons)
    return DosePlan(result=result, measurement=measurement, approval_reasons=reasons)


@transaction.atomic
def course_create(
    *, actor: User, patient: Patient, protocol: Protocol, indication: str, notes: str = ""
) -> TreatmentCourse:
    if actor.role != Role.CLINICIAN:
        raise ApplicationError("Only a prescriber starts a course.", rule="prescriber_required", status=403)
    if not protocol.is_active:
        raise ValidationError({"protocol": "This protocol is retired."})
    screening_gate(patient=patient, at=timezone.now())
    course = TreatmentCourse(patient=patient, protocol=protocol, indication=indication, notes=notes, created_by=actor)
    course.full_clean()
    course.save()
    return course


def _check_session_appointment(*, course: TreatmentCourse, appointment: Appointment) -> None:
    if appointment.patient_id != course.patient_id:
        raise ValidationError({"appointment": "This appointment belongs to another patient."})
    if appointment.kind != AppointmentKind.INFUSION:
        raise ValidationError({"appointment": "Only an infusion appointment holds a session."})
    if appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
        raise ApplicationError(f"The appointment is {appointment.status}.", rule="appointment_status")
    if InfusionSession.objects.filter(appointment=appointment).exists():
        raise ApplicationError("This appointment already has a session.", rule="appointment_has_session")


def session_draft(*, course: TreatmentCourse, plan: DosePlan, created_by: User, **fields: Any) -> InfusionSession:
    """An unsaved session holding a dose plan's figures (the weight snapshot, the dose, the pump
    settings, the hard maximum in force): the one place a plan becomes a session's fields."""
    result = plan.result
    return InfusionSession(
        course=course,
        measurement=plan.measurement,
        weight_kg=result.weight_kg,
        dose=result.dose,
        dose_unit=result.unit,
        concentration_mg_per_ml=result.concentration_mg_per_ml,
        total_dose_mg=result.total_dose_mg,
        rate_mg_per_h=result.rate_mg_per_h,
        volume_ml=result.volume_ml,
        rate_ml_per_h=result.rate_ml_per_h,
        devices=result.devices,
        hard_max_at_creation=course.protocol.hard_max,
        approval_reasons=plan.approval_reasons,
        created_by=created_by,
        **fields,
    )


@transaction.atomic
def session_create(
    *,
    actor: User,
    course: TreatmentCourse,
    dose: Decimal,
    concentration_mg_per_ml: Decimal | None = None,
    override_reason: str = "",
    appointment: Appointment | None = None,
) -> InfusionSession:
    """Plan a session with its computed dose. Outside the soft range (or with a relative
    contraindication) a prescriber approves with a written reason: at once when the
    prescriber creates it with a reason, otherwise later through `session_approve`.
    `appointment`: the booking this session fills (the course's patient's, an infusion, not
    cancelled or missed, and not already used by another session)."""
    course = (
        TreatmentCourse.objects.select_for_update(of=("self",))
        .select_related("protocol", "patient__site")
        .get(pk=course.pk)
    )
    if appointment is not None:
        _check_session_appointment(course=course, appointment=appointment)
    now = timezone.now()
    plan = dose_plan(course=course, dose=dose, concentration_mg_per_ml=concentration_mg_per_ml, at=now)
    override_reason = override_reason.strip()
    approved_by, approved_at, requires_approval = None, None, False
    if plan.approval_reasons:
        if actor.role == Role.CLINICIAN:
            if not override_reason:
                raise ValidationError(
                    {
                        "override_reason": "This dose needs a prescriber's written reason: "
                        + ", ".join(plan.approval_reasons)
                        + "."
                    }
                )
            approved_by, approved_at = actor, now
        else:
            requires_approval = True
    session = session_draft(
        course=course,
        plan=plan,
        created_by=actor,
        appointment=appointment,
        requires_approval=requires_approval,
        override_reason=override_reason if approved_by else "",
        approved_by=approved_by,
        approved_at=approved_at,
    )
    session.full_clean()
    session.save()
    return session


@transaction.atomic
def session_approve(*, actor: User, session: InfusionSession, reason: str) -> InfusionSession:
    """A prescriber approves a dose outside the soft limits, with a reason (recorded)."""
    session = InfusionSession.objects.select_for_update().get(pk=session.pk)
    if actor.role != Role.CLINICIAN:
        raise ApplicationError("Only a prescriber approves a dose.", rule="prescriber_required", status=403)
    if not session.requires_approval:
        raise ApplicationError("This session needs no approval.", rule="approval_not_needed")
    if not reason.strip():
        raise ValidationError({"reason": "A written reason is required."})
    session.requires_approval = False
    session.approved_by = actor
    session.approved_at = timezone.now()
    session.override_reason = reason.strip()
    session.full_clean()
    session.save(update_fields=["requires_approval", "approved_by", "approved_at", "override_reason", "updated_at"])
    return session


# Phase changes a clinician may make (CLINICAL.md §6: induction -> maintenance, maintenance
# <-> paused when boosters pause or reopen, any active phase -> ended).
PHASE_CHANGES = {
    CoursePhase.INDUCTION: (CoursePhase.MAINTENANCE, CoursePhase.PAUSED, CoursePhase.ENDED),
    CoursePhase.MAINTENANCE: (CoursePhase.PAUSED, CoursePhase.ENDED),
    CoursePhase.PAUSED: (CoursePhase.MAINTENANCE, CoursePhase.ENDED),
    CoursePhase.ENDED: (),
}


@transaction.atomic
def course_phase_change(*, actor: User, course: TreatmentCourse, phase: str, locked: bool = False) -> TreatmentCourse:
    """Move a course to another phase (a prescriber's decision; the caller records why).
    `locked`: the caller already holds the course's row lock in this transaction (and `course`
    is that locked row)."""
    if actor.role != Role.CLINICIAN:
        raise ApplicationError("Only a prescriber changes a course's phase.", rule="prescriber_required", status=403)
    if not locked:
        course = TreatmentCourse.objects.select_for_update(of=("self",)).get(pk=course.pk)
    if phase == course.phase:
        return course
    if phase not in PHASE_CHANGES[CoursePhase(course.phase)]:
        raise ApplicationError(f"A course cannot go from {course.phase} to {phase}.", rule="course_phase_change")
    course.phase = phase
    course.full_clean()
    course.save(update_fields=["phase", "updated_at"])
    return course

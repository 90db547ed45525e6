"""Every write about who is treated."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from clinic.core.roles import Role
from clinic.models import Site, User
from patients.hooks import assessment_hooks_run
from patients.models import Assessment, AssessmentSource, BodyMeasurement, Patient, Screening
from patients.scoring import PORTAL_INSTRUMENTS, ItemsInvalid, score
from patients.screening import ANSWER_KEYS, age_on, screening_evaluate
from patients.selectors import patient_policy


@transaction.atomic
def patient_create(
    *,
    actor: User,
    mrn: str,
    given_name: str,
    family_name: str,
    birth_date: date,
    sex: str,
    email: str = "",
    phone: str = "",
    site: Site | None = None,
) -> Patient:
    patient = Patient(
        mrn=mrn,
        given_name=given_name,
        family_name=family_name,
        birth_date=birth_date,
        sex=sex,
        email=email,
        phone=phone,
        site=site,
    )
    if birth_date > timezone.localdate():
        raise ValidationError({"birth_date": "The birth date is in the future."})
    patient.full_clean()
    patient.save()
    return patient


_PATIENT_EDITABLE = ("given_name", "family_name", "birth_date", "sex", "email", "phone", "site")


@transaction.atomic
def patient_update(*, actor: User, patient: Patient, data: dict[str, Any]) -> Patient:
    changed = [name for name in _PATIENT_EDITABLE if name in data]
    for name in changed:
        setattr(patient, name, data[name])
    patient.full_clean()
    patient.save(update_fields=[*changed, "updated_at"])
    return patient


@transaction.atomic
def patient_portal_account_create(*, actor: User, patient: Patient, username: str, password: str) -> User:
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.user_id is not None:
        raise ApplicationError("This patient already has a portal account.", rule="portal_account_exists")
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "This username is taken."})
    user = User(
        username=username,
        role=Role.PATIENT,
        first_name=patient.given_name,
        last_name=patient.family_name,
        email=patient.email,
    )
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from error
    user.set_password(password)
    user.full_clean()
    try:
        user.save()
    except IntegrityError as error:
        raise ValidationError({"username": "This username is taken."}) from error
    patient.user = user
    patient.save(update_fields=["user", "updated_at"])
    return user


@transaction.atomic
def measurement_record(
    *,
    actor: User,
    patient: Patient,
    weight_kg: Decimal,
    height_cm: Decimal | None = None,
    measured_at: datetime | None = None,
    confirm_change: bool = False,
) -> BodyMeasurement:
    """Record a weight. A change beyond the site's threshold from the previous weight must
    be confirmed (CLINICAL.md §1, 10 % [U])."""
    now = timezone.now()
    policy = patient_policy(patient)
    measured_at = measured_at or now
    if measured_at > now + relativedelta(minutes=policy.vitals_future_minutes):
        raise ValidationError({"measured_at": "The measurement time is in the future."})
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    previous = patient.measurements.filter(measured_at__lte=measured_at).first()
    if previous is not None and not confirm_change:
        change = abs(weight_kg - previous.weight_kg) / previous.weight_kg * 100
        if change > policy.weight_change_confirm_percent:
            raise ApplicationError(
                f"{weight_kg} kg differs by {change:.1f} % from the previous {previous.weight_kg} kg "
                f"(threshold {policy.weight_change_confirm_percent} %); re-weigh or confirm.",
                rule="weight_change_unconfirmed",
                extra={"previous_weight_kg": float(previous.weight_kg)},
            )
    measurement = BodyMeasurement(
        patient=patient,
        weight_kg=weight_kg,
        height_cm=height_cm,
        measured_at=measured_at,
        recorded_by=actor,
        change_confirmed=confirm_change and previous is not None,
    )
    measurement.full_clean()
    measurement.save()
    return measurement


@transaction.atomic
def screening_record(
    *,
    actor: User,
    patient: Patient,
    answers: dict[str, Any],
    screened_at: datetime | None = None,
) -> Screening:
    """A contraindication screening (CLINICAL.md §2). It replaces the previous one, which is
    void from now on because the latest screening is the one that counts."""
    missing = [key for key in ANSWER_KEYS if not isinstance(answers.get(key), bool)]
    medications = answers.get("medications", [])
    errors: dict[str, str] = dict.fromkeys(missing, "Answer true or false.")
    if not isinstance(medications, list) or not all(isinstance(m, str) for m in medications):
        errors["medications"] = "A list of medication names."
    if errors:
        raise ValidationError({"answers": [f"{k}: {v}" for k, v in errors.items()]})
    policy = patient_policy(patient)
    screened_at = screened_at or timezone.now()
    result = screening_evaluate(
        answers={key: answers[key] for key in ANSWER_KEYS},
        medications=medications,
        age=age_on(patient.birth_date, timezone.localdate(screened_at)),
        relative_age_years=policy.relative_age_years,
    )
    screening = Screening(
        patient=patient,
        answers={**{key: answers[key] for key in ANSWER_KEYS}, "medications": medications},
        outcome=result.outcome,
        reasons=result.reasons,
        medication_flags=result.medication_flags,
        screened_at=screened_at,
        valid_until=screened_at + relativedelta(months=policy.screening_valid_months),
        screened_by=actor,
    )
    screening.full_clean()
    screening.save()
    return screening


@transaction.atomic
def assessment_record(
    *,
    actor: User,
    patient: Patient,
    instrument: str,
    items: Any,
    administered_at: datetime | None = None,
) -> Assessment:
    """Score a questionnaire from its items and store it, attributed to the actor (staff, or
    the patient through the portal). Total, band and flags are computed here (CLINICAL.md §5);
    missing or out-of-range items are refused naming the item. Registered hooks (the PHQ-9
    item 9 suicide-risk review) run inside this transaction."""
    now = timezone.now()
    via_portal = actor.role == Role.PATIENT
    if via_portal:
        if patient.user_id != actor.pk:
            raise ApplicationError("No such patient.", rule="not_found", status=404)
        if instrument not in PORTAL_INSTRUMENTS:
            raise ValidationError({"instrument": f"Patients fill in {' or '.join(PORTAL_INSTRUMENTS)} only."})
    elif not actor.is_clinical:
        raise ApplicationError("Only clinical staff record assessments.", rule="clinical_role_required", status=403)
    try:
        result = score(instrument, items)
    except ItemsInvalid as error:
        raise ValidationError({key: [message] for key, message in error.errors.items()}) from error
    administered_at = administered_at or now
    if administered_at > now + relativedelta(minutes=patient_policy(patient).vitals_future_minutes):
        raise ValidationError({"administered_at": "The time is in the future."})
    assessment = Assessment(
        patient=patient,
        instrument=instrument,
        items=list(result.items),
        total=result.total,
        severity=result.severity,
        flags=list(result.flags),
        administered_at=administered_at,
        recorded_by=actor,
        source=AssessmentSource.PATIENT if via_portal else AssessmentSource.STAFF,
    )
    assessment.full_clean()
    assessment.save()
    assessment_hooks_run(assessment)
    return assessment

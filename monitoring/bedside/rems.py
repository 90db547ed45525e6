"""The Spravato REMS Patient Monitoring Form (clinical-research.md §3.1: the form reproduced
at manualspro.net / manuzoid.com, © Janssen 11/2021). Pure: which answers the form needs,
which the session's own records supply, and the exported document.

The nurse answers the questions; patient identity, treatment date, dose given, the three
blood pressures and the total monitoring time come from the session's records so they
cannot disagree with them.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

# Yes/no answers the form requires (None = not answered yet).
YES_NO_FIELDS = (
    "first_treatment",
    "patient_enrolled_in_rems",
    "benzodiazepines",
    "non_benzodiazepine_sedative_hypnotics",
    "psychostimulants",
    "maois",
    "vitals_acceptable_before_administration",
    "vitals_acceptable_before_completion",
    "sedation",
    "dissociation",
    "respiratory_depression",
)
OPTIONAL_YES_NO_FIELDS = ("opioids",)  # newer REMS guidance lists opioids too
TEXT_FIELDS = (
    "monitoring_hcp_name",
    "monitoring_hcp_phone",
    "setting_name",
    "setting_address",
    "lot_number",
)
OPTIONAL_TEXT_FIELDS = (
    "monitoring_hcp_email",
    "sedation_details",
    "dissociation_details",
    "respiratory_depression_details",
)
NUMBER_FIELDS = ("ready_to_leave_minutes",)
EVENT_DETAILS = {
    "sedation": "sedation_details",
    "dissociation": "dissociation_details",
    "respiratory_depression": "respiratory_depression_details",
}
ANSWER_FIELDS = YES_NO_FIELDS + OPTIONAL_YES_NO_FIELDS + TEXT_FIELDS + OPTIONAL_TEXT_FIELDS + NUMBER_FIELDS
# Screening medication flags (patients.screening) that suggest an answer.
MEDICATION_SUGGESTIONS = {
    "benzodiazepine": "benzodiazepines",
    "sedative_hypnotic": "non_benzodiazepine_sedative_hypnotics",
    "psychostimulant": "psychostimulants",
    "maoi": "maois",
}
LABEL_DOSES_MG = (Decimal(56), Decimal(84))  # the form's tick boxes: 56 mg, 84 mg, other


def rems_answers(form: Any | None) -> dict[str, Any]:
    return {name: (getattr(form, name) if form is not None else None) for name in ANSWER_FIELDS}


def _bp(vital: Any | None) -> dict[str, Any] | None:
    if vital is None:
        return None
    return {
        "systolic": vital.systolic,
        "diastolic": vital.diastolic,
        "recorded_at": vital.recorded_at.isoformat(),
    }


def rems_key_vitals(
    *, vitals: Sequence[Any], started_at: datetime | None, check_after_minutes: int
) -> dict[str, Any | None]:
    """The three blood pressures the form asks for, from the current (not superseded) sets
    in time order: the last before administration, the first at or after the 40-minute
    check (Spravato label), and the last set of the session."""
    before = [v for v in vitals if v.phase == "baseline"]
    after_check = (
        [v for v in vitals if v.recorded_at >= started_at + timedelta(minutes=check_after_minutes)]
        if started_at is not None
        else []
    )
    ended = [v for v in vitals if v.phase in ("observation", "discharge")]
    return {
        "before_administration": before[-1] if before else None,
        "at_40_minutes": after_check[0] if after_check else None,
        "before_completion": ended[-1] if ended else None,
    }


def rems_missing(
    *,
    answers: dict[str, Any],
    actual_dose_mg: Decimal | None,
    key_vitals: dict[str, Any | None],
) -> list[str]:
    """The fields still missing before the session may be signed (empty: complete)."""
    missing = [name for name in YES_NO_FIELDS if answers.get(name) is None]
    missing += [name for name in TEXT_FIELDS if not (answers.get(name) or "").strip()]
    missing += [name for name in NUMBER_FIELDS if answers.get(name) is None]
    for event, details in EVENT_DETAILS.items():
        if answers.get(event) and not (answers.get(details) or "").strip():
            missing.append(details)
    if actual_dose_mg is None:
        missing.append("dose_given")
    if key_vitals["before_administration"] is None:
        missing.append("bp_before_administration")
    if key_vitals["at_40_minutes"] is None:
        missing.append("bp_at_40_minutes")
    if key_vitals["before_completion"] is None:
        missing.append("bp_before_completion")
    return missing


def rems_suggestions(medication_flags: Sequence[dict[str, Any]]) -> dict[str, bool]:
    """Answers the latest screening's medication list suggests (the nurse confirms them)."""
    flags = {flag.get("flag") for flag in medication_flags}
    return {field: flag in flags for flag, field in MEDICATION_SUGGESTIONS.items()}


def rems_document(
    *,
    session: Any,
    form: Any | None,
    key_vitals: dict[str, Any | None],
    monitoring_ended_at: datetime | None,
    missing: list[str],
    local_tz: Any,
) -> dict[str, Any]:
    """The exported form: every field of the paper form, in its order."""
    patient = session.course.patient
    started = session.started_at
    dose = session.actual_dose_mg
    total_minutes = (
        int((monitoring_ended_at - started).total_seconds() // 60) if started and monitoring_ended_at else None
    )
    answers = rems_answers(form)
    return {
        "form": "SPRAVATO REMS Patient Monitoring Form",
        "session": session.pk,
        "complete": not missing,
        "missing": missing,
        "patient": {
            "name": f"{patient.given_name} {patient.family_name}",
            "mrn": patient.mrn,
            "date_of_birth": patient.birth_date.isoformat(),
            "sex": patient.sex,
            "first_treatment": answers["first_treatment"],
            "enrolled_in_rems": answers["patient_enrolled_in_rems"],
        },
        "concomitant_medications": {
            "benzodiazepines": answers["benzodiazepines"],
            "non_benzodiazepine_sedative_hypnotics": answers["non_benzodiazepine_sedative_hypnotics"],
            "psychostimulants": answers["psychostimulants"],
            "maois": answers["maois"],
            "opioids": answers["opioids"],
        },
        "monitoring_hcp": {
            "name": answers["monitoring_hcp_name"],
            "phone": answers["monitoring_hcp_phone"],
            "email": answers["monitoring_hcp_email"],
        },
        "healthcare_setting": {"name": answers["setting_name"], "address": answers["setting_address"]},
        "treatment": {
            "date": started.astimezone(local_tz).date().isoformat() if started else None,
            "dose_given_mg": float(dose) if dose is not None else None,
            "dose_category": (f"{int(dose)} mg" if dose in LABEL_DOSES_MG else "other") if dose is not None else None,
            "lot_number": answers["lot_number"],
            "total_monitoring_minutes": total_minutes,
            "ready_to_leave_minutes": answers["ready_to_leave_minutes"],
        },
        "vital_signs": {
            "acceptable_before_administration": answers["vitals_acceptable_before_administration"],
            "acceptable_before_completion": answers["vitals_acceptable_before_completion"],
            "bp_before_administration": _bp(key_vitals["before_administration"]),
            "bp_at_40_minutes": _bp(key_vitals["at_40_minutes"]),
            "bp_before_completion": _bp(key_vitals["before_completion"]),
        },
        "events": {
            event: {"occurred": answers[event], "details": answers[details]} for event, details in EVENT_DETAILS.items()
        },
        "submitted_at": form.submitted_at.isoformat() if form is not None and form.submitted_at else None,
    }

"""FHIR R4 JSON for Patient, Observation (vital signs and questionnaire scores), Appointment
and MedicationAdministration, built from the service's rows (pure functions, no queries
beyond the relations the selectors fetched).

Codes: CLINICAL.md §9 (LOINC vital signs with UCUM units) and §5 (LOINC questionnaire totals
and PHQ-9 items). Where CLINICAL.md gives no code (MADRS, pain NRS, the drugs) the concept is
sent as text only, never an unsourced code.
"""

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings

from clinic.models import User
from infusions.scheduling.models import Appointment
from infusions.sessions.models import InfusionSession
from monitoring.vitals.models import VitalSign
from patients.models import Assessment, BodyMeasurement, Patient

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
VITAL_SIGNS = "vital-signs"
SURVEY = "survey"

# CLINICAL.md §9: LOINC codes and UCUM units of the vital signs.
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
HEART_RATE = ("8867-4", "Heart rate")
SPO2 = ("2708-6", "Oxygen saturation in Arterial blood")
SPO2_PULSE_OX = ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry")
RESPIRATORY_RATE = ("9279-1", "Respiratory rate")
TEMPERATURE = ("8310-5", "Body temperature")
WEIGHT = ("29463-7", "Body weight")
HEIGHT = ("8302-2", "Body height")
MMHG, PER_MIN, PERCENT, CELSIUS, KG, CM = "mm[Hg]", "/min", "%", "Cel", "kg", "cm"

# CLINICAL.md §5: LOINC codes of the questionnaire totals (MADRS and pain NRS have none there).
INSTRUMENT_TOTAL = {
    "PHQ9": ("44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"),
    "GAD7": ("70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]"),
}
INSTRUMENT_TEXT = {
    "PHQ9": "PHQ-9 total score",
    "GAD7": "GAD-7 total score",
    "MADRS": "MADRS total score",
    "PAIN_NRS": "Pain numeric rating scale (0-10)",
}
PHQ9_ITEMS = ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8")

GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}
APPOINTMENT_STATUS = {
    "booked": "booked",
    "checked_in": "checked-in",
    "in_progress": "arrived",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
}
ADMINISTRATION_STATUS = {
    "running": "in-progress",
    "paused": "on-hold",
    "completed": "completed",
    "discharged": "completed",
    "stopped": "stopped",
}
ROUTE_TEXT = {"iv": "Intravenous", "im": "Intramuscular", "intranasal": "Intranasal", "oral": "Oral"}


def _instant(value: datetime) -> str:
    return value.isoformat()


def _coding(system: str, code_display: tuple[str, str]) -> dict[str, str]:
    code, display = code_display
    return {"system": system, "code": code, "display": display}


def _concept(*codes: tuple[str, str], text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [_coding(LOINC, c) for c in codes]}
    concept["text"] = text or codes[0][1]
    return concept


def _quantity(value: Decimal | int, unit: str) -> dict[str, Any]:
    number: int | float = value if isinstance(value, int) else float(value)
    return {"value": number, "unit": unit, "system": UCUM, "code": unit}


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code, "display": display}], "text": display}]


def _person(user: User | None) -> dict[str, str]:
    if user is None:
        return {"display": "unknown"}
    return {"display": user.get_full_name() or user.username}


def patient_reference(patient_id: int) -> dict[str, str]:
    return {"reference": f"Patient/{patient_id}"}


def patient_resource(patient: Patient) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "meta": {"lastUpdated": _instant(patient.updated_at)},
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MR",
                            "display": "Medical record number",
                        }
                    ]
                },
                "system": settings.FHIR_MRN_SYSTEM,
                "value": patient.mrn,
            }
        ],
        "active": True,
        "name": [{"use": "official", "family": patient.family_name, "given": [patient.given_name]}],
        "gender": GENDER.get(patient.sex, "unknown"),
        "birthDate": patient.birth_date.isoformat(),
    }
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if telecom:
        resource["telecom"] = telecom
    return resource


def _vital_base(vital: VitalSign, patient_id: int, suffix: str, code: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"vs-{vital.pk}-{suffix}",
        "status": "corrected" if vital.supersedes_id else "final",
        "category": _category(VITAL_SIGNS, "Vital Signs"),
        "code": code,
        "subject": patient_reference(patient_id),
        "effectiveDateTime": _instant(vital.recorded_at),
        "issued": _instant(vital.created_at),
        "performer": [_person(vital.recorded_by)],
    }


VITAL_PARTS = ("bp", "hr", "spo2", "rr", "temp")


def vital_observations(vital: VitalSign, patient_id: int) -> Iterator[dict[str, Any]]:
    """One vitals set as FHIR vital-signs Observations: the BP panel (with systolic and
    diastolic components), heart rate, SpO2, respiratory rate and, when taken, temperature."""
    bp = _vital_base(vital, patient_id, "bp", _concept(BP_PANEL))
    bp["component"] = [
        {"code": _concept(SYSTOLIC), "valueQuantity": _quantity(vital.systolic, MMHG)},
        {"code": _concept(DIASTOLIC), "valueQuantity": _quantity(vital.diastolic, MMHG)},
    ]
    yield bp
    hr = _vital_base(vital, patient_id, "hr", _concept(HEART_RATE))
    hr["valueQuantity"] = _quantity(vital.heart_rate, PER_MIN)
    yield hr
    spo2 = _vital_base(vital, patient_id, "spo2", _concept(SPO2, SPO2_PULSE_OX, text="Oxygen saturation (SpO2)"))
    spo2["valueQuantity"] = _quantity(vital.spo2, PERCENT)
    yield spo2
    rr = _vital_base(vital, patient_id, "rr", _concept(RESPIRATORY_RATE))
    rr["valueQuantity"] = _quantity(vital.respiratory_rate, PER_MIN)
    yield rr
    if vital.temperature_c is not None:
        temp = _vital_base(vital, patient_id, "temp", _concept(TEMPERATURE))
        temp["valueQuantity"] = _quantity(vital.temperature_c, CELSIUS)
        yield temp


def measurement_observations(measurement: BodyMeasurement) -> Iterator[dict[str, Any]]:
    """A weighing as body weight (and body height, when measured) Observations."""
    parts: list[tuple[str, tuple[str, str], Decimal | None, str]] = [
        ("weight", WEIGHT, measurement.weight_kg, KG),
        ("height", HEIGHT, measurement.height_cm, CM),
    ]
    for suffix, code, value, unit in parts:
        if value is None:
            continue
        yield {
            "resourceType": "Observation",
            "id": f"bm-{measurement.pk}-{suffix}",
            "status": "final",
            "category": _category(VITAL_SIGNS, "Vital Signs"),
            "code": _concept(code),
            "subject": patient_reference(measurement.patient_id),
            "effectiveDateTime": _instant(measurement.measured_at),
            "issued": _instant(measurement.created_at),
            "performer": [_person(measurement.recorded_by)],
            "valueQuantity": _quantity(value, unit),
        }


def assessment_observation(assessment: Assessment) -> dict[str, Any]:
    """A questionnaire's total as a survey Observation; PHQ-9 items as components."""
    instrument = assessment.instrument
    text = INSTRUMENT_TEXT.get(instrument, instrument)
    code: dict[str, Any] = (
        _concept(INSTRUMENT_TOTAL[instrument], text=text) if instrument in INSTRUMENT_TOTAL else {"text": text}
    )
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"as-{assessment.pk}",
        "status": "final",
        "category": _category(SURVEY, "Survey"),
        "code": code,
        "subject": patient_reference(assessment.patient_id),
        "effectiveDateTime": _instant(assessment.administered_at),
        "issued": _instant(assessment.created_at),
        "performer": [
            patient_reference(assessment.patient_id)
            if assessment.source == "patient"
            else _person(assessment.recorded_by)
        ],
        "valueInteger": int(assessment.total),
    }
    if assessment.severity:
        resource["interpretation"] = [{"text": assessment.severity}]
    items = assessment.items if isinstance(assessment.items, list) else []
    if instrument == "PHQ9" and len(items) == len(PHQ9_ITEMS):
        resource["component"] = [
            {
                "code": {"coding": [{"system": LOINC, "code": loinc}], "text": f"PHQ-9 item {n}"},
                "valueInteger": int(score),
            }
            for n, (loinc, score) in enumerate(zip(PHQ9_ITEMS, items, strict=True), start=1)
        ]
    return resource


def appointment_resource(appointment: Appointment) -> dict[str, Any]:
    minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    participants: list[dict[str, Any]] = [
        {"actor": {**patient_reference(appointment.patient_id)}, "required": "required", "status": "accepted"}
    ]
    if appointment.chair_id and appointment.chair is not None:
        participants.append(
            {"actor": {"display": f"{appointment.chair.name} ({appointment.site.name})"}, "status": "accepted"}
        )
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(appointment.pk),
        "meta": {"lastUpdated": _instant(appointment.updated_at)},
        "status": APPOINTMENT_STATUS.get(appointment.status, "booked"),
        "serviceType": [{"text": appointment.get_kind_display()}],
        "start": _instant(appointment.starts_at),
        "end": _instant(appointment.ends_at),
        "minutesDuration": max(minutes, 1),
        "created": _instant(appointment.created_at),
        "participant": participants,
    }
    if appointment.protocol_id and appointment.protocol is not None:
        resource["description"] = appointment.protocol.name
    if appointment.status == "cancelled" and appointment.cancel_reason:
        resource["cancelationReason"] = {"text": appointment.cancel_reason}
    return resource


def administration_resource(session: InfusionSession) -> dict[str, Any]:
    """A started session as a MedicationAdministration: the drug, the route, the dose given
    (the charted actual dose once known, else the computed dose) and the pump rate."""
    course, protocol = session.course, session.course.protocol
    period: dict[str, str] = {"start": _instant(session.started_at or session.created_at)}
    if session.dosing_ended_at:
        period["end"] = _instant(session.dosing_ended_at)
    dose_mg = session.actual_dose_mg if session.actual_dose_mg is not None else session.total_dose_mg
    dosage: dict[str, Any] = {
        "text": f"{session.dose} {session.dose_unit}",
        "route": {"text": ROUTE_TEXT.get(protocol.route, protocol.route)},
        "dose": _quantity(dose_mg, "mg"),
    }
    if session.rate_mg_per_h is not None:
        dosage["rateQuantity"] = _quantity(session.rate_mg_per_h, "mg/h")
    return {
        "resourceType": "MedicationAdministration",
        "id": f"session-{session.pk}",
        "meta": {"lastUpdated": _instant(session.updated_at)},
        "status": ADMINISTRATION_STATUS.get(session.status, "unknown"),
        "medicationCodeableConcept": {"text": f"{protocol.drug} ({protocol.name})"},
        "subject": patient_reference(course.patient_id),
        "effectivePeriod": period,
        "performer": [{"actor": _person(session.created_by)}],
        "reasonCode": [{"text": course.get_indication_display()}],
        "dosage": dosage,
    }


def bundle(resources: list[dict[str, Any]], *, base_url: str, self_url: str) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {
                "fullUrl": f"{base_url}{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def operation_outcome(status: int, detail: Any) -> dict[str, Any]:
    code = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported", 429: "throttled"}
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code.get(status, "exception"), "diagnostics": str(detail)}],
    }

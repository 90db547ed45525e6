"""FHIR R4 JSON for Patient, Observation (vital signs and questionnaire scores), Appointment,
MedicationAdministration, their search Bundles, OperationOutcome and the CapabilityStatement,
built from the service's rows (pure functions, no queries beyond the relations the selectors
fetched).

Codes: `monitoring.fhir.codes` (CLINICAL.md §9 and §5 for LOINC and UCUM; docs/CLINICAL-CODES.md
for RxNorm and SNOMED CT). Where no sourced code exists (MADRS, pain NRS) the concept is sent as
text only, never with an unsourced code.

Corrections (a vitals set is never changed; a correction is a new set that supersedes it): the
correction's observations are `corrected` and name the ones they replace in `derivedFrom`; the
replaced ones, read again by id, are `amended`, or `entered-in-error` when the correction said
the set was a measurement artefact. R4 Observation has no `replaces` element, and the core
`replaces` extension is defined only for conformance and knowledge resources, so `derivedFrom`
(Reference(Observation), "the observation from which this value is derived") is the R4 element
a client can follow; a `note` says why, in words.
"""

from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings

from clinic.models import User
from infusions.protocols.models import Drug, Route
from infusions.scheduling.models import Appointment
from infusions.sessions.models import InfusionSession
from monitoring.fhir import codes
from monitoring.fhir.search import RESOURCES
from monitoring.vitals.models import VitalSign
from patients.models import Assessment, BodyMeasurement, Patient

FHIR_VERSION = "4.0.1"
GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


def _instant(value: datetime) -> str:
    return value.isoformat()


def _coding(system: str, code_display: tuple[str, str]) -> dict[str, str]:
    code, display = code_display
    return {"system": system, "code": code, "display": display}


def _concept(*pairs: tuple[str, str], text: str | None = None, system: str = codes.LOINC) -> dict[str, Any]:
    return {"coding": [_coding(system, c) for c in pairs], "text": text or pairs[0][1]}


def _quantity(value: Decimal | int, unit: str) -> dict[str, Any]:
    number: int | float = value if isinstance(value, int) else float(value)
    return {"value": number, "unit": unit, "system": codes.UCUM, "code": unit}


def _category(code: str) -> list[dict[str, Any]]:
    display = codes.CATEGORY_DISPLAY[code]
    return [{"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": code, "display": display}], "text": display}]


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
                    "coding": [{"system": codes.IDENTIFIER_TYPE, "code": "MR", "display": "Medical record number"}]
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


# --- Observation ----------------------------------------------------------------------------------

VITAL_PARTS = ("bp", "hr", "spo2", "rr", "temp")


def vital_observation_id(vital_id: int, part: str) -> str:
    return f"vs-{vital_id}-{part}"


def _vital_parts(vital: VitalSign) -> list[str]:
    return [p for p in VITAL_PARTS if p != "temp" or vital.temperature_c is not None]


def _superseding(vital: VitalSign) -> VitalSign | None:
    """The correction of this set, when the caller fetched it (`select_related("superseded_by")`)."""
    try:
        return vital.superseded_by  # type: ignore[attr-defined, no-any-return]
    except VitalSign.DoesNotExist:
        return None


def _vital_base(vital: VitalSign, patient_id: int, part: str, code: dict[str, Any]) -> dict[str, Any]:
    correction = _superseding(vital)
    updated = correction.created_at if correction is not None else vital.created_at
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": vital_observation_id(vital.pk, part),
        "meta": {"lastUpdated": _instant(updated)},
        "status": "corrected" if vital.supersedes_id else "final",
        "category": _category(codes.VITAL_SIGNS),
        "code": code,
        "subject": patient_reference(patient_id),
        "effectiveDateTime": _instant(vital.recorded_at),
        "issued": _instant(vital.created_at),
        "performer": [_person(vital.recorded_by)],
    }
    notes = []
    if vital.supersedes_id:
        replaced = vital_observation_id(vital.supersedes_id, part)
        resource["derivedFrom"] = [{"reference": f"Observation/{replaced}"}]
        kind = "a measurement artefact" if vital.correction_artefact else "a correction"
        notes.append(f"Replaces Observation/{replaced} ({kind}): {vital.correction_reason}")
    if correction is not None:
        resource["status"] = "entered-in-error" if correction.correction_artefact else "amended"
        notes.append(f"Superseded by Observation/{vital_observation_id(correction.pk, part)}.")
    if notes:
        resource["note"] = [{"text": text} for text in notes]
    return resource


def vital_observation(vital: VitalSign, patient_id: int, part: str) -> dict[str, Any]:
    """One observation of a vitals set: the BP panel (with systolic and diastolic components),
    heart rate, SpO2, respiratory rate or temperature."""
    if part == "bp":
        bp = _vital_base(vital, patient_id, "bp", _concept(codes.BP_PANEL))
        bp["component"] = [
            {"code": _concept(codes.SYSTOLIC), "valueQuantity": _quantity(vital.systolic, codes.MMHG)},
            {"code": _concept(codes.DIASTOLIC), "valueQuantity": _quantity(vital.diastolic, codes.MMHG)},
        ]
        return bp
    parts: dict[str, tuple[dict[str, Any], Decimal | int, str]] = {
        "hr": (_concept(codes.HEART_RATE), vital.heart_rate, codes.PER_MIN),
        "spo2": (_concept(codes.SPO2, codes.SPO2_PULSE_OX, text="Oxygen saturation (SpO2)"), vital.spo2, codes.PERCENT),
        "rr": (_concept(codes.RESPIRATORY_RATE), vital.respiratory_rate, codes.PER_MIN),
        # Only asked for when the set has a temperature (`_vital_parts`, the selectors).
        "temp": (_concept(codes.TEMPERATURE), vital.temperature_c or Decimal(0), codes.CELSIUS),
    }
    concept, value, unit = parts[part]
    resource = _vital_base(vital, patient_id, part, concept)
    resource["valueQuantity"] = _quantity(value, unit)
    return resource


def vital_observations(vital: VitalSign, patient_id: int) -> Iterator[dict[str, Any]]:
    """Every observation of one vitals set."""
    for part in _vital_parts(vital):
        yield vital_observation(vital, patient_id, part)


def measurement_observation(measurement: BodyMeasurement, part: str) -> dict[str, Any]:
    """A weighing as body weight, or body height when measured."""
    if part == "weight":
        code, value, unit = codes.WEIGHT, measurement.weight_kg, codes.KG
    else:  # only asked for when a height was measured (monitoring.fhir.selectors)
        code, value, unit = codes.HEIGHT, measurement.height_cm or Decimal(0), codes.CM
    return {
        "resourceType": "Observation",
        "id": f"bm-{measurement.pk}-{part}",
        "meta": {"lastUpdated": _instant(measurement.created_at)},
        "status": "final",
        "category": _category(codes.VITAL_SIGNS),
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
    text = codes.INSTRUMENT_TEXT.get(instrument, instrument)
    code: dict[str, Any] = (
        _concept(codes.INSTRUMENT_TOTAL[instrument], text=text)
        if instrument in codes.INSTRUMENT_TOTAL
        else {"text": text}
    )
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"as-{assessment.pk}",
        "meta": {"lastUpdated": _instant(assessment.created_at)},
        "status": "final",
        "category": _category(codes.SURVEY),
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
    if instrument == "PHQ9" and len(items) == len(codes.PHQ9_ITEMS):
        resource["component"] = [
            {
                "code": {"coding": [{"system": codes.LOINC, "code": loinc}], "text": f"PHQ-9 item {n}"},
                "valueInteger": int(score),
            }
            for n, (loinc, score) in enumerate(zip(codes.PHQ9_ITEMS, items, strict=True), start=1)
        ]
    return resource


def observation_resource(kind: int, part: str, obj: Any) -> dict[str, Any]:
    """The observation of a search or read row (`monitoring.fhir.selectors.ObservationRow`)."""
    if isinstance(obj, VitalSign):
        return vital_observation(obj, obj.session.course.patient_id, part)
    if isinstance(obj, BodyMeasurement):
        return measurement_observation(obj, part)
    return assessment_observation(obj)


# --- Appointment, MedicationAdministration ----------------------------------------------------------


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
        "status": codes.APPOINTMENT_STATUS.get(appointment.status, "booked"),
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


def medication_concept(drug: str, text: str) -> dict[str, Any]:
    """The drug as its RxNorm concept (docs/CLINICAL-CODES.md §2), with the protocol as text."""
    if drug not in codes.DRUG_RXNORM:
        return {"text": text}
    return {"coding": [_coding(codes.RXNORM, codes.DRUG_RXNORM[Drug(drug)])], "text": text}


def route_concept(route: str) -> dict[str, Any]:
    """The route as its SNOMED CT code (docs/CLINICAL-CODES.md §3)."""
    if route not in codes.ROUTE_SNOMED:
        return {"text": route}
    pair = codes.ROUTE_SNOMED[Route(route)]
    return {"coding": [_coding(codes.SNOMED_CT, pair)], "text": Route(route).label}


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
        "route": route_concept(protocol.route),
        "dose": _quantity(dose_mg, codes.MG),
    }
    if session.rate_mg_per_h is not None:
        dosage["rateQuantity"] = _quantity(session.rate_mg_per_h, codes.MG_PER_H)
    return {
        "resourceType": "MedicationAdministration",
        "id": f"session-{session.pk}",
        "meta": {"lastUpdated": _instant(session.updated_at)},
        "status": codes.ADMINISTRATION_STATUS.get(session.status, "unknown"),  # type: ignore[call-overload]
        "medicationCodeableConcept": medication_concept(protocol.drug, f"{protocol.drug} ({protocol.name})"),
        "subject": patient_reference(course.patient_id),
        "effectivePeriod": period,
        "performer": [{"actor": _person(session.created_by)}],
        "reasonCode": [{"text": course.get_indication_display()}],
        "dosage": dosage,
    }


# --- Bundle, OperationOutcome, CapabilityStatement ----------------------------------------------------


def bundle(
    resources: Sequence[dict[str, Any]],
    *,
    total: int,
    base_url: str,
    links: Sequence[tuple[str, str]],
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """A searchset Bundle: the page's resources (`search.mode` match), any warnings about
    parameters left out as one OperationOutcome entry (`search.mode` outcome), and the paging
    links. No `entry` at all when there is nothing (FHIR JSON has no empty arrays)."""
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"{base_url}{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
        for r in resources
    ]
    if warnings:
        outcome = operation_outcome([("warning", "not-supported", text, None) for text in warnings])
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    result: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": relation, "url": url} for relation, url in links],
    }
    if entries:
        result["entry"] = entries
    return result


ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    415: "not-supported",
    429: "throttled",
}


def operation_outcome(issues: Sequence[tuple[str, str, str, str | None]]) -> dict[str, Any]:
    """(severity, R4 issue-type code, diagnostics, FHIRPath/parameter expression) per issue."""
    out = []
    for severity, code, diagnostics, expression in issues:
        issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
        if expression:
            issue["expression"] = [expression]
        out.append(issue)
    return {"resourceType": "OperationOutcome", "issue": out}


def _messages(detail: Any, prefix: str = "") -> Iterator[tuple[str | None, str]]:
    """(field, message) pairs of a DRF error body, flattened (never a Python repr)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if key not in ("detail", "non_field_errors") else None
            yield from _messages(value, prefix if name is None else f"{prefix}{name}")
    elif isinstance(detail, list | tuple):
        for value in detail:
            yield from _messages(value, prefix)
    else:
        yield (prefix or None), str(detail)


def error_outcome(status: int, detail: Any) -> dict[str, Any]:
    """An error answer (any status) as an OperationOutcome: one issue per message."""
    code = ISSUE_CODES.get(status, "exception" if status >= 500 else "processing")
    issues = [
        ("error", code, f"{field}: {message}" if field else message, field) for field, message in _messages(detail)
    ]
    return operation_outcome(issues or [("error", code, "The request failed.", None)])


def capability_statement(*, base_url: str, date: str, software_version: str) -> dict[str, Any]:
    """What this server does: read and search of the four resources, with exactly the search
    parameters `monitoring.fhir.search.RESOURCES` accepts (the one place they are declared)."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "Infusion clinic",
        "kind": "instance",
        "software": {"name": "Infusion clinic service", "version": software_version},
        "implementation": {"description": "Infusion clinic FHIR R4 API", "url": base_url.rstrip("/")},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Searches take _count (page size, at most FHIR_MAX_COUNT), _sort (the date parameter of the "
                    "resource, or -date), _summary=count and Prefer: handling=strict|lenient; pages are "
                    "linked by next and previous."
                ),
                "security": {
                    "description": "Authorization: Bearer <token> (or Token <token>) from POST /api/v1/auth/token/; "
                    "clinical staff read every patient's resources, a patient their own."
                },
                "resource": [
                    {
                        "type": definition.type,
                        "documentation": definition.documentation,
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {"name": p.name, "type": p.type.value, "documentation": p.documentation}
                            for p in definition.params
                        ],
                    }
                    for definition in RESOURCES.values()
                ],
            }
        ],
    }

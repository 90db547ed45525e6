"""FHIR R4 export (DESIGN.md interop; codes from CLINICAL.md §9 and §5), each resource
validated by the official R4 JSON schema and the `fhir.resources` R4B models; role rules:
clinical staff read, a patient only their own (others 404), front desk and admin 403."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring.vitals.services import vitals_record
from patients.services import assessment_record
from tests.factories import (
    AppointmentFactory,
    ChairFactory,
    CourseFactory,
    MeasurementFactory,
    PatientFactory,
    SessionFactory,
)
from tests.monitoring.fhir.validation import validate

pytestmark = pytest.mark.django_db

VITALS = {"systolic": 128, "diastolic": 82, "heart_rate": 74, "spo2": 97, "respiratory_rate": 14}


def coding(concept: dict) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept.get("coding", [])}


@pytest.fixture
def chart(users, other_patient, protocol, site):
    """Another patient's record: a running session with two vitals sets (one corrected),
    a weight with height, a PHQ-9, a GAD-7, a MADRS, and a booked appointment."""
    course = CourseFactory(patient=other_patient, protocol=protocol, created_by=users["clinician"])
    session = SessionFactory(course=course, status="running", started_at=timezone.now() - timedelta(minutes=20))
    first = vitals_record(actor=users["nurse"], session=session, rows=[{**VITALS, "temperature_c": Decimal("36.8")}])
    vitals_record(
        actor=users["nurse"],
        session=session,
        rows=[{**VITALS, "spo2": 96}],
        supersedes=first[0].vital,
        correction_reason="probe slipped",
    )
    MeasurementFactory(patient=other_patient, weight_kg=Decimal("82.4"), height_cm=Decimal("171.0"))
    assessment_record(
        actor=users["clinician"], patient=other_patient, instrument="PHQ9", items=[2, 2, 1, 1, 2, 1, 1, 0, 0]
    )
    assessment_record(actor=users["clinician"], patient=other_patient, instrument="GAD7", items=[1, 1, 1, 1, 1, 1, 1])
    assessment_record(actor=users["clinician"], patient=other_patient, instrument="MADRS", items=[2] * 10)
    appointment = AppointmentFactory(patient=other_patient, chair=ChairFactory(site=site), site=site)
    return {"patient": other_patient, "session": session, "appointment": appointment, "vital": first[0].vital}


def test_patient_resource(api, users, chart):
    patient = chart["patient"]
    r = api(users["nurse"]).get(f"/fhir/Patient/{patient.pk}")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/fhir+json")
    body = r.json()
    model = validate(body)
    assert model.id == str(patient.pk)
    assert body["identifier"][0]["value"] == patient.mrn
    assert body["name"][0] == {"use": "official", "family": patient.family_name, "given": [patient.given_name]}
    assert (body["gender"], body["birthDate"]) == ("female", "1980-05-17")


def test_vital_signs_bundle_uses_the_loinc_and_ucum_codes(api, users, chart):
    """CLINICAL.md §9: 85354-9 panel with 8480-6 / 8462-4 (mm[Hg]), 8867-4 (/min), 2708-6 and
    59408-5 (%), 9279-1 (/min), 8310-5 (Cel), 29463-7 (kg), 8302-2 (cm); category vital-signs."""
    patient = chart["patient"]
    r = api(users["clinician"]).get(f"/fhir/Observation?patient={patient.pk}&category=vital-signs")
    assert r.status_code == 200
    bundle = r.json()
    validate(bundle)
    assert (bundle["type"], bundle["total"]) == ("searchset", len(bundle["entry"]))
    observations = [e["resource"] for e in bundle["entry"]]
    for obs in observations:
        validate(obs)
        assert coding(obs["category"][0]) == {
            ("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs")
        }
        assert obs["subject"] == {"reference": f"Patient/{patient.pk}"}
    by_code = {}
    for obs in observations:
        for system, code in coding(obs["code"]):
            assert system == "http://loinc.org"
            by_code.setdefault(code, []).append(obs)
    # The superseded set is left out; the correction stands in for it (status corrected).
    assert len(by_code["85354-9"]) == 1
    bp = by_code["85354-9"][0]
    assert bp["status"] == "corrected"
    assert [(c["code"]["coding"][0]["code"], c["valueQuantity"]) for c in bp["component"]] == [
        ("8480-6", {"value": 128, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}),
        ("8462-4", {"value": 82, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}),
    ]
    expected = {
        "8867-4": (74, "/min"),
        "2708-6": (96, "%"),
        "59408-5": (96, "%"),
        "9279-1": (14, "/min"),
        "29463-7": (82.4, "kg"),
        "8302-2": (171.0, "cm"),
    }
    for code, (value, unit) in expected.items():
        quantity = by_code[code][0]["valueQuantity"]
        assert (quantity["value"], quantity["code"], quantity["system"]) == (value, unit, "http://unitsofmeasure.org")
    assert "8310-5" not in by_code  # the correction carried no temperature


def test_temperature_uses_celsius(api, users, chart):
    r = api(users["nurse"]).get(f"/fhir/Observation/vs-{chart['vital'].pk}-temp")
    body = r.json()
    validate(body)
    assert coding(body["code"]) == {("http://loinc.org", "8310-5")}
    assert body["valueQuantity"]["value"] == 36.8
    assert body["valueQuantity"]["code"] == "Cel"


def test_survey_observations_carry_scores(api, users, chart):
    """CLINICAL.md §5: PHQ-9 total 44261-6 with its item codes, GAD-7 70274-6; MADRS has no code
    there, so it is sent as text only."""
    r = api(users["clinician"]).get(f"/fhir/Observation?patient={chart['patient'].pk}&category=survey")
    bundle = r.json()
    validate(bundle)
    observations = [e["resource"] for e in bundle["entry"]]
    for obs in observations:
        validate(obs)
        assert obs["category"][0]["coding"][0]["code"] == "survey"
    by_text = {obs["code"]["text"]: obs for obs in observations}
    phq9 = by_text["PHQ-9 total score"]
    assert coding(phq9["code"]) == {("http://loinc.org", "44261-6")}
    assert phq9["valueInteger"] == 10
    assert phq9["interpretation"] == [{"text": "moderate"}]
    assert [c["code"]["coding"][0]["code"] for c in phq9["component"]] == [
        "44250-9",
        "44255-8",
        "44259-0",
        "44254-1",
        "44251-7",
        "44258-2",
        "44252-5",
        "44253-3",
        "44260-8",
    ]
    assert coding(by_text["GAD-7 total score"]["code"]) == {("http://loinc.org", "70274-6")}
    assert by_text["GAD-7 total score"]["valueInteger"] == 7
    assert "coding" not in by_text["MADRS total score"]["code"]


def test_observation_search_without_category_returns_both(api, users, chart):
    body = api(users["nurse"]).get(f"/fhir/Observation?patient=Patient/{chart['patient'].pk}").json()
    categories = {e["resource"]["category"][0]["coding"][0]["code"] for e in body["entry"]}
    assert categories == {"vital-signs", "survey"}
    for entry in body["entry"]:
        read = api(users["nurse"]).get(entry["fullUrl"].split("testserver")[-1])
        assert read.status_code == 200
        assert read.json() == entry["resource"]


def test_appointment_resource(api, users, chart):
    appointment = chart["appointment"]
    body = api(users["nurse"]).get(f"/fhir/Appointment/{appointment.pk}").json()
    validate(body)
    assert body["status"] == "booked"
    assert body["minutesDuration"] == 115
    assert body["participant"][0]["actor"] == {"reference": f"Patient/{chart['patient'].pk}"}
    bundle = api(users["nurse"]).get(f"/fhir/Appointment?patient={chart['patient'].pk}").json()
    validate(bundle)
    assert [e["resource"]["id"] for e in bundle["entry"]] == [str(appointment.pk)]


def test_medication_administration_resource(api, users, chart):
    session = chart["session"]
    body = api(users["clinician"]).get(f"/fhir/MedicationAdministration/session-{session.pk}").json()
    validate(body)
    assert body["status"] == "in-progress"
    assert body["dosage"]["dose"] == {"value": 41.2, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
    assert body["dosage"]["rateQuantity"]["code"] == "mg/h"
    assert body["dosage"]["route"] == {
        "coding": [{"system": "http://snomed.info/sct", "code": "47625008", "display": "Intravenous route"}],
        "text": "Intravenous",
    }
    assert body["subject"] == {"reference": f"Patient/{chart['patient'].pk}"}
    bundle = api(users["clinician"]).get(f"/fhir/MedicationAdministration?patient={chart['patient'].pk}").json()
    validate(bundle)
    assert bundle["total"] == 1


def test_a_planned_session_is_not_an_administration(api, users, course):
    planned = SessionFactory(course=course)
    r = api(users["nurse"]).get(f"/fhir/MedicationAdministration/session-{planned.pk}")
    assert r.status_code == 404
    validate(r.json())
    assert r.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/Patient/{big}",
        "/fhir/Patient?_id={big}",
        "/fhir/Observation?patient={big}",
        "/fhir/Observation?patient={own}&_offset={big}",
        "/fhir/Observation?patient={own}&_id=vs-{big}-bp",
        "/fhir/Observation/vs-{big}-bp",
        "/fhir/Appointment/{big}",
        "/fhir/MedicationAdministration/session-{big}",
        "/fhir/MedicationAdministration?patient={own}&_id=session-{big}",
    ],
)
def test_numbers_beyond_the_database_range_are_answered_not_crashed(api, users, own_patient, path):
    r = api(users["nurse"]).get(path.format(big="9" * 30, own=own_patient.pk))
    assert r.status_code in (200, 400, 404), r.content[:200]
    validate(r.json())


def test_errors_are_operation_outcomes(api, users):
    r = api(users["nurse"]).get("/fhir/Observation")
    assert r.status_code == 400
    outcome = validate(r.json())
    assert outcome.issue[0].code == "invalid"
    assert api(users["nurse"]).get("/fhir/Patient/not-a-number").status_code == 404
    assert api(users["nurse"]).get("/fhir/Observation/vs-1-nonsense").status_code == 404


# --- role rules -------------------------------------------------------------------------------------

FHIR_PATHS = [
    "/fhir/Patient/{patient}",
    "/fhir/Observation?patient={patient}&category=vital-signs",
    "/fhir/Observation?patient={patient}&category=survey",
    "/fhir/Observation/bm-{measurement}-weight",
    "/fhir/Appointment?patient={patient}",
    "/fhir/Appointment/{appointment}",
    "/fhir/MedicationAdministration?patient={patient}",
    "/fhir/MedicationAdministration/session-{session}",
]


@pytest.fixture
def owners(users, own_patient, other_patient, protocol, site):
    ctx = {}
    for owner, patient in (("own", own_patient), ("other", other_patient)):
        course = CourseFactory(patient=patient, protocol=protocol, created_by=users["clinician"])
        session = SessionFactory(course=course, status="completed", started_at=timezone.now())
        ctx[owner] = {
            "patient": patient.pk,
            "session": session.pk,
            "measurement": patient.measurements.first().pk,
            "appointment": AppointmentFactory(patient=patient, chair=ChairFactory(site=site), site=site).pk,
        }
    return ctx


@pytest.mark.parametrize("owner", ["own", "other"])
@pytest.mark.parametrize("role", ["admin", "clinician", "nurse", "frontdesk", "patient", "anonymous"])
@pytest.mark.parametrize("path", FHIR_PATHS)
def test_fhir_permission_matrix(api, users, owners, path, role, owner):
    client = api(None if role == "anonymous" else users[role])
    r = client.get(path.format(**owners[owner]))
    expected = {"clinician": 200, "nurse": 200, "admin": 403, "frontdesk": 403, "anonymous": 401}.get(role)
    if role == "patient":
        expected = 200 if owner == "own" else 404
    assert r.status_code == expected, r.content[:200]
    validate(r.json())


def test_a_patient_searches_their_own_record_without_naming_it(api, users, owners):
    body = api(users["patient"]).get("/fhir/Appointment").json()
    assert [e["resource"]["participant"][0]["actor"]["reference"] for e in body["entry"]] == [
        f"Patient/{owners['own']['patient']}"
    ]


def test_observation_search_takes_a_fixed_number_of_queries(api, users, chart, django_assert_num_queries):
    client = api(users["nurse"])
    path = f"/fhir/Observation?patient={chart['patient'].pk}"
    with CaptureQueriesContext(connection) as small:
        client.get(path)
    session = chart["session"]
    for _ in range(5):
        vitals_record(actor=users["nurse"], session=session, rows=[dict(VITALS)])
        MeasurementFactory(patient=chart["patient"])
        assessment_record(actor=users["nurse"], patient=chart["patient"], instrument="GAD7", items=[0] * 7)
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(client.get(path).json()["entry"]) > 30


@pytest.mark.parametrize(
    ("path", "grow"),
    [
        ("/fhir/Patient?name=Other", "patients"),
        ("/fhir/Appointment?patient={patient}", "appointments"),
        ("/fhir/MedicationAdministration?patient={patient}", "sessions"),
        ("/fhir/Observation?patient={patient}&code=8867-4&_sort=-date&_count=10", "vitals"),
    ],
)
def test_every_search_takes_a_fixed_number_of_queries(api, users, chart, site, path, grow, django_assert_num_queries):
    """One COUNT and one page query (plus the page's rows by kind for Observation), whatever the
    number of matches: the same count at two sizes."""
    client = api(users["clinician"])
    patient = chart["patient"]
    url = path.format(patient=patient.pk)

    days = iter(range(20, 100))

    def add(n: int) -> None:
        for _ in range(n):
            if grow == "patients":
                PatientFactory(site=site, given_name="Other")
            elif grow == "appointments":
                AppointmentFactory(
                    patient=patient,
                    chair=ChairFactory(site=site),
                    site=site,
                    starts_at=timezone.now() + timedelta(days=next(days)),
                )
            elif grow == "sessions":
                SessionFactory(course=chart["session"].course, status="completed", started_at=timezone.now())
            else:
                vitals_record(actor=users["nurse"], session=chart["session"], rows=[dict(VITALS)])

    add(2)
    with CaptureQueriesContext(connection) as small:
        first = client.get(url).json()
    add(12)
    with django_assert_num_queries(len(small.captured_queries)):
        second = client.get(url).json()
    assert second["total"] > first["total"]

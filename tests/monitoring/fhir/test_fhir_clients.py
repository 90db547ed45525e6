"""FHIR R4 search as real clients use it (issue 17): fhirpy and fhirclient against a live server,
every resource and every Bundle page validated against the official R4 JSON schema and the
fhir.resources models (tests/monitoring/fhir/validation.py).

Codes: CLINICAL.md §9 (LOINC vital signs, observation-category), §5 (PHQ-9 44261-6);
docs/CLINICAL-CODES.md §2 (RxNorm 6130 ketamine, 2201623 esketamine nasal spray) and §3 (SNOMED CT
47625008 intravenous, 46713006 nasal).
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhirclient import client as fhirclient_client
from fhirclient.models.capabilitystatement import CapabilityStatement
from fhirclient.models.observation import Observation as FhirClientObservation
from fhirclient.models.patient import Patient as FhirClientPatient
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ResourceNotFound
from rest_framework.authtoken.models import Token

from infusions.protocols.models import Protocol
from infusions.scheduling import services as booking
from monitoring.vitals.services import vitals_correct, vitals_record
from patients.services import assessment_record
from tests.factories import (
    AppointmentFactory,
    ChairFactory,
    CourseFactory,
    MeasurementFactory,
    PatientFactory,
    SessionFactory,
)
from tests.monitoring.fhir.validation import schema_errors, validate

pytestmark = pytest.mark.django_db(transaction=True)

VITALS = {"systolic": 128, "diastolic": 82, "heart_rate": 74, "spo2": 97, "respiratory_rate": 14}
LOINC = "http://loinc.org"
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # the first vitals set; one every 10 minutes after


def _token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


@pytest.fixture
def base(live_server) -> str:
    return f"{live_server.url}/fhir"


@pytest.fixture
def chart(users, other_patient, site):
    """Another patient: 7 vitals sets (10 min apart from START; 4 observations each, the first
    with temperature), one weighing with height, a PHQ-9 and a MADRS, two appointments."""
    protocol = Protocol.objects.get(code="ket-iv-dep")
    course = CourseFactory(patient=other_patient, protocol=protocol, created_by=users["clinician"])
    session = SessionFactory(course=course, status="running", started_at=START - timedelta(minutes=5))
    rows = [{**VITALS, "recorded_at": START + timedelta(minutes=10 * i)} for i in range(7)]
    rows[0]["temperature_c"] = Decimal("36.8")
    vitals = [r.vital for r in vitals_record(actor=users["nurse"], session=session, rows=rows)]
    weighing = MeasurementFactory(
        patient=other_patient, weight_kg=Decimal("82.4"), height_cm=Decimal("171.0"), measured_at=START
    )
    phq9 = assessment_record(
        actor=users["clinician"],
        patient=other_patient,
        instrument="PHQ9",
        items=[2, 2, 1, 1, 2, 1, 1, 0, 0],
        administered_at=START - timedelta(days=1),
    )
    madrs = assessment_record(
        actor=users["clinician"],
        patient=other_patient,
        instrument="MADRS",
        items=[2] * 10,
        administered_at=START - timedelta(days=2),
    )
    chair = ChairFactory(site=site)
    soon = AppointmentFactory(
        patient=other_patient, chair=chair, site=site, starts_at=timezone.now() + timedelta(days=3)
    )
    later = AppointmentFactory(
        patient=other_patient, chair=chair, site=site, starts_at=timezone.now() + timedelta(days=10)
    )
    booking.appointment_cancel(actor=users["frontdesk"], appointment=later, reason="Patient unwell")
    return {
        "patient": other_patient,
        "session": session,
        "vitals": vitals,
        "weighing": weighing,
        "recent_weighing": other_patient.measurements.exclude(pk=weighing.pk).get(),
        "phq9": phq9,
        "madrs": madrs,
        "soon": soon,
        "later": later,
    }


def _get(url: str, token: str, **headers: str) -> requests.Response:
    return requests.get(url, headers={"Authorization": f"Bearer {token}", **headers}, timeout=30)


def _pages(url: str, token: str) -> list[dict[str, Any]]:
    """Every page of a search, following `next`, each Bundle and resource validated."""
    pages = []
    while url:
        response = _get(url, token)
        assert response.status_code == 200, response.text[:300]
        assert response.headers["Content-Type"].startswith("application/fhir+json")
        bundle = response.json()
        validate(bundle)
        for entry in bundle.get("entry", []):
            validate(entry["resource"])
        pages.append(bundle)
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), "")
    return pages


def _ids(pages: list[dict[str, Any]]) -> list[str]:
    return [e["resource"]["id"] for page in pages for e in page.get("entry", []) if e["search"]["mode"] == "match"]


def test_fhirclient_starts_from_the_capability_statement_which_lists_exactly_what_is_searched(base, users, chart):
    """A SMART-style client reads /fhir/metadata first (no sign-in), then reads with a Bearer token."""
    smart = fhirclient_client.FHIRClient(settings={"app_id": "clinic-tests", "api_base": f"{base}/"})
    smart.prepare()
    statement = smart.server.capabilityStatement
    assert isinstance(statement, CapabilityStatement)
    validate(statement.as_json())
    assert statement.fhirVersion == "4.0.1"
    searched = {r.type: {p.name for p in r.searchParam} for r in statement.rest[0].resource}
    assert searched == {
        "Patient": {"_id", "identifier", "name", "birthdate"},
        "Observation": {"_id", "patient", "subject", "category", "code", "date"},
        "Appointment": {"_id", "patient", "date", "status"},
        "MedicationAdministration": {"_id", "patient", "effective-time"},
    }
    smart.server.session.headers["Authorization"] = f"Bearer {_token(users['nurse'])}"
    patient = FhirClientPatient.read(str(chart["patient"].pk), smart.server)
    assert patient.identifier[0].value == chart["patient"].mrn
    found = FhirClientObservation.where(
        {"patient": str(chart["patient"].pk), "code": f"{LOINC}|8867-4"}
    ).perform_resources(smart.server)
    assert [o.id for o in found] == [f"vs-{v.pk}-hr" for v in chart["vitals"]]
    assert {o.valueQuantity.value for o in found} == {74}


def test_observation_search_pages_in_the_database_with_next_and_previous_links(base, users, chart):
    """The issue's request: `Observation?patient=&category=vital-signs&_count=5` gives 5 entries,
    the true total and a `next` link; following the links yields every observation once, in date
    order (ties: the set's observations in a fixed order)."""
    token = _token(users["clinician"])
    patient = chart["patient"].pk
    pages = _pages(f"{base}/Observation?patient={patient}&category=vital-signs&_count=5", token)
    first_set = chart["vitals"][0].pk
    expected = [f"vs-{first_set}-{p}" for p in ("bp", "hr", "spo2", "rr", "temp")]
    expected += [f"bm-{chart['weighing'].pk}-weight", f"bm-{chart['weighing'].pk}-height"]
    for vital in chart["vitals"][1:]:
        expected += [f"vs-{vital.pk}-{p}" for p in ("bp", "hr", "spo2", "rr")]
    expected.append(f"bm-{chart['recent_weighing'].pk}-weight")  # yesterday's, from the fixture
    assert len(expected) == 32
    assert [len(p["entry"]) for p in pages] == [5, 5, 5, 5, 5, 5, 2]
    assert {p["total"] for p in pages} == {32}
    assert _ids(pages) == expected
    second = pages[1]
    relations = {link["relation"]: link["url"] for link in second["link"]}
    assert set(relations) == {"self", "next", "previous"}
    assert "_offset=5" in relations["self"]
    assert "_offset=10" in relations["next"]
    back = _get(relations["previous"], token).json()
    assert [e["resource"]["id"] for e in back["entry"]] == expected[:5]
    # fhirpy follows the same links and gets the same observations.
    client = SyncFHIRClient(base, authorization=f"Bearer {token}")
    search = client.resources("Observation").search(patient=patient, category="vital-signs").limit(5)
    assert [r["id"] for r in search.fetch()] == expected[:5]
    assert [r["id"] for r in search.fetch_all()] == expected
    assert search.count() == 32


def test_the_page_query_is_limited_in_the_database(api, users, chart):
    with CaptureQueriesContext(connection) as queries:
        r = api(users["nurse"]).get(f"/fhir/Observation?patient={chart['patient'].pk}&_count=3&_offset=6")
    assert len(r.json()["entry"]) == 3
    paged = [q["sql"] for q in queries.captured_queries if "UNION ALL" in q["sql"] and "COUNT" not in q["sql"]]
    assert len(paged) == 1
    assert "LIMIT 3 OFFSET 6" in paged[0]


def test_category_with_or_code_with_system_and_sort(base, users, chart):
    token = _token(users["nurse"])
    client = SyncFHIRClient(base, authorization=f"Bearer {token}")
    patient = chart["patient"].pk
    observations = client.resources("Observation").search(patient=patient)
    both = observations.search(category="vital-signs,survey").fetch_all()
    assert len(both) == 34
    survey = observations.search(category="survey").fetch_all()
    assert [r["id"] for r in survey] == [f"as-{chart['madrs'].pk}", f"as-{chart['phq9'].pk}"]
    system = "http://terminology.hl7.org/CodeSystem/observation-category"
    assert len(observations.search(category=f"{system}|survey").fetch_all()) == 2
    assert observations.search(category="laboratory").fetch_all() == []
    # code: with its system, without, a whole system, and another system's code.
    hr = [f"vs-{v.pk}-hr" for v in chart["vitals"]]
    assert [r["id"] for r in observations.search(code=f"{LOINC}|8867-4").fetch_all()] == hr
    assert [r["id"] for r in observations.search(code="8867-4").fetch_all()] == hr
    assert observations.search(code="http://snomed.info/sct|8867-4").fetch_all() == []
    spo2 = observations.search(code=f"{LOINC}|59408-5,{LOINC}|44261-6").fetch_all()
    assert [r["id"] for r in spo2] == [f"as-{chart['phq9'].pk}"] + [f"vs-{v.pk}-spo2" for v in chart["vitals"]]
    coded = observations.search(code=f"{LOINC}|").fetch_all()
    assert len(coded) == 33  # everything but the MADRS, which has no LOINC code (CLINICAL.md §5)
    # AND of two parameters: vital signs and heart rate.
    assert len(observations.search(category="vital-signs", code="8867-4").fetch_all()) == 7
    newest_first = observations.search(code="8867-4").sort("-date").fetch_all()
    assert [r["id"] for r in newest_first] == list(reversed(hr))


@pytest.mark.parametrize(
    ("query", "sets"),
    [
        ("date=ge2025-03-03T09:20:00Z", [2, 3, 4, 5, 6]),
        ("date=gt2025-03-03T09:20:00Z", [3, 4, 5, 6]),  # gt: after the whole second
        ("date=le2025-03-03T09:20:00Z", [0, 1, 2]),
        ("date=lt2025-03-03T09:20:00Z", [0, 1]),
        ("date=ge2025-03-03T09:10:00Z&date=lt2025-03-03T09:40:00Z", [1, 2, 3]),
        ("date=2025-03-03T09:30", [3]),  # minute precision, the server's zone (UTC)
        ("date=2025-03-03T10:30%2B01:00", [3]),  # "+" encoded, as in any URL
        ("date=ne2025-03-03T09:30", [0, 1, 2, 4, 5, 6]),
        ("date=2025-03-03", [0, 1, 2, 3, 4, 5, 6]),
        ("date=2025-03-04", []),
        ("date=sa2025-03-03T09:50:00Z", [6]),
        ("date=eb2025-03-03T09:10:00Z", [0]),
    ],
)
def test_date_prefixes(base, users, chart, query, sets):
    token = _token(users["nurse"])
    url = f"{base}/Observation?patient={chart['patient'].pk}&code=8867-4&{query}"
    assert _ids(_pages(url, token)) == [f"vs-{chart['vitals'][i].pk}-hr" for i in sets]


def test_summary_count_and_count_zero(base, users, chart):
    token = _token(users["nurse"])
    for query in ("_summary=count", "_count=0"):
        bundle = _get(f"{base}/Observation?patient={chart['patient'].pk}&{query}", token).json()
        validate(bundle)
        assert bundle["total"] == 34
        assert "entry" not in bundle  # never "entry": []
    empty = _get(f"{base}/Observation?patient={chart['patient'].pk}&date=1999", token).json()
    validate(empty)
    assert (empty["total"], "entry" in empty) == (0, False)


def test_unknown_parameters_lenient_by_default_strict_on_request(base, users, chart):
    """R4 search §3.1.1.3: lenient leaves them out (the self link shows only what was used, an
    OperationOutcome entry names them); `Prefer: handling=strict` answers 400."""
    token = _token(users["nurse"])
    url = f"{base}/Observation?patient={chart['patient'].pk}&code=8867-4&colour=blue&_sort=status&code:text=x"
    lenient = _get(url, token).json()
    validate(lenient)
    assert lenient["total"] == 7
    outcomes = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert len(outcomes) == 1
    validate(outcomes[0]["resource"])
    diagnostics = [i["diagnostics"] for i in outcomes[0]["resource"]["issue"]]
    assert len(diagnostics) == 3
    assert {i["severity"] for i in outcomes[0]["resource"]["issue"]} == {"warning"}
    self_link = next(link["url"] for link in lenient["link"] if link["relation"] == "self")
    for left_out in ("colour", "_sort", "code%3Atext"):
        assert left_out not in self_link
    assert "code=8867-4" in self_link
    strict = _get(url, token, Prefer="return=representation, handling=strict")
    assert strict.status_code == 400
    outcome = strict.json()
    validate(outcome)
    assert outcome["issue"][0]["code"] == "not-supported"
    assert outcome["issue"][0]["expression"] == ["colour"]
    # A value that cannot be read is 400 either way, naming the parameter (never a Python repr).
    for bad in ("date=yesterday", "_count=-1", "patient="):
        r = _get(f"{base}/Observation?patient={chart['patient'].pk}&{bad}", token)
        assert r.status_code == 400, bad
        validate(r.json())
        assert "{" not in r.json()["issue"][0]["diagnostics"]


def test_patient_search(base, users, chart, own_patient):
    token = _token(users["clinician"])
    client = SyncFHIRClient(base, authorization=f"Bearer {token}")
    other = chart["patient"]
    third = PatientFactory(site=other.site, given_name="Zoe", family_name="Quinn", birth_date=date(1990, 1, 2))
    patients = client.resources("Patient")
    by_mrn = patients.search(identifier=f"{settings.FHIR_MRN_SYSTEM}|{other.mrn}").fetch_all()
    assert [p["id"] for p in by_mrn] == [str(other.pk)]
    assert [p["id"] for p in patients.search(identifier=other.mrn).fetch_all()] == [str(other.pk)]
    assert patients.search(identifier=f"urn:other-system|{other.mrn}").fetch_all() == []
    assert [p["id"] for p in patients.search(name="qui").fetch_all()] == [str(third.pk)]
    assert [p["id"] for p in patients.search(name="ZOE").fetch_all()] == [str(third.pk)]
    assert patients.search(**{"name:exact": "zoe"}).fetch_all() == []
    assert [p["id"] for p in patients.search(**{"name:contains": "uin"}).fetch_all()] == [str(third.pk)]
    born_1980 = {str(own_patient.pk), str(other.pk)}  # the factory's 1980-05-17
    assert {p["id"] for p in patients.search(birthdate="1980").fetch_all()} == born_1980
    assert {p["id"] for p in patients.search(birthdate="1980-05-17").fetch_all()} == born_1980
    assert [p["id"] for p in patients.search(birthdate="gt1980-05-17").fetch_all()] == [str(third.pk)]
    assert [p["id"] for p in patients.search(birthdate="ge1990-01-02").fetch_all()] == [str(third.pk)]
    assert {p["id"] for p in patients.search(birthdate="lt1990-01").fetch_all()} == born_1980
    assert [p["id"] for p in patients.search(_id=str(third.pk)).fetch_all()] == [str(third.pk)]
    sorted_ids = [p["id"] for p in patients.search(_sort="-birthdate").fetch_all()]
    assert sorted_ids[0] == str(third.pk)
    for page in _pages(f"{base}/Patient?_count=1", token):
        assert len(page["entry"]) == 1
    # A patient account finds only their own record, whatever it asks for.
    mine = SyncFHIRClient(base, authorization=f"Bearer {_token(users['patient'])}").resources("Patient")
    assert [p["id"] for p in mine.fetch_all()] == [str(own_patient.pk)]
    assert mine.search(identifier=other.mrn).fetch_all() == []


def test_appointment_search(base, users, chart):
    token = _token(users["nurse"])
    appointments = SyncFHIRClient(base, authorization=f"Bearer {token}").resources("Appointment")
    mine = appointments.search(patient=chart["patient"].pk)
    soon, later = str(chart["soon"].pk), str(chart["later"].pk)
    assert [a["id"] for a in mine.fetch_all()] == [soon, later]
    assert [a["id"] for a in mine.search(status="cancelled").fetch_all()] == [later]
    assert [a["id"] for a in mine.search(status="booked,cancelled").fetch_all()] == [soon, later]
    assert mine.search(status="fulfilled").fetch_all() == []
    day = chart["soon"].starts_at.date().isoformat()
    assert [a["id"] for a in mine.search(date=day).fetch_all()] == [soon]
    cutoff = (timezone.now() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [a["id"] for a in mine.search(date=f"ge{cutoff}").fetch_all()] == [later]
    assert [a["id"] for a in mine.search(date=f"lt{cutoff}").fetch_all()] == [soon]
    assert [a["id"] for a in mine.sort("-date").fetch_all()] == [later, soon]
    for page in _pages(f"{base}/Appointment?patient={chart['patient'].pk}&_count=1", token):
        assert len(page["entry"]) == 1


def test_medication_administration_search_with_rxnorm_and_snomed_codes(base, users, chart):
    """docs/CLINICAL-CODES.md §2-§3: ketamine RxNorm 6130 IV (SNOMED CT 47625008); esketamine
    RxNorm 2201623 (esketamine Nasal Spray) intranasal (SNOMED CT 46713006)."""
    patient = chart["patient"]
    esketamine = CourseFactory(
        patient=patient, protocol=Protocol.objects.get(code="esk-in-trd"), created_by=users["clinician"]
    )
    spray = SessionFactory(
        course=esketamine,
        status="completed",
        dose=Decimal("56"),
        dose_unit="mg",
        total_dose_mg=Decimal("56"),
        rate_mg_per_h=None,
        hard_max_at_creation=Decimal("84"),
        started_at=START + timedelta(days=2),
        dosing_ended_at=START + timedelta(days=2, minutes=15),
    )
    token = _token(users["clinician"])
    given = SyncFHIRClient(base, authorization=f"Bearer {token}").resources("MedicationAdministration")
    found = given.search(patient=patient.pk).fetch_all()
    assert [m["id"] for m in found] == [f"session-{chart['session'].pk}", f"session-{spray.pk}"]
    for resource in found:
        validate(resource.serialize())
    coded = {
        m["id"]: (
            m["medicationCodeableConcept"]["coding"][0]["system"],
            m["medicationCodeableConcept"]["coding"][0]["code"],
            m["dosage"]["route"]["coding"][0]["system"],
            m["dosage"]["route"]["coding"][0]["code"],
        )
        for m in found
    }
    rxnorm, snomed = "http://www.nlm.nih.gov/research/umls/rxnorm", "http://snomed.info/sct"
    assert coded == {
        f"session-{chart['session'].pk}": (rxnorm, "6130", snomed, "47625008"),
        f"session-{spray.pk}": (rxnorm, "2201623", snomed, "46713006"),
    }
    # effective-time: the running infusion has no end yet (it is still going on).
    later = (START + timedelta(days=1)).strftime("%Y-%m-%d")
    assert [m["id"] for m in given.search(patient=patient.pk, **{"effective-time": f"ge{later}"}).fetch_all()] == [
        f"session-{chart['session'].pk}",
        f"session-{spray.pk}",
    ]
    assert [m["id"] for m in given.search(patient=patient.pk, **{"effective-time": f"lt{later}"}).fetch_all()] == [
        f"session-{chart['session'].pk}"
    ]
    day_two = (START + timedelta(days=2)).strftime("%Y-%m-%d")
    assert [m["id"] for m in given.search(patient=patient.pk, **{"effective-time": day_two}).fetch_all()] == [
        f"session-{spray.pk}"
    ]


def test_a_correction_is_visible_to_a_client_that_reads_again(base, users, chart):
    """The superseded set's observations become `amended` (values put right) or
    `entered-in-error` (the correction marked an artefact); the correction's name them in
    `derivedFrom`; a search returns the correction in the superseded one's place."""
    token = _token(users["nurse"])
    client = SyncFHIRClient(base, authorization=f"Bearer {token}")
    first, second = chart["vitals"][0], chart["vitals"][1]
    before = client.reference("Observation", f"vs-{first.pk}-bp").to_resource()
    assert before["status"] == "final"
    fixed = vitals_correct(actor=users["nurse"], vital=first, values={"systolic": 124}, reason="typo").vital
    artefact = vitals_correct(
        actor=users["nurse"], vital=second, values={"spo2": 96}, reason="probe slipped", artefact=True
    ).vital
    amended = client.reference("Observation", f"vs-{first.pk}-bp").to_resource()
    assert amended["status"] == "amended"
    assert amended["component"][0]["valueQuantity"]["value"] == 128  # as it was charted
    in_error = client.reference("Observation", f"vs-{second.pk}-spo2").to_resource()
    assert in_error["status"] == "entered-in-error"
    correction = client.reference("Observation", f"vs-{fixed.pk}-bp").to_resource()
    assert correction["status"] == "corrected"
    assert correction.serialize()["derivedFrom"] == [{"reference": f"Observation/vs-{first.pk}-bp"}]
    assert correction["component"][0]["valueQuantity"]["value"] == 124
    replaced = client.reference("Observation", f"vs-{artefact.pk}-spo2").to_resource()
    assert replaced.serialize()["derivedFrom"] == [{"reference": f"Observation/vs-{second.pk}-spo2"}]
    assert "artefact" in replaced["note"][0]["text"]
    for resource in (amended, in_error, correction, replaced):
        validate(resource.serialize())
    hr = client.resources("Observation").search(patient=chart["patient"].pk, code="8867-4").fetch_all()
    assert [r["id"] for r in hr] == [f"vs-{fixed.pk}-hr", f"vs-{artefact.pk}-hr"] + [
        f"vs-{v.pk}-hr" for v in chart["vitals"][2:]
    ]


def test_errors_are_json_operation_outcomes_on_every_fhir_path(base, users, chart):
    token = _token(users["nurse"])
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/Nonsense", "/Patient/", "/Patient/abc", "/Patient/999999", "/Observation/vs-1-nonsense", "/x/y/z"):
        r = requests.get(f"{base}{path}", headers=headers, timeout=30)
        assert r.status_code == 404, path
        assert r.headers["Content-Type"].startswith("application/fhir+json"), path
        validate(r.json())
        assert r.json()["issue"][0]["code"] == "not-found"
    for method in ("post", "put", "patch", "delete"):
        for path in ("/Patient", f"/Patient/{chart['patient'].pk}", "/Observation", "/metadata"):
            r = requests.request(method, f"{base}{path}", headers=headers, json={}, timeout=30)
            assert r.status_code == 405, (method, path)
            validate(r.json())
            assert "GET" in r.headers["Allow"]
        r = requests.request(method, f"{base}/Patient", json={}, timeout=30)  # not signed in: still 405
        assert r.status_code == 405
    xml = requests.get(f"{base}/Patient/{chart['patient'].pk}?_format=xml", headers=headers, timeout=30)
    assert xml.status_code == 406
    validate(xml.json())
    accept_xml = requests.get(
        f"{base}/Patient/{chart['patient'].pk}", headers={**headers, "Accept": "application/fhir+xml"}, timeout=30
    )
    assert accept_xml.status_code == 406
    json_format = requests.get(f"{base}/Patient/{chart['patient'].pk}?_format=json", headers=headers, timeout=30)
    assert json_format.status_code == 200
    anonymous = requests.get(f"{base}/Patient/{chart['patient'].pk}", timeout=30)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    validate(anonymous.json())
    with pytest.raises(ResourceNotFound):
        SyncFHIRClient(base, authorization=f"Bearer {token}").reference("Patient", "999999").to_resource()


def test_bearer_is_accepted_wherever_token_is(live_server, users, chart):
    token = _token(users["nurse"])
    for keyword in ("Token", "Bearer"):
        r = requests.get(
            f"{live_server.url}/api/v1/patients/{chart['patient'].pk}/",
            headers={"Authorization": f"{keyword} {token}"},
            timeout=30,
        )
        assert r.status_code == 200, keyword
        fhir = requests.get(
            f"{live_server.url}/fhir/Patient/{chart['patient'].pk}",
            headers={"Authorization": f"{keyword} {token}"},
            timeout=30,
        )
        assert fhir.status_code == 200, keyword
    wrong = requests.get(
        f"{live_server.url}/api/v1/patients/", headers={"Authorization": "Bearer not-a-token"}, timeout=30
    )
    assert wrong.status_code == 401


def test_a_patient_searches_only_their_own_record(base, users, chart, own_patient):
    token = _token(users["patient"])
    client = SyncFHIRClient(base, authorization=f"Bearer {token}")
    own = [r["id"] for r in client.resources("Observation").fetch_all()]  # their own record: one weighing
    assert own == [f"bm-{own_patient.measurements.get().pk}-weight"]
    other = requests.get(
        f"{base}/Observation?patient={chart['patient'].pk}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert other.status_code == 404
    validate(other.json())
    read = requests.get(
        f"{base}/Observation/vs-{chart['vitals'][0].pk}-bp", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert read.status_code == 404
    assert schema_errors(read.json()) == []

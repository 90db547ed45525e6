"""Patients, portal logins, weights and screenings (DESIGN.md contract; CLINICAL.md §1-2)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from patients.models import BodyMeasurement, Patient, Screening
from patients.screening import ABSOLUTE_KEYS, RELATIVE_KEYS
from tests.factories import MeasurementFactory, PatientFactory, clear_answers

pytestmark = pytest.mark.django_db

NEW = {"mrn": "A-100", "given_name": "Ivy", "family_name": "Stone", "birth_date": "1984-02-03", "sex": "female"}


def test_create_and_search(api, users):
    front = api(users["frontdesk"])
    r = front.post("/api/v1/patients/", NEW, format="json")
    assert r.status_code == 201
    assert {"id", "mrn", "given_name", "family_name", "birth_date", "sex"} <= set(r.json())
    assert [p["mrn"] for p in front.get("/api/v1/patients/?search=ston").json()] == ["A-100"]
    assert [p["mrn"] for p in front.get("/api/v1/patients/?search=a-100").json()] == ["A-100"]
    assert front.get("/api/v1/patients/?search=nobody").json() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sex": "x"}, "sex"),
        ({"birth_date": "not-a-date"}, "birth_date"),
        ({"birth_date": (timezone.localdate() + timedelta(days=2)).isoformat()}, "birth_date"),
        ({"mrn": ""}, "mrn"),
        ({"given_name": None}, "given_name"),
    ],
)
def test_bad_patient_input_is_400_per_field(api, users, changes, field):
    r = api(users["frontdesk"]).post("/api/v1/patients/", {**NEW, **changes}, format="json")
    assert r.status_code == 400
    assert field in r.json()
    assert not Patient.objects.exists()


def test_duplicate_mrn_is_a_field_error(api, users):
    front = api(users["frontdesk"])
    assert front.post("/api/v1/patients/", NEW, format="json").status_code == 201
    r = front.post("/api/v1/patients/", NEW, format="json")
    assert r.status_code == 400
    assert "mrn" in r.json()
    assert Patient.objects.count() == 1


def test_portal_account_lets_the_patient_sign_in(api, users, site):
    patient = PatientFactory(site=site)
    front = api(users["frontdesk"])
    url = f"/api/v1/patients/{patient.id}/portal-account/"
    weak = front.post(url, {"username": "ivy", "password": "123"}, format="json")
    assert weak.status_code == 400
    assert "password" in weak.json()
    r = front.post(url, {"username": "ivy", "password": "a-Long-pass-phrase-9"}, format="json")
    assert r.status_code == 201
    assert r.json()["has_portal_account"] is True
    token = api(None).post(
        "/api/v1/auth/token/", {"username": "ivy", "password": "a-Long-pass-phrase-9"}, format="json"
    )
    assert token.status_code == 200
    again = front.post(url, {"username": "ivy2", "password": "a-Long-pass-phrase-9"}, format="json")
    assert (again.status_code, again.json()["rule"]) == (409, "portal_account_exists")


def test_weight_change_over_10_percent_needs_confirmation(api, users, site):
    """CLINICAL.md §1: a change of more than 10 % from the previous weight asks for confirmation [U]."""
    patient = PatientFactory(site=site)
    MeasurementFactory(patient=patient, weight_kg="80.0")
    nurse = api(users["nurse"])
    url = f"/api/v1/patients/{patient.id}/measurements/"
    assert nurse.post(url, {"weight_kg": 88.0}, format="json").status_code == 201  # exactly 10 %: fine
    r = nurse.post(url, {"weight_kg": 97.0}, format="json")  # 10.2 % above 88.0
    assert (r.status_code, r.json()["rule"]) == (409, "weight_change_unconfirmed")
    assert BodyMeasurement.objects.filter(patient=patient).count() == 2
    r = nurse.post(url, {"weight_kg": 97.0, "confirm_change": True}, format="json")
    assert r.status_code == 201
    assert r.json()["change_confirmed"] is True
    assert [m["weight_kg"] for m in nurse.get(url).json()] == [97.0, 88.0, 80.0]


@pytest.mark.parametrize("value", [1.9, 400.1, "heavy"])
def test_impossible_weight_is_400(api, users, own_patient, value):
    r = api(users["nurse"]).post(
        f"/api/v1/patients/{own_patient.id}/measurements/", {"weight_kg": value}, format="json"
    )
    assert r.status_code == 400
    assert "weight_kg" in r.json()


def _screen(api, users, patient, **answers):
    return api(users["nurse"]).post(
        f"/api/v1/patients/{patient.id}/screenings/", {"answers": clear_answers(**answers)}, format="json"
    )


@pytest.mark.parametrize("key", ABSOLUTE_KEYS)
def test_each_absolute_contraindication(api, users, own_patient, key):
    """CLINICAL.md §2 absolute list (Spravato label; ASRA 2018; program exclusions)."""
    r = _screen(api, users, own_patient, **{key: True})
    assert r.status_code == 201
    assert (r.json()["outcome"], r.json()["reasons"]) == ("absolute", [key])


@pytest.mark.parametrize("key", RELATIVE_KEYS)
def test_each_relative_contraindication(api, users, own_patient, key):
    """CLINICAL.md §2 relative list."""
    r = _screen(api, users, own_patient, **{key: True})
    assert (r.json()["outcome"], r.json()["reasons"]) == ("relative", [key])


def test_age_65_is_relative_from_the_birth_date(api, users, site):
    """CLINICAL.md §2: age >= 65 comes from the birth date."""
    today = timezone.localdate()
    turning_65_today = PatientFactory(site=site, birth_date=today.replace(year=today.year - 65))
    r = _screen(api, users, turning_65_today)
    assert (r.json()["outcome"], r.json()["reasons"]) == ("relative", ["age_65_or_over"])
    younger = PatientFactory(site=site, birth_date=today.replace(year=today.year - 65) + timedelta(days=1))
    assert _screen(api, users, younger).json()["outcome"] == "clear"


def test_screening_validity_is_12_months_and_medications_are_flagged(api, users, own_patient):
    """CLINICAL.md §2: valid 12 months [U]; medication flags shown at every session."""
    r = _screen(api, users, own_patient, medications=["Lorazepam 1 mg", "Adderall (amphetamine)", "Theophylline"])
    body = r.json()
    assert body["outcome"] == "clear"
    screened = Screening.objects.get(pk=body["id"])
    assert screened.valid_until.date() == (screened.screened_at.date().replace(year=screened.screened_at.year + 1))
    assert [f["flag"] for f in body["medication_flags"]] == ["benzodiazepine", "psychostimulant", "theophylline"]


def test_screening_answers_are_all_required(api, users, own_patient):
    answers = clear_answers()
    del answers["aneurysm_or_avm"]
    r = api(users["nurse"]).post(f"/api/v1/patients/{own_patient.id}/screenings/", {"answers": answers}, format="json")
    assert r.status_code == 400
    assert "aneurysm_or_avm" in r.json()["answers"]


def test_a_new_screening_replaces_the_old(api, users, own_patient, protocol):
    """CLINICAL.md §2: void as soon as any answer changes; the latest screening counts."""
    _screen(api, users, own_patient, pregnant_or_breastfeeding=True)
    r = api(users["clinician"]).post(
        "/api/v1/courses/", {"patient": own_patient.id, "protocol": protocol.id, "indication": "trd"}, format="json"
    )
    assert (r.status_code, r.json()["rule"]) == (409, "contraindication_absolute")
    _screen(api, users, own_patient)
    r = api(users["clinician"]).post(
        "/api/v1/courses/", {"patient": own_patient.id, "protocol": protocol.id, "indication": "trd"}, format="json"
    )
    assert r.status_code == 201


def test_patient_list_query_count_is_constant(api, users, site, django_assert_num_queries):
    front = api(users["frontdesk"])
    PatientFactory.create_batch(3, site=site)
    with django_assert_num_queries(4):  # token with user, count, page, the patient access log (issue 8)
        front.get("/api/v1/patients/")
    PatientFactory.create_batch(40, site=site)
    with django_assert_num_queries(4):
        assert len(front.get("/api/v1/patients/").json()) == 43

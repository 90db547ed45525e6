"""The foundation's one real path through the API: register, weigh, screen, start a course,
compute the dose, log vitals and see the alerts they raise."""

import pytest

from tests.factories import clear_answers

pytestmark = pytest.mark.django_db


def test_register_weigh_dose_and_vitals(api, users, protocol):
    front, clinician, nurse = api(users["frontdesk"]), api(users["clinician"]), api(users["nurse"])
    r = front.post(
        "/api/v1/patients/",
        {"mrn": "E2E-1", "given_name": "Ivy", "family_name": "Stone", "birth_date": "1984-02-03", "sex": "female"},
        format="json",
    )
    assert r.status_code == 201, r.content
    pid = r.json()["id"]
    assert front.get("/api/v1/patients/?search=stone").json()[0]["id"] == pid

    r = nurse.post(f"/api/v1/patients/{pid}/measurements/", {"weight_kg": 82.4, "height_cm": 170}, format="json")
    assert r.status_code == 201, r.content
    r = nurse.post(f"/api/v1/patients/{pid}/screenings/", {"answers": clear_answers()}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["outcome"] == "clear"

    r = clinician.post(
        "/api/v1/courses/", {"patient": pid, "protocol": protocol.id, "indication": "trd"}, format="json"
    )
    assert r.status_code == 201, r.content
    course = r.json()
    assert course["phase"] == "induction"

    # CLINICAL.md §1 worked example: 0.5 mg/kg x 82.4 kg = 41.2 mg over 40 min = 61.8 mg/h;
    # at 1 mg/mL 41.2 mL at 61.8 mL/h.
    r = nurse.get(f"/api/v1/sessions/dose-preview/?course={course['id']}&dose=0.5")
    assert r.status_code == 200, r.content
    preview = r.json()
    assert (preview["total_dose_mg"], preview["rate_mg_per_h"], preview["volume_ml"], preview["rate_ml_per_h"]) == (
        41.2,
        61.8,
        41.2,
        61.8,
    )
    r = nurse.post("/api/v1/sessions/", {"course": course["id"], "dose": 0.5}, format="json")
    assert r.status_code == 201, r.content
    session = r.json()
    assert session["weight_kg"] == 82.4
    assert session["total_dose_mg"] == 41.2
    assert session["requires_approval"] is False

    vitals = {"systolic": 182, "diastolic": 95, "heart_rate": 80, "spo2": 90, "respiratory_rate": 16}
    r = nurse.post(f"/api/v1/sessions/{session['id']}/vitals/", vitals, format="json")
    assert r.status_code == 201, r.content
    rules = {a["rule"] for a in r.json()["alerts"]}
    assert {"bp_high", "spo2_low"} <= rules
    assert r.json()["news2"]["score"] == 3 + 0  # SpO2 90 scores 3; BP 182 and the rest score 0

"""Vitals: append-only storage, impossible values refused naming the field, alerts returned
with the response (CLINICAL.md §3)."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from infusions.sessions.models import SessionStatus
from monitoring.alerts.models import Alert
from monitoring.vitals.models import VitalSign
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

VITALS_LIST_QUERIES = 4 + 1  # + the patient access log (issue 8)
NORMAL = {"systolic": 122, "diastolic": 78, "heart_rate": 72, "spo2": 98, "respiratory_rate": 14, "temperature_c": 36.8}


@pytest.fixture
def session(course):
    return SessionFactory(course=course)


def vitals_url(session):
    return f"/api/v1/sessions/{session.id}/vitals/"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("systolic", 39, id="CLINICAL.md-3-systolic-below-40"),
        pytest.param("systolic", 301, id="CLINICAL.md-3-systolic-above-300"),
        pytest.param("diastolic", 19, id="CLINICAL.md-3-diastolic-below-20"),
        pytest.param("diastolic", 201, id="CLINICAL.md-3-diastolic-above-200"),
        pytest.param("heart_rate", 19, id="CLINICAL.md-3-heart-rate-below-20"),
        pytest.param("heart_rate", 251, id="CLINICAL.md-3-heart-rate-above-250"),
        pytest.param("spo2", 49, id="CLINICAL.md-3-spo2-below-50"),
        pytest.param("spo2", 101, id="CLINICAL.md-3-spo2-above-100"),
        pytest.param("respiratory_rate", -1, id="CLINICAL.md-3-rr-below-0"),
        pytest.param("respiratory_rate", 81, id="CLINICAL.md-3-rr-above-80"),
        pytest.param("temperature_c", 24.9, id="CLINICAL.md-3-temp-below-25"),
        pytest.param("temperature_c", 45.1, id="CLINICAL.md-3-temp-above-45"),
    ],
)
def test_impossible_values_are_400_naming_the_field(api, users, session, field, value):
    r = api(users["nurse"]).post(vitals_url(session), {**NORMAL, field: value}, format="json")
    assert r.status_code == 400
    assert list(r.json()) == [field]
    assert VitalSign.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("systolic", 40, id="systolic-40-edge"),
        pytest.param("systolic", 300, id="systolic-300-edge"),
        pytest.param("heart_rate", 20, id="hr-20-edge"),
        pytest.param("heart_rate", 250, id="hr-250-edge"),
        pytest.param("spo2", 50, id="spo2-50-edge"),
        pytest.param("respiratory_rate", 0, id="rr-0-edge"),
        pytest.param("respiratory_rate", 80, id="rr-80-edge"),
        pytest.param("temperature_c", 25.0, id="temp-25-edge"),
        pytest.param("temperature_c", 45.0, id="temp-45-edge"),
    ],
)
def test_range_edges_are_stored(api, users, session, field, value):
    body = {**NORMAL, field: value}
    if field == "systolic" and value == 40:
        body["diastolic"] = 25
    r = api(users["nurse"]).post(vitals_url(session), body, format="json")
    assert r.status_code == 201, r.content


def test_diastolic_not_below_systolic_is_refused(api, users, session):
    """CLINICAL.md §3: diastolic >= systolic is impossible."""
    r = api(users["nurse"]).post(vitals_url(session), {**NORMAL, "systolic": 90, "diastolic": 90}, format="json")
    assert r.status_code == 400
    assert "diastolic" in r.json()


def test_future_time_beyond_5_minutes_is_refused(api, users, session):
    """CLINICAL.md §3: a time more than 5 minutes in the future."""
    later = timezone.now() + timedelta(minutes=6)
    r = api(users["nurse"]).post(vitals_url(session), {**NORMAL, "recorded_at": later.isoformat()}, format="json")
    assert r.status_code == 400
    assert "recorded_at" in r.json()
    soon = timezone.now() + timedelta(minutes=4)
    assert (
        api(users["nurse"])
        .post(vitals_url(session), {**NORMAL, "recorded_at": soon.isoformat()}, format="json")
        .status_code
        == 201
    )


def test_missing_required_field_is_named(api, users, session):
    body = dict(NORMAL)
    del body["spo2"]
    r = api(users["nurse"]).post(vitals_url(session), body, format="json")
    assert r.status_code == 400
    assert "spo2" in r.json()


@pytest.mark.parametrize(
    ("changes", "rule", "severity"),
    [
        pytest.param({"systolic": 180}, "bp_high", "high", id="Del-Sant-2020-systolic-180"),
        pytest.param({"diastolic": 110, "systolic": 150}, "bp_high", "high", id="Del-Sant-2020-diastolic-110"),
        pytest.param({"spo2": 91}, "spo2_low", "high", id="Modified-Aldrete-SpO2-below-92"),
        pytest.param({"moaas": 0}, "unresponsive", "emergency", id="MOAA/S-0"),
    ],
)
def test_alarming_values_are_stored_and_alert(api, users, session, changes, rule, severity):
    r = api(users["nurse"]).post(vitals_url(session), {**NORMAL, **changes}, format="json")
    assert r.status_code == 201
    alerts = {(a["rule"], a["severity"]) for a in r.json()["alerts"]}
    assert (rule, severity) in alerts
    assert Alert.objects.filter(session=session, rule=rule, status="open").count() == 1


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"systolic": 179, "diastolic": 109}, id="Del-Sant-2020-below-180/110"),
        pytest.param({"spo2": 92}, id="Modified-Aldrete-SpO2-92-ok"),
    ],
)
def test_values_just_inside_do_not_alert(api, users, session, changes):
    session.status = SessionStatus.RUNNING
    session.save()
    r = api(users["nurse"]).post(vitals_url(session), {**NORMAL, **changes}, format="json")
    rules = {a["rule"] for a in r.json()["alerts"]}
    assert not rules & {"bp_high", "spo2_low"}


def test_open_alert_is_not_repeated_until_acknowledged(api, users, session):
    nurse = api(users["nurse"])
    nurse.post(vitals_url(session), {**NORMAL, "spo2": 90}, format="json")
    second = nurse.post(vitals_url(session), {**NORMAL, "spo2": 89}, format="json").json()
    assert "spo2_low" not in {a["rule"] for a in second["alerts"]}
    assert Alert.objects.filter(rule="spo2_low").count() == 1


def test_batch_is_stored_all_or_nothing(api, users, session):
    now = timezone.now()
    rows = [{**NORMAL, "recorded_at": (now - timedelta(minutes=m)).isoformat()} for m in (20, 10, 0)]
    r = api(users["nurse"]).post(vitals_url(session), rows, format="json")
    assert r.status_code == 201
    assert len(r.json()) == 3
    assert all(row["news2"] == {"score": 0, "risk": "low"} for row in r.json())
    bad = [*rows, {**NORMAL, "heart_rate": 400}]
    r = api(users["nurse"]).post(vitals_url(session), bad, format="json")
    assert r.status_code == 400
    assert "3.heart_rate" in r.json()
    assert VitalSign.objects.count() == 3


def test_news2_in_the_response(api, users, session):
    """RCP 2017 NEWS2 scale 1: RR 25 (3) + SpO2 93 (2) + oxygen (2) + HR 115 (2) = 9 -> high."""
    session.status = SessionStatus.RUNNING
    session.save()
    body = {**NORMAL, "respiratory_rate": 25, "spo2": 93, "on_oxygen": True, "heart_rate": 115}
    r = api(users["nurse"]).post(vitals_url(session), body, format="json").json()
    assert r["news2"] == {"score": 9, "risk": "high"}
    assert ("news2", "emergency") in {(a["rule"], a["severity"]) for a in r["alerts"]}


def test_consciousness_counts_before_start_not_during(api, users, session):
    """CLINICAL.md §3: dissociation is expected; NEWS2 consciousness points only before start/at discharge."""
    nurse = api(users["nurse"])
    before = nurse.post(vitals_url(session), {**NORMAL, "consciousness": "V"}, format="json").json()
    assert before["news2"]["score"] == 3
    session.status = SessionStatus.RUNNING
    session.save()
    during = nurse.post(vitals_url(session), {**NORMAL, "consciousness": "V"}, format="json").json()
    assert during["news2"]["score"] == 0


def test_vitals_cannot_be_updated_or_deleted(api, users, session):
    r = api(users["nurse"]).post(vitals_url(session), NORMAL, format="json")
    vid = r.json()["id"]
    for method in ("put", "patch", "delete"):
        resp = getattr(api(users["clinician"]), method)(f"/api/v1/vitals/{vid}/", NORMAL, format="json")
        assert resp.status_code in (404, 405)
        resp = getattr(api(users["clinician"]), method)(vitals_url(session), NORMAL, format="json")
        assert resp.status_code in (403, 405)  # no role may use a method that does not exist
    # Not even the ORM: the database refuses UPDATE and DELETE.
    vital = VitalSign.objects.get(pk=vid)
    with pytest.raises(DatabaseError), transaction.atomic():
        VitalSign.objects.filter(pk=vid).update(systolic=150)
    with pytest.raises(DatabaseError), transaction.atomic():
        vital.delete()
    vital.refresh_from_db()
    assert vital.systolic == NORMAL["systolic"]


def test_a_correction_is_a_new_row_with_a_reason(api, users, session):
    nurse = api(users["nurse"])
    original = nurse.post(vitals_url(session), {**NORMAL, "systolic": 212}, format="json").json()
    url = f"/api/v1/vitals/{original['id']}/correct/"
    assert nurse.post(url, {"systolic": 122}, format="json").status_code == 400  # no reason
    r = nurse.post(url, {"systolic": 122, "correction_reason": "Cuff too small; re-measured"}, format="json")
    assert r.status_code == 201
    corrected = r.json()
    assert corrected["supersedes"] == original["id"]
    assert corrected["systolic"] == 122
    assert corrected["heart_rate"] == NORMAL["heart_rate"]
    rows = nurse.get(vitals_url(session)).json()
    assert [(row["systolic"], row["superseded"]) for row in rows] == [(212, True), (122, False)]
    again = nurse.post(url, {"systolic": 121, "correction_reason": "again"}, format="json")
    assert (again.status_code, again.json()["rule"]) == (409, "vitals_already_corrected")


def test_signed_session_refuses_vitals(api, users, session):
    session.status = SessionStatus.DISCHARGED
    session.signed_at = timezone.now()
    session.save()
    r = api(users["nurse"]).post(vitals_url(session), NORMAL, format="json")
    assert (r.status_code, r.json()["rule"]) == (409, "session_signed")


def test_vitals_list_query_count_is_constant(api, users, session, django_assert_num_queries):
    nurse = api(users["nurse"])
    nurse.post(vitals_url(session), NORMAL, format="json")
    # token with its user, the session, the vitals (joined to recorder and corrections), their alerts
    with django_assert_num_queries(VITALS_LIST_QUERIES):
        nurse.get(vitals_url(session))
    nurse.post(vitals_url(session), [NORMAL] * 20, format="json")
    with django_assert_num_queries(VITALS_LIST_QUERIES):
        r = nurse.get(vitals_url(session))
    assert len(r.json()) == 21

"""The vitals ingest fast path (issue 9) reads a set exactly as `VitalInputSerializer` does and
answers exactly what `VitalSerializer` gives, without a query per set."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from infusions.sessions.models import SessionStatus
from monitoring.vitals.api import VitalInputSerializer, VitalSerializer, _fast_row, vital_data
from monitoring.vitals.models import VitalSign
from monitoring.vitals.selectors import vitals_list
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

NORMAL = {"systolic": 122, "diastolic": 78, "heart_rate": 72, "spo2": 98, "respiratory_rate": 14}
# A set that runs the alert rules: SpO2 below 92 % (CLINICAL.md §3, BTS 2017) and NEWS2 >= 7.
ALARMING = {**NORMAL, "respiratory_rate": 25, "spo2": 89, "on_oxygen": True, "heart_rate": 115}


@pytest.fixture
def session(course):
    return SessionFactory(course=course, status=SessionStatus.RUNNING)


WELL_FORMED = [
    pytest.param(NORMAL, id="required-only"),
    pytest.param({**NORMAL, "temperature_c": 36.8}, id="temperature-float"),
    pytest.param({**NORMAL, "temperature_c": 37}, id="temperature-int"),
    pytest.param({**NORMAL, "temperature_c": None}, id="temperature-null"),
    pytest.param({**NORMAL, "consciousness": "V", "on_oxygen": True, "moaas": 3}, id="optional-fields"),
    pytest.param({**NORMAL, "moaas": None, "source": "device"}, id="moaas-null-device"),
    pytest.param({**NORMAL, "recorded_at": "2026-11-27T10:15:00+01:00"}, id="time-with-offset"),
    pytest.param({**NORMAL, "recorded_at": "2026-11-27T09:15:00Z"}, id="time-utc"),
    pytest.param({**NORMAL, "unknown": "ignored"}, id="unknown-key-ignored"),
]

# Anything else goes to the serializer: coercions and error messages stay its own.
ODD = [
    pytest.param({**NORMAL, "systolic": "122"}, id="number-as-text"),
    pytest.param({**NORMAL, "systolic": 122.0}, id="integer-as-float"),
    pytest.param({**NORMAL, "systolic": True}, id="boolean-for-number"),
    pytest.param({**NORMAL, "temperature_c": 36.85}, id="temperature-two-decimals"),
    pytest.param({**NORMAL, "temperature_c": "36.8"}, id="temperature-as-text"),
    pytest.param({**NORMAL, "temperature_c": 123.4}, id="temperature-too-many-digits"),
    pytest.param({**NORMAL, "on_oxygen": "true"}, id="boolean-as-text"),
    pytest.param({**NORMAL, "consciousness": "X"}, id="unknown-consciousness"),
    pytest.param({**NORMAL, "source": "fax"}, id="unknown-source"),
    pytest.param({**NORMAL, "recorded_at": "2026-11-27T09:15:00"}, id="time-without-offset"),
    pytest.param({**NORMAL, "recorded_at": "yesterday"}, id="time-unreadable"),
    pytest.param({k: v for k, v in NORMAL.items() if k != "spo2"}, id="missing-required"),
    pytest.param([NORMAL], id="not-an-object"),
]


@pytest.mark.parametrize("raw", WELL_FORMED)
def test_a_well_formed_set_reads_as_the_serializer_reads_it(raw):
    checked = VitalInputSerializer(data=raw)
    assert checked.is_valid(), checked.errors
    assert _fast_row(raw) == dict(checked.validated_data)


@pytest.mark.parametrize("raw", ODD)
def test_anything_else_is_left_to_the_serializer(raw):
    assert _fast_row(raw) is None


def test_a_batch_with_one_odd_set_is_read_by_the_serializer(api, users, session):
    rows = [NORMAL, {**NORMAL, "systolic": "130"}]
    r = api(users["nurse"]).post(f"/api/v1/sessions/{session.id}/vitals/", rows, format="json")
    assert r.status_code == 201, r.json()
    assert [row["systolic"] for row in r.json()] == [122, 130]


def test_a_refused_odd_set_names_the_field_as_before(api, users, session):
    rows = [NORMAL, {**NORMAL, "on_oxygen": "perhaps"}]
    r = api(users["nurse"]).post(f"/api/v1/sessions/{session.id}/vitals/", rows, format="json")
    assert r.status_code == 400
    assert "on_oxygen" in json.dumps(r.json())
    assert VitalSign.objects.count() == 0


def test_the_answer_is_what_the_serializer_gives(api, users, session):
    at = (timezone.now() - timedelta(minutes=3)).astimezone(UTC)
    rows = [
        {**NORMAL, "temperature_c": 36.8, "recorded_at": at.isoformat()},
        {**ALARMING, "moaas": 4, "source": "device"},
    ]
    r = api(users["nurse"]).post(f"/api/v1/sessions/{session.id}/vitals/", rows, format="json")
    assert r.status_code == 201, r.json()
    answered = r.json()
    assert answered[1]["alerts"], "the alarming set must have raised alerts"
    stored = VitalSerializer(vitals_list(session=session), many=True).data
    expected = json.loads(JSONRenderer().render(stored))
    for row in (*answered, *expected):  # the answer lists alerts as raised, the list by severity
        row["alerts"].sort(key=lambda alert: alert["id"])
    assert answered == expected


def test_the_list_is_what_the_serializer_gives(api, users, session):
    nurse = api(users["nurse"])
    url = f"/api/v1/sessions/{session.id}/vitals/"
    first = nurse.post(url, [NORMAL, ALARMING], format="json").json()
    nurse.post(
        f"/api/v1/vitals/{first[0]['id']}/correct/", {"systolic": 124, "correction_reason": "typo"}, format="json"
    )
    listed = nurse.get(url).json()
    assert [row["superseded"] for row in listed] == [True, False, False]
    expected = VitalSerializer(vitals_list(session=session), many=True).data
    assert listed == json.loads(JSONRenderer().render(expected))


def test_vital_data_matches_the_serializer_field_for_field(session, users):
    vital = VitalSign.objects.create(
        session=session,
        recorded_at=datetime(2026, 11, 27, 9, 15, 30, 123456, tzinfo=UTC),
        recorded_by=users["nurse"],
        phase="running",
        news2_score=0,
        news2_risk="low",
        temperature_c="36.8",
        **NORMAL,
    )
    vital.refresh_from_db()
    expected = VitalSerializer(vitals_list(session=session).get(pk=vital.pk)).data
    assert vital_data(vital, []) == expected


def test_posting_a_set_or_a_batch_of_100_costs_the_same_queries(api, users, session, django_assert_num_queries):
    """Token; in the transaction (a savepoint inside the test's): the locked session, the
    baseline set, unresolved alerts, one insert, the schedule figures and its upsert; then the
    patient access log (issue 8). Ten, whatever the batch size."""
    nurse = api(users["nurse"])
    url = f"/api/v1/sessions/{session.id}/vitals/"
    nurse.post(url, NORMAL, format="json")
    with django_assert_num_queries(10):
        assert nurse.post(url, NORMAL, format="json").status_code == 201
    with django_assert_num_queries(10):
        assert nurse.post(url, [NORMAL] * 100, format="json").status_code == 201
    assert VitalSign.objects.filter(session=session).count() == 102

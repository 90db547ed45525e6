"""Every export read by pandas (issue 17): the audit history and access log, the
controlled-substance ledger and the outcomes report, from the API (CSV and JSON, chosen by
Accept or by `format=`) and from the management commands. CSV and JSON carry the same rows; JSON
is a list of records; rows that are events come in time order."""

import io
import json
from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder

from infusions.ledger import services as ledger
from monitoring.vitals.services import vitals_record
from tests.factories import CourseFactory, SessionFactory, vials_received

pytestmark = pytest.mark.django_db

VITALS = {"systolic": 128, "diastolic": 82, "heart_rate": 74, "spo2": 97, "respiratory_rate": 14}
EXPORTS = {
    "/api/v1/audit/history/": "csv",
    "/api/v1/audit/access/": "csv",
    "/api/v1/ledger/export/": "csv",
    "/api/v1/reports/outcomes/": "json",
}


@pytest.fixture
def records(api, users, other_patient, protocol, site):
    """Changes to a patient and vitals sets interleaved in time (two models of the history),
    staff reads of the record, four ledger entries and a course for the outcomes report."""
    clinician, nurse = api(users["clinician"]), api(users["nurse"])
    course = CourseFactory(patient=other_patient, protocol=protocol, created_by=users["clinician"])
    session = SessionFactory(course=course, status="running", started_at=timezone.now() - timedelta(minutes=30))
    clinician.patch(f"/api/v1/patients/{other_patient.pk}/", {"phone": "555-0101"})
    vitals_record(actor=users["nurse"], session=session, rows=[dict(VITALS)])
    clinician.patch(f"/api/v1/patients/{other_patient.pk}/", {"phone": "555-0102"})
    vitals_record(actor=users["nurse"], session=session, rows=[dict(VITALS)])
    nurse.get(f"/api/v1/patients/{other_patient.pk}/")
    clinician.get(f"/api/v1/patients/{other_patient.pk}/")
    container = vials_received(users["admin"], site)[0]
    ledger.ledger_open(actor=users["nurse"], session=session, container=container, amount_mg=Decimal("50"))
    return {"patient": other_patient, "session": session}


def _csv(response) -> pd.DataFrame:
    assert response["Content-Type"].startswith("text/csv"), response["Content-Type"]
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return pd.read_csv(io.StringIO(response.content.decode()))


def _json(response) -> pd.DataFrame:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body, list)  # a list of records, not {columns, rows}
    assert all(isinstance(row, dict) for row in body)
    return pd.read_json(io.StringIO(response.content.decode()), orient="records", dtype=False)


@pytest.mark.parametrize("path", list(EXPORTS))
def test_every_export_reads_with_pandas_by_accept_and_by_format(api, users, records, path):
    client = api(users["admin"])
    by_accept_csv = _csv(client.get(path, HTTP_ACCEPT="text/csv"))
    by_accept_json = _json(client.get(path, HTTP_ACCEPT="application/json"))
    by_format_csv = _csv(client.get(f"{path}?format=csv", HTTP_ACCEPT="application/json"))  # format wins
    by_format_json = _json(client.get(f"{path}?format=json", HTTP_ACCEPT="text/csv"))
    assert len(by_accept_csv) > 0
    assert list(by_accept_csv.columns) == list(by_accept_json.columns)
    pd.testing.assert_frame_equal(by_accept_csv, by_format_csv)
    pd.testing.assert_frame_equal(by_accept_json, by_format_json)
    # The same rows either way (CSV has no types: compare as text, empty cells as None).
    as_text = by_accept_json.astype(object).where(by_accept_json.notna(), None).map(_text)
    from_csv = by_accept_csv.astype(object).where(by_accept_csv.notna(), None).map(_text)
    pd.testing.assert_frame_equal(as_text, from_csv, check_dtype=False)
    default = client.get(path)
    assert default["Content-Type"].startswith("text/csv" if EXPORTS[path] == "csv" else "application/json")
    refused = client.get(f"{path}?format=xml")
    assert refused.status_code == 406
    assert client.get(path, HTTP_ACCEPT="application/xml").status_code == 406


def _text(value):
    """A cell as CSV writes it: numbers without a trailing .0, nested values as JSON, and an
    empty text the same as no value (CSV cannot tell them apart)."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, cls=JSONEncoder)
    return str(value)


@pytest.mark.parametrize(
    ("path", "column"),
    [("/api/v1/audit/history/", "at"), ("/api/v1/audit/access/", "at"), ("/api/v1/ledger/export/", "occurred_at")],
)
def test_event_exports_are_in_time_order(api, users, records, path, column):
    frame = _csv(api(users["admin"]).get(path))
    times = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    assert times.is_monotonic_increasing
    assert len(frame) >= 2


def test_the_history_interleaves_models_in_time_order(api, users, records):
    frame = _json(api(users["admin"]).get("/api/v1/audit/history/?format=json"))
    patient = records["patient"].pk
    mine = frame[
        ((frame["model"] == "patients.Patient") & (frame["object_id"] == patient))
        | (frame["model"] == "monitoring.VitalSign")
    ]
    assert list(mine["model"])[-4:] == [
        "patients.Patient",
        "monitoring.VitalSign",
        "patients.Patient",
        "monitoring.VitalSign",
    ]
    changes = [c["phone"][1] for c in mine["changes"] if "phone" in c and c["phone"][0] is not None]
    assert changes == ["555-0101", "555-0102"]


@pytest.mark.parametrize(
    ("command", "path"),
    [
        (["audit_export", "history"], "/api/v1/audit/history/"),
        (["audit_export", "access"], "/api/v1/audit/access/"),
        (["ledger_export"], "/api/v1/ledger/export/"),
    ],
)
def test_the_commands_write_what_the_api_answers(api, users, records, tmp_path, command, path):
    client = api(users["admin"])
    for file_format in ("csv", "json"):
        out = tmp_path / f"export.{file_format}"
        call_command(*command, "--format", file_format, "--output", str(out))
        answer = client.get(f"{path}?format={file_format}")
        if file_format == "csv":
            from_command = pd.read_csv(out)
            from_api = pd.read_csv(io.StringIO(answer.content.decode()))
        else:
            from_command = pd.read_json(out, orient="records", dtype=False)
            from_api = pd.read_json(io.StringIO(answer.content.decode()), orient="records", dtype=False)
        pd.testing.assert_frame_equal(from_command, from_api)

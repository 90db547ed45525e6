"""The audit trail (DESIGN.md non-negotiables): every change to clinical data is kept with
who, when and the values before (django-simple-history); every staff read of a patient's
record is logged (PatientAccessLog, one INSERT per request); both visible to admins and
exportable (admin-only API, `manage.py audit_export`)."""

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring.audit.models import PatientAccessLog
from monitoring.vitals.services import vitals_record
from patients.models import Patient
from tests.factories import AppointmentFactory, ChairFactory, CourseFactory, PatientFactory, SessionFactory

pytestmark = pytest.mark.django_db

VITALS = {"systolic": 185, "diastolic": 95, "heart_rate": 80, "spo2": 97, "respiratory_rate": 14}


def history(obj):
    return list(type(obj).history.filter(id=obj.pk).order_by("history_date", "history_id"))


# --- changes ---------------------------------------------------------------------------------------


def test_a_patient_change_keeps_who_when_and_the_value_before(api, users):
    front = api(users["frontdesk"])
    r = front.post(
        "/api/v1/patients/",
        {"mrn": "AUD-1", "given_name": "Ann", "family_name": "Audit", "birth_date": "1970-01-02", "sex": "female"},
    )
    pid = r.json()["id"]
    assert api(users["clinician"]).patch(f"/api/v1/patients/{pid}/", {"phone": "555-0101"}).status_code == 200
    records = history(Patient.objects.get(pk=pid))
    assert [(h.history_type, h.history_user.username) for h in records] == [("+", "frontdesk"), ("~", "clinician")]
    assert records[0].phone == ""  # the value before
    assert records[1].phone == "555-0101"
    change = records[1].diff_against(records[0])
    assert [(c.field, c.old, c.new) for c in change.changes] == [("phone", "", "555-0101")]


def test_a_dose_approval_is_attributed_to_the_prescriber(api, users, course):
    session = SessionFactory(
        course=course, dose=Decimal("0.8"), requires_approval=True, approval_reasons=["dose_outside_soft_range"]
    )
    r = api(users["clinician"]).post(f"/api/v1/sessions/{session.pk}/approve/", {"reason": "refractory"})
    assert r.status_code == 200, r.content
    last = history(session)[-1]
    assert (last.history_type, last.history_user, last.requires_approval, last.approved_by_id) == (
        "~",
        users["clinician"],
        False,
        users["clinician"].pk,
    )


def test_alert_acknowledgement_and_appointment_cancel_are_kept(api, users, course, site):
    session = SessionFactory(course=course)
    alert = vitals_record(actor=users["nurse"], session=session, rows=[dict(VITALS)])[0].alerts[0]
    r = api(users["clinician"]).post(f"/api/v1/alerts/{alert.pk}/acknowledge/", {})
    assert r.status_code == 200, r.content
    acknowledged = history(alert)[-1]
    assert (acknowledged.status, acknowledged.history_user) == ("acknowledged", users["clinician"])
    appointment = AppointmentFactory(patient=course.patient, chair=ChairFactory(site=site), site=site)
    r = api(users["frontdesk"]).post(f"/api/v1/appointments/{appointment.pk}/cancel/", {"reason": "ill"})
    assert r.status_code == 200, r.content
    cancelled = history(appointment)[-1]
    assert (cancelled.status, cancelled.history_user) == ("cancelled", users["frontdesk"])


# --- reads -------------------------------------------------------------------------------------------


def logged():
    return list(PatientAccessLog.objects.order_by("id").values_list("user__username", "patient_id", "method", "view"))


def test_staff_reads_of_a_patient_record_are_logged(api, users, own_patient, other_patient, course):
    nurse = api(users["nurse"])
    assert nurse.get(f"/api/v1/patients/{other_patient.pk}/").status_code == 200
    assert nurse.get(f"/api/v1/patients/{other_patient.pk}/measurements/").status_code == 200
    session = SessionFactory(course=course)
    assert nurse.get(f"/api/v1/sessions/{session.pk}/").status_code == 200
    assert nurse.get(f"/api/v1/sessions/{session.pk}/vitals/").status_code == 200
    assert nurse.get(f"/fhir/Observation?patient={other_patient.pk}").status_code == 200
    assert logged() == [
        ("nurse", other_patient.pk, "GET", "api:patient-detail"),
        ("nurse", other_patient.pk, "GET", "api:patient-measurements"),
        ("nurse", other_patient.pk, "GET", "api:session-detail"),
        ("nurse", other_patient.pk, "GET", "api:session-vitals"),
        ("nurse", other_patient.pk, "GET", "fhir:observation-search"),
    ]
    row = PatientAccessLog.objects.order_by("id").first()
    assert (row.role, row.status_code, row.path) == ("nurse", 200, f"/api/v1/patients/{other_patient.pk}/")


def test_a_search_logs_every_patient_it_showed_and_no_search_terms(api, users, site):
    found = [PatientFactory(site=site, family_name=f"Searchme{i}") for i in range(3)]
    PatientFactory(site=site, family_name="Elsewhere")
    assert len(api(users["frontdesk"]).get("/api/v1/patients/?search=searchme").json()) == 3
    rows = PatientAccessLog.objects.all()
    assert sorted(r.patient_id for r in rows) == sorted(p.pk for p in found)
    assert {r.path for r in rows} == {"/api/v1/patients/"}  # the query string (a name) is not kept


def test_refused_requests_and_patients_reading_their_own_record_are_not_logged(api, users, own_patient, other_patient):
    assert api(users["patient"]).get(f"/api/v1/patients/{own_patient.pk}/").status_code == 200
    assert api(users["frontdesk"]).get(f"/api/v1/patients/{other_patient.pk}/measurements/").status_code == 403
    assert api(users["nurse"]).get("/api/v1/patients/999999/").status_code == 404
    assert logged() == []
    # The log is listening (issue 21: a "nothing logged" check must be able to see something):
    # the same nurse reading a record she may read is logged at once.
    assert api(users["nurse"]).get(f"/api/v1/patients/{other_patient.pk}/").status_code == 200
    assert logged() == [("nurse", other_patient.pk, "GET", "api:patient-detail")]


def test_the_access_log_is_append_only(api, users, other_patient):
    api(users["nurse"]).get(f"/api/v1/patients/{other_patient.pk}/")
    for statement in ("UPDATE monitoring_patientaccesslog SET role = 'x'", "DELETE FROM monitoring_patientaccesslog"):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)


def _without_access_log():
    return override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if not m.endswith("PatientAccessMiddleware")])


@pytest.mark.parametrize(
    "path",
    ["/api/v1/patients/{patient}/", "/api/v1/sessions/{session}/vitals/", "/fhir/Observation?patient={patient}"],
)
def test_logging_adds_exactly_one_query(api, users, course, path):
    session = SessionFactory(course=course)
    url = path.format(patient=course.patient_id, session=session.pk)
    with _without_access_log():
        plain = api(users["nurse"])  # a client loads the middleware on its first request
        plain.get(url)
        with CaptureQueriesContext(connection) as without:
            plain.get(url)
    client = api(users["nurse"])
    client.get(url)
    with CaptureQueriesContext(connection) as logged_queries:
        client.get(url)
    assert len(logged_queries) == len(without) + 1
    assert logged_queries.captured_queries[-1]["sql"].startswith("INSERT INTO monitoring_patientaccesslog")


def test_logging_a_search_stays_one_query_whatever_it_found(api, users, site, django_assert_num_queries):
    client = api(users["frontdesk"])
    PatientFactory(site=site, family_name="Many0")
    with CaptureQueriesContext(connection) as small:
        client.get("/api/v1/patients/?search=many")
    for i in range(1, 12):
        PatientFactory(site=site, family_name=f"Many{i}")
    with django_assert_num_queries(len(small)):
        assert len(client.get("/api/v1/patients/?search=many").json()) == 12
    assert PatientAccessLog.objects.count() == 13


# --- visible and exportable -----------------------------------------------------------------------------


def test_audit_exports_are_admin_only(api, users, other_patient):
    api(users["clinician"]).patch(f"/api/v1/patients/{other_patient.pk}/", {"phone": "555-0199"})
    api(users["nurse"]).get(f"/api/v1/patients/{other_patient.pk}/")
    admin = api(users["admin"])
    r = admin.get("/api/v1/audit/history/?model=patients.Patient&format=json")
    assert r.status_code == 200
    changes = [row for row in r.json() if row["object_id"] == other_patient.pk and row["event"] == "changed"]
    assert changes[0]["user"] == "clinician"
    assert changes[0]["changes"]["phone"] == ["", "555-0199"]
    r = admin.get("/api/v1/audit/access/")
    assert r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert [(row["user"], row["patient"], row["view"]) for row in rows][-1] == (
        "nurse",
        str(other_patient.pk),
        "api:patient-detail",
    )
    for role in ("clinician", "nurse", "frontdesk"):
        assert api(users[role]).get("/api/v1/audit/history/").status_code == 403
        assert api(users[role]).get("/api/v1/audit/access/").status_code == 403
    assert api(users["patient"]).get("/api/v1/audit/access/").status_code == 403


def test_history_export_includes_append_only_records(api, users, course):
    session = SessionFactory(course=course, started_at=timezone.now() - timedelta(minutes=5), status="running")
    vitals_record(actor=users["nurse"], session=session, rows=[dict(VITALS)])
    body = api(users["admin"]).get("/api/v1/audit/history/?model=monitoring.VitalSign&format=json").json()
    assert [(row["event"], row["user"]) for row in body] == [("created", "nurse")]
    assert body[0]["changes"]["systolic"] == [None, 185]


def test_audit_export_command(api, users, other_patient, tmp_path):
    api(users["nurse"]).get(f"/api/v1/patients/{other_patient.pk}/")
    out = tmp_path / "access.json"
    call_command("audit_export", "access", "--format", "json", "--output", str(out))
    assert [row["patient"] for row in json.loads(out.read_text())] == [other_patient.pk]
    text = io.StringIO()
    call_command("audit_export", "history", "--model", "patients.Patient", stdout=text)
    assert text.getvalue().splitlines()[0] == "at,model,object_id,event,user,reason,changes,history_id"


def test_admins_see_history_and_access_log_in_the_django_admin(client, users, other_patient, api):
    api(users["nurse"]).get(f"/api/v1/patients/{other_patient.pk}/")
    admin = users["admin"]
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    for url in (
        "/admin/monitoring/patientaccesslog/",
        "/admin/monitoring/historicalpatient/",
        "/admin/monitoring/historicalinfusionsession/",
        "/admin/monitoring/historicalalert/",
        "/admin/monitoring/historicalfollowup/",
        "/admin/monitoring/historicalappointment/",
    ):
        assert client.get(url).status_code == 200, url
    nurse = users["nurse"]
    nurse.is_staff = True
    nurse.save()
    client.force_login(nurse)
    assert client.get("/admin/monitoring/patientaccesslog/").status_code == 403


def test_every_listed_kind_of_clinical_change_is_audited():
    """Issue 8: patients, sessions (doses), alerts, follow-ups, appointments keep a history;
    screenings, assessments, weights and vitals are append-only (their rows are the record)."""
    from monitoring.audit.models import AUDITED_MODELS
    from monitoring.audit.services import APPEND_ONLY

    audited = {m._meta.label for m in AUDITED_MODELS}
    assert {
        "patients.Patient",
        "infusions.InfusionSession",
        "infusions.TreatmentCourse",
        "infusions.Appointment",
        "monitoring.Alert",
        "monitoring.FollowUp",
    } <= audited
    assert {m._meta.label for m, _, _ in APPEND_ONLY} == {
        "monitoring.AlertResolution",  # issue 15: the action taken on a high or emergency alert
        "patients.Screening",
        "patients.Assessment",
        "patients.BodyMeasurement",
        "monitoring.VitalSign",
    }
    assert CourseFactory is not None

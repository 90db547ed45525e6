"""The central permission matrix: every endpoint under /api/v1/ and /fhir/ (DESIGN.md users
and roles). A new endpoint without a row here fails `test_every_endpoint_has_a_row`.

Each row says which roles get past the permission check, whether the patient role may use
the endpoint for their own record only (another patient's answers 404, never 403), whether it
is open without sign-in, and which per-resource matrix tests exercise it further with real
objects (role x action x own / other patient, the success answers, nothing changed when
refused). This file exercises every row itself, for every role and anonymous:

- a role not in `allowed` gets 403, or 404 when it is the patient role on a route that names
  an object (nothing tells a patient whether another's object exists);
- a role in `allowed` is not refused (no 401 or 403; an unknown object may answer 404, a
  missing body 400);
- anonymous gets 401 unless the row is public;
- for rows with `own`, the patient account gets its own record and 404 for another's.
"""

import re
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.contrib.admindocs.views import extract_views_from_urlpatterns, simplify_regex
from django.urls import get_resolver
from django.utils import timezone

from tests.factories import AppointmentFactory, ChairFactory, CourseFactory, SessionFactory

ROOT = Path(__file__).resolve().parent.parent
ROLES = ("admin", "clinician", "nurse", "frontdesk", "patient")
ALL = frozenset(ROLES)
STAFF = frozenset({"admin", "clinician", "nurse", "frontdesk"})
CLINICAL = frozenset({"clinician", "nurse"})
PRESCRIBER = frozenset({"clinician"})
ADMIN = frozenset({"admin"})
DEMOGRAPHICS = frozenset({"admin", "clinician", "frontdesk"})
BOOKING = frozenset({"clinician", "frontdesk"})
ARRIVAL = frozenset({"clinician", "nurse", "frontdesk"})
LEDGER = frozenset({"admin", "clinician", "nurse"})
REPORTS = frozenset({"admin", "clinician"})
PATIENT = frozenset({"patient"})
FHIR = frozenset({"clinician", "nurse", "patient"})
UNKNOWN_ID = "999999999"

# Per-resource matrix tests (real objects, success answers, own / other patient).
FOUNDATION = "tests/test_permissions_foundation.py::test_matrix"
APPOINTMENTS = "tests/infusions/scheduling/test_appointments_api.py::test_permission_matrix"
MY_APPOINTMENTS = (
    "tests/infusions/scheduling/test_my_appointments.py::test_patient_sees_only_their_own_past_and_upcoming"
)
CALENDAR = (
    "tests/infusions/scheduling/test_my_appointments.py::test_private_link_works_without_sign_in_and_is_revocable"
)
BEDSIDE = "tests/monitoring/bedside/test_bedside_permissions.py::test_matrix"
FOLLOWUPS = "tests/monitoring/followups/test_followup_api.py::test_permission_matrix"
INBOX = "tests/monitoring/followups/test_followup_api.py::test_inbox_messages_list_and_read"
MAINTENANCE = "tests/monitoring/outcomes/test_maintenance_api.py::test_matrix"
ASSESSMENTS = "tests/patients/test_assessments.py::test_matrix_patient_assessments"
MY_ASSESSMENTS = "tests/patients/test_assessments.py::test_matrix_my_assessments"
LEDGER_MATRIX = "tests/infusions/ledger/test_ledger.py::test_ledger_permission_matrix"
FHIR_MATRIX = "tests/monitoring/fhir/test_fhir.py::test_fhir_permission_matrix"
FHIR_PATIENT_SEARCH = "tests/monitoring/fhir/test_fhir_clients.py::test_patient_search"
FHIR_METADATA = (
    "tests/monitoring/fhir/test_fhir_clients.py::"
    "test_fhirclient_starts_from_the_capability_statement_which_lists_exactly_what_is_searched"
)
SECURITY = "tests/test_security.py::test_tokens_can_be_revoked"
AUDIT = "tests/monitoring/audit/test_audit.py::test_audit_exports_are_admin_only"


@dataclass(frozen=True)
class Row:
    allowed: frozenset[str]
    deeper: tuple[str, ...] = ()
    own: bool = False  # the patient role: own record only (another patient's: 404)
    public: bool = False  # answers without sign-in


MATRIX: dict[str, Row] = {
    "GET /api/v1/": Row(ALL),
    # sign-in
    "POST /api/v1/auth/token/": Row(ALL, (SECURITY,), public=True),
    "DELETE /api/v1/auth/token/": Row(ALL, (FOUNDATION, SECURITY)),
    # organisation
    "GET /api/v1/sites/": Row(STAFF, (FOUNDATION,)),
    "GET /api/v1/sites/{pk}/": Row(STAFF),
    "GET /api/v1/chairs/": Row(STAFF, (FOUNDATION,)),
    "GET /api/v1/chairs/{pk}/": Row(STAFF),
    # patients
    "GET /api/v1/patients/": Row(STAFF, (FOUNDATION,)),
    "POST /api/v1/patients/": Row(DEMOGRAPHICS, (FOUNDATION,)),
    "GET /api/v1/patients/{pk}/": Row(STAFF | PATIENT, (FOUNDATION,), own=True),
    "PATCH /api/v1/patients/{pk}/": Row(DEMOGRAPHICS, (FOUNDATION,)),
    "POST /api/v1/patients/{pk}/portal-account/": Row(DEMOGRAPHICS, (FOUNDATION,)),
    "GET /api/v1/patients/{pk}/measurements/": Row(CLINICAL, (FOUNDATION,)),
    "POST /api/v1/patients/{pk}/measurements/": Row(CLINICAL, (FOUNDATION,)),
    "GET /api/v1/patients/{pk}/screenings/": Row(CLINICAL, (FOUNDATION,)),
    "POST /api/v1/patients/{pk}/screenings/": Row(CLINICAL, (FOUNDATION,)),
    "GET /api/v1/patients/{patient_pk}/assessments/": Row(CLINICAL, (ASSESSMENTS,)),
    "POST /api/v1/patients/{patient_pk}/assessments/": Row(CLINICAL, (ASSESSMENTS,)),
    "GET /api/v1/me/assessments/": Row(PATIENT, (MY_ASSESSMENTS,)),
    "POST /api/v1/me/assessments/": Row(PATIENT, (MY_ASSESSMENTS,)),
    # protocols, courses, sessions
    "GET /api/v1/protocols/": Row(STAFF, (FOUNDATION,)),
    "GET /api/v1/protocols/{pk}/": Row(STAFF, (FOUNDATION,)),
    "GET /api/v1/courses/": Row(CLINICAL, (FOUNDATION,)),
    "POST /api/v1/courses/": Row(PRESCRIBER, (FOUNDATION,)),
    "GET /api/v1/courses/{pk}/": Row(CLINICAL, (FOUNDATION,)),
    "GET /api/v1/courses/{pk}/outcomes/": Row(CLINICAL, (MAINTENANCE,)),
    "GET /api/v1/courses/{pk}/maintenance-recommendation/": Row(CLINICAL, (MAINTENANCE,)),
    "GET /api/v1/courses/{pk}/maintenance-recommendations/": Row(CLINICAL, (MAINTENANCE,)),
    "POST /api/v1/courses/{pk}/maintenance-recommendation/accept/": Row(PRESCRIBER, (MAINTENANCE,)),
    "POST /api/v1/courses/{pk}/maintenance-recommendation/modify/": Row(PRESCRIBER, (MAINTENANCE,)),
    "POST /api/v1/courses/{pk}/maintenance-recommendation/reject/": Row(PRESCRIBER, (MAINTENANCE,)),
    "GET /api/v1/reports/outcomes/": Row(REPORTS),
    "GET /api/v1/reports/outcomes.csv": Row(REPORTS),
    "GET /api/v1/sessions/": Row(CLINICAL, (FOUNDATION,)),
    "POST /api/v1/sessions/": Row(CLINICAL, (FOUNDATION,)),
    "GET /api/v1/sessions/dose-preview/": Row(CLINICAL, (FOUNDATION,)),
    "GET /api/v1/sessions/{pk}/": Row(CLINICAL, (FOUNDATION,)),
    "POST /api/v1/sessions/{pk}/approve/": Row(PRESCRIBER, (FOUNDATION,)),
    # at the chair
    "POST /api/v1/sessions/{pk}/precheck/": Row(CLINICAL, (BEDSIDE,)),
    "POST /api/v1/sessions/{pk}/start/": Row(CLINICAL, (BEDSIDE,)),
    "POST /api/v1/sessions/{pk}/pause/": Row(CLINICAL, (BEDSIDE,)),
    "POST /api/v1/sessions/{pk}/resume/": Row(CLINICAL, (BEDSIDE,)),
    "POST /api/v1/sessions/{pk}/complete/": Row(CLINICAL, (BEDSIDE,)),
    "POST /api/v1/sessions/{pk}/stop/": Row(CLINICAL, (BEDSIDE,)),
    "POST /api/v1/sessions/{pk}/discharge/": Row(CLINICAL, (BEDSIDE,)),
    "GET /api/v1/sessions/{pk}/detail/": Row(CLINICAL, (BEDSIDE,)),
    "GET /api/v1/sessions/{pk}/events/": Row(CLINICAL, (BEDSIDE,)),
    "GET /api/v1/sessions/{pk}/consent/": Row(CLINICAL, (BEDSIDE,)),
    "POST /api/v1/sessions/{pk}/consent/": Row(CLINICAL, (BEDSIDE,)),
    "GET /api/v1/sessions/{pk}/escort/": Row(CLINICAL, (BEDSIDE,)),
    "POST /api/v1/sessions/{pk}/escort/": Row(CLINICAL, (BEDSIDE,)),
    "GET /api/v1/sessions/{pk}/side-effects/": Row(CLINICAL, (BEDSIDE,)),
    "POST /api/v1/sessions/{pk}/side-effects/": Row(CLINICAL, (BEDSIDE,)),
    "GET /api/v1/sessions/{pk}/interventions/": Row(CLINICAL, (BEDSIDE,)),
    "POST /api/v1/sessions/{pk}/interventions/": Row(CLINICAL, (BEDSIDE,)),
    "GET /api/v1/sessions/{pk}/amendments/": Row(CLINICAL, (BEDSIDE,)),
    "POST /api/v1/sessions/{pk}/amendments/": Row(CLINICAL, (BEDSIDE,)),
    "GET /api/v1/sessions/{pk}/rems-form/": Row(CLINICAL, (BEDSIDE,)),
    "PATCH /api/v1/sessions/{pk}/rems-form/": Row(CLINICAL, (BEDSIDE,)),
    "GET /api/v1/sessions/{pk}/rems-form/export/": Row(CLINICAL, (BEDSIDE,)),
    "GET /api/v1/sessions/{pk}/rems-form/print/": Row(CLINICAL, (BEDSIDE,)),
    "POST /api/v1/sessions/{pk}/rems-form/submit/": Row(CLINICAL, (BEDSIDE,)),
    "GET /api/v1/sessions/{session_pk}/vitals/": Row(CLINICAL, (FOUNDATION,)),
    "POST /api/v1/sessions/{session_pk}/vitals/": Row(CLINICAL, (FOUNDATION,)),
    "POST /api/v1/vitals/{pk}/correct/": Row(CLINICAL, (FOUNDATION,)),
    "GET /api/v1/board/": Row(CLINICAL, (BEDSIDE,)),
    "GET /api/v1/alerts/": Row(CLINICAL, (FOUNDATION,)),
    "GET /api/v1/alerts/{pk}/": Row(CLINICAL),
    "POST /api/v1/alerts/{pk}/acknowledge/": Row(CLINICAL, (BEDSIDE,)),
    "POST /api/v1/alerts/{pk}/resolve/": Row(CLINICAL, (BEDSIDE,)),
    "GET /api/v1/alert-escalations/": Row(PRESCRIBER, (BEDSIDE,)),
    # scheduling
    "GET /api/v1/availability/": Row(STAFF, (APPOINTMENTS,)),
    "GET /api/v1/appointments/": Row(STAFF, (APPOINTMENTS,)),
    "POST /api/v1/appointments/": Row(BOOKING, (APPOINTMENTS,)),
    "GET /api/v1/appointments/board/": Row(STAFF, (APPOINTMENTS,)),
    "POST /api/v1/appointments/series/": Row(BOOKING, (APPOINTMENTS,)),
    "GET /api/v1/appointments/series/proposal/": Row(BOOKING, (APPOINTMENTS,)),
    "GET /api/v1/appointments/{pk}/": Row(STAFF, (APPOINTMENTS,)),
    "GET /api/v1/appointments/{pk}/history/": Row(STAFF, (APPOINTMENTS,)),
    "POST /api/v1/appointments/{pk}/move/": Row(BOOKING, (APPOINTMENTS,)),
    "POST /api/v1/appointments/{pk}/cancel/": Row(BOOKING, (APPOINTMENTS,)),
    "POST /api/v1/appointments/{pk}/no-show/": Row(ARRIVAL, (APPOINTMENTS,)),
    "POST /api/v1/appointments/{pk}/check-in/": Row(ARRIVAL, (APPOINTMENTS,)),
    "GET /api/v1/me/appointments/": Row(PATIENT, (MY_APPOINTMENTS,)),
    "GET /api/v1/me/appointments.ics": Row(PATIENT, (MY_APPOINTMENTS,)),
    "POST /api/v1/me/calendar-link/": Row(PATIENT, (CALENDAR,)),
    "DELETE /api/v1/me/calendar-link/": Row(PATIENT, (CALENDAR,)),
    # a private calendar link is its own credential (an unknown link answers 404)
    "GET /api/v1/calendar/{token}.ics": Row(ALL, (CALENDAR,), public=True),
    # follow-ups (rows narrowed further to the assignee's role)
    "GET /api/v1/followups/": Row(STAFF, (FOLLOWUPS,)),
    "GET /api/v1/followups/{pk}/": Row(STAFF, (FOLLOWUPS,)),
    "POST /api/v1/followups/{pk}/complete/": Row(STAFF, (FOLLOWUPS,)),
    "POST /api/v1/followups/{pk}/snooze/": Row(STAFF, (FOLLOWUPS,)),
    "POST /api/v1/followups/{pk}/reassign/": Row(STAFF, (FOLLOWUPS,)),
    "GET /api/v1/inbox/": Row(STAFF, (INBOX,)),
    "POST /api/v1/inbox/{pk}/read/": Row(STAFF, (INBOX,)),
    # controlled-substance ledger
    "GET /api/v1/ledger/containers/": Row(LEDGER, (LEDGER_MATRIX,)),
    "POST /api/v1/ledger/containers/": Row(ADMIN, (LEDGER_MATRIX,)),
    "GET /api/v1/ledger/containers/{pk}/": Row(LEDGER, (LEDGER_MATRIX,)),
    "GET /api/v1/ledger/entries/": Row(LEDGER, (LEDGER_MATRIX,)),
    "GET /api/v1/ledger/entries/{pk}/": Row(LEDGER, (LEDGER_MATRIX,)),
    "POST /api/v1/ledger/entries/open/": Row(CLINICAL, (LEDGER_MATRIX,)),
    "POST /api/v1/ledger/entries/administer/": Row(CLINICAL, (LEDGER_MATRIX,)),
    "POST /api/v1/ledger/entries/waste/": Row(CLINICAL, (LEDGER_MATRIX,)),
    "POST /api/v1/ledger/entries/destroy/": Row(ADMIN, (LEDGER_MATRIX,)),
    "POST /api/v1/ledger/entries/transfer-out/": Row(ADMIN, (LEDGER_MATRIX,)),
    "POST /api/v1/ledger/entries/loss/": Row(ADMIN, (LEDGER_MATRIX,)),
    "POST /api/v1/ledger/entries/count/": Row(ADMIN, (LEDGER_MATRIX,)),
    "POST /api/v1/ledger/entries/adjustment/": Row(ADMIN, (LEDGER_MATRIX,)),
    "POST /api/v1/ledger/entries/{pk}/reverse/": Row(LEDGER, (LEDGER_MATRIX,)),
    "GET /api/v1/ledger/sessions/{session_pk}/": Row(LEDGER, (LEDGER_MATRIX,)),
    "POST /api/v1/ledger/sessions/{session_pk}/reconcile/": Row(LEDGER, (LEDGER_MATRIX,)),
    "POST /api/v1/ledger/sessions/{session_pk}/resolve/": Row(PRESCRIBER, (LEDGER_MATRIX,)),
    "GET /api/v1/ledger/discrepancies/": Row(LEDGER, (LEDGER_MATRIX,)),
    "GET /api/v1/ledger/balances/": Row(LEDGER, (LEDGER_MATRIX,)),
    "GET /api/v1/ledger/export/": Row(ADMIN, (LEDGER_MATRIX,)),
    # audit trail exports
    "GET /api/v1/audit/history/": Row(ADMIN, (AUDIT,)),
    "GET /api/v1/audit/access/": Row(ADMIN, (AUDIT,)),
    # FHIR: clinical staff; a patient their own record only (a patient's Patient search finds
    # only their own record: another patient's is not found, so the answer is an empty Bundle)
    "GET /fhir/metadata": Row(ALL, (FHIR_METADATA,), public=True),
    "GET /fhir/Patient": Row(FHIR, (FHIR_PATIENT_SEARCH,)),
    "GET /fhir/Patient/{pk}": Row(FHIR, (FHIR_MATRIX,), own=True),
    "GET /fhir/Observation": Row(FHIR, (FHIR_MATRIX,), own=True),
    "GET /fhir/Observation/{pk}": Row(FHIR, (FHIR_MATRIX,), own=True),
    "GET /fhir/Appointment": Row(FHIR, (FHIR_MATRIX,), own=True),
    "GET /fhir/Appointment/{pk}": Row(FHIR, (FHIR_MATRIX,), own=True),
    "GET /fhir/MedicationAdministration": Row(FHIR, (FHIR_MATRIX,), own=True),
    "GET /fhir/MedicationAdministration/{pk}": Row(FHIR, (FHIR_MATRIX,), own=True),
}


def endpoints() -> set[str]:
    """Every (method, route) the URL configuration serves under /api/v1/ and /fhir/."""
    found: set[str] = set()
    for view, regex, _namespace, _name in extract_views_from_urlpatterns(get_resolver().url_patterns):
        path = simplify_regex(regex)
        if not path.startswith(("/api/v1/", "/fhir/")) or "format>" in path:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
        actions = getattr(view, "actions", None)
        view_class = getattr(view, "cls", None) or getattr(view, "view_class", None)
        if actions:
            methods = set(actions) - {"head", "options"}
        elif view_class is not None:
            methods = {
                m for m in view_class.http_method_names if m not in ("options", "head") and hasattr(view_class, m)
            }
        else:  # a plain Django view: every method reaches it
            methods = {"get", "post"}
        found.update(f"{m.upper()} {path}" for m in methods)
    return found


def test_every_endpoint_has_a_row():
    served = endpoints()
    missing = sorted(served - set(MATRIX))
    stale = sorted(set(MATRIX) - served)
    assert not missing, "endpoints without a row in tests/test_permission_matrix.py MATRIX:\n" + "\n".join(missing)
    assert not stale, "rows for endpoints that no longer exist:\n" + "\n".join(stale)


def _literal_segments(route: str) -> list[str]:
    path = route.split(" ", 1)[1]
    return [s for s in re.split(r"[/.]", path) if s and "{" not in s and s not in ("api", "v1", "fhir", "ics")]


@pytest.mark.parametrize("reference", sorted({ref for row in MATRIX.values() for ref in row.deeper}))
def test_referenced_matrix_tests_exist_and_name_their_routes(reference):
    """Each per-resource matrix the table points to exists and mentions the routes it covers."""
    path, function = reference.split("::")
    module = import_module(path.removesuffix(".py").replace("/", "."))
    assert callable(getattr(module, function, None)), f"{reference} does not exist"
    text = (ROOT / path).read_text()
    for route, row in MATRIX.items():
        if reference in row.deeper:
            absent = [s for s in _literal_segments(route) if s not in text]
            assert not absent, f"{reference} never mentions {absent} of {route}"


# --- exercising every row ---------------------------------------------------------------------


@pytest.fixture
def world(users, own_patient, other_patient, protocol, site):
    """For each owner, the ids the patient-scoped routes name."""
    ids = {}
    for owner, patient in (("own", own_patient), ("other", other_patient)):
        course = CourseFactory(patient=patient, protocol=protocol, created_by=users["clinician"])
        session = SessionFactory(course=course, status="completed", started_at=timezone.now())
        appointment = AppointmentFactory(patient=patient, chair=ChairFactory(site=site), site=site)
        ids[owner] = {
            "patient": patient.pk,
            "session": session.pk,
            "appointment": appointment.pk,
            "measurement": patient.measurements.first().pk,
        }
    return ids


OWN_PATHS = {
    "GET /api/v1/patients/{pk}/": "/api/v1/patients/{patient}/",
    "GET /fhir/Patient/{pk}": "/fhir/Patient/{patient}",
    "GET /fhir/Observation": "/fhir/Observation?patient={patient}",
    "GET /fhir/Observation/{pk}": "/fhir/Observation/bm-{measurement}-weight",
    "GET /fhir/Appointment": "/fhir/Appointment?patient={patient}",
    "GET /fhir/Appointment/{pk}": "/fhir/Appointment/{appointment}",
    "GET /fhir/MedicationAdministration": "/fhir/MedicationAdministration?patient={patient}",
    "GET /fhir/MedicationAdministration/{pk}": "/fhir/MedicationAdministration/session-{session}",
}


def _expected(row: Row, role: str, object_route: bool) -> str:
    if role in row.allowed or row.public:
        return "passes"
    if role == "patient" and object_route:
        return "404"
    return "403"


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_role_by_action(api, users, world, endpoint):
    """Every role (and anonymous) on this endpoint, with an object id no one owns; for
    own-record rows, the patient account on its own and on another patient's record."""
    row = MATRIX[endpoint]
    method, route = endpoint.split(" ", 1)
    object_route = "{" in route
    url = re.sub(r"{\w+}", UNKNOWN_ID, route)
    wrong: list[str] = []

    def call(who: str, client: Any, target: str) -> int:
        response = getattr(client, method.lower())(target, {}, format="json")
        return response.status_code

    for role in ROLES:
        if row.own and role == "patient":
            continue
        status = call(role, api(users[role]), url)
        expected = _expected(row, role, object_route)
        ok = status not in (401, 403) if expected == "passes" else status == int(expected)
        if not ok:
            wrong.append(f"{role}: {status}, expected {expected}")
    status = call("anonymous", api(None), url)
    if (row.public and status in (401, 403)) or (not row.public and status != 401):
        wrong.append(f"anonymous: {status}")
    if row.own:
        template = OWN_PATHS[endpoint]
        own = call("patient", api(users["patient"]), template.format(**world["own"]))
        other = call("patient", api(users["patient"]), template.format(**world["other"]))
        if own != 200:
            wrong.append(f"patient on their own record: {own}, expected 200")
        if other != 404:
            wrong.append(f"patient on another patient's record: {other}, expected 404")
    assert not wrong, f"{endpoint}: " + "; ".join(wrong)


def test_own_paths_cover_every_own_row():
    assert {k for k, row in MATRIX.items() if row.own} == set(OWN_PATHS)

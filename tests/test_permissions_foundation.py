"""Permission matrix for the foundation's endpoints (DESIGN.md users and roles):
every role x every action x own / other patient. A patient asking for another patient's
object gets 404, never 403; anonymous requests get 401."""

from dataclasses import dataclass

import pytest

from tests.factories import CourseFactory, SessionFactory, clear_answers

pytestmark = pytest.mark.django_db

ROLES = ("admin", "clinician", "nurse", "frontdesk", "patient")
STAFF = {"admin", "clinician", "nurse", "frontdesk"}
CLINICAL = {"clinician", "nurse"}
DEMOGRAPHICS = {"admin", "clinician", "frontdesk"}
VITALS = {"systolic": 120, "diastolic": 80, "heart_rate": 70, "spo2": 98, "respiratory_rate": 14}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str  # formatted with the context of the owner (own or other patient)
    allowed: set[str]
    body: object = None
    patient_own: bool = False  # the patient role may do this on their own record
    object_route: bool = True  # the path names a patient's object (patients get 404 there)
    ok: tuple[int, ...] = (200, 201, 204)


CASES = [
    Case("patient-list", "get", "/api/v1/patients/", STAFF, object_route=False),
    Case("patient-search", "get", "/api/v1/patients/?search=Own", STAFF, object_route=False),
    Case(
        "patient-create",
        "post",
        "/api/v1/patients/",
        DEMOGRAPHICS,
        {"mrn": "M-NEW", "given_name": "N", "family_name": "W", "birth_date": "1990-01-01", "sex": "male"},
        object_route=False,
    ),
    Case("patient-get", "get", "/api/v1/patients/{patient}/", STAFF, patient_own=True),
    Case("patient-patch", "patch", "/api/v1/patients/{patient}/", DEMOGRAPHICS, {"phone": "555"}),
    Case(
        "portal-account",
        "post",
        "/api/v1/patients/{patient}/portal-account/",
        DEMOGRAPHICS,
        {"username": "new-portal-user", "password": "a-Long-pass-phrase-9"},
        ok=(201, 409),
    ),  # the own patient already has a login: past the permission, a rule answers
    Case("measurements-list", "get", "/api/v1/patients/{patient}/measurements/", CLINICAL),
    Case("measurements-add", "post", "/api/v1/patients/{patient}/measurements/", CLINICAL, {"weight_kg": 82.0}),
    Case("screenings-list", "get", "/api/v1/patients/{patient}/screenings/", CLINICAL),
    Case("screenings-add", "post", "/api/v1/patients/{patient}/screenings/", CLINICAL, {"answers": clear_answers()}),
    Case("protocols", "get", "/api/v1/protocols/", STAFF, object_route=False),
    Case("protocol-get", "get", "/api/v1/protocols/{protocol}/", STAFF, object_route=True),
    Case("sites", "get", "/api/v1/sites/", STAFF, object_route=False),
    Case("chairs", "get", "/api/v1/chairs/", STAFF, object_route=False),
    Case("course-list", "get", "/api/v1/courses/", CLINICAL, object_route=False),
    Case(
        "course-create",
        "post",
        "/api/v1/courses/",
        {"clinician"},
        {"patient": "{patient}", "protocol": "{protocol}", "indication": "trd"},
        object_route=False,
    ),
    Case("course-get", "get", "/api/v1/courses/{course}/", CLINICAL),
    Case("session-list", "get", "/api/v1/sessions/", CLINICAL, object_route=False),
    Case(
        "session-create", "post", "/api/v1/sessions/", CLINICAL, {"course": "{course}", "dose": 0.5}, object_route=False
    ),
    Case("session-get", "get", "/api/v1/sessions/{session}/", CLINICAL),
    Case(
        "dose-preview", "get", "/api/v1/sessions/dose-preview/?course={course}&dose=0.5", CLINICAL, object_route=False
    ),
    Case("session-approve", "post", "/api/v1/sessions/{approval_session}/approve/", {"clinician"}, {"reason": "ok"}),
    Case("vitals-list", "get", "/api/v1/sessions/{session}/vitals/", CLINICAL),
    Case("vitals-add", "post", "/api/v1/sessions/{session}/vitals/", CLINICAL, VITALS),
    Case("vitals-batch", "post", "/api/v1/sessions/{session}/vitals/", CLINICAL, [VITALS, VITALS]),
    Case(
        "vitals-correct",
        "post",
        "/api/v1/vitals/{vital}/correct/",
        CLINICAL,
        {"systolic": 121, "correction_reason": "typo"},
    ),
    Case("alerts", "get", "/api/v1/alerts/", CLINICAL, object_route=False),
    Case("token-revoke", "delete", "/api/v1/auth/token/", STAFF | {"patient"}, object_route=False),
]


@pytest.fixture
def context(users, own_patient, other_patient, protocol):
    """Objects of each owner: the patient account's own record and another patient's."""
    from monitoring.vitals.services import vitals_record

    ctx = {}
    for owner, patient in (("own", own_patient), ("other", other_patient)):
        course = CourseFactory(patient=patient, protocol=protocol, created_by=users["clinician"])
        session = SessionFactory(course=course)
        approval = SessionFactory(
            course=course, dose="0.8", requires_approval=True, approval_reasons=["dose_outside_soft_range"]
        )
        vital = vitals_record(actor=users["nurse"], session=session, rows=[dict(VITALS)])[0].vital
        ctx[owner] = {
            "patient": patient.id,
            "course": course.id,
            "session": session.id,
            "approval_session": approval.id,
            "vital": vital.id,
            "protocol": protocol.id,
        }
    return ctx


def _fill(value, values):
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, dict):
        return {k: (int(_fill(v, values)) if isinstance(v, str) and v.startswith("{") else v) for k, v in value.items()}
    return value


def _expected(case: Case, role: str, owner: str) -> str:
    if role in case.allowed:
        return "allowed"
    if role == "patient":
        if case.patient_own and owner == "own":
            return "allowed"
        return "404" if case.object_route else "403"
    return "403"


@pytest.mark.parametrize("owner", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_matrix(api, users, context, case, role, owner):
    values = context[owner]
    client = api(users[role])
    response = getattr(client, case.method)(_fill(case.path, values), _fill(case.body, values), format="json")
    expected = _expected(case, role, owner)
    if expected == "allowed":
        assert response.status_code in case.ok, (response.status_code, response.content[:300])
    else:
        assert response.status_code == int(expected), (response.status_code, response.content[:300])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_anonymous_is_401(api, context, case):
    response = getattr(api(None), case.method)(_fill(case.path, context["other"]), format="json")
    assert response.status_code == 401


def test_token_sign_in_and_session_auth(api, client, users):
    user = users["nurse"]
    user.set_password("pw-for-tests-1")
    user.save()
    r = api(None).post("/api/v1/auth/token/", {"username": "nurse", "password": "pw-for-tests-1"}, format="json")
    assert r.status_code == 200
    token = r.json()["token"]
    from rest_framework.test import APIClient

    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert c.get("/api/v1/protocols/").status_code == 200
    assert (
        api(None).post("/api/v1/auth/token/", {"username": "nurse", "password": "wrong"}, format="json").status_code
        == 400
    )
    client.force_login(user)
    assert client.get("/api/v1/protocols/").status_code == 200
    # Revocation: the token stops working at once.
    assert c.delete("/api/v1/auth/token/").status_code == 204
    assert c.get("/api/v1/protocols/").status_code == 401

"""Permission matrix for every bedside endpoint (DESIGN.md users and roles): role x action x
own / other patient. Nurses and clinicians run sessions; front desk never sees vitals or
doses (403); admins manage configuration, not clinical records (403); a patient gets 404 on
any object route, even for their own session, and 403 on the collection routes; anonymous
requests get 401."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from infusions.sessions.models import InfusionSession
from monitoring.alerts.models import Alert
from monitoring.bedside import services as bedside
from monitoring.bedside.models import SessionEvent
from tests.factories import CourseFactory, SessionFactory, StaffMemberFactory
from tests.monitoring.bedside_helpers import esketamine_course, esketamine_session, prepare, start

pytestmark = pytest.mark.django_db

ROLES = ("admin", "clinician", "nurse", "frontdesk", "patient")
CLINICAL = {"clinician", "nurse"}
PRESCRIBER = {"clinician"}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    allowed: set[str]
    body: object = None
    object_route: bool = True
    ok: tuple[int, ...] = (200, 201)


CASES = [
    Case("precheck", "post", "/api/v1/sessions/{planned}/precheck/", CLINICAL),
    Case("start", "post", "/api/v1/sessions/{prechecked}/start/", CLINICAL),
    Case("pause", "post", "/api/v1/sessions/{running}/pause/", CLINICAL, {"reason": "x"}),
    Case("resume", "post", "/api/v1/sessions/{paused}/resume/", CLINICAL),
    Case("complete", "post", "/api/v1/sessions/{running}/complete/", CLINICAL, {"actual_dose_mg": 41.2}),
    Case("stop", "post", "/api/v1/sessions/{paused}/stop/", CLINICAL, {"actual_dose_mg": 10, "reason": "x"}),
    # Past the permission, a rule answers (observation has not passed): 409 still proves access.
    Case("discharge", "post", "/api/v1/sessions/{completed}/discharge/", CLINICAL, ok=(409,)),
    Case("detail", "get", "/api/v1/sessions/{running}/detail/", CLINICAL),
    Case("events", "get", "/api/v1/sessions/{running}/events/", CLINICAL),
    Case("consent-list", "get", "/api/v1/sessions/{running}/consent/", CLINICAL),
    Case("consent-add", "post", "/api/v1/sessions/{running}/consent/", CLINICAL, {}),
    Case("escort-list", "get", "/api/v1/sessions/{running}/escort/", CLINICAL),
    Case("escort-add", "post", "/api/v1/sessions/{running}/escort/", CLINICAL, {"name": "Jo", "phone": "0700"}),
    Case("side-effects-list", "get", "/api/v1/sessions/{running}/side-effects/", CLINICAL),
    Case(
        "side-effects-add",
        "post",
        "/api/v1/sessions/{running}/side-effects/",
        CLINICAL,
        {"kind": "nausea", "severity": "mild"},
    ),
    Case("interventions-list", "get", "/api/v1/sessions/{running}/interventions/", CLINICAL),
    Case(
        "interventions-add",
        "post",
        "/api/v1/sessions/{running}/interventions/",
        CLINICAL,
        {"drug": "ondansetron", "dose": 4, "dose_unit": "mg", "route": "iv"},
    ),
    Case("amendments-list", "get", "/api/v1/sessions/{running}/amendments/", CLINICAL),
    Case("amendments-add", "post", "/api/v1/sessions/{running}/amendments/", CLINICAL, {"text": "note"}),
    Case("rems-get", "get", "/api/v1/sessions/{esketamine}/rems-form/", CLINICAL),
    Case("rems-patch", "patch", "/api/v1/sessions/{esketamine}/rems-form/", CLINICAL, {"lot_number": "L1"}),
    Case("rems-export", "get", "/api/v1/sessions/{esketamine}/rems-form/export/", CLINICAL),
    Case("rems-print", "get", "/api/v1/sessions/{esketamine}/rems-form/print/", CLINICAL),
    # Past the permission a rule answers (the session is not signed yet).
    Case("rems-submit", "post", "/api/v1/sessions/{esketamine}/rems-form/submit/", CLINICAL, ok=(409,)),
    Case("alert-acknowledge", "post", "/api/v1/alerts/{alert}/acknowledge/", CLINICAL),
    Case("alert-resolve", "post", "/api/v1/alerts/{alert}/resolve/", CLINICAL, {"note": "ok"}),
    Case("board", "get", "/api/v1/board/?site={site}", CLINICAL, object_route=False),
    Case("alert-escalations", "get", "/api/v1/alert-escalations/", PRESCRIBER, object_route=False),
]


BUILDERS = {
    "planned": lambda course, users: prepare(SessionFactory(course=course), users["nurse"]),
    "prechecked": lambda course, users: bedside.session_precheck(
        actor=users["nurse"], session=prepare(SessionFactory(course=course), users["nurse"])
    ),
    "running": lambda course, users: start(SessionFactory(course=course), users["nurse"]),
    "paused": lambda course, users: bedside.session_pause(
        actor=users["nurse"], session=start(SessionFactory(course=course), users["nurse"])
    ),
    "completed": lambda course, users: bedside.session_complete(
        actor=users["nurse"],
        session=start(SessionFactory(course=course), users["nurse"]),
        actual_dose_mg=Decimal("41.2"),
    ),
    "esketamine": lambda course, users: esketamine_session(esketamine_course(course.patient, users["clinician"])),
    "alert": lambda course, users: Alert.objects.create(
        session=SessionFactory(course=course, status="running", started_at=timezone.now()),
        rule="bp_rise",
        severity="medium",
        message="m",
        raised_at=timezone.now(),
    ),
}


@pytest.fixture
def context(users, own_patient, other_patient, protocol, site):
    """`context(owner, path)`: the path filled with an object of that owner (the patient
    account's own record or another patient's), built only for the key the path names."""
    StaffMemberFactory(user=users["clinician"], site=site)

    def make(owner: str, path: str) -> str:
        patient = own_patient if owner == "own" else other_patient
        course = CourseFactory(patient=patient, protocol=protocol, created_by=users["clinician"])
        values = {"site": site.id}
        for key, build in BUILDERS.items():
            if "{" + key + "}" in path:
                values[key] = build(course, users).id
        return path.format(**values)

    return make


def _expected(case: Case, role: str) -> str:
    if role in case.allowed:
        return "allowed"
    if role == "patient":
        return "404" if case.object_route else "403"
    return "403"


@pytest.mark.parametrize("owner", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_matrix(api, users, context, case, role, owner):
    client = api(users[role])
    response = getattr(client, case.method)(context(owner, case.path), case.body, format="json")
    expected = _expected(case, role)
    if expected == "allowed":
        assert response.status_code in case.ok, (response.status_code, response.content[:300])
    else:
        assert response.status_code == int(expected), (response.status_code, response.content[:300])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_anonymous_is_401(api, context, case):
    response = getattr(api(None), case.method)(context("other", case.path), case.body, format="json")
    assert response.status_code == 401


def test_nothing_changed_when_refused(api, users, context):
    """A refused step writes nothing: the front desk cannot start a session."""
    pk = int(context("other", "{prechecked}"))
    assert api(users["frontdesk"]).post(f"/api/v1/sessions/{pk}/start/").status_code == 403
    assert InfusionSession.objects.get(pk=pk).status == "prechecked"
    assert not SessionEvent.objects.filter(session_id=pk, action="start").exists()

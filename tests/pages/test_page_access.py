"""Who may open which page (issue 7): the role's home page, sign-in first for everyone else,
403 for a staff role that may not, 404 for a patient on any staff page (as in the API), and
front desk never sees vitals or doses."""

import pytest
from django.urls import reverse

from monitoring.vitals.services import vitals_record
from tests.factories import AppointmentFactory, ChairFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(course, users):
    return SessionFactory(course=course, created_by=users["nurse"])


@pytest.fixture
def appointment(other_patient, users, site, protocol):
    return AppointmentFactory(patient=other_patient, site=site, chair=ChairFactory(site=site), protocol=protocol)


@pytest.mark.parametrize(
    ("role", "home"),
    [
        ("nurse", "/board/"),
        ("clinician", "/worklist/"),
        ("frontdesk", "/patients/"),
        ("patient", "/portal/"),
        ("admin", "/admin/"),
    ],
)
def test_root_sends_each_role_home(client, users, role, home):
    client.force_login(users[role])
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == home


def test_signed_out_visitors_sign_in_first(client):
    assert client.get("/")["Location"] == "/login/"
    response = client.get("/board/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/board/"
    assert client.get("/login/").status_code == 200


def test_sign_in_then_land_by_role(client, users):
    response = client.post("/login/", {"username": "nurse", "password": "pw-for-tests-1"})
    assert response.status_code == 302
    assert client.get(response["Location"])["Location"] == "/board/"


# (page, {role: status}); roles not listed answer 403 (staff) or 404 (patient).
PAGES = [
    ("monitoring:board", (), {"nurse": 200, "clinician": 200}),
    ("monitoring:worklist", (), {"clinician": 200}),
    ("monitoring:bedside", ("session",), {"nurse": 200, "clinician": 200}),
    ("monitoring:patient", ("patient",), {"nurse": 200, "clinician": 200}),
    ("patients:search", (), {"nurse": 200, "clinician": 200, "frontdesk": 200, "admin": 200}),
    ("patients:detail", ("patient",), {"clinician": 200, "frontdesk": 200, "admin": 200}),
    ("infusions:approvals", (), {"clinician": 200}),
    ("infusions:portal", (), {"patient": 200}),
    ("infusions:schedule", (), {"nurse": 200, "clinician": 200, "frontdesk": 200, "admin": 200}),
    ("infusions:appointment", ("appointment",), {"nurse": 200, "clinician": 200, "frontdesk": 200, "admin": 200}),
    ("infusions:book", ("patient",), {"clinician": 200, "frontdesk": 200}),
    ("patients:questionnaire", ("instrument",), {"patient": 200}),
    ("monitoring:outcomes", (), {"clinician": 200, "admin": 200}),
    ("monitoring:followups", (), {"nurse": 200, "clinician": 200, "frontdesk": 200, "admin": 200}),
]


@pytest.mark.parametrize(("name", "args", "allowed"), PAGES, ids=[p[0] for p in PAGES])
@pytest.mark.parametrize("role", ["admin", "clinician", "nurse", "frontdesk", "patient"])
def test_page_role_matrix(client, users, session, own_patient, other_patient, appointment, name, args, allowed, role):
    values = {"session": session.pk, "patient": other_patient.pk, "appointment": appointment.pk, "instrument": "PHQ9"}
    url = reverse(name, args=[values[a] for a in args])
    client.force_login(users[role])
    expected = allowed.get(role, 404 if role == "patient" else 403)
    assert client.get(url).status_code == expected


def test_patient_gets_404_for_another_patients_pages(client, users, own_patient, other_patient, session, appointment):
    client.force_login(users["patient"])
    for url in (
        reverse("infusions:appointment", args=[appointment.pk]),
        reverse("infusions:book", args=[own_patient.pk]),
        reverse("patients:questionnaire", args=["MADRS"]),
        reverse("monitoring:patient", args=[other_patient.pk]),
        reverse("monitoring:patient", args=[own_patient.pk]),
        reverse("patients:detail", args=[other_patient.pk]),
        reverse("monitoring:bedside", args=[session.pk]),
    ):
        assert client.get(url).status_code == 404, url


def test_a_missing_object_is_404(client, users):
    client.force_login(users["clinician"])
    assert client.get(reverse("monitoring:patient", args=[999999])).status_code == 404
    assert client.get(reverse("monitoring:bedside", args=[999999])).status_code == 404


def test_front_desk_never_sees_vitals_or_doses(client, users, session, other_patient, appointment):
    vitals_record(
        actor=users["nurse"],
        session=session,
        rows=[{"systolic": 123, "diastolic": 77, "heart_rate": 71, "spo2": 98, "respiratory_rate": 14}],
    )
    client.force_login(users["frontdesk"])
    assert client.get(reverse("monitoring:bedside", args=[session.pk])).status_code == 403
    assert client.get(reverse("monitoring:patient", args=[other_patient.pk])).status_code == 403
    body = client.get(reverse("patients:detail", args=[other_patient.pk])).content.decode()
    for clinical in ("123/77", "mg/kg", "41.2", "82.4", "NEWS2"):
        assert clinical not in body
    for url in (
        reverse("infusions:appointment", args=[appointment.pk]),
        reverse("infusions:book", args=[other_patient.pk]),
        reverse("infusions:schedule") + f"?date={appointment.starts_at.astimezone(appointment.site.tz):%Y-%m-%d}",
    ):
        body = client.get(url).content.decode()
        assert other_patient.family_name in body, url
        for clinical in ("123/77", "mg/kg", "41.2", "82.4", "NEWS2"):
            assert clinical not in body, (url, clinical)
    search = client.get(reverse("patients:search"), {"q": other_patient.family_name}).content.decode()
    assert other_patient.mrn in search
    assert f'href="{reverse("monitoring:patient", args=[other_patient.pk])}"' not in search

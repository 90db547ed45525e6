"""The appointments API (issue 3): contract paths and fields, rule refusals as 409 `{detail,
rule}`, and the permission matrix (role x action x own/other patient)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from infusions.scheduling.models import Appointment, AppointmentSeries
from tests.factories import AppointmentFactory, ChairFactory
from tests.infusions.scheduling.helpers import local, next_weekday

pytestmark = pytest.mark.django_db

STAFF = ("admin", "clinician", "nurse", "frontdesk")


@pytest.fixture
def chair(site):
    return ChairFactory(site=site, name="Chair 1")


@pytest.fixture
def monday(site):
    return next_weekday(site, 0)


@pytest.fixture
def own_appointment(own_patient, chair, site, monday, users):
    return AppointmentFactory(
        patient=own_patient, chair=chair, site=site, starts_at=local(site, monday, 9), booked_by=users["frontdesk"]
    )


@pytest.fixture
def other_appointment(other_patient, chair, site, monday, users):
    return AppointmentFactory(
        patient=other_patient, chair=chair, site=site, starts_at=local(site, monday, 11), booked_by=users["frontdesk"]
    )


def _book_body(patient, chair, starts_at, protocol):
    return {
        "patient": patient.pk,
        "chair": chair.pk,
        "starts_at": starts_at.isoformat(),
        "kind": "infusion",
        "protocol": protocol.pk,
    }


# ---- contract ------------------------------------------------------------------------------------


def test_book_answers_201_with_the_appointment(api, users, own_patient, chair, protocol, site, monday):
    response = api(users["frontdesk"]).post(
        "/api/v1/appointments/", _book_body(own_patient, chair, local(site, monday, 9), protocol), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "booked"
    assert body["kind"] == "infusion"
    assert body["chair"] == chair.pk
    assert body["protocol_code"] == "ket-iv-dep"
    assert body["ends_at"].startswith(local(site, monday, 10, 55).isoformat()[:16])
    assert not {"dose", "total_dose_mg", "vitals"} & set(body)  # front desk never sees doses


def test_conflict_answers_409_with_rule_and_books_nothing(
    api, users, own_patient, other_appointment, chair, protocol, site, monday
):
    response = api(users["frontdesk"]).post(
        "/api/v1/appointments/", _book_body(own_patient, chair, local(site, monday, 11, 30), protocol), format="json"
    )
    assert response.status_code == 409
    assert response.json()["rule"] == "chair_conflict"
    assert response.json()["detail"]
    assert Appointment.objects.filter(patient=own_patient).count() == 0


def test_bad_input_answers_400_per_field(api, users, own_patient, protocol):
    response = api(users["frontdesk"]).post(
        "/api/v1/appointments/", {"patient": own_patient.pk, "starts_at": "soon", "kind": "spa"}, format="json"
    )
    assert response.status_code == 400
    assert {"starts_at", "kind"} <= set(response.json())


def test_consult_without_chair(api, users, own_patient, site, monday):
    response = api(users["clinician"]).post(
        "/api/v1/appointments/",
        {"patient": own_patient.pk, "starts_at": local(site, monday, 9).isoformat(), "kind": "consult"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["chair"] is None


def test_availability_earliest_first(api, users, chair, protocol, site, monday, other_appointment):
    response = api(users["frontdesk"]).get(
        "/api/v1/availability/",
        {
            "site": site.pk,
            "protocol": protocol.pk,
            "start": local(site, monday, 0).isoformat(),
            "end": local(site, monday + timedelta(days=1), 0).isoformat(),
        },
    )
    assert response.status_code == 200
    slots = response.json()
    assert set(slots[0]) >= {"chair", "starts_at", "ends_at"}
    assert slots[0]["chair"] == chair.pk
    starts = [s["starts_at"] for s in slots]
    assert starts == sorted(starts)
    # one chair, 8:00-18:00, a 1 h 55 hold, 11:00-12:55 taken: 8:00-9:00 (5), 12:55, 13:00-16:00 (13)
    assert len(slots) == 19
    # 11:00-12:55 is taken: nothing overlapping it is offered
    taken = (local(site, monday, 11), local(site, monday, 12, 55))
    from datetime import datetime

    for slot in slots:
        s, e = datetime.fromisoformat(slot["starts_at"]), datetime.fromisoformat(slot["ends_at"])
        assert not (s < taken[1] and taken[0] < e)


def test_availability_bad_query_is_400(api, users, site, protocol):
    response = api(users["frontdesk"]).get("/api/v1/availability/", {"site": site.pk, "protocol": protocol.pk})
    assert response.status_code == 400
    assert {"start", "end"} <= set(response.json())


def test_series_proposal_then_series_booking(api, users, own_patient, chair, protocol, site, monday):
    client = api(users["frontdesk"])
    proposal = client.get(
        "/api/v1/appointments/series/proposal/",
        {"patient": own_patient.pk, "protocol": protocol.pk, "start": local(site, monday, 0).isoformat()},
    )
    assert proposal.status_code == 200
    assert proposal.json()["complete"] is True
    slots = [{"chair": s["chair"], "starts_at": s["starts_at"]} for s in proposal.json()["slots"]]
    assert len(slots) == 6
    response = client.post(
        "/api/v1/appointments/series/",
        {"patient": own_patient.pk, "protocol": protocol.pk, "slots": slots},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert len(response.json()["appointments"]) == 6
    assert AppointmentSeries.objects.get().appointments.count() == 6


def test_series_conflict_is_409_and_nothing_booked(
    api, users, own_patient, other_appointment, chair, protocol, site, monday
):
    slots = [
        {"chair": chair.pk, "starts_at": local(site, monday + timedelta(days=d), 11).isoformat()} for d in (2, 0, 4)
    ]
    response = api(users["clinician"]).post(
        "/api/v1/appointments/series/",
        {"patient": own_patient.pk, "protocol": protocol.pk, "slots": slots},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["rule"] == "chair_conflict"
    assert response.json()["slot"] == 0  # slots are booked in time order: Monday first
    assert Appointment.objects.filter(patient=own_patient).count() == 0
    assert AppointmentSeries.objects.count() == 0


def test_move_cancel_history(api, users, own_appointment, site, monday):
    client = api(users["frontdesk"])
    url = f"/api/v1/appointments/{own_appointment.pk}"
    moved = client.post(
        f"{url}/move/", {"starts_at": local(site, monday, 13).isoformat(), "reason": "Clashes with work"}, format="json"
    )
    assert moved.status_code == 200, moved.json()
    assert moved.json()["starts_at"].startswith(local(site, monday, 13).isoformat()[:16])
    assert client.post(f"{url}/cancel/", {}, format="json").status_code == 400  # a reason is required
    cancelled = client.post(f"{url}/cancel/", {"reason": "Unwell"}, format="json")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancel_reason"] == "Unwell"
    again = client.post(f"{url}/cancel/", {"reason": "twice"}, format="json")
    assert again.status_code == 409
    assert again.json()["rule"] == "appointment_not_cancellable"
    history = client.get(f"{url}/history/").json()
    assert [e["kind"] for e in history] == ["moved", "cancelled"]
    assert history[0]["reason"] == "Clashes with work"
    assert history[0]["before"]["starts_at"].startswith(local(site, monday, 9).isoformat()[:16])


def _make_begun(appointment):
    """Move an appointment's time to 30 minutes ago (test data only)."""
    starts_at = timezone.now() - timedelta(minutes=30)
    ends_at = starts_at + (appointment.ends_at - appointment.starts_at)
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=starts_at, ends_at=ends_at, during=(starts_at, ends_at)
    )


def test_no_show_only_once_the_time_has_come(api, users, own_appointment):
    url = f"/api/v1/appointments/{own_appointment.pk}/no-show/"
    early = api(users["nurse"]).post(url, {}, format="json")
    assert early.status_code == 409
    assert early.json()["rule"] == "appointment_not_started"
    _make_begun(own_appointment)
    response = api(users["nurse"]).post(url, {"reason": "No answer by phone"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "no_show"


def test_check_in(api, users, own_appointment):
    response = api(users["nurse"]).post(f"/api/v1/appointments/{own_appointment.pk}/check-in/")
    assert response.status_code == 200
    assert response.json()["status"] == "checked_in"


def test_list_filters(api, users, own_appointment, other_appointment, own_patient):
    response = api(users["frontdesk"]).get("/api/v1/appointments/", {"patient": own_patient.pk})
    assert [a["id"] for a in response.json()] == [own_appointment.pk]


# ---- permission matrix ---------------------------------------------------------------------------

EXPECT = {
    # action: roles allowed (everyone else on the staff route gets 403; a patient asking for an
    # object gets 404)
    "availability": STAFF,
    "list": STAFF,
    "retrieve": STAFF,
    "history": STAFF,
    "board": STAFF,
    "create": ("clinician", "frontdesk"),
    "series": ("clinician", "frontdesk"),
    "proposal": ("clinician", "frontdesk"),
    "move": ("clinician", "frontdesk"),
    "cancel": ("clinician", "frontdesk"),
    "no_show": ("clinician", "nurse", "frontdesk"),
    "check_in": ("clinician", "nurse", "frontdesk"),
}
OBJECT_ACTIONS = {"retrieve", "history", "move", "cancel", "no_show", "check_in"}


def _call(client, action, appointment, patient, chair, protocol, site, monday):
    base = "/api/v1/appointments/"
    when = local(site, monday + timedelta(days=1), 9)
    detail = f"{base}{appointment.pk}/"
    if action == "availability":
        return client.get(
            "/api/v1/availability/",
            {
                "site": site.pk,
                "protocol": protocol.pk,
                "start": when.isoformat(),
                "end": (when + timedelta(days=1)).isoformat(),
            },
        )
    if action == "list":
        return client.get(base)
    if action == "retrieve":
        return client.get(detail)
    if action == "history":
        return client.get(f"{detail}history/")
    if action == "board":
        return client.get(f"{base}board/", {"site": site.pk, "date": monday.isoformat()})
    if action == "create":
        return client.post(base, _book_body(patient, chair, when, protocol), format="json")
    if action == "series":
        body = {
            "patient": patient.pk,
            "protocol": protocol.pk,
            "slots": [{"chair": chair.pk, "starts_at": when.isoformat()}],
        }
        return client.post(f"{base}series/", body, format="json")
    if action == "proposal":
        return client.get(f"{base}series/proposal/", {"patient": patient.pk, "protocol": protocol.pk})
    if action == "move":
        return client.post(f"{detail}move/", {"starts_at": when.isoformat(), "reason": "r"}, format="json")
    if action == "cancel":
        return client.post(f"{detail}cancel/", {"reason": "r"}, format="json")
    if action == "no_show":
        _make_begun(appointment)
        return client.post(f"{detail}no-show/", {}, format="json")
    if action == "check_in":
        return client.post(f"{detail}check-in/")
    raise AssertionError(action)


SUCCESS = {"create": 201, "series": 201}


# Actions that name a patient run for the patient account's own record and for another's.
CASES = [
    (action, whose)
    for action in sorted(EXPECT)
    for whose in (("own", "other") if action in OBJECT_ACTIONS | {"create", "series", "proposal"} else ("own",))
]


@pytest.mark.parametrize("role", [*STAFF, "patient"])
@pytest.mark.parametrize(("action", "whose"), CASES)
def test_permission_matrix(
    api,
    users,
    role,
    action,
    whose,
    own_appointment,
    other_appointment,
    own_patient,
    other_patient,
    chair,
    protocol,
    site,
    monday,
):
    appointment = own_appointment if whose == "own" else other_appointment
    patient = own_patient if whose == "own" else other_patient
    before = Appointment.objects.count()
    response = _call(api(users[role]), action, appointment, patient, chair, protocol, site, monday)
    if role in EXPECT[action]:
        assert response.status_code == SUCCESS.get(action, 200), response.content
    elif role == "patient" and action in OBJECT_ACTIONS:
        assert response.status_code == 404  # never tells a patient whether an object exists
    else:
        assert response.status_code == 403
        assert Appointment.objects.count() == before


def test_anonymous_is_401(api):
    for url in (
        "/api/v1/appointments/",
        "/api/v1/availability/",
        "/api/v1/me/appointments/",
        "/api/v1/me/appointments.ics",
    ):
        assert api(None).get(url).status_code == 401


def test_schema_documents_every_error(site):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    for path in ("/api/v1/appointments/", "/api/v1/appointments/series/", "/api/v1/appointments/{id}/cancel/"):
        responses = paths[path]["post"]["responses"]
        assert {"400", "401", "403", "404", "409"} <= set(responses), path
    assert {"400", "401", "403"} <= set(paths["/api/v1/availability/"]["get"]["responses"])
    assert "text/calendar" in paths["/api/v1/me/appointments.ics"]["get"]["responses"]["200"]["content"]


def test_front_desk_does_not_read_the_clinicians_override_reason(api, users, chair, protocol, site, monday):
    from tests.factories import PatientFactory, ScreeningFactory, clear_answers

    patient = PatientFactory(site=site)
    ScreeningFactory(
        patient=patient,
        answers=clear_answers(severe_liver_disease=True),
        outcome="relative",
        reasons=["severe_liver_disease"],
    )
    body = {**_book_body(patient, chair, local(site, monday, 9), protocol), "override_reason": "LFTs normal in May."}
    refused = api(users["frontdesk"]).post("/api/v1/appointments/", body, format="json")
    assert refused.status_code == 409
    assert refused.json()["rule"] == "contraindication_relative"
    assert "liver" not in str(refused.json())
    booked = api(users["clinician"]).post("/api/v1/appointments/", body, format="json")
    assert booked.status_code == 201
    assert booked.json()["override_reason"] == "LFTs normal in May."
    url = f"/api/v1/appointments/{booked.json()['id']}/"
    assert api(users["frontdesk"]).get(url).json()["override_reason"] is None
    assert api(users["nurse"]).get(url).json()["override_reason"] == "LFTs normal in May."
    assert api(users["frontdesk"]).get(url + "history/").json()[0]["reason"] is None
    assert api(users["clinician"]).get(url + "history/").json()[0]["reason"] == "LFTs normal in May."

"""`/api/v1/followups/`: each staff member's inbox; complete, snooze (with a reason), reassign;
the permission matrix; constant query counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.followups.dispatch import followups_claim_due, followups_deliver
from monitoring.followups.models import FollowUp, FollowUpDelivery
from monitoring.followups.services import followup_ensure
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/followups/"


def _fu(role: str, key: str, patient=None, **kwargs) -> FollowUp:
    return followup_ensure(
        kind=kwargs.pop("kind", "check_in_call"),
        key=key,
        patient=patient,
        due_at=kwargs.pop("due_at", timezone.now() - timedelta(minutes=1)),
        assignee_role=role,
        **kwargs,
    )


def test_inbox_lists_the_roles_and_own_followups_with_the_contract_fields(api, users, other_patient):
    mine = _fu("nurse", "n1", other_patient)
    _fu("clinician", "c1", other_patient, kind="suicide_risk_review")
    named = _fu("clinician", "c2", other_patient, assignee=users["nurse"])
    response = api(users["nurse"]).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body] == [mine.pk, named.pk]
    row = body[0]
    assert {"id", "patient", "kind", "due_at", "status"} <= set(row)
    assert (row["patient"], row["kind"], row["status"]) == (other_patient.pk, "check_in_call", "pending")


def test_inbox_status_filter(api, users, other_patient):
    a = _fu("nurse", "a", other_patient)
    b = _fu("nurse", "b", other_patient)
    from monitoring.followups.services import followup_complete

    followup_complete(actor=users["nurse"], followup=b, outcome="Called")
    client = api(users["nurse"])
    assert [r["id"] for r in client.get(URL, {"status": "open"}).json()] == [a.pk]
    assert [r["id"] for r in client.get(URL, {"status": "completed"}).json()] == [b.pk]
    assert len(client.get(URL).json()) == 2


def test_complete_records_who_and_the_outcome(api, users, other_patient):
    row = _fu("nurse", "x", other_patient)
    response = api(users["nurse"]).post(f"{URL}{row.pk}/complete/", {"outcome": "Called; feeling better"})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "completed"
    row.refresh_from_db()
    assert (row.completed_by, row.outcome) == (users["nurse"], "Called; feeling better")
    assert row.completed_at is not None
    event = row.events.get(action="completed")
    assert (event.actor, event.reason) == (users["nurse"], "Called; feeling better")
    again = api(users["nurse"]).post(f"{URL}{row.pk}/complete/", {"outcome": "again"})
    assert again.status_code == 409
    assert again.json()["rule"] == "followup_closed"


def test_complete_needs_an_outcome(api, users, other_patient):
    row = _fu("nurse", "x", other_patient)
    response = api(users["nurse"]).post(f"{URL}{row.pk}/complete/", {})
    assert response.status_code == 400
    assert "outcome" in response.json()
    row.refresh_from_db()
    assert row.status == "pending"


def test_snooze_needs_a_reason_and_a_future_time(api, users, other_patient):
    row = _fu("nurse", "s", other_patient)
    client = api(users["nurse"])
    assert "reason" in client.post(f"{URL}{row.pk}/snooze/", {"minutes": 60}).json()
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    refused = client.post(f"{URL}{row.pk}/snooze/", {"until": past, "reason": "busy"})
    assert refused.status_code == 400
    assert "until" in refused.json()
    row.refresh_from_db()
    assert row.round == 0
    response = client.post(f"{URL}{row.pk}/snooze/", {"minutes": 90, "reason": "Patient asked for the afternoon"})
    assert response.status_code == 200, response.json()
    row.refresh_from_db()
    assert row.due_at > timezone.now() + timedelta(minutes=89)
    assert row.events.get(action="snoozed").reason == "Patient asked for the afternoon"


def test_reassign_to_another_role_and_person(api, users, other_patient):
    row = _fu("nurse", "r", other_patient)
    client = api(users["nurse"])
    response = client.post(f"{URL}{row.pk}/reassign/", {"assignee_role": "clinician", "reason": "Needs a prescriber"})
    assert response.status_code == 200, response.json()
    assert response.json()["assignee_role"] == "clinician"
    # The nurse no longer sees it in the inbox; the clinician does.
    assert client.get(URL).json() == []
    assert [r["id"] for r in api(users["clinician"]).get(URL).json()] == [row.pk]
    person = api(users["clinician"]).post(f"{URL}{row.pk}/reassign/", {"assignee": users["nurse"].pk})
    assert person.status_code == 200
    row.refresh_from_db()
    assert (row.assignee, row.assignee_role) == (users["nurse"], "nurse")
    bad = api(users["clinician"]).post(f"{URL}{row.pk}/reassign/", {"assignee": users["patient"].pk})
    assert bad.status_code == 400


def test_retrieve_shows_the_history(api, users, other_patient):
    row = _fu("nurse", "h", other_patient)
    api(users["nurse"]).post(f"{URL}{row.pk}/snooze/", {"minutes": 5, "reason": "later"})
    body = api(users["nurse"]).get(f"{URL}{row.pk}/").json()
    assert [e["action"] for e in body["events"]] == ["created", "snoozed"]


# --- permission matrix: role x action x own / other patient ---

ACTIONS = {
    "list": ("get", "", None),
    "retrieve": ("get", "{id}/", None),
    "complete": ("post", "{id}/complete/", {"outcome": "done"}),
    "snooze": ("post", "{id}/snooze/", {"minutes": 30, "reason": "later"}),
    "reassign": ("post", "{id}/reassign/", {"assignee_role": "nurse", "reason": "r"}),
}
# A nurse follow-up: who may act on it (clinicians may do all a nurse can).
EXPECTED = {
    "admin": {"list": 200, "retrieve": 404, "complete": 404, "snooze": 404, "reassign": 404},
    "clinician": {"list": 200, "retrieve": 200, "complete": 200, "snooze": 200, "reassign": 200},
    "nurse": {"list": 200, "retrieve": 200, "complete": 200, "snooze": 200, "reassign": 200},
    "frontdesk": {"list": 200, "retrieve": 404, "complete": 404, "snooze": 404, "reassign": 404},
    "patient": {"list": 403, "retrieve": 404, "complete": 404, "snooze": 404, "reassign": 404},
}


@pytest.mark.parametrize("whose", ["own", "other"])
@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("role", list(EXPECTED))
def test_permission_matrix(api, users, own_patient, other_patient, role, action, whose):
    patient = own_patient if whose == "own" else other_patient
    row = _fu("nurse", f"pm-{whose}", patient)
    method, path, data = ACTIONS[action]
    response = getattr(api(users[role]), method)(URL + path.format(id=row.pk), data)
    assert response.status_code == EXPECTED[role][action], response.content
    if role in ("admin", "frontdesk") and action == "list":
        assert response.json() == []


def test_anonymous_is_refused(api, users, other_patient):
    row = _fu("nurse", "anon", other_patient)
    assert api(None).get(URL).status_code == 401
    assert api(None).post(f"{URL}{row.pk}/complete/", {"outcome": "x"}).status_code == 401


@pytest.mark.parametrize("size", [3, 30])
def test_inbox_query_count_does_not_grow(api, users, site, size, django_assert_num_queries):
    for i in range(size):
        _fu("nurse", f"q{i}", PatientFactory(site=site))
    client = api(users["nurse"])
    # auth token + user, staff site, count, page
    with django_assert_num_queries(4):
        response = client.get(URL)
    assert len(response.json()) == size


# --- the in-app inbox ---


def test_inbox_messages_list_and_read(api, users, other_patient):
    row = _fu("nurse", "inbox", other_patient)
    claimed = followups_claim_due(enqueue=lambda ids: None)
    followups_deliver(followup_ids=claimed.ids)
    client = api(users["nurse"])
    body = client.get("/api/v1/inbox/", {"unread": "1"}).json()
    assert [(m["followup"], m["kind"]) for m in body] == [(row.pk, "check_in_call")]
    message_id = body[0]["id"]
    assert client.post(f"/api/v1/inbox/{message_id}/read/").status_code == 200
    assert client.get("/api/v1/inbox/", {"unread": "1"}).json() == []
    assert FollowUpDelivery.objects.get(pk=message_id).read_at is not None
    # Another staff member's message answers 404.
    assert api(users["clinician"]).post(f"/api/v1/inbox/{message_id}/read/").status_code == 404

"""What is logged during a session (issue 4 item 6): side effects (nausea, dissociation,
anxiety, headache, others) and interventions (drug, dose, time); consent and escort (what
pre-check needs). Append-only records; bad input is 400 naming the field."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from monitoring.bedside import services as bedside
from monitoring.bedside.models import Intervention, SessionConsent, SessionEscort, SessionEvent, SideEffect
from tests.factories import SessionFactory
from tests.monitoring.bedside_helpers import start

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(course, users):
    return start(SessionFactory(course=course), users["nurse"])


def url(session, kind):
    return f"/api/v1/sessions/{session.id}/{kind}/"


@pytest.mark.parametrize("kind", ["nausea", "vomiting", "dissociation", "anxiety", "headache", "dizziness", "sedation"])
def test_side_effects_are_logged(api, users, running, kind):
    onset = timezone.now() - timedelta(minutes=3)
    r = api(users["nurse"]).post(
        url(running, "side-effects"),
        {"kind": kind, "severity": "moderate", "onset_at": onset.isoformat()},
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["kind"], body["severity"], body["recorded_by"]) == (kind, "moderate", users["nurse"].id)
    assert SideEffect.objects.get(pk=body["id"]).onset_at == onset


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"kind": "other", "severity": "mild"}, "note", id="other-needs-a-description"),
        pytest.param({"kind": "itching", "severity": "mild"}, "kind", id="unknown-kind"),
        pytest.param({"kind": "nausea", "severity": "awful"}, "severity", id="unknown-severity"),
        pytest.param(
            {"kind": "nausea", "severity": "mild", "onset_at": (timezone.now() + timedelta(hours=1)).isoformat()},
            "onset_at",
            id="future-onset",
        ),
    ],
)
def test_side_effect_refusals_name_the_field(api, users, running, body, field):
    r = api(users["nurse"]).post(url(running, "side-effects"), body, format="json")
    assert r.status_code == 400
    assert list(r.json()) == [field]
    assert not SideEffect.objects.exists()


def test_other_side_effects_with_a_description(api, users, running):
    r = api(users["nurse"]).post(
        url(running, "side-effects"), {"kind": "other", "severity": "mild", "note": "Tingling lips"}, format="json"
    )
    assert r.status_code == 201


def test_interventions_record_drug_dose_and_time(api, users, running):
    given = timezone.now() - timedelta(minutes=1)
    r = api(users["clinician"]).post(
        url(running, "interventions"),
        {
            "drug": "ondansetron",
            "dose": 4,
            "dose_unit": "mg",
            "route": "iv",
            "given_at": given.isoformat(),
            "reason": "Nausea",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    row = Intervention.objects.get(pk=r.json()["id"])
    assert (row.drug, str(row.dose), row.dose_unit, row.route, row.given_at, row.recorded_by) == (
        "ondansetron",
        "4.000",
        "mg",
        "iv",
        given,
        users["clinician"],
    )
    assert [i["drug"] for i in api(users["nurse"]).get(url(running, "interventions")).json()] == ["ondansetron"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"dose": 0}, "dose", id="zero-dose"),
        pytest.param({"drug": ""}, "drug", id="no-drug"),
        pytest.param({"route": "rectal-ish"}, "route", id="unknown-route"),
        pytest.param({"given_at": (timezone.now() + timedelta(hours=1)).isoformat()}, "given_at", id="future"),
    ],
)
def test_intervention_refusals_name_the_field(api, users, running, changes, field):
    body = {"drug": "ondansetron", "dose": 4, "dose_unit": "mg", "route": "iv", **changes}
    r = api(users["nurse"]).post(url(running, "interventions"), body, format="json")
    assert r.status_code == 400
    assert list(r.json()) == [field]


def test_consent_and_escort(api, users, course):
    session = SessionFactory(course=course)
    nurse = api(users["nurse"])
    r = nurse.post(url(session, "consent"), {"method": "electronic", "document_reference": "DOC-1"}, format="json")
    assert r.status_code == 201
    assert (r.json()["given"], r.json()["method"]) == (True, "electronic")
    r = nurse.post(url(session, "escort"), {"name": "Jo", "relationship": "sister"}, format="json")
    assert (r.status_code, list(r.json())) == (400, ["phone"])
    r = nurse.post(url(session, "escort"), {"name": "Jo", "phone": "+44 7700 900000"}, format="json")
    assert r.status_code == 201
    assert SessionConsent.objects.filter(session=session).count() == 1
    assert SessionEscort.objects.filter(session=session).count() == 1


CREATORS = {
    "side_effect": lambda s, u: bedside.side_effect_record(actor=u, session=s, kind="nausea", severity="mild"),
    "intervention": lambda s, u: bedside.intervention_record(
        actor=u, session=s, drug="ondansetron", dose=Decimal("4"), dose_unit="mg", route="iv"
    ),
    "consent": lambda s, u: bedside.consent_record(actor=u, session=s),
    "escort": lambda s, u: bedside.escort_record(actor=u, session=s, name="Jo", phone="0700"),
    "amendment": lambda s, u: bedside.amendment_record(actor=u, session=s, text="note"),
    "event": lambda s, u: SessionEvent.objects.filter(session=s).first(),
}


@pytest.mark.parametrize("kind", list(CREATORS))
def test_records_are_append_only_in_the_database(users, running, kind):
    row = CREATORS[kind](running, users["nurse"])
    model = type(row)
    with pytest.raises(DatabaseError), transaction.atomic():
        model.objects.filter(pk=row.pk).update(created_at=timezone.now())
    with pytest.raises(DatabaseError), transaction.atomic():
        model.objects.filter(pk=row.pk).delete()
    assert model.objects.filter(pk=row.pk).exists()

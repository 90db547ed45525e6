"""Running a session: the state machine, pre-check, the pre-dose BP gate, completion with the
dose given, stopping early, and each step's who and when (issue 4 items 1, 2, 6)."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import DatabaseError, transaction
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from infusions.sessions.models import InfusionSession, SessionStatus
from monitoring.alerts.models import Alert
from monitoring.bedside import services as bedside
from monitoring.bedside.models import SessionEvent
from monitoring.bedside.services import TRANSITIONS
from tests.factories import ScreeningFactory, SessionFactory, clear_answers
from tests.monitoring.bedside_helpers import NORMAL, complete, precheck, prepare, record, refresh, start

pytestmark = pytest.mark.django_db

STEP_BODIES = {
    "precheck": {},
    "start": {},
    "pause": {"reason": "BP re-measure"},
    "resume": {},
    "complete": {"actual_dose_mg": 41.2},
    "stop": {"actual_dose_mg": 20.0, "reason": "Patient asked to stop"},
    "discharge": {},
}
# The state machine of issue 4: planned -> prechecked -> running <-> paused -> completed or
# stopped early -> discharged.
ALLOWED = {
    ("planned", "precheck"),
    ("prechecked", "start"),
    ("running", "pause"),
    ("paused", "resume"),
    ("running", "complete"),
    ("paused", "complete"),
    ("running", "stop"),
    ("paused", "stop"),
    ("completed", "discharge"),
    ("stopped", "discharge"),
}
STATUSES = [s.value for s in SessionStatus]


@pytest.fixture
def session(course):
    return SessionFactory(course=course)


def url(session, step):
    return f"/api/v1/sessions/{session.id}/{step}/"


def test_the_transition_table_is_the_issue_state_machine():
    table = {(source, action) for action, (sources, _) in TRANSITIONS.items() for source in sources}
    assert table == ALLOWED


@pytest.mark.parametrize(
    ("status", "step"),
    [(status, step) for status in STATUSES for step in STEP_BODIES if (status, step) not in ALLOWED],
)
def test_every_move_outside_the_machine_is_409_naming_the_rule(api, users, session, status, step):
    InfusionSession.objects.filter(pk=session.pk).update(status=status)
    before = SessionEvent.objects.count()
    r = api(users["nurse"]).post(url(session, step), STEP_BODIES[step], format="json")
    assert r.status_code == 409, r.content
    body = r.json()
    assert body["rule"] == "invalid_transition"
    assert body["status"] == status
    assert body["action"] == step
    assert body["allowed_actions"] == sorted((a for (s, a) in ALLOWED if s == status), key=list(STEP_BODIES).index)
    assert refresh(session).status == status
    assert SessionEvent.objects.count() == before


def test_full_walk_records_who_and_when_of_every_step(api, users, session):
    nurse, clinician = users["nurse"], users["clinician"]
    prepare(session, nurse)
    client = api(nurse)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        walk = [
            ("precheck", {}, "prechecked", nurse),
            ("start", {}, "running", nurse),
            ("pause", {"reason": "BP re-measure"}, "paused", nurse),
            ("resume", {}, "running", clinician),
            ("complete", {"actual_dose_mg": 40.9, "note": "Line occluded for a minute"}, "completed", nurse),
        ]
        for step, body, status, user in walk:
            clock.shift(timedelta(minutes=1))
            r = api(user).post(url(session, step), body, format="json")
            assert r.status_code == 200, r.content
            assert r.json()["status"] == status
        s = r.json()
        # Item 6: the dose actually given is recorded at completion.
        assert s["actual_dose_mg"] == 40.9
        assert s["dosing_ended_at"] is not None
        assert s["started_at"] is not None
    events = list(SessionEvent.objects.filter(session=session).order_by("at", "id"))
    assert [(e.action, e.from_status, e.to_status, e.actor.username) for e in events] == [
        ("precheck", "planned", "prechecked", "nurse"),
        ("start", "prechecked", "running", "nurse"),
        ("pause", "running", "paused", "nurse"),
        ("resume", "paused", "running", "clinician"),
        ("complete", "running", "completed", "nurse"),
    ]
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert events[2].reason == "BP re-measure"
    assert events[4].data == {"actual_dose_mg": "40.9"}
    r = client.get(f"/api/v1/sessions/{session.id}/events/")
    assert [e["action"] for e in r.json()] == ["precheck", "start", "pause", "resume", "complete"]


def test_stop_early_needs_a_reason_and_the_dose_given(api, users, session):
    start(session, users["nurse"])
    client = api(users["nurse"])
    r = client.post(url(session, "stop"), {"actual_dose_mg": 12.5}, format="json")
    assert r.status_code == 400
    assert "reason" in r.json()
    r = client.post(url(session, "stop"), {"reason": "Nausea"}, format="json")
    assert r.status_code == 400
    assert "actual_dose_mg" in r.json()
    assert refresh(session).status == "running"
    r = client.post(url(session, "stop"), {"actual_dose_mg": 12.5, "reason": "Nausea"}, format="json")
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["actual_dose_mg"]) == ("stopped", 12.5)
    assert SessionEvent.objects.get(session=session, action="stop").reason == "Nausea"


@pytest.mark.parametrize(
    ("dose", "status"),
    [
        pytest.param(41.2, 200, id="the-planned-total"),
        pytest.param(0, 200, id="nothing-given"),
        pytest.param(41.3, 400, id="more-than-planned"),
        pytest.param(-1, 400, id="negative"),
    ],
)
def test_actual_dose_is_between_zero_and_the_planned_total(api, users, session, dose, status):
    start(session, users["nurse"])
    r = api(users["nurse"]).post(url(session, "complete"), {"actual_dose_mg": dose}, format="json")
    assert r.status_code == status, r.content
    if status == 400:
        assert list(r.json()) == ["actual_dose_mg"]
        assert refresh(session).status == "running"


# ---- pre-check (item 2) -----------------------------------------------------------------------


def _missing(setup, session, users, other_patient):
    nurse = users["nurse"]
    if setup != "consent":
        bedside.consent_record(actor=nurse, session=session)
    if setup != "escort":
        bedside.escort_record(actor=nurse, session=session, name="Sam", phone="0700")
    if setup != "baseline":
        record(session, nurse)
    if setup == "consent_withdrawn":
        bedside.consent_record(actor=nurse, session=session, given=False, note="Changed their mind")
    if setup == "dose_not_approved":
        InfusionSession.objects.filter(pk=session.pk).update(requires_approval=True)
    if setup == "screening_expired":
        ScreeningFactory(
            patient=other_patient,
            screened_at=timezone.now() - timedelta(days=400),
            valid_until=timezone.now() - timedelta(days=35),
        )
    if setup == "contraindication_absolute":
        ScreeningFactory(
            patient=other_patient,
            answers=clear_answers(active_psychosis_or_mania=True),
            outcome="absolute",
            reasons=["active_psychosis_or_mania"],
            screened_at=timezone.now() - timedelta(minutes=5),
        )


@pytest.mark.parametrize(
    ("setup", "rule"),
    [
        pytest.param("consent", "consent_missing", id="no-consent"),
        pytest.param("consent_withdrawn", "consent_missing", id="consent-withdrawn"),
        pytest.param("escort", "escort_missing", id="no-escort"),
        pytest.param("baseline", "baseline_missing", id="no-baseline-vitals"),
        pytest.param("dose_not_approved", "dose_not_approved", id="dose-awaits-prescriber"),
        pytest.param("contraindication_absolute", "contraindication_absolute", id="CLINICAL.md-2-absolute"),
    ],
)
def test_precheck_refuses_naming_what_is_missing(api, users, session, other_patient, setup, rule):
    _missing(setup, session, users, other_patient)
    r = api(users["nurse"]).post(url(session, "precheck"), {}, format="json")
    assert r.status_code == 409, r.content
    body = r.json()
    assert body["rule"] == "precheck_unmet"
    assert [u["rule"] for u in body["unmet"]] == [rule]
    assert refresh(session).status == "planned"
    assert not SessionEvent.objects.filter(session=session).exists()


def test_precheck_needs_a_fresh_weight_CLINICAL_md_1_30_days(api, users, course, other_patient):
    """CLINICAL.md §1: the latest weight no older than 30 days [U]."""
    session = SessionFactory(course=course)
    prepare(session, users["nurse"])
    with time_machine.travel(timezone.now() + timedelta(days=29, hours=-1)):
        r = api(users["nurse"]).post(url(session, "precheck"), {}, format="json")
        # The fixture's weight is a day old: 29 days later it is 29 days 23 h old -> fresh.
        assert r.status_code == 200, r.content
    session2 = SessionFactory(course=course)
    prepare(session2, users["nurse"])
    with time_machine.travel(timezone.now() + timedelta(days=29, hours=1)):
        r = api(users["nurse"]).post(url(session2, "precheck"), {}, format="json")
        assert r.status_code == 409
        assert [u["rule"] for u in r.json()["unmet"]] == ["weight_stale"]


def test_precheck_lists_everything_missing_at_once(api, users, course):
    session = SessionFactory(course=course, requires_approval=True)
    r = api(users["nurse"]).post(url(session, "precheck"), {}, format="json")
    assert r.status_code == 409
    assert [u["rule"] for u in r.json()["unmet"]] == [
        "consent_missing",
        "escort_missing",
        "dose_not_approved",
        "baseline_missing",
    ]
    assert all(u["detail"] for u in r.json()["unmet"])


def test_precheck_records_what_it_checked(users, session):
    session = precheck(session, users["nurse"])
    event = SessionEvent.objects.get(session=session, action="precheck")
    assert set(event.data) == {"screening", "measurement", "weight_kg", "consent", "escort", "baseline_vital"}
    assert event.data["weight_kg"] == "82.4"


# ---- the pre-dose BP gate (Spravato label) ------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "gated"),
    [
        pytest.param({"systolic": 140, "diastolic": 90}, False, id="Spravato-label-140/90-is-not-above"),
        pytest.param({"systolic": 141, "diastolic": 80}, True, id="Spravato-label-systolic-141"),
        pytest.param({"systolic": 130, "diastolic": 91}, True, id="Spravato-label-diastolic-91"),
    ],
)
def test_baseline_bp_above_140_90_needs_a_prescribers_acknowledgement(api, users, session, baseline, gated):
    nurse, clinician = api(users["nurse"]), api(users["clinician"])
    prepare(session, users["nurse"], **baseline)
    assert nurse.post(url(session, "precheck"), {}, format="json").status_code == 200
    r = nurse.post(url(session, "start"), {}, format="json")
    if not gated:
        assert r.status_code == 200
        return
    assert r.status_code == 409
    assert r.json()["rule"] == "predose_bp_unacknowledged"
    alert = Alert.objects.get(session=session, rule="predose_bp")
    # A nurse may neither acknowledge nor resolve it (403), and start stays refused.
    assert nurse.post(f"/api/v1/alerts/{alert.id}/acknowledge/").status_code == 403
    assert nurse.post(f"/api/v1/alerts/{alert.id}/resolve/", {"note": "ok"}, format="json").status_code == 403
    assert nurse.post(url(session, "start"), {}, format="json").status_code == 409
    r = clinician.post(f"/api/v1/alerts/{alert.id}/acknowledge/")
    assert r.status_code == 200
    assert r.json()["status"] == "acknowledged"
    r = nurse.post(url(session, "start"), {}, format="json")
    assert r.status_code == 200
    assert r.json()["status"] == "running"


def test_a_new_high_baseline_after_an_acknowledged_one_gates_again(api, users, session):
    nurse, clinician = api(users["nurse"]), api(users["clinician"])
    prepare(session, users["nurse"], systolic=150, diastolic=85)
    first = Alert.objects.get(session=session, rule="predose_bp")
    clinician.post(f"/api/v1/alerts/{first.id}/acknowledge/")
    nurse.post(url(session, "precheck"), {}, format="json")
    record(session, users["nurse"], systolic=165, diastolic=95)
    r = nurse.post(url(session, "start"), {}, format="json")
    assert r.status_code == 409
    assert r.json()["alerts"] == [Alert.objects.get(session=session, rule="predose_bp", status="open").id]


def test_start_is_refused_when_the_screening_turned_absolute(api, users, session, other_patient):
    precheck(session, users["nurse"])
    ScreeningFactory(
        patient=other_patient,
        answers=clear_answers(pregnant_or_breastfeeding=True),
        outcome="absolute",
        reasons=["pregnant_or_breastfeeding"],
        screened_at=timezone.now() - timedelta(minutes=1),
    )
    r = api(users["nurse"]).post(url(session, "start"), {}, format="json")
    assert r.status_code == 409
    assert r.json()["rule"] == "contraindication_absolute"
    assert refresh(session).status == "prechecked"


def test_concurrent_double_start_records_one_start(users, session):
    """Two nurses press start one after the other: the second is refused, one start is recorded."""
    session = precheck(session, users["nurse"])
    bedside.session_start(actor=users["nurse"], session=session)
    with pytest.raises(ApplicationError) as refusal:
        bedside.session_start(actor=users["clinician"], session=session)
    assert refusal.value.rule == "invalid_transition"
    assert SessionEvent.objects.filter(session=session, action="start").count() == 1


# ---- signed, then immutable (item 7) ------------------------------------------------------------


def test_a_signed_session_is_immutable_in_the_database(users, session):
    session = complete(session, users["nurse"])
    InfusionSession.objects.filter(pk=session.pk).update(signed_at=timezone.now(), signed_by=users["nurse"])
    with pytest.raises(DatabaseError), transaction.atomic():
        InfusionSession.objects.filter(pk=session.pk).update(actual_dose_mg=Decimal("1.0"))
    with pytest.raises(DatabaseError), transaction.atomic():
        InfusionSession.objects.filter(pk=session.pk).delete()
    assert refresh(session).actual_dose_mg == Decimal("41.2")


def test_unsigned_sessions_may_still_change(users, session):
    InfusionSession.objects.filter(pk=session.pk).update(status="prechecked")
    assert refresh(session).status == "prechecked"


def test_vitals_in_normal_use_keep_the_schedule(users, session):
    """A smoke test that recording vitals during a run works end to end."""
    session = start(session, users["nurse"])
    vital, alerts = record(session, users["nurse"], **NORMAL)
    assert vital.phase == "running"
    assert alerts == []

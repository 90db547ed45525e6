"""The nurse's two questions, one call each, with a query count that does not grow with the
rows (asserted at two sizes): the board ("what is happening on my chairs now") and the
session's whole record ("everything about this session"); and every list of the bedside."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from infusions.scheduling.models import Appointment
from infusions.sessions.models import InfusionSession
from monitoring.alerts.models import Alert
from monitoring.alerts.services import alerts_escalate
from monitoring.bedside import services as bedside
from tests.factories import (
    ChairFactory,
    CourseFactory,
    MeasurementFactory,
    PatientFactory,
    ScreeningFactory,
    SessionFactory,
    SiteFactory,
    StaffMemberFactory,
)
from tests.monitoring.bedside_helpers import NORMAL, complete, precheck, record, refresh, start

pytestmark = pytest.mark.django_db

# Auth (one query) and the board itself: site, sessions, their alerts, their latest vitals.
BOARD_QUERIES = 5
# Auth, then: session, vitals, their alerts, alerts, escalations, events, consents, escorts,
# side effects, interventions, amendments, screening; the patient access log (issue 8).
DETAIL_QUERIES = 13 + 1
# Auth (one query), the session, the rows.
LIST_QUERIES = 3
# A session's lists also write the patient access log (issue 8): one query more.
SESSION_LIST_QUERIES = LIST_QUERIES + 1


def book(session, users, chair, starts):
    appointment = Appointment.objects.create(
        patient=session.course.patient,
        site=chair.site,
        chair=chair,
        kind="infusion",
        protocol=session.course.protocol,
        course=session.course,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        during=(starts, starts + timedelta(hours=2)),
        booked_by=users["frontdesk"],
    )
    InfusionSession.objects.filter(pk=session.pk).update(appointment=appointment)
    return refresh(session)


def running_sessions(site, users, count, protocol):
    """`count` running sessions at the site, each in its own chair, with vitals and an alert."""
    made = []
    for index in range(count):
        patient = PatientFactory(site=site)
        MeasurementFactory(patient=patient)
        ScreeningFactory(patient=patient)
        course = CourseFactory(patient=patient, protocol=protocol, created_by=users["clinician"])
        session = SessionFactory(course=course)
        if index % 2 == 0:
            session = book(session, users, ChairFactory(site=site), timezone.now() - timedelta(minutes=30))
        session = start(session, users["nurse"])
        record(session, users["nurse"], systolic=165 + index)  # a rise of >= 40 from 122: bp_rise (medium)
        made.append(session)
    return made


def test_the_board_answers_what_is_happening_now(api, users, site, course, protocol):
    nurse = api(users["nurse"])
    quiet = start(SessionFactory(course=course), users["nurse"])
    urgent = start(SessionFactory(course=CourseFactory(patient=course.patient, protocol=protocol)), users["nurse"])
    record(urgent, users["nurse"], spo2=90)  # spo2_low (high) + news2 (medium)
    waiting = precheck(SessionFactory(course=CourseFactory(patient=course.patient, protocol=protocol)), users["nurse"])
    planned = SessionFactory(course=course)  # not booked for today: not on the board
    far = PatientFactory(site=SiteFactory(code="far"))
    MeasurementFactory(patient=far)
    ScreeningFactory(patient=far)
    elsewhere = start(SessionFactory(course=CourseFactory(patient=far, protocol=protocol)), users["nurse"])
    chair = ChairFactory(site=site, name="Chair 7")
    quiet = book(quiet, users, chair, timezone.now() - timedelta(minutes=20))

    r = nurse.get(f"/api/v1/board/?site={site.id}")
    assert r.status_code == 200
    board = r.json()
    ids = [row["session"] for row in board]
    assert urgent.id == ids[0]  # alerts first
    assert set(ids) == {urgent.id, quiet.id, waiting.id}
    assert planned.id not in ids
    assert elsewhere.id not in ids
    row = board[0]
    assert [(a["rule"], a["severity"]) for a in row["alerts"]] == [("spo2_low", "high"), ("news2", "medium")]
    assert row["latest_vitals"]["spo2"] == 90
    assert row["next_vitals_due"]["kind"] == "running"
    assert row["allowed_actions"] == ["pause", "complete", "stop"]
    quiet_row = next(r for r in board if r["session"] == quiet.id)
    assert quiet_row["chair"] == {"id": chair.id, "name": "Chair 7"}
    assert quiet_row["patient"]["mrn"] == course.patient.mrn
    assert quiet_row["protocol"]["code"] == "ket-iv-dep"
    waiting_row = next(r for r in board if r["session"] == waiting.id)
    assert waiting_row["next_vitals_due"] is None  # baseline taken; nothing owed before start
    assert waiting_row["allowed_actions"] == ["start"]


def test_the_board_defaults_to_the_nurses_site_and_needs_one(api, users, site):
    # clinic.selectors.staff_site: a nurse placed nowhere gets the clinic's only site ...
    assert api(users["nurse"]).get("/api/v1/board/").status_code == 200
    # ... and must name one when there are several,
    SiteFactory(code="second")
    response = api(users["nurse"]).get("/api/v1/board/")
    assert response.status_code == 400
    assert response.json() == {"site": ["Give the site."]}
    # until placed at one, which is then the default.
    StaffMemberFactory(user=users["nurse"], site=site)
    assert api(users["nurse"]).get("/api/v1/board/").status_code == 200
    assert api(users["nurse"]).get("/api/v1/board/?site=999999").status_code == 400


def test_an_overdue_session_comes_before_a_quiet_one(api, users, course, protocol, site):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = start(SessionFactory(course=course), users["nurse"])
        clock.shift(timedelta(minutes=8))
        second = start(SessionFactory(course=CourseFactory(patient=course.patient, protocol=protocol)), users["nurse"])
        clock.shift(timedelta(minutes=8))
        record(first, users["nurse"])  # first is fine now; second is due at +18
        clock.shift(timedelta(minutes=6))  # second is 4 min late (not overdue), first due at +26
        board = api(users["nurse"]).get(f"/api/v1/board/?site={site.id}").json()
        assert [r["session"] for r in board] == [second.id, first.id]
        assert [r["next_vitals_due"]["overdue"] for r in board] == [False, False]
        clock.shift(timedelta(minutes=2))  # second 6 min late: overdue (CLINICAL.md §3, 5 min [U])
        board = api(users["nurse"]).get(f"/api/v1/board/?site={site.id}").json()
        assert board[0]["session"] == second.id
        assert board[0]["next_vitals_due"]["overdue"] is True


@pytest.mark.parametrize("size", [2, 7])
def test_board_query_count_does_not_grow(api, users, site, protocol, size, django_assert_num_queries):
    running_sessions(site, users, size, protocol)
    client = api(users["nurse"])
    client.get(f"/api/v1/board/?site={site.id}")  # warm the token's last-used bookkeeping
    with django_assert_num_queries(BOARD_QUERIES):
        r = client.get(f"/api/v1/board/?site={site.id}")
    assert len(r.json()) == size
    assert all(row["alerts"] and row["latest_vitals"] for row in r.json())


# ---- everything about one session -------------------------------------------------------------


def busy_session(users, course, scale):
    nurse = users["nurse"]
    session = complete(SessionFactory(course=course), nurse, dose=Decimal("40.0"))
    for index in range(scale):
        record(session, nurse, systolic=170 if index == 0 else 125)
        bedside.side_effect_record(actor=nurse, session=session, kind="nausea", severity="mild")
        bedside.intervention_record(
            actor=nurse, session=session, drug="ondansetron", dose=Decimal("4"), dose_unit="mg", route="iv"
        )
        bedside.amendment_record(actor=nurse, session=session, text=f"Note {index}")
        Alert.objects.create(
            session=session, rule="bp_high", severity="high", message=f"{index}", raised_at=timezone.now()
        )
    with time_machine.travel(timezone.now() + timedelta(minutes=15)):
        alerts_escalate()
    return session


@pytest.mark.parametrize("scale", [1, 6])
def test_session_detail_query_count_does_not_grow(api, users, course, site, scale, django_assert_num_queries):
    StaffMemberFactory(user=users["clinician"], site=site)
    session = busy_session(users, course, scale)
    client = api(users["nurse"])
    client.get(f"/api/v1/sessions/{session.id}/detail/")
    with django_assert_num_queries(DETAIL_QUERIES):
        r = client.get(f"/api/v1/sessions/{session.id}/detail/")
    body = r.json()
    assert len(body["side_effects"]) == scale
    assert len(body["interventions"]) == scale
    assert len(body["amendments"]) == scale
    assert len(body["vitals"]) == scale + 1
    assert len(body["escalations"]) == scale + 1  # every unanswered alert went to the clinician


def test_session_detail_has_everything(api, users, course):
    nurse = users["nurse"]
    session = complete(SessionFactory(course=course), nurse)
    bedside.side_effect_record(actor=nurse, session=session, kind="dissociation", severity="moderate", note="floaty")
    body = api(nurse).get(f"/api/v1/sessions/{session.id}/detail/").json()
    assert body["session"]["status"] == "completed"
    assert body["session"]["actual_dose_mg"] == 41.2
    assert body["patient"]["id"] == course.patient_id
    assert body["protocol"]["observation_minutes"] == 60
    assert body["allowed_actions"] == ["discharge"]
    assert [e["action"] for e in body["events"]] == ["precheck", "start", "complete"]
    assert body["events"][0]["actor_name"] == "nurse"
    assert [c["given"] for c in body["consents"]] == [True]
    assert body["escorts"][0]["name"] == "Sam Carter"
    assert body["side_effects"][0]["kind"] == "dissociation"
    assert body["screening"]["outcome"] == "clear"
    assert body["next_vitals_due"]["kind"] == "observation"
    assert body["discharge"]["ready"] is False
    assert {u["rule"] for u in body["discharge"]["unmet"]} == {"observation_time", "discharge_vitals_missing"}
    assert body["rems"] is None  # ketamine
    assert body["observation_ends_at"] is not None


# ---- the lists --------------------------------------------------------------------------------

LISTS = ["consent", "escort", "side-effects", "interventions", "amendments", "events"]


def fill(session, users, count):
    nurse = users["nurse"]
    for index in range(count):
        bedside.consent_record(actor=nurse, session=session)
        bedside.escort_record(actor=nurse, session=session, name=f"Escort {index}", phone="0700")
        bedside.side_effect_record(actor=nurse, session=session, kind="headache", severity="mild")
        bedside.intervention_record(
            actor=nurse, session=session, drug="paracetamol", dose=Decimal("1"), dose_unit="g", route="oral"
        )
        bedside.amendment_record(actor=nurse, session=session, text="note")
    start(session, nurse)


@pytest.mark.parametrize("count", [1, 5])
@pytest.mark.parametrize("kind", LISTS)
def test_list_query_counts_do_not_grow(api, users, course, kind, count, django_assert_num_queries):
    session = SessionFactory(course=course)
    fill(session, users, count)
    client = api(users["nurse"])
    client.get(f"/api/v1/sessions/{session.id}/{kind}/")
    with django_assert_num_queries(SESSION_LIST_QUERIES):
        r = client.get(f"/api/v1/sessions/{session.id}/{kind}/")
    assert r.status_code == 200
    expected = {"events": 2, "consent": count + 1, "escort": count + 1}.get(kind, count)
    assert len(r.json()) == expected


@pytest.mark.parametrize("count", [1, 5])
def test_escalation_list_query_count_does_not_grow(api, users, course, site, count, django_assert_num_queries):
    StaffMemberFactory(user=users["clinician"], site=site)
    for _ in range(count):
        session = SessionFactory(course=course, status="running", started_at=timezone.now())
        with time_machine.travel(timezone.now() - timedelta(minutes=5)):
            Alert.objects.create(
                session=session, rule="bp_high", severity="high", message="m", raised_at=timezone.now()
            )
    alerts_escalate()
    client = api(users["clinician"])
    client.get("/api/v1/alert-escalations/")
    with django_assert_num_queries(LIST_QUERIES - 1):
        r = client.get("/api/v1/alert-escalations/")
    assert len(r.json()) == count


def test_vitals_normal_helper_is_quiet(users, course):
    _, alerts = record(SessionFactory(course=course), users["nurse"], **NORMAL)
    assert alerts == []

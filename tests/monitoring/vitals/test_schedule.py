"""The vitals schedule (CLINICAL.md §3): a baseline before start; every 10 min while running
(Yale 2024); 40 min after esketamine dosing (Spravato label); every 15 min in observation [U];
a discharge set once the observation time has passed; overdue by 5 min raises an alert [U]."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from clinic.policy import DEFAULT_POLICY
from monitoring.alerts.models import Alert
from monitoring.alerts.services import vitals_overdue_raise
from monitoring.alerts.tasks import vitals_overdue_scan_task
from monitoring.bedside import services as bedside
from monitoring.vitals.models import VitalsSchedule
from monitoring.vitals.schedule import ScheduleFacts, VitalsDue, vitals_next_due
from tests.factories import SessionFactory
from tests.monitoring.bedside_helpers import esketamine_course, esketamine_session, record, refresh, start

T = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def m(n: float) -> datetime:
    return T + timedelta(minutes=n)


def facts(**changes) -> ScheduleFacts:
    values = {
        "status": "running",
        "is_esketamine": False,
        "observation_minutes": 60,
        "started_at": T,
        "dosing_ended_at": None,
        "last_set_at": None,
        "has_baseline": True,
        "has_set_after_esketamine_check": False,
        "has_discharge_set": False,
    }
    values.update(changes)
    return ScheduleFacts(**values)


@pytest.mark.parametrize(
    ("changes", "due"),
    [
        pytest.param(
            {"status": "planned", "has_baseline": False, "started_at": None},
            VitalsDue("baseline", None),
            id="baseline-owed-before-start",
        ),
        pytest.param({"status": "prechecked", "started_at": None}, None, id="baseline-taken-nothing-owed"),
        pytest.param({"last_set_at": m(-5)}, VitalsDue("running", m(10)), id="Yale-2024-first-set-10-min-after-start"),
        pytest.param({"last_set_at": m(8)}, VitalsDue("running", m(18)), id="Yale-2024-every-10-min-while-running"),
        pytest.param(
            {"status": "paused", "last_set_at": m(22)},
            VitalsDue("running", m(32)),
            id="paused-keeps-the-10-min-cadence",
        ),
        pytest.param(
            {"status": "completed", "dosing_ended_at": m(40), "last_set_at": m(38)},
            VitalsDue("observation", m(55)),
            id="U-first-observation-set-15-min-after-dosing",
        ),
        pytest.param(
            {"status": "completed", "dosing_ended_at": m(40), "last_set_at": m(70)},
            VitalsDue("observation", m(85)),
            id="U-every-15-min-in-observation",
        ),
        pytest.param(
            {"status": "completed", "dosing_ended_at": m(40), "last_set_at": m(90)},
            VitalsDue("discharge", m(100)),
            id="discharge-set-when-observation-ends",
        ),
        pytest.param(
            {"status": "completed", "dosing_ended_at": m(40), "last_set_at": m(85)},
            VitalsDue("discharge", m(100)),
            id="discharge-wins-a-tie",
        ),
        pytest.param(
            {"status": "stopped", "dosing_ended_at": m(40), "last_set_at": m(101), "has_discharge_set": True},
            VitalsDue("observation", m(116)),
            id="after-the-discharge-set-still-every-15-min",
        ),
        pytest.param({"status": "discharged"}, None, id="discharged-nothing-owed"),
        pytest.param(
            {
                "is_esketamine": True,
                "status": "completed",
                "dosing_ended_at": m(15),
                "last_set_at": m(30),
                "observation_minutes": 120,
            },
            VitalsDue("esketamine_40_min", m(40)),
            id="Spravato-label-40-min-after-dosing",
        ),
        pytest.param(
            {
                "is_esketamine": True,
                "status": "completed",
                "dosing_ended_at": m(15),
                "last_set_at": m(40),
                "observation_minutes": 120,
                "has_set_after_esketamine_check": True,
            },
            VitalsDue("observation", m(55)),
            id="Spravato-label-40-min-set-taken",
        ),
    ],
)
def test_next_set_due(changes, due):
    assert vitals_next_due(facts(**changes), DEFAULT_POLICY) == due


# ---- kept current by the services --------------------------------------------------------------


def schedule(session):
    row = VitalsSchedule.objects.get(session=session)
    return row.next_kind, row.next_due_at


@pytest.mark.django_db
def test_the_board_clock_follows_the_session(users, course):
    nurse = users["nurse"]
    session = SessionFactory(course=course)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        session = start(session, nurse)
        started = session.started_at
        assert schedule(session) == ("running", started + timedelta(minutes=10))
        clock.shift(timedelta(minutes=9))
        record(session, nurse)
        assert schedule(session) == ("running", started + timedelta(minutes=19))
        clock.shift(timedelta(minutes=31))
        session = bedside.session_complete(actor=nurse, session=refresh(session), actual_dose_mg=session.total_dose_mg)
        ended = session.dosing_ended_at
        assert schedule(session) == ("observation", ended + timedelta(minutes=15))


@pytest.mark.django_db
def test_esketamine_40_minute_check(users, own_patient):
    """Spravato label: BP at about 40 min after dosing; 120 min observation (CLINICAL.md §1)."""
    nurse = users["nurse"]
    session = esketamine_session(esketamine_course(own_patient, users["clinician"]))
    with time_machine.travel(timezone.now(), tick=False) as clock:
        session = start(session, nurse)
        t0 = session.started_at
        clock.shift(timedelta(minutes=10))
        record(session, nurse)
        clock.shift(timedelta(minutes=5))
        session = bedside.session_complete(actor=nurse, session=refresh(session), actual_dose_mg=session.total_dose_mg)
        assert schedule(session) == ("observation", t0 + timedelta(minutes=30))
        clock.shift(timedelta(minutes=15))
        record(session, nurse)
        assert schedule(session) == ("esketamine_40_min", t0 + timedelta(minutes=40))
        clock.shift(timedelta(minutes=10))
        record(session, nurse)
        assert schedule(session) == ("observation", t0 + timedelta(minutes=55))


# ---- overdue by 5 minutes raises an alert ------------------------------------------------------


@pytest.mark.django_db
def test_a_set_overdue_by_5_minutes_raises_one_alert(users, course):
    nurse = users["nurse"]
    session = SessionFactory(course=course)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        session = start(session, nurse)
        due = session.started_at + timedelta(minutes=10)
        clock.move_to(due + timedelta(minutes=5) - timedelta(seconds=1))
        assert vitals_overdue_raise() == []  # CLINICAL.md §3 [U]: 4:59 late is not yet overdue
        clock.move_to(due + timedelta(minutes=5))
        raised = vitals_overdue_raise()
        assert len(raised) == 1
        alert = Alert.objects.get(pk=raised[0])
        assert (alert.rule, alert.severity, alert.status, alert.vital_id) == ("vitals_overdue", "medium", "open", None)
        # Idempotent: every later tick for the same due time raises nothing.
        for _ in range(3):
            clock.shift(timedelta(minutes=1))
            assert vitals_overdue_raise() == []
            assert vitals_overdue_scan_task() == 0
        # A set answers it, and the clock restarts.
        record(session, nurse)
        alert.refresh_from_db()
        assert (alert.status, alert.resolved_by_id) == ("resolved", nurse.id)
        assert schedule(session)[1] == timezone.now() + timedelta(minutes=10)
        clock.shift(timedelta(minutes=15))
        assert len(vitals_overdue_raise()) == 1
    assert Alert.objects.filter(session=session, rule="vitals_overdue").count() == 2


@pytest.mark.django_db
def test_sessions_not_yet_started_or_discharged_are_never_overdue(users, course):
    planned = SessionFactory(course=course)
    record(planned, users["nurse"])
    with time_machine.travel(timezone.now() + timedelta(hours=5)):
        assert vitals_overdue_raise() == []
    assert not Alert.objects.filter(rule="vitals_overdue").exists()


@pytest.mark.django_db
def test_an_unanswered_overdue_alert_is_not_repeated_when_the_due_time_moves(users, course):
    nurse = users["nurse"]
    session = SessionFactory(course=course)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        session = start(session, nurse)
        clock.shift(timedelta(minutes=16))
        assert len(vitals_overdue_raise()) == 1
        session = bedside.session_complete(actor=nurse, session=refresh(session), actual_dose_mg=session.total_dose_mg)
        # Observation: a new due time (dosing end + 15 min), still no set recorded.
        assert schedule(session)[0] == "observation"
        clock.shift(timedelta(minutes=30))
        assert vitals_overdue_raise() == []
    assert Alert.objects.filter(session=session, rule="vitals_overdue").count() == 1

"""Alerts acknowledged and resolved by staff; an unacknowledged emergency or high alert goes to
the clinician on duty after 2 minutes, a medium one after 10 (CLINICAL.md §3 [U]), through
Celery, exactly once per alert, even when scans run at the same time."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connections
from django.utils import timezone

from clinic.core.roles import Role
from config.celery import app as celery_app
from monitoring.alerts import services as alerting
from monitoring.alerts.models import Alert, AlertEscalation, AlertResolution
from monitoring.alerts.services import alert_resolve, alerts_escalate
from monitoring.alerts.tasks import alerts_escalate_scan_task, vitals_overdue_scan_task
from tests.factories import (
    ChairFactory,
    CourseFactory,
    PatientFactory,
    SessionFactory,
    SiteFactory,
    StaffMemberFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def make_alert(session, severity="high", rule="bp_high", status="open"):
    return Alert.objects.create(
        session=session, rule=rule, severity=severity, status=status, message="m", raised_at=timezone.now()
    )


@pytest.fixture
def session(course):
    return SessionFactory(course=course, status="running", started_at=timezone.now())


@pytest.fixture
def on_duty(users, site):
    """The clinician placed at the patients' site (StaffMember)."""
    StaffMemberFactory(user=users["clinician"], site=site)
    return users["clinician"]


@pytest.mark.parametrize(
    ("severity", "waited", "escalated"),
    [
        pytest.param(
            "emergency", timedelta(minutes=2) - timedelta(seconds=1), False, id="CLINICAL.md-3-emergency-1m59s"
        ),
        pytest.param("emergency", timedelta(minutes=2), True, id="CLINICAL.md-3-emergency-2m"),
        pytest.param("high", timedelta(minutes=2) - timedelta(seconds=1), False, id="CLINICAL.md-3-high-1m59s"),
        pytest.param("high", timedelta(minutes=2), True, id="CLINICAL.md-3-high-2m"),
        pytest.param("medium", timedelta(minutes=10) - timedelta(seconds=1), False, id="CLINICAL.md-3-medium-9m59s"),
        pytest.param("medium", timedelta(minutes=10), True, id="CLINICAL.md-3-medium-10m"),
    ],
)
def test_escalation_waits(session, on_duty, severity, waited, escalated):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        alert = make_alert(session, severity=severity)
        clock.shift(waited)
        assert alerts_escalate() == ([alert.id] if escalated else [])
        alert.refresh_from_db()
        assert (alert.escalated_at is not None) is escalated
        assert AlertEscalation.objects.filter(alert=alert).count() == (1 if escalated else 0)


def test_site_overrides_change_the_waits(session, on_duty, site):
    site.clinical_overrides = {"escalate_high_after_minutes": 5}
    site.save()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        alert = make_alert(session)
        clock.shift(timedelta(minutes=4))
        assert alerts_escalate() == []
        clock.shift(timedelta(minutes=1))
        assert alerts_escalate() == [alert.id]


@pytest.mark.parametrize("status", ["acknowledged", "resolved"])
def test_acknowledged_or_resolved_alerts_never_escalate(session, on_duty, status):
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        make_alert(session, status=status)
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert alerts_escalate() == []


def test_escalated_exactly_once_and_to_the_clinician_on_duty(api, session, on_duty, users):
    other_site_clinician = UserFactory(username="elsewhere", role=Role.CLINICIAN)
    StaffMemberFactory(user=other_site_clinician, site=SiteFactory(code="north"))
    with time_machine.travel(timezone.now(), tick=False) as clock:
        alert = make_alert(session, severity="emergency", rule="unresponsive")
        clock.shift(timedelta(minutes=3))
        assert alerts_escalate_scan_task() == 1  # the beat task, called directly
        for _ in range(3):
            clock.shift(timedelta(minutes=1))
            assert alerts_escalate_scan_task() == 0
    notices = list(AlertEscalation.objects.filter(alert=alert))
    assert [n.recipient for n in notices] == [on_duty]
    assert str(session.id) in notices[0].message
    # The clinician sees it in their list; an acknowledgement afterwards changes nothing.
    r = api(on_duty).get("/api/v1/alert-escalations/")
    assert [(e["alert"], e["rule"], e["severity"]) for e in r.json()] == [(alert.id, "unresponsive", "emergency")]
    assert api(users["nurse"]).post(f"/api/v1/alerts/{alert.id}/acknowledge/").status_code == 200
    assert AlertEscalation.objects.filter(alert=alert).count() == 1


def test_a_site_without_a_clinician_goes_to_every_clinician(session, users):
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        alert = make_alert(session)
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assert alerts_escalate() == [alert.id]
    assert [n.recipient for n in AlertEscalation.objects.filter(alert=alert)] == [users["clinician"]]


def test_the_appointment_site_decides_who_is_on_duty(session, users, site):
    """A session booked at another site escalates to that site's clinician."""
    from infusions.scheduling.models import Appointment

    north = SiteFactory(code="north")
    chair = ChairFactory(site=north)
    north_clinician = UserFactory(username="north-clinician", role=Role.CLINICIAN)
    StaffMemberFactory(user=north_clinician, site=north)
    StaffMemberFactory(user=users["clinician"], site=site)
    starts = timezone.now()
    appointment = Appointment.objects.create(
        patient=session.course.patient,
        site=north,
        chair=chair,
        kind="infusion",
        protocol=session.course.protocol,
        course=session.course,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        during=(starts, starts + timedelta(hours=2)),
        booked_by=users["frontdesk"],
    )
    session.appointment = appointment
    session.save(update_fields=["appointment"])
    with time_machine.travel(timezone.now() - timedelta(minutes=5)):
        alert = make_alert(session)
    assert alerts_escalate() == [alert.id]
    assert [n.recipient for n in AlertEscalation.objects.filter(alert=alert)] == [north_clinician]


def test_alerts_of_signed_sessions_are_not_escalated(session, on_duty, users):
    with time_machine.travel(timezone.now() - timedelta(minutes=30)):
        make_alert(session)
    from infusions.sessions.models import InfusionSession

    InfusionSession.objects.filter(pk=session.pk).update(
        status="discharged", signed_at=timezone.now(), signed_by=users["nurse"]
    )
    assert alerts_escalate() == []


# ---- acknowledge and resolve ------------------------------------------------------------------


def test_acknowledge_then_resolve(api, users, session):
    alert = make_alert(session, severity="medium", rule="bp_rise")
    nurse = api(users["nurse"])
    r = nurse.post(f"/api/v1/alerts/{alert.id}/acknowledge/")
    assert r.status_code == 200
    body = r.json()
    assert {k: body[k] for k in ("id", "session", "rule", "severity", "status", "message")} == {
        "id": alert.id,
        "session": session.id,
        "rule": "bp_rise",
        "severity": "medium",
        "status": "acknowledged",
        "message": "m",
    }
    assert body["acknowledged_by"] == users["nurse"].id
    r = nurse.post(f"/api/v1/alerts/{alert.id}/acknowledge/")
    assert (r.status_code, r.json()["rule"]) == (409, "alert_not_open")
    r = nurse.post(f"/api/v1/alerts/{alert.id}/resolve/", {"note": "Re-measured: 138/84"}, format="json")
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["resolution_note"]) == ("resolved", "Re-measured: 138/84")
    r = nurse.post(f"/api/v1/alerts/{alert.id}/resolve/", {}, format="json")
    assert (r.status_code, r.json()["rule"]) == (409, "alert_already_resolved")


def test_resolving_an_open_alert_acknowledges_it(api, users, session):
    alert = make_alert(session)
    r = api(users["clinician"]).post(
        f"/api/v1/alerts/{alert.id}/resolve/", {"action": "paused_remeasured", "note": "138/84"}, format="json"
    )
    assert r.status_code == 200
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.resolved_by) == (users["clinician"], users["clinician"])
    assert alert.acknowledged_at == alert.resolved_at


# ---- Celery wiring -----------------------------------------------------------------------------


def test_beat_runs_both_scans_every_minute_with_the_task_rules():
    schedule = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for name, task in (
        ("monitoring.vitals_overdue_scan", vitals_overdue_scan_task),
        ("monitoring.alerts_escalate_scan", alerts_escalate_scan_task),
    ):
        assert schedule[name]["schedule"] == 60.0
        celery_app.loader.import_default_modules()
        assert name in celery_app.tasks
        assert (task.acks_late, task.reject_on_worker_lost, task.ignore_result) == (True, True, True)
        assert task.max_retries == 5


# ---- exactly once under concurrency (separate connections, real PostgreSQL) --------------------


def _burst(work, count):
    barrier = threading.Barrier(count)

    def run(index):
        try:
            barrier.wait(timeout=30)
            return work(index)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.fixture
def many_alerts(db):
    site = SiteFactory(code="burst")
    clinician = UserFactory(username="burst-clinician", role=Role.CLINICIAN)
    StaffMemberFactory(user=clinician, site=site)
    patient = PatientFactory(site=site)
    course = CourseFactory(patient=patient, created_by=clinician)
    alerts = []
    past = timezone.now() - timedelta(minutes=15)
    with time_machine.travel(past):
        for index in range(30):
            s = SessionFactory(course=course, status="running", started_at=past)
            alerts.append(make_alert(s, severity=["emergency", "high", "medium"][index % 3]))
    return alerts, clinician


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_scans_escalate_each_alert_exactly_once(many_alerts):
    alerts, clinician = many_alerts
    results = _burst(lambda i: alerts_escalate(), 6)
    claimed = [pk for result in results for pk in result]
    assert sorted(claimed) == sorted(a.id for a in alerts)  # every alert once, none twice
    assert AlertEscalation.objects.count() == len(alerts)
    assert set(AlertEscalation.objects.values_list("recipient", flat=True)) == {clinician.id}
    assert Alert.objects.filter(escalated_at__isnull=True).count() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_even_without_row_locks_the_claim_update_lets_one_scan_win(many_alerts, monkeypatch):
    """Both scans read the same candidates (no FOR UPDATE SKIP LOCKED, both past the read
    before either writes): the UPDATE ... WHERE escalated_at IS NULL still claims each alert
    for exactly one of them."""
    alerts, _ = many_alerts
    read = threading.Barrier(2)

    def unlocked_candidates():
        rows = list(
            Alert.objects.select_related("session__course__patient__site", "session__appointment").filter(
                status="open", escalated_at__isnull=True
            )
        )
        read.wait(timeout=30)
        return rows

    monkeypatch.setattr(alerting, "_escalation_candidates", unlocked_candidates)
    results = _burst(lambda i: alerts_escalate(), 2)
    assert sorted(results[0] + results[1]) == sorted(a.id for a in alerts)
    assert not set(results[0]) & set(results[1])
    assert AlertEscalation.objects.count() == len(alerts)


# ---- resolving a high or emergency alert needs the action taken (issue 15.3) ------------------


@pytest.mark.parametrize("severity", ["high", "emergency"])
def test_a_severe_alert_is_not_resolved_without_the_action_taken(api, users, session, severity):
    alert = make_alert(session, severity=severity)
    client = api(users["clinician"])
    r = client.post(f"/api/v1/alerts/{alert.id}/resolve/", {"note": "done"}, format="json")
    assert r.status_code == 400
    assert list(r.json()) == ["action"]
    r = client.post(f"/api/v1/alerts/{alert.id}/resolve/", {"action": "other"}, format="json")
    assert (r.status_code, list(r.json())) == (400, ["note"])
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_by, AlertResolution.objects.count()) == ("open", None, 0)

    r = client.post(
        f"/api/v1/alerts/{alert.id}/resolve/",
        {"action": "oxygen_airway", "note": "2 L/min by nasal cannula"},
        format="json",
    )
    assert r.status_code == 200
    assert r.json()["resolution"] == {
        "action": "oxygen_airway",
        "note": "2 L/min by nasal cannula",
        "resolved_by": users["clinician"].id,
        "resolved_at": r.json()["resolved_at"],
    }
    row = AlertResolution.objects.get(alert=alert)
    assert (row.action, row.note, row.resolved_by) == ("oxygen_airway", "2 L/min by nasal cannula", users["clinician"])


def test_a_medium_alert_is_resolved_without_an_action(api, users, session):
    alert = make_alert(session, severity="medium", rule="bp_rise")
    r = api(users["nurse"]).post(f"/api/v1/alerts/{alert.id}/resolve/", {}, format="json")
    assert (r.status_code, r.json()["status"]) == (200, "resolved")
    assert AlertResolution.objects.get(alert=alert).action == ""


def test_a_resolution_is_kept_append_only(users, session):
    from django.db import IntegrityError, InternalError, transaction

    alert = make_alert(session)
    alert_resolve(actor=users["nurse"], alert=alert, action="clinician_reviewed")
    row = AlertResolution.objects.get(alert=alert)
    for statement in (
        lambda: AlertResolution.objects.filter(pk=row.pk).update(note="changed"),
        lambda: AlertResolution.objects.filter(pk=row.pk).delete(),
    ):
        with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
            statement()
    assert AlertResolution.objects.get(pk=row.pk).note == ""


# ---- the on-call roster: the on-call clinician first, then the next level (issue 15.2) --------


def test_escalation_goes_to_the_on_call_clinician_then_the_next_level_once_per_step(users, session, site):
    from clinic.models import OnCallLevel
    from clinic.oncall import on_call_shift_add
    from tests.factories import UserFactory

    placed = users["clinician"]
    StaffMemberFactory(user=placed, site=site)
    on_call = UserFactory(role=Role.CLINICIAN, username="oncall")
    director = UserFactory(role=Role.CLINICIAN, username="director")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        now = timezone.now()
        for who, level in ((on_call, OnCallLevel.FIRST), (director, OnCallLevel.NEXT)):
            on_call_shift_add(
                actor=placed,
                site=site,
                clinician=who,
                level=level,
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=8),
            )
        alert = make_alert(session, severity="emergency", rule="unresponsive")
        # CLINICAL.md §3: an emergency goes to the clinician on call after 2 minutes.
        clock.shift(timedelta(minutes=2))
        assert alerts_escalate() == [alert.id]
        assert alerts_escalate() == []  # the same step is never sent twice
        steps = list(AlertEscalation.objects.filter(alert=alert).values_list("step", "recipient__username"))
        assert steps == [(1, "oncall")]
        # The next level after escalate_next_level_after_minutes (5, a working default [U]).
        clock.shift(timedelta(minutes=5) - timedelta(seconds=1))
        assert alerts_escalate() == []
        clock.shift(timedelta(seconds=1))
        assert alerts_escalate() == [alert.id]
        assert alerts_escalate() == []
        clock.shift(timedelta(hours=1))
        assert alerts_escalate() == []  # two steps, then nothing more
    steps = list(
        AlertEscalation.objects.filter(alert=alert).order_by("step").values_list("step", "recipient__username")
    )
    assert steps == [(1, "oncall"), (2, "director")]
    alert.refresh_from_db()
    assert alert.escalation_step == 2


def test_with_nobody_on_call_the_sites_clinicians_are_told(users, session, site):
    StaffMemberFactory(user=users["clinician"], site=site)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        alert = make_alert(session)
        clock.shift(timedelta(minutes=2))
        assert alerts_escalate() == [alert.id]
    assert list(AlertEscalation.objects.filter(alert=alert).values_list("recipient", flat=True)) == [
        users["clinician"].pk
    ]


def test_an_acknowledged_alert_is_not_escalated_further(users, session, site):
    StaffMemberFactory(user=users["clinician"], site=site)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        alert = make_alert(session)
        clock.shift(timedelta(minutes=2))
        assert alerts_escalate() == [alert.id]
        alerting.alert_acknowledge(actor=users["clinician"], alert=alert)
        clock.shift(timedelta(minutes=30))
        assert alerts_escalate() == []
    assert AlertEscalation.objects.filter(alert=alert).count() == 1

"""The follow-up planner: every row of CLINICAL.md §7, idempotent, cancelling what went away,
and due times on the site's wall clock across daylight-saving changes."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from infusions.protocols.models import Protocol
from monitoring.followups.keys import record_key
from monitoring.followups.models import FollowUp, FollowUpEvent
from monitoring.followups.planner import followups_plan
from monitoring.followups.services import followup_ensure, followups_cancel
from tests.factories import CourseFactory, MeasurementFactory, PatientFactory, SiteFactory, UserFactory
from tests.monitoring.followup_helpers import appointment, ended_session, phq9

pytestmark = pytest.mark.django_db

# Queries of a planner run (first run, second run) in test_planner_query_count_does_not_grow_with_the_data.
# (The first run writes, per kind that created rows, their history: one INSERT ... SELECT.)
PLANNER_QUERIES = (58, 66)


def _only(kind: str) -> FollowUp:
    rows = list(FollowUp.objects.filter(kind=kind))
    assert len(rows) == 1, rows
    return rows[0]


# --- followup_ensure: the idempotent entry point other apps call ---


def test_followup_ensure_twice_creates_one_row(users, other_patient):
    due = timezone.now()
    a = followup_ensure(
        kind="suicide_risk_review", key="k:1", patient=other_patient, due_at=due, assignee_role="clinician"
    )
    b = followup_ensure(
        kind="suicide_risk_review", key="k:1", patient=other_patient, due_at=due, assignee_role="clinician"
    )
    assert a.pk == b.pk
    assert FollowUp.objects.count() == 1
    assert list(FollowUpEvent.objects.values_list("action", flat=True)) == ["created"]
    assert a.site_id == other_patient.site_id
    assert a.status == "pending"


def test_followup_ensure_accepts_a_subject_instance(users, course):
    session = ended_session(course, timezone.now())
    row = followup_ensure(
        kind="rems_form",
        key=record_key("rems_form", session),
        patient=course.patient,
        due_at=timezone.now(),
        assignee_role="nurse",
        subject=session,
    )
    assert (row.subject_type, row.subject_id) == ("infusions.infusionsession", session.pk)
    assert row.key == f"rems_form:infusions.infusionsession:{session.pk}"


@pytest.mark.parametrize(
    ("field", "value"), [("kind", "coffee"), ("assignee_role", "patient"), ("key", "")], ids=["kind", "role", "key"]
)
def test_followup_ensure_refuses_bad_input(field, value):
    from django.core.exceptions import ValidationError

    args = {"kind": "check_in_call", "key": "k", "assignee_role": "nurse", field: value}
    with pytest.raises(ValidationError) as error:
        followup_ensure(patient=None, due_at=timezone.now(), **args)
    assert field in error.value.message_dict
    assert FollowUp.objects.count() == 0


def test_booster_due_escalates_to_the_clinician_after_7_days_by_default(other_patient):
    # CLINICAL.md §7: booster overdue after 7 days goes to the clinician.
    due = datetime(2026, 3, 25, 9, 0, tzinfo=UTC)  # Europe/London, before the clocks change
    row = followup_ensure(kind="booster_due", key="b:1", patient=other_patient, due_at=due, assignee_role="frontdesk")
    assert row.escalate_role == "clinician"
    assert row.escalate_at == datetime(2026, 4, 1, 8, 0, tzinfo=UTC)  # 09:00 local, now BST


@pytest.mark.django_db(transaction=True)
def test_followup_ensure_concurrently_creates_one_row():
    """Eight threads, each with its own connection, ask for the same key at once."""
    barrier = threading.Barrier(8)
    ids: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            ids.append(
                followup_ensure(
                    kind="biennial_inventory", key="race", patient=None, due_at=timezone.now(), assignee_role="admin"
                ).pk
            )
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(ids)) == 1
    assert FollowUp.objects.filter(key="race").count() == 1
    assert FollowUpEvent.objects.count() == 1


# --- the planner, row by row of CLINICAL.md §7 ---


def test_check_in_call_24h_after_each_session_and_idempotent(users, course):
    ended = timezone.now() - timedelta(hours=2)
    session = ended_session(course, ended)
    first = followups_plan()
    row = _only("check_in_call")
    assert row.assignee_role == "nurse"
    assert (row.subject_type, row.subject_id) == ("infusions.infusionsession", session.pk)
    assert row.due_at == ended + timedelta(hours=24)  # no clock change in between (UTC test clock)
    assert first.created["check_in_call"] == 1
    again = followups_plan()
    assert sum(again.created.values()) == 0
    assert FollowUp.objects.filter(kind="check_in_call").count() == 1


@pytest.mark.django_db(transaction=True)
def test_planner_twice_at_once_creates_nothing_new():
    """Three planners at once (separate connections): one row per reason. (Sites need no
    protocol library, which a transactional test's flush would have removed.)"""
    for n in range(5):
        SiteFactory(code=f"race-{n}")
    results: list[object] = []

    def run() -> None:
        try:
            results.append(followups_plan())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3
    assert FollowUp.objects.filter(kind="biennial_inventory").count() == 5
    assert FollowUpEvent.objects.filter(action="created").count() == 5


def test_rems_form_within_7_days_of_each_esketamine_session(users, other_patient):
    # CLINICAL.md §7: REMS monitoring form (esketamine) within 7 days of each session.
    course = CourseFactory(patient=other_patient, protocol=Protocol.objects.get(code="esk-in-trd"))
    ended = timezone.now() - timedelta(hours=3)
    session = ended_session(course, ended, dose="56", dose_unit="mg", hard_max_at_creation="84")
    followups_plan()
    row = _only("rems_form")
    assert row.key == record_key("rems_form", session)
    assert row.due_at == ended + timedelta(days=7)
    assert row.assignee_role == "nurse"


def test_no_rems_form_for_racemic_ketamine(users, course):
    ended_session(course, timezone.now() - timedelta(hours=3))
    followups_plan()
    assert not FollowUp.objects.filter(kind="rems_form").exists()


def test_end_of_induction_review_the_day_after_the_last_induction_session(users, course):
    # CLINICAL.md §7 + §1: ket-iv-dep induction is 6 sessions; review the day after, 09:00 local.
    tz = course.patient.site.tz
    with time_machine.travel(datetime(2026, 6, 20, 18, 0, tzinfo=UTC), tick=False):
        for day in range(15, 21):
            ended_session(course, datetime(2026, 6, day, 11, 0, tzinfo=tz))
        followups_plan()
    row = _only("end_of_induction_review")
    assert row.assignee_role == "clinician"
    assert row.due_at.astimezone(tz) == datetime(2026, 6, 21, 9, 0, tzinfo=tz)


def test_no_end_of_induction_review_before_the_series_is_done(users, course):
    for days_ago in range(5, 0, -1):
        ended_session(course, timezone.now() - timedelta(days=days_ago))
    followups_plan()
    assert not FollowUp.objects.filter(kind="end_of_induction_review").exists()


def test_suicide_risk_review_at_once_when_phq9_item9_above_0(users, other_patient):
    # CLINICAL.md §5/§7: PHQ-9 item 9 > 0 -> urgent clinician review, whatever the total.
    flagged = phq9(other_patient, [0, 0, 0, 0, 0, 0, 0, 0, 1])
    phq9(other_patient, [3, 3, 3, 3, 3, 3, 3, 3, 0])
    followups_plan()
    row = _only("suicide_risk_review")
    assert row.assignee_role == "clinician"
    assert row.key == f"suicide_risk_review:assessment:{flagged.pk}"  # the assessment hook's key
    assert row.due_at <= timezone.now()


def test_pre_session_questionnaire_72h_before_staff_reminded_24h_before(users, course):
    # CLINICAL.md §7: questionnaire 72 h before each session; staff reminded if missing 24 h before.
    starts = timezone.now() + timedelta(days=5)
    appt = appointment(course.patient, starts, course=course)
    followups_plan()
    row = _only("pre_session_questionnaire")
    assert row.due_at == starts - timedelta(hours=72)
    assert row.escalate_at == starts - timedelta(hours=24)
    assert (row.escalate_role, row.assignee_role) == ("nurse", "nurse")
    assert (row.subject_type, row.subject_id) == ("infusions.appointment", appt.pk)
    assert "PHQ9" in row.note


def test_questionnaire_cancelled_when_the_patient_answers(users, course):
    starts = timezone.now() + timedelta(days=2)  # already inside the 72 h window
    appointment(course.patient, starts, course=course)
    followups_plan()
    assert _only("pre_session_questionnaire").status == "pending"
    phq9(course.patient, [1, 1, 1, 1, 1, 1, 1, 1, 0])
    result = followups_plan()
    row = _only("pre_session_questionnaire")
    assert row.status == "cancelled"
    assert row.cancel_reason == "questionnaire received"
    assert result.cancelled["pre_session_questionnaire"] == 1
    assert row.events.filter(action="cancelled").count() == 1


def test_appointment_cancelled_cancels_its_followups(users, course):
    MeasurementFactory(patient=course.patient, measured_at=timezone.now() - timedelta(days=60))
    course.patient.measurements.exclude(measured_at__lt=timezone.now() - timedelta(days=59)).count()
    appt = appointment(course.patient, timezone.now() + timedelta(days=4), course=course)
    followups_plan()
    kinds = set(FollowUp.objects.filter(status="pending").values_list("kind", flat=True))
    assert "pre_session_questionnaire" in kinds
    appt.status = "cancelled"
    appt.save(update_fields=["status"])
    followups_plan()
    assert not FollowUp.objects.filter(subject_type="infusions.appointment", status="pending").exists()
    assert set(
        FollowUp.objects.filter(subject_type="infusions.appointment").values_list("cancel_reason", flat=True)
    ) == {"appointment cancelled"}


def test_appointment_moved_moves_the_due_time(users, course):
    starts = timezone.now() + timedelta(days=6)
    appt = appointment(course.patient, starts, course=course)
    followups_plan()
    moved = starts + timedelta(days=2)
    appt.starts_at, appt.ends_at = moved, moved + timedelta(hours=2)
    from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

    appt.during = DateTimeTZRange(appt.starts_at, appt.ends_at, "[)")
    appt.save()
    result = followups_plan()
    row = _only("pre_session_questionnaire")
    assert row.due_at == moved - timedelta(hours=72)
    assert result.rescheduled["pre_session_questionnaire"] == 1
    assert row.events.filter(action="rescheduled").count() == 1


def test_weight_recheck_when_the_last_weight_is_older_than_30_days(users, site):
    # CLINICAL.md §7 + §1: a weight older than 30 days at the session needs a re-check.
    stale = PatientFactory(site=site)
    MeasurementFactory(patient=stale, measured_at=timezone.now() - timedelta(days=29))
    fresh = PatientFactory(site=site)
    MeasurementFactory(patient=fresh, measured_at=timezone.now() - timedelta(days=1))
    starts = timezone.now() + timedelta(days=3)  # stale's weight will be 32 days old
    appointment(stale, starts)
    appointment(fresh, starts + timedelta(hours=3))
    followups_plan()
    row = _only("weight_recheck")
    assert row.patient_id == stale.pk
    assert row.due_at == starts - timedelta(hours=24)
    MeasurementFactory(patient=stale, measured_at=timezone.now())
    followups_plan()
    row.refresh_from_db()
    assert (row.status, row.cancel_reason) == ("cancelled", "weight recorded")


def test_mid_interval_phq9_halfway_through_an_interval_of_14_days_or_more(users, course):
    course.phase = "maintenance"
    course.save(update_fields=["phase"])
    tz = course.patient.site.tz
    with time_machine.travel(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), tick=False):
        ended_session(course, datetime(2026, 7, 1, 10, 0, tzinfo=tz))
        appointment(course.patient, datetime(2026, 7, 29, 10, 0, tzinfo=tz), course=course)  # 28 days
        followups_plan()
        row = _only("mid_interval_phq9")
        assert row.due_at.astimezone(tz) == datetime(2026, 7, 15, 9, 0, tzinfo=tz)
        phq9(course.patient, [1] * 8 + [0])
        followups_plan()
    row.refresh_from_db()
    assert (row.status, row.cancel_reason) == ("cancelled", "questionnaire received")


def test_no_mid_interval_phq9_for_a_weekly_interval(users, course):
    course.phase = "maintenance"
    course.save(update_fields=["phase"])
    ended_session(course, timezone.now() - timedelta(days=1))
    appointment(course.patient, timezone.now() + timedelta(days=6), course=course)
    followups_plan()
    assert not FollowUp.objects.filter(kind="mid_interval_phq9").exists()


def test_booster_due_cancelled_when_a_booster_is_booked(users, course):
    row = followup_ensure(
        kind="booster_due",
        key=record_key("booster_due", course),
        patient=course.patient,
        due_at=timezone.now() + timedelta(days=2),
        assignee_role="frontdesk",
        subject=course,
    )
    followups_plan()
    row.refresh_from_db()
    assert row.status == "pending"
    appointment(course.patient, timezone.now() + timedelta(days=3), course=course)
    followups_plan()
    row.refresh_from_db()
    assert (row.status, row.cancel_reason) == ("cancelled", "booster booked")


def test_safety_screen_after_10_sessions_when_sooner_than_3_months(users, course):
    # CLINICAL.md §7: every 3 months or every 10 sessions, whichever first [U].
    first = timezone.now() - timedelta(days=12)
    sessions = [ended_session(course, first + timedelta(days=i)) for i in range(10)]
    followups_plan()
    row = _only("safety_screen")
    assert row.assignee_role == "clinician"
    assert row.due_at == sessions[9].dosing_ended_at


def test_safety_screen_3_months_after_the_first_session(users, course):
    tz = course.patient.site.tz
    with time_machine.travel(datetime(2026, 1, 31, 12, 0, tzinfo=UTC), tick=False):
        ended_session(course, datetime(2026, 1, 31, 10, 0, tzinfo=tz))
        followups_plan()
    row = _only("safety_screen")
    assert row.due_at.astimezone(tz) == datetime(2026, 4, 30, 10, 0, tzinfo=tz)  # end of a shorter month


def test_biennial_inventory_two_years_after_the_initial_one(users, site):
    # CLINICAL.md §8: biennial inventory, every 2 years from the initial one.
    followups_plan()
    row = _only("biennial_inventory")
    assert row.assignee_role == "admin"
    assert row.patient_id is None
    assert row.site_id == site.pk
    opened = site.created_at.astimezone(site.tz)
    assert row.due_at.astimezone(site.tz).date() == opened.date().replace(year=opened.year + 2)


def test_completed_safety_screen_starts_the_next_cycle(users, course):
    ended_session(course, timezone.now() - timedelta(days=3))
    followups_plan()
    row = _only("safety_screen")
    from monitoring.followups.services import followup_complete

    followup_complete(actor=users["clinician"], followup=row, outcome="Screen clear")
    followups_plan()
    rows = list(FollowUp.objects.filter(kind="safety_screen").order_by("id"))
    assert [r.status for r in rows] == ["completed", "pending"]
    assert rows[1].key.endswith(f":after:{row.pk}")


def test_cancel_leaves_closed_rows_alone(users, other_patient):
    row = followup_ensure(
        kind="check_in_call", key="c:1", patient=other_patient, due_at=timezone.now(), assignee_role="nurse"
    )
    from monitoring.followups.services import followup_complete

    followup_complete(actor=users["nurse"], followup=row, outcome="Called, doing well")
    assert followups_cancel(followup_ids=[row.pk], reason="test") == 0
    row.refresh_from_db()
    assert row.status == "completed"


# --- wall-clock due times across daylight-saving changes ---


@pytest.mark.parametrize(
    ("zone", "session_local", "expected_local", "elapsed_hours"),
    [
        # Europe/London springs forward on Sun 29 Mar 2026: "the next day at 10:00" is 23 h later.
        ("Europe/London", (2026, 3, 28, 10, 0), (2026, 3, 29, 10, 0), 23),
        # ... and falls back on Sun 25 Oct 2026: 25 h later.
        ("Europe/London", (2026, 10, 24, 10, 0), (2026, 10, 25, 10, 0), 25),
        # America/New_York springs forward on Sun 8 Mar 2026.
        ("America/New_York", (2026, 3, 7, 15, 30), (2026, 3, 8, 15, 30), 23),
        ("Australia/Sydney", (2026, 4, 4, 9, 0), (2026, 4, 5, 9, 0), 25),
    ],
    ids=["london-spring", "london-autumn", "new-york-spring", "sydney-autumn"],
)
def test_check_in_call_keeps_the_local_hour_across_dst(users, zone, session_local, expected_local, elapsed_hours):
    site = SiteFactory(code=f"dst-{zone.split('/')[1].lower()}", time_zone=zone)
    patient = PatientFactory(site=site)
    course = CourseFactory(patient=patient, created_by=UserFactory(role="clinician"))
    tz = site.tz
    ended = datetime(*session_local, tzinfo=tz)
    with time_machine.travel(ended + timedelta(hours=1), tick=False):
        ended_session(course, ended)
        followups_plan()
    row = _only("check_in_call")
    assert row.due_at.astimezone(tz) == datetime(*expected_local, tzinfo=tz)
    assert row.due_at - ended == timedelta(hours=elapsed_hours)


def test_end_of_induction_review_at_9_local_the_morning_the_clocks_change(users):
    site = SiteFactory(code="dst-review", time_zone="Europe/London")
    patient = PatientFactory(site=site)
    course = CourseFactory(patient=patient, created_by=UserFactory(role="clinician"))
    tz = site.tz
    with time_machine.travel(datetime(2026, 3, 28, 14, 0, tzinfo=UTC), tick=False):
        for day in (16, 18, 20, 23, 25, 28):
            ended_session(course, datetime(2026, 3, day, 11, 0, tzinfo=tz))
        followups_plan()
    row = _only("end_of_induction_review")
    assert row.due_at == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)  # 09:00 BST
    assert row.due_at.astimezone(tz).hour == 9


def test_biennial_inventory_counts_from_the_ledgers_last_count(users, site):
    # CLINICAL.md §8 / 21 CFR 1304.11: every 2 years from the initial inventory.
    from decimal import Decimal

    from infusions.ledger import services as ledger

    followups_plan()
    first = _only("biennial_inventory")
    (vial,) = ledger.ledger_receive(
        actor=users["admin"],
        site=site,
        drug="ketamine",
        ndc="0409-2051-05",
        lot="LOT-A1",
        expires_on=timezone.localdate() + timedelta(days=365),
        strength_mg_per_ml=Decimal("50"),
        volume_ml=Decimal("10"),
        supplier="Acme Pharma Distribution",
        supplier_dea_number="BS1234563",
        invoice_number="INV-1001",
    )
    counted_at = timezone.now() - timedelta(days=30)
    ledger.ledger_count(
        actor=users["admin"],
        container=vial,
        counted_mg=Decimal("500"),
        count_kind="initial",
        count_method="exact",
        occurred_at=counted_at,
    )
    followups_plan()
    first.refresh_from_db()
    assert (first.status, first.cancel_reason) == ("cancelled", "inventory counted")
    (current,) = FollowUp.objects.filter(kind="biennial_inventory", status="pending")
    local = counted_at.astimezone(site.tz)
    assert current.due_at.astimezone(site.tz) == local.replace(year=local.year + 2)
    followups_plan()
    assert FollowUp.objects.filter(kind="biennial_inventory").count() == 2


def test_seed_demo_plans_followups_idempotently():
    from django.core.management import call_command

    call_command("seed_demo", "--password", "demo-pass-123")
    first = sorted(FollowUp.objects.values_list("key", flat=True))
    kinds = set(FollowUp.objects.values_list("kind", flat=True))
    assert {"check_in_call", "pre_session_questionnaire", "biennial_inventory"} <= kinds
    call_command("seed_demo", "--password", "demo-pass-123")
    assert sorted(FollowUp.objects.values_list("key", flat=True)) == first


def _accepted_booster(course, users, next_due, decided_at):
    from monitoring.outcomes.models import MaintenanceDecision, MaintenanceRecommendation

    rec = MaintenanceRecommendation.objects.create(
        course=course,
        rule="stable_extend",
        rule_number=3,
        action="book",
        interval_days=14,
        next_due=next_due,
        rationale="Stable: extend.",
        status="accepted",
        fingerprint="f",
        computed_at=decided_at,
    )
    return MaintenanceDecision.objects.create(
        recommendation=rec,
        course=course,
        decision="accepted",
        action="book",
        interval_days=14,
        next_due=next_due,
        decided_by=users["clinician"],
        decided_at=decided_at,
    )


def test_booster_due_when_the_accepted_booster_has_nothing_booked(users, course):
    # CLINICAL.md §7: booster due at the recommended date with nothing booked (front desk),
    # overdue after 7 days to the clinician.
    course.phase = "maintenance"
    course.save(update_fields=["phase"])
    tz = course.patient.site.tz
    next_due = (timezone.now() + timedelta(days=3)).astimezone(tz).date()
    _accepted_booster(course, users, next_due, timezone.now() - timedelta(hours=1))
    followups_plan()
    row = _only("booster_due")
    assert row.key == f"booster_due:course:{course.pk}:{next_due.isoformat()}"  # the recommender's key
    assert (row.assignee_role, row.escalate_role) == ("frontdesk", "clinician")
    assert row.due_at.astimezone(tz) == datetime(next_due.year, next_due.month, next_due.day, 9, tzinfo=tz)
    assert row.escalate_at.astimezone(tz) == datetime(next_due.year, next_due.month, next_due.day, 9, tzinfo=tz) + (
        timedelta(days=7)
    )
    appointment(course.patient, timezone.now() + timedelta(days=2), course=course)
    followups_plan()
    row.refresh_from_db()
    assert (row.status, row.cancel_reason) == ("cancelled", "booster booked")
    followups_plan()
    row.refresh_from_db()
    assert row.status == "cancelled"
    # The booked booster is cancelled again: nothing booked, so the reminder comes back.
    booked = course.patient.appointments.get()
    booked.status = "cancelled"
    booked.save(update_fields=["status"])
    followups_plan()
    row.refresh_from_db()
    assert (row.status, row.round) == ("pending", 1)
    assert FollowUp.objects.filter(kind="booster_due").count() == 1


def test_repeated_runs_after_cancellations_are_quiet(users, course):
    """No rule wants back what another part of it cancels: a third run changes nothing."""
    course.phase = "maintenance"
    course.save(update_fields=["phase"])
    ended_session(course, timezone.now() - timedelta(days=1))
    appointment(course.patient, timezone.now() + timedelta(days=20), course=course)
    followups_plan()
    phq9(course.patient, [1] * 8 + [0])
    followups_plan()
    events = FollowUpEvent.objects.count()
    statuses = sorted(FollowUp.objects.values_list("kind", "status"))
    third = followups_plan()
    assert third.as_dict() == {"created": 0, "rescheduled": 0, "cancelled": 0}
    assert FollowUpEvent.objects.count() == events
    assert sorted(FollowUp.objects.values_list("kind", "status")) == statuses


@pytest.mark.parametrize("size", [2, 12])
def test_planner_query_count_does_not_grow_with_the_data(users, site, size):
    """The planner's queries per run depend on which rules find work, not on how many rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(size):
        patient = PatientFactory(site=site)
        c = CourseFactory(patient=patient, created_by=users["clinician"])
        ended_session(c, timezone.now() - timedelta(hours=5))
        appointment(patient, timezone.now() + timedelta(days=4), course=c)
    with CaptureQueriesContext(connection) as first:
        followups_plan()
    with CaptureQueriesContext(connection) as second:
        followups_plan()
    assert (len(first), len(second)) == PLANNER_QUERIES

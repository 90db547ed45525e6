"""Audit without gaps (issue 22): every write path of an audited model, the set-based ones
included (`.update()`, `bulk_create`, `bulk_update`, raw SQL), leaves a historical record
with the acting user; a change made by a Celery task names the task and the rule that
caused it (monitoring.audit.history).

A guard reads the domain code for every bulk write of an audited model and requires a
`history_snapshot` beside it; then each bulk write is walked and its history checked."""

import ast
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from monitoring.alerts.models import Alert
from monitoring.alerts.services import alerts_escalate, vitals_overdue_raise
from monitoring.audit.models import AUDITED_MODELS
from monitoring.audit.services import history_rows
from monitoring.bedside import services as bedside
from monitoring.followups.dispatch import followups_claim_due, followups_deliver
from monitoring.followups.models import FollowUp
from monitoring.followups.services import (
    FollowUpSpec,
    followup_ensure,
    followups_cancel,
    followups_reopen,
    followups_reschedule,
)
from monitoring.followups.tasks import followups_deliver_task
from monitoring.outcomes.models import MaintenanceRecommendation
from monitoring.vitals.services import vitals_record
from tests.factories import SessionFactory
from tests.monitoring.bedside_helpers import NORMAL, complete, record
from tests.monitoring.followup_helpers import due_followups, staff

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
AUDITED = {model.__name__ for model in AUDITED_MODELS}
BULK = {"update", "bulk_update", "bulk_create"}


def history(model, pk):
    return list(model.history.filter(id=pk).order_by("history_date", "history_id"))


def _model_of(node: ast.AST) -> str | None:
    """`Alert.objects.filter(...).update(...)` -> "Alert"."""
    while isinstance(node, ast.Call | ast.Attribute):
        if isinstance(node, ast.Attribute) and node.attr == "objects" and isinstance(node.value, ast.Name):
            return node.value.id
        node = node.func if isinstance(node, ast.Call) else node.value
    return None


def _raw_sql_models(node: ast.JoinedStr) -> set[str]:
    """`f'UPDATE "{Alert._meta.db_table}" ...'` -> {"Alert"}: the table right after an UPDATE
    or an INSERT INTO (not a SELECT ... FOR UPDATE)."""
    found = set()
    before = ""
    for value in node.values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            before = value.value
        elif isinstance(value, ast.FormattedValue):
            inner = value.value
            writes = before.rstrip('"').rstrip().endswith(("UPDATE", "INSERT INTO"))
            if writes and isinstance(inner, ast.Attribute) and inner.attr == "db_table":
                meta = inner.value
                if isinstance(meta, ast.Attribute) and isinstance(meta.value, ast.Name):
                    found.add(meta.value.id)
            before = ""
    return found


def bulk_writes() -> list[tuple[str, str, str, bool]]:
    """(file, function, model, has a history_snapshot in the same function) for every bulk
    write of an audited model in the apps' code."""
    found = []
    for app in ("clinic", "patients", "infusions", "monitoring"):
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            for func in ast.walk(tree):
                if not isinstance(func, ast.FunctionDef):
                    continue
                snapshots = any(
                    isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", "")) == "history_snapshot"
                    for n in ast.walk(func)
                )
                models: set[str] = set()
                for node in ast.walk(func):
                    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in BULK:
                        model = _model_of(node.func.value)
                        if model in AUDITED:
                            models.add(model)
                    if isinstance(node, ast.JoinedStr):
                        models |= _raw_sql_models(node) & AUDITED
                found += [(str(path.relative_to(ROOT)), func.name, model, snapshots) for model in sorted(models)]
    return found


def test_every_bulk_write_of_an_audited_model_leaves_history():
    writes = bulk_writes()
    # The guard sees the writes this issue is about (it can fail: a new one without history).
    seen = {(f, fn) for f, fn, _, _ in writes}
    for expected in [
        ("monitoring/bedside/services.py", "session_discharge"),  # alerts closed at discharge
        ("monitoring/outcomes/services.py", "_refreshed"),  # maintenance decisions (superseded)
        ("monitoring/followups/dispatch.py", "_notified_mark"),  # follow-up dispatch
        ("monitoring/followups/dispatch.py", "_escalate"),
        ("monitoring/alerts/services.py", "alerts_escalate"),
        ("monitoring/vitals/services.py", "vitals_record"),
    ]:
        assert expected in seen, expected
    missing = [(f, fn, model) for f, fn, model, snapshots in writes if not snapshots]
    assert missing == [], f"bulk writes of audited models without history_snapshot: {missing}"


def test_alerts_closed_at_discharge_are_kept_with_the_signer(users, course):
    session = complete(SessionFactory(course=course), users["nurse"])
    with time_machine.travel(session.dosing_ended_at + timedelta(minutes=61), tick=False):
        record(session, users["nurse"], **NORMAL)
        medium = Alert.objects.create(
            session=session, rule="bp_rise", severity="medium", message="m", raised_at=timezone.now()
        )
        bedside.session_discharge(actor=users["clinician"], session=session)
    last = history(Alert, medium.pk)[-1]
    assert (last.status, last.history_type, last.history_user) == ("resolved", "~", users["clinician"])
    assert last.history_change_reason == "rule alerts_closed_at_discharge"


def test_alerts_raised_by_a_vitals_set_and_answered_are_kept_with_the_nurse(users, course):
    session = SessionFactory(course=course, status="running", started_at=timezone.now())
    (recorded,) = vitals_record(actor=users["nurse"], session=session, rows=[{**NORMAL, "systolic": 185}])
    raised = history(Alert, recorded.alerts[0].pk)
    assert [(h.history_type, h.history_user) for h in raised] == [("+", users["nurse"])]
    with time_machine.travel(timezone.now() + timedelta(minutes=30)):
        (overdue,) = [Alert.objects.get(pk=pk) for pk in vitals_overdue_raise()]
        assert [(h.history_type, h.history_user) for h in history(Alert, overdue.pk)] == [("+", None)]
        assert history(Alert, overdue.pk)[0].history_change_reason == "rule vitals_overdue (CLINICAL.md §3)"
        vitals_record(actor=users["clinician"], session=session, rows=[dict(NORMAL)])
    answered = history(Alert, overdue.pk)[-1]
    assert (answered.status, answered.history_user) == ("resolved", users["clinician"])


def test_an_escalated_alert_names_the_rule(users, course):
    session = SessionFactory(course=course, status="running", started_at=timezone.now())
    alert = Alert.objects.create(
        session=session, rule="bp_high", severity="high", message="m", raised_at=timezone.now()
    )
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert alerts_escalate() == [alert.pk]
    last = history(Alert, alert.pk)[-1]
    assert last.escalated_at is not None
    assert last.history_change_reason == "rule alert_escalation (CLINICAL.md §3)"


def test_a_superseded_recommendation_is_kept(users, course):
    from monitoring.outcomes.services import recommendation_refresh
    from patients.services import assessment_record
    from tests.monitoring.outcome_helpers import items_for
    from tests.monitoring.outcomes.test_maintenance_api import through_induction

    through_induction(course, users["nurse"])
    first = recommendation_refresh(course=course)
    assessment_record(actor=users["nurse"], patient=course.patient, instrument="PHQ9", items=items_for("PHQ9", 4))
    second = recommendation_refresh(course=course)
    assert second.pk != first.pk
    last = history(MaintenanceRecommendation, first.pk)[-1]
    assert (last.status, last.history_change_reason) == ("superseded", "rule recommendation_superseded")


def test_every_step_of_a_follow_up_is_kept_and_the_task_is_named(users):
    staff("nurse", 2)
    (pk,) = due_followups(1)
    created = history(FollowUp, pk)
    assert [(h.history_type, h.status) for h in created] == [("+", "pending")]
    assert created[0].history_change_reason == "rule followup_planned (CLINICAL.md §7)"
    claimed = followups_claim_due(enqueue=lambda ids: None)
    assert history(FollowUp, pk)[-1].status == "queued"
    # The delivery as the worker runs it (the task's signals fire under apply()).
    followups_deliver_task.apply(args=[claimed.ids])
    notified = history(FollowUp, pk)[-1]
    assert notified.status == "notified"
    assert notified.history_change_reason.startswith("task monitoring.followups_deliver[")
    assert notified.history_change_reason.endswith("; rule followup_due (CLINICAL.md §7)")
    # The export says who or what: the user column and the task and rule.
    rows = [r for r in history_rows(model="monitoring.FollowUp") if r["object_id"] == pk]
    assert [(r["event"], r["user"]) for r in rows] == [
        ("created", "system"),
        ("changed", "system"),
        ("changed", "system"),
    ]
    assert rows[-1]["reason"] == notified.history_change_reason
    assert rows[-1]["changes"]["status"] == ["queued", "notified"]


def test_cancel_reschedule_reopen_and_escalation_are_kept(users):
    staff("nurse", 1)
    soon = timezone.now() + timedelta(hours=1)
    row = followup_ensure(
        kind="booster_due", key="b", patient=None, due_at=soon, assignee_role="frontdesk", escalate_role="clinician"
    )
    assert followups_reschedule(changes=[(row.pk, soon + timedelta(hours=1), row.escalate_at)], reason="moved") == 1
    assert history(FollowUp, row.pk)[-1].history_change_reason == "rule followup_rescheduled"
    followups_cancel(followup_ids=[row.pk], reason="booked", actor=users["frontdesk"])
    cancelled = history(FollowUp, row.pk)[-1]
    assert (cancelled.status, cancelled.history_user, cancelled.history_change_reason) == (
        "cancelled",
        users["frontdesk"],
        "rule followup_cancelled",
    )
    spec = FollowUpSpec(kind="booster_due", key="b", due_at=soon, assignee_role="frontdesk", escalate_at=soon)
    assert followups_reopen(specs=[spec], reason="booking cancelled") == 1
    reopened = history(FollowUp, row.pk)[-1]
    assert (reopened.status, reopened.history_change_reason) == ("pending", "rule followup_reopened")
    with time_machine.travel(soon + timedelta(minutes=1)):
        claimed = followups_claim_due(enqueue=lambda ids: None)
        assert claimed.escalated == [row.pk]
        followups_deliver(followup_ids=claimed.ids)
    kinds = [(h.kind, h.status, h.history_change_reason) for h in history(FollowUp, row.pk)[-2:]]
    assert kinds == [
        ("booster_overdue", "queued", "rule followup_escalation (CLINICAL.md §7)"),
        ("booster_overdue", "notified", "rule followup_due (CLINICAL.md §7)"),
    ]
    assert FollowUp.objects.get(pk=row.pk).round == 2  # reopened, then escalated

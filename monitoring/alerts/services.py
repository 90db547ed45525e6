"""Alerts after they are raised (services; CLINICAL.md §3): staff acknowledge and resolve
them; the minute scans raise `vitals_overdue` and escalate what nobody acknowledged.

Both scans are safe to run at the same time from several workers: they claim rows with
`SELECT ... FOR UPDATE SKIP LOCKED` and mark them in the same transaction (an alert's
`escalated_at` is set by an `UPDATE ... WHERE escalated_at IS NULL`), so every alert is
escalated exactly once and every overdue set raises one alert.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from clinic.core.exceptions import ApplicationError
from clinic.core.roles import Role
from clinic.localtime import site_zone
from clinic.models import OnCallLevel, StaffMember, User
from clinic.oncall import on_call_at
from clinic.policy import ClinicalPolicy
from infusions.sessions.models import InfusionSession, SessionStatus
from infusions.sessions.selectors import session_policy, session_site
from monitoring.alerts.models import (
    Alert,
    AlertEscalation,
    AlertResolution,
    AlertRule,
    AlertSeverity,
    AlertStatus,
    ResolutionAction,
)
from monitoring.alerts.notify import deliveries_write
from monitoring.audit.history import history_snapshot
from monitoring.live import publish
from monitoring.vitals.models import VitalsSchedule

# What the history of a change made by a scan names as its cause.
OVERDUE_RULE = "vitals_overdue (CLINICAL.md §3)"
ESCALATION_RULE = "alert_escalation (CLINICAL.md §3)"

WATCHED_STATUSES = (SessionStatus.RUNNING, SessionStatus.PAUSED, SessionStatus.COMPLETED, SessionStatus.STOPPED)
# CLINICAL.md §3 leaves the severity of an overdue set open [U]: medium, so that it reaches
# the clinician on duty after `escalate_medium_after_minutes` if nobody answers it.
VITALS_OVERDUE_SEVERITY = AlertSeverity.MEDIUM


def _lock_alert(alert: Alert) -> Alert:
    return (
        Alert.objects.select_for_update(of=("self",)).select_related("session__course__patient__site").get(pk=alert.pk)
    )


def _refuse_if_signed(session: InfusionSession) -> None:
    if session.signed_at is not None:
        raise ApplicationError("The session is signed; its alerts are closed.", rule="session_signed")


def _prescriber_for(alert: Alert, actor: User) -> None:
    """Spravato label: a pre-dose BP above 140/90 is weighed by a prescriber."""
    if alert.rule == AlertRule.PREDOSE_BP and actor.role != Role.CLINICIAN:
        raise ApplicationError(
            "A prescriber must acknowledge a pre-dose blood pressure alert.", rule="prescriber_required", status=403
        )


@transaction.atomic
def alert_acknowledge(*, actor: User, alert: Alert) -> Alert:
    alert = _lock_alert(alert)
    _refuse_if_signed(alert.session)
    if alert.status != AlertStatus.OPEN:
        raise ApplicationError(f"The alert is already {alert.status}.", rule="alert_not_open")
    _prescriber_for(alert, actor)
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_by, alert.acknowledged_at = actor, timezone.now()
    alert.full_clean()
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "updated_at"])
    publish.session_changed(alert.session, publish.ALERTS)
    return alert


ACTION_REQUIRED = (AlertSeverity.HIGH, AlertSeverity.EMERGENCY)


def _check_resolution(alert: Alert, action: str, note: str) -> None:
    """A high or emergency alert is resolved with the action taken (400 per field)."""
    if action and action not in ResolutionAction.values:
        raise ValidationError({"action": "Choose one of the listed actions."})
    if alert.severity in ACTION_REQUIRED and not action:
        raise ValidationError({"action": f"A {alert.severity} alert is resolved with the action taken."})
    if action == ResolutionAction.OTHER and not note:
        raise ValidationError({"note": "Describe the action taken."})


@transaction.atomic
def alert_resolve(*, actor: User, alert: Alert, note: str = "", action: str = "") -> Alert:
    """Resolved (the cause is dealt with). Resolving an open alert acknowledges it too, so it
    needs the same role as acknowledging. A high or emergency alert needs the action taken
    (ResolutionAction, plus free text), kept append-only as its AlertResolution."""
    alert = _lock_alert(alert)
    _refuse_if_signed(alert.session)
    if alert.status == AlertStatus.RESOLVED:
        raise ApplicationError("The alert is already resolved.", rule="alert_already_resolved")
    note = note.strip()
    if alert.status == AlertStatus.OPEN:
        _prescriber_for(alert, actor)  # the role first (403), then the input (400)
    _check_resolution(alert, action, note)
    now = timezone.now()
    if alert.status == AlertStatus.OPEN:
        alert.acknowledged_by, alert.acknowledged_at = actor, now
    alert.status = AlertStatus.RESOLVED
    alert.resolved_by, alert.resolved_at = actor, now
    alert.resolution_note = note
    alert.full_clean()
    alert.save(
        update_fields=[
            "status",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_by",
            "resolved_at",
            "resolution_note",
            "updated_at",
        ]
    )
    resolution = AlertResolution(alert=alert, action=action, note=note, resolved_by=actor, resolved_at=now)
    resolution.full_clean()
    resolution.save()
    publish.session_changed(alert.session, publish.ALERTS)
    return alert


# ---- the minute scans ------------------------------------------------------------------------


def vitals_overdue_raise(*, now: datetime | None = None) -> list[int]:
    """Raise `vitals_overdue` for every watched session whose next set is more than
    `vitals_overdue_grace_minutes` late (CLINICAL.md §3, 5 min [U]). Idempotent: once per due
    time, and never while the session already has an unanswered overdue alert."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            VitalsSchedule.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("session__course__patient__site")
            .filter(next_due_at__lte=now, session__status__in=WATCHED_STATUSES, session__signed_at__isnull=True)
            .filter(
                Q(overdue_alerted_for__isnull=True)
                | Q(overdue_alerted_for__lt=F("next_due_at"))
                | Q(overdue_alerted_for__gt=F("next_due_at"))
            )
            .order_by("next_due_at", "id")
        )
        late = []
        for row in rows:
            policy = session_policy(row.session)
            assert row.next_due_at is not None  # noqa: S101 - filtered above
            if row.next_due_at + timedelta(minutes=policy.vitals_overdue_grace_minutes) <= now:
                late.append((row, policy))
        if not late:
            return []
        answered_already = set(
            Alert.objects.filter(
                session_id__in=[row.session_id for row, _ in late],
                rule=AlertRule.VITALS_OVERDUE,
                status__in=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED),
            ).values_list("session_id", flat=True)
        )
        alerts = [
            Alert(
                session_id=row.session_id,
                rule=AlertRule.VITALS_OVERDUE,
                severity=VITALS_OVERDUE_SEVERITY,
                message=_overdue_message(row, policy, now),
                raised_at=now,
            )
            for row, policy in late
            if row.session_id not in answered_already
        ]
        Alert.objects.bulk_create(alerts)
        history_snapshot(Alert, [a.pk for a in alerts], history_type="+", rule=OVERDUE_RULE, at=now)
        for row, _ in late:
            row.overdue_alerted_for = row.next_due_at
            row.updated_at = now
        VitalsSchedule.objects.bulk_update([row for row, _ in late], ["overdue_alerted_for", "updated_at"])
        publish.sessions_changed([row.session for row, _ in late], publish.ALERTS, publish.SCHEDULE)
        return [alert.pk for alert in alerts]


def _overdue_message(row: VitalsSchedule, policy: ClinicalPolicy, now: datetime) -> str:
    assert row.next_due_at is not None  # noqa: S101
    late = int((now - row.next_due_at).total_seconds() // 60)
    kind = row.next_kind.replace("_", " ") or "vitals"
    due = row.next_due_at.astimezone(site_zone(session_site(row.session)))
    return f"The {kind} vitals set was due at {due:%H:%M}: {late} min overdue."


def escalation_wait(severity: str, policy: ClinicalPolicy) -> timedelta:
    """CLINICAL.md §3: emergency or high after 2 minutes, medium after 10 [U]."""
    if severity in (AlertSeverity.EMERGENCY, AlertSeverity.HIGH):
        return timedelta(minutes=policy.escalate_high_after_minutes)
    return timedelta(minutes=policy.escalate_medium_after_minutes)


def step_due_at(alert: Alert, policy: ClinicalPolicy) -> datetime | None:
    """When the alert's next escalation step is due: step 1 after the severity's wait from
    its raising, step 2 (the next level) `escalate_next_level_after_minutes` [U] after step 1;
    None after the last step."""
    if alert.escalation_step == 0:
        return alert.created_at + escalation_wait(alert.severity, policy)
    if alert.escalation_step == 1 and alert.escalated_at is not None:
        return alert.escalated_at + timedelta(minutes=policy.escalate_next_level_after_minutes)
    return None


def _site_clinicians(site_ids: set[int]) -> dict[int, list[User]]:
    """The active clinicians placed at each site (one query)."""
    staff = (
        StaffMember.objects.filter(site_id__in=site_ids, user__role=Role.CLINICIAN, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )
    out: dict[int, list[User]] = defaultdict(list)
    for member in staff:
        out[member.site_id].append(member.user)
    return out


def escalation_recipients(site_ids: set[int | None], at: datetime) -> dict[tuple[int | None, int], list[User]]:
    """Who each step goes to, per site (CLINICAL.md §3; the roster, clinic.oncall):
    step 1 the clinician(s) on call at `at`; step 2 the next level on call. A step with nobody on
    the roster goes to every active clinician placed at the site (the board warns that nobody is
    on call), and, with none there either, to every active clinician, so an escalation never
    goes nowhere. Two or three queries."""
    ids = {i for i in site_ids if i is not None}
    rostered = on_call_at(ids, at)
    placed = _site_clinicians(ids)
    everyone: list[User] | None = None
    out: dict[tuple[int | None, int], list[User]] = {}
    for site_id in site_ids:
        for step in (1, 2):
            people = (rostered.get(site_id) or {}).get(step, []) if site_id is not None else []
            if not people and site_id is not None:
                people = [u for u in placed.get(site_id, []) if step == 1 or u not in _first(rostered, site_id)]
            if not people:
                if everyone is None:
                    everyone = list(User.objects.filter(role=Role.CLINICIAN, is_active=True).order_by("pk"))
                people = everyone
            out[(site_id, step)] = people
    return out


def _first(rostered: dict[int, dict[int, list[User]]], site_id: int) -> list[User]:
    return (rostered.get(site_id) or {}).get(OnCallLevel.FIRST, [])


def alerts_escalate(*, now: datetime | None = None) -> list[int]:
    """Take the next escalation step of every open (unacknowledged) alert whose step is due,
    exactly once per step: rows are claimed with FOR UPDATE SKIP LOCKED and the step is
    advanced by an `UPDATE ... WHERE escalation_step = <the step before>` in the same
    transaction as the notices (AlertEscalation, one per recipient and step: the in-app
    notice), so a second scan, a redelivered task or a worker killed mid-way never sends a
    step twice. The recipients' open pages are told after commit (monitoring.live). Returns
    the ids of the alerts this call escalated."""
    now = now or timezone.now()
    with transaction.atomic():
        candidates = _escalation_candidates()
        due = []
        for alert in candidates:
            at = step_due_at(alert, session_policy(alert.session))
            if at is not None and at <= now:
                due.append(alert)
        if not due:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{Alert._meta.db_table}" a SET "escalated_at" = %s, "updated_at" = %s, '  # noqa: S608
                '"escalation_step" = a."escalation_step" + 1 '
                "FROM unnest(%s::bigint[], %s::smallint[]) AS d(id, step) "
                'WHERE a."id" = d.id AND a."escalation_step" = d.step AND a."status" = \'open\' '
                'RETURNING a."id", a."escalation_step"',
                [now, now, [a.pk for a in due], [a.escalation_step for a in due]],
            )
            claimed = dict(cursor.fetchall())
        history_snapshot(Alert, sorted(claimed), rule=ESCALATION_RULE, at=now)
        due = [a for a in due if a.pk in claimed]
        recipients = escalation_recipients({_alert_site_id(a) for a in due}, now)
        notices = []
        for alert in due:
            step = claimed[alert.pk]
            message = _escalation_message(alert, step)
            people = recipients.get((_alert_site_id(alert), step)) or []
            notices += [
                AlertEscalation(alert=alert, step=step, recipient=u, escalated_at=now, message=message) for u in people
            ]
            if not people:
                notices.append(
                    AlertEscalation(alert=alert, step=step, recipient=None, escalated_at=now, message=message)
                )
        AlertEscalation.objects.bulk_create(notices)
        deliveries_write(notices, now)  # e-mail and webhook rows, sent after commit (notify)
        for alert in due:
            publish.session_changed(alert.session, publish.ALERTS)
        for notice in notices:
            if notice.recipient_id is not None:
                publish.user_notified(notice.recipient_id, alert_id=notice.alert_id)
        return sorted(claimed)


def _escalation_candidates() -> list[Alert]:
    """Open alerts of unsigned sessions with a step left, locked; rows another scan holds are
    skipped (it is escalating them)."""
    return list(
        Alert.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("session__course__patient__site", "session__appointment")
        .filter(status=AlertStatus.OPEN, escalation_step__lt=2, session__signed_at__isnull=True)
        .order_by("created_at", "id")
    )


def _alert_site_id(alert: Alert) -> int | None:
    site = session_site(alert.session)
    return site.pk if site is not None else None


def _escalation_message(alert: Alert, step: int) -> str:
    """No patient data beyond the session number (notices may travel by e-mail or pager)."""
    who = "you are on call" if step == 1 else "the on-call clinician has not answered"
    return (
        f"Unacknowledged {alert.severity} alert '{alert.get_rule_display()}' on session {alert.session_id} "
        f"({who}): please attend."
    )


def vitals_overdue_resolve(*, session: InfusionSession, actor: User, at: datetime | None = None) -> int:
    """A set was recorded: the session's `vitals_overdue` alert is answered."""
    at = at or timezone.now()
    ids = list(
        Alert.objects.filter(
            session=session,
            rule=AlertRule.VITALS_OVERDUE,
            status__in=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED),
        ).values_list("pk", flat=True)
    )
    if not ids:
        return 0
    Alert.objects.filter(pk__in=ids).update(
        status=AlertStatus.RESOLVED,
        resolved_by=actor,
        resolved_at=at,
        resolution_note="A vitals set was recorded.",
        updated_at=at,
    )
    history_snapshot(Alert, ids, user=actor, rule="vitals_overdue_answered", at=at)
    return len(ids)
